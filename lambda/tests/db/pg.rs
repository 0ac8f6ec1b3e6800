//! A throwaway PostgreSQL for the database tests: started once per test binary on a free loopback port, stopped (and
//! its directory removed) when the guard drops. With `DATABASE_URL` set, that server is used instead and only the
//! databases the tests created are dropped afterwards.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor, PgConnection};

/// Where the tests' databases live; shared by all tests of the binary.
#[derive(Debug)]
pub struct Cluster {
    admin: PgConnectOptions,
    next: AtomicU32,
    created: Mutex<Vec<String>>,
    /// The harness's own server speaks TLS with a self-signed certificate for `localhost`; unknown for DATABASE_URL.
    pub own_tls_server: bool,
}

impl Cluster {
    /// A new database for one test, with the roles as production has them (the bootstrap of `pmp_api` and
    /// `pmp_migrator`, run as the administrator like the RDS master user runs it) and no migration applied; its
    /// options connect to it as the administrator. [`Self::as_role`] signs in as one of the roles.
    pub async fn create_database(&self, label: &str) -> PgConnectOptions {
        let options = self.create_empty_database(label).await;
        // Roles are shared by the whole server: one bootstrap at a time, or two could create the same role at once.
        static BOOTSTRAP: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _serialised = BOOTSTRAP.lock().await;
        let mut conn = self.connect(&options).await;
        // RDS has rds_iam; a plain PostgreSQL gets a stand-in nobody can sign in as, so the grants are the same.
        pmp_api::roles::create_rds_iam_stand_in(&mut conn)
            .await
            .expect("create the rds_iam stand-in");
        pmp_api::roles::bootstrap(&mut conn)
            .await
            .expect("bootstrap the database roles");
        conn.close().await.expect("close the admin connection");
        options
    }

    /// `options` signing in as `role` instead (the test server trusts loopback connections, like IAM would).
    pub fn as_role(&self, options: &PgConnectOptions, role: &str) -> PgConnectOptions {
        options.clone().username(role)
    }

    /// A new, empty database: no roles bootstrapped.
    pub async fn create_empty_database(&self, label: &str) -> PgConnectOptions {
        let name = format!(
            "pmp_test_{}_{}_{}",
            std::process::id(),
            self.next.fetch_add(1, Ordering::Relaxed),
            label
        );
        let mut admin = self
            .admin
            .connect()
            .await
            .expect("connect to the test server as admin");
        admin
            .execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
            .await
            .expect("create a test database");
        admin.close().await.expect("close the admin connection");
        self.created
            .lock()
            .expect("created-databases list")
            .push(name.clone());
        self.admin.clone().database(&name)
    }

    pub async fn connect(&self, options: &PgConnectOptions) -> PgConnection {
        options
            .connect()
            .await
            .expect("connect to the test database")
    }
}

/// Owns the server (or, with `DATABASE_URL`, the databases) for the lifetime of the test binary.
#[derive(Debug)]
pub struct Guard {
    cluster: std::sync::Arc<Cluster>,
    server: Option<Server>,
}

impl Guard {
    pub fn cluster(&self) -> std::sync::Arc<Cluster> {
        self.cluster.clone()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.server.take().is_some() {
            // Dropping the server stopped it and removed its directory.
            return;
        }
        // An external server outlives the tests: remove what they created.
        let names = std::mem::take(
            &mut *self
                .cluster
                .created
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        if names.is_empty() {
            return;
        }
        let admin = self.cluster.admin.clone();
        let cleanup = async move {
            let mut conn = admin.connect().await?;
            for name in names {
                conn.execute(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#).as_str())
                    .await?;
            }
            conn.close().await
        };
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => {
                if let Err(error) = runtime.block_on(cleanup) {
                    eprintln!("warning: could not drop the test databases: {error}");
                }
            }
            Err(error) => eprintln!("warning: could not drop the test databases: {error}"),
        }
    }
}

/// Starts the test server, or uses `DATABASE_URL`. The error is one sentence saying what to do.
pub fn start() -> Result<Guard, String> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        let admin = PgConnectOptions::from_str(&url)
            .map_err(|e| format!("DATABASE_URL is not a valid URL: {e}"))?;
        return Ok(Guard {
            cluster: cluster(admin, false),
            server: None,
        });
    }
    // The one finder `cargo xtask local` uses too: the pinned PostgreSQL 17 from node_modules first.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let binaries = local_postgres::find(&root).ok_or_else(local_postgres::missing_message)?;
    if local_postgres::running_as_root() {
        local_postgres::check_postgres_user()?;
    }
    eprintln!(
        "database tests: starting PostgreSQL from {} ({:?})",
        binaries.dir.display(),
        binaries.source
    );
    let server = Server::start(&binaries.dir)?;
    let admin = PgConnectOptions::new_without_pgpass()
        .host("127.0.0.1")
        .port(server.port)
        .username("postgres")
        .database("postgres");
    Ok(Guard {
        cluster: cluster(admin, true),
        server: Some(server),
    })
}

