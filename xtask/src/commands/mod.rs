//! One module per command. Each builds its steps as data; `Procedure::execute` then prints them (`--dry-run`) or
//! checks the tools and credentials they need and runs them.

mod bench;
mod bootstrap;
mod build;
mod check;
mod deploy;
mod diagrams;
mod drift;
mod loadtest;
mod local;
mod migrate;
mod pipeline;
mod rehearse;
mod teardown;
mod terraform;
mod test;

use clap::Subcommand;
use xshell::Shell;

use crate::Ctx;
use crate::preflight::{self, Tool};
use crate::runner;
use crate::step::Step;
use crate::tools::Installs;

pub use drift::{DriftFound, EXIT_DRIFT};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Once per account and region: deploy the KMS key, Terraform state bucket and account layer stacks.
    Bootstrap(bootstrap::Bootstrap),
    /// Initialise Terraform with the stage's S3 backend and save a plan of the stage for review.
    Plan(terraform::Plan),
    /// Apply the plan saved by `plan` (network, database, IAM, DNS, buckets, SSM parameters).
    Apply(terraform::Apply),
    /// Build the function and deploy it with its HTTP API and custom domain (Serverless).
    Deploy(deploy::Deploy),
    /// Run the database migrations: through the deployed function, or directly with --database-url.
    Migrate(migrate::Migrate),
    /// Remove a stage: the Serverless service first, then the Terraform resources (bootstrap only when asked).
    Teardown(teardown::Teardown),
    /// Build the function's deployment zip with cargo-lambda and print its size.
    Build(build::Build),
    /// Every static validation, offline: Terraform, CloudFormation, Serverless, IAM policies, GitLab CI.
    Check(check::Check),
    /// Formatting, lints and every test of the workspace, then `check`: what CI runs.
    Test(test::Test),
    /// The API on 127.0.0.1: a local PostgreSQL with the migrations applied, and the function behind cargo-lambda.
    Local(local::Local),
    /// The function against a hello-world Lambda: zip size, cold init, invocation latency and peak RSS.
    Bench(bench::Bench),
    /// The concurrency bound under load on 127.0.0.1: PostgreSQL, PgBouncer as RDS Proxy, the function, wrk.
    Loadtest(loadtest::Loadtest),
    /// Every deployment command, through its real client, against a local AWS emulator (moto on 127.0.0.1).
    Rehearse(rehearse::Rehearse),
    /// The jobs of .gitlab-ci.yml run by gitlab-ci-local's shell executor in a throwaway clone, with recording fakes.
    Pipeline(pipeline::Pipeline),
    /// Re-render the architecture pictures in docs/images from their code in docs/diagrams (needs Graphviz).
    Diagrams(diagrams::Diagrams),
    /// Compare a stage with its code, read-only: Terraform plan (exit status 2 when it differs) and the stack's drift.
    Drift(drift::Drift),
}

impl Command {
    pub fn run(self, ctx: &Ctx, sh: &Shell) -> anyhow::Result<()> {
        match self {
            Command::Bootstrap(command) => command.procedure(ctx).execute(ctx, sh),
            Command::Plan(command) => command.procedure(ctx).execute(ctx, sh),
            Command::Apply(command) => command.procedure(ctx).execute(ctx, sh),
            Command::Deploy(command) => command
                .procedure(ctx, &mut pipeline_installs(ctx))
                .execute(ctx, sh),
            Command::Migrate(command) => command.run(ctx, sh),
            Command::Teardown(command) => command.run(ctx, sh),
            Command::Build(command) => command
                .procedure(ctx, &mut pipeline_installs(ctx))
                .execute(ctx, sh),
            Command::Check(command) => command.run(ctx, sh),
            Command::Test(command) => command.run(ctx, sh),
            Command::Local(command) => command.run(ctx, sh),
            Command::Bench(command) => command
                .procedure(ctx, &mut pipeline_installs(ctx))
                .execute(ctx, sh),
            Command::Loadtest(command) => command.run(ctx, sh),
            Command::Rehearse(command) => command.run(ctx, sh),
            Command::Pipeline(command) => command.run(ctx, sh),
            Command::Diagrams(command) => command.procedure(ctx)?.execute(ctx, sh),
            Command::Drift(command) => command.run(ctx, sh),
        }
    }
}

/// A command prepared as data: the tools it needs, whether it touches AWS, and its steps in order.
#[derive(Debug)]
pub struct Procedure {
    pub title: String,
    pub tools: Vec<Tool>,
    pub touches_aws: bool,
    pub steps: Vec<Step>,
}

impl Procedure {
    pub fn new(title: impl Into<String>) -> Procedure {
        Procedure {
            title: title.into(),
            tools: Vec::new(),
            touches_aws: false,
            steps: Vec::new(),
        }
    }

    pub fn tools(mut self, tools: &[Tool]) -> Procedure {
        for tool in tools {
            if !self.tools.contains(tool) {
                self.tools.push(*tool);
            }
        }
        self
    }

