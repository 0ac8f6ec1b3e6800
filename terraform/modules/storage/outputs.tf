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
