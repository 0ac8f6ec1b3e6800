# Stage and region come from `cargo xtask` (-var); everything else from stages/<stage>.tfvars.

variable "stage" {
  description = "Stage name (dev, prod, ...). Passed by cargo xtask with -var; names, tags and the SSM path derive from it."
  type        = string
  nullable    = false

  # Names built from it (pmp-api-<stage>, the database and proxy identifiers, bucket names) must be valid for RDS and
  # S3, which refuse a hyphen at the end or two in a row: refused here, at plan time, instead of half-way through an apply.
  validation {
    condition     = can(regex("^[a-z]([a-z0-9]|-[a-z0-9]){1,15}$", var.stage)) && length(var.stage) <= 16
    error_message = "stage must be 2 to 16 lower-case letters, digits and single hyphens, start with a letter and not end with a hyphen (RDS and S3 names are built from it)."
  }
}

variable "region" {
  description = "AWS region of the stage. Passed by cargo xtask with -var."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-central-1."
  }
}

variable "account_id" {
  description = "The AWS account the stage lives in (stages/<stage>.tfvars). The provider refuses credentials of any other account (allowed_account_ids); a protected stage has an account of its own (docs/decisions/0009-one-account-per-stage.md)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be the 12-digit id of the stage's AWS account."
  }
}

# --- Domain -----------------------------------------------------------------------------------------------------------

variable "hosted_zone_name" {
  description = "Route 53 hosted zone that holds the API domain, e.g. example.com (no trailing dot)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.hosted_zone_name))
    error_message = "hosted_zone_name must be a lower-case DNS name without a trailing dot, e.g. example.com."
  }
}

variable "create_hosted_zone" {
  description = "Create the hosted zone in this stack (true) or look up an existing one by name (false)."
  type        = bool
  default     = false
  nullable    = false
}

variable "api_domain_name" {
  description = "The API's custom domain, e.g. api.dev.example.com; must lie inside hosted_zone_name."
  type        = string
  nullable    = false

  validation {
    condition     = endswith(var.api_domain_name, ".${var.hosted_zone_name}")
    error_message = "api_domain_name must be a name inside hosted_zone_name (end with \".${var.hosted_zone_name}\")."
  }
}

# --- GitLab deployer --------------------------------------------------------------------------------------------------

variable "gitlab_url" {
  description = "GitLab instance URL (OIDC issuer and repository tag)."
  type        = string
  default     = "https://gitlab.com"
  nullable    = false

  validation {
    condition     = can(regex("^https://[^/]+$", var.gitlab_url))
    error_message = "gitlab_url must be https://host, without a path or trailing slash."
  }
}

variable "gitlab_project_path" {
  description = "GitLab project path, group/project (subgroups allowed): the OIDC role trusts only this project."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$", var.gitlab_project_path))
    error_message = "gitlab_project_path must look like group/project."
  }
}

variable "gitlab_allowed_refs" {
  description = "Branches whose protected pipelines may assume the GitLab OIDC role."
  type        = list(string)
  default     = ["main"]
  nullable    = false

  validation {
    condition     = length(var.gitlab_allowed_refs) > 0 && alltrue([for r in var.gitlab_allowed_refs : r != "" && !strcontains(r, "*")])
    error_message = "gitlab_allowed_refs needs at least one branch name, without wildcards."
  }
}

variable "gitlab_release_tag_pattern" {
  description = "Protected tag pattern (e.g. release-*) whose pipelines alone may assume the stage's deploy role; null: the branches in gitlab_allowed_refs. Required for prod: AWS sees only the id_token's project and ref, never the GitLab environment."
  type        = string
  default     = null

  validation {
    condition     = var.gitlab_release_tag_pattern != null || var.stage != "prod"
    error_message = "prod needs gitlab_release_tag_pattern: its deploy role must trust only protected release tags, not a branch every maintainer pipeline runs on."
  }
  validation {
    condition     = var.gitlab_release_tag_pattern == null || can(regex("^[A-Za-z0-9._/-]+\\*?$", var.gitlab_release_tag_pattern))
    error_message = "gitlab_release_tag_pattern must be a tag name or prefix, optionally ending in one `*` (e.g. release-*)."
  }
}

# --- The function's dependencies --------------------------------------------------------------------------------------

variable "third_party_api_url" {
  description = "Base URL of the third-party public API the function calls (through the NAT gateways' fixed addresses)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^https://[^\\s/]+", var.third_party_api_url))
    error_message = "third_party_api_url must be an https:// URL."
  }
}

# --- Network ----------------------------------------------------------------------------------------------------------

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC, /16 to /20; every subnet is computed from it."
  type        = string
  default     = "10.0.0.0/16"
  nullable    = false

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && try(tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 20, false)
    error_message = "vpc_cidr must be an IPv4 CIDR with a prefix from /16 to /20."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all AZs (cheaper; egress fails with its AZ) instead of one per AZ."
  type        = bool
  nullable    = false
}

