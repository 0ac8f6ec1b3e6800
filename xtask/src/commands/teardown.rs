//! `teardown`: the Serverless service first (it lives in Terraform's network and uses its roles), then the custom
//! domain, then everything Terraform made. The bootstrap stacks go only when asked, and their key and bucket stay
//! anyway (DeletionPolicy Retain). A protected stage needs its name confirmed: typed at a terminal, or given with
//! `--confirm-stage` where there is none.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, bail};
use clap::Args;
use xshell::Shell;

use super::check::serverless::PLACEHOLDER_PARAMS;
use super::deploy::{serverless, terraform_parameters};
use super::terraform::{init, terraform, vars};
use super::{Procedure, pipeline_installs};
use crate::Ctx;
use crate::names::{KMS_KEY_STACK, STATE_STACK, ssm_parameter, stack, state_key};
use crate::preflight::{NODE, NPM, TERRAFORM};
use crate::step::{Arg, Part, Step};
use crate::tools::Installs;

#[derive(Debug, Args)]
pub struct Teardown {
    /// Confirms the teardown of a protected stage without a terminal: the stage's name again.
    #[arg(long, value_name = "STAGE")]
    pub confirm_stage: Option<String>,
    /// Also delete the bootstrap stacks (the KMS key and the state bucket are retained by their DeletionPolicy).
    #[arg(long)]
    pub include_bootstrap: bool,
}

impl Teardown {
    pub fn run(self, ctx: &Ctx, sh: &Shell) -> anyhow::Result<()> {
        let procedure = self.procedure(ctx, &mut pipeline_installs(ctx));
        if !ctx.dry_run {
            let stdin = std::io::stdin();
            let terminal = stdin.is_terminal();
            self.confirm(ctx, terminal, &mut stdin.lock())?;
        }
        procedure.execute(ctx, sh)
    }

    /// Decides whether the teardown may go on; at a terminal it asks, reading the answer from `answers`.
    pub fn confirm(
        &self,
        ctx: &Ctx,
        terminal: bool,
        answers: &mut impl BufRead,
    ) -> anyhow::Result<()> {
        let stage = ctx.stage.name();
        if let Some(confirmed) = &self.confirm_stage {
            if confirmed != stage {
                bail!(
                    "--confirm-stage {confirmed} does not match the stage being torn down ({stage}); nothing was run"
                );
            }
            return Ok(());
        }
        if ctx.stage.is_protected() {
            if !terminal {
                bail!(
                    "refusing to tear down the protected stage {stage} without confirmation: run it at a terminal, or pass --confirm-stage {stage}; nothing was run"
                );
            }
            let answer = ask(
                &format!(
                    "This destroys the protected stage {stage} and its database (turn its deletion protection off first: docs/runbooks/teardown.md). Type the stage name to confirm: "
                ),
                answers,
            )?;
            if answer != stage {
                bail!("the typed name did not match {stage}; nothing was run");
            }
            return Ok(());
        }
        if ctx.yes {
            return Ok(());
        }
        if !terminal {
            bail!(
                "refusing to tear down stage {stage} without confirmation: pass --yes or run it at a terminal; nothing was run"
            );
        }
        let answer = ask(&format!("Destroy stage {stage}? [y/N] "), answers)?;
        if !matches!(answer.as_str(), "y" | "yes") {
            bail!("teardown of {stage} cancelled; nothing was run");
        }
        Ok(())
    }

