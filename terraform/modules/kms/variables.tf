variable "alias_name" {
  description = "Alias of the key, alias/pmp-<stage>."
  type        = string
  nullable    = false

  validation {
    condition     = startswith(var.alias_name, "alias/") && !startswith(var.alias_name, "alias/aws/")
    error_message = "alias_name must start with alias/ and not with the reserved alias/aws/."
  }
}

variable "description" {
  description = "Description of the key."
  type        = string
  nullable    = false
}

variable "deletion_window_in_days" {
  description = "Waiting period before deletion once scheduled, days."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be from 7 to 30."
  }
}
