# The function's execution role: what the running function (and the Lambda service on its behalf, for VPC network
# interfaces) may do. Nothing here is needed to deploy; it is what the code needs at run time.
locals {
  lambda_trust_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "LambdaAssumesExecutionRole"
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      # No aws:SourceAccount/SourceArn condition: the Lambda guide documents none for execution-role trust, and a
      # condition the service does not send would stop the function. Who may attach this role to a function is
      # controlled by iam:PassRole instead (only the CloudFormation deployment role, PassedToService lambda).
      Action = "sts:AssumeRole"
    }]
  })

  lambda_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # CloudFormation creates the log group (with retention and the stage key); the function only writes to it.
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["arn:${local.p}:logs:${local.r}:${local.a}:log-group:/aws/lambda/${var.function_name}:*"]
      },
      {
        # X-Ray has no resource-level permissions: Resource must be "*".
        Sid      = "WriteTraces"
        Effect   = "Allow"
        Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
        Resource = ["*"]
      },
      {
        # IAM database authentication through the RDS Proxy, as the API's role only (pmp_api: DML, no DDL). Never as
        # the migrator or the master user: the migration function has its own role (migration_role.tf).
        Sid      = "ConnectToProxyAsDbUser"
        Effect   = "Allow"
        Action   = ["rds-db:connect"]
        Resource = [local.api_db_user_arn]
      },
      {
        Sid      = "ReadDataObjects"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = ["${local.data_bucket_arn}/*"]
      },
      {
        # ListBucket turns a missing key into 404 instead of 403, so the function can tell "absent" from "denied".
        Sid      = "ListDataBucket"
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = [local.data_bucket_arn]
      },
      {
        # SSE-KMS objects: decrypt only through S3 and only for this bucket (with bucket keys the context is the
        # bucket ARN).
        Sid      = "DecryptDataObjectsViaS3"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = [var.kms_key_arn]
        Condition = {
          StringEquals = {
            "kms:ViaService"                   = local.s3_service
            "kms:EncryptionContext:aws:s3:arn" = local.data_bucket_arn
          }
        }
      },
      {
        # Environment variables are encrypted with the stage key (provider.kmsKeyArn); Lambda decrypts them at start
        # with this role. The context names the function, so no other function's variables.
        Sid      = "DecryptOwnEnvironment"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = [var.kms_key_arn]
        Condition = {
          StringEquals = { "kms:EncryptionContext:LambdaFunctionName" = var.function_name }
        }
      },
      {
        # Lambda creates the function's ENIs with this role: only in the private subnets, with the function's group.
        Sid      = "CreateEnisInPrivateSubnets"
        Effect   = "Allow"
        Action   = ["ec2:CreateNetworkInterface"]
        Resource = concat(local.subnet_arns, [local.security_group_arn, "arn:${local.p}:ec2:${local.r}:${local.a}:network-interface/*"])
      },
      {
        # The Lambda guide warns that scoping DeleteNetworkInterface to specific ids can cut the function off its VPC:
        # the interface ids are Lambda's, unknown in advance. Scoped to this account and region.
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
