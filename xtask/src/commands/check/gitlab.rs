//! GitLab CI: the schema check, and gitlab-ci-local listing the jobs. gitlab-ci-local needs a git checkout with an
//! `origin/main` ref for `rules:changes`, so it runs in a throwaway clone under target/ that holds the working
//! tree's .gitlab-ci.yml.

use std::path::Path;

use anyhow::Context;

use super::Validator;
use crate::step::Step;

const CLONE: &str = "target/gitlab-ci-local";

pub fn validators(root: &Path) -> Vec<Validator> {
    if !root.join(".gitlab-ci.yml").exists() {
        return Vec::new();
    }
    let (source, clone) = (root.to_path_buf(), root.join(CLONE));
    vec![
        Validator::new(
            "check-jsonschema gitlab-ci",
            ".gitlab-ci.yml against GitLab's schema",
        )
        .step(Step::command(
            "validate the pipeline against GitLab's CI schema",
            ".venv/bin/check-jsonschema",
            ["--builtin-schema", "vendor.gitlab-ci", ".gitlab-ci.yml"],
        )),
        Validator::new("gitlab-ci-local", ".gitlab-ci.yml (jobs, stages, rules)")
            .unavailable_because(
                (!root.join(".git").exists()).then(|| "this is not a git checkout".to_owned()),
            )
            .step(Step::internal(
                format!("make a throwaway clone in {CLONE} with an origin/main ref"),
                move |_| prepare_clone(&source, &clone),
            ))
            .step(
                Step::command(
                    "list the jobs",
                    "npx",
                    ["--no", "gitlab-ci-local", "--cwd", CLONE, "--list"],
                )
                .capture("jobs", None),
            )
            .step(Step::command(
                "expand the whole pipeline",
                "npx",
                ["--no", "gitlab-ci-local", "--cwd", CLONE, "--preview"],
            )),
    ]
}

fn prepare_clone(source: &Path, clone: &Path) -> anyhow::Result<()> {
    if clone.exists() {
        std::fs::remove_dir_all(clone)
            .with_context(|| format!("cannot remove {}", clone.display()))?;
    }
    let git = |args: &[&str], dir: &Path| -> anyhow::Result<()> {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .status()
            .context("git is needed for gitlab-ci-local")?;
        anyhow::ensure!(status.success(), "`git {}` failed", args.join(" "));
        Ok(())
    };
    git(
        &[
            "clone",
            "--quiet",
            "--no-hardlinks",
            &source.to_string_lossy(),
            &clone.to_string_lossy(),
        ],
        source,
    )?;
    git(&["update-ref", "refs/remotes/origin/main", "HEAD"], clone)?;
    std::fs::copy(source.join(".gitlab-ci.yml"), clone.join(".gitlab-ci.yml"))
        .context("cannot copy .gitlab-ci.yml")?;
    std::os::unix::fs::symlink(source.join("node_modules"), clone.join("node_modules"))
        .context("cannot link node_modules")?;
    Ok(())
}
