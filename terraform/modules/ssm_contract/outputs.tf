output "prefix" {
  description = "The path every parameter of the stage lives under, with its trailing slash: /pmp/<stage>/."
  value       = local.prefix
}

output "parameters" {
  description = "Full SSM name => { value, type, description }, one per row of the contract table."
  value       = { for name, entry in local.entries : "${local.prefix}${name}" => entry }
}
