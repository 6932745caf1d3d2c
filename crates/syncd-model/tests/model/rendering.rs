use syncd_model::{Record, RecordId, Seq, SyncStatus, Timestamp, Version};

use super::*;

fn record(ty: &EntityType, data: Value, status: SyncStatus) -> Record {
    Record {
        entity_type: ty.name.clone(),
        id: RecordId::parse(ID_A).unwrap(),
        version: Version(3),
        seq: Seq(41),
        data: ty.normalize(obj(data), &limits()).unwrap(),
        deleted: false,
        sync_status: status,
        created_at: Timestamp::parse_rfc3339("2024-01-01T10:00:00Z").unwrap(),
        updated_at: Timestamp::parse_rfc3339("2024-01-01T12:00:00.5Z").unwrap(),
        edited_at: Timestamp::parse_rfc3339("2024-01-01T11:59:00Z").unwrap(),
    }
}

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn a_synced_end_user_shows_server_synced_one_and_last_updated() {
    let ty = end_user();
    let json = record(
        &ty,
        json!({ "name": "John Doe", "email": "john@example.com" }),
        SyncStatus::Synced,
    )
    .to_json(&ty);
    assert_eq!(
        json,
        json!({ "id": ID_A, "name": "John Doe", "email": "john@example.com", "version": 3,
                "sync_status": "synced", "server_synced": 1,
                "last_updated": "2024-01-01T12:00:00.500Z",
                "createdAt": "2024-01-01T10:00:00.000Z", "updatedAt": "2024-01-01T12:00:00.500Z",
                "deleted": false })
    );
    assert_eq!(
        keys(&json),
        [
            "id",
            "name",
            "email",
            "version",
            "sync_status",
            "server_synced",
            "last_updated",
            "createdAt",
            "updatedAt",
            "deleted"
        ]
    );
}

#[test]
fn a_pending_end_user_shows_server_synced_zero() {
    let ty = end_user();
    let json = record(&ty, json!({ "name": "John" }), SyncStatus::Pending).to_json(&ty);
    assert_eq!(json["sync_status"], "pending");
    assert_eq!(json["server_synced"], 0);
}

#[test]
fn the_kept_copy_of_a_manual_conflict_shows_status_conflict() {
    let ty = end_user();
    let record = record(&ty, json!({ "name": "John" }), SyncStatus::Synced);
    let json = serde_json::to_value(record.view_with_status(&ty, SyncStatus::Conflict)).unwrap();
    assert_eq!(json["sync_status"], "conflict");
    assert_eq!(json["server_synced"], 0);
    assert_eq!(
        serde_json::to_value(record.view(&ty)).unwrap(),
        record.to_json(&ty)
    );
}

#[test]
fn an_interaction_shows_no_seed_sync_fields() {
    let ty = interactions();
    let json = record(
        &ty,
        json!({ "type": "call", "title": "t" }),
        SyncStatus::Synced,
    )
    .to_json(&ty);
    assert_eq!(
        keys(&json),
        [
            "id",
            "type",
            "title",
            "version",
            "sync_status",
            "createdAt",
            "updatedAt",
            "deleted"
        ]
    );
}

#[test]
fn a_tombstone_shows_deleted_true() {
    let ty = end_user();
    let mut record = record(
        &ty,
        json!({ "name": "John", "is_deleted": 1 }),
        SyncStatus::Synced,
    );
    record.deleted = true;
    let json = record.to_json(&ty);
    assert_eq!(json["deleted"], true);
    assert_eq!(json["is_deleted"], 1);
}

#[test]
fn a_client_never_sees_a_tenant_id() {
    let ty = end_user();
    let json = record(
        &ty,
        json!({ "name": "John", "tenant_id": "acme", "tenantId": "acme", "tid": "acme" }),
        SyncStatus::Synced,
    )
    .to_json(&ty);
    for key in ["tenant_id", "tenantId", "tid"] {
        assert!(json.get(key).is_none(), "{key}");
    }
}

#[test]
fn server_managed_keys_that_slipped_into_stored_data_are_not_shown() {
    let ty = interactions();
    let mut record = record(
        &ty,
        json!({ "type": "call", "title": "t" }),
        SyncStatus::Synced,
    );
    record.data.insert("tenant_id".into(), json!("acme"));
    record.data.insert("version".into(), json!(99));
    record.data.insert("id".into(), json!("forged"));
    let json = record.to_json(&ty);
    assert!(json.get("tenant_id").is_none());
    assert_eq!(json["version"], 3);
    assert_eq!(json["id"], ID_A);
    let text = serde_json::to_string(&record.view(&ty)).unwrap();
    assert_eq!(text.matches("\"version\"").count(), 1, "{text}");
    assert_eq!(text.matches("\"id\"").count(), 1, "{text}");
}
