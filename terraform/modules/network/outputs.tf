output "vpc_id" {
  description = "Id of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "IPv4 CIDR of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "Public subnet ids, one per AZ (NAT gateways only)."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnet ids, one per AZ (the function, the proxy, interface endpoints)."
  value       = aws_subnet.private[*].id
}

output "database_subnet_ids" {
  description = "Database subnet ids, one per AZ, without a route out of the VPC."
  value       = aws_subnet.database[*].id
}

output "private_route_table_ids" {
  description = "Route tables of the private subnets, one per AZ."
  value       = aws_route_table.private[*].id
}

output "nat_public_ips" {
  description = "Elastic IPs of the NAT gateways: the fixed addresses the function's outbound calls come from (for a third party's allow-list)."
  value       = aws_eip.nat[*].public_ip
}

output "s3_endpoint_prefix_list_id" {
  description = "Prefix list of the S3 gateway endpoint (to allow S3 in a security group by prefix list)."
  value       = aws_vpc_endpoint.s3.prefix_list_id
}

output "interface_endpoint_ids" {
  description = "Interface endpoint ids by service short name."
  value       = { for service, endpoint in aws_vpc_endpoint.interface : service => endpoint.id }
}

output "flow_log_group_name" {
  description = "CloudWatch log group of the VPC flow logs."
  value       = aws_cloudwatch_log_group.flow_logs.name
}

# Terraform's tests read a module's outputs only: the root module's plan-level tests (terraform/tests/) check the
# planned resources through these.

output "log_groups" {
  description = "The module's log groups (flow logs), as planned."
  value       = { flow_logs = aws_cloudwatch_log_group.flow_logs }
}

output "planned" {
  description = "Subnets, NAT gateways, routes, endpoint security groups and the flow-log role's policy as planned (terraform/tests/ asserts on them)."
  value = {
    public_subnets          = aws_subnet.public
    private_subnets         = aws_subnet.private
    database_subnets        = aws_subnet.database
    nat_gateways            = aws_nat_gateway.this
    nat_eips                = aws_eip.nat
    routes                  = concat([aws_route.public_internet], aws_route.private_nat)
    private_nat_routes      = aws_route.private_nat
    database_route_table    = aws_route_table.database
    database_associations   = aws_route_table_association.database
    security_groups         = aws_security_group.endpoints
    ingress_rules           = aws_vpc_security_group_ingress_rule.endpoints_https
    flow_log_policy_actions = flatten(data.aws_iam_policy_document.flow_logs.statement[*].actions)
  }
}
