terraform {
  # >= 1.10: S3-native state locking (use_lockfile) and variable validations that refer to other objects.
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.15 is the first release with aws_db_proxy.default_auth_scheme (end-to-end IAM authentication):
      # https://github.com/hashicorp/terraform-provider-aws/pull/44309
      version = ">= 6.15, < 7.0"
    }
  }
}
