//! The local AWS the rehearsal runs against: moto (pinned in tools/requirements.in) on 127.0.0.1, started through
//! emulator/serve.py so that the compensations beside it are loaded, and stopped on every exit path (the guard stops
//! it when dropped, whether the rehearsal succeeded, failed or was interrupted).
//!
//! The AWS CLI: the commands are written for v2, and the real path keeps requiring it. AWS CLI v2 honours
//! `AWS_ENDPOINT_URL` only from 2.13 on, and the only v2 some machines can install (Debian's `awscli` 2.9) ignores it,
//! so a rehearsal there would silently call real AWS with fake keys. The rehearsal therefore puts a wrapper named `aws`
//! first on PATH that runs the machine's own v2 with `--endpoint-url` (which every v2 honours). PyPI's AWS CLI v1 is
//! not used: it would rehearse another client than the one that deploys.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use nix::sys::signal::Signal;

use crate::commands::local::http;
use crate::commands::local::services::Services;
use crate::preflight::parse_version;
use crate::tools::VENV_BIN;

/// Where the rehearsal keeps its logs and the `aws` wrapper.
pub const WORK_DIR: &str = "target/rehearse";
const SERVE: &str = "xtask/src/commands/rehearse/emulator/serve.py";
/// Fake credentials: moto accepts any; real AWS rejects these, should anything ever get past the endpoint.
const ACCESS_KEY: &str = "rehearsal";
const SECRET_KEY: &str = "rehearsal";

/// A running emulator; dropping it stops moto.
pub struct Emulator {
    pub endpoint: String,
    /// The folder with the `aws` wrapper, first on the commands' PATH.
    wrapper_dir: PathBuf,
    _services: Services,
}

impl Emulator {
    /// Starts moto; with `account`, as that account (what `aws sts get-caller-identity` then answers), so that a
    /// check of the caller's account against the stage's passes as it would with the stage's own credentials.
    pub fn start(root: &Path, account: Option<&str>) -> anyhow::Result<Emulator> {
        let work = root.join(WORK_DIR);
        std::fs::create_dir_all(&work)
            .with_context(|| format!("cannot create {}", work.display()))?;
        let wrapper_dir = write_aws_wrapper(&work)?;
        let port = http::free_port()?;
        let log_path = work.join("moto.log");
        let log = File::create(&log_path)
            .with_context(|| format!("cannot write {}", log_path.display()))?;
        let mut command = Command::new(root.join(VENV_BIN).join("python"));
        command
            .arg(root.join(SERVE))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        if let Some(account) = account {
            // moto answers as this account instead of its default 123456789012:
            // https://docs.getmoto.org/en/latest/docs/multi_account.html
            command.env("MOTO_ACCOUNT_ID", account);
        }
        let mut services = Services::default();
        services.start(
            "moto (the AWS emulator)",
            command,
            Some(log),
            Signal::SIGTERM,
        )?;
        let answer = http::get_in_background(port, "/moto-api/data.json", Duration::from_secs(60))
            .recv_timeout(Duration::from_secs(65))
            .context("the emulator did not answer within a minute")?;
        match answer {
            Ok((200, _)) => {}
            Ok((status, _)) => bail!(
                "the emulator answered {status} on 127.0.0.1:{port}; see {}",
                log_path.display()
            ),
            Err(error) => {
                return Err(error.context(format!(
                    "the emulator did not start; see {}",
                    log_path.display()
                )));
            }
        }
        Ok(Emulator {
            endpoint: format!("http://127.0.0.1:{port}"),
            wrapper_dir,
            _services: services,
        })
    }

    /// The `aws` wrapper: the machine's AWS CLI v2, always with the emulator's endpoint.
    pub fn aws(&self) -> PathBuf {
        self.wrapper_dir.join("aws")
    }

    /// The environment every rehearsed command runs with: the emulator's endpoint, fake keys, no profile or config
    /// file (nothing of the person's own AWS setup may take part), the `aws` wrapper first on PATH.
    pub fn environment(&self, region: &str) -> anyhow::Result<Vec<(String, String)>> {
        let mut path = vec![self.wrapper_dir.clone()];
        path.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        let path =
            std::env::join_paths(path).context("PATH holds a folder with a `:` in its name")?;
        let path = path.to_str().context("PATH is not UTF-8")?.to_owned();
        Ok([
            ("PATH", path.as_str()),
            ("AWS_ENDPOINT_URL", &self.endpoint),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
            ("AWS_REGION", region),
            ("AWS_DEFAULT_REGION", region),
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
            ("AWS_PAGER", ""),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect())
    }

    /// Variables that must not leak in from the person's shell, or from the GitLab job that runs `cargo xtask test`:
    /// the rehearsal is a local run against the emulator's made-up credentials, not a pipeline deployment, so the
    /// job-identity check (which expects the stage's real role names) does not apply; the account check still does.
    pub const REMOVED: &'static [&'static str] = &[
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "GITLAB_CI",
        "PMP_IDENTITY",
    ];
}

/// Writes `<work>/bin/aws`, which runs the first AWS CLI v2 on PATH with `--endpoint-url "$AWS_ENDPOINT_URL"`.
fn write_aws_wrapper(work: &Path) -> anyhow::Result<PathBuf> {
    let real = find_aws_v2(&std::env::var_os("PATH").unwrap_or_default())?;
    let bin = work.join("bin");
    std::fs::create_dir_all(&bin)?;
    let wrapper = bin.join("aws");
    let script = format!(
        "#!/bin/sh\n# Written by `cargo xtask rehearse`: {} with the emulator's endpoint (see rehearse/emulator.rs).\n\
         exec '{}' --endpoint-url \"$AWS_ENDPOINT_URL\" \"$@\"\n",
        real.display(),
        real.display()
    );
    std::fs::write(&wrapper, script)
        .with_context(|| format!("cannot write {}", wrapper.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))?;
    Ok(bin)
}

/// The first `aws` on `path` that reports version 2 or later.
fn find_aws_v2(path: &std::ffi::OsStr) -> anyhow::Result<PathBuf> {
    let mut seen = Vec::new();
    for folder in std::env::split_paths(path) {
        let candidate = folder.join("aws");
        if !candidate.is_file() || folder.ends_with("rehearse/bin") {
            continue;
        }
        let Ok(output) = Command::new(&candidate).arg("--version").output() else {
            continue;
        };
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        match parse_version(&text) {
            Some((major, ..)) if major >= 2 => return Ok(candidate),
            Some((major, minor, patch)) => seen.push(format!(
                "{} is {major}.{minor}.{patch}",
                candidate.display()
            )),
            None => {}
        }
    }
    bail!(
        "the rehearsal needs AWS CLI v2 (the version the deployment commands are written for){}: {}",
        if seen.is_empty() {
            String::new()
        } else {
            format!("; found only {}", seen.join(", "))
        },
        crate::preflight::AWS.install
    )
}
