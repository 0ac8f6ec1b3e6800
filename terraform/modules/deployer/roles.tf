# The two service roles Serverless uses: provider.iam.role (the function) and provider.iam.deploymentRole
# (CloudFormation). Inline policies: they belong to exactly one role and live and die with it.
resource "aws_iam_role" "lambda" {
  name                 = var.names.lambda_role
  description          = "Execution role of the stage's API function"
  assume_role_policy   = var.lambda_trust_policy
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "lambda" {
  name   = "runtime"
  role   = aws_iam_role.lambda.id
  policy = var.lambda_policy
}

# The migration function's (serverless.yml `migrate`): signs in to the database as pmp_migrator only.
resource "aws_iam_role" "migration" {
  name                 = var.names.migration_role
  description          = "Execution role of the stage's migration function (database role pmp_migrator)"
  assume_role_policy   = var.migration_trust_policy
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "migration" {
  name   = "runtime"
  role   = aws_iam_role.migration.id
  policy = var.migration_policy
}

resource "aws_iam_role" "cloudformation" {
  name                 = var.names.cloudformation_role
  description          = "CloudFormation service role of the stage's Serverless stack: manages only that stack's resources"
  assume_role_policy   = var.cloudformation_trust_policy
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "cloudformation" {
  name   = "stack-resources"
  role   = aws_iam_role.cloudformation.id
  policy = var.cloudformation_policy
}
