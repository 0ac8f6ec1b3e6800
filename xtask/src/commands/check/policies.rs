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
/// The deployment role's coverage per resource type, beside (not in) the linted folder: it is not a policy.
const COVERAGE: &str = "target/policy-coverage.json";
const COVERAGE_OUTPUT: &str = "coverage_cloudformation";
/// The handler permissions of every resource type (copied from the AWS CloudFormation registry schemas).
const HANDLER_PERMISSIONS: &str = "terraform/modules/iam_policies/cfn-handler-permissions.json";
const STACK_OPERATIONS: &[&str] = &["create", "read", "update", "delete"];

pub fn validators(root: &Path) -> Vec<Validator> {
    if !root.join(RENDER_ROOT).is_dir() {
        return Vec::new();
    }
    let coverage_root = root.to_path_buf();
    let chdir = format!("-chdir={RENDER_ROOT}");
    let rendered = root.join(RENDERED);
    vec![
        Validator::new(
            "parliament",
            format!("{RENDER_ROOT} outputs → {RENDERED}/*.json"),
        )
        .needs_program("terraform", "install Terraform 1.10 or later")
        .step(super::terraform::init_without_backend(&chdir, "initialise the render root (no provider)"))
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
                "--minimal",
            ],
        )),
        Validator::new("deployment role covers the template", "generated templates, rendered policy, handler permissions").step(
            Step::internal("compare the template's resource types and their handler actions with the deployment role", move |_| {
                check_coverage(&coverage_root)
            }),
        ),
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
    let coverage = outputs
        .get(COVERAGE_OUTPUT)
        .and_then(|output| output.get("value"))
        .with_context(|| format!("the render root has no {COVERAGE_OUTPUT} output"))?;
    let coverage_path = folder
        .parent()
        .unwrap_or(folder)
        .join("policy-coverage.json");
    std::fs::write(&coverage_path, serde_json::to_string_pretty(coverage)?)
        .with_context(|| format!("cannot write {}", coverage_path.display()))?;
    Ok(())
}

/// The deployment role must be sufficient for the stack Serverless generates: the resource types of every stage's
/// template are exactly those the role was built for, and every action CloudFormation's handlers need for them
/// (create, read, update, delete) is allowed by the rendered policy or excluded with a written reason.
pub fn check_coverage(root: &Path) -> anyhow::Result<()> {
    let read_json = |path: &Path| -> anyhow::Result<serde_json::Value> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read {}: run the packaging and parliament validators first",
                path.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
    };
    let mut template_types = std::collections::BTreeSet::new();
    for stage in crate::stage::known_stages(root)? {
        let template = read_json(&root.join(super::serverless::template_path(&stage)))?;
        let resources = template
            .get("Resources")
            .and_then(|r| r.as_object())
            .context("a template without Resources")?;
        template_types.extend(
            resources
                .values()
                .filter_map(|r| r.get("Type").and_then(|t| t.as_str()).map(str::to_owned)),
        );
    }
    let coverage = read_json(&root.join(COVERAGE))?;
    let coverage = coverage.as_object().context("the coverage is not a map")?;
    let covered: std::collections::BTreeSet<String> = coverage.keys().cloned().collect();
    let missing: Vec<&String> = template_types.difference(&covered).collect();
    let unused: Vec<&String> = covered.difference(&template_types).collect();
    anyhow::ensure!(
        missing.is_empty(),
        "the deployment role was not built for these template types: {missing:?} (add them to cloudformation_resource_types)"
    );
    anyhow::ensure!(
        unused.is_empty(),
        "the deployment role grants types the template does not have: {unused:?} (remove them from cloudformation_resource_types)"
    );

    let policy = read_json(&root.join(RENDERED).join("cloudformation.json"))?;
    let allowed = allowed_actions(&policy);
    let handlers = read_json(&root.join(HANDLER_PERMISSIONS))?;
    let mut gaps = Vec::new();
    for kind in &template_types {
        let excluded = coverage[kind]
            .get("excluded")
            .and_then(|e| e.as_object())
            .cloned()
            .unwrap_or_default();
        for operation in STACK_OPERATIONS {
            let actions = handlers
                .pointer(&format!("/{}/{operation}", kind.replace('/', "~1")))
                .and_then(|a| a.as_array())
                .cloned()
                .unwrap_or_default();
            for action in actions.iter().filter_map(|a| a.as_str()) {
                let is_excluded = excluded.keys().any(|e| e.eq_ignore_ascii_case(action));
                if !is_excluded
                    && !allowed
                        .iter()
                        .any(|pattern| action_matches(pattern, action))
                {
                    gaps.push(format!("{kind} {operation}: {action}"));
                }
            }
        }
    }
    gaps.sort();
    gaps.dedup();
    anyhow::ensure!(
        gaps.is_empty(),
        "the deployment role lacks actions CloudFormation needs:\n  {}",
        gaps.join("\n  ")
    );
    println!(
        "deployment role covers {} resource types of the template",
        template_types.len()
    );
    Ok(())
}

/// The action patterns of the policy's Allow statements.
fn allowed_actions(policy: &serde_json::Value) -> Vec<String> {
    let statements = match &policy["Statement"] {
        serde_json::Value::Array(statements) => statements.clone(),
        single => vec![single.clone()],
    };
    statements
        .iter()
        .filter(|statement| statement["Effect"] == "Allow")
        .flat_map(|statement| match &statement["Action"] {
            serde_json::Value::String(action) => vec![action.clone()],
            serde_json::Value::Array(actions) => actions
                .iter()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// IAM action matching: case-insensitive, `*` for any run of characters, `?` for one.
fn action_matches(pattern: &str, action: &str) -> bool {
    fn matches(pattern: &[u8], text: &[u8]) -> bool {
        match (pattern.first(), text.first()) {
            (None, None) => true,
            (Some(b'*'), _) => {
                matches(&pattern[1..], text) || (!text.is_empty() && matches(pattern, &text[1..]))
            }
            (Some(b'?'), Some(_)) => matches(&pattern[1..], &text[1..]),
            (Some(p), Some(t)) if p.eq_ignore_ascii_case(t) => matches(&pattern[1..], &text[1..]),
            _ => false,
        }
    }
    matches(pattern.as_bytes(), action.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_match_like_iam() {
        assert!(action_matches("lambda:GetFunction", "lambda:getfunction"));
        assert!(action_matches("logs:Describe*", "logs:DescribeLogGroups"));
        assert!(action_matches("apigateway:*", "apigateway:POST"));
        assert!(!action_matches("lambda:Get*", "lambda:UpdateFunctionCode"));
        assert!(!action_matches("s3:GetObject", "s3:GetObjectVersion"));
    }

    #[test]
    fn only_allow_statements_count() {
        let policy = serde_json::json!({"Statement": [
            {"Effect": "Allow", "Action": ["lambda:CreateFunction", "logs:*"], "Resource": "x"},
            {"Effect": "Deny", "Action": "apigateway:TagResource", "Resource": "y"},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "z"}
        ]});
        assert_eq!(
            allowed_actions(&policy),
            ["lambda:CreateFunction", "logs:*", "iam:PassRole"]
        );
    }
}
