//! `pipeline`: the jobs of `.gitlab-ci.yml` executed by gitlab-ci-local's shell executor, in order, in a throwaway
//! clone with a default-branch remote. `aws` and `terraform` are recording fakes (fake.sh) on the jobs' PATH, so each
//! job's credential set-up, identity and commands are seen, and what passed between jobs is checked afterwards. What
//! this proves and what it cannot: docs/pipeline.md.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use xshell::Shell;

use crate::Ctx;
use crate::runner::seconds;

#[derive(Debug, Args)]
pub struct Pipeline {}

const WORK: &str = "target/pipeline";
const GITLAB_CI_LOCAL: &str = "node_modules/.bin/gitlab-ci-local";
const TARGET: &str = "target/pipeline-target";
const FAKE: &str = include_str!("fake.sh");
/// gitlab-ci-local warns about predefined variables it does not know.
const IGNORED_VARIABLE: &str = "FF_DISABLE_UMASK_FOR_DOCKER_EXECUTOR";

/// One job run: its name, the credential mode, the variables given to it, and whether it must pass.
#[derive(Debug)]
struct JobRun {
    label: String,
    job: String,
    variables: Vec<(String, String)>,
    must_pass: bool,
    /// For a run that must fail: the sentence its log must contain.
    fails_saying: Option<String>,
}

fn credentials(mode: &str) -> Vec<(String, String)> {
    let mut variables = vec![("PMP_AWS_AUTH".to_owned(), mode.to_owned())];
    for identity in ["PLAN", "TERRAFORM", "DEPLOY"] {
        if mode == "oidc" {
            variables.push((
                format!("PMP_{identity}_ROLE_ARN"),
                format!(
                    "arn:aws:iam::123456789012:role/pmp-api-dev-{}",
                    identity.to_lowercase()
                ),
            ));
        } else {
            variables.push((
                format!("PMP_{identity}_AWS_ACCESS_KEY_ID"),
                format!("AKIA{identity}"),
            ));
            variables.push((
                format!("PMP_{identity}_AWS_SECRET_ACCESS_KEY"),
                "secret".to_owned(),
            ));
        }
    }
    if mode == "oidc" {
        variables.push(("AWS_ID_TOKEN".to_owned(), "fake-id-token".to_owned()));
    }
    variables
}

fn plan(stage: &str) -> Vec<JobRun> {
    let job = |name: &str| format!("{name}:{stage}");
    let mut without_key = credentials("keys");
    without_key.retain(|(name, _)| name != "PMP_PLAN_AWS_ACCESS_KEY_ID");
    let mut without_role = credentials("oidc");
    without_role.retain(|(name, _)| name != "PMP_PLAN_ROLE_ARN");
    vec![
        JobRun {
            label: format!("{} (keys, no access key)", job("plan")),
            job: job("plan"),
            variables: without_key,
            must_pass: false,
            fails_saying: Some("PMP_PLAN_AWS_ACCESS_KEY_ID is empty in this job".to_owned()),
        },
        JobRun {
            label: format!("{} (oidc, no role ARN)", job("plan")),
            job: job("plan"),
            variables: without_role,
            must_pass: false,
            fails_saying: Some("PMP_PLAN_ROLE_ARN is empty in this job".to_owned()),
        },
        JobRun {
            label: format!("{} (keys)", job("plan")),
            job: job("plan"),
            variables: credentials("keys"),
            must_pass: true,
            fails_saying: None,
        },
        JobRun {
            label: format!("{} (oidc, token file)", job("apply")),
            job: job("apply"),
            variables: credentials("oidc"),
            must_pass: true,
            fails_saying: None,
        },
        JobRun {
            label: format!("{} (keys)", job("migrate")),
            job: job("migrate"),
            variables: credentials("keys"),
            must_pass: true,
            fails_saying: None,
        },
    ]
}

