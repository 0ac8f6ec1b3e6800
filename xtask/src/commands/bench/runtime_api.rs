//! A minimal AWS Lambda Runtime API on loopback, enough for lambda_runtime: `GET .../invocation/next` hands out queued
//! events with the headers Lambda sends, `POST .../invocation/{id}/response` and `.../error` take the answers, and
//! `POST .../init/error` records a failed start. It notes when things happen, so that timings exclude the benchmark's own
//! scheduling: when the first `next` arrives, when each event is written out and when its answer has been read in full.
//!
//! Plain std (one thread per connection, HTTP/1.1 with keep-alive): the function's client keeps one connection open, and
//! xtask should not compile an HTTP server for this.

use std::collections::{HashMap, VecDeque};
use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::bail;

const PREFIX: &str = "/2018-06-01/runtime";
/// Larger than Lambda's own 6 MB payload limit: anything bigger is a broken client, not a big answer.
const MAX_BODY: usize = 8 * 1024 * 1024;
/// The function's timeout as the deadline header tells it (serverless.yml's dev timeout).
const DEADLINE: Duration = Duration::from_secs(10);

/// What the function sent back for one event, and when.
#[derive(Debug, Clone)]
pub struct Answer {
    /// When the event was about to be written to the function.
    pub handed_out: Instant,
    /// When the answer had been read in full.
    pub received: Instant,
    /// `true` for `/response`, `false` for `/error`.
    pub ok: bool,
    pub body: String,
}

impl Answer {
    pub fn latency(&self) -> Duration {
        self.received.saturating_duration_since(self.handed_out)
    }
}

/// One Runtime API server; serves one function process at a time (see [`RuntimeApi::begin`]).
#[derive(Debug)]
pub struct RuntimeApi {
    address: String,
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Bumped for every new function process, so that connections of a stopped one stop waiting for events.
    generation: u64,
    next_id: u64,
    queue: VecDeque<(String, String)>,
    first_next: Option<Instant>,
    handed_out: HashMap<String, Instant>,
    answers: HashMap<String, Answer>,
    init_error: Option<String>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A connection thread that panicked cannot leave the bookkeeping half-written: keep using it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl RuntimeApi {
    /// Listens on a free loopback port and serves connections on background threads.
    pub fn start() -> anyhow::Result<RuntimeApi> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?.to_string();
        let shared = Arc::new(Shared::default());
        let accepting = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("runtime-api".to_owned())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    let shared = Arc::clone(&accepting);
                    // A connection that fails only ends itself; the waiting side notices the missing answer.
                    let _ = std::thread::Builder::new()
                        .name("runtime-api-conn".to_owned())
                        .spawn(move || serve(&shared, stream));
                }
            })?;
        Ok(RuntimeApi { address, shared })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Forgets everything about the previous process: call before starting the next one.
    pub fn begin(&self) {
        let mut state = self.shared.lock();
        let generation = state.generation + 1;
        *state = State {
            generation,
            next_id: state.next_id,
            ..State::default()
        };
        self.shared.changed.notify_all();
    }

    /// Queues an event for the function's next `next` request; returns its request id.
    pub fn enqueue(&self, event: String) -> String {
        let mut state = self.shared.lock();
        state.next_id += 1;
        let id = format!("bench-{:08}", state.next_id);
        state.queue.push_back((id.clone(), event));
        self.shared.changed.notify_all();
        id
    }

    /// When the process asked for its first event: the end of its initialisation.
    pub fn wait_first_next(
        &self,
        timeout: Duration,
        alive: impl FnMut() -> anyhow::Result<()>,
    ) -> anyhow::Result<Instant> {
        self.wait(timeout, alive, "its first request for an event", |state| {
            state.first_next
        })
    }

    /// The answer to the event `id`.
    pub fn wait_answer(
        &self,
        id: &str,
        timeout: Duration,
        alive: impl FnMut() -> anyhow::Result<()>,
    ) -> anyhow::Result<Answer> {
        self.wait(timeout, alive, "the answer to an event", |state| {
            state.answers.remove(id)
        })
    }

    /// Waits until `ready` finds what it looks for; fails when the function reported an init error, when `alive` says
    /// the process is gone, or after `timeout`.
    fn wait<T>(
        &self,
        timeout: Duration,
        mut alive: impl FnMut() -> anyhow::Result<()>,
        what: &str,
        mut ready: impl FnMut(&mut State) -> Option<T>,
    ) -> anyhow::Result<T> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if let Some(found) = ready(&mut state) {
                return Ok(found);
            }
            if let Some(error) = &state.init_error {
                bail!("the function failed to initialise: {error}");
            }
            let now = Instant::now();
            if now >= deadline {
                bail!("no {what} within {} s", timeout.as_secs());
            }
            // Short waits: a process that died sends nothing, so it is checked between them.
            let slice = (deadline - now).min(Duration::from_millis(20));
            state = self
                .shared
                .changed
                .wait_timeout(state, slice)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
            drop(state);
            alive()?;
            state = self.shared.lock();
        }
    }
}

