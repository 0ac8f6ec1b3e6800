# Who may sign in to the database as whom (docs/database-access.md): the API function's role only as pmp_api, the
# migration function's role only as pmp_migrator, and no identity policy of the stage as anyone else.
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

run "each_role_connects_only_as_its_database_user" {
  command = plan

  # Every rds-db:connect grant of every identity policy, by policy: exactly one each, for the two function roles.
  assert {
    condition = {
      for name, doc in output.identity_policies : name => flatten([
        for s in jsondecode(doc).Statement : flatten([s.Resource]) if contains(flatten([s.Action]), "rds-db:connect")
      ]) if length([for s in jsondecode(doc).Statement : s if contains(flatten([s.Action]), "rds-db:connect")]) > 0
      } == {
      lambda    = ["arn:aws:rds-db:eu-central-1:123456789012:dbuser:prx-0123456789abcdef0/pmp_api"]
      migration = ["arn:aws:rds-db:eu-central-1:123456789012:dbuser:prx-0123456789abcdef0/pmp_migrator"]
    }
    error_message = "rds-db:connect must be granted only to the API role as pmp_api and to the migration role as pmp_migrator."
  }
}

run "migration_role_is_its_own_and_reads_no_data" {
  command = plan

  assert {
    condition     = output.names.migration_role == "pmp-api-dev-migration" && output.migration_role_arn == "arn:aws:iam::123456789012:role/pmp-api-dev-migration"
    error_message = "The migration role's name must follow the stage."
  }
  assert {
    condition     = output.migration_function_name == "pmp-api-dev-migrate"
    error_message = "The migration function is pmp-api-<stage>-migrate (serverless.yml, xtask)."
  }
  assert {
    condition = [for s in jsondecode(output.migration_policy).Statement : s.Resource if s.Sid == "WriteOwnLogs"] == [
      ["arn:aws:logs:eu-central-1:123456789012:log-group:/aws/lambda/pmp-api-dev-migrate:*"]
    ]
    error_message = "The migration role writes only its own function's logs."
  }
  assert {
    condition = length([
      for s in jsondecode(output.migration_policy).Statement : s
      if anytrue([for a in flatten([s.Action]) : startswith(a, "s3:") || startswith(a, "secretsmanager:")])
    ]) == 0
    error_message = "The migration role needs no S3 and no secret."
  }
  assert {
    condition     = jsondecode(output.migration_trust_policy).Statement[0].Principal.Service == "lambda.amazonaws.com"
    error_message = "Only Lambda assumes the migration role."
  }
}

run "deployer_invokes_only_the_migration_function" {
  command = plan

  assert {
    condition = flatten([
      for s in jsondecode(output.deployer_policies["invoke-migrate"].policy).Statement : flatten([s.Resource])
      if contains(flatten([s.Action]), "lambda:InvokeFunction")
    ]) == ["arn:aws:lambda:eu-central-1:123456789012:function:pmp-api-dev-migrate"]
    error_message = "The deployer may invoke the migration function only (not the API function)."
  }
}

run "the_api_cannot_share_the_migrators_user" {
  command = plan

  variables {
    migrator_db_user = "pmp_api"
  }

  expect_failures = [var.migrator_db_user]
}
