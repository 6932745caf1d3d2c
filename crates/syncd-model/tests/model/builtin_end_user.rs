use syncd_model::{FieldAlias, PendingCondition, StringFormat, SyncStatus};

use super::*;

#[test]
fn the_builtin_registry_holds_end_user_and_interactions_only() {
    let registry = Registry::builtin();
    let names: Vec<&str> = registry.names().map(|n| n.as_str()).collect();
    assert_eq!(names, ["end_user", "interactions"]);
    assert_eq!(registry.len(), 2);
    assert!(registry.get("clients").is_none());
}

#[test]
fn end_user_declares_the_seed_fields_with_their_types() {
    let ty = end_user();
    let declared: Vec<&str> = ty.fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(declared, ["name", "email", "phone", "active", "is_deleted"]);
    let name = ty.field("name").unwrap();
    assert_eq!(name.ty, FieldType::String);
    assert!(name.required);
    let email = ty.field("email").unwrap();
    assert_eq!(email.ty, FieldType::String);
    assert!(!email.required);
    assert_eq!(email.format, Some(StringFormat::Email));
    assert!(!ty.field("phone").unwrap().required);
    for flag in ["active", "is_deleted"] {
        let schema = ty.field(flag).unwrap();
        assert_eq!(schema.ty, FieldType::Int, "{flag}");
        assert_eq!((schema.min, schema.max), (Some(0.0), Some(1.0)), "{flag}");
    }
    assert!(ty.legacy_sync_fields);
    assert!(!ty.additional_fields);
}

#[test]
fn an_end_user_without_a_name_cannot_be_created() {
    let ty = end_user();
    let data = accepted(&ty, json!({ "email": "john@example.com" }));
    assert_eq!(
        ty.check_required(&data),
        [FieldError::new("name", "is required")]
    );
}

#[test]
fn an_end_user_whose_name_is_null_cannot_be_created() {
    let ty = end_user();
    let mut data = Map::new();
    data.insert("name".into(), Value::Null);
    assert_eq!(
        ty.check_required(&data),
        [FieldError::new("name", "is required")]
    );
    assert_eq!(
        only_error(&ty, json!({ "name": null })),
        FieldError::new("name", "is required and cannot be null")
    );
}

#[test]
fn an_end_user_with_a_name_has_everything_a_create_requires() {
    let ty = end_user();
    let data = accepted(&ty, json!({ "name": "John Doe" }));
    assert!(ty.check_required(&data).is_empty());
}

#[test]
fn a_name_must_be_a_string_of_at_most_255_characters() {
    let ty = end_user();
    accepted(&ty, json!({ "name": "n".repeat(255) }));
    let error = only_error(&ty, json!({ "name": "n".repeat(256) }));
    assert_eq!(error.field, "name");
    assert_eq!(error.message, "is 256 characters long; at most 255 allowed");
    let error = only_error(&ty, json!({ "name": 42 }));
    assert_eq!(
        error,
        FieldError::new("name", "must be a string, got a number")
    );
}

#[test]
fn an_email_must_look_like_an_email_address() {
    let ty = end_user();
    for bad in [
        "john",
        "john@",
        "@example.com",
        "john@localhost",
        "john doe@example.com",
        "john@example..com",
        "a@b@example.com",
    ] {
        let error = only_error(&ty, json!({ "name": "John", "email": bad }));
        assert_eq!(
            error,
            FieldError::new("email", "not an email address"),
            "{bad:?}"
        );
    }
    let error = only_error(&ty, json!({ "name": "John", "email": 7 }));
    assert_eq!(error.field, "email");
    assert_eq!(error.message, "must be a string, got a number");
}

#[test]
fn an_empty_email_means_no_email_and_is_accepted() {
    let data = accepted(&end_user(), json!({ "name": "John", "email": "" }));
    assert_eq!(data["email"], json!(""));
}

