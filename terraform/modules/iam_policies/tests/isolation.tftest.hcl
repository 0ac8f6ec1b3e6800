# Stage isolation and the read-only plan identity, asserted on the rendered JSON. The production layout is one account
# per stage (docs/decisions/0009-one-account-per-stage.md): an identity policy only reaches its own account, so a dev
# principal whose every account-bearing ARN is dev's account and whose account-less ARNs (S3 buckets, API Gateway,
# Route 53) carry dev's names cannot touch prod. xtask refuses a protected stage that shares its account.
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
  private_subnet_ids       = ["subnet-0aaaaaaaaaaaaaaa1"]
  lambda_security_group_id = "sg-0123456789abcdef0"
  api_domain_name          = "api.dev.example.com"
  hosted_zone_id           = "Z0DEV456789ABCDEFGHIJ"
  gitlab_project_path      = "pmp/pmp-api"
}

run "dev" {
  command = plan

  # Every document a dev principal holds: the deployer's five, the deployment role's, the Lambda role's, the plan role's.
  assert {
    condition = alltrue(flatten([
      for doc in concat(values(output.identity_policies), [output.plan_policy]) : [
        for s in jsondecode(doc).Statement : [
          for r in flatten([s.Resource]) :
          r == "*" || (contains(["", "123456789012"], try(split(":", r)[4], "*")) && !strcontains(r, "prod"))
        ] if s.Effect == "Allow"
      ]
    ]))
    error_message = "A dev identity policy names another account or a prod resource."
  }

  assert {
    condition = alltrue(flatten([
      for doc in concat(values(output.identity_policies), [output.plan_policy]) : [
        for s in jsondecode(doc).Statement : [
          for r in flatten([s.Resource]) : (
            startswith(r, "arn:aws:apigateway:eu-central-1::/") ||
            startswith(r, "arn:aws:route53:::hostedzone/Z0DEV456789ABCDEFGHIJ") ||
            can(regex("^arn:aws:s3:::pmp-(api-dev-[a-z*]+|terraform-state)-123456789012-eu-central-1(/.*)?$", r))
          ) if r != "*" && try(split(":", r)[4], "*") == ""
        ] if s.Effect == "Allow"
      ]
    ]))
    error_message = "An account-less ARN of a dev policy is not one of dev's buckets, its hosted zone or API Gateway of its own account."
  }
}

run "prod" {
  command = plan

  variables {
    account_id                 = "210987654321"
    stage                      = "prod"
    stack_name                 = "pmp-api-prod"
    function_name              = "pmp-api-prod-api"
    deployment_bucket_name     = "pmp-api-prod-deploy-210987654321-eu-central-1"
    data_bucket_name           = "pmp-api-prod-data-210987654321-eu-central-1"
    kms_key_arn                = "arn:aws:kms:eu-central-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    api_domain_name            = "api.example.com"
    hosted_zone_id             = "Z0PROD56789ABCDEFGHIJ"
    gitlab_release_tag_pattern = "release-*"
  }

  # No ARN that a dev policy allows is one that a prod policy allows (account-less API Gateway paths aside: they
  # name no account, and each account's policies reach only that account's APIs).
  assert {
    condition = length(setintersection(
      toset(flatten([for doc in concat(values(run.dev.identity_policies), [run.dev.plan_policy]) : [
        for s in jsondecode(doc).Statement : [for r in flatten([s.Resource]) : r if r != "*" && !startswith(r, "arn:aws:apigateway:")] if s.Effect == "Allow"
      ]])),
      toset(flatten([for doc in concat(values(output.identity_policies), [output.plan_policy]) : [
        for s in jsondecode(doc).Statement : [for r in flatten([s.Resource]) : r if r != "*" && !startswith(r, "arn:aws:apigateway:")] if s.Effect == "Allow"
      ]])),
    )) == 0
    error_message = "A resource ARN is allowed both to dev and to prod principals."
  }

  assert {
    condition     = !strcontains(join("", concat(values(run.dev.identity_policies), [run.dev.plan_policy, run.dev.gitlab_oidc_trust_policy, run.dev.plan_trust_policy])), "210987654321")
    error_message = "A dev document names prod's account."
  }

  # The dev deploy role trusts main; prod's trusts only release tags, so a main-branch job cannot assume it.
  assert {
    condition     = !strcontains(output.gitlab_oidc_trust_policy, "ref_type:branch") && strcontains(run.dev.gitlab_oidc_trust_policy, "ref_type:branch:ref:main")
    error_message = "prod's deploy role must not trust the branch dev's role trusts."
  }
}

