//! `loadtest`: the concurrency bound under load, all on 127.0.0.1. PostgreSQL 17 (the `local-postgres` server) with
//! the stage's `max_connections`, the roles and migrations applied; PgBouncer in session mode standing in for RDS Proxy
//! with pinned sessions, its pool exactly the proxy's budget (`max_connections × MaxConnectionsPercent`) and its wait
//! timeout the proxy's connection borrow timeout; the function behind an emulator of Lambda's concurrency (see
//! `emulator`); wrk as the callers. Every figure comes from `terraform/modules/concurrency` (see `bound`).
//!
//! Scenarios: through the pooler at the reserved concurrency (the bound), at 2× with the limit kept (what the bound
//! does: throttles), at 2× and 4× with the limit lifted (what a missing or wrong bound would do); and direct to
//! PostgreSQL at 1×, 2×, 4× (the anchor: what the proxy buys). One table each, and target/loadtest/result.json.
//!
//! Data first, as every command: a list of tasks, printed by `--dry-run` (figures only known after the module is
//! evaluated appear as `<placeholders>`), or run. Everything started runs in a process group of its own and is stopped
//! on every exit path, Ctrl-C included.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use nix::sys::signal::Signal;
use xshell::Shell;

use super::bench::runtime_api::RuntimeApi;
use super::local::services::{Services, StopFlag};
use crate::Ctx;
use crate::runner;
use crate::step::{Outputs, Step};
use crate::tools;

mod bound;
mod emulator;
mod report;
mod wrk;

use bound::Bound;
use report::Measured;

const DIR: &str = "target/loadtest";
/// The cluster and PgBouncer's files; owned by the `postgres` user when xtask runs as root.
const PG_DIR: &str = "target/loadtest/postgres";
const PG_DATA: &str = "target/loadtest/postgres/data";
const BOUNCER_INI: &str = "target/loadtest/postgres/pgbouncer.ini";
const BOUNCER_USERS: &str = "target/loadtest/postgres/users.txt";
const MODULE_COPY: &str = "target/loadtest/concurrency";
const SCRIPT: &str = "target/loadtest/classify.lua";
const RESULT: &str = "target/loadtest/result.json";
const FUNCTION: &str = "target/release/bootstrap";
/// Debian packages unpacked here when PgBouncer or wrk is not on PATH (never installed system-wide).
const TOOLS: &str = ".tools/deb";
const DEBS: &str = ".tools/debs";
/// Pinned to Debian 12's versions, with the libraries they need beyond a minimal image.
const PACKAGES: [&str; 5] = [
    "pgbouncer=1.18.0-1+deb12u1",
    "libc-ares2=1.18.1-3",
    "libevent-2.1-7=2.1.12-stable-8+deb12u1",
    "wrk=4.1.0-3+b2",
    "libluajit-5.1-2=2.1.0~beta3+git20220320+dfsg-4.1+deb12u1",
];
const DATABASE: &str = "pmp";
/// The scenario at the derived bound, the one the verdict reads.
pub const BOUND_SCENARIO: &str = "pgbouncer-1x";

#[derive(Debug, Args)]
pub struct Loadtest {
    /// How long each scenario runs: seconds, or a number with s or m (20s, 1m).
    #[arg(long, default_value = "20s", value_parser = parse_duration, value_name = "DURATION")]
    pub duration: u64,
}

fn parse_duration(text: &str) -> Result<u64, String> {
    let (number, unit) = match text.strip_suffix('m') {
        Some(minutes) => (minutes, 60),
        None => (text.strip_suffix('s').unwrap_or(text), 1),
    };
    match number.parse::<u64>() {
        Ok(value) if value >= 1 && value * unit <= 3600 => Ok(value * unit),
        _ => Err(format!(
            "{text:?} is not a duration from 1s to 60m (e.g. 20s, 1m)"
        )),
    }
}

/// Where a program comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    OnPath(String),
    /// Unpacked under [`TOOLS`]: run with its libraries on LD_LIBRARY_PATH.
    Unpacked(String),
}

impl Program {
    fn path(&self, root: &Path) -> PathBuf {
        match self {
            Program::OnPath(name) => PathBuf::from(name),
            Program::Unpacked(relative) => root.join(relative),
        }
    }

