//! The cold path that needs the database: a new execution environment's first `GET /database` (process start, runtime
//! init, connect, TLS handshake, SCRAM authentication, the query, the answer), against the baseline of the same client
//! code alone (`lambda/examples/db_baseline.rs`: process start, connect, TLS, authentication, the same query, exit).
//! Both against one PostgreSQL 17 (`local-postgres`) on 127.0.0.1 with TLS on (a throwaway self-signed certificate,
//! `sslmode=require`: encrypted, not verified, where the function verifies RDS Proxy's certificate in AWS), taking
//! turns, `runs` times each; the p50 of each is reported.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use super::measure::{api_event, lambda_environment};
use super::report::percentile;
use super::runtime_api::RuntimeApi;

const DIR: &str = "target/bench/postgres";
const DATA: &str = "target/bench/postgres/data";
const TIMEOUT: Duration = Duration::from_secs(30);

/// The p50s, and how many runs each.
#[derive(Debug, Clone, PartialEq)]
pub struct ColdPath {
    pub runs: usize,
    pub function_p50: Duration,
    pub baseline_p50: Duration,
}

impl ColdPath {
    pub fn ratio(&self) -> f64 {
        self.function_p50.as_secs_f64() / self.baseline_p50.as_secs_f64().max(f64::EPSILON)
    }

    pub fn table(&self) -> String {
        format!(
            "| figure | function | baseline (client code alone) | function / baseline |\n|---|---:|---:|---:|\n\
             | first request with the database (connect, TLS, SCRAM, query), p50 of {} cold starts | {:.2} ms | {:.2} ms | {:.2} |",
            self.runs,
            self.function_p50.as_secs_f64() * 1000.0,
            self.baseline_p50.as_secs_f64() * 1000.0,
            self.ratio()
        )
    }

    pub fn json(&self) -> Value {
        serde_json::json!({
            "runs": self.runs,
            "function_p50_ms": self.function_p50.as_secs_f64() * 1000.0,
            "baseline_p50_ms": self.baseline_p50.as_secs_f64() * 1000.0,
            "ratio": self.ratio(),
            "baseline": "lambda/examples/db_baseline.rs: sqlx connect + the same query, process start to exit",
            "tls": "sslmode=require against a self-signed certificate",
            "authentication": "scram-sha-256 (IAM tokens need AWS)",
        })
    }
}

/// The server, stopped when dropped.
struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        // The whole group: as root the child is `runuser`, which does not pass SIGINT on to the server.
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGINT,
            );
        }
        let _ = self.child.wait();
    }
}

