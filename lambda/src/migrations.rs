//! The database migrations and how they are applied, without the Lambda runtime: the function's `migrate` command,
//! `cargo xtask migrate --database-url` and the tests all go through [`run`].

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;
use sqlx::migrate::{Migrate, MigrateError, Migrator};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};

/// The migrations in `migrations/` at the repository root, embedded at build time (see `build.rs`).
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// The time limits of a migration session. A migration fails fast instead of hanging: a DDL statement that waits for
/// a table lock (held by live API traffic in an open transaction) gives up after `lock_timeout`, and no statement
/// runs longer than `statement_timeout`, which stays below the migration function's own timeout so that the
/// function answers with the reason instead of being killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Longest wait of one statement for a lock on a table (PostgreSQL `lock_timeout`).
    pub lock_timeout: Duration,
    /// Longest run of one statement (PostgreSQL `statement_timeout`).
    pub statement_timeout: Duration,
    /// Longest wait for another migration run to finish (the advisory lock).
    pub wait_for_other_run: Duration,
}

impl Settings {
    /// 5 s for a table lock: a lock queue behind DDL blocks every API query on that table, so a short wait is the
    /// safe one. 840 s per statement: under the migration function's 900 s timeout. 60 s for another run.
    pub const DEFAULT: Settings = Settings {
        lock_timeout: Duration::from_secs(5),
        statement_timeout: Duration::from_secs(840),
        wait_for_other_run: Duration::from_secs(60),
    };
}

impl Default for Settings {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The environment variables that override [`Settings`] (whole seconds), set per stage by serverless.yml.
pub const LOCK_TIMEOUT_VAR: &str = "MIGRATION_LOCK_TIMEOUT_SECONDS";
pub const STATEMENT_TIMEOUT_VAR: &str = "MIGRATION_STATEMENT_TIMEOUT_SECONDS";
pub const WAIT_VAR: &str = "MIGRATION_WAIT_FOR_OTHER_RUN_SECONDS";

impl Settings {
    /// The defaults, with the variables that are set; a value that is not a positive number of seconds is refused.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut settings = Self::default();
        let read = |name: &str, target: &mut Duration| -> Result<(), String> {
            if let Some(value) = lookup(name).filter(|value| !value.trim().is_empty()) {
                let seconds: u64 = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|seconds| *seconds > 0)
                    .ok_or_else(|| {
                        format!("{name} must be a positive number of seconds, not {value:?}")
                    })?;
                *target = Duration::from_secs(seconds);
            }
            Ok(())
        };
        read(LOCK_TIMEOUT_VAR, &mut settings.lock_timeout)?;
        read(STATEMENT_TIMEOUT_VAR, &mut settings.statement_timeout)?;
        read(WAIT_VAR, &mut settings.wait_for_other_run)?;
        Ok(settings)
    }

    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }
}

/// What one migration run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrationReport {
    /// Versions this run applied, in order; empty when the database was already up to date.
    pub applied: Vec<i64>,
    /// The highest applied version after the run; `None` for a database without migrations.
    pub current_version: Option<i64>,
}

/// Why a migration run failed. Every variant names the version concerned where there is one.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error(
        "migration {version} waited more than lock_timeout ({} s) for a lock on a table that another session holds \
         (most likely live API traffic in an open transaction) and was rolled back; nothing of it was applied. Run the \
         migration again at a quieter time, or raise {LOCK_TIMEOUT_VAR} for this stage", .waited.as_secs()
    )]
    LockTimeout { version: i64, waited: Duration },
    #[error(
        "migration {version} ran longer than statement_timeout ({} s) and was rolled back; nothing of it was applied. \
         Split it (batches, CREATE INDEX CONCURRENTLY in a -- no-transaction migration) or raise {STATEMENT_TIMEOUT_VAR}",
        .limit.as_secs()
    )]
    StatementTimeout { version: i64, limit: Duration },
    #[error(
        "another migration run held the migration lock for more than {} s; nothing was applied: wait for it to \
         finish, then run again", .0.as_secs()
    )]
    OtherRunActive(Duration),
    #[error("migration {version} failed and was rolled back: {source}")]
    Failed {
        version: i64,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "migration {0} was changed after it was applied (checksum mismatch); restore the file and add a new migration instead"
    )]
    Modified(i64),
    #[error(
        "migration {0} is applied in the database but missing from this build; deploy a build that contains it"
    )]
    Missing(i64),
    #[error(
        "migration {0} is marked as partially applied (dirty); repair it by hand and remove its row from _sqlx_migrations"
    )]
    Dirty(i64),
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error(
        "cannot switch to the role {0} ({1}): create the roles first (`cargo xtask migrate --bootstrap-roles \
         --database-url URL`, see docs/runbooks/database-first-run.md)"
    )]
    Role(String, #[source] sqlx::Error),
    #[error("migration bookkeeping failed: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migrations failed: {0}")]
    Other(#[source] MigrateError),
}

/// The SQLSTATE of a database error.
fn sqlstate(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(db) => db.code().map(|code| code.into_owned()),
        _ => None,
    }
}

