//! Loopback ports and one plain HTTP GET, with std only: enough to pick ports and to see the function's first answer.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Whether `port` on 127.0.0.1 can be listened on now.
pub fn port_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    let listener =
        TcpListener::bind("127.0.0.1:0").context("cannot find a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}

/// `GET path` on 127.0.0.1:`port` on a background thread, retrying the connection until the server listens; the
/// receiver gets the status and body, or why there are none, within `timeout`.
pub fn get_in_background(
    port: u16,
    path: &str,
    timeout: Duration,
) -> Receiver<anyhow::Result<(u16, String)>> {
    let (sender, receiver) = mpsc::channel();
    let path = path.to_owned();
    std::thread::spawn(move || {
        // The receiver may have given up (Ctrl-C): nobody to tell then.
        let _ = sender.send(get(port, &path, timeout));
    });
    receiver
}

fn get(port: u16, path: &str, timeout: Duration) -> anyhow::Result<(u16, String)> {
    let deadline = Instant::now() + timeout;
    let mut stream = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => break stream,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            Err(error) => {
                return Err(error).context(format!("nothing listens on 127.0.0.1:{port}"));
            }
        }
    };
    stream.set_read_timeout(Some(
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_secs(1)),
    ))?;
    // One write: `write!` on a socket sends each formatted piece as its own segment.
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut bytes = Vec::new();
    stream
        .read_to_end(&mut bytes)
        .context("the answer did not arrive in time")?;
    parse_response(&String::from_utf8_lossy(&bytes))
}

/// The status and body of a complete HTTP/1.1 response (`Connection: close`, so the body runs to the end; a chunked
/// body is passed through as it is, which is enough for a message).
fn parse_response(text: &str) -> anyhow::Result<(u16, String)> {
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        bail!("an incomplete HTTP response: {text:?}");
    };
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("no status in the HTTP response: {head:?}"))?;
    Ok((status, body.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_get_waits_for_the_server_and_reads_its_answer() -> anyhow::Result<()> {
        let port = free_port()?;
        let answer = get_in_background(
            port,
            "/lambda-url/bootstrap/health",
            Duration::from_secs(10),
        );
        std::thread::sleep(Duration::from_millis(300));
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        assert!(!port_free(port));
        let (mut stream, _) = listener.accept()?;
        // TCP may hand the request over in pieces: read up to the end of its head.
        let mut request = Vec::new();
        let mut chunk = [0u8; 512];
        while !request.windows(4).any(|window| window == b"\r\n\r\n") {
            let read = stream.read(&mut chunk)?;
            anyhow::ensure!(
                read > 0,
                "the client closed before its request was complete"
            );
            request.extend_from_slice(&chunk[..read]);
        }
        assert!(
            String::from_utf8_lossy(&request)
                .starts_with("GET /lambda-url/bootstrap/health HTTP/1.1\r\n")
        );
        stream.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{\"status\":\"ok\"}",
        )?;
        drop(stream);
        let (status, body) = answer.recv_timeout(Duration::from_secs(10))??;
        assert_eq!(status, 200);
        assert_eq!(body, r#"{"status":"ok"}"#);
        Ok(())
    }
}
