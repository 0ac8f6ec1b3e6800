# The chain, and nothing else: function -> proxy :5432 -> database :5432. Rules are separate resources, each described.
# aws_security_group removes AWS's default allow-all egress rule on creation, so a group without egress rules has none.

resource "aws_security_group" "lambda" {
  # checkov:skip=CKV2_AWS_5:Attached outside Terraform: serverless.yml puts the function in it (SSM lambda-security-group-id).
  name        = "${var.name}-lambda"
  description = "The API function: out to the proxy and to HTTPS only"
  vpc_id      = var.vpc_id

  tags = { Name = "${var.name}-lambda" }
}

resource "aws_security_group" "proxy" {
  # checkov:skip=CKV2_AWS_5:Attached to aws_db_proxy.this (vpc_security_group_ids), which the check does not recognise.
  name        = "${var.name}-proxy"
  description = "RDS Proxy: in from the function, out to the database"
  vpc_id      = var.vpc_id

  tags = { Name = "${var.name}-proxy" }
}

resource "aws_security_group" "database" {
  name        = "${var.name}-database"
  description = "RDS PostgreSQL: in from the proxy only"
  vpc_id      = var.vpc_id

  tags = { Name = "${var.name}-database" }
}

resource "aws_vpc_security_group_egress_rule" "lambda_to_proxy" {
  security_group_id            = aws_security_group.lambda.id
  description                  = "PostgreSQL to the RDS Proxy"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.proxy.id
}

resource "aws_vpc_security_group_egress_rule" "lambda_https" {
  security_group_id = aws_security_group.lambda.id
  description       = "HTTPS: S3 through the gateway endpoint, the third-party API through the NAT gateways"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "proxy_from_lambda" {
  security_group_id            = aws_security_group.proxy.id
  description                  = "PostgreSQL from the API function"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.lambda.id
}

resource "aws_vpc_security_group_egress_rule" "proxy_to_database" {
  security_group_id            = aws_security_group.proxy.id
  description                  = "PostgreSQL to the database instance"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.database.id
}

resource "aws_vpc_security_group_ingress_rule" "database_from_proxy" {
  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from the RDS Proxy only"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.proxy.id
}
