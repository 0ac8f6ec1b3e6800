//! `drift`: does a stage still look like its code? Read-only. Terraform plans the stage without taking the state lock
//! (`-lock=false`, so it never blocks an apply) and says with `-detailed-exitcode` whether anything differs; the plan's
//! JSON names what. Then CloudFormation compares the Serverless stack with its template, when the identity may.
//! Exit status, as `terraform plan -detailed-exitcode`: 0 nothing differs, 2 something differs, 1 the check failed.

use std::fmt;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use xshell::Shell;

use super::Procedure;
use super::terraform::{init, terraform, vars};
use crate::Ctx;
use crate::names;
use crate::preflight::TERRAFORM;
use crate::runner;
use crate::step::{Arg, Outputs, Step};

#[derive(Debug, Args)]
pub struct Drift {}

/// What `drift` returns when the stage differs from its code: `main` exits with status 2 and prints the summary.
#[derive(Debug)]
pub struct DriftFound {
    pub stage: String,
    pub summary: Vec<String>,
}

impl fmt::Display for DriftFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stage {} differs from its code ({} difference(s)); see docs/runbooks/drift.md",
            self.stage,
            self.summary.len()
        )
    }
}

impl std::error::Error for DriftFound {}

/// The exit status of `drift` when something differs (the one `terraform plan -detailed-exitcode` uses).
pub const EXIT_DRIFT: u8 = 2;

/// How long CloudFormation may take to check the stack, and how often xtask asks.
const DETECTION_POLLS: u32 = 60;
const DETECTION_INTERVAL: Duration = Duration::from_secs(5);

/// The commands of one drift check, in order; grouped because each group's result decides what runs next.
pub struct DriftSteps {
    /// Backend settings from the bootstrap stacks, `terraform init`, the plans folder.
    pub prepare: Vec<Step>,
    /// `terraform plan -detailed-exitcode`: its exit status is the answer.
    pub plan: Step,
    /// `terraform show -json` of that plan, only when it differs.
    pub show: Step,
    pub detect: Step,
    pub status: Step,
    pub resources: Step,
}

impl DriftSteps {
    /// The lines a dry run prints: every command that may run, in order.
    pub fn rendered(&self) -> Vec<String> {
        self.prepare
            .iter()
            .chain([
                &self.plan,
                &self.show,
                &self.detect,
                &self.status,
                &self.resources,
            ])
            .map(Step::render)
            .collect()
    }
}

/// The saved drift plan, relative to terraform/ (never applied; a separate name so it cannot be taken for `plan`'s).
pub fn drift_plan_file(ctx: &Ctx) -> String {
    format!("plans/{}-drift.tfplan", ctx.stage)
}

impl Drift {
    pub fn steps(&self, ctx: &Ctx) -> DriftSteps {
        let plans = ctx.root.join("terraform/plans");
        let stack = names::stack(&ctx.stage);
        let mut prepare = init(ctx);
        prepare.push(Step::internal(
            "create terraform/plans for the drift plan",
            move |_| {
                std::fs::create_dir_all(&plans)
                    .with_context(|| format!("cannot create {}", plans.display()))
            },
        ));
        let plan = terraform(
            "plan the stage without the state lock; exit status 2 means it differs",
            [
                vec![
                    "plan".to_owned(),
                    "-input=false".to_owned(),
                    "-lock=false".to_owned(),
                    "-detailed-exitcode".to_owned(),
                ],
                vars(ctx),
                vec![format!("-out={}", drift_plan_file(ctx))],
            ]
            .concat(),
        );
        let show = terraform(
            "read what differs from the drift plan",
            vec!["show", "-json", &drift_plan_file(ctx)],
        )
        .capture("drift_plan_json", None);
        let aws = |purpose: &str, args: &[&str]| {
            let mut all = vec!["cloudformation", args[0], "--region", &ctx.region];
            all.extend(&args[1..]);
            Step::command(purpose, "aws", all)
        };
        let detect = aws(
            &format!("ask CloudFormation to compare the stack {stack} with its template"),
            &[
                "detect-stack-drift",
                "--stack-name",
                &stack,
                "--query",
                "StackDriftDetectionId",
                "--output",
                "text",
            ],
        );
        let status = aws(
            "wait for the drift detection to finish",
            &["describe-stack-drift-detection-status"],
        )
        .arg("--stack-drift-detection-id".into())
        .arg(Arg::prefixed(
            "",
            "detection_id",
            "StackDriftDetectionId of detect-stack-drift",
        ))
        .arg("--query".into())
        .arg("[DetectionStatus,StackDriftStatus,DetectionStatusReason]".into())
        .arg("--output".into())
        .arg("text".into())
        .capture("detection_status", None);
        // Resources that CloudFormation cannot check are not in the answer at all; MODIFIED and DELETED are the drift.
        // https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackResourceDrifts.html
        let resources = aws(
            "list the stack's resources that differ from the template",
            &[
                "describe-stack-resource-drifts",
                "--stack-name",
                &stack,
                "--stack-resource-drift-status-filters",
                "MODIFIED",
                "DELETED",
                "--query",
                "StackResourceDrifts[].[StackResourceDriftStatus,LogicalResourceId,ResourceType]",
                "--output",
                "text",
            ],
        )
        .capture("resource_drifts", None);
        DriftSteps {
            prepare,
            plan,
            show,
            detect,
            status,
            resources,
        }
    }