    pub fn procedure(&self, ctx: &Ctx, installs: &mut Installs) -> Procedure {
        let service_stack = stack(&ctx.stage);
        let no_state = format!(
            "no Terraform state {} in the bootstrap bucket: nothing of Terraform's to destroy",
            state_key(&ctx.stage)
        );
        let domain_query = Arg(vec![
            Part::Text("Items[?DomainName=='".to_owned()),
            terraform_value(ctx, "api-domain-name"),
            Part::Text("'].DomainName".to_owned()),
        ]);
        let state_bucket = Arg(vec![Part::Output {
            key: "state_bucket_found",
            label: format!("StateBucketName of {STATE_STACK}"),
        }]);
        let state_query = format!("Contents[?Key=='{}'].Key | [0]", state_key(&ctx.stage));
        let mut procedure = Procedure::new(format!("teardown {}", ctx.stage))
            .on_aws()
            .tools(&[NODE, NPM, TERRAFORM])
            .steps(std::mem::take(&mut installs.node))
            .step(look_up(
                ctx,
                "read the stage's Terraform values now: `terraform destroy` deletes them, and a rerun still needs them",
                &["ssm", "get-parameters-by-path"],
                vec!["--path".into(), ssm_parameter(&ctx.stage, "").into()],
                "Parameters[].[Name,Value]".into(),
                TERRAFORM_VALUES,
            ))
            .step(look_up(
                ctx,
                &format!("look for the Serverless stack {service_stack}"),
                &["cloudformation", "describe-stacks"],
                Vec::new(),
                format!("Stacks[?StackName=='{service_stack}'].StackName").into(),
                "service_stack",
            ))
            .step(
                with_terraform_values(
                    ctx,
                    serverless(
                        ctx,
                        "remove the Serverless service (function, HTTP API, alarms)",
                        "remove",
                        &[],
                    ),
                )
                .only_if(
                    "service_stack",
                    format!("the stack {service_stack} does not exist (removed by an earlier run)"),
                ),
            )
            .step(look_up(
                ctx,
                "look for the custom domain",
                &["apigatewayv2", "get-domain-names"],
                Vec::new(),
                domain_query,
                "custom_domain",
            ))
            .step(
                with_terraform_values(
                    ctx,
                    serverless(ctx, "delete the custom domain and its DNS record", "delete_domain", &[]),
                )
                .only_if(
                    "custom_domain",
                    "the custom domain does not exist (deleted by an earlier run)",
                ),
            )
            .step(look_up(
                ctx,
                "look for the Terraform state bucket",
                &["cloudformation", "describe-stacks"],
                Vec::new(),
                format!(
                    "Stacks[?StackName=='{STATE_STACK}'] | [0].Outputs[?OutputKey=='StateBucketName'] | [0].OutputValue"
                )
                .into(),
                "state_bucket_found",
            ))
            .step(
                look_up(
                    ctx,
                    &format!("look for the stage's Terraform state {}", state_key(&ctx.stage)),
                    &["s3api", "list-objects-v2"],
                    vec!["--bucket".into(), state_bucket, "--prefix".into(), state_key(&ctx.stage).into()],
                    state_query.into(),
                    TERRAFORM_STATE,
                )
                .only_if(
                    "state_bucket_found",
                    format!("the bootstrap stack {STATE_STACK} does not exist: {no_state}"),
                ),
            )
            .steps(init(ctx).into_iter().map(|step| step.only_if(TERRAFORM_STATE, no_state.clone())))
            .step(wait_for_lambda_enis(ctx).only_if(TERRAFORM_STATE, no_state.clone()))
            .step(
                terraform(
                    "destroy everything Terraform made for the stage",
                    [
                        vec![
                            "destroy".to_owned(),
                            "-input=false".to_owned(),
                            "-auto-approve".to_owned(),
                        ],
                        vars(ctx),
                    ]
                    .concat(),
                )
                .only_if(TERRAFORM_STATE, no_state),
            );
        if self.include_bootstrap {
            for stack in [STATE_STACK, KMS_KEY_STACK] {
                procedure = procedure
                    .step(Step::command(
                        format!("delete the bootstrap stack {stack} (its resources are retained)"),
                        "aws",
                        [
                            "cloudformation",
                            "delete-stack",
                            "--region",
                            &ctx.region,
                            "--stack-name",
                            stack,
                        ],
                    ))
                    .step(Step::command(
                        format!("wait for {stack} to be deleted"),
                        "aws",
                        [
                            "cloudformation",
                            "wait",
                            "stack-delete-complete",
                            "--region",
                            &ctx.region,
                            "--stack-name",
                            stack,
                        ],
                    ));
            }
        }
        procedure
    }
}

/// `aws <command> --region R <args> --query Q --output text`, its answer kept under `key`: a look-up whose empty
/// answer means "gone" (see [`Step::only_if`]).
fn look_up(
    ctx: &Ctx,
    purpose: &str,
    command: &[&str],
    args: Vec<Arg>,
    query: Arg,
    key: &'static str,
) -> Step {
    let mut step = Step::command(purpose, "aws", command.iter().copied())
        .arg("--region".into())
        .arg(ctx.region.as_str().into());
    for arg in args {
        step = step.arg(arg);
    }
    step.arg("--query".into())
        .arg(query)
        .arg("--output".into())
        .arg("text".into())
        .capture(key, None)
}

/// Where the teardown keeps the stage's SSM parameters, read before anything is destroyed.
const TERRAFORM_VALUES: &str = "terraform_values";
/// The stage's state object, when there is one.
const TERRAFORM_STATE: &str = "terraform_state";

/// `step` with every Terraform value serverless.yml reads given as a `--param`, from what the teardown read at its
/// start: `serverless remove` and `delete_domain` then resolve without SSM, whose parameters `terraform destroy` deletes.
fn with_terraform_values(ctx: &Ctx, step: Step) -> Step {
    terraform_parameters(&ctx.root)
        .into_iter()
        .fold(step, |step, (param, ssm_name)| {
            step.arg(Arg(vec![
                Part::Text(format!("--param={param}=")),
                terraform_value(ctx, &ssm_name),
            ]))
        })
}

