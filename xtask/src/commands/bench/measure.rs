//! The timing runs: each program started many times from nothing (cold), then kept running and invoked many times
//! (warm). The two programs take turns, run after run and invocation after invocation, so that whatever else the
//! machine does at the time weighs on both alike.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::FUNCTION_NAME;
use super::runtime_api::{Answer, RuntimeApi};

/// Longer than any start or answer takes: reaching it means the program hangs.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Invocations after the first, not counted: caches, the allocator and the connection settle first.
const WARM_UP: usize = 100;
/// The API requests the benchmark sends: routes that answer without the database.
const PATHS: [&str; 2] = ["/health", "/anything"];

/// A program under test.
#[derive(Debug)]
pub struct Subject {
    pub name: &'static str,
    pub executable: PathBuf,
    /// Its standard output and error (the function's logs), kept for a look when something fails.
    pub log: PathBuf,
}

/// Everything measured for one program.
#[derive(Debug, Default)]
pub struct Samples {
    /// Spawn to the first `next` request, one per cold start.
    pub cold_init: Vec<Duration>,
    /// The first event of each cold start: handed out to answered.
    pub first_invocation: Vec<Duration>,
    /// Handed out to answered, one per warm invocation.
    pub warm: Vec<Duration>,
    /// VmHWM of the warm process after all its invocations.
    pub peak_rss_bytes: u64,
}

/// Runs `cold` cold starts and `warm` warm invocations of every subject, taking turns.
pub fn run(subjects: &[Subject], cold: usize, warm: usize) -> anyhow::Result<Vec<Samples>> {
    let apis = subjects
        .iter()
        .map(|_| RuntimeApi::start().context("cannot start the Runtime API on loopback"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for subject in subjects {
        File::create(&subject.log)
            .with_context(|| format!("cannot create {}", subject.log.display()))?;
    }
    let mut samples: Vec<Samples> = subjects.iter().map(|_| Samples::default()).collect();

    eprintln!("    {cold} cold starts of each program");
    for _ in 0..cold {
        for ((subject, api), samples) in subjects.iter().zip(&apis).zip(&mut samples) {
            let (init, first) = cold_start(subject, api).with_context(|| {
                format!(
                    "a cold start of {} failed (its output: {})",
                    subject.name,
                    subject.log.display()
                )
            })?;
            samples.cold_init.push(init);
            samples.first_invocation.push(first);
        }
    }

    eprintln!("    {warm} warm invocations of each program (after {WARM_UP} not counted)");
    let mut running = Vec::new();
    for (subject, api) in subjects.iter().zip(&apis) {
        api.begin();
        let mut process = Process::spawn(subject, api)?;
        for index in 0..=WARM_UP {
            invoke(api, &mut process, PATHS[index % PATHS.len()]).with_context(|| {
                format!(
                    "warming up {} failed (its output: {})",
                    subject.name,
                    subject.log.display()
                )
            })?;
        }
        running.push(process);
    }
    for index in 0..warm {
        let path = PATHS[index % PATHS.len()];
        for (((subject, api), process), samples) in subjects
            .iter()
            .zip(&apis)
            .zip(&mut running)
            .zip(&mut samples)
        {
            let answer = invoke(api, process, path).with_context(|| {
                format!(
                    "a warm invocation of {} failed (its output: {})",
                    subject.name,
                    subject.log.display()
                )
            })?;
            samples.warm.push(answer.latency());
        }
    }
    for (process, samples) in running.iter_mut().zip(&mut samples) {
        samples.peak_rss_bytes = process.peak_rss()?;
    }
    Ok(samples)
}

/// Starts the program with one event waiting, as Lambda does on a cold start; returns its init time and the latency of
/// that first event.
fn cold_start(subject: &Subject, api: &RuntimeApi) -> anyhow::Result<(Duration, Duration)> {
    api.begin();
    let id = api.enqueue(api_event(PATHS[0]));
    let mut process = Process::spawn(subject, api)?;
    let first_next = api.wait_first_next(TIMEOUT, || process.alive())?;
    let answer = api.wait_answer(&id, TIMEOUT, || process.alive())?;
    check(&answer, PATHS[0])?;
    Ok((
        first_next.saturating_duration_since(process.spawned),
        answer.latency(),
    ))
}

fn invoke(api: &RuntimeApi, process: &mut Process, path: &str) -> anyhow::Result<Answer> {
    let id = api.enqueue(api_event(path));
    let answer = api.wait_answer(&id, TIMEOUT, || process.alive())?;
    check(&answer, path)?;
    Ok(answer)
}

/// A fast wrong answer would flatter the figures: every answer must be a successful API response.
fn check(answer: &Answer, path: &str) -> anyhow::Result<()> {
    if !answer.ok {
        bail!("GET {path} ended in a function error: {}", answer.body);
    }
    let response: Value = serde_json::from_str(&answer.body)
        .with_context(|| format!("the answer to GET {path} is not JSON: {}", answer.body))?;
    let status = response.get("statusCode").and_then(Value::as_u64);
    if status != Some(200) {
        bail!(
            "GET {path} answered status {status:?}, not 200: {}",
            answer.body
        );
    }
    Ok(())
}

/// An API Gateway HTTP API (payload 2.0) event for `GET path`, as API Gateway sends it.
pub fn api_event(path: &str) -> String {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "accept": "application/json",
            "host": "api.pmp.example.com",
            "user-agent": "pmp-bench",
            "x-forwarded-for": "192.0.2.10",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https"
        },
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "bench",
            "domainName": "api.pmp.example.com",
            "domainPrefix": "api",
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.10",
                "userAgent": "pmp-bench"
            },
            "requestId": "bench-request",
            "routeKey": "$default",
            "stage": "$default",
            "time": "22/Nov/2026:14:00:00 +0000",
            "timeEpoch": 1_795_356_000_000_u64
        },
        "isBase64Encoded": false
    })
    .to_string()
}