    fn command(&self, root: &Path) -> Command {
        let mut command = Command::new(self.path(root));
        if matches!(self, Program::Unpacked(_)) {
            command.env(
                "LD_LIBRARY_PATH",
                root.join(TOOLS).join("usr/lib/x86_64-linux-gnu"),
            );
        }
        command
    }
}

/// What the machine has, found without running anything.
#[derive(Debug, Clone)]
pub struct Pieces {
    pub postgres_bin: PathBuf,
    pub as_postgres_user: bool,
    pub pgbouncer: Program,
    pub wrk: Program,
    /// PgBouncer or wrk must be unpacked from Debian packages first.
    pub install: bool,
}

impl Pieces {
    /// Refuses, with one sentence, when a piece is missing and cannot be installed repo-locally.
    pub fn detect(root: &Path) -> anyhow::Result<Pieces> {
        let Some(binaries) = local_postgres::find(root) else {
            bail!("{}", local_postgres::missing_message());
        };
        let as_postgres_user = local_postgres::running_as_root();
        if as_postgres_user {
            local_postgres::check_postgres_user().map_err(anyhow::Error::msg)?;
        }
        if !tools::on_path("terraform") {
            bail!(
                "terraform is not on PATH: the load test reads the stage's figures from terraform/modules/concurrency \
                 with `terraform console` (install Terraform >= 1.6)"
            );
        }
        let find = |name: &str, unpacked: &str| {
            if tools::on_path(name) {
                (Program::OnPath(name.to_owned()), false)
            } else {
                let present = root.join(TOOLS).join(unpacked).is_file();
                (Program::Unpacked(format!("{TOOLS}/{unpacked}")), !present)
            }
        };
        let (pgbouncer, missing_bouncer) = find("pgbouncer", "usr/sbin/pgbouncer");
        let (wrk, missing_wrk) = find("wrk", "usr/bin/wrk");
        let install = missing_bouncer || missing_wrk;
        if install && !(tools::on_path("apt-get") && tools::on_path("dpkg-deb")) {
            bail!(
                "pgbouncer or wrk is missing and this machine has no apt-get/dpkg-deb to unpack them into {TOOLS}: \
                 install them (Debian/Ubuntu: `apt-get install pgbouncer wrk`; macOS: `brew install pgbouncer wrk`)"
            );
        }
        Ok(Pieces {
            postgres_bin: binaries.dir,
            as_postgres_user,
            pgbouncer,
            wrk,
            install,
        })
    }
}

/// Where the function's database connections go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    PgBouncer,
    Direct,
}

/// One load: `factor` × the reserved concurrency callers, the function limited to the reserved concurrency or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    pub name: String,
    pub path: Via,
    pub factor: usize,
    pub limited: bool,
    pub meaning: &'static str,
}

impl Scenario {
    fn new(path: Via, factor: usize, limited: bool, meaning: &'static str) -> Scenario {
        let via = match path {
            Via::PgBouncer => "pgbouncer",
            Via::Direct => "direct",
        };
        let limit = if limited || factor == 1 {
            ""
        } else {
            "-unlimited"
        };
        Scenario {
            name: format!("{via}-{factor}x{limit}"),
            path,
            factor,
            limited,
            meaning,
        }
    }

    fn via(&self) -> &'static str {
        match self.path {
            Via::PgBouncer => "pgbouncer",
            Via::Direct => "direct",
        }
    }
}

/// The scenarios in order: direct first, while no pooler holds server connections (PgBouncer keeps its pool open),
/// then through PgBouncer. [`BOUND_SCENARIO`] is the bound itself.
pub fn scenarios() -> Vec<Scenario> {
    use Via::{Direct, PgBouncer};
    vec![
        Scenario::new(
            Direct,
            1,
            false,
            "no pooler at the bound's concurrency: one server connection per environment",
        ),
        Scenario::new(Direct, 2, false, "no pooler at 2x"),
        Scenario::new(
            Direct,
            4,
            false,
            "no pooler at 4x: past max_connections the server refuses connections",
        ),
        Scenario::new(
            PgBouncer,
            1,
            true,
            "the derived bound: expect 0 database errors, server connections <= pool",
        ),
        Scenario::new(
            PgBouncer,
            2,
            true,
            "2x the callers, the bound kept: the excess is throttled, the database untouched",
        ),
        Scenario::new(
            PgBouncer,
            2,
            false,
            "2x with the limit lifted (no or a wrong bound): environments beyond the pool wait the borrow timeout, then fail",
        ),
        Scenario::new(
            PgBouncer,
            4,
            false,
            "4x with the limit lifted: more environments wait out the borrow timeout and fail",
        ),
    ]
}

