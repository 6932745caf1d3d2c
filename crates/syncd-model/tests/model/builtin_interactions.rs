use super::*;

#[test]
fn interactions_declares_the_seed_fields_with_their_types() {
    let ty = interactions();
    let declared: Vec<(&str, FieldType, bool)> = ty
        .fields
        .iter()
        .map(|(n, s)| (n.as_str(), s.ty, s.required))
        .collect();
    assert_eq!(
        declared,
        [
            ("type", FieldType::String, true),
            ("title", FieldType::String, true),
            ("description", FieldType::Text, false),
            ("date", FieldType::Datetime, false),
            ("status", FieldType::String, false),
            ("client_user_id", FieldType::Uuid, false),
        ]
    );
    assert!(!ty.legacy_sync_fields);
    assert!(ty.aliases.is_empty());
}

#[test]
fn an_interaction_without_type_and_title_cannot_be_created() {
    let ty = interactions();
    let data = accepted(&ty, json!({ "description": "no type, no title" }));
    assert_eq!(
        ty.check_required(&data),
        [
            FieldError::new("type", "is required"),
            FieldError::new("title", "is required"),
        ]
    );
    let data = accepted(&ty, json!({ "type": "call" }));
    assert_eq!(
        ty.check_required(&data),
        [FieldError::new("title", "is required")]
    );
    let data = accepted(&ty, json!({ "type": "call", "title": "Follow up call" }));
    assert!(ty.check_required(&data).is_empty());
}

#[test]
fn type_and_title_can_never_be_set_to_null() {
    let errors = refused(&interactions(), json!({ "type": null, "title": null }));
    assert_eq!(fields_of(&errors), ["type", "title"]);
    assert!(
        errors
            .iter()
            .all(|e| e.message == "is required and cannot be null")
    );
}

#[test]
fn the_type_is_free_text_such_as_call_meeting_or_email() {
    let ty = interactions();
    for kind in ["call", "meeting", "email", "site visit"] {
        accepted(&ty, json!({ "type": kind, "title": "t" }));
    }
    let error = only_error(&ty, json!({ "type": 1, "title": "t" }));
    assert_eq!(
        error,
        FieldError::new("type", "must be a string, got a number")
    );
}

#[test]
fn status_is_pending_completed_or_cancelled() {
    let ty = interactions();
    for status in ["pending", "completed", "cancelled"] {
        let data = accepted(&ty, json!({ "status": status }));
        assert_eq!(data["status"], status);
    }
    for bad in ["done", "Pending", ""] {
        let error = only_error(&ty, json!({ "status": bad }));
        assert_eq!(
            error,
            FieldError::new("status", "must be one of: pending, completed, cancelled"),
            "{bad:?}"
        );
    }
}

#[test]
fn a_new_interaction_is_pending_by_default() {
    let ty = interactions();
    let mut data = accepted(&ty, json!({ "type": "call", "title": "Follow up call" }));
    ty.apply_defaults(&mut data);
    assert_eq!(
        Value::Object(data),
        json!({ "type": "call", "title": "Follow up call", "status": "pending" })
    );
    let mut data = accepted(&ty, json!({ "status": "completed" }));
    ty.apply_defaults(&mut data);
    assert_eq!(data["status"], "completed");
}

#[test]
fn the_date_must_be_an_rfc_3339_date_time() {
    let ty = interactions();
    for good in [
        "2024-01-01T10:00:00Z",
        "2024-01-01T10:00:00.123Z",
        "2024-01-01T10:00:00+02:00",
    ] {
        let data = accepted(&ty, json!({ "date": good }));
        assert_eq!(data["date"], good, "stored as sent");
    }
    for bad in [
        json!("2024-01-01"),
        json!("2024-01-01 10:00:00"),
        json!("yesterday"),
        json!("2024-13-01T10:00:00Z"),
        json!(1_704_103_200_000_i64),
        json!(true),
    ] {
        let error = only_error(&ty, json!({ "date": bad }));
        assert_eq!(error.field, "date", "{bad}");
        assert_eq!(
            error.message, "must be an RFC 3339 date-time such as 2024-01-01T10:00:00Z",
            "{bad}"
        );
    }
}

