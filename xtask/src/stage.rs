//! Stages: a name is valid when it matches `^[a-z][a-z0-9-]{1,15}$`, and known when `terraform/stages/<name>.tfvars`
//! exists. Names end up in stack, role, bucket and SSM names, so the rule keeps them short and DNS-safe.

use std::path::Path;

use anyhow::{Context, bail};

/// Stages whose teardown needs the stage name confirmed explicitly.
pub const PROTECTED: &[&str] = &["prod"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage(String);

impl Stage {
    /// A valid and known stage of the project at `root`.
    pub fn known(name: &str, root: &Path) -> anyhow::Result<Stage> {
        if !is_valid_name(name) {
            bail!(
                "`{name}` is not a valid stage name: use 2 to 16 lower-case letters, digits or dashes, starting with a letter"
            );
        }
        let known = known_stages(root)?;
        if !known.iter().any(|stage| stage == name) {
            bail!(
                "stage `{name}` is unknown: the known stages are {} (a stage is known when terraform/stages/{name}.tfvars exists)",
                known.join(", ")
            );
        }
        Ok(Stage(name.to_owned()))
    }

    pub fn name(&self) -> &str {
        &self.0
    }

    pub fn is_protected(&self) -> bool {
        PROTECTED.contains(&self.0.as_str())
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_is_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    first_is_letter && rest_ok && (2..=16).contains(&name.len())
}

/// The stages that have a variable file, sorted.
pub fn known_stages(root: &Path) -> anyhow::Result<Vec<String>> {
    let folder = root.join("terraform/stages");
    let entries = std::fs::read_dir(&folder)
        .with_context(|| format!("cannot read the stage folder {}", folder.display()))?;
    let mut stages = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot read the stage folder {}", folder.display()))?
            .path();
        if path.extension().is_some_and(|ext| ext == "tfvars")
            && let Some(stem) = path.file_stem().and_then(|stem| stem.to_str())
        {
            stages.push(stem.to_owned());
        }
    }
    stages.sort();
    Ok(stages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_pattern() {
        for good in ["dev", "prod", "qa-2", "ab", "abcdefghijklmnop"] {
            assert!(is_valid_name(good), "{good} should be valid");
        }
        for bad in [
            "",
            "a",
            "Bad Stage",
            "1dev",
            "-dev",
            "dev_1",
            "DEV",
            "abcdefghijklmnopq",
            "dév",
        ] {
            assert!(!is_valid_name(bad), "{bad} should be invalid");
        }
    }

    #[test]
    fn the_repository_knows_dev_and_prod_and_prod_is_protected() -> anyhow::Result<()> {
        let root = crate::project_root();
        let known = known_stages(&root)?;
        assert!(
            known.contains(&"dev".to_owned()) && known.contains(&"prod".to_owned()),
            "{known:?}"
        );
        assert!(Stage::known("prod", &root)?.is_protected());
        assert!(!Stage::known("dev", &root)?.is_protected());
        let unknown = Stage::known("qa", &root).expect_err("qa has no variable file");
        assert!(
            unknown.to_string().contains("known stages are dev"),
            "{unknown}"
        );
        Ok(())
    }
}
