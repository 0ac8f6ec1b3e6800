variable "name" {
  description = "Name prefix of the topic, alarms and dashboard, e.g. pmp-api-dev."
  type        = string
  nullable    = false
}

variable "kms_key_arn" {
  description = "Stage KMS key that encrypts the alarm topic (its key policy lets CloudWatch use it)."
  type        = string
  nullable    = false
}

variable "alarm_email" {
  description = "E-mail address subscribed to the topic; null for none."
  type        = string
  default     = null
}

variable "db_instance_identifier" {
  description = "RDS instance identifier (DBInstanceIdentifier dimension)."
  type        = string
  nullable    = false
}

variable "db_burstable" {
  description = "Whether the instance class is burstable (db.t*): adds the CPU credit alarm."
  type        = bool
  nullable    = false
}

variable "db_vcpus" {
  description = "vCPU count of the instance: DBLoad above it means sessions queue for the CPU or wait."
  type        = number
  nullable    = false
}

variable "db_memory_mib" {
  description = "Nominal memory of the instance, MiB (the freeable memory alarm fires below a share of it)."
  type        = number
  nullable    = false
}

variable "db_allocated_storage_gib" {
  description = "Initial allocated storage, GiB (bounds the free storage alarm, see low_storage_percent)."
  type        = number
  nullable    = false
}

variable "db_max_allocated_storage_gib" {
  description = "Storage autoscaling ceiling, GiB: the free storage alarm fires below a share of it."
  type        = number
  nullable    = false
}

variable "db_connections_threshold" {
  description = "DatabaseConnections on the instance above which to alarm (from the concurrency module)."
  type        = number
  nullable    = false
}

variable "proxy_name" {
  description = "RDS Proxy name (ProxyName dimension)."
  type        = string
  nullable    = false
}

variable "proxy_client_connections_threshold" {
  description = "Proxy ClientConnections above which to alarm (from the concurrency module)."
  type        = number
  nullable    = false
}

variable "proxy_database_connections_threshold" {
  description = "Proxy DatabaseConnections and session-pinned connections above which to alarm (from the concurrency module)."
  type        = number
  nullable    = false
}

variable "cpu_percent_threshold" {
  description = "Database CPUUtilization above which to alarm, percent."
  type        = number
  default     = 80
  nullable    = false
}

variable "low_memory_percent" {
  description = "Alarm when FreeableMemory falls below this share of the instance memory, percent."
  type        = number
  default     = 10
  nullable    = false
}

variable "low_storage_percent" {
  description = "Alarm when FreeStorageSpace falls below this share of the autoscaling ceiling, percent. At the ceiling autoscaling stops; below it, autoscaling keeps 10 % of the allocated storage free, so the share must stay below that at the initial size."
  type        = number
  default     = 1
  nullable    = false

  # Otherwise the alarm would fire on a young database that autoscaling is still growing normally.
  validation {
    condition     = var.low_storage_percent > 0 && var.db_max_allocated_storage_gib * var.low_storage_percent / 100 <= var.db_allocated_storage_gib * 0.1
    error_message = "low_storage_percent of the ceiling (${var.db_max_allocated_storage_gib} GiB) must not exceed the 10 % of the initial ${var.db_allocated_storage_gib} GiB that autoscaling keeps free: lower it or raise the initial storage."
  }
}

variable "cpu_credit_balance_threshold" {
  description = "Alarm when a burstable instance's CPUCreditBalance falls below this many credits."
  type        = number
  default     = 20
  nullable    = false
}

variable "borrow_latency_ms_threshold" {
  description = "Alarm when the proxy's average DatabaseConnectionsBorrowLatency exceeds this, ms (clients waiting for a connection)."
  type        = number
  default     = 50
  nullable    = false
}
