//! The CI image: its tag in .gitlab-ci.yml must be the hash of ci/ (so a changed definition cannot run under the old
//! image), its Python pins must be the repository's, every job runs an image pinned by digest, and checkov scans the
//! Dockerfile.

use std::path::Path;

use anyhow::{Context, ensure};
use sha2::{Digest, Sha256};
use yaml_rust2::{Yaml, YamlLoader};

use super::{Validator, checkov};
use crate::step::Step;

pub fn validators(root: &Path) -> Vec<Validator> {
    if !root.join("ci/Dockerfile").exists() {
        return Vec::new();
    }
    let (for_tag, for_pins, for_images, for_bases) = (
        root.to_path_buf(),
        root.to_path_buf(),
        root.to_path_buf(),
        root.to_path_buf(),
    );
    vec![
        Validator::new("ci image definition", "ci/, .gitlab-ci.yml, tools/requirements.txt")
            .step(Step::internal("check that PMP_CI_IMAGE_TAG is the hash of ci/", move |_| {
                let expected = image_tag(&for_tag)?;
                let pipeline = std::fs::read_to_string(for_tag.join(".gitlab-ci.yml")).context("cannot read .gitlab-ci.yml")?;
                let written = declared_tag(&pipeline).context(".gitlab-ci.yml does not set PMP_CI_IMAGE_TAG")?;
                ensure!(written == expected, "ci/ changed: set PMP_CI_IMAGE_TAG to \"{expected}\" in .gitlab-ci.yml (it is \"{written}\")");
                Ok(())
            }))
            .step(Step::internal("check that the image's Python pins are the repository's", move |_| {
                let image = std::fs::read_to_string(for_pins.join("ci/requirements.txt")).context("cannot read ci/requirements.txt")?;
                let repo = std::fs::read_to_string(for_pins.join("tools/requirements.txt")).context("cannot read tools/requirements.txt")?;
                let repo_pins = pins(&repo);
                for (name, version) in pins(&image) {
                    let wanted = repo_pins.iter().find(|(repo_name, _)| *repo_name == name).map(|(_, v)| v.as_str());
                    ensure!(wanted == Some(version.as_str()), "ci/requirements.txt pins {name}=={version}, tools/requirements.txt {wanted:?}");
                }
                Ok(())
            }))
            .step(Step::internal("check that every job runs an image pinned by digest", move |_| {
                let pipeline = std::fs::read_to_string(for_images.join(".gitlab-ci.yml")).context("cannot read .gitlab-ci.yml")?;
                let unpinned = unpinned_images(&pipeline)?;
                ensure!(unpinned.is_empty(), "{}", unpinned.join("; "));
                Ok(())
            }))
            .step(Step::internal("check that ci/Dockerfile builds on base images pinned by digest", move |_| {
                let dockerfile = std::fs::read_to_string(for_bases.join("ci/Dockerfile")).context("cannot read ci/Dockerfile")?;
                let unpinned = unpinned_bases(&dockerfile);
                ensure!(unpinned.is_empty(), "ci/Dockerfile builds on images without a digest: {}", unpinned.join(", "));
                Ok(())
            }))
            .step(checkov("scan the CI image definition", &["--file", "ci/Dockerfile", "--framework", "dockerfile"])),
    ]
}

