//! Runs a list of steps, or prints it. Each step says what it runs and how long it took; a failed step stops the
//! run and is named with its command and exit status; a summary closes every run.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use xshell::Shell;

use crate::step::{Outputs, Step, Work};

/// Runs the steps in order and returns what they captured.
pub fn run(sh: &Shell, title: &str, steps: &[Step], verbose: bool) -> anyhow::Result<Outputs> {
    let mut outputs = Outputs::new();
    // A skipped step (its target is gone) is listed with no duration.
    let mut finished: Vec<(&str, Option<Duration>)> = Vec::new();
    let started = Instant::now();
    let total = steps.len();
    for (index, step) in steps.iter().enumerate() {
        let number = index + 1;
        eprintln!("==> [{number}/{total}] {}", step.purpose);
        if step.is_command() {
            eprintln!("    {}", step.render());
        }
        if let Some(condition) = step.only_if.as_ref().filter(|c| !c.holds(&outputs)) {
            eprintln!("    skipped: {}", condition.skipped);
            finished.push((&step.purpose, None));
            continue;
        }
        let step_started = Instant::now();
        let result = run_one(sh, step, &mut outputs, verbose, None);
        let took = step_started.elapsed();
        if let Err(error) = result {
            print_summary(
                title,
                &finished,
                Some((step.purpose.as_str(), took)),
                total,
                started.elapsed(),
            );
            return Err(error.context(format!("step {number}/{total} ({}) failed", step.purpose)));
        }
        eprintln!("    done in {}", seconds(took));
        finished.push((&step.purpose, Some(took)));
    }
    print_summary(title, &finished, None, total, started.elapsed());
    Ok(outputs)
}

/// Runs one step. With `log`, the command's output goes to that file instead of the terminal.
pub fn run_one(
    sh: &Shell,
    step: &Step,
    outputs: &mut Outputs,
    verbose: bool,
    log: Option<&std::fs::File>,
) -> anyhow::Result<()> {
    match &step.work {
        Work::Internal(action) => action(outputs),
        Work::Command {
            program, capture, ..
        } => {
            let (mut command, line) = command_for(sh, step, outputs)?;
            if let Some(log) = log {
                // Logged commands are validators: none of them may wait for input (parliament reads stdin otherwise).
                command
                    .stdin(Stdio::null())
                    .stdout(log.try_clone()?)
                    .stderr(log.try_clone()?);
            }
            match capture {
                None => {
                    let status = command.status().with_context(|| {
                        format!("could not start `{program}`: is it installed and on PATH?")
                    })?;
                    if !status.success() {
                        bail!("`{line}` exited with {}", describe(status));
                    }
                }
                Some(capture) => {
                    if log.is_none() {
                        command.stderr(Stdio::inherit());
                    }
                    let output = command.stdout(Stdio::piped()).output().with_context(|| {
                        format!("could not start `{program}`: is it installed and on PATH?")
                    })?;
                    if !output.status.success() {
                        bail!("`{line}` exited with {}", describe(output.status));
                    }
                    let text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
                    if (text.is_empty() || text == "None")
                        && let Some(missing) = &capture.missing
                    {
                        bail!("{missing}");
                    }
                    if verbose {
                        eprintln!("    {} = {}", capture.key, first_line(&text));
                    }
                    outputs.insert(capture.key, text);
                }
            }
            Ok(())
        }
    }
}

/// The process a command step describes, with its outputs resolved, and the line that names it in messages.
pub fn command_for(
    sh: &Shell,
    step: &Step,
    outputs: &Outputs,
) -> anyhow::Result<(Command, String)> {
    let Work::Command {
        program,
        args,
        env,
        path_prefix,
        ..
    } = &step.work
    else {
        bail!("internal error: `{}` is not a command", step.purpose);
    };
    let lookup = |key: &str| outputs.get(key).cloned();
    let unresolved =
        |key: &str| anyhow::anyhow!("internal error: no earlier step produced `{key}`");
    let args = args
        .iter()
        .map(|arg| arg.resolve(lookup).map_err(unresolved))
        .collect::<Result<Vec<_>, _>>()?;
    let mut command: Command = sh.cmd(program).args(&args).into();
    if let Some(folder) = path_prefix {
        let mut path = vec![sh.current_dir().join(folder)];
        path.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        command.env(
            "PATH",
            std::env::join_paths(path).context("PATH holds a folder with a `:` in its name")?,
        );
    }
    for (name, value) in env {
        command.env(name, value.resolve(lookup).map_err(unresolved)?);
    }
    Ok((command, shown_line(program, &args)))
}

fn shown_line(program: &str, args: &[String]) -> String {
    let mut words = vec![crate::step::shell_quote(program)];
    words.extend(args.iter().map(|arg| crate::step::shell_quote(arg)));
    words.join(" ")
}

fn describe(status: std::process::ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => "no exit status (killed by a signal)".to_owned(),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

pub fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

fn print_summary(
    title: &str,
    finished: &[(&str, Option<Duration>)],
    failed: Option<(&str, Duration)>,
    planned: usize,
    elapsed: Duration,
) {
    eprintln!();
    eprintln!("{title}: summary");
    for (purpose, took) in finished {
        match took {
            Some(took) => eprintln!("  ok      {:>8}  {purpose}", seconds(*took)),
            None => eprintln!("  skipped {:>8}  {purpose}", ""),
        }
    }
    if let Some((purpose, took)) = failed {
        eprintln!("  FAILED  {:>8}  {purpose}", seconds(took));
    }
    let outcome = if failed.is_some() {
        "failed"
    } else {
        "succeeded"
    };
    let ran =
        finished.iter().filter(|(_, took)| took.is_some()).count() + usize::from(failed.is_some());
    let skipped = finished.len() - finished.iter().filter(|(_, took)| took.is_some()).count();
    let skipped = if skipped == 0 {
        String::new()
    } else {
        format!(", {skipped} skipped")
    };
    eprintln!(
        "  {outcome} after {}: {ran} of {planned} steps ran{skipped}",
        seconds(elapsed)
    );
}
