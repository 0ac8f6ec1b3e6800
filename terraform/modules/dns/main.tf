# The zone that holds the API's domain and a DNS-validated ACM certificate for it, in the default provider's region:
# an HTTP API custom domain is REGIONAL, so its certificate lives in the API's region (no us-east-1 copy).
data "aws_route53_zone" "existing" {
  count = var.create_hosted_zone ? 0 : 1

  name         = var.hosted_zone_name
  private_zone = false
}

resource "aws_route53_zone" "created" {
  #checkov:skip=CKV2_AWS_38:DNSSEC signing needs an asymmetric KMS key in us-east-1 and a DS record at the parent; decided per organisation, not per stage.
  #checkov:skip=CKV2_AWS_39:Query logging for public zones only delivers to a log group in us-east-1; not enabled for an API name zone.
  count = var.create_hosted_zone ? 1 : 0

  name    = var.hosted_zone_name
  comment = "Public zone of the PMP API custom domain"
}

locals {
  zone_id = var.create_hosted_zone ? aws_route53_zone.created[0].zone_id : data.aws_route53_zone.existing[0].zone_id
}

resource "aws_acm_certificate" "api" {
  domain_name       = var.api_domain_name
  validation_method = "DNS"

  lifecycle {
    # The custom domain keeps serving with the old certificate until the new one is issued.
    create_before_destroy = true
    precondition {
      condition     = endswith(var.api_domain_name, ".${trimsuffix(var.hosted_zone_name, ".")}")
      error_message = "api_domain_name must be inside hosted_zone_name."
    }
  }
}

resource "aws_route53_record" "validation" {
  for_each = {
    for o in aws_acm_certificate.api.domain_validation_options : o.domain_name => {
      name   = o.resource_record_name
      type   = o.resource_record_type
      record = o.resource_record_value
    }
  }

  zone_id = local.zone_id
  name    = each.value.name
  type    = each.value.type
  records = [each.value.record]
  ttl     = 300
  # ACM reuses the same validation record across re-issues; take it over instead of failing on a leftover.
  allow_overwrite = true
}

# Waits until the certificate is issued, so nothing downstream (SSM, create_domain) gets a pending certificate.
resource "aws_acm_certificate_validation" "api" {
  certificate_arn         = aws_acm_certificate.api.arn
  validation_record_fqdns = [for r in aws_route53_record.validation : r.fqdn]
}
