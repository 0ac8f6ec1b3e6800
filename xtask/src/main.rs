//! `cargo xtask`: every step that builds, checks and deploys the PMP API, in the documented order.

mod commands;
mod names;
mod preflight;
mod runner;
mod stage;
mod step;
mod tools;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser};
use xshell::Shell;

use crate::stage::Stage;

const ORDER: &str = "\
Deployment order (each step once the previous one has succeeded):
  1. bootstrap   once per account and region: KMS key, Terraform state bucket, account layer (CloudFormation)
  2. plan        Terraform plan of a stage, saved for review
  3. apply       apply that saved plan: network, database, IAM, DNS, buckets, SSM parameters
  4. deploy      build the function and deploy it with its HTTP API and custom domain (Serverless)
  5. migrate     run the database migrations inside the VPC through the deployed function
  teardown       remove a stage again (the service first, then the Terraform resources)
  drift          compare a stage with its code, read-only (exit status 2 when something differs)

Offline: build, check (every static validation), test (all tests, check, then rehearse), local (the API on
127.0.0.1), bench, loadtest (the concurrency bound under load: PgBouncer as RDS Proxy, the function, wrk), rehearse
(the deployment commands above against a local AWS emulator), pipeline (the dev jobs of .gitlab-ci.yml through
gitlab-ci-local's shell executor).
Every command takes --stage, --region and --dry-run (print the commands, run nothing). Commands that touch AWS first
check that the caller is in the account terraform/stages/<stage>.tfvars names.";

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Builds, checks and deploys the PMP API.", after_help = ORDER)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: commands::Command,
}

#[derive(Debug, Clone, Args)]
struct Global {
    /// The stage to work on: one of terraform/stages/*.tfvars.
    #[arg(long, global = true, default_value = "dev", value_name = "STAGE")]
    stage: String,
    /// The AWS region [default: $AWS_REGION, else $AWS_DEFAULT_REGION, else eu-central-1].
    #[arg(long, global = true, value_name = "REGION")]
    region: Option<String>,
    /// Print the commands, one per line, in order, and run none of them.
    #[arg(long, global = true)]
    dry_run: bool,
    /// Answer yes to confirmations of non-protected stages (a protected stage needs --confirm-stage).
    #[arg(long, global = true)]
    yes: bool,
    /// Say more: captured values and tool output.
    #[arg(short, long, global = true)]
    verbose: bool,
}

/// What every command knows: where the project is, which stage and region, and how to run.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub root: PathBuf,
    pub stage: Stage,
    pub region: String,
    pub dry_run: bool,
    pub yes: bool,
    pub verbose: bool,
}

/// The repository root: this crate's parent folder, or `PMP_PROJECT_ROOT` to work on another checkout.
///
/// The crate's folder as `cargo run` (the `cargo xtask` alias) names it when it starts xtask comes before the one
/// compiled in: cargo reuses a build for a copy of the checkout whose files kept their times (rsync -a, as
/// gitlab-ci-local copies each job's checkout), and the compiled-in folder would then be the other copy's.
pub fn project_root() -> PathBuf {
    if let Some(root) = std::env::var_os("PMP_PROJECT_ROOT") {
        return PathBuf::from(root);
    }
    let crate_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.ends_with("xtask") && dir.join("Cargo.toml").is_file())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    crate_dir
        .parent()
        .expect("xtask lives one folder below the repository root")
        .to_path_buf()
}

fn default_region() -> String {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
        .unwrap_or_else(|| "eu-central-1".to_owned())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // Scheduled drift jobs tell "the stage differs" (2) from "the check broke" (1), as terraform does.
        Err(error) if error.downcast_ref::<commands::DriftFound>().is_some() => {
            eprintln!("{error}");
            ExitCode::from(commands::EXIT_DRIFT)
        }
        Err(error) => {
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  because: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let root = project_root();
    let stage = Stage::known(&cli.global.stage, &root)?;
    let ctx = Ctx {
        root,
        stage,
        region: cli.global.region.clone().unwrap_or_else(default_region),
        dry_run: cli.global.dry_run,
        yes: cli.global.yes,
        verbose: cli.global.verbose,
    };
    let sh = Shell::new()?;
    sh.change_dir(&ctx.root);
    cli.command.run(&ctx, &sh)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_work_before_and_after_the_command() -> anyhow::Result<()> {
        let before = Cli::try_parse_from(["xtask", "--stage", "prod", "--dry-run", "plan"])?;
        let after = Cli::try_parse_from(["xtask", "plan", "--stage", "prod", "--dry-run"])?;
        for cli in [before, after] {
            assert_eq!(cli.global.stage, "prod");
            assert!(cli.global.dry_run);
        }
        Ok(())
    }

    #[test]
    fn help_explains_the_order() {
        let help = Cli::command().render_long_help().to_string();
        for word in [
            "bootstrap",
            "plan",
            "apply",
            "deploy",
            "migrate",
            "teardown",
            "Deployment order",
        ] {
            assert!(help.contains(word), "help lacks {word}");
        }
    }
}
