//! Group commit: several pushes' batches stored by one transaction, a push dropped while
//! planning giving its seqs back, and idempotency keys read together.

use serde_json::json;
use syncd_model::{ClientId, Record, RecordId, Seq, SubjectId, SyncStatus, Timestamp, Version};
use syncd_store::{IdempotencyEntry, PushAudit, RecordWrite, Store, WriteBatch, WriteKind};

use crate::fixtures::*;

fn record(id: RecordId, version: Version, seq: Seq, n: i64, at: Timestamp) -> Record {
    Record {
        entity_type: ty("things"),
        id,
        version,
        seq,
        data: obj(json!({ "n": n })),
        deleted: false,
        sync_status: SyncStatus::Synced,
        created_at: at,
        updated_at: at,
        edited_at: at,
    }
}

/// One push's batch: its writer, its records, an idempotency entry and an audit row.
fn batch(writer: &str, records: Vec<(Record, WriteKind)>, at: Timestamp) -> WriteBatch {
    let client = ClientId::parse(writer).unwrap();
    let subject = SubjectId::parse(format!("user-{writer}")).unwrap();
    let mut batch = WriteBatch::new(client.clone(), subject.clone(), at);
    let seqs: Vec<Seq> = records.iter().map(|(r, _)| r.seq).collect();
    batch.records = records
        .into_iter()
        .map(|(record, kind)| RecordWrite {
            record,
            kind,
            changed_fields: vec!["n".into()],
        })
        .collect();
    batch.idempotency = Some(IdempotencyEntry {
        client_id: client.clone(),
        key: format!("key-{writer}"),
        request_hash: format!("hash-{writer}"),
        response: format!("{{\"answer\":\"{writer}\"}}"),
        created_at: at,
    });
    batch.audit = Some(PushAudit {
        client_id: client,
        subject,
        changes: seqs.len() as u32,
        created: 0,
        updated: 0,
        deleted: 0,
        unchanged: 0,
        conflicts: 0,
        seq_range: seqs.first().zip(seqs.last()).map(|(a, b)| (*a, *b)),
        at,
    });
    batch
}

/// Three pushes planned in one transaction: the first creates two records, the second fails
/// while planning (its seq is given back), the third updates a record the first created. One
/// `write_all` stores the two that stand, each row with its own writer, and the seqs stay
/// contiguous.
pub async fn write_all_stores_several_batches_each_with_its_writer<S: Store>(store: &S) {
    let t = tenant("acme");
    let (a, b) = (RecordId::new_v7(), RecordId::new_v7());
    let (t1, t2) = (at(10_000), at(20_000));
    let mut tx = store.begin_write(&t).await.unwrap();
    let first = batch(
        "app-1",
        vec![
            (
                record(a, Version(1), tx.next_seq(), 1, t1),
                WriteKind::Create,
            ),
            (
                record(b, Version(1), tx.next_seq(), 1, t1),
                WriteKind::Create,
            ),
        ],
        t1,
    );
    // The second push took a seq, then failed: it gives it back.
    let before = tx.head();
    let _dropped = tx.next_seq();
    tx.rewind(before).unwrap();
    let third = batch(
        "app-3",
        vec![(
            record(a, Version(2), tx.next_seq(), 2, t2),
            WriteKind::Update,
        )],
        t2,
    );
    assert_eq!(third.records[0].record.seq, Seq(3));
    tx.write_all(&[&first, &third]).await.unwrap();
    // Nothing below what is stored can be given back.
    assert!(tx.rewind(Seq(1)).is_err());
    tx.commit().await.unwrap();

    assert_eq!(store.head(&t).await.unwrap(), Seq(3));
    let page = store.changes(&t, &since(0, &[], 10)).await.unwrap();
    assert_eq!(seqs(&page.records), vec![Seq(2), Seq(3)]);
    let latest = page.records.iter().find(|r| r.id == a).unwrap();
    assert_eq!(
        (latest.version, latest.data.clone()),
        (Version(2), obj(json!({ "n": 2 })))
    );
    let history = store.history(&t, &key("things", a), at(0)).await.unwrap();
    let writers: Vec<(Version, &str, Timestamp)> = history
        .iter()
        .map(|v| (v.version, v.client_id.as_str(), v.at))
        .collect();
    assert_eq!(
        writers,
        vec![(Version(1), "app-1", t1), (Version(2), "app-3", t2)]
    );

    for writer in ["app-1", "app-3"] {
        let client = ClientId::parse(writer).unwrap();
        let entry = store
            .idempotency(&t, &client, &format!("key-{writer}"))
            .await;
        let entry = entry.unwrap().unwrap();
        assert_eq!(entry.response, format!("{{\"answer\":\"{writer}\"}}"));
    }
}

/// `idempotency_many` finds every asked key that exists, of the right client only.
pub async fn idempotency_many_reads_several_keys_under_the_lock<S: Store>(store: &S) {
    let t = tenant("acme");
    let mut tx = store.begin_write(&t).await.unwrap();
    let one = batch("app-1", Vec::new(), Timestamp::now());
    let two = batch("app-2", Vec::new(), Timestamp::now());
    tx.write_all(&[&one, &two]).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin_write(&t).await.unwrap();
    assert!(tx.idempotency_many(&[]).await.unwrap().is_empty());
    let asked = vec![
        (ClientId::parse("app-1").unwrap(), "key-app-1".to_owned()),
        // Another client's key is not found under this client.
        (ClientId::parse("app-1").unwrap(), "key-app-2".to_owned()),
        (ClientId::parse("app-2").unwrap(), "key-app-2".to_owned()),
        (ClientId::parse("app-3").unwrap(), "key-app-3".to_owned()),
    ];
    let mut found: Vec<(String, String)> = tx
        .idempotency_many(&asked)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.client_id.as_str().to_owned(), e.key))
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            ("app-1".to_owned(), "key-app-1".to_owned()),
            ("app-2".to_owned(), "key-app-2".to_owned()),
        ]
    );
    tx.rollback().await.unwrap();
}