variable "interface_endpoints" {
  description = "AWS services reached through interface VPC endpoints from the private subnets, by short name (e.g. \"secretsmanager\", \"sts\"). S3 always has a gateway endpoint."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for s in var.interface_endpoints : can(regex("^[a-z0-9.-]+$", s)) && s != "s3"])
    error_message = "interface_endpoints holds service short names such as \"sts\"; s3 is served by the gateway endpoint."
  }
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow logs, days."
  type        = number
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

# --- Database ---------------------------------------------------------------------------------------------------------

variable "db_engine_version" {
  description = "PostgreSQL version: a major (\"17\": RDS picks the default minor and upgrades minors itself) or major.minor."
  type        = string
  default     = "17"
  nullable    = false

  validation {
    condition     = can(regex("^(1[4-9]|[2-9][0-9])(\\.[0-9]+)?$", var.db_engine_version))
    error_message = "db_engine_version must be a supported PostgreSQL major (14 or later), optionally with a minor: \"17\" or \"17.6\"."
  }
}

variable "db_instance_class" {
  description = "RDS instance class. It sets max_connections, hence the proxy budget and the function's reserved concurrency."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.db_instance_class))
    error_message = "db_instance_class must look like db.t4g.micro."
  }
}

variable "db_allocated_storage_gib" {
  description = "Initial gp3 storage, GiB."
  type        = number
  default     = 20
  nullable    = false

  validation {
    condition     = var.db_allocated_storage_gib >= 20 && var.db_allocated_storage_gib <= 65536
    error_message = "db_allocated_storage_gib must be from 20 to 65536."
  }
}

variable "db_max_allocated_storage_gib" {
  description = "Ceiling for storage autoscaling, GiB."
  type        = number
  nullable    = false

  validation {
    # RDS wants at least 10 % above the allocated storage before autoscaling is on.
    condition     = var.db_max_allocated_storage_gib >= ceil(var.db_allocated_storage_gib * 1.1) && var.db_max_allocated_storage_gib <= 65536
    error_message = "db_max_allocated_storage_gib must be at least 10 % above db_allocated_storage_gib, and at most 65536."
  }
}

variable "db_multi_az" {
  description = "Synchronous standby in another AZ (automatic failover)."
  type        = bool
  nullable    = false
}

variable "db_backup_retention_days" {
  description = "Automated backup retention, days (point-in-time recovery window)."
  type        = number
  nullable    = false

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be from 1 to 35 (0 would switch backups off)."
  }
}

variable "db_deletion_protection" {
  description = "Refuse to delete the instance until this is switched off."
  type        = bool
  nullable    = false
}

variable "db_skip_final_snapshot" {
  description = "Delete without a final snapshot (and with the automated backups). Only for throw-away stages."
  type        = bool
  nullable    = false
}

variable "db_allow_major_version_upgrade" {
  description = "Let a change of db_engine_version cross a PostgreSQL major version. On only for the apply of a major upgrade (docs/runbooks/postgres-major-upgrade.md)."
  type        = bool
  default     = false
  nullable    = false
}

variable "db_apply_immediately" {
  description = "Apply database changes now instead of in the maintenance window (sun 03:30-04:30 UTC). On only for a planned change such as a major upgrade."
  type        = bool
  default     = false
  nullable    = false
}

variable "buckets_force_destroy" {
  description = "Let a teardown delete the deployment, data and access-log buckets with their contents. Only for throw-away stages; a protected stage keeps its data."
  type        = bool
  nullable    = false
}

variable "db_performance_insights_retention_days" {
  description = "Performance Insights retention, days: 7 (free tier) or a multiple of 31 up to 731. Database Insights advanced mode needs 465."
  type        = number
  nullable    = false

  validation {
    condition     = var.db_performance_insights_retention_days == 7 || (var.db_performance_insights_retention_days % 31 == 0 && var.db_performance_insights_retention_days >= 31 && var.db_performance_insights_retention_days <= 731)
    error_message = "db_performance_insights_retention_days must be 7 or a multiple of 31 from 31 to 731."
  }
}

variable "db_database_insights_mode" {
  description = "CloudWatch Database Insights mode: standard, or advanced (per-query metrics, 15 months of history)."
  type        = string
  default     = "standard"
  nullable    = false

  validation {
    condition     = contains(["standard", "advanced"], var.db_database_insights_mode)
    error_message = "db_database_insights_mode must be standard or advanced."
  }
  validation {
    condition     = var.db_database_insights_mode == "standard" || var.db_performance_insights_retention_days == 465
    error_message = "Database Insights advanced mode needs db_performance_insights_retention_days = 465."
  }
}

