output "nat_egress_ips" {
  description = "Fixed public addresses of the function's outbound calls (NAT gateways' Elastic IPs): give them to the third party for its allow-list."
  value       = module.network.nat_public_ips
}

output "vpc_id" {
  description = "Id of the stage's VPC."
  value       = module.network.vpc_id
}

output "private_subnet_ids" {
  description = "Private subnet ids (the function and the proxy)."
  value       = local.private_subnet_ids
}

output "db_proxy_endpoint" {
  description = "RDS Proxy endpoint host name (the function's DB_HOST)."
  value       = module.database.proxy_endpoint
}

output "db_proxy_resource_id" {
  description = "RDS Proxy resource id (prx-...), the resource of rds-db:connect."
  value       = local.proxy_resource_id
}

output "db_instance_identifier" {
  description = "RDS instance identifier."
  value       = module.database.instance_identifier
}

output "db_master_user_secret_arn" {
  description = "ARN of the RDS-managed master secret (administration; the password itself never passes through Terraform)."
  value       = module.database.master_user_secret_arn
}

output "db_instance_address" {
  description = "Host name of the instance itself: the roles' first run from inside the VPC (docs/runbooks/database-first-run.md)."
  value       = module.database.instance_address
}

output "db_master_username" {
  description = "The RDS master user: first run and break-glass only; no component signs in as it."
  value       = module.database.master_username
}

output "db_user" {
  description = "Database role the API function connects as through the proxy, with an IAM token."
  value       = local.db_user
}

output "db_migrator_user" {
  description = "Database role the migration function connects as through the proxy, with an IAM token."
  value       = local.db_migrator_user
}

output "max_connections" {
  description = "The database's max_connections as the concurrency module estimates it."
  value       = module.concurrency.max_connections
}

output "proxy_connection_budget" {
  description = "Database connections the proxy may open."
  value       = module.concurrency.proxy_connection_budget
}

output "reserved_concurrency" {
  description = "The function's reserved concurrency (also in SSM reserved-concurrency)."
  value       = module.concurrency.reserved_concurrency
}

output "kms_key_arn" {
  description = "ARN of the stage KMS key (alias/pmp-<stage>)."
  value       = local.kms_key_arn
}

output "alarm_topic_arn" {
  description = "SNS topic for alarms."
  value       = local.alarm_topic_arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the database tier."
  value       = module.monitoring.dashboard_name
}

output "ssm_prefix" {
  description = "Where the SSM contract parameters live: /pmp/<stage>/."
  value       = module.ssm_contract.prefix
}

output "ssm_parameter_names" {
  description = "Full names of the SSM contract parameters."
  value       = sort(keys(aws_ssm_parameter.contract))
}

output "gitlab_oidc_provider_arn" {
  description = "The account's GitLab OIDC provider (account layer) that the stage's GitLab roles trust."
  value       = module.deployer.gitlab_oidc_provider_arn

  precondition {
    # The jobs ask GitLab for an id_token whose aud is the instance URL (.gitlab-ci.yml `id_tokens`), and STS accepts
    # it only when the provider lists that audience as a client id: a provider adopted by the account layer
    # (ExistingGitLabOidcProviderArn) without it would fail every AssumeRoleWithWebIdentity at deploy time.
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html
    condition     = contains(module.deployer.gitlab_oidc_provider_client_ids, var.gitlab_url)
    error_message = "The account's GitLab OIDC provider does not list ${var.gitlab_url} as a client id (audience): add it with `aws iam add-client-id-to-open-id-connect-provider` (docs/bootstrap.md)."
  }
}
