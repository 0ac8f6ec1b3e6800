//! The database migrations and how they are applied, without the Lambda runtime: the function's `migrate` command,
//! `cargo xtask migrate --database-url` and the tests all go through [`run`].

use std::collections::BTreeSet;

use serde::Serialize;
use sqlx::migrate::{Migrate, MigrateError, Migrator};
use sqlx::{Connection, PgConnection};

/// The migrations in `migrations/` at the repository root, embedded at build time (see `build.rs`).
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

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
    #[error("migration bookkeeping failed: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migrations failed: {0}")]
    Other(#[source] MigrateError),
}

impl From<MigrateError> for MigrationError {
    fn from(error: MigrateError) -> Self {
        match error {
            MigrateError::ExecuteMigration(source, version) => Self::Failed { version, source },
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
/// sqlx's own runner does the work (checksums, one transaction per migration, its advisory lock). This function takes
/// the same session-level advisory lock around it (PostgreSQL counts re-entrant locks per session), so the set of
/// versions read before and after the run cannot include another runner's work: `applied` is exactly what this call
/// applied, also when several runners start at once.
///
/// On failure every advisory lock of the session is released (sqlx's runner returns early without unlocking), so a
/// reused connection does not keep other runners waiting.
pub async fn run(
    conn: &mut PgConnection,
    migrator: &Migrator,
) -> Result<MigrationReport, MigrationError> {
    conn.lock().await?;
    let outcome = run_locked(conn, migrator).await;
    match outcome {
        Ok(report) => {
            conn.unlock().await?;
            Ok(report)
        }
        Err(error) => {
            if let Err(unlock_error) = sqlx::query("SELECT pg_advisory_unlock_all()")
                .execute(&mut *conn)
                .await
            {
                tracing::warn!(error = %unlock_error, "could not release the migration lock after a failure");
            }
            Err(error)
        }
    }
}

async fn run_locked(
    conn: &mut PgConnection,
    migrator: &Migrator,
) -> Result<MigrationReport, MigrationError> {
    conn.ensure_migrations_table().await?;
    let before = applied_versions(conn).await?;
    migrator.run_direct(conn).await?;
    let after = applied_versions(conn).await?;
    Ok(MigrationReport {
        applied: after.difference(&before).copied().collect(),
        current_version: after.last().copied(),
    })
}

async fn applied_versions(conn: &mut PgConnection) -> Result<BTreeSet<i64>, MigrationError> {
    Ok(conn
        .list_applied_migrations()
        .await?
        .into_iter()
        .map(|migration| migration.version)
        .collect())
}

/// Connects to `database_url` and applies the embedded migrations: `cargo xtask migrate --database-url URL`.
pub async fn run_with_url(database_url: &str) -> Result<MigrationReport, MigrationError> {
    let mut conn = PgConnection::connect(database_url)
        .await
        .map_err(MigrationError::Connect)?;
    let report = run(&mut conn, &MIGRATOR).await;
    // Closing politely only saves the server a log line; the report is what matters.
    if let Err(error) = conn.close().await {
        tracing::debug!(%error, "closing the migration connection failed");
    }
    report
}

/// [`run_with_url`] for synchronous callers (xtask): runs it on a private single-threaded Tokio runtime.
pub fn run_with_url_blocking(database_url: &str) -> Result<MigrationReport, MigrationError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| MigrationError::Connect(sqlx::Error::Io(error)))?;
    runtime.block_on(run_with_url(database_url))
}
