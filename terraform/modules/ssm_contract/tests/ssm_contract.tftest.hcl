variables {
  stage                    = "dev"
  private_subnet_ids       = ["subnet-aaa", "subnet-bbb", "subnet-ccc"]
  lambda_security_group_id = "sg-0123"
  db_proxy_endpoint        = "pmp-api-dev.proxy-abc.eu-central-1.rds.amazonaws.com"
  db_proxy_resource_id     = "prx-0123456789abcdef0"
  db_name                  = "pmp"
  db_user                  = "pmp_api"
  db_migrator_user         = "pmp_migrator"
  data_bucket_name         = "pmp-api-dev-data-111122223333-eu-central-1"
  deployment_bucket_name   = "pmp-api-dev-deployment-111122223333-eu-central-1"
  lambda_role_arn          = "arn:aws:iam::111122223333:role/pmp-api-dev-lambda"
  migration_role_arn       = "arn:aws:iam::111122223333:role/pmp-api-dev-migration"
  cloudformation_role_arn  = "arn:aws:iam::111122223333:role/pmp-api-dev-cloudformation"
  api_domain_name          = "api.dev.example.com"
  certificate_arn          = "arn:aws:acm:eu-central-1:111122223333:certificate/abc"
  hosted_zone_id           = "Z0123456789"
  reserved_concurrency     = 32
  alarm_topic_arn          = "arn:aws:sns:eu-central-1:111122223333:pmp-api-dev-alarms"
  kms_key_arn              = "arn:aws:kms:eu-central-1:111122223333:key/0000"
  third_party_api_url      = "https://api.example.net"
}

run "exact_names" {
  command = plan

  assert {
    condition = toset(keys(output.parameters)) == toset([
      "/pmp/dev/private-subnet-ids",
      "/pmp/dev/lambda-security-group-id",
      "/pmp/dev/db-proxy-endpoint",
      "/pmp/dev/db-proxy-resource-id",
      "/pmp/dev/db-name",
      "/pmp/dev/db-user",
      "/pmp/dev/db-migrator-user",
      "/pmp/dev/data-bucket-name",
      "/pmp/dev/deployment-bucket-name",
      "/pmp/dev/lambda-role-arn",
      "/pmp/dev/migration-role-arn",
      "/pmp/dev/cloudformation-role-arn",
      "/pmp/dev/api-domain-name",
      "/pmp/dev/certificate-arn",
      "/pmp/dev/hosted-zone-id",
      "/pmp/dev/reserved-concurrency",
      "/pmp/dev/alarm-topic-arn",
      "/pmp/dev/kms-key-arn",
      "/pmp/dev/third-party-api-url",
    ])
    error_message = "The SSM names must be exactly the contract's nineteen."
  }
}

# The same contract, read from the table in docs/architecture.md (run from this module's folder): a row added to or
# removed from the docs without the code, or the reverse, fails here. Types are compared too.
run "matches_the_docs_table" {
  command = plan

  assert {
    condition = { for name, p in output.parameters : name => p.type } == {
      for row in regexall("(?m)^\\| `([a-z0-9-]+)` \\| `[A-Za-z]+` \\| (StringList|String)\\b", file("../../../docs/architecture.md")) :
      "/pmp/dev/${row[0]}" => row[1]
    }
    error_message = "The SSM names and types differ from the table in docs/architecture.md."
  }
}

run "values" {
  command = plan

  assert {
    condition     = output.prefix == "/pmp/dev/"
    error_message = "The prefix is /pmp/<stage>/ with its trailing slash."
  }
  assert {
    condition = (output.parameters["/pmp/dev/private-subnet-ids"].type == "StringList"
    && output.parameters["/pmp/dev/private-subnet-ids"].value == "subnet-aaa,subnet-bbb,subnet-ccc")
    error_message = "private-subnet-ids is a comma-separated StringList."
  }
  assert {
    condition     = output.parameters["/pmp/dev/reserved-concurrency"].value == "32"
    error_message = "reserved-concurrency holds the number as a string."
  }
  assert {
    condition     = output.parameters["/pmp/dev/db-proxy-resource-id"].value == "prx-0123456789abcdef0"
    error_message = "db-proxy-resource-id passes the value through."
  }
  assert {
    condition     = alltrue([for p in values(output.parameters) : p.description != "" && p.value != "" && contains(["String", "StringList"], p.type)])
    error_message = "Every parameter has a description, a value and a String/StringList type (nothing secret, so no SecureString)."
  }
}

run "prod_prefix" {
  command = plan

  variables {
    stage = "prod"
  }

  assert {
    condition     = length([for name in keys(output.parameters) : name if startswith(name, "/pmp/prod/")]) == 19
    error_message = "Every name moves under /pmp/prod/ for prod."
  }
}

run "http_url_rejected" {
  command = plan

  variables {
    third_party_api_url = "http://api.example.net"
  }

  expect_failures = [var.third_party_api_url]
}

run "zero_concurrency_rejected" {
  command = plan

  variables {
    reserved_concurrency = 0
  }

  expect_failures = [var.reserved_concurrency]
}
