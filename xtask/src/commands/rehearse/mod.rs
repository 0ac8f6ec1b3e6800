//! `rehearse`: every deployment command, through its real client, against a local AWS emulator. moto runs on
//! 127.0.0.1; the stage is seeded with what `apply` would have made (names and types from the SSM contract that
//! Terraform writes and serverless.yml reads); then `bootstrap` ×2, `deploy` ×2 and `teardown` ×2 run exactly as a
//! person runs them (this same xtask binary, the AWS CLI v2, osls and serverless-domain-manager), with
//! `AWS_ENDPOINT_URL` pointing at the emulator. After each, the emulator's state is read back and checked. What this
//! proves and what it cannot: docs/rehearsal.md.

pub(crate) mod checks;
pub(crate) mod emulator;

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use nix::unistd::Pid;
use serde_json::Value;
use xshell::Shell;

use self::checks::Seeded;
use self::emulator::{Emulator, WORK_DIR};
use super::build::{self, Arch};
use super::deploy::terraform_parameters;
use super::local::services::{StopFlag, wait_or_stop};
use super::teardown::tfvar;
use crate::Ctx;
use crate::names::{KMS_KEY_STACK, SERVICE, STATE_STACK};
use crate::runner::{self, seconds};
use crate::step::shell_quote;
use crate::tools::{Installs, VENV_BIN};

#[derive(Debug, Args)]
pub struct Rehearse {}

/// Where Terraform names the contract's parameters and their types.
const SSM_CONTRACT: &str = "terraform/modules/ssm_contract/main.tf";
const SEED: &str = "xtask/src/commands/rehearse/seed_stage.py";
const READ_STATE: &str = "xtask/src/commands/rehearse/read_state.py";

/// What must hold after a rehearsed command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Bootstrapped,
    Deployed,
    Removed,
}

/// One rehearsed command: its arguments after `cargo xtask`, what the emulator must hold afterwards, and, for a
/// rerun, the lines its output must contain to show that it changed nothing.
#[derive(Debug)]
struct Rehearsed {
    args: Vec<String>,
    expect: Expect,
    rerun_says: &'static [&'static str],
}

/// The commands, in the documented order, each followed by its rerun.
fn plan(ctx: &Ctx) -> Vec<Rehearsed> {
    let with_stage = |words: &[&str]| {
        let mut args: Vec<String> = words.iter().map(|word| (*word).to_owned()).collect();
        args.extend([
            "--stage".to_owned(),
            ctx.stage.name().to_owned(),
            "--region".to_owned(),
            ctx.region.clone(),
        ]);
        args
    };
    let bootstrap = with_stage(&["bootstrap"]);
    // The zip is built once, before the emulator starts; both deploys upload that same zip.
    let deploy = with_stage(&["deploy", "--no-build"]);
    let teardown = with_stage(&["teardown", "--yes"]);
    vec![
        Rehearsed {
            args: bootstrap.clone(),
            expect: Expect::Bootstrapped,
            rerun_says: &[],
        },
        Rehearsed {
            args: bootstrap,
            expect: Expect::Bootstrapped,
            rerun_says: &[
                "No changes to deploy. Stack pmp-bootstrap-kms-key is up to date",
                "No changes to deploy. Stack pmp-bootstrap-terraform-state is up to date",
                "No changes to deploy. Stack pmp-bootstrap-account is up to date",
            ],
        },
        Rehearsed {
            args: deploy.clone(),
            expect: Expect::Deployed,
            rerun_says: &[],
        },
        Rehearsed {
            args: deploy,
            expect: Expect::Deployed,
            rerun_says: &["No changes to deploy. Deployment skipped."],
        },
        Rehearsed {
            args: teardown.clone(),
            expect: Expect::Removed,
            rerun_says: &[],
        },
        Rehearsed {
            args: teardown,
            expect: Expect::Removed,
            rerun_says: &[
                "skipped: the stack",
                "skipped: the custom domain does not exist",
            ],
        },
    ]
}