/// The environment Lambda gives a `provided.al2023` function (see docs/architecture.md for the function's own
/// variables): the function's configuration loads from it, and the bench's events never need the database.
pub(super) fn lambda_environment(runtime_api: &str) -> Vec<(&'static str, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/pmp-api-bench-api"),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/11/22/[$LATEST]0123456789abcdef",
        ),
        ("AWS_REGION", "eu-central-1"),
        ("AWS_DEFAULT_REGION", "eu-central-1"),
        ("_HANDLER", "bootstrap"),
        ("LANG", "en_US.UTF-8"),
        ("TZ", ":UTC"),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin"),
        ("PMP_STAGE", "bench"),
        (
            "DB_HOST",
            "pmp-bench.proxy-000000000000.eu-central-1.rds.amazonaws.com",
        ),
        ("DB_PORT", "5432"),
        ("DB_NAME", "pmp"),
        ("DB_USER", "pmp_api"),
        ("DATA_BUCKET", "pmp-bench-data"),
        ("THIRD_PARTY_API_URL", "https://third-party.invalid"),
        ("RUST_LOG", "info"),
    ]
    .into_iter()
    .map(|(name, value)| (name, value.to_owned()))
    .collect()
}

/// A running program, killed when dropped.
#[derive(Debug)]
struct Process {
    child: Child,
    spawned: Instant,
    name: &'static str,
}

impl Process {
    fn spawn(subject: &Subject, api: &RuntimeApi) -> anyhow::Result<Process> {
        let log = File::options()
            .append(true)
            .open(&subject.log)
            .with_context(|| format!("cannot open {}", subject.log.display()))?;
        let mut command = Command::new(&subject.executable);
        command
            .env_clear()
            .envs(lambda_environment(api.address()))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let spawned = Instant::now();
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", subject.executable.display()))?;
        Ok(Process {
            child,
            spawned,
            name: subject.name,
        })
    }

    /// Fails once the process has exited: it will not answer any more.
    fn alive(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => bail!("{} exited ({status})", self.name),
        }
    }

    /// The peak resident set size so far (VmHWM), in bytes.
    fn peak_rss(&self) -> anyhow::Result<u64> {
        let status_file = format!("/proc/{}/status", self.child.id());
        let status = std::fs::read_to_string(&status_file)
            .with_context(|| format!("cannot read {status_file}"))?;
        vm_hwm_bytes(&status).with_context(|| format!("{status_file} has no VmHWM line"))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // The program waits for its next event forever: stop it. It may already be gone, which is fine.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `VmHWM:     1234 kB` → bytes.
fn vm_hwm_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_rss_is_read_from_vm_hwm() {
        let status =
            "Name:\tbootstrap\nVmPeak:\t  20000 kB\nVmHWM:\t    4321 kB\nVmRSS:\t    4000 kB\n";
        assert_eq!(vm_hwm_bytes(status), Some(4321 * 1024));
        assert_eq!(vm_hwm_bytes("Name:\tx\n"), None);
    }

    #[test]
    fn events_are_http_api_payload_2_0_requests() -> anyhow::Result<()> {
        let event: Value = serde_json::from_str(&api_event("/health"))?;
        assert_eq!(event["version"], "2.0");
        assert_eq!(event["rawPath"], "/health");
        assert_eq!(event["requestContext"]["http"]["method"], "GET");
        assert_eq!(event["requestContext"]["http"]["path"], "/health");
        Ok(())
    }

    #[test]
    fn only_successful_api_responses_count() {
        let answer = |ok: bool, body: &str| Answer {
            handed_out: Instant::now(),
            received: Instant::now(),
            ok,
            body: body.to_owned(),
        };
        assert!(
            check(
                &answer(true, r#"{"statusCode":200,"body":"{}"}"#),
                "/health"
            )
            .is_ok()
        );
        assert!(check(&answer(true, r#"{"statusCode":500}"#), "/health").is_err());
        assert!(check(&answer(false, r#"{"errorType":"x"}"#), "/health").is_err());
        assert!(check(&answer(true, "not json"), "/health").is_err());
    }
}
