# The central Serverless deployment bucket and the function's data bucket, both SSE-KMS with the stage key.
module "storage" {
  source = "./modules/storage"

  stage        = var.stage
  service_name = local.service_name
  account_id   = data.aws_caller_identity.current.account_id
  region       = var.region
  kms_key_arn  = local.kms_key_arn

  force_destroy = var.buckets_force_destroy
}
