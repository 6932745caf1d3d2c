use syncd_model::{PushBodyError, RawChange, Timestamp, Version, worst_kind};

use super::*;

fn body_error(body: Value) -> String {
    match parse_push_body(body.clone()) {
        Ok(parsed) => panic!("{body} was accepted: {parsed:?}"),
        Err(PushBodyError(message)) => message,
    }
}

fn ts(value: &str) -> Timestamp {
    Timestamp::parse_rfc3339(value).unwrap()
}

fn summary(changes: &[RawChange]) -> Vec<(usize, &str, ChangeOp)> {
    changes
        .iter()
        .map(|c| (c.index, c.entity_type.as_str(), c.op))
        .collect()
}

// --- map form ---------------------------------------------------------------------------

#[test]
fn the_map_form_is_applied_in_key_order_then_array_order() {
    let body = parsed(json!({ "clientId": "tablet-1", "changes": {
        "interactions": [ { "title": "a" }, { "title": "b" } ],
        "end_user": [ { "name": "c" } ],
        "zebra": [ { "x": 1 } ]
    } }));
    assert_eq!(body.client_id.as_deref(), Some("tablet-1"));
    assert!(body.errors.is_empty());
    assert_eq!(
        summary(&body.changes),
        [
            (0, "interactions", ChangeOp::Upsert),
            (1, "interactions", ChangeOp::Upsert),
            (2, "end_user", ChangeOp::Upsert),
            (3, "zebra", ChangeOp::Upsert),
        ]
    );
    assert_eq!(body.changes[1].data["title"], "b");
}

#[test]
fn the_map_form_takes_the_base_version_from_version() {
    let body = parsed(json!({ "changes": { "end_user": [
        { "name": "a", "version": 3 }, { "name": "b" }, { "name": "c", "version": null },
        { "name": "d", "version": 0 }
    ] } }));
    let versions: Vec<Option<Version>> = body.changes.iter().map(|c| c.base_version).collect();
    assert_eq!(versions, [Some(Version(3)), None, None, Some(Version(0))]);
}

#[test]
fn the_map_form_takes_the_edit_time_from_updated_at_or_last_updated() {
    let body = parsed(json!({ "changes": { "end_user": [
        { "name": "a", "updatedAt": "2024-01-01T10:00:00Z" },
        { "name": "b", "last_updated": "2024-01-02T10:00:00.500+01:00" },
        { "name": "c", "updatedAt": "2024-01-03T10:00:00Z",
          "last_updated": "2024-01-04T10:00:00Z" },
        { "name": "d", "updatedAt": null, "last_updated": "2024-01-05T10:00:00Z" },
        { "name": "e" }
    ] } }));
    let times: Vec<Option<Timestamp>> = body.changes.iter().map(|c| c.client_edit_time).collect();
    assert_eq!(
        times,
        [
            Some(ts("2024-01-01T10:00:00Z")),
            Some(ts("2024-01-02T09:00:00.500Z")),
            Some(ts("2024-01-03T10:00:00Z")),
            Some(ts("2024-01-05T10:00:00Z")),
            None,
        ]
    );
}

#[test]
fn a_map_form_record_marked_deleted_is_a_delete() {
    let body = parsed(json!({ "changes": { "interactions": [
        { "id": ID_A, "deleted": true },
        { "id": ID_A, "isDeleted": true },
        { "id": ID_A, "deleted": false },
        { "id": ID_A, "isDeleted": false },
        { "id": ID_A, "deleted": "true" }
    ] } }));
    let ops: Vec<ChangeOp> = body.changes.iter().map(|c| c.op).collect();
    assert_eq!(
        ops,
        [
            ChangeOp::Delete,
            ChangeOp::Delete,
            ChangeOp::Upsert,
            ChangeOp::Upsert,
            ChangeOp::Upsert,
        ]
    );
}

