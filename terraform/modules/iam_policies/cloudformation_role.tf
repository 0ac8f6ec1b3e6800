# The CloudFormation deployment role (serverless.yml provider.iam.deploymentRole). CloudFormation uses it for every
# resource operation of the pmp-api-<stage> stack, so its permissions are derived from the registry handler
# permissions of exactly the resource types the generated template contains (cfn-handler-permissions.json), each
# action scoped to this stage's resources by the table below.
locals {
  cloudformation_trust_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      # No condition keys: no AWS document says CloudFormation sends aws:SourceArn or aws:SourceAccount when it
      # assumes a stack's service role, and a key it does not send would make every deploy fail ("role is invalid or
      # cannot be assumed"). Who may make CloudFormation use this role is decided by iam:PassRole instead: only the
      # stage's deployer may pass it, and only to CloudFormation (iam:PassedToService, documented in
      # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#ck_PassedToService),
      # for its own stack (cloudformation:RoleArn on CreateChangeSet of stack/<stack>/*).
      Sid       = "CloudFormationAssumesForTheStageStack"
      Effect    = "Allow"
      Principal = { Service = "cloudformation.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  handler_data = { for t, ops in jsondecode(file("${path.module}/cfn-handler-permissions.json")) : t => ops if !startswith(t, "_") }

  unknown_resource_types = [for t in var.cloudformation_resource_types : t if !contains(keys(local.handler_data), t)]

  # type => distinct actions of the selected operations, as the registry schema spells them.
  handler_actions_by_type = {
    for t in var.cloudformation_resource_types : t => sort(distinct(flatten([
      for op in var.cloudformation_handler_operations : lookup(lookup(local.handler_data, t, {}), op, [])
    ])))
  }

  # IAM action names are case-insensitive; the schemas are not consistent (s3:getObject vs s3:GetObject).
  excluded_lower       = { for a, why in var.excluded_handler_actions : lower(a) => why }
  required_actions     = sort(distinct([for a in flatten(values(local.handler_actions_by_type)) : lower(a)]))
  granted_actions_lc   = [for a in local.required_actions : a if !contains(keys(local.excluded_lower), a)]
  action_statements_lc = { for a, sids in local.cfn_action_statements : lower(a) => { action = a, sids = sids } }
  unmapped_actions     = [for a in local.granted_actions_lc : a if !contains(keys(local.action_statements_lc), a)]

  # Which statement(s) grant an action. An action missing here makes the output's precondition fail: a new resource
  # type must come with a decision on how far its actions can be scoped.
  cfn_action_statements = {
    "lambda:CreateFunction"                  = ["LambdaFunction"]
    "lambda:DeleteFunction"                  = ["LambdaFunction"]
    "lambda:DeleteFunctionCodeSigningConfig" = ["LambdaFunction"]
    "lambda:DeleteFunctionConcurrency"       = ["LambdaFunction"]
    "lambda:GetFunction"                     = ["LambdaFunction"]
    "lambda:GetFunctionCodeSigningConfig"    = ["LambdaFunction"]
    "lambda:GetFunctionConfiguration"        = ["LambdaFunction"]
    "lambda:GetFunctionRecursionConfig"      = ["LambdaFunction"]
    "lambda:GetPolicy"                       = ["LambdaFunction"]
    "lambda:GetProvisionedConcurrencyConfig" = ["LambdaFunction"]
    "lambda:GetRuntimeManagementConfig"      = ["LambdaFunction"]
    "lambda:ListVersionsByFunction"          = ["LambdaFunction"]
    "lambda:PublishVersion"                  = ["LambdaFunction"]
    "lambda:PutFunctionConcurrency"          = ["LambdaFunction"]
    "lambda:PutFunctionRecursionConfig"      = ["LambdaFunction"]
    "lambda:PutProvisionedConcurrencyConfig" = ["LambdaFunction"]
    "lambda:PutRuntimeManagementConfig"      = ["LambdaFunction"]
    "lambda:RemovePermission"                = ["LambdaFunction"]
    "lambda:TagResource"                     = ["LambdaFunction"]
    "lambda:UntagResource"                   = ["LambdaFunction"]
    "lambda:UpdateFunctionCode"              = ["LambdaFunction"]
    "lambda:UpdateFunctionConfiguration"     = ["LambdaFunction"]
    "lambda:AddPermission"                   = ["LambdaPermissionForApiGateway"]
    "lambda:ListFunctions"                   = ["ListWithoutResourceScope"]
    "iam:PassRole"                           = ["PassLambdaRoleToLambda"]
    "s3:GetObject"                           = ["ReadStageArtifacts"]
    "s3:GetObjectVersion"                    = ["ReadStageArtifacts"]
    "ec2:DescribeNetworkInterfaces"          = ["ListWithoutResourceScope"]
    "ec2:DescribeSecurityGroups"             = ["ListWithoutResourceScope"]
    "ec2:DescribeSubnets"                    = ["ListWithoutResourceScope"]
    "ec2:DescribeVpcs"                       = ["ListWithoutResourceScope"]
    "kms:CreateGrant"                        = ["KmsGrantForLambda"]
    "kms:Decrypt"                            = ["KmsViaLambdaAndS3"]
    "kms:DescribeKey"                        = ["KmsViaLambdaAndS3"]
    "kms:Encrypt"                            = ["KmsViaLambdaAndS3"]
    "kms:GenerateDataKey"                    = ["KmsViaLambdaAndS3"]
    "logs:DescribeLogGroups"                 = ["ListWithoutResourceScope"]
    "logs:DescribeIndexPolicies"             = ["ListWithoutResourceScope"]
    "logs:DescribeResourcePolicies"          = ["ListWithoutResourceScope"]
    "logs:CreateLogDelivery"                 = ["HttpApiAccessLogDelivery"]
    "logs:PutResourcePolicy"                 = ["HttpApiAccessLogDelivery"]
    "logs:AssociateKmsKey"                   = ["StageLogGroups"]
    "logs:CreateLogGroup"                    = ["StageLogGroups"]
    "logs:DeleteDataProtectionPolicy"        = ["StageLogGroups"]
    "logs:DeleteLogGroup"                    = ["StageLogGroups"]
    "logs:DeleteRetentionPolicy"             = ["StageLogGroups"]
    "logs:DisassociateKmsKey"                = ["StageLogGroups"]
    "logs:GetDataProtectionPolicy"           = ["StageLogGroups"]
    "logs:ListTagsForResource"               = ["StageLogGroups"]
    "logs:PutDataProtectionPolicy"           = ["StageLogGroups"]
    "logs:PutRetentionPolicy"                = ["StageLogGroups"]
    "logs:TagResource"                       = ["StageLogGroups"]
    "logs:UntagResource"                     = ["StageLogGroups"]
    "cloudwatch:DeleteAlarms"                = ["StageAlarms"]
    "cloudwatch:DescribeAlarms"              = ["StageAlarms"]
    "cloudwatch:ListTagsForResource"         = ["StageAlarms"]
    "cloudwatch:PutMetricAlarm"              = ["StageAlarms"]
    "cloudwatch:TagResource"                 = ["StageAlarms"]
    "cloudwatch:UntagResource"               = ["StageAlarms"]
    "apigateway:POST"                        = ["ApiGatewayCreateStageApi", "ApiGatewayApiChildren", "ApiGatewayTagApis", "ApiGatewayStageDomain"]
    "apigateway:GET"                         = ["ApiGatewayStageApi", "ApiGatewayApiChildren", "ApiGatewayTagApis", "ApiGatewayStageDomain"]
    "apigateway:PUT"                         = ["ApiGatewayStageApi", "ApiGatewayApiChildren", "ApiGatewayStageDomain"]
    "apigateway:PATCH"                       = ["ApiGatewayStageApi", "ApiGatewayApiChildren", "ApiGatewayStageDomain"]
    "apigateway:DELETE"                      = ["ApiGatewayStageApi", "ApiGatewayApiChildren", "ApiGatewayTagApis", "ApiGatewayStageDomain"]
  }

  apigw_child_paths = flatten([
    for c in ["routes", "integrations", "stages", "deployments", "authorizers"] : ["${local.apigw}/apis/*/${c}", "${local.apigw}/apis/*/${c}/*"]
  ])

  domain_types = ["AWS::ApiGatewayV2::DomainName", "AWS::ApiGatewayV2::ApiMapping"]

  # Statement id => where its actions apply. `types`, when set, limits the statement to stacks with one of them.
  cfn_statement_defs = {
    LambdaFunction = {
      # The stage's functions (API and migration) and their versions (qualified ARNs).
      resources = flatten([for f in local.stack_function_arns : [f, "${f}:*"]])
    }
    LambdaPermissionForApiGateway = {
      # Resource policy statements on the function may only let API Gateway invoke it.
      resources = flatten([for f in local.stack_function_arns : [f, "${f}:*"]])
      condition = { StringEquals = { "lambda:Principal" = "apigateway.amazonaws.com" } }
    }
    PassLambdaRoleToLambda = {
      resources = local.lambda_execution_role_arns
      condition = { StringEquals = { "iam:PassedToService" = "lambda.amazonaws.com" } }
    }
    ReadStageArtifacts = {
      # Lambda reads the code zip with the caller's (this role's) identity.
      resources = [local.artifact_objects_arn]
    }
    KmsViaLambdaAndS3 = {
      # The artifacts are SSE-KMS with the stage key; Lambda may encrypt environment variables with it.
      resources = [var.kms_key_arn]
      condition = { StringEquals = { "kms:ViaService" = [local.lambda_service, local.s3_service] } }
    }
    KmsGrantForLambda = {
      resources = [var.kms_key_arn]
      condition = {
        Bool         = { "kms:GrantIsForAWSResource" = "true" }
        StringEquals = { "kms:ViaService" = local.lambda_service }
      }
    }
    StageLogGroups = {
      resources = local.log_group_arns
    }
    StageAlarms = {
      # Explicit alarm names and CloudFormation's generated ones (<stack>-<LogicalId>-<suffix>) both start so.
      resources = [local.alarm_arn]
    }
    ListWithoutResourceScope = {
      # Describe/List calls without resource-level permissions: IAM only accepts "*". All are read-only.
      resources = ["*"]
    }
    ApiGatewayCreateStageApi = {
      # A new HTTP API must carry the stage tag (osls stack tag STAGE, propagated by CloudFormation, and
      # provider.tags on the Api resource).
      resources = ["${local.apigw}/apis"]
      condition = { StringEquals = { "aws:RequestTag/${var.stage_tag_key}" = var.stage } }
    }
    ApiGatewayStageApi = {
      # Existing APIs: only those tagged with this stage. API Gateway v2 ARNs hold an id, never a name.
      resources = ["${local.apigw}/apis/*"]
      condition = { StringEquals = { "aws:ResourceTag/${var.stage_tag_key}" = var.stage } }
    }
    ApiGatewayApiChildren = {
      # Routes, integrations, stages, deployments of an HTTP API: in API Gateway v2 child resources do NOT inherit
      # the API's tags (inheritance is a v1-only feature), and their ARNs hold only ids, so no tag or name can scope
      # them. Scoped to this account and region; see docs/iam.md.
      resources = local.apigw_child_paths
    }
    ApiGatewayTagApis = {
      # Tagging (also tag-on-create) is apigateway:POST/DELETE on /tags/<url-encoded resource ARN>; only APIs and
      # their stages, never domain names or VPC links.
      resources = ["${local.apigw}/tags/*%2Fapis%2F*", "${local.apigw}/tags/*/apis/*"]
    }
    HttpApiAccessLogDelivery = {
      # A stage with AccessLogSettings: API Gateway checks its caller (this role) for CloudWatch Logs log-delivery
      # permissions before it turns access logging on ("Insufficient permissions to enable logging" otherwise). The
      # delivery actions have no resource-level permissions. The registry's Stage handler list does not name them
      # (see cfn_service_side_actions); the LogGroup handler names two of them.
      types     = ["AWS::ApiGatewayV2::Stage"]
      resources = ["*"]
    }
    ApiGatewayStageDomain = {
      types = local.domain_types
      resources = [
        "${local.apigw}/domainnames",
        "${local.apigw}/domainnames/${var.api_domain_name}",
        "${local.apigw}/domainnames/${var.api_domain_name}/apimappings",
        "${local.apigw}/domainnames/${var.api_domain_name}/apimappings/*",
      ]
    }
  }

  cfn_statement_order = [
    "LambdaFunction", "LambdaPermissionForApiGateway", "PassLambdaRoleToLambda", "ReadStageArtifacts",
    "KmsViaLambdaAndS3", "KmsGrantForLambda", "StageLogGroups", "StageAlarms", "ListWithoutResourceScope",
    "ApiGatewayCreateStageApi", "ApiGatewayStageApi", "ApiGatewayApiChildren", "ApiGatewayTagApis",
    "HttpApiAccessLogDelivery", "ApiGatewayStageDomain",
  ]

  # Actions a service checks on the caller beyond the registry's handler lists (API Gateway's access-logging
  # documentation for HTTP APIs), granted where their statement's resource types are in the template.
  cfn_service_side_actions = {
    HttpApiAccessLogDelivery = [
      "logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeResourcePolicies", "logs:GetLogDelivery",
      "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery",
    ]
  }

  cfn_statement_actions = {
    for sid in local.cfn_statement_order : sid => sort(distinct(concat([
      for a in local.granted_actions_lc : local.action_statements_lc[a].action
      if contains(keys(local.action_statements_lc), a) && contains(try(local.action_statements_lc[a].sids, []), sid)
    ], lookup(local.cfn_service_side_actions, sid, []))))
    if length(setintersection(try(local.cfn_statement_defs[sid].types, var.cloudformation_resource_types), var.cloudformation_resource_types)) > 0
  }

  cfn_allow_statements = [
    for sid in local.cfn_statement_order : merge(
      {
        Sid      = sid
        Effect   = "Allow"
        Action   = local.cfn_statement_actions[sid]
        Resource = local.cfn_statement_defs[sid].resources
      },
      { for k, v in { Condition = try(local.cfn_statement_defs[sid].condition, null) } : k => v if v != null },
    )
    if length(lookup(local.cfn_statement_actions, sid, [])) > 0
  ]

  # Tagging is scoped to APIs, not to this stage's APIs (the tag of a resource being created cannot be checked):
  # never let the role re-tag an API that another stage owns, which would hand it over to this role.
  cfn_deny_statements = length(lookup(local.cfn_statement_actions, "ApiGatewayTagApis", [])) == 0 ? [] : [{
    Sid      = "DenyTaggingOtherStagesApis"
    Effect   = "Deny"
    Action   = ["apigateway:POST", "apigateway:DELETE"]
    Resource = ["${local.apigw}/tags/*"]
    Condition = {
      StringNotEquals = { "aws:ResourceTag/${var.stage_tag_key}" = var.stage }
      Null            = { "aws:ResourceTag/${var.stage_tag_key}" = "false" }
    }
  }]

  cloudformation_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = concat(local.cfn_allow_statements, local.cfn_deny_statements)
  })
}
