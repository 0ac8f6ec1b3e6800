//! The function on 127.0.0.1 as API Gateway and Lambda run it, with Lambda's concurrency semantics: at most `limit`
//! execution environments (function processes, each answering one event at a time through the Lambda Runtime API of
//! `bench`), and a request that finds all of them busy is throttled at once (429, as Lambda's
//! `TooManyRequestsException`), never queued. With the limit lifted, `limit` is simply the load's own concurrency: every
//! concurrent request gets an environment, as Lambda scales out without a reserved concurrency.
//!
//! HTTP/1.1 with keep-alive, one thread per client connection: the load generator keeps its connections open.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::commands::bench::{api_event, runtime_api::RuntimeApi};

/// Longer than any answer can take (the function's connect timeout is 5 s, the pool's wait 5 s): past it the
/// environment is considered lost and the client gets 504, as API Gateway answers after its integration timeout.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(29);

/// The HTTP front: admits at most `limit` requests at once.
pub struct Front {
    pub port: u16,
    closed: Arc<AtomicBool>,
}

impl Front {
    pub fn start(api: Arc<RuntimeApi>, limit: usize) -> anyhow::Result<Front> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let closed = Arc::new(AtomicBool::new(false));
        let busy = Arc::new(AtomicUsize::new(0));
        let stop = Arc::clone(&closed);
        std::thread::Builder::new()
            .name("loadtest-front".to_owned())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let api = Arc::clone(&api);
                    let busy = Arc::clone(&busy);
                    let stop = Arc::clone(&stop);
                    let _ = std::thread::Builder::new()
                        .name("loadtest-conn".to_owned())
                        .spawn(move || serve(&api, &busy, limit, &stop, stream));
                }
            })?;
        Ok(Front { port, closed })
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::SeqCst);
        // Wakes the accepting thread so that it sees the flag and ends.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(api: &RuntimeApi, busy: &AtomicUsize, limit: usize, stop: &AtomicBool, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    while !stop.load(Ordering::SeqCst) {
        let Some((method, path)) = read_request(&mut reader) else {
            return;
        };
        let (status, body) = if busy.fetch_add(1, Ordering::SeqCst) >= limit {
            (429, r#"{"message":"Too Many Requests"}"#.to_owned())
        } else {
            invoke(api, &method, &path)
        };
        busy.fetch_sub(1, Ordering::SeqCst);
        let head = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            reason(status),
            body.len()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(body.as_bytes()).is_err()
        {
            return;
        }
    }
}

/// One event through a free environment; the API answer's status and body, or the gateway's error.
fn invoke(api: &RuntimeApi, method: &str, path: &str) -> (u16, String) {
    let mut event: Value = serde_json::from_str(&api_event(path)).unwrap_or_default();
    event["requestContext"]["http"]["method"] = Value::from(method);
    let id = api.enqueue(event.to_string());
    match api.wait_answer(&id, ANSWER_TIMEOUT, || Ok(())) {
        Ok(answer) if answer.ok => {
            let response: Value = serde_json::from_str(&answer.body).unwrap_or_default();
            let status = response
                .get("statusCode")
                .and_then(Value::as_u64)
                .and_then(|status| u16::try_from(status).ok());
            match (status, response.get("body").and_then(Value::as_str)) {
                (Some(status), Some(body)) => (status, body.to_owned()),
                _ => (502, r#"{"message":"Internal Server Error"}"#.to_owned()),
            }
        }
        // A function error: API Gateway answers 502 Bad Gateway.
        Ok(_) => (502, r#"{"message":"Internal Server Error"}"#.to_owned()),
        Err(_) => (504, r#"{"message":"Service Unavailable"}"#.to_owned()),
    }
}

/// The request line of the next request (headers read and dropped; the load generator sends no body).
fn read_request(reader: &mut impl BufRead) -> Option<(String, String)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut words = line.split_whitespace();
    let method = words.next()?.to_owned();
    let path = words.next()?.to_owned();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        if header.trim().is_empty() {
            return Some((method, path));
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

/// The environment of one function process (see bench's `lambda_environment`, plus the database).
pub fn function_environment(runtime_api: &str, database_url: &str) -> Vec<(&'static str, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", "pmp-api-loadtest-api"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            "/aws/lambda/pmp-api-loadtest-api",
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "loadtest"),
        ("AWS_REGION", "eu-central-1"),
        ("PMP_STAGE", "loadtest"),
        ("DATABASE_URL", database_url),
        // Errors only: a log line per request would cost more than the request on two cores.
        ("RUST_LOG", "error"),
    ]
    .into_iter()
    .map(|(name, value)| (name, value.to_owned()))
    .collect()
}

/// The execution environments: one function process each, in process groups of their own (a Ctrl-C at the terminal
/// reaches only xtask). Stopped together, on drop too: SIGTERM to all, then SIGKILL to any still there after 5 s.
pub struct Environments {
    children: Vec<std::process::Child>,
}

impl Environments {
    pub fn start(
        count: usize,
        program: &std::path::Path,
        environment: &[(&'static str, String)],
        log: &std::fs::File,
    ) -> anyhow::Result<Environments> {
        use std::os::unix::process::CommandExt;

        let mut environments = Environments {
            children: Vec::with_capacity(count),
        };
        for _ in 0..count {
            let child = std::process::Command::new(program)
                .env_clear()
                .envs(environment.iter().map(|(name, value)| (*name, value)))
                .stdin(std::process::Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log.try_clone()?)
                .process_group(0)
                .spawn()
                .map_err(|error| anyhow::anyhow!("cannot start {}: {error}", program.display()))?;
            environments.children.push(child);
        }
        Ok(environments)
    }

    pub fn stop(&mut self) {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;

        let signal_all = |children: &mut Vec<std::process::Child>, signal: Signal| {
            for child in children.iter_mut() {
                if matches!(child.try_wait(), Ok(None))
                    && let Ok(pid) = i32::try_from(child.id())
                {
                    let _ = kill(Pid::from_raw(pid), signal);
                }
            }
        };
        signal_all(&mut self.children, Signal::SIGTERM);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline
            && self
                .children
                .iter_mut()
                .any(|child| matches!(child.try_wait(), Ok(None)))
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        signal_all(&mut self.children, Signal::SIGKILL);
        for mut child in self.children.drain(..) {
            let _ = child.wait();
        }
    }
}

impl Drop for Environments {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_with_their_headers() {
        let mut input = std::io::Cursor::new(
            "GET /database HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /health HTTP/1.1\r\n\r\n"
                .as_bytes(),
        );
        assert_eq!(
            read_request(&mut input),
            Some(("GET".into(), "/database".into()))
        );
        assert_eq!(
            read_request(&mut input),
            Some(("GET".into(), "/health".into()))
        );
        assert_eq!(read_request(&mut input), None);
    }

    #[test]
    fn a_request_beyond_the_limit_is_throttled_at_once() -> anyhow::Result<()> {
        // No function process at all: a request that got through would wait; one beyond a limit of 0 never does.
        let api = Arc::new(RuntimeApi::start()?);
        let front = Front::start(api, 0)?;
        let mut stream = TcpStream::connect(("127.0.0.1", front.port))?;
        stream.write_all(b"GET /database HTTP/1.1\r\nHost: x\r\n\r\n")?;
        let mut reader = BufReader::new(stream);
        let mut status = String::new();
        reader.read_line(&mut status)?;
        assert!(status.starts_with("HTTP/1.1 429"), "{status}");
        Ok(())
    }
}
