output "instance_memory_mib" {
  description = "Nominal memory of the instance class, MiB."
  value       = local.memory_mib
}

output "vcpus" {
  description = "vCPU count of the instance class: the DBLoad alarms compare the average active sessions with it."
  value       = local.class.vcpus
}

output "burstable" {
  description = "Whether the class is burstable (db.t*): only those have a CPU credit balance to watch."
  value       = startswith(var.instance_class, "db.t")
}

output "estimated_instance_class_memory_bytes" {
  description = "The DBInstanceClassMemory this module assumes (see the reserve in main.tf)."
  value       = local.estimated_instance_class_memory_bytes
}

output "max_connections" {
  description = "The database's max_connections: the value given, else RDS's default estimated from the memory."
  value       = local.max_connections
}

output "proxy_connection_budget" {
  description = "Database connections the proxy may open: floor(max_connections x max_connections_percent / 100)."
  value       = local.proxy_connection_budget
}

output "reserved_concurrency" {
  description = "The function's reserved concurrency: the proxy budget less the headroom (at least 1), within reserved_concurrency_limit."
  value       = local.reserved_concurrency

  precondition {
    condition     = local.reserved_concurrency >= 1
    error_message = "The reserved concurrency would be ${local.reserved_concurrency}; it must be at least 1."
  }
}

output "db_connections_alarm_threshold" {
  description = "DatabaseConnections on the instance above which to alarm: the alarm share of max_connections (connections beyond the proxy's budget mean a client bypasses it)."
  value       = max(1, floor(local.max_connections * var.alarm_percent / 100))
}

output "proxy_database_connections_alarm_threshold" {
  description = "Proxy DatabaseConnections (and pinned connections) above which to alarm: the alarm share of the proxy budget."
  value       = max(1, floor(local.proxy_connection_budget * var.alarm_percent / 100))
}

output "proxy_client_connections_alarm_threshold" {
  description = "Proxy ClientConnections above which to alarm: the alarm share of the reserved concurrency (throttling is near)."
  value       = max(1, floor(local.reserved_concurrency * var.alarm_percent / 100))
}
