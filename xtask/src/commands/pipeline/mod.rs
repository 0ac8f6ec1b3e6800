//! `pipeline`: the jobs of `.gitlab-ci.yml` executed by gitlab-ci-local's shell executor, in order, in a throwaway
//! clone with a default-branch remote: build, plan, apply, deploy, migrate and the manual teardown of the stage, then
//! prod's plan in a release-tag pipeline. `aws` and `terraform` are recording fakes (fake.sh) first on the jobs' PATH;
//! where the real client can talk to the rehearsal's emulator (the AWS CLI, osls, the domain plugin) the fake hands
//! the call on to it, so each job's credential set-up, identity and commands are seen and what passed between jobs
//! is checked afterwards. What this proves and what it cannot: docs/pipeline.md, "Running the jobs locally".

mod record;
mod runs;

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use nix::unistd::Pid;
use serde_json::Value;
use sha2::{Digest, Sha256};
use xshell::Shell;

use self::runs::{Auth, AwsSide, JobRun, Must, Outside, PROD, RELEASE_TAG, Ref, Step};
use super::build::{self, Arch};
use super::local::services::{StopFlag, wait_or_stop};
use super::rehearse::checks::{self, Seeded};
use super::rehearse::emulator::Emulator;
use crate::Ctx;
use crate::runner::{self, seconds};
use crate::stage::Stage;
use crate::tools::{Installs, VENV};

#[derive(Debug, Args)]
pub struct Pipeline {}

const WORK: &str = "target/pipeline";
const GITLAB_CI_LOCAL: &str = "node_modules/.bin/gitlab-ci-local";
/// The jobs' own target dir, kept between runs: the clone's paths differ from the checkout's, so sharing target/
/// would rebuild the checkout's xtask after every run (and let a build of the clone pass for one of the working tree).
const TARGET: &str = "target/pipeline-target";
/// The jobs' GitLab caches of target/ (`cache-cargo`: xtask and the test build; `cache-lambda`: the build job's arm64
/// release build and its host half), by cache: each folder is filled from the checkout's own target/ when the jobs'
/// target dir has none yet, as GitLab restores a cache. Cargo then rebuilds only the workspace's own crates (measured
/// here for the build job: 9 crates and 66 s instead of every dependency and 150 s).
const JOB_CACHES: &[(&str, &[&str])] = &[
    ("cache-cargo", &["debug"]),
    ("cache-lambda", &["aarch64-unknown-linux-gnu", "release"]),
];
const FAKE: &str = include_str!("fake.sh");
const EMULATED: &str = "xtask/src/commands/pipeline/emulated.py";
/// Predefined variables the runs set on purpose: gitlab-ci-local warns about overriding them otherwise.
const IGNORED_VARIABLES: &str =
    "FF_DISABLE_UMASK_FOR_DOCKER_EXECUTOR,CI_COMMIT_BRANCH,CI_COMMIT_REF_NAME,GITLAB_CI";
/// What the jobs inherit from this process (besides PATH, the emulator's endpoint and region): where the toolchains are
/// and how to name things.
const INHERITED: &[&str] = &[
    "HOME",
    "USER",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
];
/// The ID token the oidc runs get: written to the token file, never exchanged.
const ID_TOKEN: &str = "fake-id-token";

/// What one run found out that later steps need.
#[derive(Debug, Default)]
struct Found {
    /// Access key id and secret of each identity's IAM user in the emulator (identity → key).
    keys: BTreeMap<String, (String, String)>,
    seeded: Seeded,
    /// The hex SHA-256 of the zip the build job left as its artifact.
    zip_sha256: Option<String>,
}

/// Where a run's pieces are. Dropping it removes the clone, whatever happened; the record and logs stay for a look.
struct Places {
    work: PathBuf,
    clone: PathBuf,
    fakes: PathBuf,
    record: PathBuf,
    /// An empty home for gitlab-ci-local: no variables file of the person's own takes part.
    home: PathBuf,
}

