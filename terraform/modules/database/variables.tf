variable "name" {
  description = "Identifier of the instance and the proxy, and prefix of the other resources, e.g. pmp-api-dev."
  type        = string
  nullable    = false
}

variable "vpc_id" {
  description = "VPC of the database, the proxy and the function."
  type        = string
  nullable    = false
}

variable "database_subnet_ids" {
  description = "Database subnets (no route out) for the DB subnet group."
  type        = list(string)
  nullable    = false
}

variable "private_subnet_ids" {
  description = "Private subnets for the proxy."
  type        = list(string)
  nullable    = false
}

variable "kms_key_arn" {
  description = "Stage KMS key: storage, Performance Insights, the managed master secret, the exported log groups."
  type        = string
  nullable    = false
}

variable "engine_version" {
  description = "PostgreSQL version, major (\"17\") or major.minor; the parameter group family follows the major."
  type        = string
  nullable    = false
}

variable "instance_class" {
  description = "RDS instance class."
  type        = string
  nullable    = false
}

variable "allocated_storage_gib" {
  description = "Initial gp3 storage, GiB."
  type        = number
  nullable    = false
}

variable "max_allocated_storage_gib" {
  description = "Storage autoscaling ceiling, GiB."
  type        = number
  nullable    = false
}

variable "multi_az" {
  description = "Standby in another AZ."
  type        = bool
  nullable    = false
}

variable "backup_retention_days" {
  description = "Automated backup retention, days."
  type        = number
  nullable    = false
}

variable "deletion_protection" {
  description = "Refuse deletion."
  type        = bool
  nullable    = false
}

variable "skip_final_snapshot" {
  description = "Delete without a final snapshot and with the automated backups."
  type        = bool
  nullable    = false
}

variable "performance_insights_retention_days" {
  description = "Performance Insights retention, days."
  type        = number
  nullable    = false
}

variable "database_insights_mode" {
  description = "Database Insights mode: standard or advanced."
  type        = string
  nullable    = false
}

variable "monitoring_interval_seconds" {
  description = "Enhanced monitoring interval, seconds."
  type        = number
  nullable    = false
}

variable "log_retention_days" {
  description = "Retention of the exported postgresql and upgrade logs, days."
  type        = number
  nullable    = false
}

variable "log_min_duration_ms" {
  description = "log_min_duration_statement, ms."
  type        = number
  nullable    = false
}

variable "db_name" {
  description = "Application database name."
  type        = string
  nullable    = false
}

variable "master_username" {
  description = "Master user name (password managed by RDS in Secrets Manager)."
  type        = string
  nullable    = false
}

variable "proxy_db_users" {
  description = "Database roles the RDS Proxy may sign in as with its own IAM role (end-to-end IAM authentication)."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.proxy_db_users) > 0 && !contains(var.proxy_db_users, var.master_username)
    error_message = "proxy_db_users must name the application roles, never the master user (break-glass only)."
  }
}

variable "proxy_max_connections_percent" {
  description = "RDS Proxy MaxConnectionsPercent (the concurrency module derives the reserved concurrency from the same number)."
  type        = number
  nullable    = false
}

variable "proxy_max_idle_connections_percent" {
  description = "RDS Proxy MaxIdleConnectionsPercent."
  type        = number
  nullable    = false
}

variable "proxy_idle_client_timeout_seconds" {
  description = "RDS Proxy idle client timeout, seconds."
  type        = number
  nullable    = false
}

variable "proxy_connection_borrow_timeout_seconds" {
  description = "How long a client waits for a free database connection before the proxy gives up, seconds. Short, below the function's timeout (10 s dev, 15 s prod), so the function answers with a clear error instead of being killed; with the bound right it should never wait."
  type        = number
  default     = 5
  nullable    = false
}

variable "allow_major_version_upgrade" {
  description = "Let a change of engine_version cross a PostgreSQL major version (docs/runbooks/postgres-major-upgrade.md). Off between upgrades."
  type        = bool
  default     = false
  nullable    = false
}

variable "apply_immediately" {
  description = "Apply instance changes now instead of in the next maintenance window (a major upgrade is then a planned outage of minutes). Off between planned changes."
  type        = bool
  default     = false
  nullable    = false
}
