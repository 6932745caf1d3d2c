//! PostgreSQL's planner statistics follow the data the store writes.

use sea_orm::ConnectionTrait;
use syncd_store_contract::fixtures;

use crate::harness;

/// PostgreSQL only: a tenant the planner statistics do not know is planned as one row, and the
/// lookups of a push then read the whole tenant. The store analyses in the background when a
/// tenant's writes double from 1 000, not only when its own writes do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_growing_tenant_gets_into_the_planner_statistics() {
    harness::on_postgres(|store, _| async move {
        let known = |tenant: &'static str| {
            let store = store.clone();
            async move {
                // Bounded wait for the background ANALYZE.
                for _ in 0..200 {
                    let row = store
                        .connection()
                        .query_one_raw(sea_orm::Statement::from_string(
                            sea_orm::DbBackend::Postgres,
                            format!(
                                "SELECT count(*) FROM pg_stats WHERE schemaname = \
                                 current_schema() AND tablename = 'records' AND attname = \
                                 'tenant_id' AND most_common_vals::text LIKE '%{tenant}%'"
                            ),
                        ))
                        .await
                        .unwrap()
                        .unwrap();
                    if row.try_get_by_index::<i64>(0).unwrap() > 0 {
                        return true;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                false
            }
        };
        // 2 000 records: the store's own writes cross 1 000 and 2 000.
        fixtures::create_many(&store, &fixtures::tenant("first"), "things", 2000).await;
        assert!(known("first").await, "the first tenant never got analysed");
        // 1 000 more for a new tenant: the store's writes go from 2 000 to 3 000 (no store-wide
        // doubling), the tenant's from 0 to 1 000.
        fixtures::create_many(&store, &fixtures::tenant("second"), "things", 1000).await;
        assert!(
            known("second").await,
            "a tenant that reached 1 000 records was not analysed"
        );
    })
    .await;
}
