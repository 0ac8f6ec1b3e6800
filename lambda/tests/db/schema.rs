//! The schema's rules, enforced by the database itself: append-only history, derived current choices, constraints.

use std::sync::Arc;

use pmp_api::migrations::{MIGRATOR, Settings, run};
use pmp_api::roles::MIGRATOR_ROLE;
use sqlx::{Connection, Executor, PgConnection, Row};

use crate::pg::Cluster;
use crate::support::fails_with;

crate::tests!(
    consent_history_is_append_only,
    current_choice_follows_the_latest_event,
    subjects_have_one_clean_reference,
    purposes_topics_and_channels_are_validated,
    consent_events_are_validated,
    retried_events_are_deduplicated_per_source,
    history_keeps_its_subjects_and_topics,
);

const UNIQUE: &str = "23505";
const CHECK: &str = "23514";
const FOREIGN_KEY: &str = "23503";
const NOT_NULL: &str = "23502";
const RESTRICT: &str = "23001";

/// A migrated database with one person, a `marketing` purpose and its `newsletter` topic.
async fn migrated(cluster: &Cluster, label: &str) -> PgConnection {
    let options = cluster.create_database(label).await;
    let mut migrator = cluster
        .connect(&cluster.as_role(&options, MIGRATOR_ROLE))
        .await;
    run(&mut migrator, &MIGRATOR, &Settings::DEFAULT)
        .await
        .expect("migrate");
    migrator
        .close()
        .await
        .expect("close the migrator's connection");
    let mut conn = cluster.connect(&options).await;
    conn.execute(
        "INSERT INTO data_subject (id, external_ref) VALUES ('00000000-0000-4000-8000-000000000001', 'crm-1');
         INSERT INTO purpose (code, name, legal_basis) VALUES ('marketing', 'Marketing', 'consent');
         INSERT INTO topic (purpose_id, code, name)
             SELECT id, 'newsletter', 'Newsletter' FROM purpose WHERE code = 'marketing';",
    )
    .await
    .expect("fixtures");
    conn
}

/// Records a consent event for the fixture person and topic; returns its id.
async fn record(conn: &mut PgConnection, choice: &str, occurred_at: &str) -> i64 {
    sqlx::query(
        "INSERT INTO consent_event (subject_id, topic_id, channel, choice, occurred_at, source)
         SELECT '00000000-0000-4000-8000-000000000001', id, 'email', $1, $2::timestamptz, 'web.preference_centre'
         FROM topic WHERE code = 'newsletter'
         RETURNING id",
    )
    .bind(choice)
    .bind(occurred_at)
    .fetch_one(conn)
    .await
    .expect("record a consent event")
    .get(0)
}

async fn consent_history_is_append_only(cluster: Arc<Cluster>) {
    let mut conn = migrated(&cluster, "append_only").await;
    let id = record(&mut conn, "granted", "2026-01-01T10:00:00Z").await;

    let message = fails_with(
        &mut conn,
        &format!("UPDATE consent_event SET choice = 'denied' WHERE id = {id}"),
        RESTRICT,
    )
    .await;
    assert!(message.contains("append-only"), "{message}");
    fails_with(
        &mut conn,
        &format!("DELETE FROM consent_event WHERE id = {id}"),
        RESTRICT,
    )
    .await;
    fails_with(&mut conn, "TRUNCATE consent_event CASCADE", RESTRICT).await;
    // Statement level: even a statement that matches no row is refused, so such code cannot hide in a code path.
    fails_with(&mut conn, "DELETE FROM consent_event WHERE false", RESTRICT).await;

    let row = sqlx::query("SELECT choice, count(*) OVER () FROM consent_event")
        .fetch_one(&mut conn)
        .await
        .expect("read");
    assert_eq!(row.get::<String, _>(0), "granted");
    assert_eq!(row.get::<i64, _>(1), 1);
}

