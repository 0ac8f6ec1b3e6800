//! Names shared with the other parts of the repository; docs/architecture.md ("Contracts between the parts") is
//! their single description, and the tidy test checks that it still names each of them.

use crate::stage::Stage;

pub const KMS_KEY_STACK: &str = "pmp-bootstrap-kms-key";
pub const STATE_STACK: &str = "pmp-bootstrap-terraform-state";
pub const KMS_KEY_TEMPLATE: &str = "cloudformation/kms-key.yml";
pub const STATE_TEMPLATE: &str = "cloudformation/terraform-state.yml";
pub const ACCOUNT_STACK: &str = "pmp-bootstrap-account";
pub const ACCOUNT_TEMPLATE: &str = "cloudformation/account.yml";
pub const SERVICE: &str = "pmp-api";
pub const MIGRATE_EVENT: &str = "lambda/events/migrate.json";
pub const STATUS_EVENT: &str = "lambda/events/status.json";

/// Tags on the bootstrap stacks (Terraform and Serverless tag their own resources).
pub const BOOTSTRAP_TAGS: &[&str] = &[
    "project=pmp",
    "component=bootstrap",
    "managed-by=cargo-xtask",
];

pub fn stack(stage: &Stage) -> String {
    format!("{SERVICE}-{stage}")
}

/// The API function: only the rehearsal looks it up (it refuses the database commands); the test ties the name to
/// serverless.yml.
pub fn function(stage: &Stage) -> String {
    format!("{SERVICE}-{stage}-api")
}

/// The migration function (serverless.yml `migrate`): the same zip as the API function, invoked directly only.
pub fn migration_function(stage: &Stage) -> String {
    format!("{SERVICE}-{stage}-migrate")
}

pub fn state_key(stage: &Stage) -> String {
    format!("pmp/{stage}/terraform.tfstate")
}

pub fn ssm_parameter(stage: &Stage, name: &str) -> String {
    format!("/pmp/{stage}/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::build_zip_path_template;

    /// serverless.yml writes these names in its own syntax; a rename on either side must fail here.
    #[test]
    fn serverless_yml_agrees_with_the_names_xtask_uses() {
        let serverless = std::fs::read_to_string(crate::project_root().join("serverless.yml"))
            .expect("serverless.yml");
        let stage =
            crate::stage::Stage::known("dev", &crate::project_root()).expect("dev is known");
        assert!(serverless.contains(&format!("service: {SERVICE}\n")));
        assert_eq!(function(&stage), format!("{SERVICE}-dev-api"));
        assert!(
            serverless.contains("name: ${self:service}-${sls:stage}-api"),
            "the function's name"
        );
        assert_eq!(migration_function(&stage), format!("{SERVICE}-dev-migrate"));
        assert!(
            serverless.contains("name: ${self:service}-${sls:stage}-migrate"),
            "the migration function's name"
        );
        assert!(
            serverless.contains(&format!("artifact: {}", build_zip_path_template())),
            "the zip `cargo xtask build` makes"
        );
    }
}