impl Drop for Places {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.clone).ok();
    }
}

impl Pipeline {
    pub fn run(self, ctx: &Ctx, sh: &Shell) -> anyhow::Result<()> {
        let stage = ctx.stage.to_string();
        anyhow::ensure!(
            stage == "dev",
            "pipeline runs the dev stage's jobs (and prod's plan, in a release-tag pipeline): use --stage dev"
        );
        let account = |stage: &str| Stage::known(stage, &ctx.root)?.account_id(&ctx.root);
        let (stage_account, prod_account) = (account(&stage)?, account(PROD)?);
        let steps = runs::steps(&stage, &stage_account, &prod_account);
        if ctx.dry_run {
            print_steps(&steps, &stage_account);
            return Ok(());
        }
        if which("rsync").is_none() {
            bail!(
                "rsync is not on PATH, and gitlab-ci-local's shell executor needs it to copy the checkout: install it \
                 (Debian: apt-get install rsync; .ci/run does it in CI) and run again"
            );
        }
        let stop = StopFlag::install()?;
        prepare_tools(ctx, sh)?;
        let places = prepare(ctx)?;
        let started = Instant::now();
        let emulator = Emulator::start(&ctx.root, Some(&stage_account))?;
        eprintln!("==> the emulator answers on {}", emulator.endpoint);
        let mut table = Vec::new();
        let mut found = Found::default();
        let mut outcome = Ok(());
        for (number, step) in steps.iter().enumerate() {
            let label = match step {
                Step::Job(run) => run.label(),
                Step::Outside(outside) => outside.to_string(),
            };
            eprintln!("==> {label}");
            let step_started = Instant::now();
            let result = match step {
                Step::Job(run) => run_job(ctx, number + 1, run, &places, &emulator, &found, &stop),
                Step::Outside(outside) => {
                    outside_step(ctx, *outside, &places, &emulator, &stop, &mut found)
                }
            };
            let result = result.and_then(|verdict| {
                if stop.raised() {
                    bail!("interrupted");
                }
                if let (Step::Job(run), None) = (step, &found.zip_sha256)
                    && run.job == "build"
                {
                    found.zip_sha256 = Some(built_zip_sha256(&places.clone)?);
                }
                Ok(verdict)
            });
            match result {
                Ok(verdict) => table.push((label, verdict, step_started.elapsed())),
                Err(error) => {
                    table.push((label, "FAILED".to_owned(), step_started.elapsed()));
                    outcome = Err(error);
                    break;
                }
            }
        }
        drop(emulator);
        if outcome.is_ok() {
            let keys = found
                .keys
                .iter()
                .map(|(identity, (id, _))| (identity.clone(), id.clone()))
                .collect();
            let record = std::fs::read_to_string(&places.record).unwrap_or_default();
            outcome = record::check_record(&record, &stage, &keys)
                .context("what passed between the jobs is wrong");
            table.push((
                "check: what passed between the jobs".to_owned(),
                if outcome.is_ok() { "ok" } else { "FAILED" }.to_owned(),
                Duration::ZERO,
            ));
        }
        print_table(&table, started.elapsed());
        outcome
    }
}

fn print_steps(steps: &[Step], stage_account: &str) {
    println!(
        "# make a throwaway clone in {WORK}/clone with an origin/main default branch; start the emulator as account \
         {stage_account}"
    );
    for step in steps {
        match step {
            Step::Job(run) => {
                let on = match run.on {
                    Ref::DefaultBranch => String::new(),
                    Ref::ReleaseTag => format!(" --variable CI_COMMIT_TAG={RELEASE_TAG}"),
                };
                let must = match &run.must {
                    Must::Pass => "must pass".to_owned(),
                    Must::FailSaying(sentence) => format!("must fail saying `{sentence}`"),
                };
                println!(
                    "$ {GITLAB_CI_LOCAL} --cwd {WORK}/clone --force-shell-executor{on} {}  # {}; {must}",
                    run.job,
                    run.label()
                );
            }
            Step::Outside(outside) => println!("# {outside}"),
        }
    }
    println!("# check what passed between the jobs, stop the emulator, remove the clone");
}

