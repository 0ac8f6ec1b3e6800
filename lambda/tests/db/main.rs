//! Database tests against a real PostgreSQL (never a mock): one throwaway server for this binary (see `pg.rs`), one
//! fresh database per test. Own harness (libtest-mimic) so that the server is stopped when the tests end, passed or
//! not: a `static` would never be dropped.

mod access;
mod function;
mod migrate;
mod pg;
mod route;
mod schema;
mod support;

use std::process::ExitCode;
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};

/// A test: gets the cluster, runs on its own single-threaded Tokio runtime.
pub type TestFn =
    fn(Arc<pg::Cluster>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let tests: Vec<(&str, TestFn)> = migrate::TESTS
        .iter()
        .chain(schema::TESTS)
        .chain(function::TESTS)
        .chain(access::TESTS)
        .chain(route::TESTS)
        .copied()
        .collect();

    // Listing needs no server.
    if args.list {
        let trials = tests
            .iter()
            .map(|(name, _)| Trial::test(*name, || Ok(())))
            .collect();
        libtest_mimic::run(&args, trials).exit();
    }

    let guard = match pg::start() {
        Ok(guard) => guard,
        Err(message) => {
            eprintln!("error: the database tests cannot run: {message}");
            return ExitCode::FAILURE;
        }
    };
    let cluster = guard.cluster();
    let trials = tests
        .into_iter()
        .map(|(name, test)| {
            let cluster = cluster.clone();
            Trial::test(name, move || run(test, cluster))
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    // Stop the server (or drop the databases) before exiting: `exit` skips destructors.
    drop(guard);
    conclusion.exit_code()
}

fn run(test: TestFn, cluster: Arc<pg::Cluster>) -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Failed::from(format!("cannot build a Tokio runtime: {error}")))?;
    // A panic (a failed assertion) is caught by the harness and reported as this test's failure.
    runtime.block_on(test(cluster));
    Ok(())
}
