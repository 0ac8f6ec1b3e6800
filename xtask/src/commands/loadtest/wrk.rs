//! The load generator: wrk (Debian `wrk` 4.1). Chosen over oha (not in Debian's registry, a Rust build of minutes)
//! and Artillery (Node, one event loop: on two shared cores the generator would measure itself): wrk is a small C
//! program that holds a fixed number of keep-alive connections, each with one request in flight, which is exactly
//! "N concurrent callers", and its Lua hooks let it sort every answer by kind and print the result as JSON.

use anyhow::Context;
use serde_json::Value;

/// The Lua script: counts answers by kind in each thread, and at the end prints one `PMP_RESULT {json}` line with the
/// totals, wrk's socket errors and its latency percentiles (microseconds).
pub const SCRIPT: &str = r#"-- Written by `cargo xtask loadtest`; sorts every answer by kind (see xtask/src/commands/loadtest/wrk.rs).
local threads = {}
local kinds = {"ok", "pool_wait_timeout", "too_many_connections", "other_5xx", "throttled", "other"}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
  for _, kind in ipairs(kinds) do counts[kind] = 0 end
end

function response(status, headers, body)
  local kind
  if status == 200 then kind = "ok"
  elseif status == 429 then kind = "throttled"
  elseif body and body:find("database_pool_timeout", 1, true) then kind = "pool_wait_timeout"
  elseif body and body:find("database_too_many_connections", 1, true) then kind = "too_many_connections"
  elseif status >= 500 then kind = "other_5xx"
  else kind = "other" end
  counts[kind] = counts[kind] + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, kind in ipairs(kinds) do total[kind] = 0 end
  for _, thread in ipairs(threads) do
    local counted = thread:get("counts")
    for _, kind in ipairs(kinds) do total[kind] = total[kind] + (counted[kind] or 0) end
  end
  local parts = {}
  for _, kind in ipairs(kinds) do table.insert(parts, string.format('"%s":%d', kind, total[kind])) end
  local errors = summary.errors
  io.write(string.format(
    'PMP_RESULT {"requests":%d,"duration_us":%d,"kinds":{%s},"socket_errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"latency_us":{"p50":%d,"p95":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, table.concat(parts, ","),
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"#;

/// wrk's arguments for `connections` concurrent callers for `seconds`, against `url`.
pub fn args(connections: usize, seconds: u64, script: &str, url: &str) -> Vec<String> {
    // Two threads: the machine's cores; wrk needs at least one connection per thread.
    let threads = connections.clamp(1, 2);
    vec![
        format!("--threads={threads}"),
        format!("--connections={connections}"),
        format!("--duration={seconds}s"),
        // Longer than the pool's wait and the function's connect timeout: a slow answer is counted, not dropped.
        "--timeout=30s".to_owned(),
        format!("--script={script}"),
        url.to_owned(),
    ]
}

/// The `PMP_RESULT` line of wrk's output, parsed.
pub fn parse(output: &str) -> anyhow::Result<Value> {
    let line = output
        .lines()
        .find_map(|line| line.strip_prefix("PMP_RESULT "))
        .with_context(|| format!("wrk printed no result line; its output: {}", output.trim()))?;
    serde_json::from_str(line).context("wrk's result line is not JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_hold_the_concurrency_and_the_script() {
        assert_eq!(
            args(32, 20, "s.lua", "http://127.0.0.1:1/database"),
            [
                "--threads=2",
                "--connections=32",
                "--duration=20s",
                "--timeout=30s",
                "--script=s.lua",
                "http://127.0.0.1:1/database"
            ]
        );
        assert_eq!(args(1, 5, "s", "u")[0], "--threads=1");
    }

    #[test]
    fn the_result_line_is_found_among_wrks_own_output() {
        let output = "Running 20s test @ http://x\n  2 threads\nPMP_RESULT {\"requests\":3,\"kinds\":{\"ok\":3}}\n";
        assert_eq!(parse(output).expect("parsed")["kinds"]["ok"], 3);
        assert!(parse("Running 20s test\n").is_err());
    }

    #[test]
    fn the_script_sorts_every_kind_the_report_shows() {
        for kind in super::super::report::KINDS {
            assert!(SCRIPT.contains(&format!("\"{kind}\"")), "{kind}");
        }
        for code in ["database_pool_timeout", "database_too_many_connections"] {
            assert!(SCRIPT.contains(code), "{code}");
        }
    }
}