/// The SSM parameters Terraform writes (name → type, from modules/ssm_contract) joined with the ones serverless.yml
/// reads; a name only serverless.yml knows is a String. Both lists are the project's own: nothing is typed twice.
pub fn contract(root: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(root.join(SSM_CONTRACT))
        .with_context(|| format!("cannot read {SSM_CONTRACT}"))?;
    let mut parameters: BTreeMap<String, String> = text
        .lines()
        .filter_map(|line| {
            let (name, rest) = line.trim().strip_prefix('"')?.split_once('"')?;
            let rest = rest.trim_start().strip_prefix("= {")?;
            let kind = rest.split_once("type = \"")?.1.split_once('"')?.0;
            Some((name.to_owned(), kind.to_owned()))
        })
        .collect();
    if parameters.is_empty() {
        bail!(
            "{SSM_CONTRACT} names no parameter in the `\"name\" = {{ type = ... }}` form the rehearsal reads"
        );
    }
    for (_, ssm_name) in terraform_parameters(root) {
        parameters
            .entry(ssm_name)
            .or_insert_with(|| "String".to_owned());
    }
    Ok(parameters)
}

impl Rehearse {
    pub fn run(self, ctx: &Ctx, sh: &Shell) -> anyhow::Result<()> {
        let plan = plan(ctx);
        if ctx.dry_run {
            println!(
                "# start moto on 127.0.0.1 ({}) and seed stage {} as `apply` would",
                emulator_note(),
                ctx.stage
            );
            for rehearsed in &plan {
                println!(
                    "$ AWS_ENDPOINT_URL=http://127.0.0.1:<port> cargo xtask {}",
                    words(&rehearsed.args)
                );
                println!("# check the emulator's state: {:?}", rehearsed.expect);
            }
            println!("# stop moto");
            return Ok(());
        }
        let stop = StopFlag::install()?;
        self.prepare(ctx, sh)?;
        let started = Instant::now();
        // The stage's account, where its variable file names one: the emulator then answers as that account.
        let account = ["account_id", "aws_account_id"]
            .iter()
            .find_map(|name| tfvar(&ctx.root, &ctx.stage, name));
        let emulator = Emulator::start(&ctx.root, account.as_deref())?;
        eprintln!("==> the emulator answers on {}", emulator.endpoint);
        let environment = emulator.environment(&ctx.region)?;
        let seeded = seed(ctx, &environment)?;
        eprintln!(
            "==> seeded {} SSM parameters of stage {} and what they point at",
            seeded.len(),
            ctx.stage
        );
        let mut table: Vec<(String, String, Duration)> = Vec::new();
        let outcome = rehearse_all(ctx, &plan, &environment, &seeded, &stop, &mut table);
        drop(emulator);
        print_table(&table, started.elapsed());
        outcome
    }

    /// The pinned tools and the zip, before the emulator starts: the zip is built once, or the one `check` built is
    /// reused.
    fn prepare(&self, ctx: &Ctx, sh: &Shell) -> anyhow::Result<()> {
        let mut installs = Installs::detect(&ctx.root);
        let mut steps = std::mem::take(&mut installs.python);
        steps.extend(std::mem::take(&mut installs.node));
        if !ctx.root.join(build::zip_path(Arch::Arm64)).exists() {
            crate::preflight::check_tools(&build::needed_tools(&installs))?;
            steps.extend(build::steps(ctx, Arch::Arm64, &mut installs));
        }
        if !steps.is_empty() {
            runner::run(sh, "rehearse: tools and zip", &steps, ctx.verbose)?;
        }
        Ok(())
    }
}

fn emulator_note() -> &'static str {
    "moto, pinned in tools/requirements.in, with the compensations of rehearse/emulator"
}

fn words(args: &[String]) -> String {
    args.iter()
        .map(|arg| shell_quote(arg))
        .collect::<Vec<_>>()
        .join(" ")
}