/// `55P03`: lock_not_available (lock_timeout); `57014`: query_canceled (statement_timeout).
const LOCK_NOT_AVAILABLE: &str = "55P03";
const QUERY_CANCELED: &str = "57014";

impl MigrationError {
    fn from_migrate(error: MigrateError, settings: &Settings) -> Self {
        match error {
            MigrateError::ExecuteMigration(source, version) => match sqlstate(&source).as_deref() {
                Some(LOCK_NOT_AVAILABLE) => Self::LockTimeout {
                    version,
                    waited: settings.lock_timeout,
                },
                Some(QUERY_CANCELED) => Self::StatementTimeout {
                    version,
                    limit: settings.statement_timeout,
                },
                _ => Self::Failed { version, source },
            },
            MigrateError::VersionMismatch(version) => Self::Modified(version),
            MigrateError::VersionMissing(version) => Self::Missing(version),
            MigrateError::Dirty(version) => Self::Dirty(version),
            MigrateError::Execute(source) => Self::Database(source),
            other => Self::Other(other),
        }
    }
}

/// Applies the migrations of `migrator` that `conn`'s database does not have yet, and reports which.
///
/// `conn` should be a connection of its own, closed afterwards (see [`run_with_options`]): the session's settings
/// change, and closing it is the last guarantee that no lock outlives the run.
///
/// sqlx's own runner does the work (checksums, one transaction per migration, its advisory lock). This function takes
/// the same session-level advisory lock around it first (PostgreSQL counts re-entrant locks per session), waiting at
/// most `wait_for_other_run` for another runner, so the set of versions read before and after the run cannot include
/// another runner's work: `applied` is exactly what this call applied, also when several runners start at once. Only
/// then are `lock_timeout` and `statement_timeout` set for the migrations themselves.
///
/// On failure every advisory lock of the session is released (sqlx's runner returns early without unlocking).
pub async fn run(
    conn: &mut PgConnection,
    migrator: &Migrator,
    settings: &Settings,
) -> Result<MigrationReport, MigrationError> {
    set(conn, "statement_timeout", Duration::ZERO).await?;
    set(conn, "lock_timeout", settings.wait_for_other_run).await?;
    if let Err(error) = conn.lock().await {
        release(conn).await;
        return Err(match error {
            MigrateError::Execute(source)
                if sqlstate(&source).as_deref() == Some(LOCK_NOT_AVAILABLE) =>
            {
                MigrationError::OtherRunActive(settings.wait_for_other_run)
            }
            other => MigrationError::from_migrate(other, settings),
        });
    }
    let outcome = async {
        set(conn, "lock_timeout", settings.lock_timeout).await?;
        set(conn, "statement_timeout", settings.statement_timeout).await?;
        run_locked(conn, migrator, settings).await
    }
    .await;
    match outcome {
        Ok(report) => {
            conn.unlock()
                .await
                .map_err(|error| MigrationError::from_migrate(error, settings))?;
            Ok(report)
        }
        Err(error) => {
            release(conn).await;
            Err(error)
        }
    }
}

/// Releases every advisory lock of the session; logs (never fails) when even that is impossible, since the caller
/// then closes the connection, which releases them too.
async fn release(conn: &mut PgConnection) {
    if let Err(error) = sqlx::query("SELECT pg_advisory_unlock_all()")
        .execute(&mut *conn)
        .await
    {
        tracing::warn!(%error, "could not release the migration lock after a failure; closing the connection releases it");
    }
}

async fn set(conn: &mut PgConnection, name: &str, value: Duration) -> Result<(), MigrationError> {
    // A number of milliseconds is a valid value for both settings; 0 turns the limit off.
    sqlx::query(&format!("SET {name} = {}", value.as_millis()))
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(MigrationError::Database)
}

async fn run_locked(
    conn: &mut PgConnection,
    migrator: &Migrator,
    settings: &Settings,
) -> Result<MigrationReport, MigrationError> {
    let migrate_error = |error| MigrationError::from_migrate(error, settings);
    conn.ensure_migrations_table()
        .await
        .map_err(migrate_error)?;
    let before = applied_versions(conn, settings).await?;
    migrator.run_direct(conn).await.map_err(migrate_error)?;
    let after = applied_versions(conn, settings).await?;
    Ok(MigrationReport {
        applied: after.difference(&before).copied().collect(),
        current_version: after.last().copied(),
    })
}

async fn applied_versions(
    conn: &mut PgConnection,
    settings: &Settings,
) -> Result<BTreeSet<i64>, MigrationError> {
    Ok(conn
        .list_applied_migrations()
        .await
        .map_err(|error| MigrationError::from_migrate(error, settings))?
        .into_iter()
        .map(|migration| migration.version)
        .collect())
}