/// One part of the plan.
#[derive(Debug)]
pub enum Task {
    /// A command or in-process step, run to completion.
    Run(Step),
    /// Evaluates the concurrency module for the stage.
    Bound,
    /// PostgreSQL, left running until the end.
    StartPostgres,
    /// The roles and migrations.
    Prepare,
    /// PgBouncer, left running until the end.
    StartPgBouncer,
    Scenario(Scenario),
    Report,
}

/// What running the plan knows so far.
struct State {
    bound: Option<Bound>,
    pg_port: u16,
    bouncer_port: u16,
    services: Services,
    results: Vec<Measured>,
}

impl Task {
    /// The line a dry run prints.
    pub fn render(&self, pieces: &Pieces, seconds: u64) -> String {
        let server = |program: &str, args: &str| {
            let path = pieces.postgres_bin.join(program).display().to_string();
            if pieces.as_postgres_user {
                format!("$ runuser -u postgres -- {path} {args}")
            } else {
                format!("$ {path} {args}")
            }
        };
        match self {
            Task::Run(step) => step.render(),
            Task::Bound => format!(
                "$ terraform -chdir={MODULE_COPY} console -var=instance_class=<stage's db_instance_class> \
                 -var=max_connections_percent=<proxy_max_connections_percent> -var=headroom=<concurrency_headroom> \
                 <<< '{}'",
                bound::EXPRESSION
            ),
            Task::StartPostgres => format!(
                "{} >>{DIR}/postgres.log 2>&1 &",
                server(
                    "postgres",
                    &format!("-D {PG_DATA} -h 127.0.0.1 -k '' -p <free port> -c max_connections=<max_connections>")
                )
            ),
            Task::Prepare => "# create the pmp database, the rds_iam stand-in and the roles pmp_api and pmp_migrator, then \
                 apply the embedded migrations as pmp_migrator"
                .to_owned(),
            Task::StartPgBouncer => format!(
                "$ {}{} {BOUNCER_INI} >>{DIR}/pgbouncer.log 2>&1 &  # pool_mode=session, default_pool_size=max_db_connections=<pool size>, query_wait_timeout=<borrow timeout>",
                if pieces.as_postgres_user { "runuser -u postgres -- " } else { "" },
                pieces.pgbouncer.path(Path::new(".")).display()
            ),
            Task::Scenario(scenario) => format!(
                "# {}: {} function processes ({}) behind the emulator, DATABASE_URL via {}; \
                 $ wrk --connections=<{}x reserved concurrency> --duration={seconds}s --timeout=30s --script={SCRIPT} \
                 http://127.0.0.1:<port>/database; pg_stat_activity sampled every 50 ms",
                scenario.name,
                if scenario.limited { "<reserved concurrency>" } else { "<callers>" },
                if scenario.limited { "the reserved concurrency" } else { "limit lifted" },
                scenario.via(),
                scenario.factor
            ),
            Task::Report => format!("# print one table per scenario and write {RESULT}"),
        }
    }

    fn purpose(&self) -> String {
        match self {
            Task::Run(step) => step.purpose.clone(),
            Task::Bound => "read the stage's max_connections, pool and reserved concurrency from terraform/modules/concurrency".to_owned(),
            Task::StartPostgres => "start PostgreSQL on 127.0.0.1 with the stage's max_connections".to_owned(),
            Task::Prepare => "create the roles and apply the migrations".to_owned(),
            Task::StartPgBouncer => "start PgBouncer (session mode) sized as the stage's RDS Proxy".to_owned(),
            Task::Scenario(scenario) => format!("scenario {}: {}", scenario.name, scenario.meaning),
            Task::Report => "report".to_owned(),
        }
    }
}

