//! The database roles as production has them (bootstrap, then the migrations as `pmp_migrator`), and migrations that
//! meet real conditions: a long statement, a table locked by API traffic, a failure halfway.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pmp_api::migrations::{MIGRATOR, MigrationError, Settings, run, status};
use pmp_api::roles::{API_ROLE, MIGRATOR_ROLE, bootstrap};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection};

use crate::pg::Cluster;
use crate::support::{
    copied_migration, copy_migrations, fails_with, migrator, recorded, table_exists, versions,
};

crate::tests!(
    api_role_has_the_dml_it_needs,
    api_role_cannot_change_the_schema_or_the_history,
    roles_are_what_production_expects,
    bootstrap_is_idempotent_and_adopts_a_master_migrated_database,
    migrator_applies_from_empty_and_again,
    two_migrators_serialise,
    migration_longer_than_the_api_timeout_completes,
    blocked_migration_fails_within_lock_timeout_and_leaves_no_lock,
    failed_migration_leaves_no_partial_change_and_the_next_run_starts_clean,
    status_lists_pending_applied_and_modified,
    local_setup_creates_the_database_and_roles_and_the_api_url_signs_in_as_pmp_api,
);

const INSUFFICIENT_PRIVILEGE: &str = "42501";
const RESTRICT: &str = "23001";

/// A database migrated as `pmp_migrator`; the options of the admin connection.
async fn migrated(cluster: &Cluster, label: &str) -> PgConnectOptions {
    let options = cluster.create_database(label).await;
    let mut migrator = cluster
        .connect(&cluster.as_role(&options, MIGRATOR_ROLE))
        .await;
    run(&mut migrator, &MIGRATOR, &Settings::DEFAULT)
        .await
        .expect("migrate as pmp_migrator");
    migrator.close().await.expect("close");
    options
}

async fn as_api(cluster: &Cluster, options: &PgConnectOptions) -> PgConnection {
    cluster.connect(&cluster.as_role(options, API_ROLE)).await
}

async fn api_role_has_the_dml_it_needs(cluster: Arc<Cluster>) {
    let options = migrated(&cluster, "api_dml").await;
    let mut admin = cluster.connect(&options).await;
    admin
        .execute(
            "INSERT INTO purpose (code, name, legal_basis) VALUES ('marketing', 'Marketing', 'consent');
             INSERT INTO topic (purpose_id, code, name) SELECT id, 'newsletter', 'Newsletter' FROM purpose;",
        )
        .await
        .expect("catalogue fixtures");
    let mut api = as_api(&cluster, &options).await;
    api.execute(
        "INSERT INTO data_subject (id, external_ref) VALUES ('00000000-0000-4000-8000-000000000001', 'crm-1');
         UPDATE data_subject SET external_ref = 'crm-1b' WHERE external_ref = 'crm-1';
         INSERT INTO data_subject (external_ref) VALUES ('crm-2');
         DELETE FROM data_subject WHERE external_ref = 'crm-2';
         SELECT * FROM purpose, topic, channel;",
    )
    .await
    .expect("the API's DML on people and reads of the catalogue");
    // Recording a choice: the trigger derives the current preference with its owner's rights.
    api.execute(
        "INSERT INTO consent_event (subject_id, topic_id, channel, choice, occurred_at, source)
         SELECT '00000000-0000-4000-8000-000000000001', id, 'email', 'granted', now(), 'web' FROM topic",
    )
    .await
    .expect("the API records a consent event");
    let current: (String,) = sqlx::query_as("SELECT choice FROM preference")
        .fetch_one(&mut api)
        .await
        .expect("the API reads the current preference");
    assert_eq!(current.0, "granted");
    let history: i64 = sqlx::query_scalar("SELECT count(*) FROM consent_event")
        .fetch_one(&mut api)
        .await
        .expect("the API reads the history");
    assert_eq!(history, 1);
}

