//! Terraform: formatting, the offline schema check, the provider-free modules' tests, `terraform validate` where the
//! provider can be installed, and checkov.

use std::path::{Path, PathBuf};

use super::{Validator, checkov, files_with_extension, relative};
use crate::step::Step;

const TF_CHECK: &str = "../shared/tools/tf-check";
const TERRAFORM_HINT: &str = "install Terraform 1.10 or later";

pub fn validators(root: &Path) -> Vec<Validator> {
    if !root.join("terraform").is_dir() {
        return Vec::new();
    }
    let mut all = vec![
        Validator::new("terraform fmt", "terraform/**/*.tf")
            .needs_program("terraform", TERRAFORM_HINT)
            .step(Step::command(
                "check the formatting",
                "terraform",
                ["fmt", "-check", "-recursive", "-diff", "terraform"],
            )),
        Validator::new(
            "tf-check",
            "terraform/ against the hashicorp/aws 6.47.0 schema",
        )
        .unavailable_because((!root.join(TF_CHECK).exists()).then(|| {
            format!(
                "{TF_CHECK} is not beside this checkout (it ships with the team's shared folder)"
            )
        }))
        .step(Step::command(
            "check resources, arguments, blocks and references",
            TF_CHECK,
            ["terraform"],
        )),
    ];
    for module in tested_modules(root) {
        let shown = relative(&root.join("terraform"), &module);
        let chdir = format!("-chdir={}", relative(root, &module));
        all.push(
            Validator::new(
                format!("terraform test {shown}"),
                format!("terraform/{shown}/tests/*.tftest.hcl"),
            )
            .needs_program("terraform", TERRAFORM_HINT)
            .step(init_without_backend(
                &chdir,
                "initialise the provider-free module",
            ))
            .step(Step::command(
                "run its tests",
                "terraform",
                [chdir.as_str(), "test", "-no-color"],
            )),
        );
    }
    all.push(
        Validator::new(
            "terraform validate",
            "terraform/ (root module and its modules)",
        )
        .needs_program("terraform", TERRAFORM_HINT)
        .not_run_if_output_contains(
            &[
                "Failed to query available provider packages",
                "Failed to install provider",
                "registry.terraform.io",
            ],
            "the hashicorp/aws provider cannot be downloaded here; tf-check stands in for it",
        )
        .step(Step::command(
            "install the providers (no backend)",
            "terraform",
            [
                "-chdir=terraform",
                "init",
                "-backend=false",
                "-input=false",
                "-no-color",
            ],
        ))
        .step(Step::command(
            "validate the configuration",
            "terraform",
            ["-chdir=terraform", "validate", "-no-color"],
        )),
    );
    all.push(
        Validator::new("checkov terraform", "terraform/").step(checkov(
            "scan the Terraform configuration",
            &["--directory", "terraform", "--framework", "terraform"],
        )),
    );
    all
}

/// `terraform init` of a folder that keeps no state remotely (tests, the policy render root).
pub fn init_without_backend(chdir: &str, purpose: &str) -> Step {
    Step::command(
        purpose,
        "terraform",
        [chdir, "init", "-backend=false", "-input=false", "-no-color"],
    )
}

/// Modules with `terraform test` files: the provider-free logic (concurrency, policies, SSM contract).
fn tested_modules(root: &Path) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = vec![root.join("terraform")];
    for parent in ["terraform/modules", "terraform"] {
        let entries = std::fs::read_dir(root.join(parent))
            .into_iter()
            .flatten()
            .flatten();
        folders.extend(
            entries
                .map(|entry| entry.path())
                .filter(|path| path.is_dir()),
        );
    }
    let mut tested: Vec<PathBuf> = folders
        .into_iter()
        .filter(|folder| !files_with_extension(&folder.join("tests"), "hcl").is_empty())
        .collect();
    tested.sort();
    tested.dedup();
    tested
}
