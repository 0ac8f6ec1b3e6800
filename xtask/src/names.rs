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

    /// The plan role may read exactly the bootstrap stacks whose outputs `plan` reads: a rename must fail here.
    #[test]
    fn the_plan_role_reads_the_bootstrap_stacks_xtask_reads() {
        let variables = std::fs::read_to_string(
            crate::project_root().join("terraform/modules/iam_policies/variables.tf"),
        )
        .expect("iam_policies/variables.tf");
        let default = format!("default     = [\"{KMS_KEY_STACK}\", \"{STATE_STACK}\"]");
        assert!(variables.contains(&default), "expected {default}");
    }

    /// serverless.yml writes these names in its own syntax; a rename on either side must fail here.
    #[test]
    fn serverless_yml_agrees_with_the_names_xtask_uses() {
        let serverless = std::fs::read_to_string(crate::project_root().join("serverless.yml"))
            .expect("serverless.yml");
        let stage =
            crate::stage::Stage::known("dev", &crate::project_root()).expect("dev is known");
        assert!(serverless.contains(&format!("service: {SERVICE}\n")));
        // Each function's name as osls resolves it for the stage, against the name xtask addresses.
        let resolved = |suffix: &str| -> Option<String> {
            let written = format!("name: ${{self:service}}-${{sls:stage}}-{suffix}");
            serverless.contains(&written).then(|| {
                written
                    .trim_start_matches("name: ")
                    .replace("${self:service}", SERVICE)
                    .replace("${sls:stage}", stage.name())
            })
        };
        assert_eq!(resolved("api"), Some(function(&stage)), "the API function");
        assert_eq!(
            resolved("migrate"),
            Some(migration_function(&stage)),
            "the migration function"
        );
        assert!(
            serverless.contains(&format!("artifact: {}", build_zip_path_template())),
            "the zip `cargo xtask build` makes"
        );
    }
}
