//! One module per command. Each builds its steps as data; `Procedure::execute` then prints them (`--dry-run`) or
//! checks the tools and credentials they need and runs them.

mod bench;
mod bootstrap;
mod build;
mod check;
mod deploy;
mod diagrams;
mod local;
mod migrate;
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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Once per account and region: deploy the KMS key stack, then the Terraform state bucket stack.
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
    /// Every deployment command, through its real client, against a local AWS emulator (moto on 127.0.0.1).
    Rehearse(rehearse::Rehearse),
    /// Re-render the architecture pictures in docs/images from their code in docs/diagrams (needs Graphviz).
    Diagrams(diagrams::Diagrams),
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
            Command::Rehearse(command) => command.run(ctx, sh),
            Command::Diagrams(command) => command.procedure(ctx)?.execute(ctx, sh),
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

    /// The lines a dry run prints.
    pub fn rendered(&self) -> Vec<String> {
        self.steps.iter().map(Step::render).collect()
    }

    pub fn execute(self, ctx: &Ctx, sh: &Shell) -> anyhow::Result<()> {
        if ctx.dry_run {
            self.rendered().iter().for_each(|line| println!("{line}"));
            return Ok(());
        }
        preflight::check_tools(&self.tools)?;
        if self.touches_aws {
            let caller = preflight::check_credentials(&ctx.region)?;
            eprintln!("AWS caller: {caller} (region {})", ctx.region);
        }
        runner::run(sh, &self.title, &self.steps, ctx.verbose)?;
        Ok(())
    }
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
