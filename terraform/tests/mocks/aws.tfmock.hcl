# What the mocked hashicorp/aws provider answers in the root module's tests: realistic data sources (one account, the
# aws partition, eu-central-1 with its three zones listed out of order, so the module's sort and slice are exercised),
# and, for the resources whose identity the tests compare, distinct ids known at plan time (a real plan leaves them
# unknown; the mock makes the wiring between resources checkable).

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "111122223333"
    arn        = "arn:aws:iam::111122223333:user/pmp-gitlab-deployer"
    user_id    = "AIDAEXAMPLEUSERID0001"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition          = "aws"
    dns_suffix         = "amazonaws.com"
    reverse_dns_prefix = "com.amazonaws"
  }
}

mock_data "aws_region" {
  defaults = {
    region      = "eu-central-1"
    name        = "eu-central-1"
    endpoint    = "ec2.eu-central-1.amazonaws.com"
    description = "Europe (Frankfurt)"
  }
}

mock_data "aws_availability_zones" {
  defaults = {
    names    = ["eu-central-1c", "eu-central-1a", "eu-central-1b"]
    zone_ids = ["euc1-az1", "euc1-az2", "euc1-az3"]
  }
}

mock_data "aws_route53_zone" {
  defaults = {
    zone_id = "Z0123456789ABCDEFGHIJ"
    name    = "example.com"
  }
}

# The account layer's provider, as cloudformation/account.yml creates it: the instance URL is its client id.
mock_data "aws_iam_openid_connect_provider" {
  defaults = {
    url            = "gitlab.com"
    client_id_list = ["https://gitlab.com"]
  }
}

mock_data "aws_iam_policy_document" {
  defaults = {
    json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
  }
}

override_resource {
  target          = module.kms.aws_kms_key.this
  override_during = plan
  values = {
    arn    = "arn:aws:kms:eu-central-1:111122223333:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    key_id = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
  }
}

override_resource {
  target          = module.monitoring.aws_sns_topic.alarms
  override_during = plan
  values = {
    arn = "arn:aws:sns:eu-central-1:111122223333:pmp-stage-alarms"
    id  = "arn:aws:sns:eu-central-1:111122223333:pmp-stage-alarms"
  }
}

override_resource {
  target          = module.database.aws_security_group.lambda
  override_during = plan
  values          = { id = "sg-0a000000000000001", arn = "arn:aws:ec2:eu-central-1:111122223333:security-group/sg-0a000000000000001" }
}

override_resource {
  target          = module.database.aws_security_group.proxy
  override_during = plan
  values          = { id = "sg-0b000000000000002", arn = "arn:aws:ec2:eu-central-1:111122223333:security-group/sg-0b000000000000002" }
}

override_resource {
  target          = module.database.aws_security_group.database
  override_during = plan
  values          = { id = "sg-0c000000000000003", arn = "arn:aws:ec2:eu-central-1:111122223333:security-group/sg-0c000000000000003" }
}

override_resource {
  target          = module.database.aws_db_proxy.this
  override_during = plan
  values = {
    arn      = "arn:aws:rds:eu-central-1:111122223333:db-proxy:prx-0123456789abcdef0"
    endpoint = "pmp-api.proxy-c0ffee.eu-central-1.rds.amazonaws.com"
  }
}

override_resource {
  target          = module.network.aws_subnet.database
  override_during = plan
  values          = { id = "subnet-0d00000000000database" }
}

override_resource {
  target          = module.network.aws_subnet.private
  override_during = plan
  values          = { id = "subnet-0e000000000000private" }
}

override_resource {
  target          = module.network.aws_route_table.database
  override_during = plan
  values          = { id = "rtb-0d00000000000database" }
}

override_resource {
  target          = module.network.aws_route_table.private
  override_during = plan
  values          = { id = "rtb-0e000000000000private" }
}

override_resource {
  target          = module.network.aws_route_table.public
  override_during = plan
  values          = { id = "rtb-0f0000000000000public" }
}

override_resource {
  target          = module.storage.aws_s3_bucket.deployment
  override_during = plan
  values          = { arn = "arn:aws:s3:::mock-deployment-bucket", id = "mock-deployment-bucket" }
}

override_resource {
  target          = module.storage.aws_s3_bucket.data
  override_during = plan
  values          = { arn = "arn:aws:s3:::mock-data-bucket", id = "mock-data-bucket" }
}

override_resource {
  target          = module.storage.aws_s3_bucket.access_logs
  override_during = plan
  values          = { arn = "arn:aws:s3:::mock-access-log-bucket", id = "mock-access-log-bucket" }
}

# DNS validation records are for_each over the certificate's validation options: their keys must be known at plan.
override_resource {
  target          = module.dns.aws_acm_certificate.api
  override_during = plan
  values = {
    arn = "arn:aws:acm:eu-central-1:111122223333:certificate/5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"
    domain_validation_options = [{
      domain_name           = "api.example.com"
      resource_record_name  = "_3f1c2b.api.example.com."
      resource_record_type  = "CNAME"
      resource_record_value = "_9a8b7c.mhbtsbpdnt.acm-validations.aws."
    }]
  }
}

# One id per NAT gateway, so the tests can tell which one each private route table uses.
override_resource {
  target          = module.network.aws_nat_gateway.this[0]
  override_during = plan
  values          = { id = "nat-0a0000000000000001" }
}

override_resource {
  target          = module.network.aws_nat_gateway.this[1]
  override_during = plan
  values          = { id = "nat-0b0000000000000002" }
}

override_resource {
  target          = module.network.aws_nat_gateway.this[2]
  override_during = plan
  values          = { id = "nat-0c0000000000000003" }
}
