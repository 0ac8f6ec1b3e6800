# One output per document, a JSON string. `policy_*` are identity policies (lint them with parliament);
# `trust_*` are role trust policies, which parliament cannot lint (it requires Resource): terraform test covers them.
output "policy_lambda" {
  description = "Lambda execution role: permissions."
  value       = module.iam_policies.lambda_policy
}

output "policy_migration" {
  description = "Migration function's execution role: permissions."
  value       = module.iam_policies.migration_policy
}

output "policy_cloudformation" {
  description = "CloudFormation deployment role: permissions."
  value       = module.iam_policies.cloudformation_policy
}

output "policy_deploy_stack" {
  description = "Deployer policy pmp-api-dev-deploy-stack: CloudFormation stack deployment."
  value       = module.iam_policies.deployer_policies["deploy-stack"].policy
}

output "policy_deploy_artifacts" {
  description = "Deployer policy pmp-api-dev-deploy-artifacts: deployment bucket artifacts."
  value       = module.iam_policies.deployer_policies["deploy-artifacts"].policy
}

output "policy_deploy_domain" {
  description = "Deployer policy pmp-api-dev-deploy-domain: custom domain (serverless-domain-manager)."
  value       = module.iam_policies.deployer_policies["deploy-domain"].policy
}

output "policy_read_config" {
  description = "Deployer policy pmp-api-dev-read-config: SSM configuration read."
  value       = module.iam_policies.deployer_policies["read-config"].policy
}

output "policy_invoke_migrate" {
  description = "Deployer policy pmp-api-dev-invoke-migrate: migration invoke."
  value       = module.iam_policies.deployer_policies["invoke-migrate"].policy
}

output "trust_lambda" {
  description = "Lambda execution role: trust policy."
  value       = module.iam_policies.lambda_trust_policy
}

output "trust_migration" {
  description = "Migration function's execution role: trust policy."
  value       = module.iam_policies.migration_trust_policy
}

output "trust_cloudformation" {
  description = "CloudFormation deployment role: trust policy."
  value       = module.iam_policies.cloudformation_trust_policy
}

output "trust_gitlab_oidc" {
  description = "GitLab OIDC deployer role: trust policy."
  value       = module.iam_policies.gitlab_oidc_trust_policy
}

output "coverage_cloudformation" {
  description = "Per CloudFormation resource type: the handler actions granted to the deployment role and those excluded (with the reason); `cargo xtask check` compares it with the generated template."
  value       = module.iam_policies.cloudformation_coverage
}

output "policy_plan" {
  description = "Read-only plan role pmp-api-dev-plan: permissions."
  value       = module.iam_policies.plan_policy
}

output "trust_plan" {
  description = "Read-only plan role: trust policy."
  value       = module.iam_policies.plan_trust_policy
}