    pub fn run(self, ctx: &Ctx, sh: &Shell) -> anyhow::Result<()> {
        let steps = self.steps(ctx);
        if ctx.dry_run {
            steps.rendered().iter().for_each(|line| println!("{line}"));
            return Ok(());
        }
        let DriftSteps {
            prepare,
            plan,
            show,
            detect,
            status,
            resources,
        } = steps;
        // Tools, credentials (and whatever else a Procedure checks before AWS) first, then init.
        Procedure::new(format!("drift {}: prepare Terraform", ctx.stage))
            .on_aws()
            .tools(&[TERRAFORM])
            .steps(prepare)
            .execute(ctx, sh)?;

        let mut outputs = Outputs::new();
        let mut summary = Vec::new();
        announce(&plan);
        let (mut command, line) = runner::command_for(sh, &plan, &outputs)?;
        let code = command
            .status()
            .with_context(|| format!("could not start `{line}`"))?
            .code();
        match code {
            Some(0) => eprintln!("Terraform: stage {} matches its configuration", ctx.stage),
            Some(2) => {
                announce(&show);
                runner::run_one(sh, &show, &mut outputs, ctx.verbose, None)?;
                let json = outputs.get("drift_plan_json").map_or("", String::as_str);
                let differences = terraform_differences(json)?;
                if differences.is_empty() {
                    // Terraform's exit status is the answer; the JSON only names what it found.
                    summary.push(format!(
                        "Terraform: the plan is not empty (terraform -chdir=terraform show {})",
                        drift_plan_file(ctx)
                    ));
                }
                summary.extend(differences);
            }
            Some(code) => bail!(
                "`{line}` exited with exit status {code}: Terraform could not compare the stage"
            ),
            None => bail!("`{line}` was killed by a signal"),
        }

        match stack_drift(sh, ctx, &detect, &status, &resources, &mut outputs)? {
            StackDrift::InSync => eprintln!(
                "CloudFormation: stack {} matches its template",
                names::stack(&ctx.stage)
            ),
            StackDrift::Drifted(lines) => summary.extend(lines),
            StackDrift::Skipped(reason) => {
                eprintln!("CloudFormation drift skipped: {reason}")
            }
        }

        if summary.is_empty() {
            println!("drift {}: nothing differs", ctx.stage);
            return Ok(());
        }
        println!("drift {}: {} difference(s)", ctx.stage, summary.len());
        summary.iter().for_each(|line| println!("  {line}"));
        Err(DriftFound {
            stage: ctx.stage.to_string(),
            summary,
        }
        .into())
    }
}

fn announce(step: &Step) {
    eprintln!("==> {}", step.purpose);
    eprintln!("    {}", step.render());
}