    /// Marks the procedure as one that calls AWS: credentials are checked before anything runs.
    pub fn on_aws(mut self) -> Procedure {
        self.touches_aws = true;
        self.tools(&[preflight::AWS])
    }

    pub fn step(mut self, step: Step) -> Procedure {
        self.steps.push(step);
        self
    }

    pub fn steps(mut self, steps: impl IntoIterator<Item = Step>) -> Procedure {
        self.steps.extend(steps);
        self
    }

    /// The command's own steps, one line each.
    pub fn rendered(&self) -> Vec<String> {
        self.steps.iter().map(Step::render).collect()
    }

    /// What a dry run prints: for a command that touches AWS, the identity call and the account check first (they run
    /// before anything else, outside the step list), then the steps.
    pub fn dry_run_lines(&self, ctx: &Ctx) -> anyhow::Result<Vec<String>> {
        let mut lines = Vec::new();
        if self.touches_aws {
            let account = ctx.stage.account_id(&ctx.root)?;
            lines.push(preflight::caller_identity(&ctx.region).render());
            lines.push(preflight::guard_line(ctx.stage.name(), &account));
        }
        lines.extend(self.rendered());
        Ok(lines)
    }

    pub fn execute(self, ctx: &Ctx, sh: &Shell) -> anyhow::Result<()> {
        if ctx.dry_run {
            self.dry_run_lines(ctx)?
                .iter()
                .for_each(|line| println!("{line}"));
            return Ok(());
        }
        // Read before any tool runs: a stage without an account, or an empty credential variable, runs nothing.
        let guard = self.touches_aws.then(|| account_guard(ctx)).transpose()?;
        preflight::check_tools(&self.tools)?;
        if let Some(guard) = guard {
            let caller = preflight::check_credentials(&ctx.region)?;
            guard.check(&caller)?;
            eprintln!(
                "AWS caller: {caller} (account {} of stage {}, region {})",
                guard.account_id, guard.stage, ctx.region
            );
        }
        runner::run(sh, &self.title, &self.steps, ctx.verbose)?;
        Ok(())
    }
}

/// The stage's account (its variable file) and the identity this job's environment names.
fn account_guard(ctx: &Ctx) -> anyhow::Result<preflight::AccountGuard> {
    let account = ctx.stage.account_id(&ctx.root)?;
    preflight::AccountGuard::new(ctx.stage.name(), account, |name| std::env::var(name).ok())
}

#[cfg(test)]
pub use build::zip_path_template as build_zip_path_template;

/// What the deployment commands must install first, looked up on this machine.
pub fn pipeline_installs(ctx: &Ctx) -> Installs {
    Installs::detect(&ctx.root)
}

/// A step that reads one output of a CloudFormation stack into `key`.
pub fn stack_output(
    ctx: &Ctx,
    stack: &str,
    output: &str,
    key: &'static str,
    missing: impl Into<Option<String>>,
) -> Step {
    let query = format!("Stacks[0].Outputs[?OutputKey=='{output}'].OutputValue");
    Step::command(
        format!("read {output} from stack {stack}"),
        "aws",
        [
            "cloudformation",
            "describe-stacks",
            "--region",
            &ctx.region,
            "--stack-name",
            stack,
            "--query",
            &query,
            "--output",
            "text",
        ],
    )
    .capture(key, missing)
}

#[cfg(test)]
pub mod testing {
    use crate::Ctx;
    use crate::stage::Stage;

    /// A context for step-list tests: the real repository, a fixed region, nothing run.
    pub fn ctx(stage: &str) -> Ctx {
        let root = crate::project_root();
        Ctx {
            stage: Stage::known(stage, &root).expect("dev and prod are known stages"),
            root,
            region: "eu-central-1".to_owned(),
            dry_run: true,
            yes: false,
            verbose: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::ctx;
    use super::*;

    #[test]
    fn every_aws_command_checks_the_account_before_its_first_step() -> anyhow::Result<()> {
        for stage in ["dev", "prod"] {
            let ctx = ctx(stage);
            let account = ctx.stage.account_id(&ctx.root)?;
            let bootstrap = super::bootstrap::Bootstrap::default().procedure(&ctx);
            let lines = bootstrap.dry_run_lines(&ctx)?;
            assert_eq!(
                lines[..2],
                [
                    "$ aws sts get-caller-identity --region eu-central-1 --query Arn --output text"
                        .to_owned(),
                    format!(
                        "# stop unless the caller is in account {account} (terraform/stages/{stage}.tfvars) and, with \
                         PMP_IDENTITY or in CI, is the identity that the job names"
                    ),
                ]
            );
            assert_eq!(
                lines[2..],
                bootstrap.rendered()[..],
                "then the steps, unchanged"
            );
        }
        Ok(())
    }

    #[test]
    fn offline_commands_print_only_their_steps() -> anyhow::Result<()> {
        let ctx = ctx("dev");
        let offline = Procedure::new("offline").step(Step::command("say", "echo", ["hi"]));
        assert_eq!(offline.dry_run_lines(&ctx)?, ["$ echo hi"]);
        Ok(())
    }
}