/// The value of the stage's SSM parameter `name` as read at the start. When it is gone already (someone ran
/// `terraform destroy` by hand), the domain falls back to the stage's variable file and everything else to the
/// placeholders `check` packages with: shaped right for osls's validation, and pointing at nothing.
fn terraform_value(ctx: &Ctx, ssm_name: &str) -> Part {
    let fallback = match ssm_name {
        "api-domain-name" => tfvar(&ctx.root, &ctx.stage, "api_domain_name"),
        _ => None,
    }
    .or_else(|| {
        terraform_parameters(&ctx.root)
            .into_iter()
            .find(|(_, name)| name == ssm_name)
            .and_then(|(param, _)| {
                PLACEHOLDER_PARAMS
                    .iter()
                    .find(|(placeholder, _)| *placeholder == param)
                    .map(|(_, value)| (*value).to_owned())
            })
    })
    .unwrap_or_default();
    let field = ssm_parameter(&ctx.stage, ssm_name);
    Part::Field {
        key: TERRAFORM_VALUES,
        label: field.clone(),
        field,
        fallback,
    }
}

/// Lambda keeps a function's VPC network interfaces for a while after the function is gone; `terraform destroy` would
/// fail on them (DependencyViolation) when it deletes the subnets and security group. Waits, bounded, with progress.
fn wait_for_lambda_enis(ctx: &Ctx) -> Step {
    let region = ctx.region.clone();
    // Lambda names its interfaces "AWS Lambda VPC ENI-<function name>-<id>":
    // https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-enis (not documented as a
    // contract, hence also the bound below instead of failing on an unexpected name).
    let filter = format!(
        "Name=description,Values=AWS Lambda VPC ENI-{}-*",
        stack(&ctx.stage)
    );
    Step::internal(
        format!(
            "wait (up to {} minutes) until Lambda has released the function's network interfaces",
            ENI_WAIT.as_secs() / 60
        ),
        move |_| {
            let started = std::time::Instant::now();
            loop {
                let output = std::process::Command::new("aws")
                    .args([
                        "ec2",
                        "describe-network-interfaces",
                        "--region",
                        &region,
                        "--filters",
                        &filter,
                        "--query",
                        "length(NetworkInterfaces)",
                        "--output",
                        "text",
                    ])
                    .output()
                    .context("could not run `aws ec2 describe-network-interfaces`")?;
                if !output.status.success() {
                    bail!(
                        "`aws ec2 describe-network-interfaces` failed: {}",
                        String::from_utf8_lossy(&output.stderr).trim()
                    );
                }
                let left: u32 = String::from_utf8_lossy(&output.stdout)
                    .trim()
                    .parse()
                    .unwrap_or(0);
                if left == 0 {
                    eprintln!("    no Lambda network interface left");
                    return Ok(());
                }
                let waited = started.elapsed();
                if waited >= ENI_WAIT {
                    bail!(
                        "{left} Lambda network interfaces are still in use after {} minutes; run the teardown again later",
                        ENI_WAIT.as_secs() / 60
                    );
                }
                eprintln!(
                    "    {left} Lambda network interfaces still in use after {} s; checking again in {} s",
                    waited.as_secs(),
                    ENI_POLL.as_secs()
                );
                std::thread::sleep(ENI_POLL);
            }
        },
    )
}

/// AWS says a function's interfaces can take up to 20 minutes to go after it is deleted (the page above).
const ENI_WAIT: std::time::Duration = std::time::Duration::from_secs(30 * 60);
const ENI_POLL: std::time::Duration = std::time::Duration::from_secs(20);

/// A quoted string variable of the stage's variable file (`name = "value"`), if it has one.
pub fn tfvar(root: &std::path::Path, stage: &crate::stage::Stage, name: &str) -> Option<String> {
    let text =
        std::fs::read_to_string(root.join(format!("terraform/stages/{stage}.tfvars"))).ok()?;
    text.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == name).then(|| value.trim().trim_matches('"').to_owned())
    })
}

