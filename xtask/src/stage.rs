//! Stages: a name is valid under Terraform's `stage` validation (2 to 16 lower-case letters, digits and single dashes,
//! starting with a letter, not ending with a dash), and known when `terraform/stages/<name>.tfvars` exists. Names end
//! up in stack, role, bucket and SSM names, so the rule keeps them short and DNS-safe. Each stage file names the AWS
//! account the stage lives in (`account_id = "..."`): xtask refuses AWS work in any other account, and a protected
//! stage in an account that another stage also uses (docs/decisions/0009-one-account-per-stage.md).

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
                "`{name}` is not a valid stage name: use 2 to 16 lower-case letters, digits and single dashes, starting with a letter and not ending with a dash"
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

    /// The account the stage's variable file names, checked: 12 digits, and for a protected stage an account of its own.
    pub fn account_id(&self, root: &Path) -> anyhow::Result<String> {
        let account = stage_account_id(root, self.name())?;
        if self.is_protected() {
            for other in known_stages(root)? {
                if other != self.0
                    && stage_account_id(root, &other).ok().as_deref() == Some(&account)
                {
                    bail!(
                        "the protected stage {self} shares account {account} with stage {other}: a protected stage needs an \
                         account of its own (docs/decisions/0009-one-account-per-stage.md), so change account_id in \
                         terraform/stages/{other}.tfvars or terraform/stages/{self}.tfvars"
                    );
                }
            }
        }
        Ok(account)
    }
}

/// The `account_id = "123456789012"` line of `terraform/stages/<stage>.tfvars`.
fn stage_account_id(root: &Path, stage: &str) -> anyhow::Result<String> {
    let relative = format!("terraform/stages/{stage}.tfvars");
    let text = std::fs::read_to_string(root.join(&relative))
        .with_context(|| format!("cannot read {relative}"))?;
    let Some(value) = text.lines().find_map(|line| {
        let (name, value) = line.split_once('=')?;
        (name.trim() == "account_id").then(|| value.trim().trim_matches('"').to_owned())
    }) else {
        bail!(
            "{relative} names no AWS account: add `account_id = \"<12 digits>\"` (the account the stage lives in), so that \
             nothing runs in any other account"
        );
    };
    if value.len() != 12 || !value.chars().all(|c| c.is_ascii_digit()) {
        bail!("account_id in {relative} is `{value}`, not a 12-digit AWS account id");
    }
    Ok(value)
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
    // RDS and S3 refuse a trailing or doubled hyphen in the names built from the stage (terraform/variables.tf).
    let hyphens_ok = !name.ends_with('-') && !name.contains("--");
    first_is_letter && rest_ok && hyphens_ok && (2..=16).contains(&name.len())
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
            "dev-",
            "qa--2",
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

    #[test]
    fn the_repository_gives_every_stage_an_account_and_prod_its_own() -> anyhow::Result<()> {
        let root = crate::project_root();
        let dev = Stage::known("dev", &root)?.account_id(&root)?;
        let prod = Stage::known("prod", &root)?.account_id(&root)?;
        assert_ne!(dev, prod, "one account per stage");
        Ok(())
    }

    #[test]
    fn a_missing_malformed_or_shared_account_is_one_sentence() -> anyhow::Result<()> {
        let root =
            std::env::temp_dir().join(format!("xtask-stage-accounts-{}", std::process::id()));
        let stages = root.join("terraform/stages");
        std::fs::create_dir_all(&stages)?;
        let write =
            |stage: &str, text: &str| std::fs::write(stages.join(format!("{stage}.tfvars")), text);
        write("dev", "hosted_zone_name = \"example.com\"\n")?;
        write("prod", "account_id = \"210987654321\"\n")?;
        let dev = Stage::known("dev", &root)?;
        let prod = Stage::known("prod", &root)?;
        let missing = dev
            .account_id(&root)
            .expect_err("no account_id line")
            .to_string();
        assert!(
            missing.contains("terraform/stages/dev.tfvars names no AWS account"),
            "{missing}"
        );

        write("dev", "account_id = \"12345\"\n")?;
        let malformed = dev.account_id(&root).expect_err("too short").to_string();
        assert!(
            malformed.contains("not a 12-digit AWS account id"),
            "{malformed}"
        );

        write("dev", "account_id   = \"123456789012\" \n")?;
        assert_eq!(dev.account_id(&root)?, "123456789012");
        assert_eq!(prod.account_id(&root)?, "210987654321");

        write("dev", "account_id = \"210987654321\"\n")?;
        assert_eq!(
            dev.account_id(&root)?,
            "210987654321",
            "a non-protected stage may share"
        );
        let shared = prod
            .account_id(&root)
            .expect_err("prod shares with dev")
            .to_string();
        assert!(
            shared.contains("the protected stage prod shares account 210987654321 with stage dev"),
            "{shared}"
        );
        std::fs::remove_dir_all(&root)?;
        Ok(())
    }
}
