//! `check`: every static validation of DESIGN.md's table, offline, on the parts that exist. Each validator runs to the
//! end even when an earlier one failed, its output goes to target/check/<name>.log, and a table closes the run. A
//! validator that cannot run here is reported as "not run" with the reason, never as passed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use xshell::Shell;

use super::build::{self, Arch};
use crate::Ctx;
use crate::runner::{self, seconds};
use crate::step::{Outputs, Step};
use crate::tools::{self, Installs};

mod ci_image;
pub(crate) mod gitlab;
mod policies;
pub(crate) mod serverless;
mod terraform;

#[derive(Debug, Args)]
pub struct Check {
    /// Run only the validators whose name contains this text (for example `terraform` or `cfn-lint`).
    #[arg(long, value_name = "TEXT")]
    pub only: Option<String>,
}

/// One validator: what it reads, what it needs to run at all, and its steps.
pub struct Validator {
    pub name: String,
    pub reads: String,
    /// Why it cannot run here, if it cannot (a missing tool or input); it is then reported as "not run".
    pub unavailable: Option<String>,
    /// A failure whose output holds one of these texts means "cannot run here" (with the reason), not "failed".
    pub not_run_when: Option<(Vec<&'static str>, &'static str)>,
    pub steps: Vec<Step>,
}

impl Validator {
    pub fn new(name: impl Into<String>, reads: impl Into<String>) -> Validator {
        Validator {
            name: name.into(),
            reads: reads.into(),
            unavailable: None,
            not_run_when: None,
            steps: Vec::new(),
        }
    }

    pub fn step(mut self, step: Step) -> Validator {
        self.steps.push(step);
        self
    }

    /// Marks the validator as not runnable unless `program` is on PATH.
    pub fn steps(mut self, steps: impl IntoIterator<Item = Step>) -> Validator {
        self.steps.extend(steps);
        self
    }

    pub fn needs_program(mut self, program: &str, hint: &str) -> Validator {
        if self.unavailable.is_none() && !tools::on_path(program) {
            self.unavailable = Some(format!("`{program}` is not installed ({hint})"));
        }
        self
    }

