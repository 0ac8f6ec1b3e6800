variable "name" {
  description = "Name prefix of every resource, e.g. pmp-api-dev."
  type        = string
  nullable    = false
}

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC, /16 to /20. Public and database subnets take a /24 each (at /16), private ones a /20, all computed from it."
  type        = string
  nullable    = false

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && try(tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 20, false)
    error_message = "vpc_cidr must be an IPv4 CIDR with a prefix from /16 to /20."
  }
}

variable "azs" {
  description = "The three availability zones to spread the subnets over."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.azs) == 3 && length(distinct(var.azs)) == 3
    error_message = "azs must name three distinct availability zones."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for every AZ (true) or one per AZ (false)."
  type        = bool
  nullable    = false
}

variable "interface_endpoints" {
  description = "AWS services to reach through interface endpoints in the private subnets, by short name (e.g. \"sts\")."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "flow_log_retention_days" {
  description = "Retention of the flow log group, days."
  type        = number
  nullable    = false
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the flow log group."
  type        = string
  nullable    = false
}
