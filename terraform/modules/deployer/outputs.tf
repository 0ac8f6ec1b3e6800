output "lambda_role_arn" {
  description = "Lambda execution role (serverless.yml provider.iam.role)."
  value       = aws_iam_role.lambda.arn
}

output "migration_role_arn" {
  description = "Migration function's execution role (serverless.yml functions.migrate.role)."
  value       = aws_iam_role.migration.arn
}

output "cloudformation_role_arn" {
  description = "CloudFormation deployment role (serverless.yml provider.iam.deploymentRole)."
  value       = aws_iam_role.cloudformation.arn
}

output "gitlab_user_name" {
  description = "IAM user for GitLab CI; its access key is created outside Terraform (docs/iam.md)."
  value       = aws_iam_user.gitlab.name
}

output "gitlab_group_name" {
  description = "Group holding the deployer policies; add other deploying principals here."
  value       = aws_iam_group.deployers.name
}

output "gitlab_oidc_role_arn" {
  description = "Role GitLab CI assumes with an id_token (AWS_ROLE_ARN in .gitlab-ci.yml)."
  value       = aws_iam_role.gitlab_oidc.arn
}

output "gitlab_oidc_provider_arn" {
  description = "The account's GitLab OIDC provider (account layer) that the GitLab roles trust."
  value       = data.aws_iam_openid_connect_provider.gitlab.arn
}

output "gitlab_oidc_provider_client_ids" {
  description = "The audiences (client ids) the account's GitLab OIDC provider accepts."
  value       = data.aws_iam_openid_connect_provider.gitlab.client_id_list
}

output "plan_role_arn" {
  description = "Read-only role for merge-request plans and plan:prod (PMP_PLAN_ROLE_ARN in GitLab)."
  value       = aws_iam_role.plan.arn
}

output "policy_arns" {
  description = "Deployer policy ARNs by concern (deploy-stack, deploy-artifacts, deploy-domain, read-config, invoke-migrate)."
  value       = { for concern, p in aws_iam_policy.deployer : concern => p.arn }
}