/// The pinned Python tools (the emulator, the build's cargo-lambda) and node_modules (gitlab-ci-local, osls).
fn prepare_tools(ctx: &Ctx, sh: &Shell) -> anyhow::Result<()> {
    let mut installs = Installs::detect(&ctx.root);
    let mut steps = std::mem::take(&mut installs.python);
    steps.extend(std::mem::take(&mut installs.node));
    if !steps.is_empty() {
        runner::run(sh, "pipeline: tools", &steps, ctx.verbose)?;
    }
    Ok(())
}

/// The work folder, the fakes, the clone (with the pinned tools linked in, as the jobs' caches would restore them),
/// and the jobs' target dir with the build's cache.
fn prepare(ctx: &Ctx) -> anyhow::Result<Places> {
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
    let (clone, fakes) = (work.join("clone"), work.join("bin"));
    std::fs::create_dir_all(&fakes)?;
    for tool in ["aws", "terraform"] {
        let path = fakes.join(tool);
        std::fs::write(&path, FAKE)?;
        let mut permissions = std::fs::metadata(&path)?.permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&path, permissions)?;
    }
    let home = work.join("home");
    std::fs::create_dir_all(&home)?;
    let places = Places {
        record: work.join("record.txt"),
        work,
        clone,
        fakes,
        home,
    };
    crate::commands::check::gitlab::prepare_clone(root, &places.clone)?;
    commit_working_tree(root, &places.clone)?;
    for folder in JOB_CACHES.iter().flat_map(|(_, folders)| folders.iter()) {
        let (cache, source) = (
            root.join(TARGET).join(folder),
            root.join("target").join(folder),
        );
        if cache.exists() || !source.exists() {
            continue;
        }
        eprintln!(
            "==> filling the jobs' cache {TARGET}/{folder} from the checkout's target/{folder}"
        );
        std::fs::create_dir_all(&cache)?;
        // Not the incremental data: CI builds with CARGO_INCREMENTAL=0, and it is the larger half of target/debug.
        let entries: Vec<PathBuf> = std::fs::read_dir(&source)?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| !path.ends_with("incremental"))
            .collect();
        if entries.is_empty() {
            continue;
        }
        let copying = Instant::now();
        // A copy-on-write clone where the file system can (btrfs, XFS); a plain copy elsewhere. Never hard links:
        // cargo rewrites fingerprint files in place, which would change the checkout's own build.
        let status = Command::new("cp")
            .args(["-a", "--reflink=auto"])
            .args(&entries)
            .arg(&cache)
            .status()
            .context("cannot run cp")?;
        anyhow::ensure!(
            status.success(),
            "cannot copy {} to {}",
            source.display(),
            cache.display()
        );
        eprintln!("    done in {}", seconds(copying.elapsed()));
    }
    Ok(places)
}

