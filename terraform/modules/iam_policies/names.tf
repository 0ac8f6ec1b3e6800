# Every name and ARN the policies scope to, derived once from the stage. modules/deployer creates the roles with these
# names, so the documents can refer to the roles before they exist (no dependency cycle).
locals {
  p = var.partition
  r = var.region
  a = var.account_id

  lambda_role_name         = "${var.stack_name}-lambda"
  cloudformation_role_name = "${var.stack_name}-cloudformation"
  gitlab_user_name         = "${var.stack_name}-gitlab"
  gitlab_group_name        = "${var.stack_name}-deployers"
  gitlab_oidc_role_name    = "${var.stack_name}-gitlab-oidc"
  plan_role_name           = "${var.stack_name}-plan"
  migration_role_name      = "${var.stack_name}-migration"

  lambda_role_arn         = "arn:${local.p}:iam::${local.a}:role/${local.lambda_role_name}"
  cloudformation_role_arn = "arn:${local.p}:iam::${local.a}:role/${local.cloudformation_role_name}"
  migration_role_arn      = "arn:${local.p}:iam::${local.a}:role/${local.migration_role_name}"

  # Every execution role of the stack's functions, passed by the deployment role to Lambda only: the API function's
  # and the migration function's.
  lambda_execution_role_arns = [
    local.lambda_role_arn,
    local.migration_role_arn,
  ]

  stack_arn = "arn:${local.p}:cloudformation:${local.r}:${local.a}:stack/${var.stack_name}/*"

  function_arn = "arn:${local.p}:lambda:${local.r}:${local.a}:function:${var.function_name}"

  # Every function of the stack: the deployment role manages them, the deployer reads them for change detection.
  stack_function_arns = [
    local.function_arn,
    local.migration_function_arn,
  ]

  # Functions the deployer invokes directly: only the migration function (`cargo xtask migrate`); the API function
  # refuses commands and is reached through the HTTP API alone.
  invoked_function_arns = [
    local.migration_function_arn,
  ]

  # The bootstrap state bucket and this stage's state and lock objects (backend key pmp/<stage>/terraform.tfstate).
  state_bucket_arn = "arn:${local.p}:s3:::${coalesce(var.state_bucket_name, "pmp-terraform-state-${local.a}-${local.r}")}"
  state_object_arn = "${local.state_bucket_arn}/pmp/${var.stage}/terraform.tfstate"
  state_lock_arn   = "${local.state_object_arn}.tflock"

  # The migration function (serverless.yml `migrate`): the same zip, its own role, invoked directly only.
  migration_function_name = "${var.stack_name}-migrate"
  migration_function_arn  = "arn:${local.p}:lambda:${local.r}:${local.a}:function:${local.migration_function_name}"

  # rds-db:connect resources: one database user through the stage's proxy.
  # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html
  api_db_user_arn      = "arn:${local.p}:rds-db:${local.r}:${local.a}:dbuser:${var.proxy_resource_id}/${var.db_user}"
  migrator_db_user_arn = "arn:${local.p}:rds-db:${local.r}:${local.a}:dbuser:${var.proxy_resource_id}/${var.migrator_db_user}"

  # osls names its HTTP API access-log group /aws/http-api/<stack>; the function's group is /aws/lambda/<function>.
  log_group_names = ["/aws/lambda/${var.function_name}", "/aws/lambda/${local.migration_function_name}", "/aws/http-api/${var.stack_name}"]
  log_group_arns = flatten([
    for n in local.log_group_names : [
      "arn:${local.p}:logs:${local.r}:${local.a}:log-group:${n}",
      "arn:${local.p}:logs:${local.r}:${local.a}:log-group:${n}:*",
    ]
  ])

  # osls uploads to <deploymentPrefix>/<service>/<stage>/<timestamp>/ with deploymentPrefix `serverless`.
  artifact_prefix       = "serverless/${var.service_name}/${var.stage}/"
  deployment_bucket_arn = "arn:${local.p}:s3:::${var.deployment_bucket_name}"
  artifact_objects_arn  = "${local.deployment_bucket_arn}/${local.artifact_prefix}*"
  data_bucket_arn       = "arn:${local.p}:s3:::${var.data_bucket_name}"

  ssm_prefix = coalesce(var.ssm_parameter_prefix, "pmp/${var.stage}")

  alarm_arn = "arn:${local.p}:cloudwatch:${local.r}:${local.a}:alarm:${var.stack_name}-*"

  apigw = "arn:${local.p}:apigateway:${local.r}::"

  subnet_arns        = [for s in var.private_subnet_ids : "arn:${local.p}:ec2:${local.r}:${local.a}:subnet/${s}"]
  security_group_arn = "arn:${local.p}:ec2:${local.r}:${local.a}:security-group/${var.lambda_security_group_id}"

  dns_suffix = var.partition == "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com"

  # Regional service endpoints as they appear in kms:ViaService.
  s3_service     = "s3.${local.r}.${local.dns_suffix}"
  lambda_service = "lambda.${local.r}.${local.dns_suffix}"

  # The host osls puts in TemplateURL (https://<s3 endpoint>/<bucket>/<key>), path-style.
  template_url_prefixes = [
    "https://s3.${local.dns_suffix}/${var.deployment_bucket_name}/${local.artifact_prefix}*",
    "https://s3.${local.r}.${local.dns_suffix}/${var.deployment_bucket_name}/${local.artifact_prefix}*",
  ]
}
