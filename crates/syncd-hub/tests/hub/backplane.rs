//! Several instances on one PostgreSQL database (only when `SYNCD_TEST_DATABASE_URL` names an
//! admin connection; each test gets a database of its own, dropped at the end).

use super::*;

mod postgres {
    use std::str::FromStr;

    use sqlx::PgPool;
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    use syncd_hub::PgBackplane;

    use super::*;

    const PG_ENV: &str = "SYNCD_TEST_DATABASE_URL";

    /// A fresh database on the server of `SYNCD_TEST_DATABASE_URL`; dropped by `finish`.
    struct Database {
        admin: PgPool,
        name: String,
        options: PgConnectOptions,
    }

    impl Database {
        async fn create() -> Option<Database> {
            let Ok(url) = std::env::var(PG_ENV) else {
                eprintln!("skipped: {PG_ENV} not set");
                return None;
            };
            let admin_options = PgConnectOptions::from_str(&url).unwrap();
            let admin = PgPoolOptions::new()
                .max_connections(2)
                .connect_with(admin_options.clone())
                .await
                .unwrap();
            let name = format!("syncd_hub_{}", uuid::Uuid::new_v4().simple());
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&admin)
                .await
                .unwrap();
            let options = admin_options.database(&name);
            Some(Database {
                admin,
                name,
                options,
            })
        }

        async fn pool(&self) -> PgPool {
            PgPoolOptions::new()
                .max_connections(2)
                .connect_with(self.options.clone())
                .await
                .unwrap()
        }

