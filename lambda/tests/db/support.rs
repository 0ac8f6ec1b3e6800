//! Helpers shared by the database tests.

use std::path::{Path, PathBuf};

use sqlx::migrate::Migrator;
use sqlx::{Executor, PgConnection, Row};

/// Boxes an async test body into a [`crate::TestFn`].
#[macro_export]
macro_rules! tests {
    ($($name:ident),* $(,)?) => {
        pub const TESTS: &[(&str, $crate::TestFn)] = &[
            $((concat!(module_path!(), "::", stringify!($name)), |cluster| Box::pin($name(cluster)))),*
        ];
    };
}

/// The repository's `migrations/` directory.
pub fn migrations_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations")
}

/// Copies the repository's migrations into `dir`, so that a test can add or edit one there.
pub fn copy_migrations(dir: &Path) {
    for entry in std::fs::read_dir(migrations_dir()).expect("read migrations/") {
        let path = entry.expect("migrations/ entry").path();
        if path.extension().is_some_and(|ext| ext == "sql") {
            std::fs::copy(&path, dir.join(path.file_name().expect("file name")))
                .expect("copy a migration");
        }
    }
}

/// The file of migration `version` in a copy made by [`copy_migrations`].
pub fn copied_migration(dir: &Path, version: i64) -> std::path::PathBuf {
    std::fs::read_dir(dir)
        .expect("read the copy")
        .map(|entry| entry.expect("entry").path())
        .find(|path| {
            path.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{version}_")))
        })
        .expect("the migration is in the copy")
}

pub async fn migrator(dir: &Path) -> Migrator {
    Migrator::new(dir).await.expect("resolve the migrations")
}

/// The up-migration versions of `migrator`, ascending.
pub fn versions(migrator: &Migrator) -> Vec<i64> {
    let mut versions: Vec<i64> = migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| m.version)
        .collect();
    versions.sort_unstable();
    versions
}

/// `(version, success)` rows of sqlx's bookkeeping table.
pub async fn recorded(conn: &mut PgConnection) -> Vec<(i64, bool)> {
    sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
        .fetch_all(conn)
        .await
        .expect("read _sqlx_migrations")
}

pub async fn table_exists(conn: &mut PgConnection, name: &str) -> bool {
    sqlx::query("SELECT to_regclass($1) IS NOT NULL")
        .bind(name)
        .fetch_one(conn)
        .await
        .expect("look the table up")
        .get(0)
}

/// The SQLSTATE of a database error, e.g. `23505` for a unique violation.
pub fn sqlstate(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => db.code().map(|code| code.into_owned()).unwrap_or_default(),
        other => panic!("expected a database error, got {other}"),
    }
}

/// Runs `sql`, expecting it to fail with `code`; returns the error message.
pub async fn fails_with(conn: &mut PgConnection, sql: &str, code: &str) -> String {
    let error = conn
        .execute(sql)
        .await
        .expect_err(&format!("must fail with {code}: {sql}"));
    assert_eq!(sqlstate(&error), code, "{sql}: {error}");
    error.to_string()
}