#[test]
fn a_well_formed_email_is_accepted_as_sent() {
    let ty = end_user();
    for good in ["john@example.com", "j.doe+sync@mail.example.co.uk"] {
        let data = accepted(&ty, json!({ "name": "John", "email": good }));
        assert_eq!(data["email"], good);
    }
}

#[test]
fn an_email_may_be_absent_or_null() {
    let ty = end_user();
    accepted(&ty, json!({ "name": "John" }));
    let data = accepted(&ty, json!({ "name": "John", "email": null }));
    assert_eq!(data["email"], Value::Null);
}

#[test]
fn a_phone_number_is_an_optional_string_of_at_most_50_characters() {
    let ty = end_user();
    let data = accepted(&ty, json!({ "name": "John", "phone": "1234567890" }));
    assert_eq!(data["phone"], "1234567890");
    accepted(&ty, json!({ "name": "John", "phone": null }));
    let error = only_error(&ty, json!({ "name": "John", "phone": 1_234_567_890 }));
    assert_eq!(
        error,
        FieldError::new("phone", "must be a string, got a number")
    );
    let error = only_error(&ty, json!({ "name": "John", "phone": "9".repeat(51) }));
    assert_eq!(error.field, "phone");
    assert!(error.message.contains("at most 50"), "{}", error.message);
}

#[test]
fn active_and_is_deleted_accept_zero_and_one() {
    let ty = end_user();
    for flag in ["active", "is_deleted"] {
        for value in [0, 1] {
            let data = accepted(&ty, json!({ "name": "John", flag: value }));
            assert_eq!(data[flag], value, "{flag}");
        }
    }
}

#[test]
fn booleans_sent_for_active_and_is_deleted_are_stored_as_one_and_zero() {
    let ty = end_user();
    let data = accepted(
        &ty,
        json!({ "name": "John", "active": true, "is_deleted": false }),
    );
    assert_eq!(data["active"], json!(1));
    assert_eq!(data["is_deleted"], json!(0));
    let data = accepted(
        &ty,
        json!({ "name": "John", "active": false, "is_deleted": true }),
    );
    assert_eq!(data["active"], json!(0));
    assert_eq!(data["is_deleted"], json!(1));
}

#[test]
fn a_flag_of_two_is_refused() {
    let ty = end_user();
    for flag in ["active", "is_deleted"] {
        let error = only_error(&ty, json!({ "name": "John", flag: 2 }));
        assert_eq!(error, FieldError::new(flag, "must be at most 1"));
        let error = only_error(&ty, json!({ "name": "John", flag: -1 }));
        assert_eq!(error, FieldError::new(flag, "must be at least 0"));
    }
}

#[test]
fn a_flag_sent_as_a_string_or_a_fraction_is_refused() {
    let ty = end_user();
    let error = only_error(&ty, json!({ "name": "John", "active": "1" }));
    assert_eq!(
        error,
        FieldError::new("active", "must be an integer, got a string")
    );
    let error = only_error(&ty, json!({ "name": "John", "active": 0.5 }));
    assert_eq!(
        error,
        FieldError::new("active", "must be an integer, got a number")
    );
}

#[test]
fn a_new_end_user_is_active_and_not_deleted_by_default() {
    let ty = end_user();
    let mut data = accepted(&ty, json!({ "name": "John" }));
    ty.apply_defaults(&mut data);
    assert_eq!(
        Value::Object(data),
        json!({ "name": "John", "active": 1, "is_deleted": 0 })
    );
}

#[test]
fn defaults_never_overwrite_values_the_client_sent() {
    let ty = end_user();
    let mut data = accepted(&ty, json!({ "name": "John", "active": 0 }));
    ty.apply_defaults(&mut data);
    assert_eq!(data["active"], json!(0));
    assert_eq!(data["is_deleted"], json!(0));
    assert!(!data.contains_key("email"), "no default for email");
}

