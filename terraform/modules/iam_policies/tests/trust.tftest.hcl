variables {
  partition                = "aws"
  region                   = "eu-central-1"
  account_id               = "123456789012"
  stage                    = "prod"
  stack_name               = "pmp-api-prod"
  function_name            = "pmp-api-prod-api"
  deployment_bucket_name   = "pmp-api-prod-deploy-123456789012-eu-central-1"
  data_bucket_name         = "pmp-api-prod-data-123456789012-eu-central-1"
  kms_key_arn              = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  proxy_resource_id        = "prx-0123456789abcdef0"
  db_user                  = "pmp_api"
  private_subnet_ids       = ["subnet-0aaaaaaaaaaaaaaa1"]
  lambda_security_group_id = "sg-0123456789abcdef0"
  api_domain_name          = "api.example.com"
  hosted_zone_id           = "Z0123456789ABCDEFGHIJ"
  gitlab_url               = "https://gitlab.example.org"
  gitlab_project_path      = "platform/pmp/pmp-api"
  gitlab_allowed_refs      = ["main", "release"]
}

run "names_follow_the_contract" {
  command = plan

  assert {
    condition = output.names == {
      lambda_role         = "pmp-api-prod-lambda"
      cloudformation_role = "pmp-api-prod-cloudformation"
      gitlab_user         = "pmp-api-prod-gitlab"
      gitlab_group        = "pmp-api-prod-deployers"
      gitlab_oidc_role    = "pmp-api-prod-gitlab-oidc"
      plan_role           = "pmp-api-prod-plan"
      migration_role      = "pmp-api-prod-migration"
    }
    error_message = "Principal names differ from docs/architecture.md."
  }

  assert {
    condition     = output.cloudformation_role_arn == "arn:aws:iam::123456789012:role/pmp-api-prod-cloudformation"
    error_message = "The deployment role ARN is not derived from its name."
  }
}

run "cloudformation_trust_uses_no_undocumented_condition_key" {
  command = plan

  assert {
    condition = jsondecode(output.cloudformation_trust_policy).Statement == [{
      Sid       = "CloudFormationAssumesForTheStageStack"
      Effect    = "Allow"
      Principal = { Service = "cloudformation.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
    error_message = "The deployment role trusts CloudFormation without aws:SourceArn/aws:SourceAccount (no document says CloudFormation sends them); iam:PassRole decides who may use it."
  }

  assert {
    condition = [
      for s in jsondecode(output.identity_policies["deploy-stack"]).Statement : s.Condition
      if contains(flatten([s.Action]), "iam:PassRole")
      ] == [{
        StringEquals = { "iam:PassedToService" = "cloudformation.amazonaws.com" }
    }]
    error_message = "Only the deployer may pass the deployment role, and only to CloudFormation."
  }
}

run "oidc_role_trusts_the_project_on_allowed_branches_only" {
  command = plan

  assert {
    condition = jsondecode(output.gitlab_oidc_trust_policy).Statement[0].Condition == {
      StringEquals = {
        "gitlab.example.org:aud" = "https://gitlab.example.org"
        "gitlab.example.org:sub" = [
          "project_path:platform/pmp/pmp-api:ref_type:branch:ref:main",
          "project_path:platform/pmp/pmp-api:ref_type:branch:ref:release",
        ]
      }
    }
    error_message = "The OIDC trust must pin aud to gitlab_url and sub to this project's allowed branches."
  }

  assert {
    condition     = jsondecode(output.gitlab_oidc_trust_policy).Statement[0].Principal.Federated == "arn:aws:iam::123456789012:oidc-provider/gitlab.example.org"
    error_message = "The trusted provider is the account layer's one for gitlab_url."
  }
}

run "prod_deploy_role_trusts_only_its_protected_release_tags" {
  command = plan

  variables {
    gitlab_release_tag_pattern = "release-*"
  }

  assert {
    condition = jsondecode(output.gitlab_oidc_trust_policy).Statement == [{
      Sid       = "GitLabReleaseTagsOfThisProject"
      Effect    = "Allow"
      Principal = { Federated = "arn:aws:iam::123456789012:oidc-provider/gitlab.example.org" }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = { "gitlab.example.org:aud" = "https://gitlab.example.org" }
        StringLike   = { "gitlab.example.org:sub" = "project_path:platform/pmp/pmp-api:ref_type:tag:ref:release-*" }
      }
    }]
    error_message = "With a release tag pattern, the deploy role must trust only tags of that pattern: no branch (main included) may assume it."
  }

  assert {
    condition     = !strcontains(output.gitlab_oidc_trust_policy, "ref_type:branch")
    error_message = "No branch pipeline may assume the prod deploy role."
  }
}

run "plan_role_trusts_every_pipeline_of_the_project_only" {
  command = plan

  assert {
    condition = jsondecode(output.plan_trust_policy).Statement[0].Condition == {
      StringEquals = { "gitlab.example.org:aud" = "https://gitlab.example.org" }
      StringLike = { "gitlab.example.org:sub" = [
        "project_path:platform/pmp/pmp-api:ref_type:branch:ref:*",
        "project_path:platform/pmp/pmp-api:ref_type:tag:ref:*",
      ] }
    }
    error_message = "The read-only plan role is for every pipeline of this project (merge requests too), and no other project."
  }

  assert {
    condition     = jsondecode(output.plan_trust_policy).Statement[0].Principal.Federated == output.gitlab_oidc_provider_arn
    error_message = "The plan role trusts the account layer's GitLab provider."
  }
}

run "the_trusted_provider_is_the_account_layers" {
  command = plan

  assert {
    condition     = output.gitlab_oidc_provider_arn == "arn:aws:iam::123456789012:oidc-provider/gitlab.example.org"
    error_message = "The GitLab roles trust the account's provider for gitlab_url (cloudformation/account.yml creates it; IAM names it after the host)."
  }
}

run "wildcard_project_path_is_refused" {
  command = plan

  variables {
    gitlab_project_path = "platform/*"
  }

  expect_failures = [var.gitlab_project_path]
}

run "stack_name_must_match_the_stage" {
  command = plan

  variables {
    stack_name = "pmp-api-dev"
  }

  expect_failures = [var.stack_name]
}

run "lambda_role_reaches_only_its_data_logs_and_db_user" {
  command = plan

  assert {
    condition = { for s in jsondecode(output.lambda_policy).Statement : s.Sid => s.Resource if contains(["WriteOwnLogs", "ConnectToProxyAsDbUser", "ReadDataObjects"], s.Sid) } == {
      WriteOwnLogs           = ["arn:aws:logs:eu-central-1:123456789012:log-group:/aws/lambda/pmp-api-prod-api:*"]
      ConnectToProxyAsDbUser = ["arn:aws:rds-db:eu-central-1:123456789012:dbuser:prx-0123456789abcdef0/pmp_api"]
      ReadDataObjects        = ["arn:aws:s3:::pmp-api-prod-data-123456789012-eu-central-1/*"]
    }
    error_message = "The Lambda role's logs, database and data permissions are not the stage's own."
  }

  assert {
    condition = [for s in jsondecode(output.lambda_policy).Statement : s.Condition if s.Sid == "DecryptDataObjectsViaS3"] == [{
      StringEquals = {
        "kms:ViaService"                   = "s3.eu-central-1.amazonaws.com"
        "kms:EncryptionContext:aws:s3:arn" = "arn:aws:s3:::pmp-api-prod-data-123456789012-eu-central-1"
      }
    }]
    error_message = "kms:Decrypt must be limited to S3 reads of the data bucket."
  }
}