/// `find ci -type f | LC_ALL=C sort | xargs sha256sum | sha256sum`, first 16 hex digits: what the ci-image job checks.
pub fn image_tag(root: &Path) -> anyhow::Result<String> {
    let mut files = Vec::new();
    collect_files(&root.join("ci"), &mut files)?;
    let mut relative: Vec<String> = files
        .iter()
        .map(|file| {
            file.strip_prefix(root)
                .unwrap_or(file)
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    relative.sort();
    let mut listing = String::new();
    for file in &relative {
        let bytes =
            std::fs::read(root.join(file)).with_context(|| format!("cannot read {file}"))?;
        listing.push_str(&format!("{}  {file}\n", hex(&Sha256::digest(&bytes))));
    }
    Ok(hex(&Sha256::digest(listing.as_bytes()))[..16].to_owned())
}

fn collect_files(folder: &Path, files: &mut Vec<std::path::PathBuf>) -> anyhow::Result<()> {
    for entry in
        std::fs::read_dir(folder).with_context(|| format!("cannot read {}", folder.display()))?
    {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn declared_tag(pipeline: &str) -> Option<String> {
    pipeline.lines().find_map(|line| {
        let value = line.trim().strip_prefix("PMP_CI_IMAGE_TAG:")?;
        Some(value.trim().trim_matches('"').to_owned())
    })
}

/// `name==version` lines of a requirements file (hash continuation lines and comments ignored).
fn pins(requirements: &str) -> Vec<(String, String)> {
    requirements
        .lines()
        .filter_map(|line| {
            let (name, version) = line.split_once("==")?;
            let version = version.split_whitespace().next()?.trim_end_matches('\\');
            Some((name.trim().to_lowercase(), version.to_owned()))
        })
        .collect()
}

/// Top-level keys of a GitLab pipeline that are not jobs.
const NOT_JOBS: &[&str] = &[
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
];

/// Every job's image and services must end in `@sha256:<64 hex digits>`, written in the file. A tag can be pushed over
/// by any pipeline with registry write access (a merge request's job token included), and a digest held in a variable
/// can be replaced by a project, pipeline or schedule variable, which GitLab ranks above the file's. Every job, not
/// only the prod ones: the default branch's jobs share its protected caches and build the zip that prod deploys, so
/// each of them reaches prod. Returns one sentence per unpinned reference.
pub fn unpinned_images(pipeline: &str) -> anyhow::Result<Vec<String>> {
    let documents = YamlLoader::load_from_str(pipeline).context(".gitlab-ci.yml is not YAML")?;
    let Some(top) = documents.first().and_then(Yaml::as_hash) else {
        anyhow::bail!(".gitlab-ci.yml holds no mapping");
    };
    let root = &documents[0];
    let mut findings = Vec::new();
    for (name, job) in top {
        let Some(name) = name.as_str() else { continue };
        if name.starts_with('.') || NOT_JOBS.contains(&name) || !job["trigger"].is_badvalue() {
            continue;
        }
        let why = prod_reach(job);
        match inherited(root, job, "image", 0).or_else(|| fallback(root, "image")) {
            None => findings.push(format!(
                "job {name} ({why}) names no image, so the runner's default decides"
            )),
            Some(image) => {
                if let Some(reference) = image_name(image).filter(|reference| !pinned(reference)) {
                    findings.push(format!("job {name} ({why}) runs `{reference}`, not pinned by a digest written in the file"));
                }
            }
        }
        let services = inherited(root, job, "services", 0).or_else(|| fallback(root, "services"));
        for service in services.and_then(Yaml::as_vec).into_iter().flatten() {
            if let Some(reference) = image_name(service).filter(|reference| !pinned(reference)) {
                findings.push(format!("job {name} ({why}) starts the service `{reference}`, not pinned by a digest written in the file"));
            }
        }
    }
    Ok(findings)
}

/// Why a job reaches prod, for the message: directly (prod's environment, `--stage prod`, or prod among its
/// `parallel:matrix` values), or through what the default branch shares with prod.
fn prod_reach(job: &Yaml) -> &'static str {
    let environment = match &job["environment"] {
        Yaml::String(name) => Some(name.as_str()),
        other => other["name"].as_str(),
    };
    let script = match &job["script"] {
        Yaml::String(line) => line.clone(),
        Yaml::Array(lines) => lines
            .iter()
            .filter_map(Yaml::as_str)
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    };
    let mut matrix = Vec::new();
    strings(&job["parallel"]["matrix"], &mut matrix);
    let protected = crate::stage::PROTECTED.iter().any(|stage| {
        environment == Some(stage)
            || script.contains(&format!("--stage {stage}"))
            || matrix.contains(stage)
    });
    if protected {
        "it deploys to or reads prod"
    } else {
        "its caches and artifacts reach prod"
    }
}

/// Every string inside a YAML value.
fn strings<'a>(value: &'a Yaml, found: &mut Vec<&'a str>) {
    match value {
        Yaml::String(text) => found.push(text),
        Yaml::Array(items) => items.iter().for_each(|item| strings(item, found)),
        Yaml::Hash(map) => map.values().for_each(|item| strings(item, found)),
        _ => {}
    }
}

/// `key` of the job, else of the templates it `extends` (the last one named wins, as in GitLab), depth-limited.
fn inherited<'a>(root: &'a Yaml, job: &'a Yaml, key: &str, depth: usize) -> Option<&'a Yaml> {
    if !job[key].is_badvalue() {
        return Some(&job[key]);
    }
    if depth > 10 {
        return None;
    }
    let parents: Vec<&str> = match &job["extends"] {
        Yaml::String(parent) => vec![parent.as_str()],
        Yaml::Array(parents) => parents.iter().filter_map(Yaml::as_str).collect(),
        _ => Vec::new(),
    };
    parents
        .iter()
        .rev()
        .find_map(|parent| inherited(root, &root[*parent], key, depth + 1))
}

/// `default:` first, then the deprecated top-level keyword.
fn fallback<'a>(root: &'a Yaml, key: &str) -> Option<&'a Yaml> {
    [&root["default"][key], &root[key]]
        .into_iter()
        .find(|value| !value.is_badvalue())
}