fn cluster(admin: PgConnectOptions, own_tls_server: bool) -> std::sync::Arc<Cluster> {
    // Statement logs of every test would drown the output.
    let admin = admin.disable_statement_logging();
    std::sync::Arc::new(Cluster {
        admin,
        next: AtomicU32::new(0),
        created: Mutex::new(Vec::new()),
        own_tls_server,
    })
}

#[derive(Debug)]
struct Server {
    // Removed after the server has stopped (fields drop after `Drop::drop` ran).
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_postgres: bool,
    child: Option<Child>,
    port: u16,
}

impl Server {
    fn start(bin: &Path) -> Result<Self, String> {
        // PostgreSQL refuses to run as root: as root, run it as the `postgres` system user.
        let as_postgres = local_postgres::running_as_root();
        let dir = tempfile::Builder::new()
            .prefix("pmp-pg-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory for PostgreSQL: {e}"))?;
        if as_postgres {
            chown_to_postgres(dir.path())?;
        }
        let mut server = Self {
            dir,
            bin: bin.to_owned(),
            as_postgres,
            child: None,
            port: 0,
        };
        let output = server
            .command("initdb")
            .arg("-D")
            .arg(server.data())
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
                "--no-instructions",
            ])
            .output()
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        // TLS with a throwaway self-signed certificate, so that the function's certificate verification is tested
        // against a real server (the server requires no client TLS: trust authentication on loopback).
        let (cert, key) = (
            server.dir.path().join("server.crt"),
            server.dir.path().join("server.key"),
        );
        let output = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"])
            .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-addext"])
            // A leaf certificate (not a CA), like a real server's.
            .args(["basicConstraints=critical,CA:FALSE", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .map_err(|e| format!("cannot run openssl to make the test server's certificate (install openssl): {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "openssl failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        if as_postgres {
            chown_to_postgres(&cert)?;
            chown_to_postgres(&key)?;
        }
        // A free port can be taken between the probe and the bind: try a few.
        let mut last_error = String::new();
        for _ in 0..5 {
            server.port = free_port()?;
            let log = server
                .dir
                .path()
                .join(format!("postgres-{}.log", server.port));
            let log_file =
                fs::File::create(&log).map_err(|e| format!("cannot create the server log: {e}"))?;
            if as_postgres {
                chown_to_postgres(&log)?;
            }
            let child = server
                .command("postgres")
                .arg("-D")
                .arg(server.data())
                .args(["-h", "127.0.0.1", "-p", &server.port.to_string(), "-k"])
                .arg(server.dir.path())
                // Durability is irrelevant for a throwaway server; speed is not.
                .args([
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                ])
                .args(["-c", "max_connections=100", "-c", "ssl=on"])
                .arg("-c")
                .arg(format!("ssl_cert_file={}", cert.display()))
                .arg("-c")
                .arg(format!("ssl_key_file={}", key.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn()
                .map_err(|e| format!("cannot start postgres: {e}"))?;
            server.child = Some(child);
            match server.wait_ready(&log) {
                Ok(()) => return Ok(server),
                Err(error) => {
                    last_error = error;
                    server.stop();
                }
            }
        }
        Err(format!("PostgreSQL did not start: {last_error}"))
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        };
        // The `postgres` user may not be allowed into the test's working directory.
        command.current_dir(self.dir.path());
        command
    }

    fn wait_ready(&mut self, log: &Path) -> Result<(), String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot build a Tokio runtime: {e}"))?;
        let options = PgConnectOptions::new_without_pgpass()
            .host("127.0.0.1")
            .port(self.port)
            .username("postgres")
            .database("postgres");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                let log = fs::read_to_string(log).unwrap_or_default();
                return Err(format!("postgres exited ({status}): {}", log.trim()));
            }
            if runtime
                .block_on(async { options.connect().await?.close().await })
                .is_ok()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                let log = fs::read_to_string(log).unwrap_or_default();
                return Err(format!("not ready after 60 s: {}", log.trim()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Immediate shutdown (SIGQUIT to the postmaster): nothing here needs to survive.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(pid) = fs::read_to_string(self.data().join("postmaster.pid"))
            && let Some(pid) = pid.lines().next()
        {
            let _ = Command::new("kill").args(["-QUIT", pid.trim()]).status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["stop", "-m", "immediate"])
            .status();
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn chown_to_postgres(path: &Path) -> Result<(), String> {
    let status = Command::new("chown")
        .arg("postgres:postgres")
        .arg(path)
        .status()
        .map_err(|e| format!("cannot run chown: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("running as root, the tests run PostgreSQL as the `postgres` system user, and `chown postgres:postgres` \
             failed: create that user or set DATABASE_URL"
            .to_owned())
    }
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| format!("cannot find a free loopback port: {e}"))
}
