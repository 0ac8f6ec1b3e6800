//! The function's `migrate` command and its connection handling, against the real database.

use std::sync::Arc;

use pmp_api::db::{Database, DbConfig};
use pmp_api::migrations::{MIGRATOR, Settings};
use pmp_api::roles::MIGRATOR_ROLE;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Executor, Row};

use crate::pg::Cluster;
use crate::support::versions;

crate::tests!(
    migrate_command_applies_and_reports,
    connection_is_opened_once_and_reused,
    lost_connection_is_replaced,
    failed_migration_does_not_poison_the_connection,
    urls_keep_credentials_and_options,
    iam_connections_verify_the_server_certificate,
);

/// A `DATABASE_URL` for the test database, as the function would get it.
fn url_for(options: &PgConnectOptions) -> DbConfig {
    let database = options.get_database().expect("a database name");
    match std::env::var("DATABASE_URL") {
        // An external server may need a password: keep its URL, swap the database.
        Ok(external) => DbConfig::Url(with_database(&external, database)),
        // The harness's own server: trust authentication.
        Err(_) => DbConfig::Url(format!(
            "postgres://{}@{}:{}/{database}",
            options.get_username(),
            options.get_host(),
            options.get_port()
        )),
    }
}

/// `url` with its path (the database name) replaced, query kept.
fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("DATABASE_URL has a scheme");
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find('?').map_or("", |at| &tail[at..]);
    format!("{scheme}://{authority}/{database}{query}")
}

async fn migrate_command_applies_and_reports(cluster: Arc<Cluster>) {
    #[cfg(feature = "runtime")]
    {
        use pmp_api::api::ServiceInfo;
        use pmp_api::handler::{App, Role};
        use serde_json::json;

        let options = cluster.as_role(&cluster.create_database("command").await, MIGRATOR_ROLE);
        let app = App::new(ServiceInfo::new("test"), Ok(url_for(&options)))
            .with_role(Role::Migrate, Ok(Settings::default()));
        let event: serde_json::Value =
            serde_json::from_str(include_str!("../../events/migrate.json"))
                .expect("the migrate event");

        let first = app
            .handle(event.clone(), "req-1")
            .await
            .expect("migrate succeeds");
        let latest = versions(&MIGRATOR).last().copied();
        assert_eq!(
            serde_json::to_value(&first).expect("serialise"),
            json!({"applied": versions(&MIGRATOR), "current_version": latest})
        );
        let second = app.handle(event, "req-2").await.expect("migrate again");
        assert_eq!(
            serde_json::to_value(&second).expect("serialise"),
            json!({"applied": [], "current_version": latest})
        );
    }
    #[cfg(not(feature = "runtime"))]
    let _ = cluster;
}

async fn backend_pid(database: &Database) -> i32 {
    let mut connection = database.connection().await.expect("a connection");
    sqlx::query("SELECT pg_backend_pid()")
        .fetch_one(&mut *connection)
        .await
        .expect("pid")
        .get(0)
}

async fn connection_is_opened_once_and_reused(cluster: Arc<Cluster>) {
    let options = cluster.create_database("reuse").await;
    let database = Database::new(url_for(&options));
    let count = |admin: &PgConnectOptions| {
        let admin = admin.clone();
        let name = options.get_database().expect("a name").to_owned();
        async move {
            let mut conn = admin.connect().await.expect("observer connection");
            let n: i64 = sqlx::query("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()")
                .bind(name)
                .fetch_one(&mut conn)
                .await
                .expect("count sessions")
                .get(0);
            n
        }
    };
    assert_eq!(
        count(&options).await,
        0,
        "creating the Database opened a connection"
    );
    let first = backend_pid(&database).await;
    let second = backend_pid(&database).await;
    assert_eq!(first, second, "the connection is reused");
    assert_eq!(
        count(&options).await,
        1,
        "one connection per execution environment"
    );
}

async fn lost_connection_is_replaced(cluster: Arc<Cluster>) {
    let options = cluster.create_database("lost").await;
    let database = Database::new(url_for(&options));
    let first = backend_pid(&database).await;
    // What an idle timeout on the proxy or a database failover does to a frozen environment's connection.
    let mut admin = cluster.connect(&options).await;
    admin
        .execute(format!("SELECT pg_terminate_backend({first})").as_str())
        .await
        .expect("terminate");
    let second = backend_pid(&database).await;
    assert_ne!(first, second, "a new connection replaced the lost one");
}

async fn failed_migration_does_not_poison_the_connection(cluster: Arc<Cluster>) {
    let options = cluster.create_database("poison").await;
    let database = Database::new(url_for(&options));
    {
        let mut connection = database.connection().await.expect("a connection");
        // Leave the session in an aborted transaction, as a failed statement would.
        connection
            .execute("BEGIN; SELECT 1/0;")
            .await
            .expect_err("division by zero");
    }
    database.reset().await;
    let mut connection = database.connection().await.expect("a fresh connection");
    let report = pmp_api::migrations::run(&mut connection, &MIGRATOR, &Settings::DEFAULT)
        .await
        .expect("migrations run on the new session");
    assert_eq!(report.applied, versions(&MIGRATOR));
}

async fn urls_keep_credentials_and_options(_cluster: Arc<Cluster>) {
    assert_eq!(
        with_database("postgres://u:p@h:5/old?sslmode=require", "new"),
        "postgres://u:p@h:5/new?sslmode=require"
    );
    assert_eq!(
        with_database("postgresql://u@h", "new"),
        "postgresql://u@h/new"
    );
}

async fn iam_connections_verify_the_server_certificate(cluster: Arc<Cluster>) {
    if !cluster.own_tls_server {
        eprintln!(
            "note: DATABASE_URL is set; the TLS verification test needs the harness's own server"
        );
        return;
    }
    let options = cluster.create_database("tls").await;
    let iam = pmp_api::db::IamConfig {
        host: "localhost".into(),
        port: options.get_port(),
        database: options.get_database().expect("a name").into(),
        user: "postgres".into(),
        region: "eu-central-1".into(),
    };
    // The server's self-signed certificate is valid for localhost but issued by no trusted root: refused by the
    // verifier (which also shows the embedded roots parsed: a bad bundle fails before the handshake).
    let error = iam
        .connect_options("token")
        .connect()
        .await
        .expect_err("an untrusted certificate is refused");
    let message = error.to_string();
    assert!(message.contains("invalid peer certificate"), "{message}");
    // Control: the same server over TLS without verification is reachable, so the refusal is the verification.
    let unverified = iam
        .connect_options("token")
        .ssl_mode(sqlx::postgres::PgSslMode::Require);
    let mut conn = unverified
        .connect()
        .await
        .expect("TLS without verification connects");
    let ssl: bool = sqlx::query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .expect("read pg_stat_ssl")
        .get(0);
    assert!(ssl, "the control connection uses TLS");
}