/// `image: name` or `image: {name: …}` (services alike).
fn image_name(image: &Yaml) -> Option<&str> {
    image.as_str().or_else(|| image["name"].as_str())
}

/// The `FROM` (and `COPY --from=`) images of a Dockerfile that carry no digest; a build stage's own name needs none.
fn unpinned_bases(dockerfile: &str) -> Vec<String> {
    let mut stages: Vec<String> = Vec::new();
    let mut unpinned = Vec::new();
    for line in dockerfile.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let image = match words.as_slice() {
            [from, rest @ ..] if from.eq_ignore_ascii_case("FROM") => {
                let rest: Vec<&str> = rest
                    .iter()
                    .copied()
                    .filter(|word| !word.starts_with("--"))
                    .collect();
                if let [_, alias, name] = rest.as_slice()
                    && alias.eq_ignore_ascii_case("AS")
                {
                    stages.push(name.to_lowercase());
                }
                rest.first().copied()
            }
            [copy, rest @ ..] if copy.eq_ignore_ascii_case("COPY") => {
                rest.iter().find_map(|word| word.strip_prefix("--from="))
            }
            _ => None,
        };
        if let Some(image) = image
            && !pinned(image)
            && !stages.contains(&image.to_lowercase())
            && image != "scratch"
        {
            unpinned.push(image.to_owned());
        }
    }
    unpinned
}

