//! The contract of `syncd_store::Store`, run against SQLite always (a fresh temporary file per
//! test) and against PostgreSQL when `SYNCD_TEST_DATABASE_URL` names an admin connection (a
//! fresh database per test, dropped at the end).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness {
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
}

/// Builders shared by the cases.
mod fixtures {
    use serde_json::{Map, Value};
    use syncd_model::{
        ClientId, EntityTypeName, Record, RecordId, Seq, SubjectId, SyncStatus, TenantId,
        Timestamp, Version,
    };
    use syncd_store::{RecordKey, RecordWrite, Store, WriteBatch, WriteKind};
    use syncd_store_sea::SeaStore;

    pub fn tenant(name: &str) -> TenantId {
        TenantId::parse(name).unwrap()
    }

    pub fn ty(name: &str) -> EntityTypeName {
        EntityTypeName::parse(name).unwrap()
    }

    pub fn client() -> ClientId {
        ClientId::parse("device-1").unwrap()
    }

    pub fn subject() -> SubjectId {
        SubjectId::parse("user-1").unwrap()
    }

    pub fn obj(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    pub fn key(entity_type: &str, id: RecordId) -> RecordKey {
        RecordKey::new(ty(entity_type), id)
    }

    pub fn at(millis: i64) -> Timestamp {
        Timestamp::from_millis(millis)
    }

    /// What a test asks to write: a record's new data, or its deletion.
    pub enum Op {
        Put(RecordKey, Map<String, Value>),
        Delete(RecordKey),
    }

    pub fn put(entity_type: &str, id: RecordId, data: Value) -> Op {
        Op::Put(key(entity_type, id), obj(data))
    }

    /// Applies `ops` in one write transaction, like the engine does: lock, load, allocate seqs,
    /// write, commit. Returns the written states.
    pub async fn apply(store: &SeaStore, tenant: &TenantId, ops: Vec<Op>) -> Vec<Record> {
        apply_with(store, tenant, ops, SyncStatus::Synced, Timestamp::now()).await
    }

    pub async fn apply_with(
        store: &SeaStore,
        tenant: &TenantId,
        ops: Vec<Op>,
        status: SyncStatus,
        now: Timestamp,
    ) -> Vec<Record> {
        let keys: Vec<RecordKey> = ops
            .iter()
            .map(|op| match op {
                Op::Put(k, _) | Op::Delete(k) => k.clone(),
            })
            .collect();
        let (mut tx, loaded) = store
            .begin_write_and_load(tenant, &keys, &[])
            .await
            .unwrap();
        let mut current: std::collections::HashMap<RecordKey, Record> = loaded
            .records
            .into_iter()
            .map(|r| (RecordKey::new(r.entity_type.clone(), r.id), r))
            .collect();
        let mut batch = WriteBatch::new(client(), subject(), now);
        for op in ops {
            let (k, data, deleted) = match op {
                Op::Put(k, data) => (k, Some(data), false),
                Op::Delete(k) => (k, None, true),
            };
            let before = current.get(&k).cloned();
            let seq = tx.next_seq();
            let (kind, version, created_at, old_data) = match &before {
                None => (WriteKind::Create, Version::INITIAL, now, Map::new()),
                Some(r) => (
                    if deleted {
                        WriteKind::Delete
                    } else {
                        WriteKind::Update
                    },
                    r.version.next(),
                    r.created_at,
                    r.data.clone(),
                ),
            };
            let data = data.unwrap_or_else(|| old_data.clone());
            let changed_fields = data
                .iter()
                .filter(|(f, v)| old_data.get(*f) != Some(*v))
                .map(|(f, _)| f.clone())
                .collect();
            let record = Record {
                entity_type: k.entity_type.clone(),
                id: k.id,
                version,
                seq,
                data,
                deleted,
                sync_status: status,
                created_at,
                updated_at: now,
                edited_at: now,
            };
            current.insert(k, record.clone());
            batch.records.push(RecordWrite {
                record,
                kind,
                changed_fields,
            });
        }
        let written: Vec<Record> = batch.records.iter().map(|w| w.record.clone()).collect();
        tx.write(&batch).await.unwrap();
        tx.commit().await.unwrap();
        written
    }

    /// Creates `n` records of `entity_type` in one transaction.
    pub async fn create_many(
        store: &SeaStore,
        tenant: &TenantId,
        entity_type: &str,
        n: usize,
    ) -> Vec<Record> {
        let ops = (0..n)
            .map(|i| {
                put(
                    entity_type,
                    RecordId::new_v7(),
                    serde_json::json!({ "n": i }),
                )
            })
            .collect();
        apply(store, tenant, ops).await
    }

    pub fn ids(records: &[Record]) -> Vec<RecordId> {
        records.iter().map(|r| r.id).collect()
    }

    pub fn seqs(records: &[Record]) -> Vec<Seq> {
        records.iter().map(|r| r.seq).collect()
    }
}

mod cases {
    use std::collections::{BTreeSet, HashSet};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use sea_orm::ConnectionTrait;
    use serde_json::json;
    use syncd_migrations::{Migrator, MigratorTrait};
    use syncd_model::{
        ClientId, PendingCondition, Record, RecordId, Seq, SyncStatus, Timestamp, Version,
    };
    use syncd_store::{
        ChangesQuery, ConflictEntry, ConflictStatus, IdempotencyEntry, ListQuery, PushAudit,
        RecordKey, RecordWrite, Since, Store, StoreError, WriteBatch, WriteKind,
    };
    use syncd_store_sea::SeaStore;
    use uuid::Uuid;

    use crate::fixtures::*;

    fn since(seq: i64, types: &[&str], limit: usize) -> ChangesQuery {
        ChangesQuery {
            since: Since::Seq(Seq(seq)),
            entity_types: types.iter().map(|t| ty(t)).collect(),
            limit,
        }
    }

    fn list_query(entity_type: &str) -> ListQuery {
        ListQuery {
            entity_type: ty(entity_type),
            filters: Vec::new(),
            search: None,
            include_deleted: false,
            after: Seq::ZERO,
            limit: 100,
        }
    }

