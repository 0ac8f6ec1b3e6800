# RDS Proxy: the function authenticates with an IAM token (no password in the function), the proxy logs in to the
# database with the RDS-managed master secret, and it caps the database connections the function can cause.

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
  description        = "RDS Proxy ${var.name} reads the database's managed master secret"
  assume_role_policy = data.aws_iam_policy_document.proxy_assume.json
}

# Exactly one secret, and the key only as Secrets Manager uses it to decrypt that secret.
data "aws_iam_policy_document" "proxy" {
  statement {
    sid       = "ReadTheMasterSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_db_instance.this.master_user_secret[0].secret_arn]
  }

  statement {
    sid       = "DecryptItThroughSecretsManager"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "proxy" {
  name   = "read-master-secret"
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

  auth {
    description = "The master user: clients sign in with an IAM token, the proxy uses the RDS-managed secret"
    auth_scheme = "SECRETS"
    iam_auth    = "REQUIRED"
    secret_arn  = aws_db_instance.this.master_user_secret[0].secret_arn
  }

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