fn ask(question: &str, answers: &mut impl BufRead) -> anyhow::Result<String> {
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    answers.read_line(&mut answer)?;
    Ok(answer.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testing::ctx;

    fn teardown() -> Teardown {
        Teardown {
            confirm_stage: None,
            include_bootstrap: false,
        }
    }

    /// The line of the first step whose line contains `text`, and its index.
    fn find<'a>(lines: &'a [String], text: &str) -> (usize, &'a str) {
        lines
            .iter()
            .enumerate()
            .find(|(_, line)| line.contains(text))
            .map(|(index, line)| (index, line.as_str()))
            .unwrap_or_else(|| panic!("no step runs {text}: {lines:?}"))
    }

    #[test]
    fn the_values_are_read_first_then_the_service_the_domain_and_terraform_go() {
        for stage in ["dev", "prod"] {
            let procedure = teardown().procedure(&ctx(stage), &mut Installs::none());
            let lines = procedure.rendered();
            assert_eq!(
                lines[0],
                format!(
                    "$ aws ssm get-parameters-by-path --region eu-central-1 --path /pmp/{stage}/ --query 'Parameters[].[Name,Value]' --output text"
                )
            );
            let (remove, remove_line) = find(&lines, "serverless remove");
            let (delete, delete_line) = find(&lines, "serverless delete_domain");
            let (init, init_line) = find(&lines, "terraform init");
            let (wait, _) = find(&lines, "network interfaces");
            let (destroy, destroy_line) = find(&lines, "destroy -input=false");
            assert!(
                remove < delete && delete < init && init < wait && wait < destroy,
                "{lines:?}"
            );
            for line in [remove_line, delete_line] {
                assert!(
                    line.contains(&format!(
                        "'--param=deploymentBucketName=</pmp/{stage}/deployment-bucket-name>'"
                    )),
                    "{line}"
                );
                assert!(!line.contains("ssm:"), "{line}");
            }
            assert!(init_line.contains(&format!(
                "-backend-config=key=pmp/{stage}/terraform.tfstate"
            )));
            assert_eq!(
                destroy_line,
                format!(
                    "$ terraform -chdir=terraform destroy -input=false -auto-approve -var-file=stages/{stage}.tfvars -var=stage={stage} -var=region=eu-central-1"
                )
            );
            for (index, step) in procedure.steps.iter().enumerate() {
                let guarded = step.only_if.is_some();
                let should = [remove, delete, init, wait, destroy].contains(&index)
                    || step
                        .purpose
                        .contains("look for the stage's Terraform state");
                if index > init.saturating_sub(3) && index <= destroy {
                    assert!(guarded, "{}", step.purpose);
                } else {
                    assert_eq!(guarded, should, "{}", step.purpose);
                }
            }
        }
    }

    #[test]
    fn bootstrap_stacks_go_last_and_only_when_asked() {
        let all = Teardown {
            confirm_stage: None,
            include_bootstrap: true,
        };
        let lines = all.procedure(&ctx("dev"), &mut Installs::none()).rendered();
        let without = teardown()
            .procedure(&ctx("dev"), &mut Installs::none())
            .rendered();
        assert_eq!(lines.len(), without.len() + 4);
        let (state, state_line) = find(&lines, "delete-stack");
        assert!(state_line.contains(STATE_STACK), "{lines:?}");
        assert!(
            lines[state + 2].contains("delete-stack") && lines[state + 2].contains(KMS_KEY_STACK),
            "{lines:?}"
        );
        assert!(state > find(&lines, "destroy -input=false").0, "{lines:?}");
    }

    #[test]
    fn a_protected_stage_needs_its_name() {
        let prod = ctx("prod");
        let none = &mut "".as_bytes();
        let refused = teardown()
            .confirm(&prod, false, none)
            .expect_err("no terminal, no confirmation");
        assert!(
            refused.to_string().contains("--confirm-stage prod"),
            "{refused}"
        );
        let yes_is_not_enough = Ctx {
            yes: true,
            ..prod.clone()
        };
        assert!(teardown().confirm(&yes_is_not_enough, false, none).is_err());
        assert!(
            teardown()
                .confirm(&prod, true, &mut "prod\n".as_bytes())
                .is_ok()
        );
        assert!(
            teardown()
                .confirm(&prod, true, &mut "yes\n".as_bytes())
                .is_err()
        );
        let confirmed = Teardown {
            confirm_stage: Some("prod".to_owned()),
            include_bootstrap: false,
        };
        assert!(confirmed.confirm(&prod, false, none).is_ok());
        let wrong = Teardown {
            confirm_stage: Some("dev".to_owned()),
            include_bootstrap: false,
        };
        assert!(wrong.confirm(&prod, false, none).is_err());
    }

    #[test]
    fn other_stages_need_yes_or_an_answer() {
        let dev = ctx("dev");
        assert!(teardown().confirm(&dev, false, &mut "".as_bytes()).is_err());
        assert!(
            teardown()
                .confirm(
                    &Ctx {
                        yes: true,
                        ..dev.clone()
                    },
                    false,
                    &mut "".as_bytes()
                )
                .is_ok()
        );
        assert!(
            teardown()
                .confirm(&dev, true, &mut "y\n".as_bytes())
                .is_ok()
        );
        assert!(
            teardown()
                .confirm(&dev, true, &mut "\n".as_bytes())
                .is_err()
        );
    }
}
