//! Checks of the repository itself: the pipeline runs what a person runs, and the README names only real commands.

use std::path::PathBuf;

use yaml_rust2::{Yaml, YamlLoader};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root")
        .to_path_buf()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path))
        .unwrap_or_else(|error| panic!("cannot read {path}: {error}"))
}

/// The one job allowed to run plain shell: it builds the image that cargo runs in.
const IMAGE_JOB: &str = "ci-image";

fn script_lines(job: &Yaml) -> Vec<String> {
    match &job["script"] {
        Yaml::String(line) => vec![line.clone()],
        Yaml::Array(lines) => lines
            .iter()
            .filter_map(|line| line.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

#[test]
fn every_pipeline_job_goes_through_cargo_xtask() {
    let documents =
        YamlLoader::load_from_str(&read(".gitlab-ci.yml")).expect(".gitlab-ci.yml is YAML");
    let pipeline = documents[0].as_hash().expect("a mapping at the top");
    let mut checked = 0;
    for (name, job) in pipeline {
        let Some(name) = name.as_str() else { continue };
        if name.starts_with('.') || name == IMAGE_JOB || job["script"].is_badvalue() {
            continue;
        }
        let lines = script_lines(job);
        assert!(!lines.is_empty(), "job {name} has no script lines");
        for line in lines {
            assert!(
                line.trim_start().starts_with("cargo xtask "),
                "job {name} runs `{line}`, not `cargo xtask …`"
            );
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} jobs found");
}

/// The subcommands `cargo xtask --help` lists.
fn commands_in_help() -> Vec<String> {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--help")
        .output()
        .expect("xtask --help runs");
    let help = String::from_utf8_lossy(&output.stdout).into_owned();
    let listing = help
        .split("Commands:")
        .nth(1)
        .expect("a Commands section")
        .split("Options:")
        .next()
        .unwrap_or_default();
    listing
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// Options that take a value: the word after them is not the command.
const VALUED_OPTIONS: &[&str] = &[
    "--stage",
    "--region",
    "--arch",
    "--database-url",
    "--confirm-stage",
    "--only",
];

/// The command word of what follows `cargo xtask ` on one line: the first word that is neither an option nor an
/// option's value.
fn command_word(rest: &str) -> Option<String> {
    let line = rest.lines().next().unwrap_or_default();
    let mut words = line.split_whitespace().map(|word| {
        // Only the word itself: Markdown, HTML and table punctuation around it are not part of a command.
        let start = word.trim_start_matches(|c: char| "`*|(\"'".contains(c));
        if start.starts_with('<') {
            return start;
        }
        let end = start
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-_=".contains(c)))
            .unwrap_or(start.len());
        &start[..end]
    });
    while let Some(word) = words.next() {
        if VALUED_OPTIONS.contains(&word) {
            words.next();
        } else if !word.starts_with('-') {
            // Empty: the command is written as a placeholder (`…`), not named.
            return (!word.is_empty()).then(|| word.to_owned());
        }
    }
    None
}

#[test]
fn command_words_skip_options_and_their_values() {
    assert_eq!(
        command_word("--stage prod --dry-run plan`").as_deref(),
        Some("plan")
    );
    assert_eq!(
        command_word("migrate --database-url postgres://x").as_deref(),
        Some("migrate")
    );
    assert_eq!(
        command_word("--stage=dev deploy").as_deref(),
        Some("deploy")
    );
    assert_eq!(command_word("--dry-run").as_deref(), None);
    assert_eq!(
        command_word("bootstrap<br/>CloudFormation").as_deref(),
        Some("bootstrap")
    );
    assert_eq!(command_word("`test`: everything").as_deref(), Some("test"));
    assert_eq!(command_word("…` line").as_deref(), None);
}

/// Every `cargo xtask <command>` in `text` names a command of `cargo xtask --help`; returns how many there are.
fn check_named_commands(path: &str, text: &str, commands: &[String]) -> usize {
    let mut named = 0;
    for (index, _) in text.match_indices("cargo xtask ") {
        let rest = &text[index + "cargo xtask ".len()..];
        let Some(word) = command_word(rest) else {
            continue;
        };
        if word.starts_with('<') || word.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
            continue;
        }
        assert!(
            commands.contains(&word),
            "{path} names `cargo xtask {word}`, which `cargo xtask --help` does not list ({commands:?})"
        );
        named += 1;
    }
    named
}

#[test]
fn the_readme_names_only_real_commands() {
    let commands = commands_in_help();
    let readme = read("README.md");
    let named = check_named_commands("README.md", &readme, &commands);
    assert!(named >= 10, "the README names only {named} commands");
    for needed in ["cargo xtask local", "cargo xtask test"] {
        assert!(readme.contains(needed), "the README must give `{needed}`");
    }
}

#[test]
fn the_docs_and_runbooks_name_only_real_commands() {
    let commands = commands_in_help();
    let mut pending = vec![root().join("docs")];
    let mut pages = 0;
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).expect("docs folder") {
            let path = entry.expect("docs entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                let text = std::fs::read_to_string(&path).expect("a docs page");
                check_named_commands(&path.display().to_string(), &text, &commands);
                pages += 1;
            }
        }
    }
    assert!(pages >= 10, "only {pages} docs pages found");
}

#[test]
fn ci_runs_the_readme_test_command() {
    let ci = read(".ci/run");
    assert!(
        ci.contains("cargo xtask test"),
        ".ci/run must run the README's test command"
    );
}
