//! Names shared with the other parts of the repository; docs/architecture.md ("Contracts between the parts") is
//! their single description, and the tidy test checks that it still names each of them.

use crate::stage::Stage;

pub const KMS_KEY_STACK: &str = "pmp-bootstrap-kms-key";
pub const STATE_STACK: &str = "pmp-bootstrap-terraform-state";
pub const KMS_KEY_TEMPLATE: &str = "cloudformation/kms-key.yml";
pub const STATE_TEMPLATE: &str = "cloudformation/terraform-state.yml";
pub const SERVICE: &str = "pmp-api";
pub const MIGRATE_EVENT: &str = "lambda/events/migrate.json";

/// Tags on the bootstrap stacks (Terraform and Serverless tag their own resources).
pub const BOOTSTRAP_TAGS: &[&str] = &[
    "project=pmp",
    "component=bootstrap",
    "managed-by=cargo-xtask",
];

pub fn stack(stage: &Stage) -> String {
    format!("{SERVICE}-{stage}")
}

pub fn function(stage: &Stage) -> String {
    format!("{SERVICE}-{stage}-api")
}

pub fn state_key(stage: &Stage) -> String {
    format!("pmp/{stage}/terraform.tfstate")
}

pub fn ssm_parameter(stage: &Stage, name: &str) -> String {
    format!("/pmp/{stage}/{name}")
}