#[test]
fn a_missing_null_or_non_uuid_id_means_a_new_record() {
    let body = parsed(json!({ "changes": { "end_user": [
        { "name": "a" }, { "id": null, "name": "b" }, { "id": "42", "name": "c" },
        { "id": 42, "name": "d" }, { "id": "", "name": "e" }, { "id": ID_A, "name": "f" },
        { "id": ID_B.to_uppercase(), "name": "g" }
    ] } }));
    let ids: Vec<Option<String>> = body
        .changes
        .iter()
        .map(|c| c.id.map(|id| id.to_string()))
        .collect();
    assert_eq!(
        ids,
        [
            None,
            None,
            None,
            None,
            None,
            Some(ID_A.to_owned()),
            Some(ID_B.to_owned())
        ]
    );
}

#[test]
fn the_push_id_and_client_id_are_read_from_the_body() {
    let body = parsed(json!({ "clientId": "c1", "pushId": "p-7", "changes": {} }));
    assert_eq!(body.client_id.as_deref(), Some("c1"));
    assert_eq!(body.push_id.as_deref(), Some("p-7"));
    assert!(body.changes.is_empty() && body.errors.is_empty());
    let body = parsed(json!({ "clientId": null, "changes": [] }));
    assert_eq!(body.client_id, None);
    assert_eq!(body.push_id, None);
}

#[test]
fn a_map_form_type_that_is_not_an_array_is_a_shape_error_with_its_index() {
    let body = parsed(json!({ "changes": {
        "end_user": [ { "name": "a" } ],
        "interactions": { "title": "not in an array" },
        "zebra": [ { "x": 1 } ]
    } }));
    assert_eq!(
        summary(&body.changes),
        [
            (0, "end_user", ChangeOp::Upsert),
            (2, "zebra", ChangeOp::Upsert)
        ]
    );
    assert_eq!(body.errors.len(), 1);
    let error = &body.errors[0];
    assert_eq!(error.index, 1);
    assert_eq!(error.kind, ChangeErrorKind::BadShape);
    assert_eq!(error.entity_type.as_deref(), Some("interactions"));
    assert_eq!(
        error.message,
        "`changes.interactions` must be an array of records"
    );
}

#[test]
fn a_map_form_record_that_is_not_an_object_is_a_shape_error_with_its_index() {
    let body = parsed(json!({ "changes": { "end_user": [
        { "name": "a" }, "John", 7, null, [ { "name": "b" } ], { "name": "c" }
    ] } }));
    assert_eq!(
        summary(&body.changes),
        [
            (0, "end_user", ChangeOp::Upsert),
            (5, "end_user", ChangeOp::Upsert)
        ]
    );
    let errors: Vec<(usize, &str)> = body
        .errors
        .iter()
        .map(|e| (e.index, e.message.as_str()))
        .collect();
    assert_eq!(
        errors,
        [
            (1, "a record must be a JSON object, got a string"),
            (2, "a record must be a JSON object, got a number"),
            (3, "a record must be a JSON object, got null"),
            (4, "a record must be a JSON object, got an array"),
        ]
    );
    assert!(
        body.errors
            .iter()
            .all(|e| e.kind == ChangeErrorKind::BadShape)
    );
}

#[test]
fn a_map_form_version_that_is_not_a_non_negative_integer_is_refused() {
    for bad in [json!("3"), json!(-1), json!(1.5), json!(true), json!([1])] {
        let body =
            parsed(json!({ "changes": { "end_user": [ { "name": "a", "version": bad } ] } }));
        assert!(body.changes.is_empty(), "{bad}");
        assert_eq!(body.errors.len(), 1, "{bad}");
        let error = &body.errors[0];
        assert_eq!(error.index, 0);
        assert_eq!(error.field.as_deref(), Some("version"));
        assert_eq!(error.entity_type.as_deref(), Some("end_user"));
        assert_eq!(error.message, "must be a non-negative integer");
    }
}

