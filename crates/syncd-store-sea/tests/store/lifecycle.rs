//! What a store's life brings: migrations and readiness, a closed pool, an in-memory database,
//! URLs that cannot work.

use syncd_migrations::{Migrator, MigratorTrait};
use syncd_store::{Store, StoreError};
use syncd_store_contract::fixtures::*;
use syncd_store_sea::{SeaStore, StoreOptions};

use crate::harness;

async fn ping_checks_that_the_database_is_migrated(store: SeaStore) {
    store.ping().await.unwrap();
    // Running the migrations again, even concurrently, is harmless.
    let (a, b) = tokio::join!(store.migrate(), store.migrate());
    a.unwrap();
    b.unwrap();
    store.ping().await.unwrap();
    Migrator::down(store.connection(), None).await.unwrap();
    let err = store.ping().await.unwrap_err();
    assert!(matches!(err, StoreError::Internal(_)), "{err:?}");
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
}

/// After `close`, every call is `Unavailable` (retry later), not an internal error.
async fn a_closed_pool_is_unavailable(store: SeaStore) {
    let t = tenant("acme");
    store.close().await.unwrap();
    let err = store.head(&t).await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    let err = store.begin_write(&t).await.err().unwrap();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(store.ping().await.unwrap_err().is_unavailable());
}

on_both_backends!(
    plain: [
        ping_checks_that_the_database_is_migrated,
        a_closed_pool_is_unavailable,
    ],
    with_url: [],
);

/// SQLite only: an in-memory database lives as long as the store and works with one connection.
#[tokio::test]
async fn an_in_memory_sqlite_database_keeps_its_data_for_the_life_of_the_store() {
    let store = SeaStore::connect("sqlite::memory:", harness::options())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let t = tenant("acme");
    let written = create_many(&store, &t, "things", 3).await;
    let page = store
        .changes(
            &t,
            &syncd_store::ChangesQuery {
                since: syncd_store::Since::Seq(syncd_model::Seq::ZERO),
                entity_types: Vec::new(),
                limit: 10,
                visibility: Vec::new(),
            },
        )
        .await
        .unwrap();
    assert_eq!(page.records, written);
    store.ping().await.unwrap();
}

/// An unknown URL scheme is refused without echoing the URL (it may hold a password).
#[tokio::test]
async fn an_unsupported_database_url_is_refused_without_echoing_it() {
    let err = SeaStore::connect("mysql://root:hunter2@db/x", Default::default())
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("hunter2"));
}

/// A database that refuses connections is `Unavailable` (retry later); a URL the driver cannot
/// use is not.
#[tokio::test]
async fn a_refused_connection_is_unavailable_and_a_bad_url_is_not() {
    let options = StoreOptions {
        acquire_timeout: std::time::Duration::from_secs(2),
        ..Default::default()
    };
    let err = SeaStore::connect("postgres://postgres@127.0.0.1:1/x", options.clone())
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    let err = SeaStore::connect("sqlite://x.db?mode=sideways", options)
        .await
        .unwrap_err();
    assert!(!err.is_unavailable(), "{err:?}");
}