/// The tasks in order.
pub fn plan(pieces: &Pieces) -> Vec<Task> {
    let mut tasks = Vec::new();
    if pieces.install {
        tasks.push(Task::Run(Step::command(
            format!("download the pinned Debian packages of PgBouncer and wrk into {DEBS}"),
            "sh",
            [
                "-c".to_owned(),
                format!(
                    "mkdir -p {DEBS} && cd {DEBS} && apt-get download {}",
                    PACKAGES.join(" ")
                ),
            ],
        )));
        tasks.push(Task::Run(Step::command(
            format!("unpack them into {TOOLS} (repo-local, nothing system-wide)"),
            "sh",
            [
                "-c".to_owned(),
                format!("for deb in {DEBS}/*.deb; do dpkg-deb -x \"$deb\" {TOOLS} || exit 1; done"),
            ],
        )));
    }
    tasks.push(Task::Run(Step::command(
        "build the function (release profile, this machine's architecture)",
        "cargo",
        [
            "build",
            "--package",
            "pmp-api",
            "--bin",
            "bootstrap",
            "--release",
        ],
    )));
    tasks.push(Task::Run(Step::command(
        format!("copy the provider-free concurrency module to {MODULE_COPY}"),
        "sh",
        [
            "-c".to_owned(),
            format!(
                "rm -rf {MODULE_COPY} && mkdir -p {MODULE_COPY} && cp {}/*.tf {MODULE_COPY}/",
                bound::MODULE
            ),
        ],
    )));
    tasks.push(Task::Run(Step::command(
        "initialise it (no provider, no backend: offline)",
        "terraform",
        [
            format!("-chdir={MODULE_COPY}"),
            "init".to_owned(),
            "-backend=false".to_owned(),
            "-input=false".to_owned(),
        ],
    )));
    tasks.push(Task::Bound);
    tasks.push(Task::Run(Step::command(
        format!("a new cluster in {PG_DIR} for this run"),
        "sh",
        [
            "-c".to_owned(),
            format!("rm -rf {PG_DIR} && mkdir -p {PG_DIR}"),
        ],
    )));
    if pieces.as_postgres_user {
        tasks.push(Task::Run(Step::command(
            "give it to the postgres user (PostgreSQL and PgBouncer refuse to run as root)",
            "chown",
            ["-R", "postgres:postgres", PG_DIR],
        )));
    }
    let initdb = pieces.postgres_bin.join("initdb").display().to_string();
    let initdb_args = [
        "-D",
        PG_DATA,
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-locale",
        "--no-instructions",
    ];
    tasks.push(Task::Run(if pieces.as_postgres_user {
        Step::command(
            "create the cluster (trust on loopback: the roles have no password, as with IAM)",
            "runuser",
            ["-u", "postgres", "--", &initdb]
                .into_iter()
                .chain(initdb_args),
        )
    } else {
        Step::command(
            "create the cluster (trust on loopback: the roles have no password, as with IAM)",
            &initdb,
            initdb_args,
        )
    }));
    tasks.push(Task::StartPostgres);
    tasks.push(Task::Prepare);
    let (direct, pooled): (Vec<Scenario>, Vec<Scenario>) = scenarios()
        .into_iter()
        .partition(|scenario| scenario.path == Via::Direct);
    tasks.extend(direct.into_iter().map(Task::Scenario));
    tasks.push(Task::StartPgBouncer);
    tasks.extend(pooled.into_iter().map(Task::Scenario));
    tasks.push(Task::Report);
    tasks
}

impl Loadtest {
    pub fn run(self, ctx: &Ctx, sh: &Shell) -> anyhow::Result<()> {
        let pieces = Pieces::detect(&ctx.root)?;
        let tasks = plan(&pieces);
        if ctx.dry_run {
            for task in &tasks {
                println!("{}", task.render(&pieces, self.duration));
            }
            return Ok(());
        }
        let stop = StopFlag::install()?;
        std::fs::create_dir_all(ctx.root.join(DIR))
            .with_context(|| format!("cannot create {DIR}"))?;
        let mut state = State {
            bound: None,
            pg_port: free_port()?,
            bouncer_port: free_port()?,
            services: Services::default(),
            results: Vec::new(),
        };
        let started = Instant::now();
        let result = execute(ctx, sh, &tasks, &pieces, self.duration, &mut state, &stop);
        state.services.stop_all();
        match result {
            Ok(()) => {
                eprintln!(
                    "loadtest: done in {}; everything it started has stopped",
                    runner::seconds(started.elapsed())
                );
                Ok(())
            }
            Err(error) if stop.raised() => {
                bail!("loadtest interrupted ({error:#}); everything it started has stopped")
            }
            Err(error) => Err(error),
        }
    }
}