fn rehearse_all(
    ctx: &Ctx,
    plan: &[Rehearsed],
    environment: &[(String, String)],
    seeded: &Seeded,
    stop: &StopFlag,
    table: &mut Vec<(String, String, Duration)>,
) -> anyhow::Result<()> {
    let logs = ctx.root.join(WORK_DIR);
    for (index, rehearsed) in plan.iter().enumerate() {
        let line = format!("cargo xtask {}", words(&rehearsed.args));
        let log = logs.join(format!("{}-{}.log", index + 1, rehearsed.args[0]));
        eprintln!(
            "==> [{}/{}] {line}   (log: {})",
            index + 1,
            plan.len(),
            log.display()
        );
        let started = Instant::now();
        let result = run_xtask(ctx, &rehearsed.args, environment, &log, stop)
            .and_then(|()| says(&log, rehearsed.rerun_says))
            .and_then(|()| {
                let state = read_state(ctx, environment, seeded)?;
                match rehearsed.expect {
                    Expect::Bootstrapped => checks::bootstrapped(&state),
                    Expect::Deployed => {
                        checks::deployed(&state, seeded, &ctx.stage, Arch::Arm64.name())
                    }
                    Expect::Removed => checks::removed(&state, &ctx.stage),
                }
            });
        let took = started.elapsed();
        match result {
            Ok(()) => table.push((line, "ok, state checked".to_owned(), took)),
            Err(error) => {
                table.push((line.clone(), "FAILED".to_owned(), took));
                print_tail(&log);
                return Err(error.context(format!(
                    "`{line}` failed in the rehearsal (log: {})",
                    log.display()
                )));
            }
        }
    }
    Ok(())
}

/// The xtask binary to run the commands with: this one. Under `cargo xtask test`, the workspace build of the tests
/// may have replaced the file this process was started from (cargo builds the `xtask` binary again with the whole
/// workspace's features); Linux then reports it as `<path> (deleted)`, and the binary now at `<path>`, built from the
/// same source, is the one a person would run.
fn xtask_binary() -> anyhow::Result<PathBuf> {
    let running = std::env::current_exe().context("cannot find the running xtask binary")?;
    if running.exists() {
        return Ok(running);
    }
    let rebuilt = running
        .to_str()
        .and_then(|path| path.strip_suffix(" (deleted)"))
        .map(PathBuf::from)
        .filter(|path| path.exists());
    rebuilt.with_context(|| {
        format!(
            "the xtask binary {} is gone and was not rebuilt in its place: run `cargo xtask rehearse` again",
            running.display()
        )
    })
}

/// Runs this xtask binary with `args` against the emulator, its output into `log`. The child runs in a process group
/// of its own, so that an interruption stops it and everything it started (npx, node, aws) before the emulator goes.
pub(crate) fn run_xtask(
    ctx: &Ctx,
    args: &[String],
    environment: &[(String, String)],
    log: &Path,
    stop: &StopFlag,
) -> anyhow::Result<()> {
    let file = File::create(log).with_context(|| format!("cannot write {}", log.display()))?;
    let mut command = Command::new(xtask_binary()?);
    command
        .args(args)
        .current_dir(&ctx.root)
        .env("PMP_PROJECT_ROOT", &ctx.root)
        .envs(environment.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .process_group(0);
    for name in Emulator::REMOVED {
        command.env_remove(name);
    }
    let mut child = command.spawn().context("cannot start the xtask binary")?;
    let pid = Pid::from_raw(i32::try_from(child.id()).context("a process id above i32")?);
    let status = wait_or_stop(&mut child, pid, stop)?;
    if !status.success() {
        bail!("it exited with {status}");
    }
    Ok(())
}

/// Fails unless the log holds every one of `lines` (how a rerun shows that it changed nothing).
fn says(log: &Path, lines: &[&str]) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let missing: Vec<&&str> = lines.iter().filter(|line| !text.contains(**line)).collect();
    if !missing.is_empty() {
        bail!("the rerun did not say {missing:?}: it was not the no-op it should be");
    }
    Ok(())
}

