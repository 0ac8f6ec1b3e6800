//! `build`: the function's deployment zip, cross-compiled with cargo-lambda (zig as the linker), one output folder
//! per architecture so that an arm64 and an x86_64 build never overwrite each other.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::Procedure;
use crate::Ctx;
use crate::preflight::{CARGO_LAMBDA, Tool};
use crate::step::Step;
use crate::tools::{self, Installs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Arch {
    /// Graviton: cheaper per GB-second than x86_64, and the default.
    Arm64,
    #[value(name = "x86_64")]
    X86_64,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::Arm64 => "arm64",
            Arch::X86_64 => "x86_64",
        }
    }

    fn flag(self) -> &'static str {
        match self {
            Arch::Arm64 => "--arm64",
            Arch::X86_64 => "--x86-64",
        }
    }
}

#[derive(Debug, Args)]
pub struct Build {
    /// The Lambda architecture to build for.
    #[arg(long, value_enum, default_value = "arm64")]
    pub arch: Arch,
}

/// Where the zip lands, relative to the repository root (serverless.yml's `package.artifact`).
pub fn zip_path(arch: Arch) -> String {
    zip_path_for(arch.name())
}

fn zip_path_for(arch: &str) -> String {
    format!("target/lambda/{arch}/bootstrap/bootstrap.zip")
}

/// The same path as serverless.yml writes it, with its architecture parameter.
#[cfg(test)]
pub fn zip_path_template() -> String {
    zip_path_for("${param:architecture}")
}

impl Build {
    pub fn procedure(&self, ctx: &Ctx, installs: &mut Installs) -> Procedure {
        Procedure::new(format!("build {}", self.arch.name()))
            .tools(&needed_tools(installs))
            .steps(steps(ctx, self.arch, installs))
    }
}

/// A cargo-lambda already on PATH is used and version-checked; the pinned one from .venv needs no check.
pub fn needed_tools(installs: &Installs) -> Vec<Tool> {
    if installs.cargo_lambda_from_venv {
        Vec::new()
    } else {
        vec![CARGO_LAMBDA]
    }
}

/// The installs it needs, the build itself and the size report.
pub fn steps(ctx: &Ctx, arch: Arch, installs: &mut Installs) -> Vec<Step> {
    let from_venv = installs.cargo_lambda_from_venv;
    let mut steps = installs.for_build();
    let lambda_dir = format!("target/lambda/{}", arch.name());
    let mut build = Step::command(
        format!("build the function for {} (release, zip)", arch.name()),
        "cargo",
        [
            "lambda",
            "build",
            "--release",
            arch.flag(),
            "--output-format",
            "zip",
            "--lambda-dir",
            &lambda_dir,
            "--package",
            "pmp-api",
            "--bin",
            "bootstrap",
        ],
    );
    if from_venv {
        build = build.path_prefix(tools::VENV_BIN);
    }
    let zip: PathBuf = ctx.root.join(zip_path(arch));
    let shown = zip_path(arch);
    steps.push(build);
    steps.push(Step::internal(
        format!("report the size of {shown}"),
        move |_| {
            let bytes = std::fs::metadata(&zip)
                .with_context(|| format!("the build did not produce {}", zip.display()))?
                .len();
            println!(
                "{shown}: {bytes} bytes ({:.2} MB)",
                bytes as f64 / 1_000_000.0
            );
            Ok(())
        },
    ));
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testing::ctx;

    #[test]
    fn each_architecture_builds_into_its_own_folder() {
        let arm = steps(&ctx("dev"), Arch::Arm64, &mut Installs::none());
        assert_eq!(
            arm[0].render(),
            "$ cargo lambda build --release --arm64 --output-format zip --lambda-dir target/lambda/arm64 --package pmp-api --bin bootstrap"
        );
        assert_eq!(
            arm[1].render(),
            "# report the size of target/lambda/arm64/bootstrap/bootstrap.zip"
        );
        let mut from_venv = Installs {
            cargo_lambda_from_venv: true,
            ..Installs::none()
        };
        let x86 = steps(&ctx("dev"), Arch::X86_64, &mut from_venv);
        assert_eq!(
            x86[0].render(),
            r#"$ PATH=.venv/bin:"$PATH" cargo lambda build --release --x86-64 --output-format zip --lambda-dir target/lambda/x86_64 --package pmp-api --bin bootstrap"#
        );
    }
}
