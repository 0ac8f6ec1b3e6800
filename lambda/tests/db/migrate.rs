//! Applying the migrations: fresh database, re-runs, concurrent runners, failures, edited and missing migrations.

use std::sync::Arc;
use std::time::Duration;

use pmp_api::migrations::{MIGRATOR, MigrationError, Settings, run};
use pmp_api::roles::MIGRATOR_ROLE;

use crate::pg::Cluster;
use crate::support::{
    copied_migration, copy_migrations, migrator, recorded, table_exists, versions,
};

crate::tests!(
    fresh_database_gets_the_whole_schema,
    second_run_applies_nothing,
    concurrent_runners_apply_each_migration_once,
    failing_migration_is_rolled_back_and_named,
    edited_migration_is_detected,
    migration_missing_from_the_build_is_detected,
    embedded_migrations_match_the_directory,
);

const TABLES: &[&str] = &[
    "data_subject",
    "purpose",
    "topic",
    "channel",
    "consent_event",
    "preference",
];

async fn fresh_database_gets_the_whole_schema(cluster: Arc<Cluster>) {
    let options = cluster.as_role(&cluster.create_database("fresh").await, MIGRATOR_ROLE);
    let mut conn = cluster.connect(&options).await;
    for table in TABLES {
        assert!(
            !table_exists(&mut conn, table).await,
            "{table} exists before migrating"
        );
    }

    let report = run(&mut conn, &MIGRATOR, &Settings::DEFAULT)
        .await
        .expect("migrations apply to a fresh database");

    let all = versions(&MIGRATOR);
    assert_eq!(
        all.len(),
        5,
        "the four initial migrations and the API grants"
    );
    assert_eq!(report.applied, all);
    assert_eq!(report.current_version, all.last().copied());
    assert_eq!(
        recorded(&mut conn).await,
        all.iter().map(|v| (*v, true)).collect::<Vec<_>>()
    );
    for table in TABLES {
        assert!(
            table_exists(&mut conn, table).await,
            "{table} is missing after migrating"
        );
    }
}

async fn second_run_applies_nothing(cluster: Arc<Cluster>) {
    let options = cluster.as_role(&cluster.create_database("rerun").await, MIGRATOR_ROLE);
    let mut conn = cluster.connect(&options).await;
    let first = run(&mut conn, &MIGRATOR, &Settings::DEFAULT)
        .await
        .expect("first run");
    let second = run(&mut conn, &MIGRATOR, &Settings::DEFAULT)
        .await
        .expect("second run");
    assert!(
        second.applied.is_empty(),
        "second run applied {:?}",
        second.applied
    );
    assert_eq!(second.current_version, first.current_version);
    // From a new connection (a new function instance) too.
    let mut other = cluster.connect(&options).await;
    assert!(
        run(&mut other, &MIGRATOR, &Settings::DEFAULT)
            .await
            .expect("third run")
            .applied
            .is_empty()
    );
}

async fn concurrent_runners_apply_each_migration_once(cluster: Arc<Cluster>) {
    let options = cluster.as_role(&cluster.create_database("concurrent").await, MIGRATOR_ROLE);
    let mut a = cluster.connect(&options).await;
    let mut b = cluster.connect(&options).await;
    let mut c = cluster.connect(&options).await;

    let (ra, rb, rc) = tokio::join!(
        run(&mut a, &MIGRATOR, &Settings::DEFAULT),
        run(&mut b, &MIGRATOR, &Settings::DEFAULT),
        run(&mut c, &MIGRATOR, &Settings::DEFAULT)
    );
    let reports = [
        ra.expect("runner a"),
        rb.expect("runner b"),
        rc.expect("runner c"),
    ];

    let mut applied: Vec<i64> = reports
        .iter()
        .flat_map(|r| r.applied.iter().copied())
        .collect();
    applied.sort_unstable();
    assert_eq!(
        applied,
        versions(&MIGRATOR),
        "every migration applied by exactly one runner: {reports:?}"
    );
    for report in &reports {
        assert_eq!(report.current_version, versions(&MIGRATOR).last().copied());
    }
    assert_eq!(recorded(&mut a).await.len(), versions(&MIGRATOR).len());
}