#[test]
fn a_map_form_edit_time_the_server_cannot_read_is_ignored_not_refused() {
    for (field, unreadable) in [
        ("updatedAt", json!("yesterday")),
        ("last_updated", json!("2024-01-01")),
        ("last_updated", json!({})),
    ] {
        let body = parsed(
            json!({ "changes": { "end_user": [ { "name": "a", field: unreadable.clone() } ] } }),
        );
        assert!(
            body.errors.is_empty(),
            "{field} {unreadable}: {:?}",
            body.errors
        );
        assert_eq!(
            body.changes[0].client_edit_time, None,
            "{field} {unreadable}"
        );
    }
}

#[test]
fn a_map_form_edit_time_in_unix_milliseconds_is_read() {
    let body = parsed(
        json!({ "changes": { "end_user": [ { "name": "a", "last_updated": 1_704_103_200_000_i64 } ] } }),
    );
    assert_eq!(
        body.changes[0].client_edit_time,
        Some(Timestamp::from_millis(1_704_103_200_000))
    );
}

#[test]
fn a_delete_without_a_record_id_is_refused_naming_the_id() {
    let body = parsed(json!({ "table": "end_user", "operation": "delete", "data": {} }));
    let errors = Registry::builtin()
        .prepare(body.changes, body.errors, &limits())
        .unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field.as_deref(), Some("id"));
    assert_eq!(errors[0].kind, ChangeErrorKind::Invalid);
}

// --- single-operation form --------------------------------------------------------------

#[test]
fn a_single_create_or_update_is_an_upsert() {
    for operation in ["create", "update"] {
        let body = parsed(json!({ "table": "end_user", "operation": operation,
            "data": { "name": "John Doe", "email": "john@example.com", "phone": "1234567890" } }));
        assert!(body.errors.is_empty());
        assert_eq!(summary(&body.changes), [(0, "end_user", ChangeOp::Upsert)]);
        assert_eq!(body.changes[0].data["name"], "John Doe");
        assert_eq!(body.changes[0].id, None);
    }
}

#[test]
fn a_single_delete_may_name_its_record_at_the_top_level() {
    let body = parsed(json!({ "table": "end_user", "operation": "delete", "id": ID_A }));
    assert_eq!(summary(&body.changes), [(0, "end_user", ChangeOp::Delete)]);
    assert_eq!(body.changes[0].id.unwrap().to_string(), ID_A);
    let body =
        parsed(json!({ "table": "end_user", "operation": "delete", "data": { "id": ID_B } }));
    assert_eq!(body.changes[0].id.unwrap().to_string(), ID_B);
}

#[test]
fn the_id_inside_data_wins_over_the_top_level_one() {
    let body = parsed(
        json!({ "table": "end_user", "operation": "update", "id": ID_A,
                              "data": { "id": ID_B, "name": "x" } }),
    );
    assert_eq!(body.changes[0].id.unwrap().to_string(), ID_B);
}

#[test]
fn a_single_operation_takes_version_and_edit_time_from_its_data() {
    let body = parsed(
        json!({ "table": "end_user", "operation": "update", "data": {
        "id": ID_A, "name": "x", "version": 4, "last_updated": "2024-01-01T12:00:00.000Z" } }),
    );
    let change = &body.changes[0];
    assert_eq!(change.base_version, Some(Version(4)));
    assert_eq!(change.client_edit_time, Some(ts("2024-01-01T12:00:00Z")));
}

#[test]
fn a_single_operation_accepts_op_as_well_as_operation() {
    let body = parsed(json!({ "table": "interactions", "op": "delete", "id": ID_A }));
    assert_eq!(
        summary(&body.changes),
        [(0, "interactions", ChangeOp::Delete)]
    );
}

#[test]
fn a_single_update_with_is_deleted_true_is_a_delete() {
    let body = parsed(json!({ "table": "interactions", "operation": "update",
                              "data": { "id": ID_A, "deleted": true } }));
    assert_eq!(body.changes[0].op, ChangeOp::Delete);
}

