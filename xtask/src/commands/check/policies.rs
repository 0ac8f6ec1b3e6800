//! IAM: the provider-free policy module rendered offline to JSON (a root with no provider and no resources, so
//! `terraform apply` only evaluates outputs), then linted with parliament.

use std::path::Path;

use anyhow::Context;

use super::Validator;
use crate::step::Step;

const RENDER_ROOT: &str = "terraform/policy-render";
/// Identity policies only: parliament needs a Resource in every statement, which trust policies do not have
/// (their own `terraform test` covers them).
const IDENTITY_POLICY_PREFIX: &str = "policy_";
pub const RENDERED: &str = "target/policies";

pub fn validators(root: &Path) -> Vec<Validator> {
    if !root.join(RENDER_ROOT).is_dir() {
        return Vec::new();
    }
    let chdir = format!("-chdir={RENDER_ROOT}");
    let rendered = root.join(RENDERED);
    vec![
        Validator::new(
            "parliament",
            format!("{RENDER_ROOT} outputs → {RENDERED}/*.json"),
        )
        .needs_program("terraform", "install Terraform 1.10 or later")
        .step(Step::command(
            "initialise the render root (no provider)",
            "terraform",
            [
                chdir.as_str(),
                "init",
                "-backend=false",
                "-input=false",
                "-no-color",
            ],
        ))
        .step(Step::command(
            "evaluate the policy documents",
            "terraform",
            [
                chdir.as_str(),
                "apply",
                "-auto-approve",
                "-input=false",
                "-no-color",
            ],
        ))
        .step(
            Step::command(
                "read them",
                "terraform",
                [chdir.as_str(), "output", "-json"],
            )
            .capture("policies", None),
        )
        .step(Step::internal(
            format!("write each identity policy to {RENDERED}/<name>.json"),
            move |outputs| {
                write_policies(
                    outputs.get("policies").map_or("{}", String::as_str),
                    &rendered,
                )
            },
        ))
        .step(Step::command(
            "lint every rendered policy (any finding fails)",
            ".venv/bin/parliament",
            [
                "--directory",
                RENDERED,
                "--include_policy_extension",
                ".json",
                "--include-community-auditors",
                "--minimal",
            ],
        )),
    ]
}

/// Writes the identity policies from `terraform output -json`, replacing what an earlier run left.
fn write_policies(output_json: &str, folder: &Path) -> anyhow::Result<()> {
    let outputs: serde_json::Map<String, serde_json::Value> = serde_json::from_str(output_json)
        .context("`terraform output -json` did not print a JSON object")?;
    if folder.exists() {
        std::fs::remove_dir_all(folder)
            .with_context(|| format!("cannot clear {}", folder.display()))?;
    }
    std::fs::create_dir_all(folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    let mut written = 0;
    for (name, output) in &outputs {
        let Some(name) = name.strip_prefix(IDENTITY_POLICY_PREFIX) else {
            continue;
        };
        let document = output
            .get("value")
            .and_then(|value| value.as_str())
            .with_context(|| format!("output {name} is not a JSON string"))?;
        let parsed: serde_json::Value =
            serde_json::from_str(document).with_context(|| format!("policy {name} is not JSON"))?;
        let path = folder.join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_string_pretty(&parsed)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written += 1;
    }
    anyhow::ensure!(written > 0, "the render root has no policy_* outputs");
    Ok(())
}
