//! What both store benchmarks share: a fresh SQLite file and, when `SYNCD_TEST_DATABASE_URL` is
//! set, a fresh PostgreSQL database, each migrated, handed to the benchmark and removed after.

use criterion::Criterion;
use sea_orm::ConnectionTrait;
use syncd_store_sea::{SeaStore, StoreOptions};
use tokio::runtime::Runtime;
use uuid::Uuid;

/// Runs `run` on SQLite, then on PostgreSQL if configured; `prefix` names the temporary file and
/// database.
pub fn on_each_backend(
    c: &mut Criterion,
    prefix: &str,
    run: impl Fn(&mut Criterion, &Runtime, &str, &SeaStore),
) {
    let rt = Runtime::new().unwrap();
    let path = std::env::temp_dir().join(format!("{prefix}-{}.db", Uuid::new_v4().simple()));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let store = rt.block_on(migrated(&url));
    run(c, &rt, "sqlite", &store);
    rt.block_on(store.close()).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.clone().into_os_string();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }

    let Ok(admin_url) = std::env::var("SYNCD_TEST_DATABASE_URL") else {
        eprintln!("postgres: skipped: SYNCD_TEST_DATABASE_URL not set");
        return;
    };
    let name = format!("{}_{}", prefix.replace('-', "_"), Uuid::new_v4().simple());
    let (admin, store) = rt.block_on(async {
        let admin = SeaStore::connect(&admin_url, StoreOptions::default())
            .await
            .unwrap();
        admin
            .connection()
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap();
        (admin, migrated(&database_url(&admin_url, &name)).await)
    });
    run(c, &rt, "postgres", &store);
    rt.block_on(async {
        store.close().await.unwrap();
        admin
            .connection()
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await
            .unwrap();
    });
}

async fn migrated(url: &str) -> SeaStore {
    let store = SeaStore::connect(url, StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

/// The admin URL with its database replaced by `name`.
fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = admin_url
        .split_once('?')
        .map_or((admin_url, None), |(b, q)| (b, Some(q)));
    let (scheme, rest) = base.split_once("://").unwrap();
    let authority = rest
        .split_once('/')
        .map_or(rest, |(authority, _)| authority);
    match query {
        Some(query) => format!("{scheme}://{authority}/{name}?{query}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}
