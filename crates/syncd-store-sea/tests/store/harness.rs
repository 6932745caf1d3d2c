//! A fresh database per test: a temporary SQLite file always, a PostgreSQL database of its own
//! when `SYNCD_TEST_DATABASE_URL` names an admin connection (dropped at the end, also when the
//! case panics).

use std::future::Future;
use std::path::PathBuf;

use sea_orm::ConnectionTrait;
use syncd_store_sea::{SeaStore, StoreOptions};
use uuid::Uuid;

pub const PG_ENV: &str = "SYNCD_TEST_DATABASE_URL";

pub fn options() -> StoreOptions {
    StoreOptions {
        max_connections: 8,
        ..StoreOptions::default()
    }
}

/// Runs `case` on a migrated store over a new SQLite file, then removes the file. The case
/// also gets the URL, to open a second store (a second instance) on the same database.
pub async fn on_sqlite<F, Fut>(case: F)
where
    F: FnOnce(SeaStore, String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let path: PathBuf =
        std::env::temp_dir().join(format!("syncd-store-test-{}.db", Uuid::new_v4().simple()));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let store = SeaStore::connect(&url, options()).await.unwrap();
    store.migrate().await.unwrap();
    let outcome = tokio::spawn(case(store.clone(), url)).await;
    let _ = store.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.clone().into_os_string();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
    finish(outcome);
}

/// Runs `case` on a migrated store over a new PostgreSQL database, then drops it. Without
/// `SYNCD_TEST_DATABASE_URL` it says so on stderr and does nothing.
pub async fn on_postgres<F, Fut>(case: F)
where
    F: FnOnce(SeaStore, String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Ok(admin_url) = std::env::var(PG_ENV) else {
        // Straight to the stderr handle: libtest captures `eprintln!` of passing tests, and a
        // skip must never look like a pass.
        use std::io::Write;
        let test = std::thread::current().name().unwrap_or("?").to_owned();
        let _ = writeln!(std::io::stderr(), "skipped: {PG_ENV} not set ({test})");
        return;
    };
    let name = format!("syncd_t_{}", Uuid::new_v4().simple());
    let admin = SeaStore::connect(&admin_url, StoreOptions::default())
        .await
        .unwrap();
    admin
        .connection()
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    let url = database_url(&admin_url, &name);
    let store = SeaStore::connect(&url, options()).await.unwrap();
    store.migrate().await.unwrap();
    let outcome = tokio::spawn(case(store.clone(), url)).await;
    let _ = store.close().await;
    let dropped = admin
        .connection()
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await;
    let _ = admin.close().await;
    finish(outcome);
    dropped.unwrap();
}

/// [`on_sqlite`] for the contract suite, whose cases take the store only.
pub async fn sqlite<F, Fut>(case: F)
where
    F: FnOnce(SeaStore) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    on_sqlite(|store, _| case(store)).await;
}

/// [`on_postgres`] for the contract suite, whose cases take the store only.
pub async fn postgres<F, Fut>(case: F)
where
    F: FnOnce(SeaStore) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    on_postgres(|store, _| case(store)).await;
}

/// A second store on the database of `url`: another pool, as a second server process has.
pub async fn second_instance(url: &str) -> SeaStore {
    SeaStore::connect(url, options()).await.unwrap()
}

/// The admin URL with its database replaced by `name`.
pub fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    let (scheme, rest) = base.split_once("://").unwrap();
    let authority = rest
        .split_once('/')
        .map_or(rest, |(authority, _)| authority);
    let mut url = format!("{scheme}://{authority}/{name}");
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

fn finish(outcome: Result<(), tokio::task::JoinError>) {
    if let Err(err) = outcome {
        match err.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(err) => panic!("test task failed: {err}"),
        }
    }
}

#[test]
fn the_test_database_url_keeps_credentials_and_parameters() {
    assert_eq!(
        database_url("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        database_url("postgres://u:p@h/db?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(database_url("postgres://h", "x"), "postgres://h/x");
}