fn execute(
    ctx: &Ctx,
    sh: &Shell,
    tasks: &[Task],
    pieces: &Pieces,
    seconds: u64,
    state: &mut State,
    stop: &StopFlag,
) -> anyhow::Result<()> {
    let root = &ctx.root;
    let total = tasks.len();
    let mut outputs = Outputs::new();
    for (index, task) in tasks.iter().enumerate() {
        if stop.raised() {
            bail!("stopped before: {}", task.purpose());
        }
        eprintln!("==> [{}/{total}] {}", index + 1, task.purpose());
        let begun = Instant::now();
        match task {
            Task::Run(step) => {
                eprintln!("    {}", step.render());
                runner::run_one(sh, step, &mut outputs, ctx.verbose, None)
                    .with_context(|| format!("{} failed", step.purpose))?;
            }
            Task::Bound => {
                let bound = evaluate_bound(root, ctx.stage.name())?;
                eprintln!(
                    "    {}: max_connections {}, x {} % = pool {}, less headroom {} = reserved concurrency {}; borrow timeout {} s",
                    bound.instance_class,
                    bound.max_connections,
                    bound.max_connections_percent,
                    bound.pool_size,
                    bound.headroom,
                    bound.reserved_concurrency,
                    bound.borrow_timeout_seconds
                );
                state.bound = Some(bound);
            }
            Task::StartPostgres => start_postgres(root, pieces, state)?,
            Task::Prepare => {
                let url = admin_url(state.pg_port);
                pmp_api::roles::bootstrap_with_url_blocking(&url, true)
                    .context("creating the database roles failed")?;
                pmp_api::migrations::run_with_url_blocking(&url).context("migrating failed")?;
            }
            Task::StartPgBouncer => start_pgbouncer(root, pieces, state)?,
            Task::Scenario(scenario) => {
                let measured = run_scenario(root, pieces, scenario, seconds, state, stop)?;
                println!("{}", measured.table());
                state.results.push(measured);
            }
            Task::Report => {
                let bound = state.bound.as_ref().context("internal error: no bound")?;
                let document = report::document(
                    ctx.stage.name(),
                    bound,
                    &super::bench::machine_description(),
                    seconds,
                    &state.results,
                );
                std::fs::write(
                    root.join(RESULT),
                    serde_json::to_string_pretty(&document)? + "\n",
                )
                .with_context(|| format!("cannot write {RESULT}"))?;
                if let Some(at_bound) = state
                    .results
                    .iter()
                    .find(|result| result.scenario == BOUND_SCENARIO)
                {
                    println!("{}", report::verdict(at_bound));
                }
                println!("written: {RESULT}");
            }
        }
        eprintln!("    done in {}", runner::seconds(begun.elapsed()));
    }
    Ok(())
}

fn evaluate_bound(root: &Path, stage: &str) -> anyhow::Result<Bound> {
    let tfvars = std::fs::read_to_string(root.join(format!("terraform/stages/{stage}.tfvars")))
        .with_context(|| format!("cannot read terraform/stages/{stage}.tfvars"))?;
    let inputs = bound::stage_inputs(&tfvars, stage)?;
    let variables = std::fs::read_to_string(root.join(bound::DATABASE_VARIABLES))
        .with_context(|| format!("cannot read {}", bound::DATABASE_VARIABLES))?;
    let borrow = bound::borrow_timeout(&variables)?;
    let mut child = Command::new("terraform")
        .arg(format!("-chdir={}", root.join(MODULE_COPY).display()))
        .arg("console")
        .args(bound::console_vars(&inputs))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start terraform console")?;
    std::io::Write::write_all(
        child.stdin.as_mut().context("no stdin")?,
        format!("{}\n", bound::EXPRESSION).as_bytes(),
    )?;
    drop(child.stdin.take());
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "terraform console on {MODULE_COPY} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    bound::parse_console(&String::from_utf8_lossy(&output.stdout), &inputs, borrow)
}

fn admin_url(port: u16) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/{DATABASE}")
}

fn api_url(port: u16) -> String {
    format!(
        "postgres://{}@127.0.0.1:{port}/{DATABASE}",
        pmp_api::roles::API_ROLE
    )
}

fn log_file(root: &Path, name: &str) -> anyhow::Result<File> {
    File::options()
        .create(true)
        .append(true)
        .open(root.join(DIR).join(name))
        .with_context(|| format!("cannot open {DIR}/{name}"))
}

