output "key_arn" {
  description = "ARN of the stage key."
  value       = aws_kms_key.this.arn
}

output "key_id" {
  description = "Id of the stage key."
  value       = aws_kms_key.this.key_id
}

output "alias_name" {
  description = "Alias of the stage key."
  value       = aws_kms_alias.this.name
}
