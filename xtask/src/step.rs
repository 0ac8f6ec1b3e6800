//! A step is data: what to run, with what, where, and why. Commands build a list of steps first; the runner then
//! executes it or, with `--dry-run`, prints it. Both paths read the same list, so what a dry run shows is what runs.

use std::fmt;

/// One part of an argument: literal text, or a value that only an earlier step produces (a stack output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    /// The captured output named `key`; `label` is what a dry run shows in its place.
    Output {
        key: &'static str,
        label: String,
    },
}

/// An argument, made of parts so that a later value can sit inside it (`-backend-config=bucket=<…>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg(pub Vec<Part>);

impl Arg {
    /// `prefix` followed by the captured output `key`.
    pub fn prefixed(prefix: impl Into<String>, key: &'static str, label: impl Into<String>) -> Arg {
        Arg(vec![
            Part::Text(prefix.into()),
            Part::Output {
                key,
                label: label.into(),
            },
        ])
    }

    /// The text a dry run shows: outputs appear as `<label>`.
    pub fn preview(&self) -> String {
        self.0
            .iter()
            .map(|part| match part {
                Part::Text(text) => text.clone(),
                Part::Output { label, .. } => format!("<{label}>"),
            })
            .collect()
    }

    /// The real text, with every output taken from `lookup`; `None` names the first one missing.
    pub fn resolve(&self, lookup: impl Fn(&str) -> Option<String>) -> Result<String, &'static str> {
        let mut resolved = String::new();
        for part in &self.0 {
            match part {
                Part::Text(text) => resolved.push_str(text),
                Part::Output { key, .. } => resolved.push_str(&lookup(key).ok_or(*key)?),
            }
        }
        Ok(resolved)
    }
}

impl From<&str> for Arg {
    fn from(text: &str) -> Arg {
        Arg(vec![Part::Text(text.to_owned())])
    }
}

impl From<String> for Arg {
    fn from(text: String) -> Arg {
        Arg(vec![Part::Text(text)])
    }
}

impl From<&String> for Arg {
    fn from(text: &String) -> Arg {
        Arg(vec![Part::Text(text.clone())])
    }
}

/// Work done inside xtask between commands (reading an answer, writing a summary). It sees the outputs captured so far.
pub type Action = Box<dyn Fn(&Outputs) -> anyhow::Result<()>>;

/// Outputs captured from earlier steps, by key.
pub type Outputs = std::collections::BTreeMap<&'static str, String>;

pub enum Work {
    /// An external program; with `capture`, its trimmed standard output is kept under that key.
    Command {
        program: String,
        args: Vec<Arg>,
        env: Vec<(String, Arg)>,
        /// A folder of the repository put first on PATH for this command (the repo-local tool folders).
        path_prefix: Option<String>,
        capture: Option<Capture>,
    },
    /// Work xtask does itself; a dry run shows its purpose as a comment.
    Internal(Action),
}

/// How a captured output is kept and checked.
#[derive(Debug, Clone)]
pub struct Capture {
    pub key: &'static str,
    /// When the output is empty or `None` (what the aws CLI prints for a missing query result), this sentence explains
    /// what is wrong and what to do.
    pub missing: Option<String>,
}

pub struct Step {
    /// One line that says why this step runs.
    pub purpose: String,
    pub work: Work,
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Step({:?}: {})", self.purpose, self.render())
    }
}

impl Step {
    pub fn command<I, A>(purpose: impl Into<String>, program: &str, args: I) -> Step
    where
        I: IntoIterator<Item = A>,
        A: Into<Arg>,
    {
        Step {
            purpose: purpose.into(),
            work: Work::Command {
                program: program.to_owned(),
                args: args.into_iter().map(Into::into).collect(),
                env: Vec::new(),
                path_prefix: None,
                capture: None,
            },
        }
    }

    pub fn internal(
        purpose: impl Into<String>,
        action: impl Fn(&Outputs) -> anyhow::Result<()> + 'static,
    ) -> Step {
        Step {
            purpose: purpose.into(),
            work: Work::Internal(Box::new(action)),
        }
    }

