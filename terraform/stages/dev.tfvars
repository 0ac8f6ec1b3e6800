# dev: cheap and disposable. stage and region come from `cargo xtask --stage dev --region ...`, not from here.

# PLACEHOLDER (the AWS documentation's example id, also moto's default account (cargo xtask rehearse)): the AWS account this stage lives in. Replace it with the real id before the first
# bootstrap. xtask and Terraform (allowed_account_ids) refuse to touch any other account, and prod needs an
# account of its own (docs/decisions/0009-one-account-per-stage.md).
account_id = "123456789012"

# Replace with the team's real zone, domain, project and third-party API before the first plan.
hosted_zone_name    = "example.com"
create_hosted_zone  = false
api_domain_name     = "api.dev.example.com"
gitlab_project_path = "pmp/pmp-api"
gitlab_allowed_refs = ["main"]
third_party_api_url = "https://api.example.net"

# One NAT gateway (one egress address; egress stops if its AZ fails), no interface endpoints.
vpc_cidr                = "10.20.0.0/16"
single_nat_gateway      = true
interface_endpoints     = []
flow_log_retention_days = 14

# Smallest burstable class, single AZ, short backups and logs; deletable without a snapshot.
db_engine_version                      = "17"
db_instance_class                      = "db.t4g.micro"
db_allocated_storage_gib               = 20
db_max_allocated_storage_gib           = 50
db_multi_az                            = false
db_backup_retention_days               = 3
db_deletion_protection                 = false
db_skip_final_snapshot                 = true
db_performance_insights_retention_days = 7
db_database_insights_mode              = "standard"
db_monitoring_interval_seconds         = 60
db_log_retention_days                  = 14
db_log_min_duration_ms                 = 500

# max_connections ~70 (db.t4g.micro) x 50 % = 35 proxy connections; less 3 of headroom: reserved concurrency 32.
proxy_max_connections_percent      = 50
proxy_max_idle_connections_percent = 10
concurrency_headroom               = 3

alarm_email = null

# Throw-away: a teardown empties and deletes the buckets.
buckets_force_destroy = true
