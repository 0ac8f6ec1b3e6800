data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.region
  major     = split(".", var.engine_version)[0]
  # iam-db-auth-error: why an IAM sign-in (the function's, through the proxy) was refused.
  log_types = ["postgresql", "upgrade", "iam-db-auth-error"]
}

resource "aws_db_subnet_group" "this" {
  name        = var.name
  description = "Database subnets of ${var.name}: no route out of the VPC"
  subnet_ids  = var.database_subnet_ids
}

# Parameters that differ from RDS's defaults, each for a reason. The family follows the major version; a new group is
# created before the old one goes, so a major upgrade can switch groups in one apply.
resource "aws_db_parameter_group" "this" {
  name_prefix = "${var.name}-postgres${local.major}-"
  family      = "postgres${local.major}"
  description = "PostgreSQL ${local.major} for ${var.name}: TLS only, useful logs"

  # Clients without TLS are refused (the proxy connects with TLS; nothing else may connect).
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "ssl_min_protocol_version"
    value = "TLSv1.2"
  }

  # Slow statements, with their duration.
  parameter {
    name  = "log_min_duration_statement"
    value = tostring(var.log_min_duration_ms)
  }

  # Who connected and for how long: the proxy's pool churn and any connection that bypasses it.
  parameter {
    name  = "log_connections"
    value = "1"
  }

  parameter {
    name  = "log_disconnections"
    value = "1"
  }

  # Waits longer than deadlock_timeout (1 s): pinned sessions and the migration's advisory lock show up here.
  parameter {
    name  = "log_lock_waits"
    value = "1"
  }

  # Schema changes are rare and worth an audit line each.
  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  # Queries spilling more than 10 MB to disk (work_mem too small, or a missing index).
  parameter {
    name  = "log_temp_files"
    value = "10240"
  }

  parameter {
    name  = "log_autovacuum_min_duration"
    value = "10000"
  }

  # A frozen Lambda environment must not keep a transaction (and its locks) open on a pinned connection.
  parameter {
    name  = "idle_in_transaction_session_timeout"
    value = "300000"
  }

  lifecycle {
    create_before_destroy = true
  }
}

# Created here, not by RDS on first export, so they are encrypted and expire.
resource "aws_cloudwatch_log_group" "exports" {
  for_each = toset(local.log_types)

  name              = "/aws/rds/instance/${var.name}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

# Enhanced monitoring: the OS metrics agent writes to the RDSOSMetrics log group with this role.
resource "aws_iam_role" "monitoring" {
  name               = "${var.name}-rds-monitoring"
  description        = "RDS enhanced monitoring of ${var.name}"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume.json
}

# The AWS managed policy is the documented minimum for this role (RDSOSMetrics log group only).
resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

# The final snapshot's name carries the time this instance was first planned, so a stage torn down, recreated and
# torn down again leaves a second snapshot instead of failing on the first one's name. The time is kept (ignore_changes)
# and renewed only when the instance itself is replaced (its identifier, key, database or user change).
resource "terraform_data" "instance_generation" {
  input            = plantimestamp()
  triggers_replace = [var.name, var.kms_key_arn, var.db_name, var.master_username]

  lifecycle {
    ignore_changes = [input]
  }
}

locals {
  # At most 255 characters, letters, digits and single hyphens, not ending in one: <name>-final-YYYYMMDDhhmmss.
  final_snapshot_identifier = "${var.name}-final-${formatdate("YYYYMMDDhhmmss", terraform_data.instance_generation.input)}"
}

resource "aws_db_instance" "this" {
  identifier     = var.name
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class

  # Minor versions (security fixes) arrive in the maintenance window; a major upgrade is a deliberate change, made
  # with docs/runbooks/postgres-major-upgrade.md (both switches on for that one apply, off again afterwards).
  auto_minor_version_upgrade  = true
  allow_major_version_upgrade = var.allow_major_version_upgrade
  apply_immediately           = var.apply_immediately
  # A major version past its end of standard support is upgraded, not silently billed as RDS Extended Support.
  engine_lifecycle_support = "open-source-rds-extended-support-disabled"

  storage_type          = "gp3"
  allocated_storage     = var.allocated_storage_gib
  max_allocated_storage = var.max_allocated_storage_gib
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  db_name  = var.db_name
  username = var.master_username
  # RDS generates, stores (in Secrets Manager, with the stage key) and rotates the password: it never enters Terraform.
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = var.kms_key_arn
  iam_database_authentication_enabled = true

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.database.id]
  publicly_accessible    = false
  multi_az               = var.multi_az
  parameter_group_name   = aws_db_parameter_group.this.name
  ca_cert_identifier     = "rds-ca-rsa2048-g1"

  backup_retention_period   = var.backup_retention_days
  backup_window             = "02:00-03:00"
  maintenance_window        = "sun:03:30-sun:04:30"
  copy_tags_to_snapshot     = true
  delete_automated_backups  = var.skip_final_snapshot
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = var.skip_final_snapshot
  final_snapshot_identifier = var.skip_final_snapshot ? null : local.final_snapshot_identifier

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = var.kms_key_arn
  performance_insights_retention_period = var.performance_insights_retention_days
  database_insights_mode                = var.database_insights_mode
  monitoring_interval                   = var.monitoring_interval_seconds
  monitoring_role_arn                   = aws_iam_role.monitoring.arn

  enabled_cloudwatch_logs_exports = local.log_types

  depends_on = [aws_cloudwatch_log_group.exports, aws_iam_role_policy_attachment.monitoring]
}
