//! Two instances on one database, as two server processes: two pools contending for the tenant
//! lock. The cases are the contract's concurrency cases, given a second instance instead of the
//! same store twice.

use syncd_store_contract::cases::concurrency;
use syncd_store_sea::SeaStore;

use crate::harness::second_instance;

async fn concurrent_writers_and_cursor_readers_see_every_change_once_in_order(
    store: SeaStore,
    url: String,
) {
    let other = second_instance(&url).await;
    concurrency::concurrent_writers_and_cursor_readers_see_every_change_once_in_order(
        &store, &other,
    )
    .await;
    other.close().await.unwrap();
}

async fn read_modify_writes_from_two_instances_lose_no_update(store: SeaStore, url: String) {
    let other = second_instance(&url).await;
    concurrency::read_modify_writes_from_two_instances_lose_no_update(&store, &other).await;
    other.close().await.unwrap();
}

on_both_backends!(
    plain: [],
    with_url: [
        read_modify_writes_from_two_instances_lose_no_update,
        concurrent_writers_and_cursor_readers_see_every_change_once_in_order,
    ],
);