fn as_postgres(pieces: &Pieces, mut command: Command) -> Command {
    if !pieces.as_postgres_user {
        return command;
    }
    let mut wrapped = Command::new("runuser");
    wrapped.args(["-u", "postgres", "--", "env"]);
    for (name, value) in command.get_envs() {
        if let Some(value) = value {
            wrapped.arg(format!(
                "{}={}",
                name.to_string_lossy(),
                value.to_string_lossy()
            ));
        }
    }
    wrapped.arg(command.get_program()).args(command.get_args());
    command = wrapped;
    command
}

fn start_postgres(root: &Path, pieces: &Pieces, state: &mut State) -> anyhow::Result<()> {
    let bound = state.bound.as_ref().context("internal error: no bound")?;
    let mut command = Command::new(pieces.postgres_bin.join("postgres"));
    command
        .current_dir(root)
        .args(["-D", PG_DATA, "-h", "127.0.0.1", "-k", "", "-p"])
        .arg(state.pg_port.to_string())
        .arg("-c")
        .arg(format!("max_connections={}", bound.max_connections));
    let mut command = as_postgres(pieces, command);
    command.current_dir(root);
    state.services.start(
        "PostgreSQL",
        command,
        Some(log_file(root, "postgres.log")?),
        Signal::SIGINT,
    )?;
    wait_for(
        Duration::from_secs(60),
        "PostgreSQL to accept connections",
        || {
            std::fs::read_to_string(root.join(PG_DATA).join("postmaster.pid")).is_ok_and(|pid| {
                pid.lines()
                    .nth(7)
                    .is_some_and(|status| status.trim() == "ready")
            })
        },
    )
}

/// PgBouncer's configuration: the proxy's pool and borrow timeout, session mode (pinned sessions, as sqlx's prepared
/// statements pin them on RDS Proxy).
pub fn pgbouncer_ini(bound: &Bound, port: u16, pg_port: u16, users_file: &str) -> String {
    format!(
        "[databases]\n\
         {DATABASE} = host=127.0.0.1 port={pg_port} dbname={DATABASE}\n\
         \n\
         [pgbouncer]\n\
         listen_addr = 127.0.0.1\n\
         listen_port = {port}\n\
         unix_socket_dir =\n\
         auth_type = trust\n\
         auth_file = {users_file}\n\
         pool_mode = session\n\
         ; RDS Proxy opens at most max_connections x MaxConnectionsPercent = {pool} connections.\n\
         default_pool_size = {pool}\n\
         max_db_connections = {pool}\n\
         reserve_pool_size = 0\n\
         ; RDS Proxy's ConnectionBorrowTimeout.\n\
         query_wait_timeout = {borrow}\n\
         ; Clients are not limited by the proxy: every execution environment gets in and waits for the pool.\n\
         max_client_conn = 2000\n\
         ; sqlx sends it at sign-in; PgBouncer does not track it.\n\
         ignore_startup_parameters = extra_float_digits\n\
         log_connections = 0\n\
         log_disconnections = 0\n",
        pool = bound.pool_size,
        borrow = bound.borrow_timeout_seconds,
    )
}

