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

mod database;
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
/// The database cold path's figures.
const DATABASE_RESULTS: &str = "target/bench/database-cold.json";

#[derive(Debug, Args)]
pub struct Bench {
    /// Cold starts of each program (process start to first answer).
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub cold: usize,
    /// Warm invocations of each program, counted after a warm-up.
    #[arg(long, default_value_t = 5000, value_name = "N")]
    pub warm: usize,
    /// Cold starts of the path that needs the database (the function's first `GET /database`, and the client code
    /// alone), against a local PostgreSQL 17 with TLS.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub database_cold: usize,
    /// Only the database cold path: no zips, no runtime timings (no cargo-lambda needed).
    #[arg(long)]
    pub database_only: bool,
}

impl Bench {
    pub fn procedure(&self, ctx: &Ctx, installs: &mut Installs) -> Procedure {
        Procedure::new("bench")
            .tools(&build::needed_tools(installs))
            .steps(steps(ctx, self, installs))
    }
}

/// Where cargo-lambda puts the baseline's zip (one folder per binary or example, named after it).
fn baseline_zip() -> String {
    format!("target/lambda/arm64/{BASELINE}/bootstrap.zip")
}

fn steps(ctx: &Ctx, bench: &Bench, installs: &mut Installs) -> Vec<Step> {
    let (cold, warm) = (bench.cold, bench.warm);
    if bench.database_only {
        return database_steps(ctx, bench.database_cold);
    }
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
    steps.extend(database_steps(ctx, bench.database_cold).into_iter().skip(1));
    steps
}

/// The function's native build (already among the full bench's steps, hence first), the client-only baseline, and
/// the database cold path's timing.
fn database_steps(ctx: &Ctx, runs: usize) -> Vec<Step> {
    let root = ctx.root.clone();
    vec![
        native_build("function", &["--bin", "bootstrap"], "function_build"),
        native_build(
            "database baseline (client code alone)",
            &["--example", "db_baseline"],
            "db_baseline_build",
        ),
        Step::internal(
            format!(
                "time the first request that needs the database ({runs} cold starts of the function and of the baseline, \
                 PostgreSQL 17 with TLS on 127.0.0.1) and write {DATABASE_RESULTS}"
            ),
            move |outputs| {
                if runs == 0 {
                    bail!("--database-cold must be at least 1");
                }
                let cold = database::measure(
                    &root,
                    &executable(outputs, "function_build", "bootstrap")?,
                    &executable(outputs, "db_baseline_build", "db_baseline")?,
                    runs,
                )?;
                println!();
                println!("{}", cold.table());
                let path = root.join(DATABASE_RESULTS);
                std::fs::write(&path, serde_json::to_string_pretty(&cold.json())? + "\n")
                    .with_context(|| format!("cannot write {}", path.display()))?;
                println!("Written to {DATABASE_RESULTS}.");
                Ok(())
            },
        ),
    ]
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
            database_cold: 20,
            database_only: false,
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
                "$ cargo build --release --package pmp-api --example db_baseline --message-format=json-render-diagnostics",
                "# time the first request that needs the database (20 cold starts of the function and of the baseline, PostgreSQL 17 with TLS on 127.0.0.1) and write target/bench/database-cold.json",
            ]
        );
        let database_only = Bench {
            cold: 100,
            warm: 5000,
            database_cold: 5,
            database_only: true,
        }
        .procedure(&ctx("dev"), &mut Installs::none())
        .rendered();
        assert_eq!(database_only.len(), 3, "{database_only:#?}");
        assert!(database_only[0].contains("--bin bootstrap"));
        assert!(database_only[1].contains("--example db_baseline"));
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
