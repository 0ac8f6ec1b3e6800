output "hosted_zone_id" {
  description = "Route 53 zone that holds the API domain (serverless-domain-manager customDomain.hostedZoneId)."
  value       = local.zone_id
}

output "hosted_zone_name_servers" {
  description = "Name servers of the zone created here, to delegate from the parent zone; empty when an existing zone is used."
  value       = var.create_hosted_zone ? aws_route53_zone.created[0].name_servers : []
}

output "certificate_arn" {
  description = "ACM certificate for the API domain, issued (customDomain.certificateArn)."
  value       = aws_acm_certificate_validation.api.certificate_arn
}

output "api_domain_name" {
  description = "The API's custom domain."
  value       = aws_acm_certificate.api.domain_name
}