#[test]
fn a_single_operation_with_an_unknown_operation_is_refused() {
    let message = body_error(json!({ "table": "end_user", "operation": "merge", "data": {} }));
    assert_eq!(
        message,
        "unknown operation `merge`; expected create, update or delete"
    );
}

#[test]
fn a_single_operation_without_an_operation_is_refused() {
    let message = body_error(json!({ "table": "end_user", "data": { "name": "x" } }));
    assert_eq!(message, "`operation` is required: create, update or delete");
    let message = body_error(json!({ "table": "end_user", "operation": 1, "data": {} }));
    assert_eq!(message, "`operation` must be a string");
}

#[test]
fn a_single_operation_whose_table_is_not_a_string_is_refused() {
    for table in [json!(null), json!(1), json!(["end_user"])] {
        let message = body_error(json!({ "table": table, "operation": "create" }));
        assert_eq!(message, "`table` must be a string");
    }
}

#[test]
fn a_single_operation_whose_data_is_not_an_object_is_refused() {
    for (data, kind) in [
        (json!([]), "an array"),
        (json!("x"), "a string"),
        (json!(1), "a number"),
    ] {
        let message =
            body_error(json!({ "table": "end_user", "operation": "create", "data": data }));
        assert_eq!(message, format!("`data` must be a JSON object, got {kind}"));
    }
}

#[test]
fn a_single_operation_with_a_bad_version_is_a_change_error_at_index_zero() {
    let body = parsed(json!({ "table": "end_user", "operation": "update",
                              "data": { "name": "x", "version": "two" } }));
    assert!(body.changes.is_empty());
    assert_eq!(body.errors[0].index, 0);
    assert_eq!(body.errors[0].field.as_deref(), Some("version"));
}

#[test]
fn a_single_operation_on_an_unknown_table_is_an_unknown_entity_type() {
    let errors = prepare_errors(json!({ "table": "ghosts", "operation": "create", "data": {} }));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind, ChangeErrorKind::UnknownEntityType);
    assert_eq!(errors[0].entity_type.as_deref(), Some("ghosts"));
    assert_eq!(errors[0].message, "unknown entity type `ghosts`");
}

// --- list form --------------------------------------------------------------------------

#[test]
fn the_list_form_keeps_the_body_order_across_types() {
    let body = parsed(json!({ "clientId": "c1", "changes": [
        { "entityType": "interactions", "op": "create", "data": { "title": "a" } },
        { "entityType": "end_user", "op": "upsert", "data": { "name": "b" } },
        { "entityType": "interactions", "op": "update", "id": ID_A, "data": { "title": "c" } },
        { "entityType": "end_user", "op": "delete", "id": ID_B }
    ] }));
    assert!(body.errors.is_empty());
    assert_eq!(
        summary(&body.changes),
        [
            (0, "interactions", ChangeOp::Upsert),
            (1, "end_user", ChangeOp::Upsert),
            (2, "interactions", ChangeOp::Upsert),
            (3, "end_user", ChangeOp::Delete),
        ]
    );
    assert!(body.changes[3].data.is_empty());
}

#[test]
fn a_list_change_carries_id_base_version_edit_time_and_data() {
    let body = parsed(json!({ "changes": [
        { "entityType": "end_user", "op": "upsert", "id": ID_A, "baseVersion": 3,
          "data": { "name": "x" }, "clientUpdatedAt": "2024-01-01T10:00:00Z" }
    ] }));
    assert_eq!(
        body.changes,
        [RawChange {
            index: 0,
            entity_type: "end_user".into(),
            op: ChangeOp::Upsert,
            id: Some(syncd_model::RecordId::parse(ID_A).unwrap()),
            base_version: Some(Version(3)),
            client_edit_time: Some(ts("2024-01-01T10:00:00Z")),
            data: obj(json!({ "name": "x" })),
        }]
    );
}

