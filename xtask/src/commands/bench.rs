//! `bench`: the function against a bare hello-world Lambda (lambda/examples/hello_baseline.rs) built with the same
//! release profile. Both are measured the same way: the arm64 deployment zips' sizes, then native x86_64 builds run
//! against a Runtime API that xtask serves on loopback (cold init, first and warm invocation latency, peak RSS). The
//! result is a table with the ratio function/baseline and the targets marked ✓/✗, also written to
//! target/bench/latest.json. Method: docs/benchmarks.md.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::Args;
use serde_json::Value;

use super::Procedure;
use super::build::{self, Arch};
use crate::Ctx;
use crate::step::{Outputs, Step};
use crate::tools::{self, Installs};

mod measure;
mod report;
// The load test runs the function behind the same Runtime API.
pub(crate) mod runtime_api;

pub(crate) use measure::api_event;

/// The name the Runtime API and the environment give the function under test.
pub const FUNCTION_NAME: &str = "pmp-api-bench-api";
/// The baseline's example target in the lambda crate.
const BASELINE: &str = "hello_baseline";
/// Where the results go, relative to the repository root.
const RESULTS: &str = "target/bench/latest.json";

#[derive(Debug, Args)]
pub struct Bench {
    /// Cold starts of each program (process start to first answer).
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub cold: usize,
    /// Warm invocations of each program, counted after a warm-up.
    #[arg(long, default_value_t = 5000, value_name = "N")]
    pub warm: usize,
}

impl Bench {
    pub fn procedure(&self, ctx: &Ctx, installs: &mut Installs) -> Procedure {
        Procedure::new("bench")
            .tools(&build::needed_tools(installs))
            .steps(steps(ctx, self.cold, self.warm, installs))
    }
}

/// Where cargo-lambda puts the baseline's zip (one folder per binary or example, named after it).
fn baseline_zip() -> String {
    format!("target/lambda/arm64/{BASELINE}/bootstrap.zip")
}

fn steps(ctx: &Ctx, cold: usize, warm: usize, installs: &mut Installs) -> Vec<Step> {
    let from_venv = installs.cargo_lambda_from_venv;
    // The function's zip exactly as `build` and `deploy` make it, then the baseline's the same way.
    let mut steps = build::steps(ctx, Arch::Arm64, installs);
    let mut baseline_zip_step = Step::command(
        "build the baseline for arm64 (release, zip)",
        "cargo",
        [
            "lambda",
            "build",
            "--release",
            "--arm64",
            "--output-format",
            "zip",
            "--lambda-dir",
            "target/lambda/arm64",
            "--package",
            "pmp-api",
            "--example",
            BASELINE,
        ],
    );
    if from_venv {
        baseline_zip_step = baseline_zip_step.path_prefix(tools::VENV_BIN);
    }
    steps.push(baseline_zip_step);
    // Separate invocations, as cargo-lambda builds them: features unify within one build, and each program should get
    // exactly its own.
    steps.push(native_build(
        "function",
        &["--bin", "bootstrap"],
        "function_build",
    ));
    steps.push(native_build(
        "baseline",
        &["--example", BASELINE],
        "baseline_build",
    ));
    let root = ctx.root.clone();
    steps.push(Step::internal(
        format!("time both programs ({cold} cold starts, {warm} warm invocations each) and write {RESULTS}"),
        move |outputs| measure_and_report(&root, outputs, cold, warm),
    ));
    steps
}

/// A native release build whose JSON messages (captured under `key`) name the executable.
fn native_build(what: &str, target: &[&str], key: &'static str) -> Step {
    let mut args = vec!["build", "--release", "--package", "pmp-api"];
    args.extend_from_slice(target);
    args.push("--message-format=json-render-diagnostics");
    Step::command(
        format!("build the {what} for this machine (release) for the timing runs"),
        "cargo",
        args,
    )
    .capture(key, None)
}

