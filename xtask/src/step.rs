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
    /// One `name<TAB>value` line of the captured output `key` (what `aws ... --output text` prints for pairs): the
    /// value of `field`, or `fallback` when the output has no such line.
    Field {
        key: &'static str,
        field: String,
        fallback: String,
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
                Part::Output { label, .. } | Part::Field { label, .. } => format!("<{label}>"),
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
                Part::Field {
                    key,
                    field,
                    fallback,
                    ..
                } => {
                    let output = lookup(key).ok_or(*key)?;
                    let value = output.lines().find_map(|line| {
                        let (name, value) = line.split_once('\t')?;
                        (name == field).then(|| value.trim().to_owned())
                    });
                    resolved.push_str(value.as_deref().unwrap_or(fallback));
                }
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
    /// Runs only when this earlier output is present and not empty (nor `None`, the aws CLI's empty answer);
    /// otherwise the runner prints the sentence and goes on. Reruns use it to skip what an earlier run finished.
    pub only_if: Option<Condition>,
}

/// See [`Step::only_if`].
#[derive(Debug, Clone)]
pub struct Condition {
    pub key: &'static str,
    pub skipped: String,
}

impl Condition {
    /// Whether the step runs, given what earlier steps captured.
    pub fn holds(&self, outputs: &Outputs) -> bool {
        outputs
            .get(self.key)
            .is_some_and(|value| !value.is_empty() && value != "None")
    }
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
            only_if: None,
        }
    }

    pub fn internal(
        purpose: impl Into<String>,
        action: impl Fn(&Outputs) -> anyhow::Result<()> + 'static,
    ) -> Step {
        Step {
            purpose: purpose.into(),
            work: Work::Internal(Box::new(action)),
            only_if: None,
        }
    }

    /// Runs the step only when the earlier output `key` is present and not empty; else says `skipped` and goes on.
    pub fn only_if(mut self, key: &'static str, skipped: impl Into<String>) -> Step {
        self.only_if = Some(Condition {
            key,
            skipped: skipped.into(),
        });
        self
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
    fn fields_resolve_from_name_value_lines_or_fall_back() {
        let arg = Arg(vec![
            Part::Text("--param=dbName=".to_owned()),
            Part::Field {
                key: "values",
                field: "/pmp/dev/db-name".to_owned(),
                fallback: "unused".to_owned(),
                label: "/pmp/dev/db-name".to_owned(),
            },
        ]);
        assert_eq!(arg.preview(), "--param=dbName=</pmp/dev/db-name>");
        let captured = "/pmp/dev/db-user\tpmp_api\n/pmp/dev/db-name\tpmp\n".to_owned();
        assert_eq!(
            arg.resolve(|_| Some(captured.clone())),
            Ok("--param=dbName=pmp".to_owned())
        );
        assert_eq!(
            arg.resolve(|_| Some(String::new())),
            Ok("--param=dbName=unused".to_owned())
        );
        assert_eq!(arg.resolve(|_| None), Err("values"));
    }

    #[test]
    fn a_condition_holds_only_for_a_present_non_empty_answer() {
        let step = Step::command("remove", "true", ["x"]).only_if("stack", "no stack");
        let condition = step.only_if.expect("set");
        let mut outputs = Outputs::new();
        assert!(!condition.holds(&outputs), "never captured");
        outputs.insert("stack", "None".to_owned());
        assert!(!condition.holds(&outputs), "the aws CLI's empty answer");
        outputs.insert("stack", "pmp-api-dev".to_owned());
        assert!(condition.holds(&outputs));
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