/// Ends in `@sha256:` and 64 lower-case hex digits: what a registry cannot serve different bytes for.
fn pinned(reference: &str) -> bool {
    reference
        .rsplit_once("@sha256:")
        .is_some_and(|(_, digest)| {
            digest.len() == 64
                && digest
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "3f4743208d2338c934d7b8bcfbe1bb54c0b2355c510ad5e0f31c0c4a54bd704e";

    #[test]
    fn a_prod_job_on_a_mutable_image_fails_the_check() -> anyhow::Result<()> {
        let pipeline = format!(
            "default:\n  image: ${{CI_REGISTRY_IMAGE}}/ci@sha256:{DIGEST}\n\
             deploy:prod:\n  environment: {{name: prod}}\n  image: ${{CI_REGISTRY_IMAGE}}/ci:${{PMP_CI_IMAGE_TAG}}\n  script: [cargo xtask deploy --stage prod]\n\
             drift:\n  parallel: {{matrix: [{{PMP_STAGE: [dev, prod]}}]}}\n  image: ci:latest\n  script: [cargo xtask drift --stage $PMP_STAGE]\n"
        );
        assert_eq!(
            unpinned_images(&pipeline)?,
            [
                "job deploy:prod (it deploys to or reads prod) runs `${CI_REGISTRY_IMAGE}/ci:${PMP_CI_IMAGE_TAG}`, not pinned by a digest written in the file",
                "job drift (it deploys to or reads prod) runs `ci:latest`, not pinned by a digest written in the file",
            ]
        );
        Ok(())
    }

    #[test]
    fn digests_are_inherited_through_default_and_extends_and_must_be_literal() -> anyhow::Result<()>
    {
        let pipeline = format!(
            "variables:\n  DIGEST: sha256:{DIGEST}\n\
             default:\n  image: registry.example.com/ci@sha256:{DIGEST}\n\
             .docker:\n  image: {{name: docker:29-cli}}\n  services: [{{name: docker@sha256:{DIGEST}, alias: docker}}]\n\
             test:\n  script: [cargo xtask test]\n\
             apply:prod:\n  extends: [.docker]\n  image: docker@sha256:{DIGEST}\n  script: [cargo xtask apply --stage prod]\n\
             build:\n  extends: .docker\n  services: [docker:dind]\n  script: [cargo xtask build]\n\
             plan:dev:\n  image: registry.example.com/ci@${{DIGEST}}\n  script: [cargo xtask plan --stage dev]\n"
        );
        assert_eq!(
            unpinned_images(&pipeline)?,
            [
                "job build (its caches and artifacts reach prod) runs `docker:29-cli`, not pinned by a digest written in the file",
                "job build (its caches and artifacts reach prod) starts the service `docker:dind`, not pinned by a digest written in the file",
                "job plan:dev (its caches and artifacts reach prod) runs `registry.example.com/ci@${DIGEST}`, not pinned by a digest written in the file",
            ]
        );
        let no_image =
            "deploy:prod:\n  environment: prod\n  script: [cargo xtask deploy --stage prod]\n";
        assert_eq!(
            unpinned_images(no_image)?,
            [
                "job deploy:prod (it deploys to or reads prod) names no image, so the runner's default decides"
            ]
        );
        assert!(!pinned(&format!("ci@sha256:{}", &DIGEST[1..])), "63 digits");
        assert!(!pinned(&format!("ci@sha256:{}", DIGEST.to_uppercase())));
        Ok(())
    }

    #[test]
    fn base_images_need_a_digest_build_stages_do_not() {
        let dockerfile = format!(
            "FROM rust:1.95.0-slim-bookworm@sha256:{DIGEST} AS build\nFROM --platform=linux/amd64 node:22-bookworm-slim\n\
             COPY --from=build /a /a\nCOPY --from=node:22 /usr/local/bin/node /opt/node/bin/node\nRUN echo FROM x\n"
        );
        assert_eq!(
            unpinned_bases(&dockerfile),
            ["node:22-bookworm-slim", "node:22"]
        );
        let repository = std::fs::read_to_string(crate::project_root().join("ci/Dockerfile"))
            .expect("ci/Dockerfile");
        assert_eq!(unpinned_bases(&repository), Vec::<String>::new());
    }

    #[test]
    fn the_repository_pipeline_pins_every_image() -> anyhow::Result<()> {
        let pipeline = std::fs::read_to_string(crate::project_root().join(".gitlab-ci.yml"))?;
        assert_eq!(unpinned_images(&pipeline)?, Vec::<String>::new());
        Ok(())
    }

    #[test]
    fn the_declared_tag_matches_the_definition() -> anyhow::Result<()> {
        let root = crate::project_root();
        let pipeline = std::fs::read_to_string(root.join(".gitlab-ci.yml"))?;
        assert_eq!(declared_tag(&pipeline), Some(image_tag(&root)?));
        Ok(())
    }

    #[test]
    fn pins_are_read_with_and_without_hashes() {
        let text = "# comment\ncargo-lambda==1.9.2 \\\n    --hash=sha256:abc\nZiglang==0.17.1\n";
        assert_eq!(
            pins(text),
            [
                ("cargo-lambda".to_owned(), "1.9.2".to_owned()),
                ("ziglang".to_owned(), "0.17.1".to_owned())
            ]
        );
    }
}
