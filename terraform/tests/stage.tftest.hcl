# The whole root module, planned with a mocked hashicorp/aws provider (tests/mocks), once per stage:
#   terraform test -var=stage=S -var=region=eu-central-1 -var-file=stages/S.tfvars -filter=tests/stage.tftest.hcl ...
# (cargo xtask check runs it for every stage, in a copy). What holds for every stage is asserted here; dev.tftest.hcl
# and prod.tftest.hcl hold what differs. Every assertion reads what the modules computed from the stage's values.

mock_provider "aws" {
  source = "./tests/mocks"
}

run "network_spreads_over_three_zones_and_the_database_has_no_way_out" {
  command = plan

  assert {
    condition = alltrue([for tier in ["public_subnets", "private_subnets", "database_subnets"] :
      join(",", sort(module.network.planned[tier][*].availability_zone)) == "eu-central-1a,eu-central-1b,eu-central-1c"
    ])
    error_message = "Every tier needs one subnet in each of the region's first three zones."
  }

  assert {
    condition     = module.database.planned.instance.publicly_accessible == false
    error_message = "The database must not be publicly accessible."
  }

  # The DB subnet group holds exactly the database subnets, whose route table is the database one, and no route of
  # the VPC (internet gateway, NAT) is in that table.
  assert {
    condition     = toset(module.database.planned.subnet_group_subnet_ids) == toset(module.network.database_subnet_ids)
    error_message = "The database must sit in the database subnets."
  }

  assert {
    condition = alltrue([for association in module.network.planned.database_associations :
    association.route_table_id == module.network.planned.database_route_table.id])
    error_message = "Every database subnet must use the database route table."
  }

  assert {
    condition = length([for route in module.network.planned.routes : route
    if route.route_table_id == module.network.planned.database_route_table.id]) == 0
    error_message = "The database route table must have no route out of the VPC."
  }

  assert {
    condition     = length(module.network.planned.database_route_table.route) == 0
    error_message = "The database route table must have no inline route."
  }
}

run "security_groups_chain_function_proxy_database" {
  command = plan

  # Every ingress rule of the configuration: none from anywhere.
  assert {
    condition = alltrue([for rule in concat(values(module.database.planned.ingress_rules), module.network.planned.ingress_rules) :
    rule.cidr_ipv4 != "0.0.0.0/0" && rule.cidr_ipv6 != "::/0"])
    error_message = "No security group may accept traffic from 0.0.0.0/0 or ::/0."
  }

  assert {
    condition = alltrue([for group in concat(values(module.database.planned.security_groups), module.network.planned.security_groups) :
    alltrue([for rule in coalesce(group.ingress, []) : !contains(rule.cidr_blocks, "0.0.0.0/0") && !contains(rule.ipv6_cidr_blocks, "::/0")])])
    error_message = "No security group may carry an inline ingress rule from anywhere."
  }

  # The database's only way in is 5432 from the proxy's group; the proxy's only way in is 5432 from the function's.
  assert {
    condition = [for key, rule in module.database.planned.ingress_rules : key
      if rule.security_group_id == module.database.database_security_group_id] == ["database_from_proxy"] && (
      module.database.planned.ingress_rules.database_from_proxy.referenced_security_group_id == module.database.proxy_security_group_id
      && module.database.planned.ingress_rules.database_from_proxy.from_port == 5432
      && module.database.planned.ingress_rules.database_from_proxy.to_port == 5432
    )
    error_message = "The database must accept 5432 from the proxy's security group only."
  }

  assert {
    condition = [for key, rule in module.database.planned.ingress_rules : key
      if rule.security_group_id == module.database.proxy_security_group_id] == ["proxy_from_lambda"] && (
      module.database.planned.ingress_rules.proxy_from_lambda.referenced_security_group_id == module.database.lambda_security_group_id
      && module.database.planned.ingress_rules.proxy_from_lambda.from_port == 5432
      && module.database.planned.ingress_rules.proxy_from_lambda.to_port == 5432
    )
    error_message = "The proxy must accept 5432 from the function's security group only."
  }

  assert {
    condition     = module.database.planned.instance.vpc_security_group_ids == toset([module.database.database_security_group_id])
    error_message = "The instance must be in the database security group only."
  }
}