#[test]
fn a_list_change_without_op_is_an_upsert() {
    let body =
        parsed(json!({ "changes": [ { "entityType": "end_user", "data": { "name": "x" } } ] }));
    assert_eq!(body.changes[0].op, ChangeOp::Upsert);
    let body = parsed(json!({ "changes": [ { "entityType": "end_user", "op": null } ] }));
    assert_eq!(body.changes[0].op, ChangeOp::Upsert);
}

#[test]
fn a_list_change_may_carry_its_id_inside_data() {
    let body = parsed(json!({ "changes": [
        { "entityType": "end_user", "data": { "id": ID_A, "name": "x" } },
        { "entityType": "end_user", "id": ID_B, "data": { "id": ID_A } },
        { "entityType": "end_user", "id": "nope", "data": {} }
    ] }));
    assert_eq!(body.changes[0].id.unwrap().to_string(), ID_A);
    assert_eq!(
        body.changes[1].id.unwrap().to_string(),
        ID_B,
        "top level wins"
    );
    assert_eq!(body.changes[2].id, None);
}

#[test]
fn the_list_form_reads_the_base_version_only_from_base_version() {
    let body = parsed(json!({ "changes": [
        { "entityType": "end_user", "data": { "name": "x", "version": 9 } }
    ] }));
    assert_eq!(body.changes[0].base_version, None);
}

#[test]
fn a_list_change_with_an_unknown_op_is_a_shape_error_with_its_index() {
    let body = parsed(json!({ "changes": [
        { "entityType": "end_user", "op": "upsert", "data": { "name": "a" } },
        { "entityType": "end_user", "op": "merge", "data": { "name": "b" } },
        { "entityType": "end_user", "op": 7 },
        { "entityType": "end_user", "op": "delete", "id": ID_A }
    ] }));
    assert_eq!(
        summary(&body.changes),
        [
            (0, "end_user", ChangeOp::Upsert),
            (3, "end_user", ChangeOp::Delete)
        ]
    );
    assert_eq!(body.errors.len(), 2);
    assert_eq!(body.errors[0].index, 1);
    assert_eq!(body.errors[0].kind, ChangeErrorKind::BadShape);
    assert_eq!(body.errors[0].entity_type.as_deref(), Some("end_user"));
    assert_eq!(
        body.errors[0].message,
        "unknown op `merge`; expected upsert, create, update or delete"
    );
    assert_eq!(body.errors[1].index, 2);
    assert_eq!(body.errors[1].kind, ChangeErrorKind::BadShape);
    assert_eq!(body.errors[1].message, "`op` must be a string");
}

#[test]
fn a_list_change_that_is_not_an_object_is_a_shape_error_with_its_index() {
    let body = parsed(json!({ "changes": [ "end_user", 1, null, [] ] }));
    assert!(body.changes.is_empty());
    let errors: Vec<(usize, &str)> = body
        .errors
        .iter()
        .map(|e| (e.index, e.message.as_str()))
        .collect();
    assert_eq!(
        errors,
        [
            (0, "a change must be a JSON object, got a string"),
            (1, "a change must be a JSON object, got a number"),
            (2, "a change must be a JSON object, got null"),
            (3, "a change must be a JSON object, got an array"),
        ]
    );
    assert!(
        body.errors
            .iter()
            .all(|e| e.kind == ChangeErrorKind::BadShape)
    );
    assert!(body.errors.iter().all(|e| e.entity_type.is_none()));
}

#[test]
fn a_list_change_without_a_string_entity_type_is_a_shape_error() {
    for change in [
        json!({ "op": "upsert", "data": { "name": "x" } }),
        json!({ "entityType": null }),
        json!({ "entityType": 3 }),
        json!({ "entity_type": "end_user" }),
    ] {
        let body = parsed(json!({ "changes": [ change.clone() ] }));
        assert!(body.changes.is_empty(), "{change}");
        assert_eq!(body.errors[0].kind, ChangeErrorKind::BadShape);
        assert_eq!(
            body.errors[0].message,
            "`entityType` is required and must be a string"
        );
    }
}