async fn api_role_cannot_change_the_schema_or_the_history(cluster: Arc<Cluster>) {
    let options = migrated(&cluster, "api_denied").await;
    let mut api = as_api(&cluster, &options).await;
    for sql in [
        "CREATE TABLE sneaky (id int)",
        "CREATE TABLE public.sneaky (id int)",
        "CREATE SCHEMA sneaky",
        "ALTER TABLE data_subject ADD COLUMN sneaky int",
        "DROP TABLE channel",
        "CREATE INDEX sneaky ON data_subject (created_at)",
        "TRUNCATE consent_event",
        "TRUNCATE data_subject",
        "UPDATE consent_event SET choice = 'denied'",
        "DELETE FROM consent_event",
        "INSERT INTO preference (subject_id, topic_id, channel, choice, occurred_at, event_id) \
         VALUES (gen_random_uuid(), 1, 'email', 'granted', now(), 1)",
        "UPDATE preference SET choice = 'denied'",
        "DELETE FROM preference",
        "INSERT INTO channel (code, name) VALUES ('fax', 'Fax')",
        "UPDATE purpose SET active = false",
        "SELECT * FROM _sqlx_migrations",
        "ALTER FUNCTION preference_apply_consent_event() SECURITY INVOKER",
        "CREATE ROLE sneaky",
        "SET ROLE pmp_migrator",
    ] {
        fails_with(&mut api, sql, INSUFFICIENT_PRIVILEGE).await;
    }
    // A GRANT without the grant option grants nothing (PostgreSQL only warns).
    api.execute("GRANT SELECT ON data_subject TO PUBLIC")
        .await
        .expect("a GRANT without rights is a warning");
    let granted: bool =
        sqlx::query_scalar("SELECT has_table_privilege('public', 'data_subject', 'SELECT')")
            .fetch_one(&mut api)
            .await
            .expect("check PUBLIC's privilege");
    assert!(!granted, "the API role passed on a privilege");
    // Even the owner cannot rewrite history: the trigger refuses it (the second line of defence).
    let mut migrator = cluster
        .connect(&cluster.as_role(&options, MIGRATOR_ROLE))
        .await;
    fails_with(&mut migrator, "DELETE FROM consent_event", RESTRICT).await;
}

async fn roles_are_what_production_expects(cluster: Arc<Cluster>) {
    let options = migrated(&cluster, "roles").await;
    let mut admin = cluster.connect(&options).await;
    for role in [API_ROLE, MIGRATOR_ROLE] {
        let (login, superuser, createrole, createdb, bypassrls, password, iam): (
            bool,
            bool,
            bool,
            bool,
            bool,
            bool,
            bool,
        ) = sqlx::query_as(
            "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolpassword IS NOT NULL, \
                    pg_has_role(rolname, 'rds_iam', 'MEMBER') \
             FROM pg_authid WHERE rolname = $1",
        )
        .bind(role)
        .fetch_one(&mut admin)
        .await
        .expect("the role exists");
        assert!(login && iam, "{role} signs in, with IAM only");
        assert!(
            !superuser && !createrole && !createdb && !bypassrls && !password,
            "{role} has no extra attribute and no password"
        );
    }
    let owners: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, pg_get_userbyid(c.relowner)::text FROM pg_class c \
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'S', 'i') ORDER BY 1",
    )
    .fetch_all(&mut admin)
    .await
    .expect("owners");
    assert!(!owners.is_empty());
    for (object, owner) in &owners {
        assert_eq!(owner, MIGRATOR_ROLE, "{object} belongs to the migrator");
    }
    let schema_owner: String = sqlx::query_scalar(
        "SELECT pg_get_userbyid(nspowner)::text FROM pg_namespace WHERE nspname = 'public'",
    )
    .fetch_one(&mut admin)
    .await
    .expect("schema owner");
    assert_eq!(schema_owner, MIGRATOR_ROLE);
}