fn start_pgbouncer(root: &Path, pieces: &Pieces, state: &mut State) -> anyhow::Result<()> {
    let bound = state.bound.as_ref().context("internal error: no bound")?;
    let users = root.join(BOUNCER_USERS);
    std::fs::write(&users, format!("\"{}\" \"\"\n", pmp_api::roles::API_ROLE))
        .with_context(|| format!("cannot write {BOUNCER_USERS}"))?;
    std::fs::write(
        root.join(BOUNCER_INI),
        pgbouncer_ini(
            bound,
            state.bouncer_port,
            state.pg_port,
            &users.display().to_string(),
        ),
    )
    .with_context(|| format!("cannot write {BOUNCER_INI}"))?;
    let mut command = pieces.pgbouncer.command(root);
    command.arg(root.join(BOUNCER_INI));
    let mut command = as_postgres(pieces, command);
    command.current_dir(root);
    state.services.start(
        "PgBouncer",
        command,
        Some(log_file(root, "pgbouncer.log")?),
        Signal::SIGINT,
    )?;
    let port = state.bouncer_port;
    wait_for(Duration::from_secs(20), "PgBouncer to listen", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
}

fn run_scenario(
    root: &Path,
    pieces: &Pieces,
    scenario: &Scenario,
    seconds: u64,
    state: &mut State,
    stop: &StopFlag,
) -> anyhow::Result<Measured> {
    let bound = state.bound.clone().context("internal error: no bound")?;
    let reserved = bound.reserved_concurrency as usize;
    let callers = reserved * scenario.factor;
    let limit = if scenario.limited { reserved } else { callers };
    let (database_url, cap) = match scenario.path {
        Via::PgBouncer => (api_url(state.bouncer_port), bound.pool_size),
        Via::Direct => (api_url(state.pg_port), bound.max_connections),
    };
    std::fs::write(root.join(SCRIPT), wrk::SCRIPT)
        .with_context(|| format!("cannot write {SCRIPT}"))?;
    if scenario.path == Via::Direct {
        // The previous scenario's sessions end when its processes do, a moment later: each run starts from none.
        let admin = admin_url(state.pg_port);
        wait_for(
            Duration::from_secs(15),
            "the previous scenario's sessions to end",
            || api_sessions(&admin).is_ok_and(|count| count == 0),
        )?;
    }

    let api = Arc::new(RuntimeApi::start().context("cannot start the Runtime API")?);
    let log = log_file(root, "function.log")?;
    let mut environments = emulator::Environments::start(
        limit,
        &root.join(FUNCTION),
        &emulator::function_environment(api.address(), &database_url),
        &log,
    )?;
    api.wait_first_next(Duration::from_secs(30), || Ok(()))
        .context("the function did not start")?;
    let front = emulator::Front::start(Arc::clone(&api), limit)?;
    let sampler = Sampler::start(admin_url(state.pg_port));

    let url = format!("http://127.0.0.1:{}/database", front.port);
    let script = root.join(SCRIPT).display().to_string();
    let mut command = pieces.wrk.command(root);
    command
        .args(wrk::args(callers, seconds, &script, &url))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .process_group(0);
    eprintln!(
        "    {callers} callers, {limit} function environments ({}), via {}",
        if scenario.limited {
            "the reserved concurrency"
        } else {
            "limit lifted"
        },
        scenario.via()
    );
    let mut child = command.spawn().context("cannot start wrk")?;
    let mut stdout = child.stdout.take().context("no wrk output")?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        text
    });
    loop {
        if let Some(status) = child.try_wait()? {
            if !status.success() {
                bail!("wrk failed ({status})");
            }
            break;
        }
        if stop.raised() {
            let _ = child.kill();
            let _ = child.wait();
            bail!("interrupted during scenario {}", scenario.name);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = reader
        .join()
        .map_err(|_| anyhow::anyhow!("reading wrk's output failed"))?;
    let peak = sampler.finish()?;
    drop(front);
    environments.stop();
    Ok(Measured {
        scenario: scenario.name.clone(),
        meaning: scenario.meaning.to_owned(),
        path: scenario.via(),
        concurrency: callers,
        function_limit: limit,
        wrk: wrk::parse(&output)?,
        peak_server_connections: peak,
        server_connection_cap: cap,
    })
}

const API_SESSIONS: &str =
    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND usename = $1";

/// How many `pmp_api` sessions PostgreSQL has now.
fn api_sessions(url: &str) -> anyhow::Result<u64> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(url).await?;
        let count: i64 = sqlx::query_scalar(API_SESSIONS)
            .bind(pmp_api::roles::API_ROLE)
            .fetch_one(&mut connection)
            .await?;
        let _ = connection.close().await;
        Ok(u64::try_from(count).unwrap_or(0))
    })
}

/// Samples `pmp_api`'s sessions in pg_stat_activity every 50 ms, as the superuser (whose reserved slots stay free
/// when the API's are all taken); keeps the highest count.
struct Sampler {
    done: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<anyhow::Result<()>>,
}