#[test]
fn a_list_change_whose_data_is_not_an_object_is_a_shape_error() {
    let body = parsed(json!({ "changes": [ { "entityType": "end_user", "data": [1] } ] }));
    assert_eq!(body.errors[0].kind, ChangeErrorKind::BadShape);
    assert_eq!(
        body.errors[0].message,
        "`data` must be a JSON object, got an array"
    );
}

#[test]
fn a_list_change_with_a_wrongly_typed_base_version_is_refused() {
    for bad in [json!("3"), json!(-2), json!(2.5), json!({})] {
        let body = parsed(json!({ "changes": [
            { "entityType": "end_user", "baseVersion": bad, "data": { "name": "x" } }
        ] }));
        assert!(body.changes.is_empty());
        assert_eq!(body.errors[0].field.as_deref(), Some("baseVersion"));
        assert_eq!(body.errors[0].message, "must be a non-negative integer");
    }
}

#[test]
fn a_list_change_with_a_wrongly_typed_client_updated_at_is_refused() {
    for (bad, message) in [
        (
            json!("noon"),
            "not an RFC 3339 date-time (e.g. 2024-01-01T10:00:00Z)",
        ),
        (json!(1_704_103_200), "must be an RFC 3339 date-time string"),
    ] {
        let body = parsed(json!({ "changes": [
            { "entityType": "end_user", "clientUpdatedAt": bad, "data": { "name": "x" } }
        ] }));
        assert!(body.changes.is_empty());
        assert_eq!(body.errors[0].field.as_deref(), Some("clientUpdatedAt"));
        assert_eq!(body.errors[0].message, message);
    }
}

// --- malformed bodies -------------------------------------------------------------------

#[test]
fn a_body_that_is_not_an_object_is_refused() {
    for body in [json!([]), json!("push"), json!(1), json!(null), json!(true)] {
        assert_eq!(body_error(body), "the body must be a JSON object");
    }
}

#[test]
fn a_body_without_changes_or_table_is_refused() {
    for body in [
        json!({}),
        json!({ "clientId": "c1" }),
        json!({ "operation": "create" }),
    ] {
        assert_eq!(
            body_error(body),
            "the body needs `changes` (map or list form) or `table` and `operation` (single-operation form)"
        );
    }
}

#[test]
fn changes_that_are_neither_a_map_nor_a_list_are_refused() {
    for changes in [json!("end_user"), json!(1), json!(null), json!(false)] {
        assert_eq!(
            body_error(json!({ "changes": changes })),
            "`changes` must be an object of entity types (map form) or an array of changes (list form)"
        );
    }
}

#[test]
fn a_client_id_or_push_id_that_is_not_a_string_is_refused() {
    assert_eq!(
        body_error(json!({ "clientId": 5, "changes": [] })),
        "`clientId` must be a string"
    );
    assert_eq!(
        body_error(json!({ "pushId": {}, "changes": [] })),
        "`pushId` must be a string"
    );
}

// --- preparing against the registry -----------------------------------------------------

#[test]
fn an_unknown_entity_type_is_reported_as_such() {
    for body in [
        json!({ "changes": { "ghosts": [ { "name": "boo" } ] } }),
        json!({ "changes": [ { "entityType": "ghosts", "data": {} } ] }),
        json!({ "changes": [ { "entityType": "End_User", "data": {} } ] }),
    ] {
        let errors = prepare_errors(body.clone());
        assert_eq!(errors.len(), 1, "{body}");
        assert_eq!(errors[0].kind, ChangeErrorKind::UnknownEntityType);
        assert_eq!(errors[0].index, 0);
        assert!(errors[0].message.starts_with("unknown entity type `"));
    }
}