async fn bootstrap_is_idempotent_and_adopts_a_master_migrated_database(cluster: Arc<Cluster>) {
    // A database migrated by the master user before the roles existed (the layout before this change).
    let options = cluster.create_empty_database("adopt").await;
    let mut admin = cluster.connect(&options).await;
    pmp_api::roles::create_rds_iam_stand_in(&mut admin)
        .await
        .expect("rds_iam stand-in");
    admin
        .execute("CREATE TABLE legacy (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY); CREATE FUNCTION legacy_fn() RETURNS int LANGUAGE sql AS 'SELECT 1';")
        .await
        .expect("objects owned by the master user");
    let first = bootstrap(&mut admin).await.expect("first bootstrap");
    assert_eq!(first.reassigned, ["legacy", "legacy_fn()"]);
    let second = bootstrap(&mut admin).await.expect("second bootstrap");
    assert!(
        second.created_roles.is_empty() && second.reassigned.is_empty(),
        "{second:?}"
    );
    let owner: String = sqlx::query_scalar(
        "SELECT pg_get_userbyid(relowner)::text FROM pg_class WHERE relname = 'legacy_id_seq'",
    )
    .fetch_one(&mut admin)
    .await
    .expect("the identity sequence");
    assert_eq!(
        owner, MIGRATOR_ROLE,
        "the identity sequence follows its table"
    );
}

async fn migrator_applies_from_empty_and_again(cluster: Arc<Cluster>) {
    let options = cluster.as_role(&cluster.create_database("from_empty").await, MIGRATOR_ROLE);
    let mut conn = cluster.connect(&options).await;
    let first = run(&mut conn, &MIGRATOR, &Settings::DEFAULT)
        .await
        .expect("from empty");
    assert_eq!(first.applied, versions(&MIGRATOR));
    let again = run(&mut conn, &MIGRATOR, &Settings::DEFAULT)
        .await
        .expect("again");
    assert!(again.applied.is_empty(), "{again:?}");
    assert_eq!(again.current_version, first.current_version);
}

async fn two_migrators_serialise(cluster: Arc<Cluster>) {
    let options = cluster.as_role(&cluster.create_database("serialise").await, MIGRATOR_ROLE);
    let dir = tempfile::tempdir().expect("temporary directory");
    copy_migrations(dir.path());
    // A migration that takes a second: the second runner must wait for it, not interleave.
    std::fs::write(
        dir.path().join("20991231000000_slow.sql"),
        "SELECT pg_sleep(1);\nCREATE TABLE slow_done (id int);\n",
    )
    .expect("write the slow migration");
    let slow = migrator(dir.path()).await;
    let mut a = cluster.connect(&options).await;
    let mut b = cluster.connect(&options).await;
    let (ra, rb) = tokio::join!(
        run(&mut a, &slow, &Settings::DEFAULT),
        run(&mut b, &slow, &Settings::DEFAULT)
    );
    let (ra, rb) = (ra.expect("runner a"), rb.expect("runner b"));
    let mut applied: Vec<i64> = ra.applied.iter().chain(&rb.applied).copied().collect();
    applied.sort_unstable();
    assert_eq!(
        applied,
        versions(&slow),
        "each migration once: {ra:?} {rb:?}"
    );
    assert!(
        ra.applied.is_empty() || rb.applied.is_empty(),
        "one runner did all the work"
    );
}

async fn migration_longer_than_the_api_timeout_completes(cluster: Arc<Cluster>) {
    // The API function's timeout is 10 s (dev) and its connection gives up after 5 s: a 12 s migration outlives
    // both and completes under the migration function's settings.
    let options = cluster.as_role(&cluster.create_database("long").await, MIGRATOR_ROLE);
    let dir = tempfile::tempdir().expect("temporary directory");
    copy_migrations(dir.path());
    std::fs::write(
        dir.path().join("20991231000000_long.sql"),
        "SELECT pg_sleep(12);\nCREATE INDEX data_subject_created_at_idx ON data_subject (created_at);\n",
    )
    .expect("write the long migration");
    let long = migrator(dir.path()).await;
    let mut conn = cluster.connect(&options).await;
    let started = Instant::now();
    let report = run(&mut conn, &long, &Settings::DEFAULT)
        .await
        .expect("the long migration completes");
    assert!(started.elapsed() >= Duration::from_secs(12));
    assert_eq!(report.applied.last(), Some(&20991231000000));
}