run "logs_and_buckets_are_encrypted_and_bounded" {
  command = plan

  assert {
    condition = alltrue([for group in concat(values(module.database.log_groups), values(module.network.log_groups)) :
    group.kms_key_id == module.kms.key_arn && group.retention_in_days > 0])
    error_message = "Every log group needs the stage key and a retention."
  }

  # RDS Proxy logs to /aws/rds/proxy/<proxy name>; the group must be that one, and exist before the proxy, or RDS
  # creates its own on the proxy's first log line, unencrypted and kept forever. A plan does not show dependencies, so
  # the proxy's depends_on is read from the source.
  assert {
    condition = module.database.log_groups.proxy.name == "/aws/rds/proxy/${module.database.proxy_name}" && can(regex(
      "(?s)resource \"aws_db_proxy\" \"this\" \\{.*?\\n  depends_on = \\[[^\\]]*aws_cloudwatch_log_group\\.proxy[^\\]]*\\]",
      file("modules/database/proxy.tf"),
    ))
    error_message = "The proxy's log group must be /aws/rds/proxy/<proxy name>, and aws_db_proxy.this must depend on it."
  }

  assert {
    condition = alltrue([for key, bucket in module.storage.planned.buckets :
      key == "access_logs" ? one(one(module.storage.planned.encryption[key].rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256"
      : (one(one(module.storage.planned.encryption[key].rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
    && one(one(module.storage.planned.encryption[key].rule).apply_server_side_encryption_by_default).kms_master_key_id == module.kms.key_arn)])
    error_message = "Every bucket needs SSE-KMS with the stage key, except the access-log bucket (S3 log delivery supports SSE-S3 only)."
  }

  assert {
    condition = alltrue([for key, bucket in module.storage.planned.buckets : alltrue([
      module.storage.planned.public_access_blocks[key].block_public_acls,
      module.storage.planned.public_access_blocks[key].block_public_policy,
      module.storage.planned.public_access_blocks[key].ignore_public_acls,
      module.storage.planned.public_access_blocks[key].restrict_public_buckets,
      module.storage.planned.versioning[key].versioning_configuration[0].status == "Enabled",
      module.storage.planned.public_access_blocks[key].bucket == bucket.id,
    ])])
    error_message = "Every bucket needs all four public access block settings and versioning."
  }

  assert {
    condition = alltrue([for key, bucket in module.storage.planned.buckets : anytrue([
      for statement in jsondecode(module.storage.planned.policies[key].policy).Statement :
      statement.Effect == "Deny" && try(statement.Principal == "*", false) && statement.Action == "s3:*"
      && try(toset(statement.Resource) == toset([bucket.arn, "${bucket.arn}/*"]), false)
      && try(statement.Condition.Bool["aws:SecureTransport"] == "false", false)
    ])])
    error_message = "Every bucket policy must deny any request without TLS, on the bucket and its objects."
  }
}

run "proxy_and_contract" {
  command = plan

  # IAM auth: today every auth entry requires an IAM token; with default_auth_scheme = "IAM_AUTH" (end-to-end IAM,
  # no secret) the proxy has no auth entries and the scheme says it.
  assert {
    condition     = module.database.planned.proxy.require_tls == true
    error_message = "The proxy must require TLS."
  }

  assert {
    condition = (length(module.database.planned.proxy.auth) > 0
      ? alltrue([for auth in module.database.planned.proxy.auth : auth.iam_auth == "REQUIRED"])
    : module.database.planned.proxy.default_auth_scheme == "IAM_AUTH")
    error_message = "Clients must authenticate to the proxy with IAM."
  }

  assert {
    condition     = module.database.planned.instance.iam_database_authentication_enabled && module.database.planned.instance.storage_encrypted && module.database.planned.instance.kms_key_id == module.kms.key_arn
    error_message = "The instance must be encrypted with the stage key and accept IAM authentication."
  }

  assert {
    condition     = module.database.planned.instance.engine_lifecycle_support == "open-source-rds-extended-support-disabled"
    error_message = "RDS Extended Support (billed) must be disabled."
  }

  assert {
    condition     = aws_ssm_parameter.contract["/pmp/${var.stage}/reserved-concurrency"].insecure_value == tostring(module.concurrency.reserved_concurrency)
    error_message = "SSM reserved-concurrency must be the concurrency module's result for this stage's instance class."
  }

  assert {
    condition     = aws_ssm_parameter.contract["/pmp/${var.stage}/db-proxy-resource-id"].insecure_value == "prx-0123456789abcdef0"
    error_message = "SSM db-proxy-resource-id must be the last part of the proxy's ARN."
  }

  # Every parameter serverless.yml reads (ssm: or ssm(raw):/pmp/${sls:stage}/NAME) is written by this stage.
  assert {
    condition = length(setsubtract(
      toset([for name in flatten(regexall("ssm(?:\\(raw\\))?:/pmp/\\$\\{sls:stage\\}/([a-z0-9-]+)", file("../serverless.yml"))) : "/pmp/${var.stage}/${name}"]),
      toset(keys(aws_ssm_parameter.contract)),
    )) == 0 && length(regexall("ssm(?:\\(raw\\))?:/pmp/", file("../serverless.yml"))) > 0
    error_message = "serverless.yml reads an SSM parameter that Terraform does not write."
  }
}

run "alarms_of_the_design_notify_the_stage_topic" {
  command = plan

  # DESIGN.md's database and proxy alarms (the function's and the API's are in serverless.yml); the CPU credit alarm
  # only on burstable classes (dev.tftest.hcl and prod.tftest.hcl check both ways).
  assert {
    condition = alltrue([for metric in [
      "CPUUtilization", "FreeableMemory", "FreeStorageSpace", "DatabaseConnections", "DBLoadRelativeToNumVCPUs",
      "DBLoadCPU", "DBLoadNonCPU", "ClientConnections", "DatabaseConnectionsBorrowLatency",
      "DatabaseConnectionsCurrentlySessionPinned",
    ] : length([for alarm in module.monitoring.alarms : alarm if alarm.metric_name == metric]) >= 1])
    error_message = "An alarm of DESIGN.md's list is missing."
  }

  assert {
    condition = alltrue([for alarm in module.monitoring.alarms :
    alarm.alarm_actions == toset([module.monitoring.topic_arn]) && alarm.ok_actions == toset([module.monitoring.topic_arn])])
    error_message = "Every alarm must notify the stage's alarm topic."
  }

  assert {
    condition = alltrue([for alarm in module.monitoring.alarms :
      alarm.dimensions == (startswith(alarm.alarm_name, "pmp-${var.stage}-proxy-")
        ? { ProxyName = module.database.proxy_name }
    : { DBInstanceIdentifier = module.database.instance_identifier })])
    error_message = "Every alarm must watch this stage's instance or proxy."
  }

  assert {
    condition     = module.monitoring.alarms["db-free-storage"].threshold == floor(var.db_max_allocated_storage_gib * 1073741824 / 100)
    error_message = "The free storage alarm must be relative to the autoscaling ceiling (1 % of it)."
  }

  assert {
    condition     = toset(module.network.planned.flow_log_policy_actions) == toset(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"])
    error_message = "The flow-log role needs exactly the five permissions AWS documents (docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html)."
  }
}