/// One request as far as routing needs it.
#[derive(Debug)]
struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
    close: bool,
}

fn serve(shared: &Shared, stream: TcpStream) {
    // Answers are small and the client waits for each: Nagle's delay would only add latency.
    let _ = stream.set_nodelay(true);
    let generation = shared.lock().generation;
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    loop {
        let request = match read_request(&mut reader) {
            Ok(Some(request)) => request,
            // End of stream or a malformed request: the connection is over either way.
            Ok(None) | Err(_) => return,
        };
        let arrived = Instant::now();
        let written = match route(shared, generation, &request, arrived) {
            Some(response) => writer.write_all(&response),
            None => return,
        };
        if written.is_err() || request.close {
            return;
        }
    }
}

/// The bytes to answer `request` with; `None` when the connection should close without an answer.
fn route(shared: &Shared, generation: u64, request: &Request, arrived: Instant) -> Option<Vec<u8>> {
    let Some(rest) = request.path.strip_prefix(PREFIX) else {
        return Some(response(404, &[], br#"{"errorType":"NotFound"}"#));
    };
    match (request.method.as_str(), rest) {
        ("GET", "/invocation/next") => next_event(shared, generation, arrived),
        ("POST", "/init/error") => {
            shared.lock().init_error = Some(String::from_utf8_lossy(&request.body).into_owned());
            shared.changed.notify_all();
            Some(accepted())
        }
        ("POST", path) => {
            let (id, ok) = if let Some(id) = path
                .strip_prefix("/invocation/")
                .and_then(|p| p.strip_suffix("/response"))
            {
                (id, true)
            } else if let Some(id) = path
                .strip_prefix("/invocation/")
                .and_then(|p| p.strip_suffix("/error"))
            {
                (id, false)
            } else {
                return Some(response(404, &[], br#"{"errorType":"NotFound"}"#));
            };
            let mut state = shared.lock();
            let Some(handed_out) = state.handed_out.remove(id) else {
                return Some(response(400, &[], br#"{"errorType":"InvalidRequestID"}"#));
            };
            let answer = Answer {
                handed_out,
                received: arrived,
                ok,
                body: String::from_utf8_lossy(&request.body).into_owned(),
            };
            state.answers.insert(id.to_owned(), answer);
            shared.changed.notify_all();
            Some(accepted())
        }
        _ => Some(response(404, &[], br#"{"errorType":"NotFound"}"#)),
    }
}

/// Long-polls for an event, as Lambda does; gives up (closing the connection) when a new process has begun.
fn next_event(shared: &Shared, generation: u64, arrived: Instant) -> Option<Vec<u8>> {
    let mut state = shared.lock();
    if state.generation == generation && state.first_next.is_none() {
        state.first_next = Some(arrived);
        shared.changed.notify_all();
    }
    loop {
        if state.generation != generation {
            return None;
        }
        if let Some((id, event)) = state.queue.pop_front() {
            let deadline = SystemTime::now()
                .checked_add(DEADLINE)
                .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |since| since.as_millis());
            let headers = [
                ("Lambda-Runtime-Aws-Request-Id", id.clone()),
                ("Lambda-Runtime-Deadline-Ms", deadline.to_string()),
                (
                    "Lambda-Runtime-Invoked-Function-Arn",
                    format!(
                        "arn:aws:lambda:eu-central-1:000000000000:function:{}",
                        super::FUNCTION_NAME
                    ),
                ),
                (
                    "Lambda-Runtime-Trace-Id",
                    format!("Root=1-00000000-{id:0>24};Sampled=0"),
                ),
            ];
            let bytes = response(200, &headers, event.as_bytes());
            // Noted under the lock, before writing: the answer may come back on another connection.
            state.handed_out.insert(id, Instant::now());
            return Some(bytes);
        }
        state = shared
            .changed
            .wait_timeout(state, Duration::from_millis(200))
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0;
    }
}

fn accepted() -> Vec<u8> {
    response(202, &[], br#"{"status":"OK"}"#)
}

fn response(status: u16, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        _ => "Not Found",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Reads one HTTP/1.1 request; `None` at a clean end of stream.
fn read_request(reader: &mut impl BufRead) -> io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut words = line.split_whitespace();
    let (Some(method), Some(path)) = (words.next(), words.next()) else {
        return Err(invalid("no request line"));
    };
    let (method, path) = (method.to_owned(), path.to_owned());
    let mut length = 0usize;
    let mut chunked = false;
    let mut close = false;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(invalid("end of stream inside the headers"));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            return Err(invalid("a header without a colon"));
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => {
                length = value.parse().map_err(|_| invalid("a bad content-length"))?;
            }
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "connection" => close = value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    let body = if chunked {
        read_chunked(reader)?
    } else {
        if length > MAX_BODY {
            return Err(invalid("a body above the size limit"));
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        body
    };
    Ok(Some(Request {
        method,
        path,
        body,
        close,
    }))
}

fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let size = line.trim_end().split(';').next().unwrap_or_default();
        let size =
            usize::from_str_radix(size.trim(), 16).map_err(|_| invalid("a bad chunk size"))?;
        if body.len() + size > MAX_BODY {
            return Err(invalid("a body above the size limit"));
        }
        if size == 0 {
            // Trailers, if any, end with an empty line.
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        line.clear();
        reader.read_line(&mut line)?;
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    /// Sends one request on `stream` and reads the status line, headers and body of the answer.
    fn exchange(
        stream: &mut TcpStream,
        request: &str,
    ) -> anyhow::Result<(u16, Vec<String>, String)> {
        stream.write_all(request.as_bytes())?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut status = String::new();
        reader.read_line(&mut status)?;
        let code = status
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .parse()?;
        let mut headers = Vec::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end().to_owned();
            if line.is_empty() {
                break;
            }
            if let Some(value) = line.strip_prefix("Content-Length: ") {
                length = value.parse()?;
            }
            headers.push(line);
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        Ok((code, headers, String::from_utf8(body)?))
    }

    #[test]
    fn an_event_goes_out_with_lambdas_headers_and_its_answer_comes_back() -> anyhow::Result<()> {
        let api = RuntimeApi::start()?;
        api.begin();
        let id = api.enqueue(r#"{"rawPath":"/health"}"#.to_owned());
        let mut function = TcpStream::connect(api.address())?;
        let (status, headers, body) = exchange(
            &mut function,
            "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n",
        )?;
        assert_eq!(status, 200);
        assert_eq!(body, r#"{"rawPath":"/health"}"#);
        for name in [
            "Lambda-Runtime-Aws-Request-Id: bench-",
            "Lambda-Runtime-Deadline-Ms: ",
            "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:",
        ] {
            assert!(
                headers.iter().any(|h| h.starts_with(name)),
                "{name} in {headers:?}"
            );
        }
        api.wait_first_next(Duration::from_secs(5), || Ok(()))?;
        // A chunked answer, as a streaming client would send it.
        let post = format!(
            "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
             5\r\n{{\"sta\r\n10\r\ntusCode\":200}}   \r\n0\r\n\r\n"
        );
        let (status, _, _) = exchange(&mut function, &post)?;
        assert_eq!(status, 202);
        let answer = api.wait_answer(&id, Duration::from_secs(5), || Ok(()))?;
        assert!(answer.ok);
        assert_eq!(answer.body, r#"{"statusCode":200}   "#);
        assert!(answer.received >= answer.handed_out);
        Ok(())
    }

    #[test]
    fn errors_unknown_ids_and_init_failures_are_reported() -> anyhow::Result<()> {
        let api = RuntimeApi::start()?;
        api.begin();
        let id = api.enqueue("{}".to_owned());
        let mut function = TcpStream::connect(api.address())?;
        exchange(
            &mut function,
            "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n",
        )?;
        let body = r#"{"errorType":"Boom","errorMessage":"no"}"#;
        let post = format!(
            "POST /2018-06-01/runtime/invocation/{id}/error HTTP/1.1\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        assert_eq!(exchange(&mut function, &post)?.0, 202);
        let answer = api.wait_answer(&id, Duration::from_secs(5), || Ok(()))?;
        assert!(!answer.ok);
        let unknown = "POST /2018-06-01/runtime/invocation/nope/response HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(exchange(&mut function, unknown)?.0, 400);
        let init = "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nContent-Length: 4\r\n\r\nbad!";
        assert_eq!(exchange(&mut function, init)?.0, 202);
        let error = api
            .wait_answer("bench-none", Duration::from_secs(5), || Ok(()))
            .expect_err("the init error ends the wait");
        assert!(error.to_string().contains("bad!"), "{error}");
        Ok(())
    }

    #[test]
    fn a_dead_process_ends_the_wait() -> anyhow::Result<()> {
        let api = RuntimeApi::start()?;
        api.begin();
        let error = api
            .wait_first_next(Duration::from_secs(5), || bail!("the process exited"))
            .expect_err("the process is gone");
        assert!(error.to_string().contains("exited"));
        Ok(())
    }
}