#[test]
fn client_user_id_must_be_a_uuid() {
    let ty = interactions();
    for bad in [json!("42"), json!("not-a-uuid"), json!(42), json!({})] {
        let error = only_error(&ty, json!({ "client_user_id": bad }));
        assert_eq!(
            error,
            FieldError::new("client_user_id", "must be a UUID"),
            "{bad}"
        );
    }
    accepted(&ty, json!({ "client_user_id": null }));
}

#[test]
fn client_user_id_is_stored_lowercase_and_hyphenated() {
    let ty = interactions();
    let data = accepted(&ty, json!({ "client_user_id": ID_A.to_uppercase() }));
    assert_eq!(data["client_user_id"], ID_A);
    let data = accepted(&ty, json!({ "client_user_id": ID_A.replace('-', "") }));
    assert_eq!(data["client_user_id"], ID_A);
}

#[test]
fn client_user_id_references_end_user() {
    let ty = interactions();
    let references: Vec<(&str, &str)> = ty.references().map(|(f, t)| (f, t.as_str())).collect();
    assert_eq!(references, [("client_user_id", "end_user")]);
    assert_eq!(end_user().references().count(), 0);
}

#[test]
fn a_delete_of_an_interaction_sets_status_to_cancelled() {
    assert_eq!(
        interactions().deletion,
        DeletionRule::SetField {
            field: "status".into(),
            value: json!("cancelled"),
            marks_delete_on_push: false,
        }
    );
}

#[test]
fn pushing_an_interaction_with_status_cancelled_is_not_a_delete() {
    let changes = prepared(json!({ "changes": { "interactions": [
        { "id": ID_A, "type": "call", "title": "t", "status": "cancelled" }
    ] } }));
    assert_eq!(changes[0].op, ChangeOp::Upsert);
    assert_eq!(changes[0].data["status"], "cancelled");
    let changes = prepared(json!({ "changes": [
        { "entityType": "interactions", "op": "update", "id": ID_A,
          "data": { "status": "cancelled" } }
    ] }));
    assert_eq!(changes[0].op, ChangeOp::Upsert);
}

#[test]
fn a_delete_operation_on_an_interaction_is_a_delete() {
    let changes = prepared(json!({ "table": "interactions", "operation": "delete", "id": ID_A }));
    assert_eq!(changes[0].op, ChangeOp::Delete);
    assert_eq!(changes[0].id.unwrap().to_string(), ID_A);
    assert!(changes[0].data.is_empty());
}

#[test]
fn interactions_have_no_pull_pending_conditions() {
    assert!(interactions().pending.is_empty());
}

#[test]
fn a_description_is_long_free_text() {
    let ty = interactions();
    let long = "word ".repeat(10_000);
    let data = accepted(&ty, json!({ "description": long }));
    assert_eq!(data["description"].as_str().unwrap().len(), 50_000);
}

#[test]
fn the_seed_map_form_example_validates_as_is() {
    let changes = prepared(json!({ "clientId": "optional", "changes": {
        "end_user": [ { "id": "uuid-or-null", "name": "John Doe", "email": "john@example.com",
                        "sync_status": "pending", "server_synced": 0, "version": 1 } ],
        "interactions": [ { "id": null, "type": "call", "title": "Follow up call",
                            "date": "2024-01-01T10:00:00Z", "status": "pending" } ] } }));
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0].entity_type.name.as_str(), "end_user");
    assert_eq!(
        changes[0].id, None,
        "`uuid-or-null` is not a UUID: a new record"
    );
    assert_eq!(changes[0].base_version, Some(syncd_model::Version(1)));
    assert_eq!(
        Value::Object(changes[0].data.clone()),
        json!({ "name": "John Doe", "email": "john@example.com" })
    );
    assert_eq!(changes[1].entity_type.name.as_str(), "interactions");
    assert_eq!(
        Value::Object(changes[1].data.clone()),
        json!({ "type": "call", "title": "Follow up call",
                "date": "2024-01-01T10:00:00Z", "status": "pending" })
    );
}
