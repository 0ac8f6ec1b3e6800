# The Terraform -> Serverless contract (docs/architecture.md, "SSM parameters"): the names, types and descriptions come
# from the tested modules/ssm_contract; this file only writes them.
module "ssm_contract" {
  source = "./modules/ssm_contract"

  stage                    = var.stage
  private_subnet_ids       = local.private_subnet_ids
  lambda_security_group_id = local.lambda_security_group_id
  db_proxy_endpoint        = module.database.proxy_endpoint
  db_proxy_resource_id     = local.proxy_resource_id
  db_name                  = module.database.db_name
  db_user                  = local.db_user
  db_migrator_user         = local.db_migrator_user
  data_bucket_name         = module.storage.data_bucket_name
  deployment_bucket_name   = module.storage.deployment_bucket_name
  lambda_role_arn          = module.deployer.lambda_role_arn
  migration_role_arn       = module.deployer.migration_role_arn
  cloudformation_role_arn  = module.deployer.cloudformation_role_arn
  api_domain_name          = module.dns.api_domain_name
  certificate_arn          = module.dns.certificate_arn
  hosted_zone_id           = module.dns.hosted_zone_id
  reserved_concurrency     = module.concurrency.reserved_concurrency
  alarm_topic_arn          = local.alarm_topic_arn
  kms_key_arn              = local.kms_key_arn
  third_party_api_url      = var.third_party_api_url
}

resource "aws_ssm_parameter" "contract" {
  for_each = module.ssm_contract.parameters

  # checkov:skip=CKV2_AWS_34:Not secret (ids, names, ARNs, a URL, a number): String/StringList, readable without kms:Decrypt.
  name        = each.key
  type        = each.value.type
  description = each.value.description
  tier        = "Standard"
  # insecure_value: nothing here is sensitive, so plans show the values for review instead of hiding them.
  insecure_value = each.value.value
}
