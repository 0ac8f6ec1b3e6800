//! The API's database route against the real database: it signs in as `pmp_api`, reads, reuses its one connection,
//! and names a refused connection by its kind. `/health` never opens a connection.

use std::sync::Arc;

use pmp_api::db::DbConfig;
use pmp_api::migrations::{MIGRATOR, Settings, run};
use pmp_api::roles::{API_ROLE, MIGRATOR_ROLE};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection};

use crate::pg::Cluster;

crate::tests!(
    database_route_reads_as_the_api_role_through_one_reused_connection,
    health_opens_no_connection,
    a_refused_connection_is_answered_as_too_many_connections,
);

/// A database migrated as `pmp_migrator`, with two purposes in the catalogue; the admin options.
async fn migrated(cluster: &Cluster, label: &str) -> PgConnectOptions {
    let options = cluster.create_database(label).await;
    let mut migrator = cluster
        .connect(&cluster.as_role(&options, MIGRATOR_ROLE))
        .await;
    run(&mut migrator, &MIGRATOR, &Settings::DEFAULT)
        .await
        .expect("migrate as pmp_migrator");
    migrator.close().await.expect("close");
    let mut admin = cluster.connect(&options).await;
    admin
        .execute(
            "INSERT INTO purpose (code, name, legal_basis) VALUES
             ('marketing', 'Marketing', 'consent'), ('service', 'Service', 'contract')",
        )
        .await
        .expect("catalogue fixtures");
    admin.close().await.expect("close");
    options
}

/// The function's `DATABASE_URL`: the test server trusts loopback, as the proxy trusts an IAM token.
fn api_config(options: &PgConnectOptions) -> DbConfig {
    let database = options.get_database().expect("a database name");
    match std::env::var("DATABASE_URL") {
        Ok(external) => {
            let (scheme, rest) = external.split_once("://").expect("a scheme");
            let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
            DbConfig::Url(format!(
                "{scheme}://{authority}/{database}?options=-c%20role%3D{API_ROLE}"
            ))
        }
        Err(_) => DbConfig::Url(format!(
            "postgres://{API_ROLE}@{}:{}/{database}",
            options.get_host(),
            options.get_port()
        )),
    }
}

#[cfg(feature = "runtime")]
fn event(method: &str, path: &str) -> serde_json::Value {
    let mut event: serde_json::Value =
        serde_json::from_str(include_str!("../../events/health.json")).expect("the sample event");
    event["rawPath"] = path.into();
    event["requestContext"]["http"]["path"] = path.into();
    event["requestContext"]["http"]["method"] = method.into();
    event
}

/// Status and parsed body of the API answer.
#[cfg(feature = "runtime")]
async fn call(app: &pmp_api::handler::App, method: &str, path: &str) -> (i64, serde_json::Value) {
    let answer = app
        .handle(event(method, path), "req")
        .await
        .expect("API events get an answer");
    let wire = serde_json::to_value(&answer).expect("serialise");
    let body = serde_json::from_str(wire["body"].as_str().expect("a text body")).expect("JSON");
    (wire["statusCode"].as_i64().expect("a status"), body)
}

async fn api_sessions(admin: &mut PgConnection, database: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND usename = $2")
        .bind(database)
        .bind(API_ROLE)
        .fetch_one(admin)
        .await
        .expect("count sessions")
}

async fn database_route_reads_as_the_api_role_through_one_reused_connection(cluster: Arc<Cluster>) {
    #[cfg(feature = "runtime")]
    {
        use pmp_api::api::ServiceInfo;
        use pmp_api::handler::App;

        let options = migrated(&cluster, "route_read").await;
        let app = App::new(ServiceInfo::new("test"), Ok(api_config(&options)));
        let (status, first) = call(&app, "GET", "/database").await;
        assert_eq!(status, 200, "{first}");
        assert_eq!(first["placeholder"], true);
        assert_eq!(first["database"]["role"], API_ROLE);
        assert_eq!(first["database"]["purposes"], 2);
        let (_, second) = call(&app, "GET", "/database").await;
        assert_eq!(
            first["database"]["backend_pid"], second["database"]["backend_pid"],
            "the second read reuses the first one's session"
        );
        let mut admin = cluster.connect(&options).await;
        let database = options.get_database().expect("name");
        assert_eq!(api_sessions(&mut admin, database).await, 1);
        let (status, refused) = call(&app, "POST", "/database").await;
        assert_eq!(status, 405);
        assert_eq!(refused["error"]["code"], "method_not_allowed");
    }
    #[cfg(not(feature = "runtime"))]
    let _ = cluster;
}

async fn health_opens_no_connection(cluster: Arc<Cluster>) {
    #[cfg(feature = "runtime")]
    {
        use pmp_api::api::ServiceInfo;
        use pmp_api::handler::App;

        let options = migrated(&cluster, "route_health").await;
        let app = App::new(ServiceInfo::new("test"), Ok(api_config(&options)));
        let (status, _) = call(&app, "GET", "/health").await;
        assert_eq!(status, 200);
        let mut admin = cluster.connect(&options).await;
        let database = options.get_database().expect("name");
        assert_eq!(api_sessions(&mut admin, database).await, 0);
        let (status, _) = call(&app, "GET", "/database").await;
        assert_eq!(status, 200);
        assert_eq!(api_sessions(&mut admin, database).await, 1);
    }
    #[cfg(not(feature = "runtime"))]
    let _ = cluster;
}

async fn a_refused_connection_is_answered_as_too_many_connections(cluster: Arc<Cluster>) {
    #[cfg(feature = "runtime")]
    {
        use pmp_api::api::ServiceInfo;
        use pmp_api::handler::App;

        let options = migrated(&cluster, "route_full").await;
        let database = options.get_database().expect("name").to_owned();
        let mut admin = cluster.connect(&options).await;
        // The server's answer beyond max_connections (SQLSTATE 53300), for this database only: the other tests share
        // the server.
        admin
            .execute(format!("ALTER DATABASE {database} CONNECTION LIMIT 0").as_str())
            .await
            .expect("limit the database");
        let app = App::new(ServiceInfo::new("test"), Ok(api_config(&options)));
        let (status, body) = call(&app, "GET", "/database").await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["error"]["code"], "database_too_many_connections");
        admin
            .execute(format!("ALTER DATABASE {database} CONNECTION LIMIT -1").as_str())
            .await
            .expect("lift the limit");
        let (status, body) = call(&app, "GET", "/database").await;
        assert_eq!(status, 200, "the next request connects again: {body}");
    }
    #[cfg(not(feature = "runtime"))]
    let _ = cluster;
}