impl Pipeline {
    pub fn run(self, ctx: &Ctx, _sh: &Shell) -> anyhow::Result<()> {
        let stage = ctx.stage.to_string();
        anyhow::ensure!(
            stage == "dev",
            "pipeline runs the dev jobs only (the prod jobs need a release-tag pipeline): use --stage dev"
        );
        let runs = plan(&stage);
        if ctx.dry_run {
            println!("# make a throwaway clone in {WORK}/clone with an origin/main default branch");
            for run in &runs {
                println!(
                    "$ {GITLAB_CI_LOCAL} --cwd {WORK}/clone --force-shell-executor {}  # {}",
                    run.job, run.label
                );
            }
            println!("# check what passed between the jobs, then remove the clone");
            return Ok(());
        }
        if which("rsync").is_none() {
            bail!(
                "rsync is not on PATH, and gitlab-ci-local's shell executor needs it to copy the checkout: install it \
                 (Debian: apt-get install rsync; .ci/run does it in CI) and run again"
            );
        }
        let root = &ctx.root;
        anyhow::ensure!(
            root.join(GITLAB_CI_LOCAL).exists(),
            "{GITLAB_CI_LOCAL} is missing: run `npm ci` (or `cargo xtask check`, which installs it) first"
        );
        let work = root.join(WORK);
        if work.exists() {
            std::fs::remove_dir_all(&work)
                .with_context(|| format!("cannot remove {}", work.display()))?;
        }
        let clone = work.join("clone");
        let fakes = work.join("bin");
        std::fs::create_dir_all(&fakes)?;
        for tool in ["aws", "terraform"] {
            let path = fakes.join(tool);
            std::fs::write(&path, FAKE)?;
            let mut permissions = std::fs::metadata(&path)?.permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
            std::fs::set_permissions(&path, permissions)?;
        }
        let record = work.join("record.txt");
        crate::commands::check::gitlab::prepare_clone(root, &clone)?;
        let started = Instant::now();
        let mut table: Vec<(String, String, Duration)> = Vec::new();
        let outcome = run_all(ctx, &runs, &fakes, &record, &mut table).and_then(|()| {
            check_record(
                &std::fs::read_to_string(&record).unwrap_or_default(),
                &stage,
            )
        });
        print_table(&table, started.elapsed());
        // The clone goes whatever happened; the record and logs stay for a look.
        std::fs::remove_dir_all(&clone).ok();
        outcome
    }
}

