# One page for the database tier: the alarmed metrics with their thresholds drawn in.
locals {
  db_dims    = ["DBInstanceIdentifier", var.db_instance_identifier]
  proxy_dims = ["ProxyName", var.proxy_name]

  widgets = concat(
    [
      {
        title   = "Database CPU %"
        metrics = [concat(["AWS/RDS", "CPUUtilization"], local.db_dims)]
        line    = var.cpu_percent_threshold
      },
      {
        title = "Database load (average active sessions) and vCPUs"
        metrics = [
          concat(["AWS/RDS", "DBLoad"], local.db_dims),
          concat(["AWS/RDS", "DBLoadCPU"], local.db_dims),
          concat(["AWS/RDS", "DBLoadNonCPU"], local.db_dims),
        ]
        line = var.db_vcpus
      },
      {
        title   = "Database connections"
        metrics = [concat(["AWS/RDS", "DatabaseConnections"], local.db_dims)]
        line    = var.db_connections_threshold
      },
      {
        title   = "Freeable memory (bytes)"
        metrics = [concat(["AWS/RDS", "FreeableMemory"], local.db_dims)]
        line    = floor(var.db_memory_mib * 1048576 * var.low_memory_percent / 100)
      },
      {
        title   = "Free storage (bytes)"
        metrics = [concat(["AWS/RDS", "FreeStorageSpace"], local.db_dims)]
        line    = local.free_storage_threshold_bytes
      },
      {
        title = "Proxy connections: clients, database, pinned"
        metrics = [
          concat(["AWS/RDS", "ClientConnections"], local.proxy_dims),
          concat(["AWS/RDS", "DatabaseConnections"], local.proxy_dims),
          concat(["AWS/RDS", "DatabaseConnectionsCurrentlySessionPinned"], local.proxy_dims),
        ]
        line = var.proxy_database_connections_threshold
      },
      {
        title   = "Proxy connection borrow latency (µs)"
        metrics = [concat(["AWS/RDS", "DatabaseConnectionsBorrowLatency"], local.proxy_dims)]
        line    = var.borrow_latency_ms_threshold * 1000
      },
    ],
    var.db_burstable ? [
      {
        title   = "CPU credit balance"
        metrics = [concat(["AWS/RDS", "CPUCreditBalance"], local.db_dims)]
        line    = var.cpu_credit_balance_threshold
      },
    ] : [],
  )
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = [for i, w in local.widgets : {
      type   = "metric"
      x      = (i % 2) * 12
      y      = floor(i / 2) * 6
      width  = 12
      height = 6
      properties = {
        title       = w.title
        region      = local.region
        metrics     = w.metrics
        stat        = "Average"
        period      = 300
        view        = "timeSeries"
        annotations = { horizontal = [{ label = "alarm", value = w.line }] }
      }
    }]
  })
}
