//! `diagrams`: re-render the pictures in docs/images from their code in docs/diagrams (one Python script per picture,
//! drawn with the pinned `diagrams` package from tools/requirements.txt). The package lays out with Graphviz's `dot`,
//! which no pin file can install: it is checked before anything runs.

use std::path::Path;

use anyhow::{Context, ensure};
use clap::Args;

use super::Procedure;
use crate::Ctx;
use crate::preflight::Tool;
use crate::step::Step;
use crate::tools;

/// The diagram code, relative to the repository root: every `*.py` here is one picture.
pub const SOURCES: &str = "docs/diagrams";
/// Where the scripts write their PNGs (each script's first argument).
pub const IMAGES: &str = "docs/images";

const DOT: Tool = Tool {
    program: "dot",
    version_args: &["-V"],
    minimum: (2, 0, 0),
    why_minimum: "the diagrams package drives Graphviz 2 or later (these pictures were rendered with 2.43)",
    install: "install Graphviz (`apt-get install graphviz` / `brew install graphviz`)",
};

#[derive(Debug, Args)]
pub struct Diagrams {}

impl Diagrams {
    pub fn procedure(&self, ctx: &Ctx) -> anyhow::Result<Procedure> {
        Ok(Procedure::new("diagrams")
            .tools(&[DOT])
            .steps(steps(&ctx.root, tools::python_steps(&ctx.root))?))
    }
}

/// The Python installs (`python`, empty when .venv is current), then one render per script, in name order.
fn steps(root: &Path, python: Vec<Step>) -> anyhow::Result<Vec<Step>> {
    let mut steps = python;
    steps.extend(render_steps(root, IMAGES)?);
    Ok(steps)
}

/// One render per script into `output` (`check` renders into target/ to prove the code still draws).
pub fn render_steps(root: &Path, output: &str) -> anyhow::Result<Vec<Step>> {
    let mut scripts: Vec<String> = std::fs::read_dir(root.join(SOURCES))
        .with_context(|| format!("cannot read the diagram code in {SOURCES}"))?
        .map(|entry| entry.map(|entry| entry.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot list {SOURCES}"))?;
    scripts.retain(|name| name.ends_with(".py"));
    scripts.sort();
    ensure!(
        !scripts.is_empty(),
        "{SOURCES} holds no diagram code (*.py)"
    );
    Ok(scripts
        .iter()
        .map(|script| {
            let stem = script.trim_end_matches(".py");
            Step::command(
                format!("render {output}/{stem}.png from {SOURCES}/{script}"),
                ".venv/bin/python",
                [format!("{SOURCES}/{script}"), output.to_owned()],
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_renders_into_the_images_folder_after_the_python_installs() -> anyhow::Result<()>
    {
        let root = crate::project_root();
        let rendered: Vec<String> = steps(&root, Vec::new())?.iter().map(Step::render).collect();
        assert_eq!(
            rendered,
            [
                "$ .venv/bin/python docs/diagrams/architecture.py docs/images",
                "$ .venv/bin/python docs/diagrams/deployment.py docs/images",
            ]
        );
        for script in ["architecture", "deployment"] {
            assert!(
                root.join(IMAGES).join(format!("{script}.png")).is_file(),
                "{IMAGES}/{script}.png is not committed: run `cargo xtask diagrams`"
            );
        }

        let install = Step::command("install", ".venv/bin/python", ["-m", "pip"]);
        let with_install = steps(&root, vec![install])?;
        assert_eq!(with_install[0].render(), "$ .venv/bin/python -m pip");
        assert_eq!(with_install.len(), 3);
        Ok(())
    }

    #[test]
    fn a_folder_without_diagram_code_is_an_error() -> anyhow::Result<()> {
        let root = std::env::temp_dir().join(format!("xtask-diagrams-{}", std::process::id()));
        std::fs::create_dir_all(root.join(SOURCES))?;
        std::fs::write(root.join(SOURCES).join("README.md"), "no code")?;
        let error = steps(&root, Vec::new()).expect_err("no *.py").to_string();
        assert!(error.contains("holds no diagram code"), "{error}");
        std::fs::remove_dir_all(&root)?;
        Ok(())
    }

    #[test]
    fn a_missing_graphviz_is_one_sentence_naming_the_install() {
        let missing = Tool {
            program: "pmp-no-such-dot",
            ..DOT
        };
        let error = crate::preflight::check_tools(&[missing])
            .expect_err("the program does not exist")
            .to_string();
        assert!(
            error.contains(
                "install Graphviz (`apt-get install graphviz` / `brew install graphviz`)"
            ),
            "{error}"
        );
    }
}
