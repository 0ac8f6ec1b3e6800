# Real numbers, worked by hand from the formula in main.tf:
#   memory bytes = (nominal MiB - max(384, 10 % of nominal)) x 1048576
#   max_connections = min(floor(bytes / 9531392), 5000); budget = floor(max_connections x percent / 100)

run "dev_t4g_micro" {
  command = plan

  variables {
    instance_class          = "db.t4g.micro"
    max_connections_percent = 50
    headroom                = 3
  }

  assert {
    condition     = output.estimated_instance_class_memory_bytes == 671088640
    error_message = "db.t4g.micro: 1024 MiB less the 384 MiB reserve is 640 MiB = 671088640 bytes."
  }
  assert {
    condition     = output.max_connections == 70
    error_message = "db.t4g.micro: floor(671088640 / 9531392) = 70 connections."
  }
  assert {
    condition     = output.proxy_connection_budget == 35
    error_message = "db.t4g.micro at 50 %: 35 proxy connections."
  }
  assert {
    condition     = output.reserved_concurrency == 32
    error_message = "db.t4g.micro at 50 % with a headroom of 3: reserved concurrency 32."
  }
  assert {
    condition     = output.vcpus == 2 && output.burstable
    error_message = "db.t4g.micro has 2 vCPUs and is burstable."
  }
  assert {
    condition = (output.db_connections_alarm_threshold == 63
      && output.proxy_database_connections_alarm_threshold == 31
    && output.proxy_client_connections_alarm_threshold == 28)
    error_message = "Alarm thresholds at 90 %: 63 database, 31 proxy database, 28 proxy client connections."
  }
}

run "t4g_small" {
  command = plan

  variables {
    instance_class          = "db.t4g.small"
    max_connections_percent = 50
    headroom                = 5
  }

  assert {
    condition     = output.max_connections == 183 && output.proxy_connection_budget == 91 && output.reserved_concurrency == 86
    error_message = "db.t4g.small: 1664 MiB usable -> 183 connections, 91 for the proxy, 86 after a headroom of 5."
  }
}

run "prod_m7g_large" {
  command = plan

  variables {
    instance_class          = "db.m7g.large"
    max_connections_percent = 75
    headroom                = 10
  }

  assert {
    condition     = output.max_connections == 811
    error_message = "db.m7g.large: 8192 MiB less a 10 % reserve (819.2 MiB) -> 811 connections."
  }
  assert {
    condition     = output.proxy_connection_budget == 608 && output.reserved_concurrency == 598
    error_message = "db.m7g.large at 75 %: 608 proxy connections, 598 after a headroom of 10."
  }
  assert {
    condition     = !output.burstable && output.vcpus == 2
    error_message = "db.m7g.large is not burstable and has 2 vCPUs."
  }
  assert {
    condition = (output.db_connections_alarm_threshold == 729
      && output.proxy_database_connections_alarm_threshold == 547
    && output.proxy_client_connections_alarm_threshold == 538)
    error_message = "Alarm thresholds at 90 %: 729, 547 and 538."
  }
}

run "large_instance_capped_at_5000" {
  command = plan

  variables {
    instance_class          = "db.r7g.4xlarge"
    max_connections_percent = 100
    headroom                = 0
  }

  assert {
    condition     = output.max_connections == 5000 && output.reserved_concurrency == 5000
    error_message = "RDS caps the default max_connections at 5000."
  }
}

run "smallest_that_still_fits_gives_one" {
  command = plan

  variables {
    instance_class          = "db.t4g.micro"
    max_connections_percent = 5
    headroom                = 2
  }

  assert {
    condition     = output.proxy_connection_budget == 3 && output.reserved_concurrency == 1
    error_message = "70 x 5 % = 3 connections, less 2 of headroom: exactly 1."
  }
}

run "too_small_fails_at_plan" {
  command = plan

  variables {
    instance_class          = "db.t4g.micro"
    max_connections_percent = 5
    headroom                = 3
  }

  expect_failures = [var.headroom]
}

run "unknown_class_fails" {
  command = plan

  variables {
    instance_class          = "db.x9.huge"
    max_connections_percent = 50
    headroom                = 1
  }

  expect_failures = [var.instance_class]
}

run "percent_out_of_range_fails" {
  command = plan

  variables {
    instance_class          = "db.m7g.large"
    max_connections_percent = 0
    headroom                = 1
  }

  expect_failures = [var.max_connections_percent]
}

run "known_max_connections_replaces_the_estimate" {
  command = plan

  variables {
    instance_class          = "db.t4g.micro"
    max_connections         = 81
    max_connections_percent = 50
    headroom                = 0
  }

  assert {
    condition     = output.max_connections == 81 && output.proxy_connection_budget == 40 && output.reserved_concurrency == 40
    error_message = "With max_connections = 81 given: 40 proxy connections, 40 reserved."
  }
}

run "account_limit_bounds_the_result" {
  command = plan

  variables {
    instance_class             = "db.m7g.large"
    max_connections_percent    = 75
    headroom                   = 10
    reserved_concurrency_limit = 100
  }

  assert {
    condition     = output.reserved_concurrency == 100 && output.proxy_client_connections_alarm_threshold == 90
    error_message = "A reserved_concurrency_limit of 100 bounds the derived 598."
  }
}