/// Runs the server's programs as `postgres` when xtask runs as root (PostgreSQL refuses root).
fn server_command(program: &Path, as_postgres: bool) -> Command {
    if as_postgres {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot {what}"))?;
    if !output.status.success() {
        bail!(
            "cannot {what}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Starts the server with TLS, applies roles and migrations, and gives `pmp_api` a password (this cluster only).
fn start(root: &Path, password: &str) -> anyhow::Result<(Server, String)> {
    let Some(binaries) = local_postgres::find(root) else {
        bail!("{}", local_postgres::missing_message());
    };
    if !crate::tools::on_path("openssl") {
        bail!(
            "openssl is not on PATH: the database cold path needs it for the server's TLS certificate (apt-get install openssl)"
        );
    }
    let as_postgres = local_postgres::running_as_root();
    let dir = root.join(DIR);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {DIR}"))?;
    std::fs::write(dir.join("password"), password)?;
    if as_postgres {
        run(
            Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir),
            "give the cluster to postgres",
        )?;
    }
    run(
        server_command(&binaries.program("initdb"), as_postgres)
            .args(["-D"])
            .arg(root.join(DATA))
            .args([
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                "--no-locale",
                "--no-instructions",
            ])
            .arg(format!("--pwfile={}", dir.join("password").display())),
        "create the cluster",
    )?;
    run(
        server_command(Path::new("openssl"), as_postgres)
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
            ])
            .arg("-keyout")
            .arg(root.join(DATA).join("server.key"))
            .arg("-out")
            .arg(root.join(DATA).join("server.crt")),
        "create a self-signed certificate",
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let log = std::fs::File::create(root.join("target/bench/postgres.log"))?;
    let child = server_command(&binaries.program("postgres"), as_postgres)
        .arg("-D")
        .arg(root.join(DATA))
        .args(["-h", "127.0.0.1", "-k", "", "-p"])
        .arg(port.to_string())
        .args([
            "-c",
            "ssl=on",
            "-c",
            "ssl_cert_file=server.crt",
            "-c",
            "ssl_key_file=server.key",
        ])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("cannot start PostgreSQL")?;
    let server = Server { child };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(root.join(DATA).join("postmaster.pid")).is_ok_and(|pid| {
        pid.lines()
            .nth(7)
            .is_some_and(|line| line.trim() == "ready")
    }) {
        if Instant::now() > deadline {
            bail!("PostgreSQL did not start (see target/bench/postgres.log)");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let admin = format!("postgres://postgres:{password}@127.0.0.1:{port}/pmp?sslmode=require");
    pmp_api::roles::bootstrap_with_url_blocking(&admin, true)
        .context("creating the roles failed")?;
    pmp_api::migrations::run_with_url_blocking(&admin).context("migrating failed")?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            use sqlx::{Connection, Executor};
            let mut connection = sqlx::PgConnection::connect(&admin).await?;
            connection
                .execute(
                    format!(
                        "ALTER ROLE {} PASSWORD '{password}'",
                        pmp_api::roles::API_ROLE
                    )
                    .as_str(),
                )
                .await?;
            connection.close().await
        })
        .context("giving pmp_api a password failed")?;
    let url = format!(
        "postgres://{}:{password}@127.0.0.1:{port}/pmp?sslmode=require",
        pmp_api::roles::API_ROLE
    );
    Ok((server, url))
}

/// Measures `runs` cold starts of each, in turns.
pub fn measure(
    root: &Path,
    function: &Path,
    baseline: &Path,
    runs: usize,
) -> anyhow::Result<ColdPath> {
    let mut bytes = [0u8; 16];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").context("cannot open /dev/urandom")?,
        &mut bytes,
    )?;
    let password: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    let (server, url) = start(root, &password)?;
    let mut function_times = Vec::with_capacity(runs);
    let mut baseline_times = Vec::with_capacity(runs);
    let log = std::fs::File::create(root.join("target/bench/database-cold.log"))?;
    for _ in 0..runs {
        function_times.push(function_cold_start(function, &url, &log)?);
        baseline_times.push(baseline_run(baseline, &url)?);
    }
    drop(server);
    Ok(ColdPath {
        runs,
        function_p50: percentile(&function_times, 50.0),
        baseline_p50: percentile(&baseline_times, 50.0),
    })
}

fn function_cold_start(program: &Path, url: &str, log: &std::fs::File) -> anyhow::Result<Duration> {
    let api = RuntimeApi::start()?;
    api.begin();
    let id = api.enqueue(api_event("/database"));
    let mut environment = lambda_environment(api.address());
    environment.retain(|(name, _)| !name.starts_with("DB_"));
    environment.push(("DATABASE_URL", url.to_owned()));
    let spawned = Instant::now();
    let mut child = Command::new(program)
        .env_clear()
        .envs(environment)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log.try_clone()?)
        .spawn()
        .with_context(|| format!("cannot start {}", program.display()))?;
    let answer = api.wait_answer(&id, TIMEOUT, || match child.try_wait()? {
        None => Ok(()),
        Some(status) => bail!("the function exited ({status})"),
    });
    let _ = child.kill();
    let _ = child.wait();
    let answer = answer?;
    let response: Value = serde_json::from_str(&answer.body).unwrap_or_default();
    let body: Value = response["body"]
        .as_str()
        .and_then(|body| serde_json::from_str(body).ok())
        .unwrap_or_default();
    if response["statusCode"] != 200 || body["database"]["role"] != pmp_api::roles::API_ROLE {
        bail!("GET /database did not read as pmp_api: {}", answer.body);
    }
    Ok(answer.received.saturating_duration_since(spawned))
}

fn baseline_run(program: &Path, url: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let output = Command::new(program)
        .env_clear()
        .env("DATABASE_URL", url)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {}", program.display()))?;
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || !text.contains(pmp_api::roles::API_ROLE) {
        bail!(
            "the baseline failed: {} {}",
            text.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(took)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_both_p50s_and_their_ratio() {
        let cold = ColdPath {
            runs: 20,
            function_p50: Duration::from_millis(12),
            baseline_p50: Duration::from_millis(8),
        };
        assert!((cold.ratio() - 1.5).abs() < 1e-9);
        let table = cold.table();
        assert!(
            table.contains("p50 of 20 cold starts | 12.00 ms | 8.00 ms | 1.50 |"),
            "{table}"
        );
        assert_eq!(cold.json()["runs"], 20);
    }
}
