# Every document comes from modules/iam_policies (built and tested there); this module only creates the principals.
variable "names" {
  description = "Principal names from modules/iam_policies (output names)."
  type = object({
    lambda_role         = string
    cloudformation_role = string
    gitlab_user         = string
    gitlab_group        = string
    gitlab_oidc_role    = string
    plan_role           = string
    migration_role      = string
  })
}

variable "lambda_trust_policy" {
  description = "Trust policy (JSON) of the Lambda execution role."
  type        = string
}

variable "lambda_policy" {
  description = "Permissions (JSON) of the Lambda execution role."
  type        = string
}

variable "migration_trust_policy" {
  description = "Trust policy (JSON) of the migration function's execution role."
  type        = string
}

variable "migration_policy" {
  description = "Permissions (JSON) of the migration function's execution role."
  type        = string
}

variable "cloudformation_trust_policy" {
  description = "Trust policy (JSON) of the CloudFormation deployment role."
  type        = string
}

variable "cloudformation_policy" {
  description = "Permissions (JSON) of the CloudFormation deployment role."
  type        = string
}

variable "deployer_policies" {
  description = "The deployer's customer-managed policies by concern (modules/iam_policies output deployer_policies)."
  type = map(object({
    name        = string
    description = string
    policy      = string
  }))
}

variable "gitlab_oidc_trust_policy" {
  description = "Trust policy (JSON) of the GitLab OIDC deployer role."
  type        = string
}

variable "gitlab_oidc_provider_arn" {
  description = "The account's GitLab OIDC provider (account layer, cloudformation/account.yml): read, never created here."
  type        = string
}

variable "plan_trust_policy" {
  description = "Trust policy (JSON) of the read-only plan role."
  type        = string
}

variable "plan_policy" {
  description = "Permissions (JSON) of the read-only plan role."
  type        = string
}