async fn blocked_migration_fails_within_lock_timeout_and_leaves_no_lock(cluster: Arc<Cluster>) {
    let admin_options = migrated(&cluster, "blocked").await;
    let options = cluster.as_role(&admin_options, MIGRATOR_ROLE);
    let dir = tempfile::tempdir().expect("temporary directory");
    copy_migrations(dir.path());
    std::fs::write(
        dir.path().join("20991231000000_add_column.sql"),
        "ALTER TABLE data_subject ADD COLUMN nickname text;\n",
    )
    .expect("write the migration");
    let adding = migrator(dir.path()).await;
    // Live API traffic: a transaction that has read the table and not finished.
    let mut api = as_api(&cluster, &admin_options).await;
    api.execute("BEGIN; SELECT count(*) FROM data_subject;")
        .await
        .expect("an open API transaction");

    let settings = Settings {
        lock_timeout: Duration::from_secs(1),
        ..Settings::DEFAULT
    };
    let mut conn = cluster.connect(&options).await;
    let started = Instant::now();
    let error = run(&mut conn, &adding, &settings)
        .await
        .expect_err("the ALTER waits for the API's lock and gives up");
    let waited = started.elapsed();
    assert!(
        matches!(
            error,
            MigrationError::LockTimeout {
                version: 20991231000000,
                ..
            }
        ),
        "{error:?}"
    );
    // Without lock_timeout the ALTER would wait as long as the API transaction stays open (for ever, here): the
    // bound only shows that it gave up, with room for a loaded machine; the error kind above shows why.
    assert!(
        waited < Duration::from_secs(30),
        "gave up on the lock instead of waiting for the API transaction, took {waited:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("lock_timeout (1 s)") && message.contains("API traffic"),
        "{message}"
    );
    let locks: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&mut conn)
    .await
    .expect("count advisory locks");
    assert_eq!(locks, 0, "no migration lock left behind");
    api.execute("ROLLBACK").await.expect("the API finishes");
    // Nothing half-applied, and the next run goes through.
    let report = run(&mut conn, &adding, &settings)
        .await
        .expect("the next run applies it");
    assert_eq!(report.applied, [20991231000000]);
}

async fn failed_migration_leaves_no_partial_change_and_the_next_run_starts_clean(
    cluster: Arc<Cluster>,
) {
    let options = cluster.as_role(&cluster.create_database("partial").await, MIGRATOR_ROLE);
    let dir = tempfile::tempdir().expect("temporary directory");
    copy_migrations(dir.path());
    let broken = dir.path().join("20991231000000_half.sql");
    std::fs::write(
        &broken,
        "CREATE TABLE half_done (id int);\nALTER TABLE data_subject ADD COLUMN half int;\nSELECT 1 / 0;\n",
    )
    .expect("write the broken migration");
    let mut conn = cluster.connect(&options).await;
    run(&mut conn, &migrator(dir.path()).await, &Settings::DEFAULT)
        .await
        .expect_err("the broken migration fails");
    assert!(!table_exists(&mut conn, "half_done").await);
    let column: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT FROM information_schema.columns WHERE table_name = 'data_subject' AND column_name = 'half')",
    )
    .fetch_one(&mut conn)
    .await
    .expect("look the column up");
    assert!(!column, "the failed migration left a column behind");
    assert_eq!(
        recorded(&mut conn).await.len(),
        versions(&MIGRATOR).len(),
        "no row for the failed migration: not dirty"
    );
    // Fixed forward, from a fresh connection: the next run starts clean.
    std::fs::write(&broken, "CREATE TABLE half_done (id int);\n").expect("fix the migration");
    let mut next = cluster.connect(&options).await;
    let report = run(&mut next, &migrator(dir.path()).await, &Settings::DEFAULT)
        .await
        .expect("the fixed migration applies");
    assert_eq!(report.applied, [20991231000000]);
}