variable "db_monitoring_interval_seconds" {
  description = "Enhanced monitoring interval, seconds (1, 5, 10, 15, 30 or 60)."
  type        = number
  nullable    = false

  validation {
    condition     = contains([1, 5, 10, 15, 30, 60], var.db_monitoring_interval_seconds)
    error_message = "db_monitoring_interval_seconds must be 1, 5, 10, 15, 30 or 60 (enhanced monitoring stays on)."
  }
}

variable "db_log_retention_days" {
  description = "Retention of the database's exported logs (postgresql, upgrade), days."
  type        = number
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.db_log_retention_days)
    error_message = "db_log_retention_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "db_log_min_duration_ms" {
  description = "Statements running longer than this are logged with their duration (log_min_duration_statement), ms."
  type        = number
  default     = 1000
  nullable    = false

  validation {
    condition     = var.db_log_min_duration_ms >= 0
    error_message = "db_log_min_duration_ms must be 0 (log everything) or more."
  }
}

variable "db_name" {
  description = "Name of the application database."
  type        = string
  default     = "pmp"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_name))
    error_message = "db_name must be a lower-case PostgreSQL identifier."
  }
}

variable "db_master_username" {
  description = "Master user; its password lives in the RDS-managed secret. Break-glass and the roles' first run only: the functions sign in as pmp_api and pmp_migrator (docs/database-access.md)."
  type        = string
  default     = "pmp_admin"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_master_username)) && !contains(["postgres", "rdsadmin", "admin"], var.db_master_username)
    error_message = "db_master_username must be a lower-case PostgreSQL identifier and not a reserved name."
  }

  # The application roles are created by the bootstrap as separate, least-privilege roles; the master must not be one.
  validation {
    condition     = !contains(["pmp_api", "pmp_migrator"], var.db_master_username)
    error_message = "db_master_username must not be pmp_api or pmp_migrator: those are the application's roles, created by the bootstrap."
  }
}

# --- Proxy and concurrency --------------------------------------------------------------------------------------------

variable "proxy_max_connections_percent" {
  description = "RDS Proxy MaxConnectionsPercent: share of max_connections the proxy may open. Sets the function's reserved concurrency."
  type        = number
  nullable    = false

  validation {
    condition     = var.proxy_max_connections_percent >= 1 && var.proxy_max_connections_percent <= 100 && floor(var.proxy_max_connections_percent) == var.proxy_max_connections_percent
    error_message = "proxy_max_connections_percent must be an integer from 1 to 100."
  }
}

variable "proxy_max_idle_connections_percent" {
  description = "RDS Proxy MaxIdleConnectionsPercent: share of max_connections the proxy keeps open while idle."
  type        = number
  nullable    = false

  validation {
    condition     = var.proxy_max_idle_connections_percent >= 0 && var.proxy_max_idle_connections_percent <= var.proxy_max_connections_percent
    error_message = "proxy_max_idle_connections_percent must be from 0 to proxy_max_connections_percent."
  }
}

variable "proxy_idle_client_timeout_seconds" {
  description = "The proxy closes client connections idle this long (a frozen Lambda environment's connection), seconds."
  type        = number
  default     = 900
  nullable    = false

  validation {
    condition     = var.proxy_idle_client_timeout_seconds >= 60 && var.proxy_idle_client_timeout_seconds <= 28800
    error_message = "proxy_idle_client_timeout_seconds must be from 60 to 28800."
  }
}

variable "concurrency_headroom" {
  description = "Proxy connections kept out of the function's reserved concurrency for a migration run and administrative sessions."
  type        = number
  nullable    = false

  validation {
    condition     = var.concurrency_headroom >= 0 && floor(var.concurrency_headroom) == var.concurrency_headroom
    error_message = "concurrency_headroom must be a non-negative integer."
  }
}

variable "reserved_concurrency_limit" {
  description = "Optional upper bound on the function's reserved concurrency (the account's Lambda quota less the 100 kept unreserved and other functions' reservations). null: no bound."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrency_limit == null || try(var.reserved_concurrency_limit >= 1, false)
    error_message = "reserved_concurrency_limit must be at least 1, or null."
  }
}

# --- Alarms and keys --------------------------------------------------------------------------------------------------

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic (the recipient confirms once). null: no subscription, allowed only outside the protected stages."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an e-mail address, or null."
  }

  # The protected stages are xtask's (xtask/src/stage.rs, PROTECTED): their alarms must reach someone.
  validation {
    condition     = var.alarm_email != null || !contains(["prod"], var.stage)
    error_message = "The protected stage ${var.stage} needs an alarm subscriber: set alarm_email in stages/${var.stage}.tfvars."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the stage KMS key is deleted once scheduled, days."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be from 7 to 30."
  }
}
