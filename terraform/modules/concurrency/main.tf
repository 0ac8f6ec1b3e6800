# The connection arithmetic, written once: the Lambda's reserved concurrency, the proxy pool and the connection alarms
# all come from here.
#
# RDS for PostgreSQL's default is max_connections = LEAST(DBInstanceClassMemory / 9531392, 5000), where
# DBInstanceClassMemory is the instance memory in bytes less what the OS and the RDS processes keep. AWS does not
# publish that reserve; values read with SHOW max_connections (198 on 2 GiB, 413 on 4 GiB, 856 on 8 GiB, 1660 on
# 15.25 GiB) put it between about 250 MiB and 530 MiB, growing with the size. We assume the larger of 384 MiB and 10 % of
# the nominal memory, which stays below every observed value: the estimate errs low, so the proxy never expects more
# connections than the database grants. Pass max_connections once it is known, to use the real figure.
locals {
  rds_bytes_per_connection = 9531392
  rds_max_connections_cap  = 5000
  os_reserve_min_mib       = 384
  os_reserve_percent       = 10

  class       = var.instance_classes[var.instance_class]
  memory_mib  = local.class.memory_mib
  reserve_mib = max(local.os_reserve_min_mib, local.memory_mib * local.os_reserve_percent / 100)

  estimated_instance_class_memory_bytes = floor((local.memory_mib - local.reserve_mib) * 1048576)
  estimated_max_connections = min(
    floor(local.estimated_instance_class_memory_bytes / local.rds_bytes_per_connection),
    local.rds_max_connections_cap,
  )
  max_connections = coalesce(var.max_connections, local.estimated_max_connections)

  # What the proxy may open: RDS Proxy takes MaxConnectionsPercent of max_connections.
  proxy_connection_budget = floor(local.max_connections * var.max_connections_percent / 100)

  # One database connection per execution environment: sqlx's prepared statements and the migration's advisory lock
  # pin a client session to its database connection, so the proxy cannot multiplex and every concurrent execution
  # holds one connection of the budget. Below 1 the headroom validation has already failed.
  derived_reserved_concurrency = local.proxy_connection_budget - var.headroom
  reserved_concurrency = (var.reserved_concurrency_limit == null
    ? local.derived_reserved_concurrency
  : min(local.derived_reserved_concurrency, var.reserved_concurrency_limit))
}