        /// Cuts every connection to the database, as a failover or a restart would.
        async fn cut_connections(&self) -> i64 {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1",
            )
            .bind(&self.name)
            .fetch_one(&self.admin)
            .await
            .unwrap()
        }

        async fn finish(&self) {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            )))
            .execute(&self.admin)
            .await
            .unwrap();
            self.admin.close().await;
        }
    }

    /// Runs `case` on a fresh database and drops the database afterwards, even when the case
    /// fails. Without `SYNCD_TEST_DATABASE_URL` it says so on stderr and does nothing.
    async fn on_postgres<F, Fut>(case: F)
    where
        F: FnOnce(Arc<Database>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Some(db) = Database::create().await else {
            return;
        };
        let db = Arc::new(db);
        let outcome = tokio::spawn(case(Arc::clone(&db))).await;
        db.finish().await;
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    }

    /// An instance: a hub whose local events go to the others through the database, and
    /// whose remote events' records are read from `records`.
    async fn instance_with(
        db: &Database,
        records: Arc<dyn RecordSource>,
    ) -> (Arc<Hub>, Arc<PgBackplane>) {
        let listening = PgBackplane::listen(db.pool().await).await.unwrap();
        let mut started = None;
        let hub = Hub::connected(HubConfig::default(), records, |hub| {
            let backplane = listening.start(hub);
            started = Some(backplane.clone());
            backplane
        });
        (hub, started.unwrap())
    }

    async fn instance(db: &Database) -> (Arc<Hub>, Arc<PgBackplane>) {
        let nothing = Arc::new(Records {
            records: Vec::new(),
            asked: Mutex::new(Vec::new()),
        });
        instance_with(db, nothing).await
    }

    async fn next_messages(conn: &Connection) -> Vec<Value> {
        let batch = tokio::time::timeout(Duration::from_secs(10), conn.next_batch())
            .await
            .expect("a message within 10 s");
        batch.iter().map(|i| parse(bytes_of(i))).collect()
    }

    /// Reads until `n` messages have arrived.
    async fn collect(conn: &Connection, n: usize) -> Vec<Value> {
        let mut got = Vec::new();
        while got.len() < n {
            got.extend(next_messages(conn).await);
        }
        got
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_push_on_instance_a_reaches_the_clients_of_instance_b_with_data_read_on_b() {
        on_postgres(|db| async move {
            let mut write = event("acme", "app-1", 20, &[("end_user", 2), ("notes", 1)]);
            let id = RecordId::new_v7();
            write.status_updates.push(StatusUpdate {
                entity_type: ty("end_user"),
                id,
                status: SyncStatus::Conflict,
                rule_fields: serde_json::Map::new(),
            });
            let source = Arc::new(Records {
                records: write.records.clone(),
                asked: Mutex::new(Vec::new()),
            });
            let (hub_a, a) = instance(&db).await;
            let (hub_b, b) = instance_with(&db, source.clone()).await;
            assert_ne!(a.instance(), b.instance());
            let on_a = connect(&hub_a, "acme", "app-2");
            let on_b = connect(&hub_b, "acme", "app-3");
            on_b.subscribe(Some(vec![ty("end_user")]), true).unwrap();
            let writer_on_b = connect(&hub_b, "acme", "app-1");
            let other_tenant_on_b = connect(&hub_b, "globex", "app-3");

            hub_a.publish(Arc::new(write));

            let got = collect(&on_b, 4).await;
            let kinds: Vec<&str> = got.iter().map(|m| m["type"].as_str().unwrap()).collect();
            assert_eq!(
                kinds,
                [
                    "sync_notification",
                    "sync_status_update",
                    "data_update",
                    "data_update"
                ]
            );
            assert_eq!(
                got[0]["data"],
                notification("new_data_available", &["end_user"], 2, 20, "app-1")
            );
            assert_eq!(
                got[1]["data"],
                json!({ "entityType": "end_user", "id": id.to_string(), "status": "conflict" })
            );
            assert_eq!(
                got[2]["data"],
                data_update("end_user", "create", 18, "app-1")
            );
            assert_eq!(
                got[3]["data"],
                data_update("end_user", "create", 19, "app-1")
            );
            let asked = source.asked.lock().unwrap().clone();
            assert_eq!(
                asked,
                [(
                    tenant("acme"),
                    Seq(17),
                    Seq(20),
                    vec![ty("end_user"), ty("notes")]
                )]
            );
            let got = collect(&writer_on_b, 2).await;
            assert_eq!(
                got[0]["data"],
                notification("sync_complete", &["end_user", "notes"], 3, 20, "app-1"),
                "the writer's connections on other instances get sync_complete too"
            );

            // A round trip later, instance A has not delivered its own event a second time and
            // the other tenant heard nothing.
            hub_b.publish(Arc::new(event("acme", "app-9", 21, &[("notes", 1)])));
            let got = collect(&on_a, 3).await;
            assert_eq!(got.len(), 3, "{got:#?}");
            assert_eq!(got[0]["data"]["cursor"], cursor(20));
            assert_eq!(got[1]["type"], "sync_status_update");
            assert_eq!(got[2]["data"]["cursor"], cursor(21));
            assert!(take(&other_tenant_on_b).is_empty());
            assert_eq!(hub_a.stats().events, 2);
            assert_eq!(hub_b.stats().events, 2);

            drop((on_a, on_b, writer_on_b, other_tenant_on_b));
            drop((a, b, hub_a, hub_b));
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn when_the_listener_loses_its_connection_every_client_is_told_to_resync() {
        on_postgres(|db| async move {
            let (hub_a, a) = instance(&db).await;
            let (hub_b, b) = instance(&db).await;
            let on_b = connect(&hub_b, "acme", "app-3");
            hub_a.publish(Arc::new(event("acme", "app-1", 1, &[("end_user", 1)])));
            assert_eq!(next_messages(&on_b).await[0]["type"], "sync_notification");

            assert!(db.cut_connections().await >= 2, "at least both listeners");

            let got = next_messages(&on_b).await;
            assert_eq!(got[0]["type"], "resync_required", "{got:#?}");
            assert_eq!(got[0]["data"]["cursor"], cursor(1));
            // Listening again: later events cross once more (the sender's pool reconnects too).
            let mut head = 1;
            let got = loop {
                head += 1;
                hub_a.publish(Arc::new(event("acme", "app-1", head, &[("end_user", 1)])));
                if let Ok(batch) =
                    tokio::time::timeout(Duration::from_millis(500), on_b.next_batch()).await
                {
                    break batch.iter().map(|i| parse(bytes_of(i))).collect::<Vec<_>>();
                }
                assert!(head < 40, "events never crossed again");
            };
            assert_eq!(got[0]["type"], "sync_notification", "{got:#?}");

            drop(on_b);
            drop((a, b, hub_a, hub_b));
        })
        .await;
    }
}