    pub fn not_run_if_output_contains(
        mut self,
        texts: &[&'static str],
        reason: &'static str,
    ) -> Validator {
        self.not_run_when = Some((texts.to_vec(), reason));
        self
    }

    pub fn unavailable_because(mut self, reason: Option<String>) -> Validator {
        if self.unavailable.is_none() {
            self.unavailable = reason;
        }
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Passed,
    Failed(String),
    NotRun(String),
}

impl Check {
    pub fn run(self, ctx: &Ctx, sh: &Shell) -> anyhow::Result<()> {
        let setup = setup_steps(ctx);
        let validators: Vec<Validator> = validators(&ctx.root)
            .into_iter()
            .filter(|validator| {
                self.only
                    .as_ref()
                    .is_none_or(|only| validator.name.contains(only.as_str()))
            })
            .collect();
        if ctx.dry_run {
            for step in &setup {
                println!("{}", step.render());
            }
            for validator in &validators {
                println!("# {} ({})", validator.name, validator.reads);
                match &validator.unavailable {
                    Some(reason) => println!("#   not run: {reason}"),
                    None => validator
                        .steps
                        .iter()
                        .for_each(|step| println!("{}", step.render())),
                }
            }
            return Ok(());
        }
        if !setup.is_empty() {
            runner::run(sh, "install the pinned tools", &setup, ctx.verbose)?;
        }
        let logs = ctx.root.join("target/check");
        std::fs::create_dir_all(&logs)
            .with_context(|| format!("cannot create {}", logs.display()))?;
        let total = validators.len();
        let mut results = Vec::new();
        for (index, validator) in validators.iter().enumerate() {
            eprintln!(
                "==> [{}/{total}] {} ({})",
                index + 1,
                validator.name,
                validator.reads
            );
            let started = Instant::now();
            let outcome = match &validator.unavailable {
                Some(reason) => Outcome::NotRun(reason.clone()),
                None => run_validator(
                    sh,
                    validator,
                    &logs.join(format!("{}.log", slug(&validator.name))),
                    ctx.verbose,
                ),
            };
            let took = started.elapsed();
            match &outcome {
                Outcome::Passed => eprintln!("    passed in {}", seconds(took)),
                Outcome::Failed(reason) => eprintln!("    FAILED in {}: {reason}", seconds(took)),
                Outcome::NotRun(reason) => eprintln!("    not run: {reason}"),
            }
            results.push((validator, outcome, took));
        }
        print_table(&results);
        let failed: Vec<&str> = results
            .iter()
            .filter(|(_, outcome, _)| matches!(outcome, Outcome::Failed(_)))
            .map(|(v, _, _)| v.name.as_str())
            .collect();
        if !failed.is_empty() {
            bail!(
                "{} of {total} validators failed: {}",
                failed.len(),
                failed.join(", ")
            );
        }
        Ok(())
    }
}

/// What the validators need first: the pinned tools (.venv and node_modules, installed only when missing or
/// changed), and the function's zip, which `serverless package` copies (built only when missing).
fn setup_steps(ctx: &Ctx) -> Vec<Step> {
    let mut installs = Installs::detect(&ctx.root);
    let mut steps = std::mem::take(&mut installs.python);
    steps.extend(std::mem::take(&mut installs.node));
    if ctx.root.join("serverless.yml").exists()
        && !ctx.root.join(build::zip_path(Arch::Arm64)).exists()
    {
        steps.extend(build::steps(ctx, Arch::Arm64, &mut installs));
    }
    steps
}

fn run_validator(sh: &Shell, validator: &Validator, log_path: &Path, verbose: bool) -> Outcome {
    let log = match std::fs::File::create(log_path) {
        Ok(log) => log,
        Err(error) => {
            return Outcome::Failed(format!("cannot write {}: {error}", log_path.display()));
        }
    };
    let mut outputs = Outputs::new();
    for step in &validator.steps {
        if let Err(error) = runner::run_one(sh, step, &mut outputs, verbose, Some(&log)) {
            if let Some((texts, reason)) = &validator.not_run_when {
                let output = std::fs::read_to_string(log_path).unwrap_or_default();
                if texts.iter().any(|text| output.contains(text)) {
                    return Outcome::NotRun((*reason).to_owned());
                }
            }
            let reason = format!("{}: {error:#}", step.purpose);
            print_tail(log_path);
            return Outcome::Failed(reason);
        }
    }
    Outcome::Passed
}

/// The end of a failed validator's log, so the reason is on screen.
fn print_tail(log_path: &Path) {
    let text = std::fs::read_to_string(log_path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let shown = &lines[lines.len().saturating_sub(25)..];
    if !shown.is_empty() {
        eprintln!("    --- last lines of {} ---", log_path.display());
        for line in shown {
            eprintln!("    | {line}");
        }
    }
}

fn print_table(results: &[(&Validator, Outcome, Duration)]) {
    let name_width = results
        .iter()
        .map(|(v, _, _)| v.name.len())
        .max()
        .unwrap_or(9)
        .max(9);
    let reads_width = results
        .iter()
        .map(|(v, _, _)| v.reads.len())
        .max()
        .unwrap_or(4)
        .clamp(4, 48);
    println!();
    println!(
        "{:<name_width$}  {:<reads_width$}  {:<8}  {:>7}",
        "validator", "read", "result", "time"
    );
    println!("{}", "-".repeat(name_width + reads_width + 23));
    let mut counts = [0usize; 3];
    for (validator, outcome, took) in results {
        let (result, index) = match outcome {
            Outcome::Passed => ("passed", 0),
            Outcome::Failed(_) => ("FAILED", 1),
            Outcome::NotRun(_) => ("not run", 2),
        };
        counts[index] += 1;
        let mut reads = validator.reads.clone();
        if reads.len() > reads_width {
            reads.truncate(reads_width - 1);
            reads.push('…');
        }
        println!(
            "{:<name_width$}  {reads:<reads_width$}  {result:<8}  {:>7}",
            validator.name,
            seconds(*took)
        );
        if let Outcome::NotRun(reason) = outcome {
            println!("{:<name_width$}    ↳ {reason}", "");
        }
    }
    // The plain closing line CI reads; "skipped" counts the validators that cannot run here (reasons above).
    println!(
        "{} passed, {} failed, {} skipped",
        counts[0], counts[1], counts[2]
    );
}

fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// Shows a path relative to the repository root in step lines.
pub fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// checkov with the settings that keep it offline: no download of its policies, no mapping request.
pub fn checkov(purpose: &str, args: &[&str]) -> Step {
    let mut all = vec!["--skip-download", "--compact", "--quiet"];
    all.extend(args);
    Step::command(purpose, ".venv/bin/checkov", all).env("BC_SKIP_MAPPING", "TRUE")
}

/// Every validator, in the order of DESIGN.md's table.
pub fn validators(root: &Path) -> Vec<Validator> {
    let mut all = Vec::new();
    all.extend(terraform::validators(root));
    all.extend(cloudformation(root));
    all.extend(serverless::validators(root));
    all.extend(policies::validators(root));
    all.extend(gitlab::validators(root));
    all.extend(ci_image::validators(root));
    all.extend(diagrams(root));
    all
}

fn cloudformation(root: &Path) -> Vec<Validator> {
    let templates: Vec<String> = files_with_extension(&root.join("cloudformation"), "yml")
        .iter()
        .map(|path| relative(root, path))
        .collect();
    if templates.is_empty() {
        return Vec::new();
    }
    let mut lint = vec!["--format", "parseable"];
    lint.extend(templates.iter().map(String::as_str));
    vec![
        Validator::new("cfn-lint cloudformation", templates.join(", ")).step(Step::command(
            "lint the bootstrap templates (errors and warnings fail)",
            ".venv/bin/cfn-lint",
            lint,
        )),
        Validator::new("checkov cloudformation", "cloudformation/").step(checkov(
            "scan the bootstrap templates",
            &[
                "--directory",
                "cloudformation",
                "--framework",
                "cloudformation",
            ],
        )),
    ]
}

/// The diagram code still draws (into target/, leaving the committed pictures alone).
fn diagrams(root: &Path) -> Vec<Validator> {
    let Ok(steps) = super::diagrams::render_steps(root, "target/diagrams") else {
        return Vec::new();
    };
    let output = root.join("target/diagrams");
    vec![
        Validator::new("diagrams render", "docs/diagrams/*.py")
            .needs_program(
                "dot",
                "install Graphviz: apt-get install graphviz / brew install graphviz",
            )
            .step(Step::internal("create target/diagrams", move |_| {
                std::fs::create_dir_all(&output)
                    .with_context(|| format!("cannot create {}", output.display()))
            }))
            .steps(steps),
    ]
}

/// The files of `folder` with `extension`, sorted; none when the folder does not exist.
pub fn files_with_extension(folder: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == extension))
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_of_the_repository_has_its_validators() {
        let root = crate::project_root();
        let names: Vec<String> = validators(&root)
            .into_iter()
            .map(|validator| validator.name)
            .collect();
        for expected in [
            "terraform fmt",
            "tf-check",
            "terraform test",
            "terraform validate",
            "checkov terraform",
            "cfn-lint cloudformation",
            "checkov cloudformation",
            "serverless package dev",
            "serverless package prod",
            "parliament",
            "check-jsonschema gitlab-ci",
            "gitlab-ci-local",
        ] {
            assert!(
                names.iter().any(|name| name.starts_with(expected)),
                "no validator named {expected}: {names:?}"
            );
        }
    }

    #[test]
    fn slugs_are_file_names() {
        assert_eq!(slug("cfn-lint cloudformation"), "cfn-lint-cloudformation");
        assert_eq!(
            slug("terraform test modules/iam_policies"),
            "terraform-test-modules-iam-policies"
        );
    }
}