pub(crate) fn python(
    ctx: &Ctx,
    script: &str,
    request: &Value,
    environment: &[(String, String)],
) -> anyhow::Result<Value> {
    let mut command = Command::new(ctx.root.join(VENV_BIN).join("python"));
    command
        .arg(ctx.root.join(script))
        .arg(request.to_string())
        .envs(environment.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    for name in Emulator::REMOVED {
        command.env_remove(name);
    }
    let output = command
        .output()
        .with_context(|| format!("cannot run {script}"))?;
    if !output.status.success() {
        bail!("{script} failed ({})", output.status);
    }
    serde_json::from_slice(&output.stdout)
        .with_context(|| format!("{script} did not answer with JSON"))
}

/// Seeds the stage; returns the SSM parameters written (full name → value).
pub(crate) fn seed(ctx: &Ctx, environment: &[(String, String)]) -> anyhow::Result<Seeded> {
    let tfvars: serde_json::Map<String, Value> = [
        "api_domain_name",
        "hosted_zone_name",
        "third_party_api_url",
        "vpc_cidr",
    ]
    .into_iter()
    .filter_map(|name| {
        Some((
            name.to_owned(),
            Value::from(tfvar(&ctx.root, &ctx.stage, name)?),
        ))
    })
    .collect();
    let request = serde_json::json!({
        "stage": ctx.stage.name(),
        "region": ctx.region,
        "parameters": contract(&ctx.root)?,
        "tfvars": tfvars,
    });
    let answer = python(ctx, SEED, &request, environment)?;
    let parameters = answer["parameters"]
        .as_object()
        .context("the seed named no parameters")?;
    Ok(parameters
        .iter()
        .map(|(name, value)| (name.clone(), value.as_str().unwrap_or_default().to_owned()))
        .collect())
}

pub(crate) fn read_state(
    ctx: &Ctx,
    environment: &[(String, String)],
    seeded: &Seeded,
) -> anyhow::Result<Value> {
    let value = |name: &str| {
        seeded
            .get(&format!("/pmp/{}/{name}", ctx.stage))
            .cloned()
            .unwrap_or_default()
    };
    let request = serde_json::json!({
        "region": ctx.region,
        "stacks": [KMS_KEY_STACK, STATE_STACK, crate::names::ACCOUNT_STACK, crate::names::stack(&ctx.stage)],
        "function_prefix": format!("{}-", crate::names::stack(&ctx.stage)),
        "domain": value("api-domain-name"),
        "hosted_zone_id": value("hosted-zone-id"),
        "bucket": value("deployment-bucket-name"),
        "prefix": format!("serverless/{SERVICE}/{}/", ctx.stage),
    });
    python(ctx, READ_STATE, &request, environment)
}

pub(crate) fn print_tail(log: &Path) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    for line in &lines[lines.len().saturating_sub(30)..] {
        eprintln!("    | {line}");
    }
}

fn print_table(table: &[(String, String, Duration)], elapsed: Duration) {
    let width = table
        .iter()
        .map(|(line, ..)| line.len())
        .max()
        .unwrap_or(7)
        .max(7);
    eprintln!();
    eprintln!("rehearse: summary (against the emulator)");
    eprintln!("  {:<width$}  {:<18}  {:>8}", "command", "result", "time");
    for (line, result, took) in table {
        eprintln!("  {line:<width$}  {result:<18}  {:>8}", seconds(*took));
    }
    eprintln!(
        "  {} of 6 commands ran, {} in all (emulator start and seeding included)",
        table.len(),
        seconds(elapsed)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testing::ctx;

    #[test]
    fn the_contract_joins_terraform_and_serverless_names() -> anyhow::Result<()> {
        let root = crate::project_root();
        let parameters = contract(&root)?;
        assert_eq!(
            parameters.get("private-subnet-ids").map(String::as_str),
            Some("StringList")
        );
        for (_, ssm_name) in terraform_parameters(&root) {
            assert!(parameters.contains_key(&ssm_name), "{ssm_name}");
        }
        Ok(())
    }

    #[test]
    fn every_command_runs_twice_in_order_and_reruns_must_say_so() {
        let plan = plan(&ctx("dev"));
        let commands: Vec<&str> = plan
            .iter()
            .map(|rehearsed| rehearsed.args[0].as_str())
            .collect();
        assert_eq!(
            commands,
            [
                "bootstrap",
                "bootstrap",
                "deploy",
                "deploy",
                "teardown",
                "teardown"
            ]
        );
        for pair in plan.chunks(2) {
            assert!(
                pair[0].rerun_says.is_empty() && !pair[1].rerun_says.is_empty(),
                "{pair:?}"
            );
        }
        assert!(
            plan[2].args.contains(&"--no-build".to_owned()),
            "the zip is built once, before"
        );
    }
}
