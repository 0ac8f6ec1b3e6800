//! The repo-local, pinned tool folders: `.venv` (Python checkers and cargo-lambda with zig, from
//! tools/requirements.txt) and `node_modules` (osls, the domain plugin, gitlab-ci-local, from package-lock.json).
//! Each is installed only when it is missing or its pin file changed since the last install: a copy of the pin file
//! kept inside the folder records what was installed. Both pin files carry every package's hash (pip-compile
//! `--generate-hashes`, npm's `integrity`), so a package index serving other bytes fails the install.

use std::path::Path;

use anyhow::Context;

use crate::step::Step;

pub const VENV: &str = ".venv";
pub const VENV_BIN: &str = ".venv/bin";
pub const PYTHON_PINS: &str = "tools/requirements.txt";
const PYTHON_STAMP: &str = ".venv/.installed-requirements.txt";
pub const NODE_PINS: &str = "package-lock.json";
const NODE_STAMP: &str = "node_modules/.installed-package-lock.json";

/// Whether the folder's record of its last install differs from the pin file (or is missing).
fn outdated(root: &Path, pins: &str, stamp: &str) -> bool {
    match (
        std::fs::read(root.join(pins)),
        std::fs::read(root.join(stamp)),
    ) {
        (Ok(wanted), Ok(installed)) => wanted != installed,
        _ => true,
    }
}

fn record(root: &Path, pins: &str, stamp: &str) -> anyhow::Result<()> {
    std::fs::copy(root.join(pins), root.join(stamp))
        .with_context(|| format!("cannot record the install in {stamp}"))?;
    Ok(())
}

/// Steps that bring `.venv` up to date with tools/requirements.txt; none when it already is.
pub fn python_steps(root: &Path) -> Vec<Step> {
    if !outdated(root, PYTHON_PINS, PYTHON_STAMP) {
        return Vec::new();
    }
    let mut steps = Vec::new();
    if !root.join(VENV_BIN).join("python").exists() {
        steps.push(Step::command(
            "create the repo-local Python environment",
            "python3",
            ["-m", "venv", VENV],
        ));
    }
    steps.push(Step::command(
        "install the pinned Python tools (cfn-lint, checkov, check-jsonschema, parliament, cargo-lambda, zig)",
        ".venv/bin/python",
        [
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            // Every package, dependencies included, must be in the file with its hash; pip refuses anything else.
            "--require-hashes",
            "--requirement",
            PYTHON_PINS,
        ],
    ));
    let root = root.to_path_buf();
    steps.push(Step::internal(
        "record the installed Python pins",
        move |_| record(&root, PYTHON_PINS, PYTHON_STAMP),
    ));
    steps
}

/// Steps that bring `node_modules` up to date with package-lock.json (`npm ci`); none when it already is.
pub fn node_steps(root: &Path) -> Vec<Step> {
    if !outdated(root, NODE_PINS, NODE_STAMP) {
        return Vec::new();
    }
    let root = root.to_path_buf();
    vec![
        Step::command(
            "install the pinned Node tools (osls, serverless-domain-manager, gitlab-ci-local)",
            "npm",
            ["ci", "--no-audit", "--no-fund"],
        ),
        Step::internal("record the installed Node pins", move |_| {
            record(&root, NODE_PINS, NODE_STAMP)
        }),
    ]
}

/// What a command must install before it runs, found by looking at the machine without running anything.
#[derive(Debug)]
pub struct Installs {
    /// cargo-lambda is not on PATH: the pinned one from .venv is used.
    pub cargo_lambda_from_venv: bool,
    pub python: Vec<Step>,
    pub node: Vec<Step>,
}

impl Installs {
    pub fn detect(root: &Path) -> Installs {
        Installs {
            cargo_lambda_from_venv: !on_path("cargo-lambda"),
            python: python_steps(root),
            node: node_steps(root),
        }
    }

    /// Every tool already in place: what step-list tests assume.
    #[cfg(test)]
    pub fn none() -> Installs {
        Installs {
            cargo_lambda_from_venv: false,
            python: Vec::new(),
            node: Vec::new(),
        }
    }

    /// The Python installs, needed only where cargo-lambda comes from .venv.
    pub fn for_build(&mut self) -> Vec<Step> {
        if self.cargo_lambda_from_venv {
            std::mem::take(&mut self.python)
        } else {
            Vec::new()
        }
    }
}

/// Whether an executable named `program` is on PATH (without running it: a dry run runs nothing).
pub fn on_path(program: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|folder| is_executable(&folder.join(program)))
}

fn is_executable(file: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    file.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_install_is_needed_until_the_pins_are_recorded_and_again_when_they_change()
    -> anyhow::Result<()> {
        let root = std::env::temp_dir().join(format!("xtask-tools-{}", std::process::id()));
        std::fs::create_dir_all(root.join("node_modules"))?;
        std::fs::write(root.join(NODE_PINS), "{\"lockfileVersion\": 3}")?;
        assert_eq!(node_steps(&root).len(), 2, "nothing recorded yet");
        record(&root, NODE_PINS, NODE_STAMP)?;
        assert!(node_steps(&root).is_empty(), "recorded pins match");
        std::fs::write(
            root.join(NODE_PINS),
            "{\"lockfileVersion\": 3, \"packages\": {}}",
        )?;
        assert_eq!(node_steps(&root).len(), 2, "the lock changed");
        std::fs::remove_dir_all(&root)?;
        Ok(())
    }

    #[test]
    fn a_fresh_checkout_creates_the_venv_first() {
        let root = std::env::temp_dir().join(format!("xtask-venv-{}", std::process::id()));
        let rendered: Vec<String> = python_steps(&root).iter().map(Step::render).collect();
        assert_eq!(rendered[0], "$ python3 -m venv .venv");
        assert_eq!(
            rendered[1],
            "$ .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --requirement tools/requirements.txt"
        );
    }
}