run "deployer_cannot_import_resources_into_its_stack" {
  command = plan

  assert {
    condition = [
      for s in jsondecode(output.identity_policies["deploy-stack"]).Statement : s
      if s.Effect == "Deny" && contains(s.Action, "cloudformation:CreateChangeSet")
      ] == [{
        Sid       = "DenyImportChangeSets"
        Effect    = "Deny"
        Action    = ["cloudformation:CreateChangeSet"]
        Resource  = ["*"]
        Condition = { "ForAnyValue:StringLike" = { "cloudformation:ImportResourceTypes" = ["*"] } }
    }]
    error_message = "IMPORT change sets (which would hand existing resources to the deployment role) must be denied."
  }
}

run "plan_role_writes_nothing_but_the_state_lock" {
  command = plan

  # Every allowed action is a Describe/Get/List call, except the lock object's write and the state key used through S3.
  assert {
    condition = alltrue(flatten([
      for s in jsondecode(output.plan_policy).Statement : [
        for a in flatten([s.Action]) : (
          can(regex("^[a-z0-9-]+:(Describe|Get|List)[A-Za-z*]*$", a)) ||
          (s.Sid == "WriteStateLock" && contains(["s3:PutObject", "s3:DeleteObject"], a)) ||
          (s.Sid == "StateKeyViaS3" && contains(["kms:Decrypt", "kms:GenerateDataKey"], a))
        )
      ] if s.Effect == "Allow"
    ]))
    error_message = "The plan role has an action that is neither a read nor the state lock's write."
  }

  # What `cargo xtask plan` calls before Terraform: describe-stacks on the two bootstrap stacks, and nothing wider.
  assert {
    condition = [for s in jsondecode(output.plan_policy).Statement : s.Resource if s.Sid == "ReadBootstrapOutputs"] == [[
      "arn:aws:cloudformation:eu-central-1:123456789012:stack/pmp-bootstrap-kms-key/*",
      "arn:aws:cloudformation:eu-central-1:123456789012:stack/pmp-bootstrap-terraform-state/*",
    ]]
    error_message = "The plan role must read the bootstrap stacks' outputs (state bucket, key ARN) that plan needs, and no other stack."
  }

  assert {
    condition = [for s in jsondecode(output.plan_policy).Statement : s.Resource if s.Sid == "WriteStateLock"] == [
      ["arn:aws:s3:::pmp-terraform-state-123456789012-eu-central-1/pmp/dev/terraform.tfstate.tflock"]
    ]
    error_message = "The plan role may write only the stage's state lock object."
  }

  assert {
    condition = [for s in jsondecode(output.plan_policy).Statement : s.Condition if s.Sid == "StateKeyViaS3"] == [{
      StringEquals = {
        "kms:ViaService"                   = "s3.eu-central-1.amazonaws.com"
        "kms:EncryptionContext:aws:s3:arn" = "arn:aws:s3:::pmp-terraform-state-123456789012-eu-central-1"
      }
    }]
    error_message = "The plan role may use KMS only inside S3 requests to the state bucket."
  }

  # No pattern reaches data: objects other than the state, secret values, log events, parameters of other stages.
  assert {
    condition = alltrue(flatten([
      for s in jsondecode(output.plan_policy).Statement : [
        for a in flatten([s.Action]) : [
          for data in ["s3:GetObject", "s3:GetObjectVersion", "secretsmanager:GetSecretValue", "logs:GetLogEvents", "logs:FilterLogEvents", "lambda:GetFunction", "ssm:GetParameter"] :
          !can(regex("^${replace(a, "*", ".*")}$", data)) || contains(["ReadStageState", "ReadStageParameters"], s.Sid)
        ]
      ] if s.Effect == "Allow"
    ]))
    error_message = "A plan role action reads data (an object, a secret, a log event)."
  }

  assert {
    condition = [for s in jsondecode(output.plan_policy).Statement : s.Resource if contains(["ReadStageState", "ReadStageParameters"], s.Sid)] == [
      ["arn:aws:ssm:eu-central-1:123456789012:parameter/pmp/dev/*"],
      ["arn:aws:s3:::pmp-terraform-state-123456789012-eu-central-1/pmp/dev/terraform.tfstate", "arn:aws:s3:::pmp-terraform-state-123456789012-eu-central-1/pmp/dev/terraform.tfstate.tflock"],
    ]
    error_message = "The plan role reads only the stage's own parameters and state."
  }
}
