# The zone of the API's custom domain and its certificate (regional, default provider). The API Gateway domain name
# and its alias records are serverless-domain-manager's (create_domain), with the deployer's policies.
module "dns" {
  source = "./modules/dns"

  hosted_zone_name   = var.hosted_zone_name
  create_hosted_zone = var.create_hosted_zone
  api_domain_name    = var.api_domain_name
}