fn measure_and_report(
    root: &Path,
    outputs: &Outputs,
    cold: usize,
    warm: usize,
) -> anyhow::Result<()> {
    if cold == 0 || warm == 0 {
        bail!("--cold and --warm must be at least 1");
    }
    let zip_size = |path: &str| {
        std::fs::metadata(root.join(path))
            .map(|meta| meta.len())
            .with_context(|| format!("the build did not produce {path}"))
    };
    let zips = report::Zips {
        function: zip_size(&build::zip_path(Arch::Arm64))?,
        baseline: zip_size(&baseline_zip())?,
    };
    let folder = root.join("target/bench");
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    let subjects = [
        measure::Subject {
            name: "the function",
            executable: executable(outputs, "function_build", "bootstrap")?,
            log: folder.join("function.log"),
        },
        measure::Subject {
            name: "the baseline",
            executable: executable(outputs, "baseline_build", BASELINE)?,
            log: folder.join("baseline.log"),
        },
    ];
    let samples = measure::run(&subjects, cold, warm)?;
    let [function, baseline] = samples.as_slice() else {
        bail!("internal error: expected the samples of two programs");
    };
    let rows = report::rows(zips, function, baseline);
    let machine = report::Machine::this();
    println!();
    println!("{}", report::table(&rows));
    println!();
    println!("Measured on {}.", machine.describe());
    let missed: Vec<&str> = rows
        .iter()
        .filter(|row| row.met() == Some(false))
        .map(|row| row.figure)
        .collect();
    if !missed.is_empty() {
        println!(
            "Targets missed: {} (see docs/benchmarks.md for what each measures).",
            missed.join(", ")
        );
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let settings = report::Settings {
        cold_starts: cold,
        warm_invocations: warm,
    };
    let json = report::json(&rows, &machine, settings, now);
    let path = root.join(RESULTS);
    std::fs::write(&path, serde_json::to_string_pretty(&json)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("Written to {RESULTS}.");
    Ok(())
}

/// The executable of target `name` among cargo's JSON messages.
fn executable(outputs: &Outputs, key: &str, name: &str) -> anyhow::Result<PathBuf> {
    let messages = outputs
        .get(key)
        .with_context(|| format!("internal error: no build output under `{key}`"))?;
    find_executable(messages, name)
        .with_context(|| format!("the release build did not report an executable named {name}"))
}

fn find_executable(messages: &str, name: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == name
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
}

/// The machine a measurement ran on, in one line (also for `loadtest`).
pub(crate) fn machine_description() -> String {
    report::Machine::this().describe()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testing::ctx;

    #[test]
    fn bench_builds_both_zips_and_both_native_programs_before_timing() {
        let lines = Bench {
            cold: 100,
            warm: 5000,
        }
        .procedure(&ctx("dev"), &mut Installs::none())
        .rendered();
        assert_eq!(
            lines,
            [
                "$ cargo lambda build --release --arm64 --output-format zip --lambda-dir target/lambda/arm64 --package pmp-api --bin bootstrap",
                "# report the size of target/lambda/arm64/bootstrap/bootstrap.zip",
                "$ cargo lambda build --release --arm64 --output-format zip --lambda-dir target/lambda/arm64 --package pmp-api --example hello_baseline",
                "$ cargo build --release --package pmp-api --bin bootstrap --message-format=json-render-diagnostics",
                "$ cargo build --release --package pmp-api --example hello_baseline --message-format=json-render-diagnostics",
                "# time both programs (100 cold starts, 5000 warm invocations each) and write target/bench/latest.json",
            ]
        );
    }

    #[test]
    fn the_executable_is_found_in_cargos_messages() {
        let messages = [
            r#"{"reason":"compiler-artifact","target":{"name":"serde"},"executable":null}"#,
            "not json",
            r#"{"reason":"compiler-artifact","target":{"name":"bootstrap"},"executable":"/t/release/bootstrap"}"#,
            r#"{"reason":"build-finished","success":true}"#,
        ]
        .join("\n");
        assert_eq!(
            find_executable(&messages, "bootstrap"),
            Some(PathBuf::from("/t/release/bootstrap"))
        );
        assert_eq!(find_executable(&messages, "hello_baseline"), None);
    }
}
