# The root of one stage: the names every part shares, and the calls of the core modules (network, key, database,
# concurrency bound, monitoring). The access side (IAM, buckets, DNS) is wired in iam.tf, storage.tf and dns.tf;
# the SSM contract in ssm.tf.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

# Zones that need no opt-in (Local Zones and Wavelength excluded); the first three by name.
data "aws_availability_zones" "available" {
  # checkov:skip=CKV_AWS_394:Only the first three names (sorted) are used: a zone AWS adds later sorts after them, so the subnets do not move.
  state = "available"

  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }

  # The network spreads over three zones: a region with fewer fails here, at plan time, with this sentence.
  lifecycle {
    postcondition {
      condition     = length(self.names) >= 3
      error_message = "Region ${var.region} has ${length(self.names)} availability zone(s) without opt-in; the network needs three."
    }
  }
}

locals {
  service_name  = "pmp-api"
  stack_name    = "pmp-api-${var.stage}"
  function_name = "pmp-api-${var.stage}-api"

  kms_key_arn       = module.kms.key_arn
  alarm_topic_arn   = module.monitoring.topic_arn
  proxy_resource_id = module.database.proxy_resource_id
  # The database roles the functions sign in as (docs/database-access.md); the master user is break-glass only.
  db_user                  = "pmp_api"
  db_migrator_user         = "pmp_migrator"
  lambda_security_group_id = module.database.lambda_security_group_id
  private_subnet_ids       = module.network.private_subnet_ids
}

module "kms" {
  source = "./modules/kms"

  alias_name              = "alias/pmp-${var.stage}"
  description             = "PMP ${var.stage}: database, secrets, logs, alarm topic and buckets"
  deletion_window_in_days = var.kms_deletion_window_days
}

module "network" {
  source = "./modules/network"

  name                    = local.stack_name
  vpc_cidr                = var.vpc_cidr
  azs                     = slice(sort(data.aws_availability_zones.available.names), 0, 3)
  single_nat_gateway      = var.single_nat_gateway
  interface_endpoints     = var.interface_endpoints
  flow_log_retention_days = var.flow_log_retention_days
  kms_key_arn             = local.kms_key_arn
}

# Plan-time arithmetic: fails the plan when the instance is too small for the headroom.
module "concurrency" {
  source = "./modules/concurrency"

  instance_class             = var.db_instance_class
  max_connections_percent    = var.proxy_max_connections_percent
  headroom                   = var.concurrency_headroom
  reserved_concurrency_limit = var.reserved_concurrency_limit
}

module "database" {
  source = "./modules/database"

  name                = local.stack_name
  vpc_id              = module.network.vpc_id
  database_subnet_ids = module.network.database_subnet_ids
  private_subnet_ids  = module.network.private_subnet_ids
  kms_key_arn         = local.kms_key_arn

  engine_version                      = var.db_engine_version
  instance_class                      = var.db_instance_class
  allocated_storage_gib               = var.db_allocated_storage_gib
  max_allocated_storage_gib           = var.db_max_allocated_storage_gib
  multi_az                            = var.db_multi_az
  backup_retention_days               = var.db_backup_retention_days
  deletion_protection                 = var.db_deletion_protection
  skip_final_snapshot                 = var.db_skip_final_snapshot
  allow_major_version_upgrade         = var.db_allow_major_version_upgrade
  apply_immediately                   = var.db_apply_immediately
  performance_insights_retention_days = var.db_performance_insights_retention_days
  database_insights_mode              = var.db_database_insights_mode
  monitoring_interval_seconds         = var.db_monitoring_interval_seconds
  log_retention_days                  = var.db_log_retention_days
  log_min_duration_ms                 = var.db_log_min_duration_ms
  db_name                             = var.db_name
  master_username                     = var.db_master_username
  proxy_db_users                      = [local.db_user, local.db_migrator_user]

  proxy_max_connections_percent      = var.proxy_max_connections_percent
  proxy_max_idle_connections_percent = var.proxy_max_idle_connections_percent
  proxy_idle_client_timeout_seconds  = var.proxy_idle_client_timeout_seconds
}

# Named pmp-<stage>-*, outside the pmp-api-<stage>-* alarm names the CloudFormation deployment role may manage, so a
# Serverless deployment can never change or delete these alarms.
module "monitoring" {
  source = "./modules/monitoring"

  name        = "pmp-${var.stage}"
  kms_key_arn = local.kms_key_arn
  alarm_email = var.alarm_email

  db_instance_identifier       = module.database.instance_identifier
  db_burstable                 = module.concurrency.burstable
  db_vcpus                     = module.concurrency.vcpus
  db_memory_mib                = module.concurrency.instance_memory_mib
  db_allocated_storage_gib     = var.db_allocated_storage_gib
  db_max_allocated_storage_gib = var.db_max_allocated_storage_gib
  db_connections_threshold     = module.concurrency.db_connections_alarm_threshold

  proxy_name                           = module.database.proxy_name
  proxy_client_connections_threshold   = module.concurrency.proxy_client_connections_alarm_threshold
  proxy_database_connections_threshold = module.concurrency.proxy_database_connections_alarm_threshold
}
