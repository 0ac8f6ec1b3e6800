# RDS Proxy: end-to-end IAM authentication. The functions sign in to the proxy with IAM tokens, and the proxy signs in to
# PostgreSQL with IAM tokens of its own role as the same database user (default_auth_scheme = "IAM_AUTH"): no secret
# anywhere in the request path. The master user's RDS-managed secret stays for break-glass only (no component reads
# it). It also caps the database connections the functions can cause.
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-iam-migration.html

locals {
  # rds-db:connect to the instance itself: dbuser:<instance resource id>/<user>; the account from the instance ARN.
  proxy_db_user_arn_prefix = "arn:${local.partition}:rds-db:${local.region}:${element(split(":", aws_db_instance.this.arn), 4)}:dbuser:${aws_db_instance.this.resource_id}"
}

data "aws_iam_policy_document" "proxy_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "proxy" {
  name               = "${var.name}-rds-proxy"
  description        = "RDS Proxy ${var.name} signs in to the database with IAM as the application's roles"
  assume_role_policy = data.aws_iam_policy_document.proxy_assume.json
}

# The proxy's own IAM sign-in to the instance (dbuser:<instance resource id>/<user>), as the two application roles
# only: never as the master user, and no secretsmanager:GetSecretValue at all.
data "aws_iam_policy_document" "proxy" {
  statement {
    sid     = "ConnectToTheDatabaseAsTheApplicationRoles"
    actions = ["rds-db:connect"]
    resources = [
      for user in var.proxy_db_users :
      "${local.proxy_db_user_arn_prefix}/${user}"
    ]
  }
}

resource "aws_iam_role_policy" "proxy" {
  name   = "connect-as-application-roles"
  role   = aws_iam_role.proxy.id
  policy = data.aws_iam_policy_document.proxy.json
}

# RDS Proxy writes its logs to /aws/rds/proxy/<name>, creating the group unencrypted and kept forever on first use
# unless it exists: created here first, with the stage key and the database logs' retention.
resource "aws_cloudwatch_log_group" "proxy" {
  name              = "/aws/rds/proxy/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_db_proxy" "this" {
  name                   = var.name
  engine_family          = "POSTGRESQL"
  role_arn               = aws_iam_role.proxy.arn
  vpc_subnet_ids         = var.private_subnet_ids
  vpc_security_group_ids = [aws_security_group.proxy.id]
  require_tls            = true
  idle_client_timeout    = var.proxy_idle_client_timeout_seconds
  # Debug logging would write SQL text (and its data) to the logs.
  debug_logging = false

  # End-to-end IAM: clients and the proxy both use IAM tokens, so no auth block (and no secret) is needed.
  default_auth_scheme = "IAM_AUTH"

  depends_on = [aws_iam_role_policy.proxy, aws_cloudwatch_log_group.proxy]
}

resource "aws_db_proxy_default_target_group" "this" {
  db_proxy_name = aws_db_proxy.this.name

  connection_pool_config {
    # The same number the concurrency module derives the function's reserved concurrency from.
    max_connections_percent      = var.proxy_max_connections_percent
    max_idle_connections_percent = var.proxy_max_idle_connections_percent
    connection_borrow_timeout    = var.proxy_connection_borrow_timeout_seconds
  }
}

resource "aws_db_proxy_target" "this" {
  db_proxy_name          = aws_db_proxy.this.name
  target_group_name      = aws_db_proxy_default_target_group.this.name
  db_instance_identifier = aws_db_instance.this.identifier
}
