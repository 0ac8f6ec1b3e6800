variable "stage" {
  description = "Stage name; the parameters live under /pmp/<stage>/."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.stage))
    error_message = "stage must match ^[a-z][a-z0-9-]{1,15}$."
  }
}

variable "private_subnet_ids" {
  description = "Private subnet ids the function runs in (one per AZ)."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.private_subnet_ids) >= 2 && alltrue([for id in var.private_subnet_ids : !strcontains(id, ",")])
    error_message = "At least two private subnet ids, none containing a comma (the value is a StringList)."
  }
}

variable "lambda_security_group_id" {
  description = "Security group of the function."
  type        = string
  nullable    = false
}

variable "db_proxy_endpoint" {
  description = "RDS Proxy endpoint host name."
  type        = string
  nullable    = false
}

variable "db_proxy_resource_id" {
  description = "RDS Proxy resource id (prx-...), the resource of rds-db:connect."
  type        = string
  nullable    = false
}

variable "db_name" {
  description = "Database name."
  type        = string
  nullable    = false
}

variable "db_user" {
  description = "Database user the function connects as with an IAM token."
  type        = string
  nullable    = false
}

variable "db_migrator_user" {
  description = "Database role the migration function connects as with an IAM token."
  type        = string
  nullable    = false

  validation {
    condition     = var.db_migrator_user != var.db_user
    error_message = "db_migrator_user must differ from db_user: the API must not sign in as the schema owner."
  }
}

variable "data_bucket_name" {
  description = "Bucket the function reads large objects from."
  type        = string
  nullable    = false
}

variable "deployment_bucket_name" {
  description = "Central Serverless deployment bucket."
  type        = string
  nullable    = false
}

variable "lambda_role_arn" {
  description = "Lambda execution role ARN."
  type        = string
  nullable    = false
}

variable "migration_role_arn" {
  description = "Migration function's execution role ARN."
  type        = string
  nullable    = false
}

variable "cloudformation_role_arn" {
  description = "CloudFormation deployment role ARN."
  type        = string
  nullable    = false
}

variable "api_domain_name" {
  description = "The API's custom domain name."
  type        = string
  nullable    = false
}

variable "certificate_arn" {
  description = "ACM certificate ARN for the custom domain, in the API's region."
  type        = string
  nullable    = false
}

variable "hosted_zone_id" {
  description = "Route 53 hosted zone id that holds the domain."
  type        = string
  nullable    = false
}

variable "reserved_concurrency" {
  description = "The function's reserved concurrency (from the concurrency module)."
  type        = number
  nullable    = false

  validation {
    condition     = var.reserved_concurrency >= 1 && floor(var.reserved_concurrency) == var.reserved_concurrency
    error_message = "reserved_concurrency must be a positive integer."
  }
}

variable "alarm_topic_arn" {
  description = "SNS topic ARN for alarms."
  type        = string
  nullable    = false
}

variable "kms_key_arn" {
  description = "The stage KMS key ARN."
  type        = string
  nullable    = false
}

variable "third_party_api_url" {
  description = "Base URL of the third-party public API the function calls."
  type        = string
  nullable    = false

  validation {
    condition     = startswith(var.third_party_api_url, "https://")
    error_message = "third_party_api_url must be an https:// URL."
  }
}