impl Sampler {
    fn start(url: String) -> Sampler {
        let done = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let (stop, highest) = (Arc::clone(&done), Arc::clone(&peak));
        let thread = std::thread::spawn(move || -> anyhow::Result<()> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                use sqlx::Connection;
                let mut connection = sqlx::PgConnection::connect(&url)
                    .await
                    .context("the sampler cannot connect to PostgreSQL")?;
                while !stop.load(Ordering::SeqCst) {
                    let count: i64 = sqlx::query_scalar(API_SESSIONS)
                        .bind(pmp_api::roles::API_ROLE)
                        .fetch_one(&mut connection)
                        .await
                        .context("sampling pg_stat_activity failed")?;
                    highest.fetch_max(u64::try_from(count).unwrap_or(0), Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                let _ = connection.close().await;
                Ok(())
            })
        });
        Sampler { done, peak, thread }
    }

    fn finish(self) -> anyhow::Result<u64> {
        self.done.store(true, Ordering::SeqCst);
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("the sampler panicked"))??;
        Ok(self.peak.load(Ordering::SeqCst))
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn wait_for(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while !ready() {
        if Instant::now() >= deadline {
            bail!(
                "timed out after {} s waiting for {what} (see {DIR}/*.log)",
                limit.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(as_postgres_user: bool, install: bool) -> Pieces {
        Pieces {
            postgres_bin: PathBuf::from("/pg/bin"),
            as_postgres_user,
            pgbouncer: Program::Unpacked(format!("{TOOLS}/usr/sbin/pgbouncer")),
            wrk: Program::OnPath("wrk".into()),
            install,
        }
    }

    #[test]
    fn durations_accept_seconds_and_minutes() {
        assert_eq!(parse_duration("20s"), Ok(20));
        assert_eq!(parse_duration("20"), Ok(20));
        assert_eq!(parse_duration("2m"), Ok(120));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn the_plan_installs_only_what_is_missing_then_sizes_from_terraform() {
        let lines: Vec<String> = plan(&pieces(true, true))
            .iter()
            .map(|task| task.render(&pieces(true, true), 20))
            .collect();
        assert!(
            lines[0].contains("apt-get download pgbouncer=1.18.0-1+deb12u1"),
            "{}",
            lines[0]
        );
        assert!(lines[1].contains("dpkg-deb -x"), "{}", lines[1]);
        let position = |needle: &str| {
            lines
                .iter()
                .position(|line| line.contains(needle))
                .unwrap_or_else(|| panic!("no line with {needle}: {lines:#?}"))
        };
        // The figures exist before anything uses them; the database exists before the pooler and the load.
        assert!(position("console") < position("max_connections=<max_connections>"));
        assert!(position("chown -R postgres:postgres") < position("initdb"));
        assert!(position("initdb") < position("postgres -D"));
        assert!(position("postgres -D") < position("direct-1x"));
        // Direct runs come before PgBouncer opens its pool, which it keeps open.
        assert!(position("direct-4x") < position("pgbouncer.ini"));
        assert!(position("pgbouncer.ini") < position("pgbouncer-1x"));
        assert!(lines.last().is_some_and(|line| line.contains(RESULT)));
        let without: Vec<String> = plan(&pieces(false, false))
            .iter()
            .map(|task| task.render(&pieces(false, false), 20))
            .collect();
        assert!(
            !without
                .iter()
                .any(|line| line.contains("apt-get") || line.contains("runuser"))
        );
    }

    #[test]
    fn the_scenarios_are_the_bound_then_what_it_prevents_then_the_anchor() {
        let names: Vec<String> = scenarios().into_iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "direct-1x",
                "direct-2x-unlimited",
                "direct-4x-unlimited",
                BOUND_SCENARIO,
                "pgbouncer-2x",
                "pgbouncer-2x-unlimited",
                "pgbouncer-4x-unlimited",
            ]
        );
        let bound = scenarios()
            .into_iter()
            .find(|scenario| scenario.name == BOUND_SCENARIO)
            .expect("the bound");
        assert!(bound.limited && bound.factor == 1 && bound.path == Via::PgBouncer);
    }

    #[test]
    fn pgbouncer_is_sized_as_the_proxy() {
        let bound = Bound {
            instance_class: "db.t4g.micro".into(),
            max_connections: 70,
            max_connections_percent: 50,
            pool_size: 35,
            headroom: 3,
            reserved_concurrency: 32,
            borrow_timeout_seconds: 5,
        };
        let ini = pgbouncer_ini(&bound, 6432, 5432, "/u.txt");
        for line in [
            "pool_mode = session",
            "default_pool_size = 35",
            "max_db_connections = 35",
            "query_wait_timeout = 5",
            "listen_addr = 127.0.0.1",
            "pmp = host=127.0.0.1 port=5432 dbname=pmp",
        ] {
            assert!(ini.contains(line), "{line} missing from:\n{ini}");
        }
    }
}
