output "names" {
  description = "Names of the IAM principals of the stage (roles, user, group), for modules/deployer."
  value = {
    lambda_role         = local.lambda_role_name
    cloudformation_role = local.cloudformation_role_name
    gitlab_user         = local.gitlab_user_name
    gitlab_group        = local.gitlab_group_name
    gitlab_oidc_role    = local.gitlab_oidc_role_name
    plan_role           = local.plan_role_name
    migration_role      = local.migration_role_name
  }
}

output "lambda_role_arn" {
  description = "ARN the Lambda execution role will have (derived from its name)."
  value       = local.lambda_role_arn
}

output "migration_role_arn" {
  description = "ARN the migration function's execution role will have (derived from its name)."
  value       = local.migration_role_arn
}

output "migration_function_name" {
  description = "Name of the migration function (serverless.yml `migrate`)."
  value       = local.migration_function_name
}

output "migration_trust_policy" {
  description = "Trust policy (JSON) of the migration function's execution role."
  value       = local.migration_trust_policy
}

output "migration_policy" {
  description = "Permissions (JSON) of the migration function's execution role."
  value       = local.migration_policy
}

output "cloudformation_role_arn" {
  description = "ARN the CloudFormation deployment role will have (derived from its name)."
  value       = local.cloudformation_role_arn
}

output "gitlab_oidc_provider_arn" {
  description = "ARN of the account's GitLab OIDC provider (cloudformation/account.yml) that the GitLab roles trust, derived from gitlab_url."
  value       = local.gitlab_oidc_provider_arn
}

output "lambda_trust_policy" {
  description = "Trust policy (JSON) of the Lambda execution role."
  value       = local.lambda_trust_policy
}

output "lambda_policy" {
  description = "Permissions (JSON) of the Lambda execution role."
  value       = local.lambda_policy
}

output "cloudformation_trust_policy" {
  description = "Trust policy (JSON) of the CloudFormation deployment role."
  value       = local.cloudformation_trust_policy
}

output "cloudformation_policy" {
  description = "Permissions (JSON) of the CloudFormation deployment role, derived from the handler permissions of cloudformation_resource_types."
  value       = local.cloudformation_policy

  precondition {
    condition     = length(local.unknown_resource_types) == 0
    error_message = "No handler permissions in cfn-handler-permissions.json for: ${join(", ", local.unknown_resource_types)}. Copy the type verbatim from ../shared/data/cfn-handler-permissions.json.gz first."
  }
  precondition {
    condition     = length(local.unmapped_actions) == 0
    error_message = "Handler actions with no scope decision in cfn_action_statements (nor in excluded_handler_actions): ${join(", ", local.unmapped_actions)}."
  }
}

output "cloudformation_coverage" {
  description = "Per resource type: the handler actions, which are granted and which are excluded (with the reason). For docs and for checking the template's types."
  value = {
    for t, acts in local.handler_actions_by_type : t => {
      granted  = sort([for a in acts : a if !contains(keys(local.excluded_lower), lower(a))])
      excluded = { for a in acts : a => local.excluded_lower[lower(a)] if contains(keys(local.excluded_lower), lower(a)) }
    }
  }
}

output "gitlab_oidc_trust_policy" {
  description = "Trust policy (JSON) of the GitLab OIDC deployer role."
  value       = local.gitlab_oidc_trust_policy
}

output "plan_trust_policy" {
  description = "Trust policy (JSON) of the read-only plan role: every pipeline of the project."
  value       = local.plan_trust_policy
}

output "plan_policy" {
  description = "Permissions (JSON) of the read-only plan role: describe/get/list, the stage's state, its lock object."
  value       = local.plan_policy
}

output "deployer_policies" {
  description = "The deployer's customer-managed policies by concern: name, description and document (JSON)."
  value = {
    for concern, p in local.deployer_policies : concern => {
      name        = "${var.stack_name}-${concern}"
      description = p.description
      policy      = local.deployer_policy_documents[concern]
    }
  }
}

output "identity_policies" {
  description = "Every identity policy document (JSON) by name, for tests and linting in one place; the read-only plan_policy is its own output, tested on its own (tests/isolation.tftest.hcl)."
  value = merge(
    { lambda = local.lambda_policy, migration = local.migration_policy, cloudformation = local.cloudformation_policy },
    local.deployer_policy_documents,
  )
}