#[test]
fn preparing_returns_every_error_of_every_change_sorted_by_index() {
    let errors = prepare_errors(json!({ "changes": [
        { "entityType": "end_user", "data": { "name": "fine" } },
        { "entityType": "end_user", "data": { "email": "nope", "nickname": "x" } },
        { "entityType": "ghosts", "data": {} },
        { "entityType": "end_user", "op": "merge" },
        { "entityType": "interactions", "baseVersion": "x" },
        { "entityType": "interactions", "data": { "status": "done" } }
    ] }));
    let summary: Vec<(usize, ChangeErrorKind, Option<&str>)> = errors
        .iter()
        .map(|e| (e.index, e.kind, e.field.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            (1, ChangeErrorKind::Invalid, Some("email")),
            (1, ChangeErrorKind::Invalid, Some("nickname")),
            (2, ChangeErrorKind::UnknownEntityType, None),
            (3, ChangeErrorKind::BadShape, None),
            (4, ChangeErrorKind::Invalid, Some("baseVersion")),
            (5, ChangeErrorKind::Invalid, Some("status")),
        ]
    );
    assert_eq!(errors[0].entity_type.as_deref(), Some("end_user"));
    assert_eq!(errors[0].message, "not an email address");
    assert_eq!(worst_kind(&errors), Some(ChangeErrorKind::BadShape));
}

#[test]
fn a_valid_push_is_prepared_with_clean_data_and_its_registered_type() {
    let registry = Registry::builtin();
    let changes = prepare_with(
        &registry,
        json!({ "changes": [
            { "entityType": "end_user", "id": ID_A, "baseVersion": 2,
              "data": { "name": "John", "active": true, "tenant_id": "other", "version": 9 } },
            { "entityType": "interactions",
              "data": { "type": "call", "title": "t", "client_user_id": ID_A.to_uppercase() } }
        ] }),
    )
    .unwrap();
    assert_eq!(changes.len(), 2);
    assert!(Arc::ptr_eq(
        &changes[0].entity_type,
        registry.get("end_user").unwrap()
    ));
    assert_eq!(changes[0].base_version, Some(syncd_model::Version(2)));
    assert_eq!(
        Value::Object(changes[0].data.clone()),
        json!({ "name": "John", "active": 1 })
    );
    assert_eq!(changes[1].data["client_user_id"], ID_A);
    assert_eq!(changes[1].index, 1);
}

#[test]
fn worst_kind_picks_the_most_basic_problem() {
    let error = |kind| ChangeError {
        index: 0,
        entity_type: None,
        field: None,
        message: "m".into(),
        kind,
    };
    assert_eq!(worst_kind(&[]), None);
    assert_eq!(
        worst_kind(&[error(ChangeErrorKind::Invalid)]),
        Some(ChangeErrorKind::Invalid)
    );
    assert_eq!(
        worst_kind(&[
            error(ChangeErrorKind::Invalid),
            error(ChangeErrorKind::UnknownEntityType)
        ]),
        Some(ChangeErrorKind::UnknownEntityType)
    );
    assert_eq!(
        worst_kind(&[
            error(ChangeErrorKind::UnknownEntityType),
            error(ChangeErrorKind::BadShape),
            error(ChangeErrorKind::Invalid)
        ]),
        Some(ChangeErrorKind::BadShape)
    );
}

#[test]
fn a_change_error_serialises_as_an_error_detail_of_the_api() {
    let errors = prepare_errors(json!({ "changes": [
        { "entityType": "end_user", "data": { "email": "x" } },
        "oops"
    ] }));
    assert_eq!(
        serde_json::to_value(&errors).unwrap(),
        json!([
            { "index": 0, "entityType": "end_user", "field": "email",
              "message": "not an email address" },
            { "index": 1, "message": "a change must be a JSON object, got a string" }
        ])
    );
}
