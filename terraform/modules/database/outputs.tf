output "instance_identifier" {
  description = "RDS instance identifier (the DBInstanceIdentifier metric dimension)."
  value       = aws_db_instance.this.identifier
}

output "instance_arn" {
  description = "ARN of the RDS instance."
  value       = aws_db_instance.this.arn
}

output "instance_address" {
  description = "Host name of the instance itself (administration from inside the VPC; the function uses the proxy)."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "PostgreSQL port."
  value       = aws_db_instance.this.port
}

output "db_name" {
  description = "Application database name."
  value       = aws_db_instance.this.db_name
}

output "master_username" {
  description = "Master user name: break-glass administration only (its secret is in no request path)."
  value       = aws_db_instance.this.username
}

output "master_user_secret_arn" {
  description = "ARN of the RDS-managed secret holding the master password."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "proxy_name" {
  description = "RDS Proxy name (the ProxyName metric dimension)."
  value       = aws_db_proxy.this.name
}

output "proxy_arn" {
  description = "ARN of the RDS Proxy."
  value       = aws_db_proxy.this.arn
}

output "proxy_endpoint" {
  description = "RDS Proxy endpoint host name: where the function connects."
  value       = aws_db_proxy.this.endpoint
}

output "proxy_resource_id" {
  description = "Proxy resource id (prx-...), the last part of its ARN: the resource of rds-db:connect."
  value       = element(split(":", aws_db_proxy.this.arn), 6)
}

output "lambda_security_group_id" {
  description = "Security group for the function (egress to the proxy :5432 and HTTPS)."
  value       = aws_security_group.lambda.id
}

output "proxy_security_group_id" {
  description = "Security group of the proxy."
  value       = aws_security_group.proxy.id
}

output "database_security_group_id" {
  description = "Security group of the instance."
  value       = aws_security_group.database.id
}

# Terraform's tests read a module's outputs only: the root module's plan-level tests (terraform/tests/) check the
# planned resources through these.

output "log_groups" {
  description = "The module's log groups (exported database logs, the proxy's), as planned."
  value       = merge({ for type, group in aws_cloudwatch_log_group.exports : type => group }, { proxy = aws_cloudwatch_log_group.proxy })
}

output "planned" {
  description = "The instance, proxy and security-group rules as planned (terraform/tests/ asserts on them)."
  value = {
    instance = {
      for attribute in [
        "allow_major_version_upgrade", "apply_immediately", "backup_retention_period", "db_subnet_group_name",
        "deletion_protection", "delete_automated_backups", "engine_lifecycle_support", "final_snapshot_identifier",
        "iam_database_authentication_enabled", "kms_key_id", "multi_az", "performance_insights_enabled",
        "performance_insights_kms_key_id", "publicly_accessible", "skip_final_snapshot", "storage_encrypted",
        "vpc_security_group_ids", "max_allocated_storage",
      ] : attribute => aws_db_instance.this[attribute]
    }
    subnet_group_subnet_ids = aws_db_subnet_group.this.subnet_ids
    proxy                   = aws_db_proxy.this
    security_groups         = { lambda = aws_security_group.lambda, proxy = aws_security_group.proxy, database = aws_security_group.database }
    ingress_rules = {
      proxy_from_lambda   = aws_vpc_security_group_ingress_rule.proxy_from_lambda
      database_from_proxy = aws_vpc_security_group_ingress_rule.database_from_proxy
    }
  }
}
