# prod (stages/prod.tfvars): highly available, protected and kept. Run with -var=stage=prod
# -var-file=stages/prod.tfvars.

mock_provider "aws" {
  source = "./tests/mocks"
}

run "prod_is_highly_available_and_protected" {
  command = plan

  assert {
    condition     = module.database.planned.instance.multi_az
    error_message = "prod's database is Multi-AZ."
  }

  # One NAT gateway in each of the three zones, and each private route table goes out through a different one.
  assert {
    condition     = length(module.network.planned.nat_gateways) == 3 && length(module.network.nat_public_ips) == 3
    error_message = "prod has one NAT gateway per AZ."
  }

  assert {
    condition = length(distinct([for route in module.network.planned.private_nat_routes : route.nat_gateway_id])) == 3 && alltrue([
    for index, route in module.network.planned.private_nat_routes : route.nat_gateway_id == module.network.planned.nat_gateways[index].id])
    error_message = "Each private route table of prod must use its own zone's NAT gateway."
  }

  assert {
    condition     = module.database.planned.instance.deletion_protection && !module.database.planned.instance.skip_final_snapshot && !module.database.planned.instance.delete_automated_backups
    error_message = "prod's database is deletion-protected, keeps its backups and takes a final snapshot."
  }

  # The final snapshot carries the plan time of the instance's generation: a recreated stage cannot collide.
  assert {
    condition     = can(regex("^pmp-api-prod-final-[0-9]{14}$", module.database.planned.instance.final_snapshot_identifier)) && module.database.planned.instance.final_snapshot_identifier == "pmp-api-prod-final-${formatdate("YYYYMMDDhhmmss", plantimestamp())}"
    error_message = "prod's final snapshot name must be pmp-api-prod-final-<creation time>."
  }

  assert {
    condition     = module.database.planned.instance.backup_retention_period >= 7
    error_message = "prod keeps at least 7 days of backups."
  }

  assert {
    condition     = module.database.planned.instance.performance_insights_enabled && module.database.planned.instance.performance_insights_kms_key_id == module.kms.key_arn
    error_message = "prod has Performance Insights, encrypted with the stage key."
  }

  # Upgrades are deliberate: both switches are off unless the runbook's apply turns them on.
  assert {
    condition     = !module.database.planned.instance.allow_major_version_upgrade && !module.database.planned.instance.apply_immediately
    error_message = "Major upgrades and immediate changes are off between planned changes."
  }

  # db.m7g.large: 8 GiB -> max_connections 811, 75 % -> 608, less 10 of headroom (docs/terraform.md).
  assert {
    condition     = aws_ssm_parameter.contract["/pmp/prod/reserved-concurrency"].insecure_value == "598"
    error_message = "prod's reserved concurrency must be 598 (docs/terraform.md's table)."
  }

  assert {
    condition     = !contains(keys(module.monitoring.alarms), "db-cpu-credits")
    error_message = "A non-burstable class has no CPU credit alarm."
  }

  assert {
    condition     = module.monitoring.email_subscriptions == 1
    error_message = "prod's alarms must reach a subscriber."
  }
}

# The review's plan-time errors, each on prod's values with one thing changed.
run "a_protected_stage_without_an_alarm_subscriber_is_refused" {
  command = plan

  variables {
    alarm_email = null
  }

  expect_failures = [var.alarm_email]
}

run "a_stage_name_rds_or_s3_would_refuse_is_refused" {
  command = plan

  variables {
    stage = "prod-"
  }

  expect_failures = [var.stage]
}

run "a_doubled_hyphen_is_refused" {
  command = plan

  variables {
    stage = "pr--od"
  }

  expect_failures = [var.stage]
}

run "a_region_with_two_zones_is_refused" {
  command = plan

  override_data {
    target = data.aws_availability_zones.available
    values = {
      names    = ["eu-central-1a", "eu-central-1b"]
      zone_ids = ["euc1-az2", "euc1-az3"]
    }
  }

  expect_failures = [data.aws_availability_zones.available]
}

run "a_major_upgrade_can_be_planned" {
  command = plan

  variables {
    db_engine_version              = "18"
    db_allow_major_version_upgrade = true
    db_apply_immediately           = true
  }

  assert {
    condition     = module.database.planned.instance.allow_major_version_upgrade && module.database.planned.instance.apply_immediately
    error_message = "The upgrade switches must reach the instance."
  }
}

# An account layer that adopted a provider (ExistingGitLabOidcProviderArn) created for another audience: every
# AssumeRoleWithWebIdentity of the pipeline would fail, so the plan stops first.
run "a_gitlab_provider_without_the_jobs_audience_is_refused" {
  command = plan

  override_data {
    target = module.deployer.data.aws_iam_openid_connect_provider.gitlab
    values = {
      url            = "gitlab.com"
      client_id_list = ["sts.amazonaws.com"]
    }
  }

  expect_failures = [output.gitlab_oidc_provider_arn]
}