#[test]
fn is_deleted_in_camel_case_becomes_is_deleted_zero_or_one() {
    let ty = end_user();
    assert_eq!(
        ty.aliases,
        [FieldAlias {
            from: "isDeleted".into(),
            to: "is_deleted".into(),
            bool_to_int: true,
        }]
    );
    let data = accepted(&ty, json!({ "name": "John", "isDeleted": true }));
    assert_eq!(
        Value::Object(data),
        json!({ "name": "John", "is_deleted": 1 })
    );
    let data = accepted(&ty, json!({ "name": "John", "isDeleted": false }));
    assert_eq!(
        Value::Object(data),
        json!({ "name": "John", "is_deleted": 0 })
    );
}

#[test]
fn is_deleted_in_camel_case_with_a_bad_value_is_refused_under_the_stored_name() {
    let ty = end_user();
    let error = only_error(&ty, json!({ "name": "John", "isDeleted": "yes" }));
    assert_eq!(error.field, "is_deleted");
    assert_eq!(error.message, "must be an integer, got a string");
}

#[test]
fn a_delete_of_an_end_user_sets_is_deleted_to_one() {
    assert_eq!(
        end_user().deletion,
        DeletionRule::SetField {
            field: "is_deleted".into(),
            value: json!(1),
            marks_delete_on_push: true,
        }
    );
}

#[test]
fn a_pushed_end_user_with_is_deleted_one_is_a_delete() {
    let changes = prepared(json!({ "changes": { "end_user": [
        { "id": ID_A, "name": "John", "is_deleted": 1, "version": 2 }
    ] } }));
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].op, ChangeOp::Delete);
    assert_eq!(changes[0].id.unwrap().to_string(), ID_A);
    assert_eq!(changes[0].data["is_deleted"], json!(1));
}

#[test]
fn a_pushed_end_user_with_is_deleted_true_in_camel_case_is_a_delete() {
    for body in [
        json!({ "changes": { "end_user": [ { "id": ID_A, "isDeleted": true } ] } }),
        json!({ "table": "end_user", "operation": "update",
                "data": { "id": ID_A, "isDeleted": true } }),
        json!({ "changes": [ { "entityType": "end_user", "op": "upsert", "id": ID_A,
                               "data": { "isDeleted": true } } ] }),
    ] {
        let changes = prepared(body.clone());
        assert_eq!(changes[0].op, ChangeOp::Delete, "{body}");
        assert_eq!(changes[0].data["is_deleted"], json!(1), "{body}");
    }
}

#[test]
fn a_pushed_end_user_with_is_deleted_sent_as_true_is_a_delete() {
    let changes = prepared(json!({ "changes": [
        { "entityType": "end_user", "op": "update", "id": ID_A, "data": { "is_deleted": true } }
    ] }));
    assert_eq!(changes[0].op, ChangeOp::Delete);
}

#[test]
fn a_pushed_end_user_with_is_deleted_zero_is_an_upsert() {
    let changes = prepared(json!({ "changes": { "end_user": [
        { "id": ID_A, "name": "John", "is_deleted": 0 },
        { "id": ID_B, "name": "Jane", "isDeleted": false }
    ] } }));
    assert_eq!(changes[0].op, ChangeOp::Upsert);
    assert_eq!(changes[1].op, ChangeOp::Upsert);
}

#[test]
fn pull_pending_of_end_user_means_not_deleted_and_sync_status_pending() {
    assert_eq!(
        end_user().pending,
        [
            PendingCondition::FieldEquals {
                field: "is_deleted".into(),
                value: json!(0),
            },
            PendingCondition::SyncStatus(SyncStatus::Pending),
        ]
    );
}

#[test]
fn the_seed_sync_fields_in_a_pushed_end_user_are_ignored() {
    let data = accepted(
        &end_user(),
        json!({ "id": null, "name": "John Doe", "email": "john@example.com",
                "sync_status": "pending", "server_synced": 0, "version": 1,
                "last_updated": "2024-01-01T12:00:00.000Z" }),
    );
    assert_eq!(
        Value::Object(data),
        json!({ "name": "John Doe", "email": "john@example.com" })
    );
}
