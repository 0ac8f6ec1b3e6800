# Offline rendering of every IAM document of modules/iam_policies with realistic example inputs, so the JSON can be
# linted (parliament) without AWS or a provider:
#   terraform init -backend=false && terraform apply -auto-approve && terraform output -json
# No provider and no resources: apply only evaluates outputs and writes a local state of outputs.
terraform {
  required_version = ">= 1.10"
}

module "iam_policies" {
  source = "../modules/iam_policies"

  partition                = "aws"
  region                   = "eu-central-1"
  account_id               = "123456789012"
  stage                    = "dev"
  stack_name               = "pmp-api-dev"
  function_name            = "pmp-api-dev-api"
  deployment_bucket_name   = "pmp-api-dev-deploy-123456789012-eu-central-1"
  data_bucket_name         = "pmp-api-dev-data-123456789012-eu-central-1"
  kms_key_arn              = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  proxy_resource_id        = "prx-0123456789abcdef0"
  db_user                  = "pmp_api"
  private_subnet_ids       = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2", "subnet-0ccccccccccccccc3"]
  lambda_security_group_id = "sg-0123456789abcdef0"
  api_domain_name          = "api.dev.example.com"
  hosted_zone_id           = "Z0123456789ABCDEFGHIJ"
  gitlab_url               = "https://gitlab.com"
  gitlab_project_path      = "pmp/pmp-api"
  gitlab_allowed_refs      = ["main"]
}
