output "deployment_bucket_name" {
  description = "Central Serverless deployment bucket (provider.deploymentBucket.name)."
  value       = aws_s3_bucket.deployment.id
}

output "deployment_bucket_arn" {
  description = "ARN of the deployment bucket."
  value       = aws_s3_bucket.deployment.arn
}

output "data_bucket_name" {
  description = "Bucket the function reads large objects from."
  value       = aws_s3_bucket.data.id
}

output "data_bucket_arn" {
  description = "ARN of the data bucket."
  value       = aws_s3_bucket.data.arn
}

output "access_log_bucket_name" {
  description = "Bucket receiving the S3 server access logs of both buckets."
  value       = aws_s3_bucket.access_logs.id
}

# Terraform's tests read a module's outputs only: the root module's plan-level tests (terraform/tests/) check the
# planned resources through this.
output "planned" {
  description = "Every bucket with its encryption, public access block, versioning and policy, as planned (terraform/tests/ asserts on them)."
  value = {
    buckets = local.all_buckets
    encryption = merge(
      { for key, config in aws_s3_bucket_server_side_encryption_configuration.kms : key => config },
      { access_logs = aws_s3_bucket_server_side_encryption_configuration.access_logs },
    )
    public_access_blocks = aws_s3_bucket_public_access_block.all
    versioning           = aws_s3_bucket_versioning.all
    policies             = merge({ for key, policy in aws_s3_bucket_policy.kms_buckets : key => policy }, { access_logs = aws_s3_bucket_policy.access_logs })
  }
}
