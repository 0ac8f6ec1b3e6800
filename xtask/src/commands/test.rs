//! `test`: formatting, lints, every test of the workspace (the migration tests start their own PostgreSQL), then
//! `check`, then `rehearse` (the deployment commands against a local AWS emulator, reusing the zip `check` built).
//! The order puts the quickest feedback first.

use clap::Args;
use xshell::Shell;

use super::Procedure;
use super::check::Check;
use super::rehearse::Rehearse;
use crate::Ctx;
use crate::step::Step;

#[derive(Debug, Args)]
pub struct Test {}

impl Test {
    pub fn procedure(&self) -> Procedure {
        Procedure::new("test")
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
        let procedure = self.procedure();
        if ctx.dry_run {
            procedure.execute(ctx, sh)?;
            println!("# then every validator of `cargo xtask check`:");
            Check { only: None }.run(ctx, sh)?;
            println!("# then `cargo xtask rehearse`:");
            return Rehearse {}.run(ctx, sh);
        }
        procedure.execute(ctx, sh)?;
        Check { only: None }.run(ctx, sh)?;
        Rehearse {}.run(ctx, sh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_feedback_first() {
        assert_eq!(
            Test {}.procedure().rendered(),
            [
                "$ cargo fmt --all --check",
                "$ cargo clippy --workspace --all-targets --locked -- -D warnings",
                "$ cargo test --workspace --locked",
            ]
        );
    }
}
