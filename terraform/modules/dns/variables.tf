variable "hosted_zone_name" {
  description = "Public hosted zone that holds the API domain, e.g. example.com."
  type        = string
}

variable "create_hosted_zone" {
  description = "Create the public zone here (then delegate it from the parent with the name_servers output) instead of looking up an existing one."
  type        = bool
  default     = false
}

variable "api_domain_name" {
  description = "The API's custom domain, inside hosted_zone_name, e.g. api.dev.example.com."
  type        = string
  validation {
    condition     = !startswith(var.api_domain_name, "*.")
    error_message = "api_domain_name must be one host name, not a wildcard."
  }
}
