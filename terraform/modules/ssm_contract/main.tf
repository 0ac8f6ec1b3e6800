# The Terraform -> Serverless contract: docs/architecture.md, "SSM parameters". One entry per row of that table, under
# /pmp/<stage>/. None of these values is secret (ids, names, ARNs, a URL, a number), so they are String / StringList:
# readable by the deployer with ssm:GetParameter and no kms:Decrypt, and visible in plans for review.
locals {
  prefix = "/pmp/${var.stage}/"

  entries = {
    "private-subnet-ids"       = { type = "StringList", value = join(",", var.private_subnet_ids), description = "The private subnet ids the function runs in, comma-separated" }
    "lambda-security-group-id" = { type = "String", value = var.lambda_security_group_id, description = "Security group of the function (egress to the proxy :5432 and HTTPS)" }
    "db-proxy-endpoint"        = { type = "String", value = var.db_proxy_endpoint, description = "RDS Proxy endpoint host name" }
    "db-proxy-resource-id"     = { type = "String", value = var.db_proxy_resource_id, description = "RDS Proxy resource id (prx-...), the resource of rds-db:connect" }
    "db-name"                  = { type = "String", value = var.db_name, description = "Database name" }
    "db-user"                  = { type = "String", value = var.db_user, description = "Database role the API function connects as, with an IAM token (pmp_api)" }
    "db-migrator-user"         = { type = "String", value = var.db_migrator_user, description = "Database role the migration function connects as, with an IAM token (pmp_migrator)" }
    "data-bucket-name"         = { type = "String", value = var.data_bucket_name, description = "Bucket the function reads large objects from" }
    "deployment-bucket-name"   = { type = "String", value = var.deployment_bucket_name, description = "Central Serverless deployment bucket" }
    "lambda-role-arn"          = { type = "String", value = var.lambda_role_arn, description = "Lambda execution role ARN" }
    "migration-role-arn"       = { type = "String", value = var.migration_role_arn, description = "Migration function's execution role ARN" }
    "cloudformation-role-arn"  = { type = "String", value = var.cloudformation_role_arn, description = "CloudFormation deployment role ARN" }
    "api-domain-name"          = { type = "String", value = var.api_domain_name, description = "The API's custom domain name" }
    "certificate-arn"          = { type = "String", value = var.certificate_arn, description = "ACM certificate for the custom domain, in the API's region" }
    "hosted-zone-id"           = { type = "String", value = var.hosted_zone_id, description = "Route 53 hosted zone that holds the domain" }
    "reserved-concurrency"     = { type = "String", value = tostring(var.reserved_concurrency), description = "The function's reserved concurrency, derived from the proxy's connection budget" }
    "alarm-topic-arn"          = { type = "String", value = var.alarm_topic_arn, description = "SNS topic for alarms" }
    "kms-key-arn"              = { type = "String", value = var.kms_key_arn, description = "The stage KMS key (log group encryption)" }
    "third-party-api-url"      = { type = "String", value = var.third_party_api_url, description = "Base URL of the third-party public API the function calls" }
  }
}