    pub async fn a_record_round_trips_every_field(store: SeaStore) {
        let t = tenant("acme");
        let id = RecordId::new_v7();
        let mut tx = store.begin_write(&t).await.unwrap();
        assert_eq!(tx.head(), Seq::ZERO);
        let seq = tx.next_seq();
        assert_eq!(seq, Seq(1));
        let record = Record {
            entity_type: ty("end_user"),
            id,
            version: Version(7),
            seq,
            data: obj(json!({
                "name": "Zoë \"quoted\" O'Brien",
                "email": "zoe@example.com",
                "active": 1,
                "score": 2.5,
                "tags": ["a", "b"],
                "nested": { "deep": [1, { "x": null }] },
                "nothing": null,
                "flag": true
            })),
            deleted: false,
            sync_status: SyncStatus::Conflict,
            created_at: at(1_700_000_000_123),
            updated_at: at(1_700_000_000_456),
            edited_at: at(-86_400_001),
        };
        let mut batch = WriteBatch::new(client(), subject(), at(1_700_000_000_789));
        batch.records.push(RecordWrite {
            record: record.clone(),
            kind: WriteKind::Create,
            changed_fields: vec!["name".into(), "email".into()],
        });
        tx.write(&batch).await.unwrap();
        assert_eq!(tx.head(), Seq(1));
        tx.commit().await.unwrap();

        let k = key("end_user", id);
        assert_eq!(store.get(&t, &k).await.unwrap(), Some(record.clone()));
        assert_eq!(
            store.get_many(&t, std::slice::from_ref(&k)).await.unwrap(),
            vec![record.clone()]
        );
        assert_eq!(store.head(&t).await.unwrap(), Seq(1));
        let page = store.changes(&t, &since(0, &[], 10)).await.unwrap();
        assert_eq!(page.records, vec![record.clone()]);
        assert!(!page.has_more);
        assert_eq!(page.next, Seq(1));

        let history = store.history(&t, &k, at(0)).await.unwrap();
        assert_eq!(history.len(), 1);
        let v = &history[0];
        assert_eq!(v.entity_type, ty("end_user"));
        assert_eq!(v.id, id);
        assert_eq!(v.version, Version(7));
        assert_eq!(v.seq, Seq(1));
        assert_eq!(v.kind, WriteKind::Create);
        assert_eq!(v.data, record.data);
        assert!(!v.deleted);
        assert_eq!(
            v.changed_fields,
            vec!["name".to_string(), "email".to_string()]
        );
        assert_eq!(v.client_id, client());
        assert_eq!(v.subject, subject());
        assert_eq!(v.at, at(1_700_000_000_789));

        // A version asked for by a merge comes back through load, with the record.
        let mut tx = store.begin_write(&t).await.unwrap();
        let loaded = tx
            .load(
                std::slice::from_ref(&k),
                &[(k.clone(), Version(7)), (k.clone(), Version(6))],
            )
            .await
            .unwrap();
        assert_eq!(loaded.records, vec![record.clone()]);
        assert_eq!(
            loaded.versions,
            vec![(k.clone(), Version(7), record.data.clone())]
        );
        tx.rollback().await.unwrap();
    }

    pub async fn seqs_increase_strictly_per_tenant_and_independently_between_tenants(
        store: SeaStore,
    ) {
        let (a, b) = (tenant("a"), tenant("b"));
        let first = create_many(&store, &a, "things", 3).await;
        assert_eq!(seqs(&first), vec![Seq(1), Seq(2), Seq(3)]);
        let other = create_many(&store, &b, "things", 2).await;
        assert_eq!(seqs(&other), vec![Seq(1), Seq(2)]);
        let second = create_many(&store, &a, "things", 2).await;
        assert_eq!(seqs(&second), vec![Seq(4), Seq(5)]);
        // An update takes a new seq too.
        let updated = apply(
            &store,
            &a,
            vec![put("things", first[0].id, json!({ "n": 100 }))],
        )
        .await;
        assert_eq!(updated[0].seq, Seq(6));
        assert_eq!(updated[0].version, Version(2));
        assert_eq!(store.head(&a).await.unwrap(), Seq(6));
        assert_eq!(store.head(&b).await.unwrap(), Seq(2));
        assert_eq!(store.head(&tenant("nobody")).await.unwrap(), Seq::ZERO);

        // A transaction that allocates but does not write leaves the head alone.
        let mut tx = store.begin_write(&a).await.unwrap();
        tx.next_seq();
        tx.commit().await.unwrap();
        assert_eq!(store.head(&a).await.unwrap(), Seq(6));
    }

    pub async fn the_same_record_id_in_two_tenants_is_two_independent_rows(store: SeaStore) {
        let (a, b) = (tenant("a"), tenant("b"));
        let id = RecordId::new_v7();
        apply(&store, &a, vec![put("things", id, json!({ "owner": "a" }))]).await;
        apply(&store, &b, vec![put("things", id, json!({ "owner": "b" }))]).await;
        // Updating in b does not touch a's row, deleting in a does not touch b's.
        apply(
            &store,
            &b,
            vec![put("things", id, json!({ "owner": "b2" }))],
        )
        .await;
        apply(&store, &a, vec![Op::Delete(key("things", id))]).await;

        let ra = store.get(&a, &key("things", id)).await.unwrap().unwrap();
        let rb = store.get(&b, &key("things", id)).await.unwrap().unwrap();
        assert_eq!(ra.data, obj(json!({ "owner": "a" })));
        assert!(ra.deleted);
        assert_eq!(ra.version, Version(2));
        assert_eq!(rb.data, obj(json!({ "owner": "b2" })));
        assert!(!rb.deleted);
        assert_eq!(rb.version, Version(2));
        assert_eq!(
            store
                .history(&a, &key("things", id), at(0))
                .await
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            store
                .history(&b, &key("things", id), at(0))
                .await
                .unwrap()
                .len(),
            2
        );
    }

