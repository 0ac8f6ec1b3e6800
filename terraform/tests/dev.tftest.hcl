# dev (stages/dev.tfvars): cheap and disposable. Run with -var=stage=dev -var-file=stages/dev.tfvars.

mock_provider "aws" {
  source = "./tests/mocks"
}

run "dev_is_cheap_and_deletable" {
  command = plan

  assert {
    condition     = length(module.network.planned.nat_gateways) == 1 && length(module.network.nat_public_ips) == 1
    error_message = "dev has one NAT gateway (one egress address)."
  }

  assert {
    condition = length(module.network.planned.private_nat_routes) == 3 && alltrue([for route in module.network.planned.private_nat_routes :
    route.nat_gateway_id == module.network.planned.nat_gateways[0].id])
    error_message = "Every private route table of dev goes out through its one NAT gateway."
  }

  assert {
    condition = (!module.database.planned.instance.deletion_protection && module.database.planned.instance.skip_final_snapshot
    && module.database.planned.instance.final_snapshot_identifier == null && module.database.planned.instance.delete_automated_backups)
    error_message = "dev is deletable without a final snapshot and takes its backups with it."
  }

  assert {
    condition     = !module.database.planned.instance.multi_az
    error_message = "dev runs in one AZ."
  }

  # db.t4g.micro: 1 GiB -> max_connections 70, 50 % -> 35 proxy connections, less 3 of headroom (docs/terraform.md).
  assert {
    condition     = aws_ssm_parameter.contract["/pmp/dev/reserved-concurrency"].insecure_value == "32"
    error_message = "dev's reserved concurrency must be 32 (docs/terraform.md's table)."
  }

  # Burstable class: the CPU credit alarm exists.
  assert {
    condition     = module.monitoring.alarms["db-cpu-credits"].metric_name == "CPUCreditBalance"
    error_message = "A burstable class needs the CPU credit alarm."
  }

  assert {
    condition     = module.monitoring.email_subscriptions == 0
    error_message = "dev's alarm_email is null: no subscription."
  }
}
