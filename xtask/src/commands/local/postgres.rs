//! The local PostgreSQL: whether its cluster in .local/postgres is complete, its password, and when it is ready. A
//! cluster is complete once it has started; until then each run starts it over. Where the server's
//! binaries are is the `local-postgres` crate's job (shared with the database tests).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;

pub const DIR: &str = ".local/postgres";
pub const DATA: &str = ".local/postgres/data";
pub const PASSWORD_FILE: &str = ".local/postgres/password";
pub const LOG: &str = ".local/postgres/server.log";
/// Written once the new cluster has started: a cluster without it is a half-finished first run (the database and the
/// roles are created by an idempotent step on every run).
const COMPLETE: &str = ".local/postgres/complete";
pub const DATABASE: &str = "pmp";
pub const SUPERUSER: &str = "postgres";

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
    std::fs::write(root.join(COMPLETE), "the cluster started\n")
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

/// The administrator's URL: the bootstrap and the migrations use it (the migrations switch to `pmp_migrator`).
pub fn url(password: &str, port: u16) -> String {
    format!("postgres://{SUPERUSER}:{password}@127.0.0.1:{port}/{DATABASE}")
}

/// `url`, with the session switched to the API's role at sign-in (`options=-c role=pmp_api`): the local function has
/// the API's privileges, not the administrator's, as in AWS.
pub fn as_api_role(url: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{separator}options=-c%20role%3D{}",
        pmp_api::roles::API_ROLE
    )
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