fn run_all(
    ctx: &Ctx,
    runs: &[JobRun],
    fakes: &Path,
    record: &Path,
    table: &mut Vec<(String, String, Duration)>,
) -> anyhow::Result<()> {
    let path = format!(
        "{}:{}",
        fakes.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // One target dir and cargo home for every job: xtask compiles once for the whole run.
    let cargo_home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo")
        });
    // Its own target dir, kept between runs: the clone's paths differ from the checkout's, so sharing target/ would
    // rebuild the checkout's xtask after every run.
    let target = ctx.root.join(TARGET);
    for (index, run) in runs.iter().enumerate() {
        let log_path = ctx
            .root
            .join(WORK)
            .join(format!("{index}-{}.log", run.job.replace(':', "-")));
        let log = std::fs::File::create(&log_path)?;
        let mut command = Command::new(ctx.root.join(GITLAB_CI_LOCAL));
        command
            .current_dir(&ctx.root)
            .args(["--cwd", &format!("{WORK}/clone")])
            .args([
                "--force-shell-executor",
                "--ignore-predefined-vars",
                IGNORED_VARIABLE,
            ])
            .args([
                "--variable",
                &format!("CARGO_HOME={}", cargo_home.display()),
            ])
            .args([
                "--variable",
                &format!("CARGO_TARGET_DIR={}", target.display()),
            ])
            .args([
                "--variable",
                &format!("PMP_PIPELINE_RECORD={}", record.display()),
            ]);
        for (name, value) in &run.variables {
            command.args(["--variable", &format!("{name}={value}")]);
        }
        command
            .arg(&run.job)
            .env("PATH", &path)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        eprintln!("==> {} (log: {})", run.label, log_path.display());
        let started = Instant::now();
        let status = command.status().context("cannot start gitlab-ci-local")?;
        let elapsed = started.elapsed();
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let verdict = match (run.must_pass, status.success(), &run.fails_saying) {
            (true, true, _) => Ok("passed"),
            (false, false, Some(sentence)) if text.contains(sentence.as_str()) => {
                Ok("failed closed, as it must")
            }
            (false, false, Some(sentence)) => {
                Err(format!("failed, but without saying `{sentence}`"))
            }
            (false, true, _) => Err("passed, but it must fail".to_owned()),
            _ => Err(format!("failed ({status})")),
        };
        match verdict {
            Ok(result) => {
                if run.must_pass {
                    check_scripts(&run.job, &text)?;
                } else {
                    anyhow::ensure!(
                        !text.contains(&format!("{} $ cargo xtask", run.job)),
                        "{} reached `cargo xtask` although its credentials were missing",
                        run.label
                    );
                }
                table.push((run.label.clone(), result.to_owned(), elapsed));
            }
            Err(problem) => {
                table.push((run.label.clone(), "FAILED".to_owned(), elapsed));
                bail!("{}: {problem}; see {}", run.label, log_path.display());
            }
        }
        if !run.must_pass {
            // Failing closed means before any AWS call: nothing of this job may be in the record.
            let recorded = std::fs::read_to_string(record).unwrap_or_default();
            anyhow::ensure!(
                !recorded
                    .lines()
                    .any(|line| line.starts_with(&format!("{}|", run.job))),
                "{} called AWS or Terraform although its credentials were missing",
                run.label
            );
        }
    }
    Ok(())
}

/// What passed between the jobs, read from the fakes' record.
fn check_record(record: &str, stage: &str) -> anyhow::Result<()> {
    let lines: Vec<&str> = record.lines().collect();
    let plan_job = format!("plan:{stage}|");
    let apply_job = format!("apply:{stage}|");
    anyhow::ensure!(
        lines
            .iter()
            .any(|line| line.starts_with(&plan_job)
                && line.contains("|plan|keys:AKIAPLAN|terraform ")),
        "plan:{stage} did not run Terraform as the plan identity with the plan keys:\n{record}"
    );
    anyhow::ensure!(
        lines.iter().any(|line| line.starts_with(&apply_job)
            && line.contains("|terraform|oidc:fake-id-token|terraform ")),
        "apply:{stage} did not run Terraform as the terraform identity from the token file:\n{record}"
    );
    let migrate_job = format!("migrate:{stage}|deployer|keys:AKIADEPLOY|aws lambda invoke ");
    let function = format!("--function-name pmp-api-{stage}-migrate ");
    let invoked = lines
        .iter()
        .position(|line| line.starts_with(&migrate_job) && line.contains(&function));
    let last_apply = lines.iter().rposition(|line| line.starts_with(&apply_job));
    anyhow::ensure!(
        matches!((invoked, last_apply), (Some(invoked), Some(applied)) if invoked > applied),
        "migrate:{stage} did not invoke pmp-api-{stage}-migrate as the deployer after apply:{stage}:\n{record}"
    );
    let checksums = |prefix: &str| {
        lines
            .iter()
            .filter_map(|line| line.strip_prefix(prefix))
            .collect::<Vec<_>>()
    };
    let (planned, applied) = (checksums("planned:"), checksums("applied:"));
    anyhow::ensure!(
        planned.len() == 1 && applied == planned,
        "apply:{stage} did not apply exactly the plan file and lock file that plan:{stage} made (plan file and lock \
         file sha256 made: {planned:?}, applied: {applied:?})"
    );
    Ok(())
}