/// Opens a connection of its own for one run, applies the embedded migrations, and closes it whatever happened (a
/// closed session holds no lock). With `role`, the session first switches to it (`SET ROLE`), so that what the
/// migrations create is owned by that role even when the URL names an administrator (local development).
pub async fn run_with_options(
    options: &PgConnectOptions,
    settings: &Settings,
    role: Option<&str>,
) -> Result<MigrationReport, MigrationError> {
    let conn = options
        .clone()
        .disable_statement_logging()
        .connect()
        .await
        .map_err(MigrationError::Connect)?;
    run_and_close(conn, settings, role).await
}

/// [`run_with_options`] on a connection the caller opened for this run alone; closes it.
pub async fn run_and_close(
    mut conn: PgConnection,
    settings: &Settings,
    role: Option<&str>,
) -> Result<MigrationReport, MigrationError> {
    let report = async {
        if let Some(role) = role {
            sqlx::query(&format!("SET ROLE {}", quote_ident(role)))
                .execute(&mut conn)
                .await
                .map_err(|error| MigrationError::Role(role.to_owned(), error))?;
        }
        run(&mut conn, &MIGRATOR, settings).await
    }
    .await;
    // Closing politely only saves the server a log line; the report is what matters.
    if let Err(error) = conn.close().await {
        tracing::debug!(%error, "closing the migration connection failed");
    }
    report
}

/// A PostgreSQL identifier, quoted.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn parse_url(database_url: &str) -> Result<PgConnectOptions, MigrationError> {
    PgConnectOptions::from_str(database_url).map_err(MigrationError::Connect)
}

fn blocking<T>(
    future: impl std::future::Future<Output = Result<T, MigrationError>>,
) -> Result<T, MigrationError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| MigrationError::Connect(sqlx::Error::Io(error)))?
        .block_on(future)
}

/// `cargo xtask migrate --database-url URL` and `cargo xtask local`: the embedded migrations with the default
/// settings, as `pmp_migrator` whoever the URL names (`SET ROLE`; the bootstrap lets the administrator do that), so
/// that the objects belong to the migrator as in production. For synchronous callers (xtask), on a private
/// single-threaded Tokio runtime.
pub fn run_with_url_blocking(database_url: &str) -> Result<MigrationReport, MigrationError> {
    let options = parse_url(database_url)?;
    blocking(run_with_options(
        &options,
        &Settings::default(),
        Some(crate::roles::MIGRATOR_ROLE),
    ))
}

/// `cargo xtask migrate --status --database-url URL`.
pub fn status_with_url_blocking(database_url: &str) -> Result<MigrationStatus, MigrationError> {
    let options = parse_url(database_url)?;
    blocking(async {
        let mut conn = options
            .disable_statement_logging()
            .connect()
            .await
            .map_err(MigrationError::Connect)?;
        let status = status(&mut conn, &MIGRATOR).await;
        let _ = conn.close().await;
        status
    })
}

/// What the database has compared with the migrations of this build (`cargo xtask migrate --status`). Reading it
/// changes nothing: no bookkeeping table is created, no lock is taken.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MigrationStatus {
    /// Versions recorded as applied whose file is unchanged.
    pub applied: Vec<i64>,
    /// Versions of this build not applied yet.
    pub pending: Vec<i64>,
    /// Versions applied with a different checksum than this build's file: the file was edited after it ran.
    pub modified: Vec<i64>,
    /// Versions applied in the database that this build does not contain.
    pub missing: Vec<i64>,
    /// A version recorded as partially applied (sqlx's `success = false`).
    pub dirty: Option<i64>,
}

impl MigrationStatus {
    /// Whether a migration run would refuse to start (sqlx checks the same three things).
    pub fn has_problems(&self) -> bool {
        !self.modified.is_empty() || !self.missing.is_empty() || self.dirty.is_some()
    }
}

/// Compares the database's bookkeeping with `migrator`.
pub async fn status(
    conn: &mut PgConnection,
    migrator: &Migrator,
) -> Result<MigrationStatus, MigrationError> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await
        .map_err(MigrationError::Database)?;
    let recorded: Vec<(i64, Vec<u8>, bool)> = if exists {
        sqlx::query_as("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await
            .map_err(MigrationError::Database)?
    } else {
        Vec::new()
    };
    let files: BTreeMap<i64, &[u8]> = migrator
        .iter()
        .filter(|migration| !migration.migration_type.is_down_migration())
        .map(|migration| (migration.version, migration.checksum.as_ref()))
        .collect();
    let mut status = MigrationStatus::default();
    let mut seen = BTreeSet::new();
    for (version, checksum, success) in recorded {
        seen.insert(version);
        if !success {
            status.dirty = Some(version);
        }
        match files.get(&version) {
            None => status.missing.push(version),
            Some(file) if *file != checksum.as_slice() => status.modified.push(version),
            Some(_) if success => status.applied.push(version),
            Some(_) => {}
        }
    }
    status.pending = files
        .keys()
        .filter(|version| !seen.contains(version))
        .copied()
        .collect();
    Ok(status)
}