    /// Adds an argument whose value only an earlier step produces.
    pub fn arg(mut self, arg: Arg) -> Step {
        if let Work::Command { args, .. } = &mut self.work {
            args.push(arg);
        }
        self
    }

    pub fn env(mut self, name: &str, value: impl Into<Arg>) -> Step {
        if let Work::Command { env, .. } = &mut self.work {
            env.push((name.to_owned(), value.into()));
        }
        self
    }

    /// Puts `folder` (relative to the repository root) first on PATH for this command.
    pub fn path_prefix(mut self, folder: &str) -> Step {
        if let Work::Command { path_prefix, .. } = &mut self.work {
            *path_prefix = Some(folder.to_owned());
        }
        self
    }

    /// Keeps the command's standard output under `key`; `missing` explains an empty answer.
    pub fn capture(mut self, key: &'static str, missing: impl Into<Option<String>>) -> Step {
        if let Work::Command { capture, .. } = &mut self.work {
            *capture = Some(Capture {
                key,
                missing: missing.into(),
            });
        }
        self
    }

    /// The line a dry run prints: `$ program args...`, shell-quoted, or `# purpose` for internal work.
    pub fn render(&self) -> String {
        match &self.work {
            Work::Command {
                program,
                args,
                env,
                path_prefix,
                ..
            } => {
                let mut words: Vec<String> = path_prefix
                    .iter()
                    .map(|folder| format!("PATH={folder}:\"$PATH\""))
                    .collect();
                words.extend(
                    env.iter()
                        .map(|(name, value)| format!("{name}={}", shell_quote(&value.preview()))),
                );
                words.push(shell_quote(program));
                words.extend(args.iter().map(|arg| shell_quote(&arg.preview())));
                format!("$ {}", words.join(" "))
            }
            Work::Internal(_) => format!("# {}", self.purpose),
        }
    }

    pub fn is_command(&self) -> bool {
        matches!(self.work, Work::Command { .. })
    }
}

/// Quotes a word for a POSIX shell only when it needs it, so that lines stay readable and can be pasted.
pub fn shell_quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_owned()
    } else if word.contains('\'') && !word.contains(['"', '$', '`', '\\', '!']) {
        format!("\"{word}\"")
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_leaves_plain_words_and_wraps_the_rest() {
        assert_eq!(shell_quote("terraform"), "terraform");
        assert_eq!(
            shell_quote("-backend-config=key=pmp/dev/terraform.tfstate"),
            "-backend-config=key=pmp/dev/terraform.tfstate"
        );
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("it's"), r#""it's""#);
        assert_eq!(shell_quote("it's $HOME"), r"'it'\''s $HOME'");
        assert_eq!(shell_quote("Stacks[0].Outputs"), "'Stacks[0].Outputs'");
    }

    #[test]
    fn outputs_preview_as_placeholders_and_resolve_from_captures() {
        let arg = Arg::prefixed(
            "KmsKeyArn=",
            "kms_key_arn",
            "KeyArn of pmp-bootstrap-kms-key",
        );
        assert_eq!(arg.preview(), "KmsKeyArn=<KeyArn of pmp-bootstrap-kms-key>");
        let resolved =
            arg.resolve(|key| (key == "kms_key_arn").then(|| "arn:aws:kms:k".to_owned()));
        assert_eq!(resolved, Ok("KmsKeyArn=arn:aws:kms:k".to_owned()));
        assert_eq!(arg.resolve(|_| None), Err("kms_key_arn"));
    }

    #[test]
    fn render_shows_environment_program_and_quoted_arguments() {
        let step = Step::command("say", "echo", ["hello world", "x"]).env("A", "1 2");
        assert_eq!(step.render(), "$ A='1 2' echo 'hello world' x");
        let prefixed = Step::command("build", "cargo", ["lambda"]).path_prefix(".venv/bin");
        assert_eq!(
            prefixed.render(),
            r#"$ PATH=.venv/bin:"$PATH" cargo lambda"#
        );
        let internal = Step::internal("write the summary", |_| Ok(()));
        assert_eq!(internal.render(), "# write the summary");
        assert!(!internal.is_command());
    }
}
