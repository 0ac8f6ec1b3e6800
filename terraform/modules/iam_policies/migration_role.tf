# The migration function's execution role (serverless.yml `migrate`, pmp-api-<stage>-migrate). Separate from the API
# function's role so that each can sign in to the database only as its own role: this one as pmp_migrator (owner of
# the schema, runs DDL), the API's as pmp_api (DML only). No S3: migrations read nothing but the embedded SQL. What
# every function needs at run time (logs, traces, its environment, its network interfaces): function_runtime.tf.
locals {
  # The same service trust as the API function's role (see lambda_role.tf for why there is no condition).
  migration_trust_policy = local.lambda_trust_policy

  migration_policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(local.function_runtime_statements[local.migration_function_name], [
      {
        # IAM database authentication through the RDS Proxy, as the schema owner only. Never as pmp_api or the master
        # user. https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html
        Sid      = "ConnectToProxyAsMigrator"
        Effect   = "Allow"
        Action   = ["rds-db:connect"]
        Resource = [local.migrator_db_user_arn]
      },
    ])
  })
}