/// The jobs run what the working tree holds, as the commit it would be: its changed and new files (not the ignored
/// ones) join the clone's last commit, with links to the pinned tools that the jobs' caches restore in GitLab
/// (`.venv`, `node_modules`; gitlab-ci-local's isolated jobs get only what the commit tracks).
fn commit_working_tree(root: &Path, clone: &Path) -> anyhow::Result<()> {
    let git = |dir: &Path, args: &[&str]| -> anyhow::Result<String> {
        let output = Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .context("cannot run git")?;
        anyhow::ensure!(
            output.status.success(),
            "`git {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let changed = git(root, &["diff", "--name-only", "HEAD"])?;
    let new = git(root, &["ls-files", "--others", "--exclude-standard"])?;
    for file in changed.lines().chain(new.lines()) {
        let (source, target) = (root.join(file), clone.join(file));
        if source.exists() {
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::copy(&source, &target)
                .with_context(|| format!("cannot copy {file} into the clone"))?;
        } else if target.exists() {
            std::fs::remove_file(&target)?;
        }
    }
    for tool in [VENV, "node_modules"] {
        if !clone.join(tool).exists() {
            std::os::unix::fs::symlink(root.join(tool), clone.join(tool))
                .with_context(|| format!("cannot link {tool} into the clone"))?;
        }
    }
    git(clone, &["add", "--all"])?;
    git(clone, &["add", "--force", VENV, "node_modules"])?;
    git(
        clone,
        &[
            "-c",
            "user.name=cargo xtask pipeline",
            "-c",
            "user.email=pipeline@localhost",
            "commit",
            "--quiet",
            "--no-verify",
            "--allow-empty",
            "--message",
            "the working tree, with links to the pinned tools",
        ],
    )?;
    // The default branch is this commit, as after a merge.
    git(clone, &["update-ref", "refs/remotes/origin/main", "HEAD"])?;
    Ok(())
}

/// The variables of one run: its credentials (the `PMP_*` variables GitLab would hold), the fake's instructions, and
/// for a release-tag pipeline the ref variables.
fn variables(run: &JobRun, found: &Found) -> Vec<(String, String)> {
    let stage = run.job.split(':').nth(1).unwrap_or_default();
    let mut variables = Vec::new();
    let account = match &run.aws {
        AwsSide::Emulator => String::new(),
        AwsSide::Fake { account } => account.clone(),
    };
    if let Some(auth) = run.auth {
        variables.push((
            "PMP_AWS_AUTH".to_owned(),
            match auth {
                Auth::Keys => "keys",
                Auth::Oidc => "oidc",
            }
            .to_owned(),
        ));
        for identity in ["plan", "terraform", "deployer"] {
            let prefix = runs::variable_prefix(identity);
            match auth {
                Auth::Oidc => variables.push((
                    format!("PMP_{prefix}_ROLE_ARN"),
                    format!(
                        "arn:aws:iam::{account}:role/{}",
                        runs::principal(identity, stage, auth)
                    ),
                )),
                Auth::Keys => {
                    let (id, secret) = match (&run.aws, found.keys.get(identity)) {
                        (AwsSide::Emulator, Some((id, secret))) => (id.clone(), secret.clone()),
                        _ => (record::fake_key(identity), "fake-secret".to_owned()),
                    };
                    variables.push((format!("PMP_{prefix}_AWS_ACCESS_KEY_ID"), id));
                    variables.push((format!("PMP_{prefix}_AWS_SECRET_ACCESS_KEY"), secret));
                }
            }
        }
        if auth == Auth::Oidc {
            variables.push(("AWS_ID_TOKEN".to_owned(), ID_TOKEN.to_owned()));
        }
    }
    if let Some(without) = &run.without {
        variables.retain(|(name, _)| name != without);
    }
    variables.push((
        "PMP_PIPELINE_AWS".to_owned(),
        match run.aws {
            AwsSide::Emulator => "emulator",
            AwsSide::Fake { .. } => "fake",
        }
        .to_owned(),
    ));
    variables.push(("PMP_PIPELINE_ACCOUNT".to_owned(), account));
    if run.on == Ref::ReleaseTag {
        for (name, value) in [
            ("CI_COMMIT_TAG", RELEASE_TAG),
            ("CI_COMMIT_REF_NAME", RELEASE_TAG),
            ("CI_COMMIT_BRANCH", ""),
        ] {
            variables.push((name.to_owned(), value.to_owned()));
        }
    }
    variables
}

/// gitlab-ci-local in the clone, with the fakes first on PATH and the emulator's environment (endpoint, region, no
/// profile or config file of the person's own) but none of its credentials: those come from the job's `.aws` set-up.
fn gitlab_ci_local(ctx: &Ctx, places: &Places, emulator: &Emulator) -> anyhow::Result<Command> {
    let cargo_home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo")
        });
    let mut command = Command::new(ctx.root.join(GITLAB_CI_LOCAL));
    // The jobs' shells inherit this environment: only what finds the tools, nothing of the person's own AWS, cargo or
    // project settings (AWS_ENDPOINT_URL_<SERVICE>, RUSTFLAGS, PMP_*, gitlab-ci-local's GCL_* options) nor of an
    // outer GitLab job (CI_*).
    command.env_clear();
    for name in INHERITED {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    // gitlab-ci-local runs each job's script in bash with a socket for stdin; bash takes that for a remote shell and,
    // when it is the first level (no SHLVL), reads ~/.bashrc, whose PATH would then come before the fakes.
    command.env(
        "SHLVL",
        std::env::var_os("SHLVL").unwrap_or_else(|| "1".into()),
    );
    command
        .current_dir(&ctx.root)
        .args(["--cwd", &format!("{WORK}/clone")])
        // Each job in a fresh copy of the commit (.gitlab-ci-local/builds/<job>), with only what its `needs` bring as
        // artifacts: without it every job would run in the clone itself and see what earlier jobs left there.
        .arg("--shell-isolation")
        .arg("--home")
        .arg(&places.home)
        .args(["--ignore-predefined-vars", IGNORED_VARIABLES])
        // gitlab-ci-local says `false`; GitLab says `true`, and xtask's CI-only checks (the job names its identity,
        // instance metadata is off) must run as they do in GitLab.
        .args(["--variable", "GITLAB_CI=true"])
        // One cargo home and target dir for every job: xtask compiles once for the whole run.
        .args([
            "--variable",
            &format!("CARGO_HOME={}", cargo_home.display()),
        ])
        .args([
            "--variable",
            &format!("CARGO_TARGET_DIR={}", ctx.root.join(TARGET).display()),
        ])
        .args([
            "--variable",
            &format!("PMP_PIPELINE_RECORD={}", places.record.display()),
        ])
        .args([
            "--variable",
            &format!("PMP_PIPELINE_EMULATOR_AWS={}", emulator.aws().display()),
        ]);
    for (name, value) in emulator.environment(&ctx.region)? {
        match name.as_str() {
            "PATH" | "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" => {}
            _ => {
                command.env(name, value);
            }
        }
    }
    let path = format!(
        "{}:{}",
        places.fakes.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    command.env("PATH", path);
    Ok(command)
}

fn run_job(
    ctx: &Ctx,
    number: usize,
    run: &JobRun,
    places: &Places,
    emulator: &Emulator,
    found: &Found,
    stop: &StopFlag,
) -> anyhow::Result<String> {
    let log_path = places
        .work
        .join(format!("{number:02}-{}.log", run.job.replace(':', "-")));
    let log = std::fs::File::create(&log_path)?;
    let mut command = gitlab_ci_local(ctx, places, emulator)?;
    command.arg("--force-shell-executor");
    for (name, value) in variables(run, found) {
        command.args(["--variable", &format!("{name}={value}")]);
    }
    command
        .arg(&run.job)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    eprintln!("    log: {}", log_path.display());
    let before = std::fs::read_to_string(&places.record)
        .unwrap_or_default()
        .lines()
        .count();
    let status = wait_for(command, stop)?;
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    let record = std::fs::read_to_string(&places.record).unwrap_or_default();
    let added = record::added(&record, before);
    let label = run.label();
    match (&run.must, status.success()) {
        (Must::Pass, true) => {
            record::check_scripts(&run.job, &text)?;
            Ok("passed".to_owned())
        }
        (Must::FailSaying(sentence), false) if text.contains(sentence.as_str()) => {
            if run.without.is_some() {
                anyhow::ensure!(
                    !text.contains(&format!("{} $ cargo xtask", run.job)),
                    "{label} reached `cargo xtask` although its credentials were missing"
                );
            }
            record::check_failed_run(&label, &added, run.without.is_some())?;
            Ok("failed closed, as it must".to_owned())
        }
        (Must::FailSaying(sentence), false) => {
            bail!(
                "{label} failed, but without saying `{sentence}`; see {}",
                log_path.display()
            )
        }
        (Must::FailSaying(_), true) => {
            bail!(
                "{label} passed, but it must fail; see {}",
                log_path.display()
            )
        }
        (Must::Pass, false) => {
            super::rehearse::print_tail(&log_path);
            bail!("{label} failed ({status}); see {}", log_path.display())
        }
    }
}

/// Runs gitlab-ci-local in a process group of its own, so that an interruption of xtask (Ctrl-C, SIGTERM) stops it
/// and the job it runs before the emulator goes.
fn wait_for(mut command: Command, stop: &StopFlag) -> anyhow::Result<std::process::ExitStatus> {
    let mut child = command
        .process_group(0)
        .spawn()
        .context("cannot start gitlab-ci-local")?;
    let group = Pid::from_raw(i32::try_from(child.id()).context("a process id above i32")?);
    wait_or_stop(&mut child, group, stop)
}

fn outside_step(
    ctx: &Ctx,
    outside: Outside,
    places: &Places,
    emulator: &Emulator,
    stop: &StopFlag,
    found: &mut Found,
) -> anyhow::Result<String> {
    let environment = emulator.environment(&ctx.region)?;
    let stage = ctx.stage.to_string();
    let state = |found: &Found| super::rehearse::read_state(ctx, &environment, &found.seeded);
    match outside {
        Outside::Bootstrap => {
            let args: Vec<String> = ["bootstrap", "--stage", &stage, "--region", &ctx.region]
                .iter()
                .map(|word| (*word).to_owned())
                .collect();
            let log = places.work.join("01-bootstrap.log");
            super::rehearse::run_xtask(ctx, &args, &environment, &log, stop)
                .with_context(|| format!("bootstrap failed; see {}", log.display()))?;
            checks::bootstrapped(&state(found)?)?;
            Ok("ok, state checked".to_owned())
        }
        Outside::AdministratorIdentities => {
            let identities = ["plan", "terraform"];
            make_users(ctx, &environment, &stage, &identities, found)?;
            Ok(format!("{} users with keys", identities.len()))
        }
        Outside::AppliedStage => {
            found.seeded = super::rehearse::seed(ctx, &environment)?;
            make_users(ctx, &environment, &stage, &["deployer"], found)?;
            let request = serde_json::json!({
                "action": "state",
                "region": ctx.region,
                "stack": crate::names::STATE_STACK,
                "key": format!("pmp/{stage}/terraform.tfstate"),
            });
            super::rehearse::python(ctx, EMULATED, &request, &environment)?;
            Ok(format!("{} parameters", found.seeded.len()))
        }
        Outside::Deployed => {
            let state = state(found)?;
            checks::deployed(&state, &found.seeded, &ctx.stage, Arch::Arm64.name())?;
            let zip = found
                .zip_sha256
                .as_deref()
                .context("the build job left no zip")?;
            check_functions_run(&state, zip)?;
            Ok("ok, build's zip".to_owned())
        }
        Outside::Removed => {
            checks::removed(&state(found)?, &ctx.stage)?;
            Ok("ok".to_owned())
        }
        Outside::PipelineShape => {
            let list = |release_tag: bool| -> anyhow::Result<String> {
                let mut command = gitlab_ci_local(ctx, places, emulator)?;
                command.arg("--list-csv");
                if release_tag {
                    for (name, value) in [
                        ("CI_COMMIT_TAG", RELEASE_TAG),
                        ("CI_COMMIT_REF_NAME", RELEASE_TAG),
                        ("CI_COMMIT_BRANCH", ""),
                    ] {
                        command.args(["--variable", &format!("{name}={value}")]);
                    }
                }
                let output = command.output().context("cannot start gitlab-ci-local")?;
                anyhow::ensure!(
                    output.status.success(),
                    "gitlab-ci-local --list-csv failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                Ok(String::from_utf8_lossy(&output.stdout).into_owned())
            };
            let default_branch = list(false)?;
            record::check_stage_chain(&default_branch, &stage)?;
            record::check_prod_path(&default_branch, &list(true)?)?;
            Ok("ok".to_owned())
        }
    }
}

/// IAM users for `identities` in the emulator, each with an access key, as their principal names (docs/iam.md).
fn make_users(
    ctx: &Ctx,
    environment: &[(String, String)],
    stage: &str,
    identities: &[&str],
    found: &mut Found,
) -> anyhow::Result<()> {
    let users: Vec<String> = identities
        .iter()
        .map(|identity| runs::principal(identity, stage, Auth::Keys))
        .collect();
    let request = serde_json::json!({"action": "users", "region": ctx.region, "users": users});
    let answer = super::rehearse::python(ctx, EMULATED, &request, environment)?;
    for (identity, user) in identities.iter().zip(&users) {
        let key = &answer["keys"][user];
        let (Some(id), Some(secret)) = (key[0].as_str(), key[1].as_str()) else {
            bail!("{EMULATED} made no access key for {user}");
        };
        found
            .keys
            .insert((*identity).to_owned(), (id.to_owned(), secret.to_owned()));
    }
    Ok(())
}

/// The build job's artifact, as gitlab-ci-local keeps it for the jobs that need it.
fn built_zip_sha256(clone: &Path) -> anyhow::Result<String> {
    let zip = clone
        .join(".gitlab-ci-local/artifacts/build")
        .join(build::zip_path(Arch::Arm64));
    let bytes = std::fs::read(&zip)
        .with_context(|| format!("the build job left no artifact {}", zip.display()))?;
    Ok(format!("{:x}", Sha256::digest(bytes)))
}

/// Every function of the stage runs the zip the build job made.
fn check_functions_run(state: &Value, zip_sha256: &str) -> anyhow::Result<()> {
    let functions = state["functions"]
        .as_object()
        .filter(|functions| !functions.is_empty())
        .context("the stage has no functions")?;
    for (name, function) in functions {
        let code = function["code_sha256"].as_str().unwrap_or_default();
        anyhow::ensure!(
            code == zip_sha256,
            "{name} runs code with SHA-256 {code}, not the zip that the build job made ({zip_sha256})"
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
        .map(|(step, ..)| step.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "\npipeline: summary (jobs through gitlab-ci-local, AWS from the emulator or the fakes)"
    );
    println!("  {:width$}  {:26}  {:>7}", "step", "result", "time");
    for (step, result, time) in table {
        println!("  {step:width$}  {result:26}  {:>7}", seconds(*time));
    }
    println!("  {:width$}  {:26}  {:>7}", "total", "", seconds(elapsed));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(job: &str, auth: Auth, aws: AwsSide) -> JobRun {
        runs::steps("dev", "123456789012", "210987654321")
            .into_iter()
            .find_map(|step| match step {
                Step::Job(run)
                    if run.job == job
                        && run.auth == Some(auth)
                        && run.aws == aws
                        && run.must == Must::Pass =>
                {
                    Some(run)
                }
                _ => None,
            })
            .expect("the run list has it")
    }

    fn value<'a>(variables: &'a [(String, String)], name: &str) -> Option<&'a str> {
        variables
            .iter()
            .find(|(variable, _)| variable == name)
            .map(|(_, value)| value.as_str())
    }

    #[test]
    fn emulator_runs_get_the_users_keys_and_fake_runs_fake_keys() {
        let mut found = Found::default();
        found.keys.insert(
            "deployer".to_owned(),
            ("AKIAUSER".to_owned(), "s".to_owned()),
        );
        let deploy = variables(&run("deploy:dev", Auth::Keys, AwsSide::Emulator), &found);
        assert_eq!(
            value(&deploy, "PMP_DEPLOY_AWS_ACCESS_KEY_ID"),
            Some("AKIAUSER")
        );
        assert_eq!(value(&deploy, "PMP_PIPELINE_AWS"), Some("emulator"));
        let prod = AwsSide::Fake {
            account: "210987654321".to_owned(),
        };
        let plan = variables(&run("plan:prod", Auth::Keys, prod), &found);
        assert_eq!(
            value(&plan, "PMP_PLAN_AWS_ACCESS_KEY_ID"),
            Some("AKIAFAKEPLAN")
        );
        assert_eq!(value(&plan, "PMP_PIPELINE_ACCOUNT"), Some("210987654321"));
        assert_eq!(value(&plan, "CI_COMMIT_TAG"), Some(RELEASE_TAG));
        assert_eq!(value(&plan, "CI_COMMIT_BRANCH"), Some(""));
    }

    #[test]
    fn oidc_runs_get_role_arns_of_the_account_and_a_token() {
        let dev = AwsSide::Fake {
            account: "123456789012".to_owned(),
        };
        let apply = variables(&run("apply:dev", Auth::Oidc, dev), &Found::default());
        assert_eq!(
            value(&apply, "PMP_TERRAFORM_ROLE_ARN"),
            Some("arn:aws:iam::123456789012:role/pmp-api-dev-terraform")
        );
        assert_eq!(value(&apply, "AWS_ID_TOKEN"), Some(ID_TOKEN));
        assert_eq!(value(&apply, "PMP_TERRAFORM_AWS_ACCESS_KEY_ID"), None);
    }

    #[test]
    fn a_fail_closed_run_lacks_exactly_its_variable() {
        let steps = runs::steps("dev", "123456789012", "210987654321");
        for step in steps {
            if let Step::Job(run) = step
                && let Some(without) = &run.without
            {
                let given = variables(&run, &Found::default());
                assert_eq!(value(&given, without), None, "{}", run.label());
                let mut complete = run.clone();
                complete.without = None;
                assert!(value(&variables(&complete, &Found::default()), without).is_some());
            }
        }
    }

    #[test]
    fn the_caches_filled_are_the_pipelines_own() -> anyhow::Result<()> {
        let pipeline = std::fs::read_to_string(crate::project_root().join(".gitlab-ci.yml"))?;
        for (anchor, folders) in JOB_CACHES {
            let cache = pipeline
                .split_once(&format!("&{anchor}"))
                .and_then(|(_, rest)| rest.split_once("policy:"))
                .map(|(block, _)| block)
                .with_context(|| format!("no {anchor} in .gitlab-ci.yml"))?;
            let mut paths: Vec<&str> = cache
                .lines()
                .filter_map(|line| line.trim().strip_prefix("- target/"))
                .map(|path| path.trim_end_matches('/'))
                .collect();
            paths.sort_unstable();
            let mut expected = folders.to_vec();
            expected.sort_unstable();
            assert_eq!(paths, expected, "{anchor}");
        }
        Ok(())
    }

    #[test]
    fn deploy_must_have_shipped_the_zip_that_build_made() {
        let state = serde_json::json!({"functions": {
            "pmp-api-dev-api": {"code_sha256": "ab"},
            "pmp-api-dev-migrate": {"code_sha256": "ab"},
        }});
        assert!(check_functions_run(&state, "ab").is_ok());
        assert!(check_functions_run(&state, "cd").is_err());
        assert!(check_functions_run(&serde_json::json!({"functions": {}}), "ab").is_err());
    }
}
