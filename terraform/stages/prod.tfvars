# prod: highly available and kept. stage and region come from `cargo xtask --stage prod --region ...`, not from here.

# PLACEHOLDER (a made-up id): the AWS account this stage lives in. Replace it with the real id before the first
# bootstrap. xtask and Terraform (allowed_account_ids) refuse to touch any other account, and prod needs an
# account of its own (docs/decisions/0009-one-account-per-stage.md).
account_id = "210987654321"

# Replace with the team's real zone, domain, project and third-party API before the first plan.
hosted_zone_name    = "example.com"
create_hosted_zone  = false
api_domain_name     = "api.example.com"
gitlab_project_path = "pmp/pmp-api"
gitlab_allowed_refs = ["main"]
# Only pipelines of protected tags release-* may assume prod's deploy role (protect the pattern in GitLab).
gitlab_release_tag_pattern = "release-*"
third_party_api_url        = "https://api.example.net"

# One NAT gateway per AZ (three egress addresses to allow-list; an AZ failure leaves the others working).
vpc_cidr                = "10.30.0.0/16"
single_nat_gateway      = false
interface_endpoints     = []
flow_log_retention_days = 365

# General-purpose Graviton class, Multi-AZ, a month of backups, protected, final snapshot, long-term insights.
db_engine_version                      = "17"
db_instance_class                      = "db.m7g.large"
db_allocated_storage_gib               = 100
db_max_allocated_storage_gib           = 1000
db_multi_az                            = true
db_backup_retention_days               = 30
db_deletion_protection                 = true
db_skip_final_snapshot                 = false
db_performance_insights_retention_days = 465
db_database_insights_mode              = "advanced"
db_monitoring_interval_seconds         = 15
db_log_retention_days                  = 365
db_log_min_duration_ms                 = 1000

# max_connections ~811 (db.m7g.large) x 75 % = 608 proxy connections; less 10 of headroom: reserved concurrency 598.
proxy_max_connections_percent      = 75
proxy_max_idle_connections_percent = 25
concurrency_headroom               = 10

# A protected stage must have an alarm subscriber (a validation refuses null here): replace with the team's address.
alarm_email = "pmp-oncall@example.com"

# Kept: a teardown stops at non-empty buckets (docs/runbooks/teardown.md).
buckets_force_destroy = false