async fn status_lists_pending_applied_and_modified(cluster: Arc<Cluster>) {
    let options = cluster.as_role(&cluster.create_database("status").await, MIGRATOR_ROLE);
    let mut conn = cluster.connect(&options).await;
    let before = status(&mut conn, &MIGRATOR)
        .await
        .expect("status of an empty database");
    assert_eq!(before.pending, versions(&MIGRATOR));
    assert!(before.applied.is_empty() && !before.has_problems());
    assert!(
        !table_exists(&mut conn, "_sqlx_migrations").await,
        "reading the status creates nothing"
    );
    run(&mut conn, &MIGRATOR, &Settings::DEFAULT)
        .await
        .expect("migrate");
    let after = status(&mut conn, &MIGRATOR).await.expect("status");
    assert_eq!(after.applied, versions(&MIGRATOR));
    assert!(after.pending.is_empty() && !after.has_problems());

    let dir = tempfile::tempdir().expect("temporary directory");
    copy_migrations(dir.path());
    let first = versions(&MIGRATOR)[0];
    let path = copied_migration(dir.path(), first);
    let mut sql = std::fs::read_to_string(&path).expect("read");
    sql.push_str("\n-- edited\n");
    std::fs::write(&path, sql).expect("edit");
    std::fs::write(dir.path().join("20991231000000_next.sql"), "SELECT 1;\n").expect("new");
    let edited = status(&mut conn, &migrator(dir.path()).await)
        .await
        .expect("status against an edited build");
    assert_eq!(edited.modified, [first]);
    assert_eq!(edited.pending, [20991231000000]);
    assert!(edited.has_problems());
}

async fn local_setup_creates_the_database_and_roles_and_the_api_url_signs_in_as_pmp_api(
    cluster: Arc<Cluster>,
) {
    // What `cargo xtask local` does with the administrator's URL: create the database when missing (only on the
    // harness's own server, which is thrown away afterwards), the rds_iam stand-in and the roles, migrate as
    // pmp_migrator, then give the function a URL that signs in with the API's role.
    let options = if cluster.own_tls_server {
        let existing = cluster.create_empty_database("local_probe").await;
        let name = format!("{}_new", existing.get_database().expect("a name"));
        existing.database(&name)
    } else {
        cluster.create_empty_database("local").await
    };
    let url = format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().expect("a database name")
    );
    let report = pmp_api::roles::bootstrap_with_url(&url, true)
        .await
        .expect("the local bootstrap");
    assert!(report.reassigned.is_empty(), "{report:?}");
    let again = pmp_api::roles::bootstrap_with_url(&url, true)
        .await
        .expect("a second local bootstrap");
    assert!(again.created_roles.is_empty() && again.reassigned.is_empty());
    let migrated =
        pmp_api::migrations::run_with_options(&options, &Settings::DEFAULT, Some(MIGRATOR_ROLE))
            .await
            .expect("migrate through the administrator's URL as pmp_migrator");
    assert_eq!(migrated.applied, versions(&MIGRATOR));
    let mut admin = cluster.connect(&options).await;
    let owner: String = sqlx::query_scalar(
        "SELECT pg_get_userbyid(relowner)::text FROM pg_class WHERE relname = 'consent_event'",
    )
    .fetch_one(&mut admin)
    .await
    .expect("the owner");
    assert_eq!(owner, MIGRATOR_ROLE, "SET ROLE made the migrator the owner");
    // The function's URL in local mode (xtask local/postgres.rs `as_api_role`).
    let api_url = format!("{url}?options=-c%20role%3D{API_ROLE}");
    let mut api = <PgConnection as Connection>::connect(&api_url)
        .await
        .expect("sign in with the API's role");
    let role: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut api)
        .await
        .expect("current_user");
    assert_eq!(role, API_ROLE);
    fails_with(&mut api, "TRUNCATE consent_event", INSUFFICIENT_PRIVILEGE).await;
}
