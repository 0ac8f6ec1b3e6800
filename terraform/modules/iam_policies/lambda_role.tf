# The function's execution role: what the running function (and the Lambda service on its behalf, for VPC network
# interfaces) may do. Nothing here is needed to deploy; it is what the code needs at run time: what every function
# needs (function_runtime.tf), and the API's database role, data bucket and its key.
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
    Statement = concat(local.function_runtime_statements[var.function_name], [
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
    ])
  })
}