async fn failing_migration_is_rolled_back_and_named(cluster: Arc<Cluster>) {
    let options = cluster.as_role(&cluster.create_database("failing").await, MIGRATOR_ROLE);
    let dir = tempfile::tempdir().expect("temporary directory");
    copy_migrations(dir.path());
    std::fs::write(
        dir.path().join("20991231000000_broken.sql"),
        "CREATE TABLE half_done (id int);\nINSERT INTO half_done VALUES (1);\nSELECT 1 / 0;\n",
    )
    .expect("write the broken migration");
    let broken = migrator(dir.path()).await;
    let mut conn = cluster.connect(&options).await;

    let error = run(&mut conn, &broken, &Settings::DEFAULT)
        .await
        .expect_err("the broken migration fails");

    assert!(
        matches!(
            error,
            MigrationError::Failed {
                version: 20991231000000,
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("20991231000000") && message.contains("division by zero"),
        "{message}"
    );
    assert!(
        !table_exists(&mut conn, "half_done").await,
        "the failed migration left its table behind"
    );
    let good = versions(&MIGRATOR);
    assert_eq!(
        recorded(&mut conn).await,
        good.iter().map(|v| (*v, true)).collect::<Vec<_>>()
    );

    // The failure released the advisory lock: the same session and another one can migrate at once.
    let again = tokio::time::timeout(
        Duration::from_secs(10),
        run(&mut conn, &MIGRATOR, &Settings::DEFAULT),
    )
    .await
    .expect("the lock was released on the failing connection")
    .expect("the good migrations still run");
    assert!(again.applied.is_empty());
    let mut other = cluster.connect(&options).await;
    tokio::time::timeout(
        Duration::from_secs(10),
        run(&mut other, &MIGRATOR, &Settings::DEFAULT),
    )
    .await
    .expect("another runner is not blocked by a leaked lock")
    .expect("another runner succeeds");
}

async fn edited_migration_is_detected(cluster: Arc<Cluster>) {
    let options = cluster.as_role(&cluster.create_database("edited").await, MIGRATOR_ROLE);
    let mut conn = cluster.connect(&options).await;
    run(&mut conn, &MIGRATOR, &Settings::DEFAULT)
        .await
        .expect("apply the real migrations");

    let dir = tempfile::tempdir().expect("temporary directory");
    copy_migrations(dir.path());
    let first = versions(&MIGRATOR)[0];
    let path = copied_migration(dir.path(), first);
    let mut sql = std::fs::read_to_string(&path).expect("read the first migration");
    sql.push_str("\n-- an innocent-looking edit\n");
    std::fs::write(&path, sql).expect("edit the first migration");

    let error = run(&mut conn, &migrator(dir.path()).await, &Settings::DEFAULT)
        .await
        .expect_err("an edited migration is refused");
    assert!(
        matches!(error, MigrationError::Modified(v) if v == first),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("changed after it was applied"),
        "{error}"
    );
}

async fn migration_missing_from_the_build_is_detected(cluster: Arc<Cluster>) {
    // An older build invoked after a newer one migrated: it must refuse, not run against a schema it does not know.
    let options = cluster.as_role(&cluster.create_database("missing").await, MIGRATOR_ROLE);
    let mut conn = cluster.connect(&options).await;
    run(&mut conn, &MIGRATOR, &Settings::DEFAULT)
        .await
        .expect("apply the real migrations");
    let dir = tempfile::tempdir().expect("temporary directory");
    copy_migrations(dir.path());
    let last = *versions(&MIGRATOR).last().expect("at least one migration");
    std::fs::remove_file(copied_migration(dir.path(), last)).expect("remove the newest migration");
    let error = run(&mut conn, &migrator(dir.path()).await, &Settings::DEFAULT)
        .await
        .expect_err("an older build is refused");
    assert!(
        matches!(error, MigrationError::Missing(v) if v == last),
        "{error:?}"
    );
}

async fn embedded_migrations_match_the_directory(_cluster: Arc<Cluster>) {
    // `migrate!` embeds at compile time; build.rs makes an edit rebuild. Same versions and checksums as on disk.
    let on_disk = migrator(&crate::support::migrations_dir()).await;
    let embedded: Vec<_> = MIGRATOR
        .iter()
        .map(|m| (m.version, m.checksum.clone()))
        .collect();
    let disk: Vec<_> = on_disk
        .iter()
        .map(|m| (m.version, m.checksum.clone()))
        .collect();
    assert_eq!(embedded, disk);
}
