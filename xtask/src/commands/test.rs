//! `test`: formatting, lints, every test of the workspace (the database tests start their own PostgreSQL 17, from the
//! pinned npm package: so `npm ci` runs first when node_modules is missing or stale), then `check`, then `rehearse` (the
//! deployment commands against a local AWS emulator, reusing the zip `check` built), then `pipeline` (the jobs of
//! .gitlab-ci.yml themselves, through gitlab-ci-local). The order puts the quickest feedback first.

use clap::Args;
use xshell::Shell;

use super::Procedure;
use super::check::Check;
use super::pipeline::Pipeline;
use super::rehearse::Rehearse;
use crate::Ctx;
use crate::step::Step;
use crate::tools;

#[derive(Debug, Args)]
pub struct Test {}

impl Test {
    /// `node`: the steps that bring node_modules up to date ([`tools::node_steps`]); they run before the Rust tests,
    /// which need the PostgreSQL server it carries.
    pub fn procedure(&self, node: Vec<Step>) -> Procedure {
        Procedure::new("test")
            .steps(node)
            .step(Step::command(
                "check the Rust formatting",
                "cargo",
                ["fmt", "--all", "--check"],
            ))
            .step(Step::command(
                "lint every target, warnings as errors",
                "cargo",
                [
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--locked",
                    "--",
                    "-D",
                    "warnings",
                ],
            ))
            .step(Step::command(
                "run every test of the workspace",
                "cargo",
                ["test", "--workspace", "--locked"],
            ))
    }

    pub fn run(self, ctx: &Ctx, sh: &Shell) -> anyhow::Result<()> {
        let procedure = self.procedure(tools::node_steps(&ctx.root));
        if ctx.dry_run {
            procedure.execute(ctx, sh)?;
            println!("# then every validator of `cargo xtask check`:");
            Check { only: None }.run(ctx, sh)?;
            println!("# then `cargo xtask rehearse`:");
            Rehearse {}.run(ctx, sh)?;
            println!("# then `cargo xtask pipeline`:");
            return Pipeline {}.run(ctx, sh);
        }
        procedure.execute(ctx, sh)?;
        Check { only: None }.run(ctx, sh)?;
        Rehearse {}.run(ctx, sh)?;
        Pipeline {}.run(ctx, sh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_feedback_first() {
        assert_eq!(
            Test {}.procedure(Vec::new()).rendered(),
            [
                "$ cargo fmt --all --check",
                "$ cargo clippy --workspace --all-targets --locked -- -D warnings",
                "$ cargo test --workspace --locked",
            ]
        );
    }

    #[test]
    fn node_modules_is_installed_before_the_database_tests() {
        let node = vec![Step::command(
            "install",
            "npm",
            ["ci", "--no-audit", "--no-fund"],
        )];
        let lines = Test {}.procedure(node).rendered();
        let npm = lines.iter().position(|line| line.starts_with("$ npm ci"));
        let tests = lines
            .iter()
            .position(|line| line.starts_with("$ cargo test"));
        assert!(
            matches!((npm, tests), (Some(npm), Some(tests)) if npm < tests),
            "{lines:?}"
        );
    }
}