async fn current_choice_follows_the_latest_event(cluster: Arc<Cluster>) {
    let mut conn = migrated(&cluster, "preference").await;

    let granted = record(&mut conn, "granted", "2026-01-01T10:00:00Z").await;
    assert_eq!(
        current(&mut conn).await,
        vec![("granted".to_owned(), granted)]
    );

    let denied = record(&mut conn, "denied", "2026-02-01T10:00:00Z").await;
    assert_eq!(
        current(&mut conn).await,
        vec![("denied".to_owned(), denied)]
    );

    // A late arrival (an import, a retry) of an older choice does not overwrite the newer one...
    record(&mut conn, "granted", "2026-01-15T10:00:00Z").await;
    assert_eq!(
        current(&mut conn).await,
        vec![("denied".to_owned(), denied)]
    );
    // ...but at the same instant, the later-recorded event wins.
    let tie = record(&mut conn, "granted", "2026-02-01T10:00:00Z").await;
    assert_eq!(current(&mut conn).await, vec![("granted".to_owned(), tie)]);

    // Nothing but the history writes the current choice.
    let message = fails_with(
        &mut conn,
        "UPDATE preference SET choice = 'denied'",
        RESTRICT,
    )
    .await;
    assert!(message.contains("derived from consent_event"), "{message}");
    fails_with(&mut conn, "DELETE FROM preference", RESTRICT).await;
    fails_with(&mut conn, "TRUNCATE preference", RESTRICT).await;
    fails_with(
        &mut conn,
        &format!(
            "INSERT INTO preference (subject_id, topic_id, channel, choice, occurred_at, event_id)
             SELECT '00000000-0000-4000-8000-000000000001', id, 'sms', 'granted', now(), {tie} FROM topic"
        ),
        RESTRICT,
    )
    .await;
    assert_eq!(current(&mut conn).await, vec![("granted".to_owned(), tie)]);

    let history: i64 = sqlx::query("SELECT count(*) FROM consent_event")
        .fetch_one(&mut conn)
        .await
        .expect("count")
        .get(0);
    assert_eq!(history, 4, "every event stays in the history");
}

/// `(choice, event_id)` of every current preference.
async fn current(conn: &mut PgConnection) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT choice, event_id FROM preference")
        .fetch_all(conn)
        .await
        .expect("read preference")
}

async fn subjects_have_one_clean_reference(cluster: Arc<Cluster>) {
    let mut conn = migrated(&cluster, "subjects").await;
    fails_with(
        &mut conn,
        "INSERT INTO data_subject (external_ref) VALUES ('crm-1')",
        UNIQUE,
    )
    .await;
    fails_with(
        &mut conn,
        "INSERT INTO data_subject (external_ref) VALUES (' crm-2')",
        CHECK,
    )
    .await;
    fails_with(
        &mut conn,
        "INSERT INTO data_subject (external_ref) VALUES ('')",
        CHECK,
    )
    .await;
    fails_with(
        &mut conn,
        &format!(
            "INSERT INTO data_subject (external_ref) VALUES ('{}')",
            "x".repeat(201)
        ),
        CHECK,
    )
    .await;
    fails_with(
        &mut conn,
        "INSERT INTO data_subject (external_ref) VALUES (NULL)",
        NOT_NULL,
    )
    .await;
    conn.execute("INSERT INTO data_subject (external_ref) VALUES ('crm-2')")
        .await
        .expect("a new reference is fine");
}

async fn purposes_topics_and_channels_are_validated(cluster: Arc<Cluster>) {
    let mut conn = migrated(&cluster, "catalogue").await;
    fails_with(
        &mut conn,
        "INSERT INTO purpose (code, name, legal_basis) VALUES ('marketing', 'Again', 'consent')",
        UNIQUE,
    )
    .await;
    fails_with(
        &mut conn,
        "INSERT INTO purpose (code, name, legal_basis) VALUES ('Bad Code', 'X', 'consent')",
        CHECK,
    )
    .await;
    fails_with(
        &mut conn,
        "INSERT INTO purpose (code, name, legal_basis) VALUES ('profiling', 'X', 'because')",
        CHECK,
    )
    .await;
    fails_with(
        &mut conn,
        "INSERT INTO purpose (code, name, legal_basis) VALUES ('profiling', '  ', 'consent')",
        CHECK,
    )
    .await;
    fails_with(
        &mut conn,
        "INSERT INTO topic (purpose_id, code, name) VALUES (999999, 'x', 'X')",
        FOREIGN_KEY,
    )
    .await;
    fails_with(
        &mut conn,
        "INSERT INTO topic (purpose_id, code, name) SELECT id, 'newsletter', 'Again' FROM purpose WHERE code = 'marketing'",
        UNIQUE,
    )
    .await;
    // The same topic code under another purpose is a different topic.
    conn.execute(
        "INSERT INTO purpose (code, name, legal_basis) VALUES ('service', 'Service messages', 'contract');
         INSERT INTO topic (purpose_id, code, name) SELECT id, 'newsletter', 'Service newsletter' FROM purpose WHERE code = 'service';",
    )
    .await
    .expect("topic codes are unique per purpose only");
    let channels: Vec<(String,)> = sqlx::query_as("SELECT code FROM channel ORDER BY code")
        .fetch_all(&mut conn)
        .await
        .expect("channels");
    let channels: Vec<String> = channels.into_iter().map(|(code,)| code).collect();
    assert_eq!(channels, ["email", "phone", "post", "push", "sms"]);
}

