# No provider on purpose: this module is pure logic (names, ARNs and policy documents built with jsonencode), so
# `terraform init -backend=false && terraform test` runs offline and the documents can be rendered and linted.
terraform {
  required_version = ">= 1.10"
}