/// Every command a job's log shows it running is `cargo xtask …`, after the `.aws` credential set-up.
fn check_scripts(job: &str, log: &str) -> anyhow::Result<()> {
    let prefix = format!("{job} $ ");
    let commands: Vec<&str> = log
        .lines()
        .filter_map(|line| line.strip_prefix(prefix.as_str()))
        .collect();
    anyhow::ensure!(
        commands
            .iter()
            .any(|command| command.starts_with("cargo xtask ")),
        "{job} ran no `cargo xtask` command"
    );
    for command in commands {
        anyhow::ensure!(
            command.starts_with("cargo xtask ") || command.starts_with("missing() {"),
            "{job} ran `{command}`, which is neither `cargo xtask …` nor the .aws credential set-up"
        );
    }
    Ok(())
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

fn print_table(table: &[(String, String, Duration)], elapsed: Duration) {
    let width = table
        .iter()
        .map(|(job, ..)| job.len())
        .max()
        .unwrap_or(3)
        .max(3);
    println!("\n{:width$}  {:28}  time", "job", "result");
    for (job, result, time) in table {
        println!("{job:width$}  {result:28}  {}", seconds(*time));
    }
    println!("{:width$}  {:28}  {}", "total", "", seconds(elapsed));
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str =
        "plan:dev|plan|keys:AKIAPLAN|terraform -chdir=terraform plan -out=plans/dev.tfplan\n";
    const APPLY: &str = "apply:dev|terraform|oidc:fake-id-token|terraform -chdir=terraform apply plans/dev.tfplan\n";

    const MIGRATE: &str = "migrate:dev|deployer|keys:AKIADEPLOY|aws lambda invoke --function-name pmp-api-dev-migrate out\n";

    #[test]
    fn apply_must_use_the_plan_and_lock_file_that_plan_made() {
        let same = format!("{PLAN}planned:aa:bb\n{APPLY}applied:aa:bb\n{MIGRATE}");
        assert!(check_record(&same, "dev").is_ok());
        let other_lock = format!("{PLAN}planned:aa:bb\n{APPLY}applied:aa:cc\n{MIGRATE}");
        assert!(check_record(&other_lock, "dev").is_err());
        let not_applied = format!("{PLAN}planned:aa:bb\n{APPLY}{MIGRATE}");
        assert!(check_record(&not_applied, "dev").is_err());
    }

    #[test]
    fn migrate_must_invoke_the_migration_function_after_apply() {
        let before = format!("{PLAN}planned:aa:bb\n{MIGRATE}{APPLY}applied:aa:bb\n");
        assert!(check_record(&before, "dev").is_err());
        let api = format!(
            "{PLAN}planned:aa:bb\n{APPLY}applied:aa:bb\n{}",
            MIGRATE.replace("-migrate ", "-api ")
        );
        assert!(check_record(&api, "dev").is_err());
    }

    #[test]
    fn each_job_must_run_as_its_own_identity() {
        let wrong = format!(
            "{}planned:aa:bb\n{APPLY}applied:aa:bb\n{MIGRATE}",
            PLAN.replace("|plan|", "|terraform|")
        );
        assert!(check_record(&wrong, "dev").is_err());
        let keys_for_apply = format!(
            "{PLAN}planned:aa:bb\n{}applied:aa:bb\n{MIGRATE}",
            APPLY.replace("oidc:fake-id-token", "keys:AKIA")
        );
        assert!(check_record(&keys_for_apply, "dev").is_err());
    }

    #[test]
    fn a_job_runs_cargo_xtask_and_nothing_else() {
        let good = "plan:dev $ missing() { echo … # collapsed multi-line command\nplan:dev $ cargo xtask plan --stage dev\n";
        assert!(check_scripts("plan:dev", good).is_ok());
        let extra = format!("{good}plan:dev $ curl https://example.com\n");
        assert!(check_scripts("plan:dev", &extra).is_err());
        assert!(
            check_scripts("plan:dev", "plan:dev $ missing() {\n").is_err(),
            "no cargo xtask"
        );
    }
}
