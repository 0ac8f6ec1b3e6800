# Pure arithmetic: no provider, so `terraform init && terraform test` runs offline.
terraform {
  required_version = ">= 1.10"
}
