//! GitLab CI: the schema check, gitlab-ci-local listing and expanding the jobs, checkov on the pipeline and the CI
//! image, and the image's tag and pins against the repository. gitlab-ci-local needs a git checkout on the default
//! branch with an `origin/main` ref for `rules:changes`, so it runs in a throwaway clone under target/ that holds
//! the working tree's .gitlab-ci.yml.

use std::path::Path;

use anyhow::Context;

use super::{Validator, checkov};
use crate::step::Step;

const CLONE: &str = "target/gitlab-ci-local";
/// Called directly: after `npx --no`, npm would take gitlab-ci-local's options as its own.
const GITLAB_CI_LOCAL: &str = "node_modules/.bin/gitlab-ci-local";
/// The pipeline sets it for the runner; gitlab-ci-local warns about predefined variables it does not know.
const IGNORED_VARIABLE: &str = "FF_DISABLE_UMASK_FOR_DOCKER_EXECUTOR";

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
                    "list the jobs of a default-branch pipeline",
                    GITLAB_CI_LOCAL,
                    [
                        "--cwd",
                        CLONE,
                        "--list-csv",
                        "--ignore-predefined-vars",
                        IGNORED_VARIABLE,
                    ],
                )
                .capture("jobs", None),
            )
            .step(Step::internal(
                "check that the jobs run in the stage order",
                |outputs| check_stage_order(outputs.get("jobs").map_or("", String::as_str)),
            ))
            .step(Step::command(
                "expand the whole pipeline",
                GITLAB_CI_LOCAL,
                [
                    "--cwd",
                    CLONE,
                    "--preview",
                    "--ignore-predefined-vars",
                    IGNORED_VARIABLE,
                ],
            )),
        Validator::new("checkov gitlab-ci", ".gitlab-ci.yml").step(checkov(
            "scan the pipeline",
            &["--file", ".gitlab-ci.yml", "--framework", "gitlab_ci"],
        )),
    ]
}

/// The stages of a default-branch pipeline, in order; `teardown` jobs are manual, and `drift` runs only in scheduled
/// pipelines.
pub const STAGE_ORDER: &[&str] = &[
    "image", "validate", "build", "plan", "apply", "deploy", "migrate", "teardown", "drift",
];

/// gitlab-ci-local's `--list-csv` prints `name;stage;when;…` rows in pipeline order; the stages must not go back.
fn check_stage_order(listing: &str) -> anyhow::Result<()> {
    let mut last = 0;
    let mut jobs = 0;
    for line in listing
        .lines()
        .filter(|line| line.contains(';') && !line.starts_with("name;"))
    {
        let stage = line.split(';').nth(1).unwrap_or_default();
        let Some(position) = STAGE_ORDER.iter().position(|known| *known == stage) else {
            anyhow::bail!("job row with an unknown stage `{stage}`: {line}");
        };
        anyhow::ensure!(
            position >= last,
            "a job of stage {stage} is listed after stage {}: {line}",
            STAGE_ORDER[last]
        );
        last = position;
        jobs += 1;
    }
    anyhow::ensure!(
        jobs > 0,
        "gitlab-ci-local listed no jobs for the default branch:\n{listing}"
    );
    Ok(())
}

/// A throwaway clone of `source` as gitlab-ci-local needs it: on `main`, which `origin/HEAD` names as the default branch,
/// with a GitLab-shaped origin URL, the working tree's `.gitlab-ci.yml` and the installed node_modules. Used by `check`
/// (listing and preview) and by `pipeline` (running the jobs).
pub(crate) fn prepare_clone(source: &Path, clone: &Path) -> anyhow::Result<()> {
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
    // A CI checkout is detached; gitlab-ci-local would then list the jobs of no branch at all.
    git(&["checkout", "--quiet", "-B", "main"], clone)?;
    git(&["update-ref", "refs/remotes/origin/main", "HEAD"], clone)?;
    // gitlab-ci-local takes the default branch from origin/HEAD, which a clone of a worktree on another branch points
    // at that branch: every default-branch rule would then be false and no job listed.
    git(
        &[
            "symbolic-ref",
            "refs/remotes/origin/HEAD",
            "refs/remotes/origin/main",
        ],
        clone,
    )?;
    // gitlab-ci-local derives CI_PROJECT_PATH from a GitLab-shaped origin URL.
    git(
        &[
            "remote",
            "set-url",
            "origin",
            "https://gitlab.com/pmp/pmp-api.git",
        ],
        clone,
    )?;
    std::fs::copy(source.join(".gitlab-ci.yml"), clone.join(".gitlab-ci.yml"))
        .context("cannot copy .gitlab-ci.yml")?;
    std::os::unix::fs::symlink(source.join("node_modules"), clone.join("node_modules"))
        .context("cannot link node_modules")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_order_is_read_from_the_listing() {
        let good = "name;stage;when\ntest;validate;on_success\nplan:dev;plan;on_success\nmigrate:dev;migrate;on_success\n";
        assert!(check_stage_order(good).is_ok());
        let backwards = "name;stage;when\ndeploy:dev;deploy;on_success\nbuild;build;on_success\n";
        assert!(check_stage_order(backwards).is_err());
        assert!(check_stage_order("name;stage;when\n").is_err(), "no jobs");
        assert!(
            check_stage_order("name;stage\nx;lint\n").is_err(),
            "unknown stage"
        );
    }
}