    pub async fn no_read_path_crosses_tenants(store: SeaStore) {
        let (a, b) = (tenant("a"), tenant("b"));
        let id = RecordId::new_v7();
        let k = key("end_user", id);
        apply_with(
            &store,
            &a,
            vec![put(
                "end_user",
                id,
                json!({ "name": "secret", "is_deleted": 0 }),
            )],
            SyncStatus::Pending,
            Timestamp::now(),
        )
        .await;
        let conflict_id = Uuid::now_v7();
        let mut tx = store.begin_write(&a).await.unwrap();
        let mut batch = WriteBatch::new(client(), subject(), Timestamp::now());
        batch
            .conflicts
            .push(conflict(conflict_id, id, ConflictStatus::Open));
        batch.idempotency = Some(idempotency_entry("key-1", "hash"));
        tx.write(&batch).await.unwrap();
        tx.commit().await.unwrap();

        assert_eq!(store.get(&b, &k).await.unwrap(), None);
        assert!(
            store
                .get_many(&b, std::slice::from_ref(&k))
                .await
                .unwrap()
                .is_empty()
        );
        let page = store.changes(&b, &since(0, &[], 100)).await.unwrap();
        assert!(page.records.is_empty());
        assert_eq!(page.next, Seq::ZERO);
        let legacy = ChangesQuery {
            since: Since::UpdatedAfter(at(0)),
            entity_types: Vec::new(),
            limit: 100,
        };
        assert!(store.changes(&b, &legacy).await.unwrap().records.is_empty());
        let mut everything = list_query("end_user");
        everything.include_deleted = true;
        assert!(
            store
                .list(&b, &everything)
                .await
                .unwrap()
                .records
                .is_empty()
        );
        let mut search = list_query("end_user");
        search.search = Some((vec!["name".into()], "secret".into()));
        assert!(store.list(&b, &search).await.unwrap().records.is_empty());
        assert_eq!(store.list(&a, &search).await.unwrap().records.len(), 1);
        let pending = [PendingCondition::SyncStatus(SyncStatus::Pending)];
        assert!(
            store
                .pending(&b, &ty("end_user"), &pending, 100)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store
                .pending(&a, &ty("end_user"), &pending, 100)
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(store.history(&b, &k, at(0)).await.unwrap().is_empty());
        assert!(
            store
                .open_conflicts(&b, None, 100)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.conflict(&b, conflict_id).await.unwrap(), None);
        assert!(store.conflict(&a, conflict_id).await.unwrap().is_some());
        assert_eq!(
            store.idempotency(&b, &client(), "key-1").await.unwrap(),
            None
        );
        assert!(
            store
                .idempotency(&a, &client(), "key-1")
                .await
                .unwrap()
                .is_some()
        );
        let mut tx = store.begin_write(&b).await.unwrap();
        assert_eq!(tx.idempotency(&client(), "key-1").await.unwrap(), None);
        let loaded = tx
            .load(std::slice::from_ref(&k), &[(k.clone(), Version(1))])
            .await
            .unwrap();
        assert!(loaded.records.is_empty());
        assert!(loaded.versions.is_empty());
        tx.rollback().await.unwrap();

        // Resolving a's conflict through b's transaction fails and changes nothing.
        let mut tx = store.begin_write(&b).await.unwrap();
        let mut batch = WriteBatch::new(client(), subject(), Timestamp::now());
        batch.resolved_conflicts.push(conflict_id);
        assert!(matches!(
            tx.write(&batch).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(tx.commit().await.is_err());
        let still = store.conflict(&a, conflict_id).await.unwrap().unwrap();
        assert_eq!(still.status, ConflictStatus::Open);
    }

    pub async fn changes_return_the_latest_state_once_with_tombstones(store: SeaStore) {
        let t = tenant("acme");
        let created = create_many(&store, &t, "things", 3).await;
        let (x, y, z) = (created[0].id, created[1].id, created[2].id);
        // x changes twice in one transaction and again later; y is deleted.
        apply(
            &store,
            &t,
            vec![
                put("things", x, json!({ "n": "x1" })),
                put("things", x, json!({ "n": "x2" })),
            ],
        )
        .await;
        apply(&store, &t, vec![Op::Delete(key("things", y))]).await;
        apply(&store, &t, vec![put("things", x, json!({ "n": "x3" }))]).await;

        let page = store.changes(&t, &since(0, &[], 100)).await.unwrap();
        assert_eq!(ids(&page.records), vec![z, y, x]);
        assert_eq!(seqs(&page.records), vec![Seq(3), Seq(6), Seq(7)]);
        let x_now = &page.records[2];
        assert_eq!(x_now.data, obj(json!({ "n": "x3" })));
        assert_eq!(x_now.version, Version(4));
        let y_now = &page.records[1];
        assert!(y_now.deleted);
        assert_eq!(y_now.version, Version(2));
        assert_eq!(page.next, Seq(7));
        assert!(!page.has_more);

        // From a cursor in the middle: only what changed after it.
        let page = store.changes(&t, &since(5, &[], 100)).await.unwrap();
        assert_eq!(ids(&page.records), vec![y, x]);
        // Nothing new: the cursor stays at the head.
        let page = store.changes(&t, &since(7, &[], 100)).await.unwrap();
        assert!(page.records.is_empty());
        assert_eq!(page.next, Seq(7));
        // The history keeps every version of x, oldest first.
        let history = store.history(&t, &key("things", x), at(0)).await.unwrap();
        let versions: Vec<_> = history.iter().map(|v| v.version.0).collect();
        assert_eq!(versions, vec![1, 2, 3, 4]);
        let kinds: Vec<_> = store
            .history(&t, &key("things", y), at(0))
            .await
            .unwrap()
            .iter()
            .map(|v| v.kind)
            .collect();
        assert_eq!(kinds, vec![WriteKind::Create, WriteKind::Delete]);
    }

    pub async fn changes_can_be_limited_to_some_entity_types(store: SeaStore) {
        let t = tenant("acme");
        let users = create_many(&store, &t, "end_user", 2).await;
        let things = create_many(&store, &t, "things", 2).await;
        let others = create_many(&store, &t, "others", 1).await;

        let page = store
            .changes(&t, &since(0, &["things"], 100))
            .await
            .unwrap();
        assert_eq!(ids(&page.records), ids(&things));
        assert_eq!(
            page.next,
            Seq(5),
            "the cursor moves to the head, past other types"
        );

        let page = store
            .changes(&t, &since(0, &["end_user", "others"], 100))
            .await
            .unwrap();
        let mut expected = ids(&users);
        expected.extend(ids(&others));
        assert_eq!(ids(&page.records), expected);

        let page = store
            .changes(&t, &since(0, &["unknown"], 100))
            .await
            .unwrap();
        assert!(page.records.is_empty());
        assert_eq!(page.next, Seq(5));
    }

    pub async fn changes_page_with_has_more_and_next(store: SeaStore) {
        let t = tenant("acme");
        let created = create_many(&store, &t, "things", 10).await;
        let mut cursor = Seq::ZERO;
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let page = store.changes(&t, &since(cursor.0, &[], 3)).await.unwrap();
            pages += 1;
            assert!(page.records.len() <= 3);
            seen.extend(ids(&page.records));
            cursor = page.next;
            if !page.has_more {
                break;
            }
            assert_eq!(page.next, page.records.last().unwrap().seq);
        }
        assert_eq!(pages, 4);
        assert_eq!(seen, ids(&created));
        assert_eq!(cursor, Seq(10));

        // Exactly a page's worth: no more.
        let page = store.changes(&t, &since(7, &[], 3)).await.unwrap();
        assert_eq!(page.records.len(), 3);
        assert!(!page.has_more);
        assert_eq!(page.next, Seq(10));
        // With a type filter, paging stops at the last match.
        let page = store.changes(&t, &since(0, &["things"], 4)).await.unwrap();
        assert!(page.has_more);
        assert_eq!(page.next, Seq(4));
    }

    pub async fn changes_since_a_timestamp_use_updated_at(store: SeaStore) {
        let t = tenant("acme");
        let old = apply_with(
            &store,
            &t,
            vec![put("things", RecordId::new_v7(), json!({ "n": 1 }))],
            SyncStatus::Synced,
            at(1_000),
        )
        .await;
        let new = apply_with(
            &store,
            &t,
            vec![
                put("things", RecordId::new_v7(), json!({ "n": 2 })),
                put("things", RecordId::new_v7(), json!({ "n": 3 })),
            ],
            SyncStatus::Synced,
            at(2_000),
        )
        .await;
        let query = |after: i64, limit: usize| ChangesQuery {
            since: Since::UpdatedAfter(at(after)),
            entity_types: Vec::new(),
            limit,
        };
        let page = store.changes(&t, &query(1_000, 100)).await.unwrap();
        assert_eq!(ids(&page.records), ids(&new));
        assert_eq!(page.next, Seq(3));
        let page = store.changes(&t, &query(0, 100)).await.unwrap();
        assert_eq!(page.records.len(), 3);
        assert_eq!(page.records[0].id, old[0].id);
        let page = store.changes(&t, &query(0, 2)).await.unwrap();
        assert!(page.has_more);
        assert_eq!(page.next, Seq(2));
        assert!(
            store
                .changes(&t, &query(2_000, 100))
                .await
                .unwrap()
                .records
                .is_empty()
        );
    }

    pub async fn pending_matches_json_equality_and_sync_status(store: SeaStore) {
        let t = tenant("acme");
        let now = Timestamp::now();
        let pending_live = apply_with(
            &store,
            &t,
            vec![
                put(
                    "end_user",
                    RecordId::new_v7(),
                    json!({ "name": "a", "is_deleted": 0 }),
                ),
                put(
                    "end_user",
                    RecordId::new_v7(),
                    json!({ "name": "b", "is_deleted": 1 }),
                ),
                put(
                    "end_user",
                    RecordId::new_v7(),
                    json!({ "name": "c", "is_deleted": "0" }),
                ),
                put(
                    "end_user",
                    RecordId::new_v7(),
                    json!({ "name": "d", "is_deleted": 0 }),
                ),
            ],
            SyncStatus::Pending,
            now,
        )
        .await;
        // Synced, or a tombstone: never pending.
        apply_with(
            &store,
            &t,
            vec![put(
                "end_user",
                RecordId::new_v7(),
                json!({ "name": "e", "is_deleted": 0 }),
            )],
            SyncStatus::Synced,
            now,
        )
        .await;
        apply_with(
            &store,
            &t,
            vec![Op::Delete(key("end_user", pending_live[3].id))],
            SyncStatus::Pending,
            now,
        )
        .await;

        let conditions = [
            PendingCondition::FieldEquals {
                field: "is_deleted".into(),
                value: json!(0),
            },
            PendingCondition::SyncStatus(SyncStatus::Pending),
        ];
        let found = store
            .pending(&t, &ty("end_user"), &conditions, 100)
            .await
            .unwrap();
        assert_eq!(ids(&found), vec![pending_live[0].id]);

        let by_string = [PendingCondition::FieldEquals {
            field: "name".into(),
            value: json!("c"),
        }];
        let found = store
            .pending(&t, &ty("end_user"), &by_string, 100)
            .await
            .unwrap();
        assert_eq!(ids(&found), vec![pending_live[2].id]);
        let string_zero = [PendingCondition::FieldEquals {
            field: "is_deleted".into(),
            value: json!("0"),
        }];
        let found = store
            .pending(&t, &ty("end_user"), &string_zero, 100)
            .await
            .unwrap();
        assert_eq!(ids(&found), vec![pending_live[2].id], "\"0\" is not 0");

        // No conditions: every live record, seq order, at most limit + 1.
        let all = store.pending(&t, &ty("end_user"), &[], 100).await.unwrap();
        assert_eq!(all.len(), 4);
        assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
        let limited = store.pending(&t, &ty("end_user"), &[], 2).await.unwrap();
        assert_eq!(limited.len(), 3);
        assert!(
            store
                .pending(&t, &ty("interactions"), &[], 10)
                .await
                .unwrap()
                .is_empty()
        );
    }

    pub async fn list_filters_and_pages_live_records(store: SeaStore) {
        let t = tenant("acme");
        let created = apply(
            &store,
            &t,
            vec![
                put(
                    "clients",
                    RecordId::new_v7(),
                    json!({ "branch": "north", "n": 1 }),
                ),
                put(
                    "clients",
                    RecordId::new_v7(),
                    json!({ "branch": "south", "n": 2 }),
                ),
                put(
                    "clients",
                    RecordId::new_v7(),
                    json!({ "branch": "north", "n": 3.0 }),
                ),
                put(
                    "clients",
                    RecordId::new_v7(),
                    json!({ "branch": "north", "n": null }),
                ),
                put("clients", RecordId::new_v7(), json!({ "branch": "north" })),
            ],
        )
        .await;
        apply(&store, &t, vec![Op::Delete(key("clients", created[0].id))]).await;

        let mut q = list_query("clients");
        q.filters = vec![("branch".into(), json!("north"))];
        let page = store.list(&t, &q).await.unwrap();
        assert_eq!(
            ids(&page.records),
            vec![created[2].id, created[3].id, created[4].id]
        );
        assert!(!page.has_more);
        assert_eq!(page.next, created[4].seq);

        q.include_deleted = true;
        let page = store.list(&t, &q).await.unwrap();
        assert_eq!(page.records.len(), 4);
        assert!(page.records.iter().any(|r| r.deleted));

        // Numbers compare as JSON numbers: 3 finds 3.0.
        let mut q = list_query("clients");
        q.filters = vec![("n".into(), json!(3))];
        assert_eq!(
            ids(&store.list(&t, &q).await.unwrap().records),
            vec![created[2].id]
        );
        // null finds a null or absent field.
        q.filters = vec![("n".into(), json!(null))];
        assert_eq!(
            ids(&store.list(&t, &q).await.unwrap().records),
            vec![created[3].id, created[4].id]
        );
        // Two filters: both must hold.
        q.filters = vec![("branch".into(), json!("south")), ("n".into(), json!(2))];
        assert_eq!(
            ids(&store.list(&t, &q).await.unwrap().records),
            vec![created[1].id]
        );
        q.filters = vec![("branch".into(), json!("south")), ("n".into(), json!(1))];
        assert!(store.list(&t, &q).await.unwrap().records.is_empty());

        // Paging by seq.
        let mut q = list_query("clients");
        q.limit = 2;
        let first = store.list(&t, &q).await.unwrap();
        assert!(first.has_more);
        assert_eq!(ids(&first.records), vec![created[1].id, created[2].id]);
        q.after = first.next;
        let second = store.list(&t, &q).await.unwrap();
        assert!(!second.has_more);
        assert_eq!(ids(&second.records), vec![created[3].id, created[4].id]);
    }

    pub async fn search_is_case_insensitive_and_sql_metacharacters_are_literal(store: SeaStore) {
        let t = tenant("acme");
        let texts = [
            "Alice Smith",
            "'; DROP TABLE records; --",
            "100% sure",
            "1000 sure",
            "snake_case",
            "snakeXcase",
            r"back\slash",
            "backslash",
        ];
        let created = apply(
            &store,
            &t,
            texts
                .iter()
                .map(|text| {
                    put(
                        "contacts",
                        RecordId::new_v7(),
                        json!({ "name": text, "notes": "" }),
                    )
                })
                .collect(),
        )
        .await;
        let search = |text: &str| {
            let mut q = list_query("contacts");
            q.search = Some((vec!["notes".into(), "name".into()], text.into()));
            q
        };
        let found = |q: ListQuery| {
            let store = store.clone();
            let t = t.clone();
            async move { ids(&store.list(&t, &q).await.unwrap().records) }
        };
        assert_eq!(found(search("aLiCe")).await, vec![created[0].id]);
        assert_eq!(found(search("SMITH")).await, vec![created[0].id]);
        assert_eq!(
            found(search("'; DROP TABLE records; --")).await,
            vec![created[1].id]
        );
        assert_eq!(found(search("%")).await, vec![created[2].id]);
        assert_eq!(found(search("100%")).await, vec![created[2].id]);
        assert_eq!(found(search("_")).await, vec![created[4].id]);
        assert_eq!(found(search("snake_case")).await, vec![created[4].id]);
        assert_eq!(found(search(r"\")).await, vec![created[6].id]);
        assert_eq!(found(search(r"k\s")).await, vec![created[6].id]);
        assert_eq!(found(search("")).await.len(), texts.len());
        assert!(found(search("nobody")).await.is_empty());
        // Searching nothing searchable finds nothing.
        let mut q = list_query("contacts");
        q.search = Some((Vec::new(), "alice".into()));
        assert!(found(q).await.is_empty());

        // Metacharacters in filters are values too.
        let mut q = list_query("contacts");
        q.filters = vec![("name".into(), json!("'; DROP TABLE records; --"))];
        assert_eq!(found(q).await, vec![created[1].id]);
        let mut q = list_query("contacts");
        q.filters = vec![("na'me".into(), json!("x"))];
        assert!(found(q).await.is_empty());

        // Nothing was dropped or changed.
        let all = store.changes(&t, &since(0, &[], 100)).await.unwrap();
        assert_eq!(all.records.len(), texts.len());
        assert_eq!(store.head(&t).await.unwrap(), Seq(texts.len() as i64));
    }

    pub async fn history_lists_the_versions_inside_the_window(store: SeaStore) {
        let t = tenant("acme");
        let id = RecordId::new_v7();
        for (millis, n) in [(1_000, 1), (2_000, 2), (3_000, 3)] {
            apply_with(
                &store,
                &t,
                vec![put("things", id, json!({ "n": n, "same": true }))],
                SyncStatus::Synced,
                at(millis),
            )
            .await;
        }
        let k = key("things", id);
        let all = store.history(&t, &k, at(0)).await.unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(
            all[0].changed_fields,
            vec!["n".to_string(), "same".to_string()]
        );
        assert_eq!(all[1].changed_fields, vec!["n".to_string()]);
        assert_eq!(all[2].data, obj(json!({ "n": 3, "same": true })));
        let window = store.history(&t, &k, at(2_000)).await.unwrap();
        assert_eq!(
            window.iter().map(|v| v.version).collect::<Vec<_>>(),
            vec![Version(2), Version(3)]
        );
        assert!(store.history(&t, &k, at(3_001)).await.unwrap().is_empty());
        assert!(
            store
                .history(&t, &key("things", RecordId::new_v7()), at(0))
                .await
                .unwrap()
                .is_empty()
        );
    }

    fn conflict(id: Uuid, record: RecordId, status: ConflictStatus) -> ConflictEntry {
        ConflictEntry {
            id,
            entity_type: ty("end_user"),
            record_id: record,
            strategy: "manual".into(),
            status,
            server_version: Version(3),
            server_data: json!({ "name": "server", "version": 3 }),
            client_data: json!({ "name": "client" }),
            fields: vec!["name".into()],
            client_id: client(),
            subject: subject(),
            created_at: Timestamp::now(),
            resolved_at: None,
        }
    }

    fn idempotency_entry(key: &str, hash: &str) -> IdempotencyEntry {
        IdempotencyEntry {
            client_id: client(),
            key: key.into(),
            request_hash: hash.into(),
            response: json!({ "success": true, "data": [{ "id": "x" }], "cursor": "c1" })
                .to_string(),
            created_at: Timestamp::now(),
        }
    }

    pub async fn conflicts_are_logged_listed_and_resolved(store: SeaStore) {
        let t = tenant("acme");
        let record = RecordId::new_v7();
        let mut first = conflict(Uuid::now_v7(), record, ConflictStatus::Open);
        first.created_at = at(1_000);
        let mut second = conflict(Uuid::now_v7(), record, ConflictStatus::Open);
        second.created_at = at(2_000);
        second.entity_type = ty("interactions");
        let mut auto = conflict(Uuid::now_v7(), record, ConflictStatus::AutoResolved);
        auto.strategy = "field-merge".into();
        auto.resolved_at = Some(at(1_500));

        let mut tx = store.begin_write(&t).await.unwrap();
        let mut batch = WriteBatch::new(client(), subject(), at(3_000));
        batch.conflicts = vec![second.clone(), auto.clone(), first.clone()];
        tx.write(&batch).await.unwrap();
        tx.commit().await.unwrap();

        assert_eq!(
            store.open_conflicts(&t, None, 10).await.unwrap(),
            vec![first.clone(), second.clone()]
        );
        assert_eq!(
            store
                .open_conflicts(&t, Some(&ty("interactions")), 10)
                .await
                .unwrap(),
            vec![second.clone()]
        );
        assert_eq!(
            store.open_conflicts(&t, None, 1).await.unwrap(),
            vec![first.clone()]
        );
        assert_eq!(
            store.conflict(&t, auto.id).await.unwrap(),
            Some(auto.clone())
        );

        // Resolving writes the chosen record and closes the conflict, atomically.
        let mut tx = store.begin_write(&t).await.unwrap();
        let seq = tx.next_seq();
        let mut batch = WriteBatch::new(client(), subject(), at(4_000));
        batch.records.push(RecordWrite {
            record: Record {
                entity_type: ty("end_user"),
                id: record,
                version: Version(4),
                seq,
                data: obj(json!({ "name": "chosen" })),
                deleted: false,
                sync_status: SyncStatus::Synced,
                created_at: at(0),
                updated_at: at(4_000),
                edited_at: at(4_000),
            },
            kind: WriteKind::Update,
            changed_fields: vec!["name".into()],
        });
        batch.resolved_conflicts.push(first.id);
        tx.write(&batch).await.unwrap();
        tx.commit().await.unwrap();

        let resolved = store.conflict(&t, first.id).await.unwrap().unwrap();
        assert_eq!(resolved.status, ConflictStatus::Resolved);
        assert_eq!(resolved.resolved_at, Some(at(4_000)));
        assert_eq!(
            store.open_conflicts(&t, None, 10).await.unwrap(),
            vec![second.clone()]
        );

        // A second resolution of the same conflict loses, and writes nothing.
        let head = store.head(&t).await.unwrap();
        let mut tx = store.begin_write(&t).await.unwrap();
        let seq = tx.next_seq();
        let mut batch = WriteBatch::new(client(), subject(), at(5_000));
        batch.records.push(RecordWrite {
            record: Record {
                entity_type: ty("end_user"),
                id: record,
                version: Version(5),
                seq,
                data: obj(json!({ "name": "late" })),
                deleted: false,
                sync_status: SyncStatus::Synced,
                created_at: at(0),
                updated_at: at(5_000),
                edited_at: at(5_000),
            },
            kind: WriteKind::Update,
            changed_fields: vec!["name".into()],
        });
        batch.resolved_conflicts.push(first.id);
        assert!(matches!(
            tx.write(&batch).await,
            Err(StoreError::Conflict(_))
        ));
        tx.rollback().await.unwrap();
        assert_eq!(store.head(&t).await.unwrap(), head);
        let kept = store
            .get(&t, &key("end_user", record))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(kept.data, obj(json!({ "name": "chosen" })));
    }

    pub async fn idempotency_entries_are_stored_read_and_purged(store: SeaStore) {
        let t = tenant("acme");
        let other_client = ClientId::parse("device-2").unwrap();
        assert_eq!(store.idempotency(&t, &client(), "k").await.unwrap(), None);

        let mut old = idempotency_entry("old", "h-old");
        old.created_at = at(1_000);
        let fresh = idempotency_entry("k", "h1");
        for entry in [old.clone(), fresh.clone()] {
            let mut tx = store.begin_write(&t).await.unwrap();
            let mut batch = WriteBatch::new(client(), subject(), Timestamp::now());
            batch.idempotency = Some(entry);
            batch.audit = Some(PushAudit {
                client_id: client(),
                subject: subject(),
                changes: 0,
                created: 0,
                updated: 0,
                deleted: 0,
                unchanged: 0,
                conflicts: 0,
                seq_range: None,
                at: Timestamp::now(),
            });
            tx.write(&batch).await.unwrap();
            tx.commit().await.unwrap();
        }
        assert_eq!(
            store.idempotency(&t, &client(), "k").await.unwrap(),
            Some(fresh.clone())
        );
        // Scoped by client and key.
        assert_eq!(
            store.idempotency(&t, &other_client, "k").await.unwrap(),
            None
        );
        assert_eq!(store.idempotency(&t, &client(), "K").await.unwrap(), None);
        let mut tx = store.begin_write(&t).await.unwrap();
        assert_eq!(
            tx.idempotency(&client(), "k").await.unwrap(),
            Some(fresh.clone())
        );
        tx.rollback().await.unwrap();

        // An expired key the engine reuses replaces the old entry.
        let mut tx = store.begin_write(&t).await.unwrap();
        let mut batch = WriteBatch::new(client(), subject(), Timestamp::now());
        let mut replaced = idempotency_entry("old", "h-new");
        replaced.created_at = at(5_000);
        batch.idempotency = Some(replaced.clone());
        tx.write(&batch).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            store.idempotency(&t, &client(), "old").await.unwrap(),
            Some(replaced)
        );

        let stats = store.purge(at(10_000), at(0)).await.unwrap();
        assert_eq!(stats.idempotency_entries, 1);
        assert_eq!(store.idempotency(&t, &client(), "old").await.unwrap(), None);
        assert_eq!(
            store.idempotency(&t, &client(), "k").await.unwrap(),
            Some(fresh)
        );
    }

    pub async fn purge_keeps_each_records_current_version(store: SeaStore) {
        let t = tenant("acme");
        let id = RecordId::new_v7();
        let quiet = RecordId::new_v7();
        apply_with(
            &store,
            &t,
            vec![
                put("things", id, json!({ "n": 1 })),
                put("things", quiet, json!({})),
            ],
            SyncStatus::Synced,
            at(1_000),
        )
        .await;
        apply_with(
            &store,
            &t,
            vec![put("things", id, json!({ "n": 2 }))],
            SyncStatus::Synced,
            at(2_000),
        )
        .await;
        apply_with(
            &store,
            &t,
            vec![put("things", id, json!({ "n": 3 }))],
            SyncStatus::Synced,
            at(3_000),
        )
        .await;
        let stats = store.purge(at(0), at(10_000)).await.unwrap();
        assert_eq!(stats.versions, 2, "versions 1 and 2 of the busy record");
        let left = store.history(&t, &key("things", id), at(0)).await.unwrap();
        assert_eq!(
            left.iter().map(|v| v.version).collect::<Vec<_>>(),
            vec![Version(3)]
        );
        assert_eq!(
            store
                .history(&t, &key("things", quiet), at(0))
                .await
                .unwrap()
                .len(),
            1
        );
        let stats = store.purge(at(0), at(10_000)).await.unwrap();
        assert_eq!(stats.versions, 0);
    }

    pub async fn concurrent_writers_and_cursor_readers_see_every_change_once_in_order(
        store: SeaStore,
        url: String,
    ) {
        const WRITERS: usize = 8;
        const BATCHES: usize = 200;
        const PER_BATCH: usize = 2;
        let t = tenant("busy");
        let done = Arc::new(AtomicBool::new(false));
        // A second instance on the same database: half the writers and one reader use it, so
        // the tenant lock is also contended across processes' worth of pools, not only inside
        // one store.
        let other = SeaStore::connect(&url, crate::harness::options())
            .await
            .unwrap();
        let instances = [store.clone(), other.clone()];

        let mut readers = Vec::new();
        for r in 0..2 {
            let store = instances[r % 2].clone();
            let t = t.clone();
            let done = done.clone();
            readers.push(tokio::spawn(async move {
                let mut cursor = Seq::ZERO;
                let mut seen: Vec<(Seq, RecordId)> = Vec::new();
                loop {
                    // Read `done` before the page: if the writers were done, a page without
                    // more is the end.
                    let finished = done.load(Ordering::SeqCst);
                    let page = store.changes(&t, &since(cursor.0, &[], 7)).await.unwrap();
                    assert!(page.records.len() <= 7);
                    assert!(page.next >= cursor, "the cursor never moves back");
                    seen.extend(page.records.iter().map(|r| (r.seq, r.id)));
                    cursor = page.next;
                    if !page.has_more {
                        if finished {
                            break;
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    }
                }
                seen
            }));
        }

        let mut writers = Vec::new();
        for w in 0..WRITERS {
            let store = instances[w % 2].clone();
            let t = t.clone();
            writers.push(tokio::spawn(async move {
                let mut written = Vec::new();
                for _ in 0..BATCHES {
                    let records = create_many(&store, &t, "things", PER_BATCH).await;
                    written.extend(ids(&records));
                }
                written
            }));
        }
        let mut all_written = HashSet::new();
        for writer in writers {
            all_written.extend(writer.await.unwrap());
        }
        done.store(true, Ordering::SeqCst);
        let total = WRITERS * BATCHES * PER_BATCH;
        assert_eq!(all_written.len(), total);
        assert_eq!(store.head(&t).await.unwrap(), Seq(total as i64));

        for reader in readers {
            let seen = reader.await.unwrap();
            assert_eq!(seen.len(), total, "every change once");
            assert!(
                seen.windows(2).all(|w| w[0].0 < w[1].0),
                "strictly increasing seqs"
            );
            let ids: HashSet<RecordId> = seen.iter().map(|(_, id)| *id).collect();
            assert_eq!(ids, all_written);
            let seqs: BTreeSet<i64> = seen.iter().map(|(s, _)| s.0).collect();
            assert_eq!(seqs, (1..=total as i64).collect());
        }
        other.close().await.unwrap();
    }

    /// Read-modify-write of one record by writers of two instances: each holds the tenant's
    /// lock a moment, so writers of the other instance wait for it inside the statement that
    /// locks and loads, with a snapshot taken before the commit they waited for. Every
    /// increment must survive.
    pub async fn read_modify_writes_from_two_instances_lose_no_update(
        store: SeaStore,
        url: String,
    ) {
        const TASKS: usize = 4;
        const ROUNDS: usize = 25;
        let t = tenant("counter");
        let id = RecordId::new_v7();
        apply(&store, &t, vec![put("things", id, json!({ "n": 0 }))]).await;
        let other = SeaStore::connect(&url, crate::harness::options())
            .await
            .unwrap();
        let instances = [store.clone(), other.clone()];
        let mut tasks = Vec::new();
        for w in 0..TASKS {
            let store = instances[w % 2].clone();
            let t = t.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..ROUNDS {
                    let k = key("things", id);
                    let (mut tx, loaded) = store
                        .begin_write_and_load(&t, std::slice::from_ref(&k), &[])
                        .await
                        .unwrap();
                    let current = loaded.records.into_iter().next().unwrap();
                    let n = current.data["n"].as_i64().unwrap();
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                    let mut next = current.clone();
                    next.seq = tx.next_seq();
                    next.version = current.version.next();
                    next.data = obj(json!({ "n": n + 1 }));
                    let mut batch = WriteBatch::new(client(), subject(), Timestamp::now());
                    batch.records.push(RecordWrite {
                        record: next,
                        kind: WriteKind::Update,
                        changed_fields: vec!["n".into()],
                    });
                    tx.write(&batch).await.unwrap();
                    tx.commit().await.unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let last = store.get(&t, &key("things", id)).await.unwrap().unwrap();
        assert_eq!(last.data["n"], json!(TASKS * ROUNDS));
        assert_eq!(last.version, Version(1 + (TASKS * ROUNDS) as i64));
        assert_eq!(
            store.head(&t).await.unwrap(),
            Seq(1 + (TASKS * ROUNDS) as i64)
        );
        other.close().await.unwrap();
    }

    /// Locking and loading together returns what locking and then loading returns: for a new
    /// tenant, for an existing one, with versions, and with no keys.
    pub async fn begin_write_and_load_returns_what_begin_write_then_load_returns(store: SeaStore) {
        let t = tenant("acme");
        let unknown = key("things", RecordId::new_v7());
        // A new tenant: nothing to find, and its first seq is 1.
        let (mut tx, loaded) = store
            .begin_write_and_load(&t, std::slice::from_ref(&unknown), &[])
            .await
            .unwrap();
        assert!(loaded.records.is_empty() && loaded.versions.is_empty());
        assert_eq!(tx.next_seq(), Seq(1));
        tx.rollback().await.unwrap();

        let first = create_many(&store, &t, "things", 3).await;
        let updated = apply(
            &store,
            &t,
            vec![put("things", first[0].id, json!({ "n": 100 }))],
        )
        .await;
        let keys: Vec<RecordKey> = first
            .iter()
            .map(|r| key("things", r.id))
            .chain([unknown.clone()])
            .collect();
        let versions = vec![(key("things", first[0].id), Version(1))];

        let mut tx = store.begin_write(&t).await.unwrap();
        let expected = tx.load(&keys, &versions).await.unwrap();
        let expected_head = tx.head();
        tx.rollback().await.unwrap();

        let (tx, loaded) = store
            .begin_write_and_load(&t, &keys, &versions)
            .await
            .unwrap();
        assert_eq!(tx.head(), expected_head);
        assert_eq!(tx.head(), Seq(4));
        let sorted = |mut records: Vec<Record>| {
            records.sort_by_key(|r| r.seq);
            records
        };
        assert_eq!(sorted(loaded.records.clone()), sorted(expected.records));
        assert_eq!(loaded.records.len(), 3);
        assert!(loaded.records.contains(&updated[0]));
        assert_eq!(loaded.versions, expected.versions);
        assert_eq!(loaded.versions.len(), 1);
        tx.rollback().await.unwrap();

        // No keys at all: the lock is still taken and the head read.
        let (tx, loaded) = store.begin_write_and_load(&t, &[], &[]).await.unwrap();
        assert!(loaded.records.is_empty());
        assert_eq!(tx.head(), Seq(4));
        tx.rollback().await.unwrap();
    }

    /// A batch whose records upsert succeeds and whose version insert then fails on a
    /// duplicate primary key.
    async fn half_failing_write(
        store: &SeaStore,
    ) -> (Box<dyn syncd_store::WriteTx>, RecordId, Record) {
        let t = tenant("acme");
        let existing = create_many(store, &t, "things", 1).await.remove(0);
        let mut tx = store.begin_write(&t).await.unwrap();
        let new_id = RecordId::new_v7();
        let mut batch = WriteBatch::new(client(), subject(), Timestamp::now());
        let seq = tx.next_seq();
        batch.records.push(RecordWrite {
            record: Record {
                entity_type: ty("things"),
                id: new_id,
                version: Version(1),
                seq,
                data: obj(json!({ "new": true })),
                deleted: false,
                sync_status: SyncStatus::Synced,
                created_at: Timestamp::now(),
                updated_at: Timestamp::now(),
                edited_at: Timestamp::now(),
            },
            kind: WriteKind::Create,
            changed_fields: vec!["new".into()],
        });
        // Version 1 of the existing record is in the history already.
        let seq = tx.next_seq();
        let mut clash = existing.clone();
        clash.seq = seq;
        clash.data = obj(json!({ "overwritten": true }));
        batch.records.push(RecordWrite {
            record: clash,
            kind: WriteKind::Update,
            changed_fields: vec!["overwritten".into()],
        });
        batch.idempotency = Some(idempotency_entry("half", "h"));
        let err = tx.write(&batch).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
        (tx, new_id, existing)
    }

    async fn assert_nothing_left(store: &SeaStore, new_id: RecordId, existing: &Record) {
        let t = tenant("acme");
        assert_eq!(store.get(&t, &key("things", new_id)).await.unwrap(), None);
        assert_eq!(
            store
                .get(&t, &key("things", existing.id))
                .await
                .unwrap()
                .as_ref(),
            Some(existing)
        );
        assert_eq!(store.head(&t).await.unwrap(), existing.seq);
        assert_eq!(
            store.idempotency(&t, &client(), "half").await.unwrap(),
            None
        );
        let page = store.changes(&t, &since(0, &[], 10)).await.unwrap();
        assert_eq!(page.records, vec![existing.clone()]);
        // And the tenant can still write.
        let next = create_many(store, &t, "things", 1).await;
        assert_eq!(next[0].seq, existing.seq.next());
    }

    pub async fn a_write_that_fails_halfway_leaves_nothing_behind(store: SeaStore) {
        let (tx, new_id, existing) = half_failing_write(&store).await;
        tx.rollback().await.unwrap();
        assert_nothing_left(&store, new_id, &existing).await;
    }

    pub async fn a_transaction_whose_write_failed_refuses_to_commit(store: SeaStore) {
        let (mut tx, new_id, existing) = half_failing_write(&store).await;
        // Later calls fail as well instead of working on a broken transaction.
        assert!(tx.load(&[key("things", new_id)], &[]).await.is_err());
        assert!(tx.commit().await.is_err());
        assert_nothing_left(&store, new_id, &existing).await;
    }

    pub async fn dropping_a_write_transaction_rolls_it_back(store: SeaStore) {
        let t = tenant("acme");
        let before = create_many(&store, &t, "things", 1).await.remove(0);
        {
            let mut tx = store.begin_write(&t).await.unwrap();
            let seq = tx.next_seq();
            let mut batch = WriteBatch::new(client(), subject(), Timestamp::now());
            let mut changed = before.clone();
            changed.seq = seq;
            changed.version = Version(2);
            changed.data = obj(json!({ "dropped": true }));
            batch.records.push(RecordWrite {
                record: changed,
                kind: WriteKind::Update,
                changed_fields: vec!["dropped".into()],
            });
            tx.write(&batch).await.unwrap();
            // Dropped here without commit.
        }
        // The next writer gets the lock and sees the old head.
        let tx = store.begin_write(&t).await.unwrap();
        assert_eq!(tx.head(), before.seq);
        tx.rollback().await.unwrap();
        assert_eq!(
            store.get(&t, &key("things", before.id)).await.unwrap(),
            Some(before.clone())
        );
        assert_eq!(store.head(&t).await.unwrap(), before.seq);
        assert_eq!(
            store
                .history(&t, &key("things", before.id), at(0))
                .await
                .unwrap()
                .len(),
            1
        );
    }

    /// Statements of one push-like transaction: lock, load, write, commit.
    async fn statements_of_a_write(store: &SeaStore, n: usize) -> u64 {
        let t = tenant("counted");
        let existing = create_many(store, &t, "things", n).await;
        let before = store.statements();
        let mut tx = store.begin_write(&t).await.unwrap();
        assert!(tx.idempotency(&client(), "push-1").await.unwrap().is_none());
        let keys: Vec<_> = existing.iter().map(|r| key("things", r.id)).collect();
        let versions: Vec<_> = keys.iter().map(|k| (k.clone(), Version(1))).collect();
        let loaded = tx.load(&keys, &versions).await.unwrap();
        assert_eq!(loaded.records.len(), n);
        assert_eq!(loaded.versions.len(), n);
        let mut batch = WriteBatch::new(client(), subject(), Timestamp::now());
        for r in &existing {
            let mut next = r.clone();
            next.seq = tx.next_seq();
            next.version = Version(2);
            next.data = obj(json!({ "a": 1, "b": "two", "c": 3.5, "d": true, "e": null }));
            batch.records.push(RecordWrite {
                record: next,
                kind: WriteKind::Update,
                changed_fields: vec!["a".into()],
            });
        }
        batch.conflicts.push(conflict(
            Uuid::now_v7(),
            existing[0].id,
            ConflictStatus::AutoResolved,
        ));
        batch.idempotency = Some(idempotency_entry("push-1", "h"));
        tx.write(&batch).await.unwrap();
        tx.commit().await.unwrap();
        let cost = store.statements() - before;
        // Clean slate for the next measurement.
        let _ = store
            .connection()
            .execute_unprepared("DELETE FROM idempotency_keys")
            .await;
        cost
    }

    pub async fn a_write_costs_the_same_statements_for_one_record_or_a_hundred(
        store: SeaStore,
        url: String,
    ) {
        let one = statements_of_a_write(&store, 1).await;
        if store.is_postgres() {
            // BEGIN, clock, idempotency, load records, load versions, one statement writing
            // records, versions and the new head, conflicts, idempotency, COMMIT.
            assert_eq!(one, 9);
        } else {
            // BEGIN, clock, idempotency, load records, load versions, records, versions,
            // conflicts, idempotency, head, COMMIT.
            assert_eq!(one, 11);
        }
        let hundred = statements_of_a_write(&store, 100).await;
        let thousand = statements_of_a_write(&store, 1000).await;
        let plain = |mode: &str| matches!(mode.to_ascii_lowercase().as_str(), "disable" | "allow");
        let tls_possible = store.is_postgres()
            && !url
                .split_once("sslmode=")
                .map(|(_, rest)| rest.split('&').next().unwrap_or(""))
                .or(std::env::var("PGSSLMODE").ok().as_deref())
                .is_some_and(plain);
        if tls_possible {
            // Split by size below one TLS record (sqlx 0.9.0 sets no TCP_NODELAY), never per
            // record: about 12 KiB of values per statement.
            assert!(hundred <= one + 4, "100 records: {hundred} statements");
            assert!(
                thousand <= one + 1000 / 25,
                "1000 records: {thousand} statements"
            );
        } else {
            assert_eq!(hundred, one);
            assert_eq!(thousand, one);
        }
    }

    pub async fn ping_checks_that_the_database_is_migrated(store: SeaStore) {
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

    pub async fn a_closed_pool_is_unavailable_and_a_duplicate_is_a_conflict(store: SeaStore) {
        let t = tenant("acme");
        // A conflict id logged twice.
        let c = conflict(Uuid::now_v7(), RecordId::new_v7(), ConflictStatus::Open);
        let mut tx = store.begin_write(&t).await.unwrap();
        let mut batch = WriteBatch::new(client(), subject(), Timestamp::now());
        batch.conflicts = vec![c.clone(), c];
        let err = tx.write(&batch).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
        tx.rollback().await.unwrap();

        store.close().await.unwrap();
        let err = store.head(&t).await.unwrap_err();
        assert!(err.is_unavailable(), "{err:?}");
        let err = store.begin_write(&t).await.err().unwrap();
        assert!(err.is_unavailable(), "{err:?}");
        assert!(store.ping().await.unwrap_err().is_unavailable());
    }
}

macro_rules! contract {
    (plain: [$($case:ident),* $(,)?], with_url: [$($url_case:ident),* $(,)?] $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::harness::on_sqlite(|store, _| crate::cases::$case(store)).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $url_case() {
                    crate::harness::on_sqlite(crate::cases::$url_case).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::harness::on_postgres(|store, _| crate::cases::$case(store)).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $url_case() {
                    crate::harness::on_postgres(crate::cases::$url_case).await;
                }
            )*
        }
    };
}

contract!(
    plain: [
        a_record_round_trips_every_field,
        seqs_increase_strictly_per_tenant_and_independently_between_tenants,
        the_same_record_id_in_two_tenants_is_two_independent_rows,
        no_read_path_crosses_tenants,
        changes_return_the_latest_state_once_with_tombstones,
        changes_can_be_limited_to_some_entity_types,
        changes_page_with_has_more_and_next,
        changes_since_a_timestamp_use_updated_at,
        pending_matches_json_equality_and_sync_status,
        list_filters_and_pages_live_records,
        search_is_case_insensitive_and_sql_metacharacters_are_literal,
        history_lists_the_versions_inside_the_window,
        conflicts_are_logged_listed_and_resolved,
        idempotency_entries_are_stored_read_and_purged,
        purge_keeps_each_records_current_version,
        a_write_that_fails_halfway_leaves_nothing_behind,
        a_transaction_whose_write_failed_refuses_to_commit,
        dropping_a_write_transaction_rolls_it_back,
        ping_checks_that_the_database_is_migrated,
        a_closed_pool_is_unavailable_and_a_duplicate_is_a_conflict,
        begin_write_and_load_returns_what_begin_write_then_load_returns,
    ],
    with_url: [
        read_modify_writes_from_two_instances_lose_no_update,
        concurrent_writers_and_cursor_readers_see_every_change_once_in_order,
        a_write_costs_the_same_statements_for_one_record_or_a_hundred,
    ],
);

/// SQLite only: an in-memory database lives as long as the store and works with one connection.
#[tokio::test]
async fn an_in_memory_sqlite_database_keeps_its_data_for_the_life_of_the_store() {
    use syncd_store::Store;
    let store = syncd_store_sea::SeaStore::connect("sqlite::memory:", harness::options())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let t = fixtures::tenant("acme");
    let written = fixtures::create_many(&store, &t, "things", 3).await;
    let page = store
        .changes(
            &t,
            &syncd_store::ChangesQuery {
                since: syncd_store::Since::Seq(syncd_model::Seq::ZERO),
                entity_types: Vec::new(),
                limit: 10,
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
    let err = syncd_store_sea::SeaStore::connect("mysql://root:hunter2@db/x", Default::default())
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("hunter2"));
}

/// A database that refuses connections is `Unavailable` (retry later); a URL the driver cannot
/// use is not.
#[tokio::test]
async fn a_refused_connection_is_unavailable_and_a_bad_url_is_not() {
    let options = syncd_store_sea::StoreOptions {
        acquire_timeout: std::time::Duration::from_secs(2),
        ..Default::default()
    };
    let err =
        syncd_store_sea::SeaStore::connect("postgres://postgres@127.0.0.1:1/x", options.clone())
            .await
            .unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    let err = syncd_store_sea::SeaStore::connect("sqlite://x.db?mode=sideways", options)
        .await
        .unwrap_err();
    assert!(!err.is_unavailable(), "{err:?}");
}

/// PostgreSQL only: a tenant the planner statistics do not know is planned as one row, and the
/// lookups of a push then read the whole tenant. The store analyses in the background when a
/// tenant's writes double from 1 000, not only when its own writes do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_growing_tenant_gets_into_the_planner_statistics() {
    harness::on_postgres(|store, _| async move {
        use sea_orm::ConnectionTrait;
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
