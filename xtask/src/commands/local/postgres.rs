//! The local PostgreSQL: where its binaries are, whether its cluster in .local/postgres is complete, its password, and
//! when it is ready. A cluster is complete once the `pmp` database exists; until then each run starts it over.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

pub const DIR: &str = ".local/postgres";
pub const DATA: &str = ".local/postgres/data";
pub const PASSWORD_FILE: &str = ".local/postgres/password";
pub const LOG: &str = ".local/postgres/server.log";
/// Written once the cluster has its database: a cluster without it is a half-finished first run.
const COMPLETE: &str = ".local/postgres/complete";
pub const DATABASE: &str = "pmp";
pub const SUPERUSER: &str = "postgres";

pub const MISSING: &str = "PostgreSQL server binaries (initdb, postgres) were found neither on PATH nor in \
/usr/lib/postgresql/*/bin: install them (Debian/Ubuntu: `apt-get install postgresql`) or set DATABASE_URL to a \
PostgreSQL server to use instead";

/// The folder holding `initdb` and `postgres` (symbolic links followed, so that `createdb` is found beside them): PATH
/// first, then the newest Debian-style installation.
pub fn find_binaries() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    let on_path = std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).find(|dir| has_both(dir)));
    let dir = on_path.or_else(|| {
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let version = entry.file_name().to_str()?.parse().ok()?;
                Some((version, entry.path().join("bin")))
            })
            .filter(|(_, dir)| has_both(dir))
            .collect();
        versions.sort();
        versions.pop().map(|(_, dir)| dir)
    })?;
    let real = std::fs::canonicalize(dir.join("initdb")).ok()?;
    real.parent().map(Path::to_path_buf)
}

/// Whether the cluster in .local/postgres was completed by an earlier run.
pub fn complete(root: &Path) -> bool {
    root.join(COMPLETE).is_file() && root.join(DATA).join("PG_VERSION").is_file()
}

/// Removes what an unfinished first run left, and writes the new cluster's superuser password (owner-only).
pub fn prepare(root: &Path, password: &str) -> anyhow::Result<()> {
    let dir = root.join(DIR);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("cannot remove the unfinished cluster in {DIR}"))?;
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {DIR}"))?;
    write_private(&root.join(PASSWORD_FILE), password)
}

/// Marks the cluster as complete.
pub fn record_complete(root: &Path) -> anyhow::Result<()> {
    std::fs::write(root.join(COMPLETE), "the pmp database exists\n")
        .with_context(|| format!("cannot write {COMPLETE}"))
}

/// The superuser password: a new random one for a new cluster, else the one kept beside the cluster.
pub fn password(root: &Path, new_cluster: bool) -> anyhow::Result<String> {
    if new_cluster {
        let mut bytes = [0u8; 18];
        std::io::Read::read_exact(
            &mut std::fs::File::open("/dev/urandom").context("cannot open /dev/urandom")?,
            &mut bytes,
        )?;
        return Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect());
    }
    let text = std::fs::read_to_string(root.join(PASSWORD_FILE)).with_context(|| {
        format!(
            "the cluster in {DIR} has no readable {PASSWORD_FILE}: remove {DIR} to start a new one"
        )
    })?;
    Ok(text.trim().to_owned())
}

/// Writes `text` to a file only its owner may read (a password, an environment with one).
pub fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// The URL the migrations and the function use.
pub fn url(password: &str, port: u16) -> String {
    format!("postgres://{SUPERUSER}:{password}@127.0.0.1:{port}/{DATABASE}")
}

/// Whether this process runs as root: PostgreSQL refuses to, so its programs then run as the `postgres` user.
pub fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("Uid:"))?;
            // Real, effective, saved, filesystem: the effective one decides.
            line.split_whitespace().nth(2).map(|uid| uid == "0")
        })
        .unwrap_or(false)
}

/// As root, the `postgres` system user must exist (the Debian package creates it).
pub fn check_postgres_user() -> anyhow::Result<()> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    if passwd.lines().any(|line| line.starts_with("postgres:")) {
        Ok(())
    } else {
        bail!(
            "running as root, `local` runs PostgreSQL as the `postgres` system user, which does not exist: install \
             PostgreSQL with `apt-get install postgresql` (it creates the user) or set DATABASE_URL"
        )
    }
}

/// Whether the postmaster in `data` says it accepts connections: the last line of postmaster.pid reads `ready`.
pub fn ready(data: &Path) -> bool {
    std::fs::read_to_string(data.join("postmaster.pid")).is_ok_and(|pid_file| {
        pid_file
            .lines()
            .nth(7)
            .is_some_and(|status| status.trim() == "ready")
    })
}

/// The last lines of the server log, to explain a failed start.
pub fn log_tail(root: &Path) -> String {
    let text = std::fs::read_to_string(root.join(LOG)).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

/// How long PostgreSQL may take to accept connections.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_cluster_gets_a_random_password_and_a_kept_one_is_read_back() -> anyhow::Result<()> {
        let root = std::env::temp_dir().join(format!("xtask-local-pg-{}", std::process::id()));
        std::fs::create_dir_all(&root)?;
        let first = password(&root, true)?;
        assert_eq!(first.len(), 36);
        assert_ne!(first, password(&root, true)?);
        assert!(password(&root, false).is_err(), "no cluster yet");
        prepare(&root, &first)?;
        assert_eq!(password(&root, false)?, first);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(root.join(PASSWORD_FILE))?
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!complete(&root), "no data folder");
        std::fs::remove_dir_all(&root)?;
        Ok(())
    }

    #[test]
    fn readiness_is_read_from_the_pid_files_status_line() -> anyhow::Result<()> {
        let data = std::env::temp_dir().join(format!("xtask-local-pid-{}", std::process::id()));
        std::fs::create_dir_all(&data)?;
        assert!(!ready(&data));
        let lines = ["4242", "/d", "1700000000", "5432", "", "127.0.0.1", "  1 2"];
        std::fs::write(
            data.join("postmaster.pid"),
            format!("{}\nstarting\n", lines.join("\n")),
        )?;
        assert!(!ready(&data));
        std::fs::write(
            data.join("postmaster.pid"),
            format!("{}\nready   \n", lines.join("\n")),
        )?;
        assert!(ready(&data));
        std::fs::remove_dir_all(&data)?;
        Ok(())
    }
}
