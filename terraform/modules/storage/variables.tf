variable "stage" {
  description = "Stage name, part of every bucket name."
  type        = string
}

variable "service_name" {
  description = "Service name, the bucket name prefix."
  type        = string
  default     = "pmp-api"
}

variable "account_id" {
  description = "Account id: bucket names are global, so they include it."
  type        = string
}

variable "region" {
  description = "Region of the buckets (the stage's region), part of their names."
  type        = string
}

variable "kms_key_arn" {
  description = "Stage KMS key for SSE-KMS of the deployment and data buckets (its key policy must allow S3 use)."
  type        = string
}

variable "artifact_expiration_days" {
  description = "Days after which a deployment artifact expires. osls already keeps only the last 5 deployments; this is a safety net, long enough that the artifacts of the live deployment (needed by a CloudFormation rollback) normally stay."
  type        = number
  default     = 365
}

variable "noncurrent_version_days" {
  description = "Days a replaced or deleted object version is kept (recovery window)."
  type        = number
  default     = 30
}

variable "access_log_retention_days" {
  description = "Days S3 server access logs are kept."
  type        = number
  default     = 365
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the buckets with their objects and versions. Only for throw-away stages: without it, a teardown stops at the first non-empty versioned bucket."
  type        = bool
  default     = false
}
