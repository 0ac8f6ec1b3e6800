# The policy documents are logic: these runs evaluate the module offline (no provider) and assert on the JSON.
# Shared inputs: a realistic dev stage.
variables {
  partition                = "aws"
  region                   = "eu-central-1"
  account_id               = "123456789012"
  stage                    = "dev"
  stack_name               = "pmp-api-dev"
  function_name            = "pmp-api-dev-api"
  deployment_bucket_name   = "pmp-api-dev-deploy-123456789012-eu-central-1"
  data_bucket_name         = "pmp-api-dev-data-123456789012-eu-central-1"
  kms_key_arn              = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  proxy_resource_id        = "prx-0123456789abcdef0"
  db_user                  = "pmp_api"
  private_subnet_ids       = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]
  lambda_security_group_id = "sg-0123456789abcdef0"
  api_domain_name          = "api.dev.example.com"
  hosted_zone_id           = "Z0123456789ABCDEFGHIJ"
  gitlab_project_path      = "pmp/pmp-api"
}

run "no_wildcard_action_anywhere" {
  command = plan

  # No "*", no "service:*", no "service:Get*": every granted action is named.
  assert {
    condition = alltrue(flatten([
      for name, doc in output.identity_policies : [
        for s in jsondecode(doc).Statement : [for a in flatten([s.Action]) : !strcontains(a, "*")]
      ]
    ]))
    error_message = "An identity policy grants a wildcard action."
  }
}

run "star_resource_only_where_iam_allows_nothing_else" {
  command = plan

  # Resource "*" only for actions without resource-level permissions (read-only Describe/List, X-Ray writes,
  # ValidateTemplate).
  assert {
    condition = alltrue(flatten([
      for name, doc in output.identity_policies : [
        for s in jsondecode(doc).Statement : [
          for a in flatten([s.Action]) : contains([
            "xray:PutTraceSegments", "xray:PutTelemetryRecords", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
            "ec2:DescribeSecurityGroups", "ec2:DescribeVpcs", "logs:DescribeLogGroups", "logs:DescribeIndexPolicies",
            "logs:DescribeResourcePolicies", "cloudformation:ValidateTemplate",
            # HTTP API access logging: API Gateway checks these on the deployment role; none has a resource scope.
            "logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:GetLogDelivery", "logs:ListLogDeliveries",
            "logs:PutResourcePolicy", "logs:UpdateLogDelivery",
          ], a)
        ] if contains(flatten([s.Resource]), "*") && s.Effect == "Allow"
      ]
    ]))
    error_message = "Resource \"*\" is granted for an action that supports resource-level permissions."
  }
}

run "pass_role_only_the_two_roles_each_to_its_service" {
  command = plan

  assert {
    condition = flatten([
      for name, doc in output.identity_policies : [
        for s in jsondecode(doc).Statement : {
          doc      = name
          roles    = flatten([s.Resource])
          services = s.Condition.StringEquals["iam:PassedToService"]
        } if contains(flatten([s.Action]), "iam:PassRole")
      ]
      ]) == [
      { doc = "cloudformation", roles = ["arn:aws:iam::123456789012:role/pmp-api-dev-lambda", "arn:aws:iam::123456789012:role/pmp-api-dev-migration"], services = "lambda.amazonaws.com" },
      { doc = "deploy-stack", roles = ["arn:aws:iam::123456789012:role/pmp-api-dev-cloudformation"], services = "cloudformation.amazonaws.com" },
    ]
    error_message = "iam:PassRole must be granted exactly twice: the two function roles to Lambda (deployment role) and the deployment role to CloudFormation (deployer)."
  }
}

