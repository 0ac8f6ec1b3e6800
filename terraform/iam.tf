# Every IAM principal of the stage. The documents are built and tested in the provider-free modules/iam_policies;
# modules/deployer creates the roles, the deployer's policies, group, user, OIDC deploy role and read-only plan role
# from them. The GitLab OIDC provider they trust belongs to the account layer (cloudformation/account.yml).
module "iam_policies" {
  source = "./modules/iam_policies"

  partition                = data.aws_partition.current.partition
  region                   = var.region
  account_id               = data.aws_caller_identity.current.account_id
  stage                    = var.stage
  service_name             = local.service_name
  stack_name               = local.stack_name
  function_name            = local.function_name
  deployment_bucket_name   = module.storage.deployment_bucket_name
  data_bucket_name         = module.storage.data_bucket_name
  kms_key_arn              = local.kms_key_arn
  proxy_resource_id        = local.proxy_resource_id
  db_user                  = local.db_user
  migrator_db_user         = local.db_migrator_user
  private_subnet_ids       = local.private_subnet_ids
  lambda_security_group_id = local.lambda_security_group_id
  api_domain_name          = module.dns.api_domain_name
  hosted_zone_id           = module.dns.hosted_zone_id
  ssm_parameter_prefix     = "pmp/${var.stage}"
  gitlab_url               = var.gitlab_url
  gitlab_project_path      = var.gitlab_project_path
  gitlab_allowed_refs      = var.gitlab_allowed_refs
  # A protected stage's deploy and apply roles trust only its release tags (docs/iam.md).
  gitlab_release_tag_pattern = var.gitlab_release_tag_pattern
}

module "deployer" {
  source = "./modules/deployer"

  names                       = module.iam_policies.names
  lambda_trust_policy         = module.iam_policies.lambda_trust_policy
  lambda_policy               = module.iam_policies.lambda_policy
  migration_trust_policy      = module.iam_policies.migration_trust_policy
  migration_policy            = module.iam_policies.migration_policy
  cloudformation_trust_policy = module.iam_policies.cloudformation_trust_policy
  cloudformation_policy       = module.iam_policies.cloudformation_policy
  deployer_policies           = module.iam_policies.deployer_policies
  gitlab_oidc_trust_policy    = module.iam_policies.gitlab_oidc_trust_policy
  gitlab_oidc_provider_arn    = module.iam_policies.gitlab_oidc_provider_arn
  plan_trust_policy           = module.iam_policies.plan_trust_policy
  plan_policy                 = module.iam_policies.plan_policy
}
