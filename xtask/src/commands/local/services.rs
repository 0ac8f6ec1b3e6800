//! Long-running programs that `local` starts and must stop again, whatever happens: each runs in its own process
//! group (so a Ctrl-C at the terminal reaches only xtask, which then stops them in order), and stopping one signals its
//! whole group, waits, and finally kills any descendant that escaped the group.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

/// How long a program may take to stop after the first signal before it is killed.
const GRACE: Duration = Duration::from_secs(15);

/// Set by Ctrl-C (SIGINT), SIGTERM or SIGHUP.
#[derive(Debug, Clone)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// Installs the signal handler on the first call; later calls (`test` runs `rehearse`, then `pipeline`, in one
    /// process, and ctrlc takes one handler per process) share the same flag.
    pub fn install() -> anyhow::Result<StopFlag> {
        static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
        if let Some(flag) = FLAG.get() {
            return Ok(StopFlag(Arc::clone(flag)));
        }
        let flag = Arc::new(AtomicBool::new(false));
        let set = Arc::clone(&flag);
        ctrlc::set_handler(move || set.store(true, Ordering::SeqCst))
            .context("cannot install the Ctrl-C handler")?;
        Ok(StopFlag(Arc::clone(FLAG.get_or_init(|| flag))))
    }

    pub fn raised(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Waits for `child`, which leads the process group `group`; when the flag is raised first, asks the whole group to
/// stop (SIGINT), kills it three seconds later, and fails with "interrupted".
pub fn wait_or_stop(
    child: &mut Child,
    group: Pid,
    stop: &StopFlag,
) -> anyhow::Result<std::process::ExitStatus> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if stop.raised() {
            let _ = killpg(group, Signal::SIGINT);
            std::thread::sleep(Duration::from_secs(3));
            let _ = killpg(group, Signal::SIGKILL);
            let _ = child.wait();
            bail!("interrupted");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// One started program.
#[derive(Debug)]
pub struct Service {
    pub name: String,
    child: Child,
    /// The signal that asks it to finish (PostgreSQL: SIGINT, its "fast" shutdown).
    stop_signal: Signal,
}

/// Everything started so far; dropping it stops them all, the last started first.
#[derive(Debug, Default)]
pub struct Services {
    running: Vec<Service>,
}

impl Services {
    /// Starts `command` in a process group of its own, with its output in `log` (or on the terminal).
    pub fn start(
        &mut self,
        name: &str,
        mut command: Command,
        log: Option<File>,
        stop_signal: Signal,
    ) -> anyhow::Result<&mut Service> {
        command.process_group(0).stdin(Stdio::null());
        if let Some(log) = log {
            command.stdout(log.try_clone()?).stderr(log);
        }
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {name}: is it installed and on PATH?"))?;
        self.running.push(Service {
            name: name.to_owned(),
            child,
            stop_signal,
        });
        let index = self.running.len() - 1;
        Ok(&mut self.running[index])
    }

    /// The first service that has exited, with how.
    pub fn exited(&mut self) -> Option<String> {
        self.running
            .iter_mut()
            .find_map(|service| match service.child.try_wait() {
                Ok(Some(status)) => Some(format!("{} stopped on its own ({status})", service.name)),
                Ok(None) => None,
                Err(error) => Some(format!("{} cannot be watched: {error}", service.name)),
            })
    }

    /// Stops every service, the last started first; says what it did.
    pub fn stop_all(&mut self) {
        while let Some(service) = self.running.pop() {
            eprintln!("==> stopping {}", service.name);
            let name = service.name.clone();
            match service.stop() {
                Ok(took) => eprintln!("    {name} stopped in {:.1}s", took.as_secs_f64()),
                Err(error) => eprintln!("    warning: {name}: {error:#}"),
            }
        }
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        self.stop_all();
    }
}

impl Service {
    /// Fails once the program has exited.
    pub fn alive(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => bail!("{} exited ({status})", self.name),
        }
    }

    /// Signals the process group, waits up to [`GRACE`], then kills the group; finally kills every descendant seen
    /// before the first signal that is still there (one that moved to a group of its own).
    fn stop(mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let pid = i32::try_from(self.child.id()).context("a process id above i32")?;
        if self.child.try_wait()?.is_some() {
            return Ok(started.elapsed());
        }
        let descendants = descendants(pid);
        // The group may be gone already (its leader exited between the check and here): nothing to signal then.
        let _ = killpg(Pid::from_raw(pid), self.stop_signal);
        let finished = wait_until(GRACE, || matches!(self.child.try_wait(), Ok(Some(_))));
        if !finished {
            eprintln!(
                "    {} did not stop within {} s: killing it",
                self.name,
                GRACE.as_secs()
            );
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            self.child.wait()?;
        }
        let leftovers: Vec<(i32, u64)> = descendants
            .into_iter()
            .filter(|&(pid, start)| start_time(pid) == Some(start))
            .collect();
        for &(pid, _) in &leftovers {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let gone = wait_until(Duration::from_secs(5), || {
            leftovers
                .iter()
                .all(|&(pid, start)| start_time(pid) != Some(start))
        });
        if !gone {
            for &(pid, start) in &leftovers {
                if start_time(pid) == Some(start) {
                    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                }
            }
        }
        Ok(started.elapsed())
    }
}

/// Polls `done` every 50 ms for up to `limit`.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every process below `root`, with its start time (so that a reused process id is never mistaken for it).
pub fn descendants(root: i32) -> Vec<(i32, u64)> {
    let mut children: HashMap<i32, Vec<(i32, u64)>> = HashMap::new();
    for (pid, parent, start) in processes() {
        children.entry(parent).or_default().push((pid, start));
    }
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    let mut queue = vec![root];
    while let Some(pid) = queue.pop() {
        for &(child, start) in children.get(&pid).map_or(&[][..], Vec::as_slice) {
            if seen.insert(child) {
                found.push((child, start));
                queue.push(child);
            }
        }
    }
    found
}

/// (pid, parent pid, start time) of every process in /proc.
fn processes() -> Vec<(i32, i32, u64)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = stat(pid)?;
            Some((pid, stat.parent, stat.start))
        })
        .collect()
}