run "deployer_stack_permissions_are_the_stage_stack" {
  command = plan

  assert {
    condition = alltrue(flatten([
      for s in jsondecode(output.identity_policies["deploy-stack"]).Statement : [
        for r in flatten([s.Resource]) : r == "arn:aws:cloudformation:eu-central-1:123456789012:stack/pmp-api-dev/*"
      ] if anytrue([for a in flatten([s.Action]) : startswith(a, "cloudformation:")]) && s.Resource != ["*"]
    ]))
    error_message = "A CloudFormation permission of the deployer reaches beyond stack/pmp-api-dev/*."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(output.identity_policies["deploy-stack"]).Statement :
      s.Condition.ArnEquals["cloudformation:RoleArn"] == "arn:aws:iam::123456789012:role/pmp-api-dev-cloudformation"
      if s.Effect == "Allow" && anytrue([for a in flatten([s.Action]) : contains(["cloudformation:CreateChangeSet", "cloudformation:DeleteStack"], a)])
    ])
    error_message = "CreateChangeSet and DeleteStack must be conditioned on the stage's deployment role."
  }
}

run "deployer_artifacts_stay_in_the_stage_prefix" {
  command = plan

  assert {
    condition = alltrue(flatten([
      for s in jsondecode(output.identity_policies["deploy-artifacts"]).Statement : [
        for r in flatten([s.Resource]) : r == "arn:aws:s3:::pmp-api-dev-deploy-123456789012-eu-central-1/serverless/pmp-api/dev/*"
      ] if anytrue([for a in flatten([s.Action]) : contains(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], a)])
    ]))
    error_message = "Object permissions must be limited to serverless/pmp-api/dev/ of the deployment bucket."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(output.identity_policies["deploy-artifacts"]).Statement :
      s.Condition.StringLikeIfExists["s3:prefix"] == ["serverless/pmp-api/dev/", "serverless/pmp-api/dev/*"]
      if contains(flatten([s.Action]), "s3:ListBucket")
    ])
    error_message = "Listing the deployment bucket must stay in the stage's prefix."
  }
}

run "deployer_function_config_and_domain_are_the_stage_ones" {
  command = plan

  assert {
    condition     = jsondecode(output.identity_policies["invoke-migrate"]).Statement[0].Resource == ["arn:aws:lambda:eu-central-1:123456789012:function:pmp-api-dev-migrate"]
    error_message = "Only the stage's function may be invoked."
  }

  assert {
    condition = alltrue([
      for r in jsondecode(output.identity_policies["read-config"]).Statement[0].Resource :
      startswith(r, "arn:aws:ssm:eu-central-1:123456789012:parameter/pmp/dev")
    ])
    error_message = "Only the stage's parameters may be read."
  }

  assert {
    condition = alltrue(flatten([
      for s in jsondecode(output.identity_policies["deploy-domain"]).Statement : [
        for r in flatten([s.Resource]) : strcontains(r, "api.dev.example.com") || r == "arn:aws:apigateway:eu-central-1::/domainnames" || strcontains(r, "hostedzone/Z0123456789ABCDEFGHIJ") || strcontains(r, "AWSServiceRoleForAPIGateway")
      ]
    ]))
    error_message = "A custom-domain permission reaches beyond the stage's domain, zone or API Gateway's service-linked role."
  }
}

