//! `teardown`: the Serverless service first (it lives in Terraform's network and uses its roles), then the custom
//! domain, then everything Terraform made. The bootstrap stacks go only when asked, and their key and bucket stay
//! anyway (DeletionPolicy Retain). A protected stage needs its name confirmed: typed at a terminal, or given with
//! `--confirm-stage` where there is none.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::bail;
use clap::Args;
use xshell::Shell;

use super::deploy::serverless;
use super::terraform::{init, terraform, vars};
use super::{Procedure, pipeline_installs};
use crate::Ctx;
use crate::names::{KMS_KEY_STACK, STATE_STACK};
use crate::preflight::{NODE, NPM, TERRAFORM};
use crate::step::Step;
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
        let mut procedure = Procedure::new(format!("teardown {}", ctx.stage))
            .on_aws()
            .tools(&[NODE, NPM, TERRAFORM])
            .steps(std::mem::take(&mut installs.node))
            .step(serverless(
                ctx,
                "remove the Serverless service (function, HTTP API, alarms)",
                "remove",
                &[],
            ))
            .step(serverless(
                ctx,
                "delete the custom domain",
                "delete_domain",
                &[],
            ))
            .steps(init(ctx))
            .step(terraform(
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
            ));
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

    #[test]
    fn the_service_goes_before_the_domain_before_terraform() {
        for stage in ["dev", "prod"] {
            let lines = teardown()
                .procedure(&ctx(stage), &mut Installs::none())
                .rendered();
            assert_eq!(
                lines[0],
                format!("$ npx --no -- serverless remove --stage {stage} --region eu-central-1")
            );
            assert_eq!(
                lines[1],
                format!(
                    "$ npx --no -- serverless delete_domain --stage {stage} --region eu-central-1"
                )
            );
            assert!(
                lines[4].contains(&format!(
                    "-backend-config=key=pmp/{stage}/terraform.tfstate"
                )),
                "{lines:?}"
            );
            assert_eq!(
                lines[5],
                format!(
                    "$ terraform -chdir=terraform destroy -input=false -auto-approve -var-file=stages/{stage}.tfvars -var=stage={stage} -var=region=eu-central-1"
                )
            );
            assert_eq!(lines.len(), 6);
        }
    }

    #[test]
    fn bootstrap_stacks_go_last_and_only_when_asked() {
        let all = Teardown {
            confirm_stage: None,
            include_bootstrap: true,
        };
        let lines = all.procedure(&ctx("dev"), &mut Installs::none()).rendered();
        assert_eq!(lines.len(), 10);
        assert!(
            lines[6].contains("delete-stack") && lines[6].contains(STATE_STACK),
            "{lines:?}"
        );
        assert!(
            lines[8].contains("delete-stack") && lines[8].contains(KMS_KEY_STACK),
            "{lines:?}"
        );
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
