variable "instance_class" {
  description = "RDS instance class of the database, e.g. db.t4g.micro. Must be a key of instance_classes."
  type        = string
  nullable    = false

  validation {
    condition     = contains(keys(var.instance_classes), var.instance_class)
    error_message = "Unknown instance class \"${var.instance_class}\": add its memory and vCPU count to instance_classes (the concurrency bound is derived from them)."
  }
}

variable "instance_classes" {
  description = "Nominal memory (MiB) and vCPU count per RDS instance class, as published by AWS. Extend it to use another class."
  type = map(object({
    memory_mib = number
    vcpus      = number
  }))
  nullable = false
  default = {
    "db.t3.micro"    = { memory_mib = 1024, vcpus = 2 }
    "db.t3.small"    = { memory_mib = 2048, vcpus = 2 }
    "db.t3.medium"   = { memory_mib = 4096, vcpus = 2 }
    "db.t4g.micro"   = { memory_mib = 1024, vcpus = 2 }
    "db.t4g.small"   = { memory_mib = 2048, vcpus = 2 }
    "db.t4g.medium"  = { memory_mib = 4096, vcpus = 2 }
    "db.t4g.large"   = { memory_mib = 8192, vcpus = 2 }
    "db.t4g.xlarge"  = { memory_mib = 16384, vcpus = 4 }
    "db.m6g.large"   = { memory_mib = 8192, vcpus = 2 }
    "db.m6g.xlarge"  = { memory_mib = 16384, vcpus = 4 }
    "db.m6g.2xlarge" = { memory_mib = 32768, vcpus = 8 }
    "db.m7g.large"   = { memory_mib = 8192, vcpus = 2 }
    "db.m7g.xlarge"  = { memory_mib = 16384, vcpus = 4 }
    "db.m7g.2xlarge" = { memory_mib = 32768, vcpus = 8 }
    "db.m7g.4xlarge" = { memory_mib = 65536, vcpus = 16 }
    "db.r6g.large"   = { memory_mib = 16384, vcpus = 2 }
    "db.r6g.xlarge"  = { memory_mib = 32768, vcpus = 4 }
    "db.r6g.2xlarge" = { memory_mib = 65536, vcpus = 8 }
    "db.r7g.large"   = { memory_mib = 16384, vcpus = 2 }
    "db.r7g.xlarge"  = { memory_mib = 32768, vcpus = 4 }
    "db.r7g.2xlarge" = { memory_mib = 65536, vcpus = 8 }
    "db.r7g.4xlarge" = { memory_mib = 131072, vcpus = 16 }
  }

  validation {
    condition     = alltrue([for c in values(var.instance_classes) : c.memory_mib >= 512 && c.vcpus >= 1])
    error_message = "Every instance class needs memory_mib >= 512 and vcpus >= 1."
  }
}

variable "max_connections" {
  description = "The database's real max_connections when it is known (set in the parameter group, or read with SHOW max_connections). null: estimate RDS's default from the instance memory."
  type        = number
  default     = null

  validation {
    condition     = var.max_connections == null || try(var.max_connections >= 1 && floor(var.max_connections) == var.max_connections, false)
    error_message = "max_connections must be a positive integer, or null."
  }
}

variable "max_connections_percent" {
  description = "RDS Proxy MaxConnectionsPercent: the share of max_connections the proxy may open (the rest is left for administration and RDS itself)."
  type        = number
  nullable    = false

  validation {
    condition     = var.max_connections_percent >= 1 && var.max_connections_percent <= 100 && floor(var.max_connections_percent) == var.max_connections_percent
    error_message = "max_connections_percent must be an integer from 1 to 100."
  }
}

variable "headroom" {
  description = "Proxy connections kept free of the function's reserved concurrency: a migration run and administrative sessions through the proxy."
  type        = number
  nullable    = false

  validation {
    condition     = var.headroom >= 0 && floor(var.headroom) == var.headroom
    error_message = "headroom must be a non-negative integer."
  }

  # Checked here, at plan time, so an instance too small for the headroom fails before anything is deployed.
  validation {
    condition     = local.proxy_connection_budget - var.headroom >= 1
    error_message = "The proxy may open ${local.proxy_connection_budget} connection(s) (max_connections ${local.max_connections} x ${var.max_connections_percent}%), which leaves no concurrency after a headroom of ${var.headroom}: choose a larger instance class, a higher max_connections_percent or a smaller headroom."
  }
}

variable "reserved_concurrency_limit" {
  description = "Optional upper bound on the reserved concurrency (the account's Lambda concurrency quota minus the 100 that must stay unreserved, shared with other functions). null: no bound."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrency_limit == null || try(var.reserved_concurrency_limit >= 1 && floor(var.reserved_concurrency_limit) == var.reserved_concurrency_limit, false)
    error_message = "reserved_concurrency_limit must be a positive integer, or null."
  }
}

variable "alarm_percent" {
  description = "Connection alarms fire at this share of their limit (database max_connections, proxy budget, reserved concurrency)."
  type        = number
  default     = 90
  nullable    = false

  validation {
    condition     = var.alarm_percent >= 50 && var.alarm_percent <= 100
    error_message = "alarm_percent must be between 50 and 100."
  }
}
