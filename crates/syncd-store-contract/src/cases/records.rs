//! Records written in a transaction come back as written, with seqs allocated per tenant.

use serde_json::json;
use syncd_model::{Record, RecordId, Seq, SyncStatus, TenantId, Version};
use syncd_store::{RecordWrite, Store, WriteBatch, WriteKind};

use crate::fixtures::*;

pub async fn a_record_round_trips_every_field<S: Store>(store: &S) {
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

    history_and_load_return_the_version(store, &t, &record).await;
}

/// The one version of `record` (created at 1_700_000_000_789 with two changed fields) through
/// history, and through a transaction's load as a merge asks for it.
async fn history_and_load_return_the_version<S: Store>(store: &S, t: &TenantId, record: &Record) {
    let (id, k) = (record.id, key("end_user", record.id));
    let history = store.history(t, &k, at(0)).await.unwrap();
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
    let mut tx = store.begin_write(t).await.unwrap();
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

pub async fn seqs_increase_strictly_per_tenant_and_independently_between_tenants<S: Store>(
    store: &S,
) {
    let (a, b) = (tenant("a"), tenant("b"));
    let first = create_many(store, &a, "things", 3).await;
    assert_eq!(seqs(&first), vec![Seq(1), Seq(2), Seq(3)]);
    let other = create_many(store, &b, "things", 2).await;
    assert_eq!(seqs(&other), vec![Seq(1), Seq(2)]);
    let second = create_many(store, &a, "things", 2).await;
    assert_eq!(seqs(&second), vec![Seq(4), Seq(5)]);
    // An update takes a new seq too.
    let updated = apply(
        store,
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
