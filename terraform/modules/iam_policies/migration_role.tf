# The migration function's execution role (serverless.yml `migrate`, pmp-api-<stage>-migrate). Separate from the API
# function's role so that each can sign in to the database only as its own role: this one as pmp_migrator (owner of
# the schema, runs DDL), the API's as pmp_api (DML only). No S3: migrations read nothing but the embedded SQL.
locals {
  # The same service trust as the API function's role (see lambda_role.tf for why there is no condition).
  migration_trust_policy = local.lambda_trust_policy

  migration_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["arn:${local.p}:logs:${local.r}:${local.a}:log-group:/aws/lambda/${local.migration_function_name}:*"]
      },
      {
        # X-Ray has no resource-level permissions: Resource must be "*".
        Sid      = "WriteTraces"
        Effect   = "Allow"
        Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
        Resource = ["*"]
      },
      {
        # IAM database authentication through the RDS Proxy, as the schema owner only. Never as pmp_api or the master
        # user. https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html
        Sid      = "ConnectToProxyAsMigrator"
        Effect   = "Allow"
        Action   = ["rds-db:connect"]
        Resource = [local.migrator_db_user_arn]
      },
      {
        # Environment variables are encrypted with the stage key; the context names this function only.
        Sid      = "DecryptOwnEnvironment"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = [var.kms_key_arn]
        Condition = {
          StringEquals = { "kms:EncryptionContext:LambdaFunctionName" = local.migration_function_name }
        }
      },
      {
        # The function runs in the same private subnets with the same security group as the API function.
        Sid      = "CreateEnisInPrivateSubnets"
        Effect   = "Allow"
        Action   = ["ec2:CreateNetworkInterface"]
        Resource = concat(local.subnet_arns, [local.security_group_arn, "arn:${local.p}:ec2:${local.r}:${local.a}:network-interface/*"])
      },
      {
        # Interface ids are Lambda's, unknown in advance (see lambda_role.tf).
        Sid      = "ManageOwnEnis"
        Effect   = "Allow"
        Action   = ["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
        Resource = ["arn:${local.p}:ec2:${local.r}:${local.a}:network-interface/*"]
      },
      {
        # Describe calls have no resource-level permissions: Resource must be "*".
        Sid      = "DescribeNetwork"
        Effect   = "Allow"
        Action   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
        Resource = ["*"]
      },
    ]
  })
}
