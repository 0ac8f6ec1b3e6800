//! `plan` and `apply`: Terraform with the stage's state in the bootstrap bucket. The backend settings are read from
//! the bootstrap stacks' outputs on every run (one source, nothing copied by hand); the plan is saved so that `apply`
//! applies exactly what was reviewed, and summarised for GitLab's `reports: terraform`.

use anyhow::Context;
use clap::Args;

use super::{Procedure, stack_output};
use crate::Ctx;
use crate::names::{KMS_KEY_STACK, STATE_STACK, state_key};
use crate::preflight::TERRAFORM;
use crate::step::{Arg, Step};

#[derive(Debug, Args)]
pub struct Plan {}

#[derive(Debug, Args)]
pub struct Apply {}

/// The saved plan, relative to terraform/.
pub fn plan_file(ctx: &Ctx) -> String {
    format!("plans/{}.tfplan", ctx.stage)
}

/// The GitLab report of the plan, relative to the repository root.
pub fn plan_report(ctx: &Ctx) -> String {
    format!("terraform/plans/{}.json", ctx.stage)
}

impl Plan {
    pub fn procedure(&self, ctx: &Ctx) -> Procedure {
        let plans = ctx.root.join("terraform/plans");
        let report = ctx.root.join(plan_report(ctx));
        Procedure::new(format!("plan {}", ctx.stage))
            .on_aws()
            .tools(&[TERRAFORM])
            .steps(init(ctx))
            .step(Step::internal(
                "create terraform/plans for the saved plan",
                move |_| {
                    std::fs::create_dir_all(&plans)
                        .with_context(|| format!("cannot create {}", plans.display()))
                },
            ))
            .step(terraform(
                "plan the stage and save the plan for review",
                [
                    vec!["plan".to_owned(), "-input=false".to_owned()],
                    vars(ctx),
                    vec![format!("-out={}", plan_file(ctx))],
                ]
                .concat(),
            ))
            .step(
                terraform(
                    "read the saved plan as JSON",
                    vec!["show", "-json", &plan_file(ctx)],
                )
                .capture("plan_json", None),
            )
            .step(Step::internal(
                format!("write the plan summary {} for GitLab", plan_report(ctx)),
                move |outputs| {
                    let json = outputs.get("plan_json").map_or("", String::as_str);
                    let summary = summarise(json)?;
                    std::fs::write(&report, summary.to_json())
                        .with_context(|| format!("cannot write {}", report.display()))?;
                    println!(
                        "plan: {} to add, {} to change, {} to destroy",
                        summary.create, summary.update, summary.delete
                    );
                    Ok(())
                },
            ))
    }
}

impl Apply {
    pub fn procedure(&self, ctx: &Ctx) -> Procedure {
        let saved = ctx.root.join("terraform").join(plan_file(ctx));
        let stage = ctx.stage.clone();
        Procedure::new(format!("apply {}", ctx.stage))
            .on_aws()
            .tools(&[TERRAFORM])
            .step(Step::internal(format!("check that the saved plan terraform/{} exists", plan_file(ctx)), move |_| {
                anyhow::ensure!(
                    saved.exists(),
                    "there is no saved plan at {}: run `cargo xtask plan --stage {stage}` first",
                    saved.display()
                );
                Ok(())
            }))
            .steps(init(ctx))
            .step(terraform("apply the saved plan", vec!["apply", "-input=false", &plan_file(ctx)]))
    }
}

/// Reads the backend settings from the bootstrap stacks and initialises Terraform with the stage's state.
pub fn init(ctx: &Ctx) -> Vec<Step> {
    let run_bootstrap = |output: &str, stack: &str| {
        format!(
            "stack {stack} has no output {output}: run `cargo xtask bootstrap --region {}` first",
            ctx.region
        )
    };
    let config = |setting: &str| format!("-backend-config={setting}");
    let init = Step::command(
        "initialise Terraform with the stage's state in the bootstrap bucket",
        "terraform",
        ["-chdir=terraform", "init", "-input=false", "-reconfigure"],
    )
    .arg(Arg::prefixed(
        "-backend-config=bucket=",
        "state_bucket",
        format!("StateBucketName of {STATE_STACK}"),
    ))
    .arg(config(&format!("key={}", state_key(&ctx.stage))).into())
    .arg(config(&format!("region={}", ctx.region)).into())
    .arg(config("encrypt=true").into())
    .arg(Arg::prefixed(
        "-backend-config=kms_key_id=",
        "kms_key_arn",
        format!("KeyArn of {KMS_KEY_STACK}"),
    ))
    .arg(config("use_lockfile=true").into());
    vec![
        stack_output(
            ctx,
            STATE_STACK,
            "StateBucketName",
            "state_bucket",
            run_bootstrap("StateBucketName", STATE_STACK),
        ),
        stack_output(
            ctx,
            KMS_KEY_STACK,
            "KeyArn",
            "kms_key_arn",
            run_bootstrap("KeyArn", KMS_KEY_STACK),
        ),
        init,
    ]
}

