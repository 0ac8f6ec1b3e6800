# The database and proxy alarms of the design (the function's and the API's live in serverless.yml). Thresholds that
# depend on the instance come from the concurrency module, so they move with the instance class.
locals {
  db = { DBInstanceIdentifier = var.db_instance_identifier }
  # Relative to the ceiling: below it, autoscaling keeps at least 10 % of the allocated storage free; at it, nothing does.
  free_storage_threshold_bytes = floor(var.db_max_allocated_storage_gib * 1073741824 * var.low_storage_percent / 100)
  proxy                        = { ProxyName = var.proxy_name }

  alarms = merge(
    {
      "db-cpu" = {
        description = "Database CPU above ${var.cpu_percent_threshold} % for 15 minutes."
        namespace   = "AWS/RDS", metric = "CPUUtilization", dimensions = local.db, statistic = "Average"
        operator    = "GreaterThanThreshold", threshold = var.cpu_percent_threshold, period = 300, periods = 3, missing = "missing"
      }
      "db-freeable-memory" = {
        description = "Database freeable memory below ${var.low_memory_percent} % of ${var.db_memory_mib} MiB: swapping is near."
        namespace   = "AWS/RDS", metric = "FreeableMemory", dimensions = local.db, statistic = "Average"
        operator    = "LessThanThreshold", threshold = floor(var.db_memory_mib * 1048576 * var.low_memory_percent / 100), period = 300, periods = 3, missing = "missing"
      }
      "db-free-storage" = {
        description = "Database free storage below ${var.low_storage_percent} % of the ${var.db_max_allocated_storage_gib} GiB autoscaling ceiling: storage autoscaling is at or near its limit."
        namespace   = "AWS/RDS", metric = "FreeStorageSpace", dimensions = local.db, statistic = "Minimum"
        operator    = "LessThanThreshold", threshold = local.free_storage_threshold_bytes, period = 300, periods = 2, missing = "missing"
      }
      "db-connections" = {
        description = "Database connections above ${var.db_connections_threshold} (the alarm share of max_connections): the instance is close to refusing connections, so something opens more than the proxy's budget."
        namespace   = "AWS/RDS", metric = "DatabaseConnections", dimensions = local.db, statistic = "Maximum"
        operator    = "GreaterThanThreshold", threshold = var.db_connections_threshold, period = 60, periods = 5, missing = "missing"
      }
      # DBLoad against the vCPUs as a ratio CloudWatch computes itself: no vCPU figure of ours in this one.
      "db-load" = {
        description = "Average active sessions above the instance's vCPU count (DBLoadRelativeToNumVCPUs above 1) for 15 minutes."
        namespace   = "AWS/RDS", metric = "DBLoadRelativeToNumVCPUs", dimensions = local.db, statistic = "Average"
        operator    = "GreaterThanThreshold", threshold = 1, period = 300, periods = 3, missing = "notBreaching"
      }
      # DBLoadCPU and DBLoadNonCPU have no relative variant. Deriving one (DBLoadCPU x DBLoadRelativeToNumVCPUs / DBLoad)
      # is undefined whenever the database is idle, so these two compare with the vCPU count of the concurrency module's
      # class table, which it keeps anyway for the memory behind max_connections.
      "db-load-cpu" = {
        description = "Sessions on CPU (DBLoadCPU) above the ${var.db_vcpus} vCPUs for 15 minutes: queries queue for the CPU."
        namespace   = "AWS/RDS", metric = "DBLoadCPU", dimensions = local.db, statistic = "Average"
        operator    = "GreaterThanThreshold", threshold = var.db_vcpus, period = 300, periods = 3, missing = "notBreaching"
      }
      "db-load-non-cpu" = {
        description = "Sessions waiting (DBLoadNonCPU: I/O, locks) above the ${var.db_vcpus} vCPUs for 15 minutes."
        namespace   = "AWS/RDS", metric = "DBLoadNonCPU", dimensions = local.db, statistic = "Average"
        operator    = "GreaterThanThreshold", threshold = var.db_vcpus, period = 300, periods = 3, missing = "notBreaching"
      }
      "proxy-client-connections" = {
        description = "Proxy client connections above ${var.proxy_client_connections_threshold}: the function nears its reserved concurrency."
        namespace   = "AWS/RDS", metric = "ClientConnections", dimensions = local.proxy, statistic = "Maximum"
        operator    = "GreaterThanThreshold", threshold = var.proxy_client_connections_threshold, period = 60, periods = 5, missing = "notBreaching"
      }
      "proxy-database-connections" = {
        description = "Proxy database connections above ${var.proxy_database_connections_threshold}: the pool nears its budget."
        namespace   = "AWS/RDS", metric = "DatabaseConnections", dimensions = local.proxy, statistic = "Maximum"
        operator    = "GreaterThanThreshold", threshold = var.proxy_database_connections_threshold, period = 60, periods = 5, missing = "notBreaching"
      }
      "proxy-borrow-latency" = {
        description = "Clients wait more than ${var.borrow_latency_ms_threshold} ms on average for a database connection from the proxy."
        namespace   = "AWS/RDS", metric = "DatabaseConnectionsBorrowLatency", dimensions = local.proxy, statistic = "Average"
        operator    = "GreaterThanThreshold", threshold = var.borrow_latency_ms_threshold * 1000, period = 60, periods = 5, missing = "notBreaching"
      }
      "proxy-session-pinned" = {
        description = "Session-pinned proxy connections above ${var.proxy_database_connections_threshold}: pinning has used up the pool."
        namespace   = "AWS/RDS", metric = "DatabaseConnectionsCurrentlySessionPinned", dimensions = local.proxy, statistic = "Maximum"
        operator    = "GreaterThanThreshold", threshold = var.proxy_database_connections_threshold, period = 60, periods = 5, missing = "notBreaching"
      }
    },
    # Only burstable classes have CPU credits; elsewhere the metric does not exist.
    var.db_burstable ? {
      "db-cpu-credits" = {
        description = "Burstable database CPU credits below ${var.cpu_credit_balance_threshold}: it runs above its baseline (surplus credits are billed); consider a larger class."
        namespace   = "AWS/RDS", metric = "CPUCreditBalance", dimensions = local.db, statistic = "Minimum"
        operator    = "LessThanThreshold", threshold = var.cpu_credit_balance_threshold, period = 300, periods = 3, missing = "missing"
      }
    } : {},
  )
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  comparison_operator = each.value.operator
  threshold           = each.value.threshold
  period              = each.value.period
  evaluation_periods  = each.value.periods
  treat_missing_data  = each.value.missing
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}