async fn consent_events_are_validated(cluster: Arc<Cluster>) {
    let mut conn = migrated(&cluster, "events").await;
    let insert = |channel: &str, choice: &str, occurred_at: &str, source: &str, extra: &str| {
        format!(
            "INSERT INTO consent_event (subject_id, topic_id, channel, choice, occurred_at, source{cols})
             SELECT '00000000-0000-4000-8000-000000000001', id, '{channel}', '{choice}', {occurred_at}, '{source}'{vals}
             FROM topic WHERE code = 'newsletter'",
            cols = if extra.is_empty() { String::new() } else { format!(", {}", extra.split_once('=').map_or("", |p| p.0)) },
            vals = if extra.is_empty() { String::new() } else { format!(", {}", extra.split_once('=').map_or("", |p| p.1)) },
        )
    };
    fails_with(
        &mut conn,
        &insert("fax", "granted", "now()", "web", ""),
        FOREIGN_KEY,
    )
    .await;
    fails_with(
        &mut conn,
        &insert("email", "maybe", "now()", "web", ""),
        CHECK,
    )
    .await;
    fails_with(
        &mut conn,
        &insert("email", "granted", "now() + interval '1 hour'", "web", ""),
        CHECK,
    )
    .await;
    fails_with(
        &mut conn,
        &insert("email", "granted", "now()", "Web Form", ""),
        CHECK,
    )
    .await;
    fails_with(
        &mut conn,
        &insert(
            "email",
            "granted",
            "now()",
            "web",
            "evidence='[1, 2]'::jsonb",
        ),
        CHECK,
    )
    .await;
    fails_with(
        &mut conn,
        &insert("email", "granted", "now()", "web", "actor=' agent-7 '"),
        CHECK,
    )
    .await;
    fails_with(
        &mut conn,
        &insert("email", "granted", "now()", "web", "idempotency_key=''"),
        CHECK,
    )
    .await;
    fails_with(
        &mut conn,
        "INSERT INTO consent_event (subject_id, topic_id, channel, choice, occurred_at, source)
         SELECT gen_random_uuid(), id, 'email', 'granted', now(), 'web' FROM topic",
        FOREIGN_KEY,
    )
    .await;
    // Within the clock-skew allowance, with evidence and an agent: accepted.
    conn.execute(
        insert(
            "email",
            "granted",
            "now() + interval '1 minute'",
            "call_centre",
            "evidence='{\"script\": \"v3\"}'::jsonb",
        )
        .as_str(),
    )
    .await
    .expect("a valid event is accepted");
    conn.execute(insert("sms", "denied", "now()", "call_centre", "actor='agent-7'").as_str())
        .await
        .expect("an event recorded by an agent is accepted");
}

async fn retried_events_are_deduplicated_per_source(cluster: Arc<Cluster>) {
    let mut conn = migrated(&cluster, "idempotency").await;
    let insert = |source: &str| {
        format!(
            "INSERT INTO consent_event (subject_id, topic_id, channel, choice, occurred_at, source, idempotency_key)
             SELECT '00000000-0000-4000-8000-000000000001', id, 'email', 'granted', now(), '{source}', 'req-42'
             FROM topic WHERE code = 'newsletter'"
        )
    };
    conn.execute(insert("web").as_str())
        .await
        .expect("first delivery");
    fails_with(&mut conn, &insert("web"), UNIQUE).await;
    conn.execute(insert("mobile_app").as_str())
        .await
        .expect("the same key from another source is another event");
}

async fn history_keeps_its_subjects_and_topics(cluster: Arc<Cluster>) {
    let mut conn = migrated(&cluster, "references").await;
    record(&mut conn, "granted", "2026-01-01T10:00:00Z").await;
    // Erasure of a person is a deliberate future migration (pseudonymisation), never a side effect of a DELETE.
    fails_with(
        &mut conn,
        "DELETE FROM data_subject WHERE external_ref = 'crm-1'",
        FOREIGN_KEY,
    )
    .await;
    fails_with(
        &mut conn,
        "DELETE FROM topic WHERE code = 'newsletter'",
        FOREIGN_KEY,
    )
    .await;
    fails_with(
        &mut conn,
        "DELETE FROM channel WHERE code = 'email'",
        FOREIGN_KEY,
    )
    .await;
}
