# The contract itself (names, types, descriptions) is logic: no provider, so it is tested offline.
terraform {
  required_version = ">= 1.10"
}