run "deployment_role_is_scoped_to_the_stage" {
  command = plan

  # Every resource is the stage's (name contains pmp-api-dev, or the stage key), "*" for unscopable reads, or an API
  # Gateway v2 path (ids only); the API itself is tag-conditioned on the stage.
  assert {
    condition = alltrue(flatten([
      for s in jsondecode(output.identity_policies["cloudformation"]).Statement : [
        for r in flatten([s.Resource]) :
        strcontains(r, "pmp-api-dev") || r == var.kms_key_arn || (r == "*" && contains(["ListWithoutResourceScope", "HttpApiAccessLogDelivery"], s.Sid)) || (startswith(r, "arn:aws:apigateway:eu-central-1::/") && startswith(s.Sid, "ApiGateway")) || s.Effect == "Deny"
      ]
    ]))
    error_message = "A deployment-role permission is not scoped to the stage's resources."
  }

  assert {
    condition = [
      for s in jsondecode(output.identity_policies["cloudformation"]).Statement : s.Condition
      if contains(["ApiGatewayCreateStageApi", "ApiGatewayStageApi"], s.Sid)
      ] == [
      { StringEquals = { "aws:RequestTag/STAGE" = "dev" } },
      { StringEquals = { "aws:ResourceTag/STAGE" = "dev" } },
    ]
    error_message = "Creating and managing an HTTP API must be conditioned on the stage tag."
  }

  assert {
    condition     = contains([for s in jsondecode(output.identity_policies["cloudformation"]).Statement : s.Sid], "DenyTaggingOtherStagesApis")
    error_message = "The deny on re-tagging other stages' APIs is missing."
  }

  assert {
    condition     = !contains([for s in jsondecode(output.identity_policies["cloudformation"]).Statement : s.Sid], "ApiGatewayStageDomain")
    error_message = "Without a DomainName/ApiMapping in the template, the deployment role must not touch domain names."
  }
}

run "deployment_role_covers_every_handler_action" {
  command = plan

  # Independent of the module's own bookkeeping: re-read the vendored handler permissions and check each action of
  # each default type (create/read/update/delete) is granted or deliberately excluded.
  assert {
    condition = alltrue(flatten([
      for t in var.cloudformation_resource_types : [
        for op in ["create", "read", "update", "delete"] : [
          for a in lookup(jsondecode(file("${path.module}/cfn-handler-permissions.json"))[t], op, []) :
          contains([for x in flatten([for s in jsondecode(output.identity_policies["cloudformation"]).Statement : flatten([s.Action]) if s.Effect == "Allow"]) : lower(x)], lower(a))
          || contains([for x in keys(var.excluded_handler_actions) : lower(x)], lower(a))
        ]
      ]
    ]))
    error_message = "A handler action of a template resource type is neither granted nor excluded."
  }

  # Exclusions must not leak in as grants.
  assert {
    condition = length(setintersection(
      toset([for x in keys(var.excluded_handler_actions) : lower(x)]),
      toset([for x in flatten([for s in jsondecode(output.identity_policies["cloudformation"]).Statement : flatten([s.Action]) if s.Effect == "Allow"]) : lower(x)]),
    )) == 0
    error_message = "An excluded action is granted."
  }
}

run "domain_types_add_the_stage_domain_statement" {
  command = plan

  variables {
    cloudformation_resource_types = ["AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::DomainName", "AWS::ApiGatewayV2::ApiMapping"]
  }

  assert {
    condition = [
      for s in jsondecode(output.identity_policies["cloudformation"]).Statement : s.Resource if s.Sid == "ApiGatewayStageDomain"
      ] == [[
        "arn:aws:apigateway:eu-central-1::/domainnames",
        "arn:aws:apigateway:eu-central-1::/domainnames/api.dev.example.com",
        "arn:aws:apigateway:eu-central-1::/domainnames/api.dev.example.com/apimappings",
        "arn:aws:apigateway:eu-central-1::/domainnames/api.dev.example.com/apimappings/*",
    ]]
    error_message = "With DomainName/ApiMapping types, the deployment role manages exactly the stage's domain."
  }

  assert {
    condition     = !contains([for s in jsondecode(output.identity_policies["cloudformation"]).Statement : s.Sid], "LambdaFunction")
    error_message = "Without AWS::Lambda::* types the deployment role must not get Lambda permissions."
  }
}

run "unknown_resource_type_fails" {
  command = plan

  variables {
    cloudformation_resource_types = ["AWS::Lambda::Function", "AWS::SQS::Queue"]
  }

  expect_failures = [output.cloudformation_policy]
}

run "action_without_scope_decision_fails" {
  command = plan

  # Without the exclusions, s3:REST.PUT.OBJECT (LogGroup) has no scope in the table: refuse to render.
  variables {
    excluded_handler_actions = {}
  }

  expect_failures = [output.cloudformation_policy]
}