/// The stage's variables: its variable file, then the stage and region that xtask owns.
pub fn vars(ctx: &Ctx) -> Vec<String> {
    vec![
        format!("-var-file=stages/{}.tfvars", ctx.stage),
        format!("-var=stage={}", ctx.stage),
        format!("-var=region={}", ctx.region),
    ]
}

/// `terraform -chdir=terraform <args>`.
pub fn terraform<S: AsRef<str>>(purpose: &str, args: Vec<S>) -> Step {
    let mut all = vec!["-chdir=terraform".to_owned()];
    all.extend(args.iter().map(|arg| arg.as_ref().to_owned()));
    Step::command(purpose, "terraform", all)
}

/// What GitLab's `reports: terraform` shows on a merge request.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
}

impl Summary {
    pub fn to_json(&self) -> String {
        format!(
            "{{\"create\": {}, \"update\": {}, \"delete\": {}}}\n",
            self.create, self.update, self.delete
        )
    }
}

/// Counts the resource changes of `terraform show -json`; a replacement counts as one delete and one create.
pub fn summarise(plan_json: &str) -> anyhow::Result<Summary> {
    let plan: serde_json::Value =
        serde_json::from_str(plan_json).context("`terraform show -json` did not print JSON")?;
    let mut summary = Summary::default();
    let changes = plan
        .get("resource_changes")
        .and_then(|changes| changes.as_array());
    for change in changes.into_iter().flatten() {
        let actions = change
            .pointer("/change/actions")
            .and_then(|actions| actions.as_array());
        for action in actions.into_iter().flatten() {
            match action.as_str() {
                Some("create") => summary.create += 1,
                Some("update") => summary.update += 1,
                Some("delete") => summary.delete += 1,
                _ => {}
            }
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testing::ctx;

    #[test]
    fn plan_reads_the_backend_from_bootstrap_then_inits_then_plans_the_stage() {
        for stage in ["dev", "prod"] {
            let lines = Plan {}.procedure(&ctx(stage)).rendered();
            let expected = vec![
                "$ aws cloudformation describe-stacks --region eu-central-1 --stack-name pmp-bootstrap-terraform-state --query \"Stacks[0].Outputs[?OutputKey=='StateBucketName'].OutputValue\" --output text".to_owned(),
                "$ aws cloudformation describe-stacks --region eu-central-1 --stack-name pmp-bootstrap-kms-key --query \"Stacks[0].Outputs[?OutputKey=='KeyArn'].OutputValue\" --output text".to_owned(),
                format!("$ terraform -chdir=terraform init -input=false -reconfigure '-backend-config=bucket=<StateBucketName of pmp-bootstrap-terraform-state>' -backend-config=key=pmp/{stage}/terraform.tfstate -backend-config=region=eu-central-1 -backend-config=encrypt=true '-backend-config=kms_key_id=<KeyArn of pmp-bootstrap-kms-key>' -backend-config=use_lockfile=true"),
                "# create terraform/plans for the saved plan".to_owned(),
                format!("$ terraform -chdir=terraform plan -input=false -var-file=stages/{stage}.tfvars -var=stage={stage} -var=region=eu-central-1 -out=plans/{stage}.tfplan"),
                format!("$ terraform -chdir=terraform show -json plans/{stage}.tfplan"),
                format!("# write the plan summary terraform/plans/{stage}.json for GitLab"),
            ];
            assert_eq!(lines, expected);
        }
    }

    #[test]
    fn apply_applies_the_saved_plan_after_init() {
        let lines = Apply {}.procedure(&ctx("prod")).rendered();
        assert_eq!(
            lines[0],
            "# check that the saved plan terraform/plans/prod.tfplan exists"
        );
        assert!(
            lines[3].starts_with("$ terraform -chdir=terraform init "),
            "{lines:?}"
        );
        assert!(lines[3].contains("-backend-config=key=pmp/prod/terraform.tfstate"));
        assert_eq!(
            lines[4],
            "$ terraform -chdir=terraform apply -input=false plans/prod.tfplan"
        );
        assert_eq!(lines.len(), 5);
    }

    #[test]
    fn the_summary_counts_replacements_as_delete_and_create() -> anyhow::Result<()> {
        let plan = r#"{"resource_changes": [
            {"change": {"actions": ["create"]}},
            {"change": {"actions": ["create"]}},
            {"change": {"actions": ["update"]}},
            {"change": {"actions": ["delete", "create"]}},
            {"change": {"actions": ["no-op"]}},
            {"change": {"actions": ["read"]}}
        ]}"#;
        let summary = summarise(plan)?;
        assert_eq!(
            summary,
            Summary {
                create: 3,
                update: 1,
                delete: 1
            }
        );
        assert_eq!(
            summary.to_json(),
            "{\"create\": 3, \"update\": 1, \"delete\": 1}\n"
        );
        assert_eq!(summarise("{}")?, Summary::default());
        assert!(summarise("not json").is_err());
        Ok(())
    }
}
