//! The CI image: its tag in .gitlab-ci.yml must be the hash of ci/ (so a changed definition cannot run under the old
//! image), its Python pins must be the repository's, and checkov scans the Dockerfile.

use std::path::Path;

use anyhow::{Context, ensure};
use sha2::{Digest, Sha256};

use super::{Validator, checkov};
use crate::step::Step;

pub fn validators(root: &Path) -> Vec<Validator> {
    if !root.join("ci/Dockerfile").exists() {
        return Vec::new();
    }
    let (for_tag, for_pins) = (root.to_path_buf(), root.to_path_buf());
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

#[cfg(test)]
mod tests {
    use super::*;

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