/// The plan's differences, one line each: first what changed outside Terraform (`resource_drift`, what someone did
/// by hand), then what an apply would do (which also includes code merged but not applied yet), then outputs.
pub fn terraform_differences(plan_json: &str) -> anyhow::Result<Vec<String>> {
    let plan: serde_json::Value =
        serde_json::from_str(plan_json).context("`terraform show -json` did not print JSON")?;
    let mut lines = Vec::new();
    let changes = |field: &str| -> Vec<(String, String)> {
        plan.get(field)
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|change| {
                let address = change.get("address")?.as_str()?.to_owned();
                let action = action_name(change.pointer("/change/actions")?)?;
                Some((address, action))
            })
            .collect()
    };
    for (address, action) in changes("resource_drift") {
        lines.push(format!(
            "Terraform: {address} changed outside Terraform ({action})"
        ));
    }
    for (address, action) in changes("resource_changes") {
        lines.push(format!("Terraform: apply would {action} {address}"));
    }
    if let Some(outputs) = plan.get("output_changes").and_then(|o| o.as_object()) {
        for (name, change) in outputs {
            if let Some(action) = change.get("actions").and_then(action_name) {
                lines.push(format!("Terraform: output {name} would {action}"));
            }
        }
    }
    Ok(lines)
}

/// `["update"]` → update, `["delete", "create"]` → replace; no-op and read are not differences.
fn action_name(actions: &serde_json::Value) -> Option<String> {
    let actions: Vec<&str> = actions
        .as_array()?
        .iter()
        .filter_map(serde_json::Value::as_str)
        .collect();
    match actions.as_slice() {
        [] | ["no-op"] | ["read"] => None,
        [one] => Some((*one).to_owned()),
        [_, _] if actions.contains(&"delete") && actions.contains(&"create") => {
            Some("replace".to_owned())
        }
        more => Some(more.join("+")),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum StackDrift {
    InSync,
    Drifted(Vec<String>),
    Skipped(String),
}

fn stack_drift(
    sh: &Shell,
    ctx: &Ctx,
    detect: &Step,
    status: &Step,
    resources: &Step,
    outputs: &mut Outputs,
) -> anyhow::Result<StackDrift> {
    let stack = names::stack(&ctx.stage);
    announce(detect);
    let (mut command, line) = runner::command_for(sh, detect, outputs)?;
    let answer = command
        .output()
        .with_context(|| format!("could not start `{line}`"))?;
    if !answer.status.success() {
        let error = String::from_utf8_lossy(&answer.stderr);
        return match why_detection_cannot_run(&error, &stack) {
            Some(reason) => Ok(StackDrift::Skipped(reason)),
            None => bail!("`{line}` failed: {}", error.trim()),
        };
    }
    let id = String::from_utf8_lossy(&answer.stdout).trim().to_owned();
    if id.is_empty() || id == "None" {
        bail!("`{line}` returned no drift detection id");
    }
    outputs.insert("detection_id", id);

    announce(status);
    for _ in 0..DETECTION_POLLS {
        runner::run_one(sh, status, outputs, ctx.verbose, None)?;
        let answer = outputs.get("detection_status").cloned().unwrap_or_default();
        match detection_state(&answer) {
            Detection::InProgress => std::thread::sleep(DETECTION_INTERVAL),
            Detection::InSync => return Ok(StackDrift::InSync),
            Detection::Failed(reason) => {
                return Ok(StackDrift::Skipped(format!(
                    "CloudFormation could not check every resource of {stack}: {reason}"
                )));
            }
            Detection::Drifted => {
                announce(resources);
                runner::run_one(sh, resources, outputs, ctx.verbose, None)?;
                let listing = outputs.get("resource_drifts").map_or("", String::as_str);
                let mut lines = resource_drift_lines(listing, &stack);
                if lines.is_empty() {
                    lines.push(format!(
                        "CloudFormation: stack {stack} has drifted (see its drift results in the console)"
                    ));
                }
                return Ok(StackDrift::Drifted(lines));
            }
        }
    }
    bail!(
        "CloudFormation's drift detection of {stack} did not finish within {} s",
        DETECTION_POLLS as u64 * DETECTION_INTERVAL.as_secs()
    )
}

#[derive(Debug, PartialEq, Eq)]
enum Detection {
    InProgress,
    InSync,
    Drifted,
    Failed(String),
}

/// Reads `DetectionStatus<TAB>StackDriftStatus<TAB>DetectionStatusReason`.
fn detection_state(answer: &str) -> Detection {
    let mut fields = answer.split('\t').map(str::trim);
    let (detection, drift) = (
        fields.next().unwrap_or_default(),
        fields.next().unwrap_or_default(),
    );
    let reason = fields.next().unwrap_or("no reason given");
    match (detection, drift) {
        ("DETECTION_IN_PROGRESS", _) => Detection::InProgress,
        ("DETECTION_COMPLETE", "IN_SYNC") => Detection::InSync,
        ("DETECTION_COMPLETE", _) => Detection::Drifted,
        _ => Detection::Failed(format!("{detection} {drift}: {reason}")),
    }
}

/// Why `detect-stack-drift` cannot run for this caller, when that is the reason it failed; any other failure is an error.
fn why_detection_cannot_run(error: &str, stack: &str) -> Option<String> {
    if error.contains("does not exist") {
        Some(format!(
            "the stack {stack} does not exist (the service is not deployed)"
        ))
    } else if error.contains("AccessDenied") || error.contains("not authorized") {
        Some(format!(
            "this identity may not run cloudformation:DetectStackDrift on {stack}"
        ))
    } else {
        None
    }
}

/// One line per `STATUS<TAB>LogicalId<TAB>Type` row of `describe-stack-resource-drifts`.
fn resource_drift_lines(listing: &str, stack: &str) -> Vec<String> {
    listing
        .lines()
        .filter_map(|row| {
            let fields: Vec<&str> = row.split('\t').map(str::trim).collect();
            match fields.as_slice() {
                [status, logical, kind, ..] if !status.is_empty() => Some(format!(
                    "CloudFormation: {stack} {logical} ({kind}) {}",
                    status.to_lowercase()
                )),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testing::ctx;

    #[test]
    fn drift_inits_like_plan_then_plans_read_only_with_the_detailed_exit_code() {
        for stage in ["dev", "prod"] {
            let lines = Drift {}.steps(&ctx(stage)).rendered();
            let expected = vec![
                "$ aws cloudformation describe-stacks --region eu-central-1 --stack-name pmp-bootstrap-terraform-state --query \"Stacks[0].Outputs[?OutputKey=='StateBucketName'].OutputValue\" --output text".to_owned(),
                "$ aws cloudformation describe-stacks --region eu-central-1 --stack-name pmp-bootstrap-kms-key --query \"Stacks[0].Outputs[?OutputKey=='KeyArn'].OutputValue\" --output text".to_owned(),
                format!("$ terraform -chdir=terraform init -input=false -reconfigure '-backend-config=bucket=<StateBucketName of pmp-bootstrap-terraform-state>' -backend-config=key=pmp/{stage}/terraform.tfstate -backend-config=region=eu-central-1 -backend-config=encrypt=true '-backend-config=kms_key_id=<KeyArn of pmp-bootstrap-kms-key>' -backend-config=use_lockfile=true"),
                "# create terraform/plans for the drift plan".to_owned(),
                format!("$ terraform -chdir=terraform plan -input=false -lock=false -detailed-exitcode -var-file=stages/{stage}.tfvars -var=stage={stage} -var=region=eu-central-1 -out=plans/{stage}-drift.tfplan"),
                format!("$ terraform -chdir=terraform show -json plans/{stage}-drift.tfplan"),
                format!("$ aws cloudformation detect-stack-drift --region eu-central-1 --stack-name pmp-api-{stage} --query StackDriftDetectionId --output text"),
                "$ aws cloudformation describe-stack-drift-detection-status --region eu-central-1 --stack-drift-detection-id '<StackDriftDetectionId of detect-stack-drift>' --query '[DetectionStatus,StackDriftStatus,DetectionStatusReason]' --output text".to_owned(),
                format!("$ aws cloudformation describe-stack-resource-drifts --region eu-central-1 --stack-name pmp-api-{stage} --stack-resource-drift-status-filters MODIFIED DELETED --query 'StackResourceDrifts[].[StackResourceDriftStatus,LogicalResourceId,ResourceType]' --output text"),
            ];
            assert_eq!(lines, expected);
        }
    }

    #[test]
    fn differences_name_what_changed_by_hand_what_apply_would_do_and_outputs() -> anyhow::Result<()>
    {
        let plan = r#"{
            "resource_drift": [{"address": "aws_security_group.lambda", "change": {"actions": ["update"]}}],
            "resource_changes": [
                {"address": "aws_security_group.lambda", "change": {"actions": ["update"]}},
                {"address": "aws_db_instance.main", "change": {"actions": ["delete", "create"]}},
                {"address": "aws_iam_role.api", "change": {"actions": ["no-op"]}},
                {"address": "data.aws_caller_identity.current", "change": {"actions": ["read"]}}
            ],
            "output_changes": {
                "api_url": {"actions": ["update"]},
                "region": {"actions": ["no-op"]}
            }
        }"#;
        assert_eq!(
            terraform_differences(plan)?,
            [
                "Terraform: aws_security_group.lambda changed outside Terraform (update)",
                "Terraform: apply would update aws_security_group.lambda",
                "Terraform: apply would replace aws_db_instance.main",
                "Terraform: output api_url would update",
            ]
        );
        assert!(terraform_differences("{}")?.is_empty());
        assert!(terraform_differences("not json").is_err());
        Ok(())
    }

    #[test]
    fn detection_answers_are_read_from_the_cli_text() {
        assert_eq!(
            detection_state("DETECTION_IN_PROGRESS\tNone\tNone"),
            Detection::InProgress
        );
        assert_eq!(
            detection_state("DETECTION_COMPLETE\tIN_SYNC\tNone"),
            Detection::InSync
        );
        assert_eq!(
            detection_state("DETECTION_COMPLETE\tDRIFTED\tNone"),
            Detection::Drifted
        );
        assert_eq!(
            detection_state("DETECTION_FAILED\tDRIFTED\tFailed to detect drift on resource [Api]"),
            Detection::Failed(
                "DETECTION_FAILED DRIFTED: Failed to detect drift on resource [Api]".to_owned()
            )
        );
    }

    #[test]
    fn a_missing_stack_or_a_denied_call_skips_with_the_reason_anything_else_fails() {
        let missing = "An error occurred (ValidationError) when calling the DetectStackDrift operation: Stack with id pmp-api-dev does not exist";
        assert_eq!(
            why_detection_cannot_run(missing, "pmp-api-dev").as_deref(),
            Some("the stack pmp-api-dev does not exist (the service is not deployed)")
        );
        let denied = "An error occurred (AccessDenied) when calling the DetectStackDrift operation: User: arn:aws:sts::1:assumed-role/plan is not authorized to perform: cloudformation:DetectStackDrift";
        assert!(
            why_detection_cannot_run(denied, "pmp-api-dev").is_some_and(
                |reason| reason.contains("may not run cloudformation:DetectStackDrift")
            )
        );
        assert_eq!(
            why_detection_cannot_run("Could not connect to the endpoint URL", "pmp-api-dev"),
            None
        );
    }

    #[test]
    fn resource_drifts_are_one_line_each() {
        let listing = "MODIFIED\tApiLambdaFunction\tAWS::Lambda::Function\nDELETED\tHttpApiStage\tAWS::ApiGatewayV2::Stage\n\n";
        assert_eq!(
            resource_drift_lines(listing, "pmp-api-prod"),
            [
                "CloudFormation: pmp-api-prod ApiLambdaFunction (AWS::Lambda::Function) modified",
                "CloudFormation: pmp-api-prod HttpApiStage (AWS::ApiGatewayV2::Stage) deleted",
            ]
        );
    }
}