/// The start time of a live process (a zombie, waiting for a parent that may never reap it, counts as gone).
fn start_time(pid: i32) -> Option<u64> {
    stat(pid).and_then(|stat| (stat.state != 'Z' && stat.state != 'X').then_some(stat.start))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    state: char,
    parent: i32,
    start: u64,
}

/// Fields 3, 4 and 22 of /proc/<pid>/stat (the command name in field 2 may hold spaces and parentheses, so fields are
/// counted after its closing parenthesis).
fn stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

fn parse_stat(text: &str) -> Option<Stat> {
    let after_name = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3 (state): field n is fields[n - 3].
    Some(Stat {
        state: fields.first()?.chars().next()?,
        parent: fields.get(1)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_are_read_after_the_command_name() {
        let line = "4242 (cargo lambda (w)) S 4200 4242 4200 0 -1 4194304 100 0 0 0 1 2 0 0 20 0 3 0 987654 1000 10 \
                    18446744073709551615";
        let expected = Stat {
            state: 'S',
            parent: 4200,
            start: 987_654,
        };
        assert_eq!(parse_stat(line), Some(expected));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn a_service_and_everything_it_started_is_stopped() -> anyhow::Result<()> {
        let mut services = Services::default();
        // A shell that starts a child which leaves the group, as a dev server's worker might.
        let mut command = Command::new("sh");
        command.args(["-c", "setsid sleep 300 & sleep 300"]);
        let service = services.start("sleepers", command, None, Signal::SIGTERM)?;
        let pid = i32::try_from(service.child.id())?;
        assert!(
            wait_until(Duration::from_secs(5), || descendants(pid).len() >= 2),
            "both sleeps started"
        );
        let started = descendants(pid);
        services.stop_all();
        for (child, start) in started {
            assert_ne!(start_time(child), Some(start), "process {child} survived");
        }
        Ok(())
    }
}
