//! Black-box tests of the domain model: the built-in entity types (SPEC §2), validation and its
//! limits (SPEC §7), the three push body shapes (SPEC §4.1), the entities file (SPEC §9), the
//! registry built in code, rendering, ids and cursors, and property tests over arbitrary JSON.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use serde_json::{Map, Value, json};
use syncd_model::{
    Change, ChangeError, ChangeErrorKind, ChangeOp, DeletionRule, EntityType, FieldError,
    FieldSchema, FieldType, Limits, PushBody, Registry, parse_push_body,
};

const ID_A: &str = "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b";
const ID_B: &str = "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2c";

fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn limits() -> Limits {
    Limits::default()
}

fn builtin(name: &str) -> Arc<EntityType> {
    Arc::clone(Registry::builtin().get(name).unwrap())
}

fn end_user() -> Arc<EntityType> {
    builtin("end_user")
}

fn interactions() -> Arc<EntityType> {
    builtin("interactions")
}

/// Normalises `record` and expects it to be accepted.
fn accepted(ty: &EntityType, record: Value) -> Map<String, Value> {
    match ty.normalize(obj(record.clone()), &limits()) {
        Ok(data) => data,
        Err(errors) => panic!("{} refused {record}: {errors:?}", ty.name),
    }
}

/// Normalises `record` and expects it to be refused.
fn refused(ty: &EntityType, record: Value) -> Vec<FieldError> {
    match ty.normalize(obj(record.clone()), &limits()) {
        Ok(data) => panic!("{} accepted {record} as {data:?}", ty.name),
        Err(errors) => errors,
    }
}

/// The single error of a refused record.
fn only_error(ty: &EntityType, record: Value) -> FieldError {
    let errors = refused(ty, record);
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors.into_iter().next().unwrap()
}

fn fields_of(errors: &[FieldError]) -> Vec<&str> {
    errors.iter().map(|e| e.field.as_str()).collect()
}

fn parsed(body: Value) -> PushBody {
    match parse_push_body(body.clone()) {
        Ok(parsed) => parsed,
        Err(e) => panic!("{body} was refused: {e}"),
    }
}

fn prepare_with(registry: &Registry, body: Value) -> Result<Vec<Change>, Vec<ChangeError>> {
    let body = parsed(body);
    registry.prepare(body.changes, body.errors, &limits())
}

fn prepare(body: Value) -> Result<Vec<Change>, Vec<ChangeError>> {
    prepare_with(&Registry::builtin(), body)
}

fn prepared(body: Value) -> Vec<Change> {
    match prepare(body.clone()) {
        Ok(changes) => changes,
        Err(errors) => panic!("{body} was refused: {errors:?}"),
    }
}

fn prepare_errors(body: Value) -> Vec<ChangeError> {
    match prepare(body.clone()) {
        Ok(changes) => panic!("{body} was accepted: {changes:?}"),
        Err(errors) => errors,
    }
}

fn name(value: &str) -> syncd_model::EntityTypeName {
    syncd_model::EntityTypeName::parse(value).unwrap()
}

mod builtin_end_user {
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
}

mod builtin_interactions {
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
        let changes =
            prepared(json!({ "table": "interactions", "operation": "delete", "id": ID_A }));
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
}

mod validation_limits {
    use super::*;

    /// A type with a json field and one of every other kind, for limits and type checks.
    fn kitchen_sink(additional_fields: bool) -> EntityType {
        EntityType::builder(name("kitchen_sink"))
            .field("payload", FieldSchema::new(FieldType::Json))
            .field("label", FieldSchema::new(FieldType::String).max_length(5))
            .field("body", FieldSchema::new(FieldType::Text))
            .field("count", FieldSchema::new(FieldType::Int))
            .field("amount", FieldSchema::new(FieldType::Float))
            .field("flag", FieldSchema::new(FieldType::Bool))
            .field("at", FieldSchema::new(FieldType::Datetime))
            .field("day", FieldSchema::new(FieldType::Date))
            .field("ref_id", FieldSchema::new(FieldType::Uuid))
            .additional_fields(additional_fields)
            .build()
    }

    fn nested_arrays(depth: usize) -> Value {
        (0..depth).fold(json!(1), |inner, _| Value::Array(vec![inner]))
    }

    fn nested_objects(depth: usize) -> Value {
        (0..depth).fold(json!("leaf"), |inner, _| json!({ "k": inner }))
    }

    const SERVER_MANAGED: [&str; 17] = [
        "id",
        "version",
        "createdAt",
        "created_at",
        "updatedAt",
        "updated_at",
        "deleted",
        "isDeleted",
        "sync_status",
        "syncStatus",
        "server_synced",
        "serverSynced",
        "last_updated",
        "lastUpdated",
        "tenant_id",
        "tenantId",
        "tid",
    ];

    #[test]
    fn server_managed_fields_are_dropped_silently() {
        let mut record = json!({ "type": "call", "title": "t" });
        for field in SERVER_MANAGED {
            record[field] = json!("client-chosen value");
        }
        let data = accepted(&interactions(), record);
        assert_eq!(Value::Object(data), json!({ "type": "call", "title": "t" }));
    }

    #[test]
    fn server_managed_fields_of_any_json_type_are_dropped_silently() {
        let data = accepted(
            &end_user(),
            json!({ "name": "John", "tenant_id": { "evil": [1, 2] }, "version": "x",
                    "deleted": "maybe", "sync_status": 17, "createdAt": null,
                    "server_synced": true, "last_updated": [] }),
        );
        assert_eq!(Value::Object(data), json!({ "name": "John" }));
    }

    #[test]
    fn server_managed_fields_are_dropped_even_when_additional_fields_are_allowed() {
        let ty = kitchen_sink(true);
        let mut record = json!({ "label": "x", "extra": 1 });
        for field in SERVER_MANAGED {
            record[field] = json!(1);
        }
        let data = ty.normalize(obj(record), &limits()).unwrap();
        assert_eq!(Value::Object(data), json!({ "label": "x", "extra": 1 }));
    }

    #[test]
    fn a_tenant_id_sent_by_a_client_never_reaches_the_data() {
        for (ty, record) in [
            (
                end_user(),
                json!({ "name": "n", "tenant_id": "other", "tenantId": "other", "tid": "other" }),
            ),
            (interactions(), json!({ "tenant_id": "other" })),
        ] {
            let data = accepted(&ty, record);
            for key in ["tenant_id", "tenantId", "tid"] {
                assert!(!data.contains_key(key), "{key}");
            }
        }
    }

    #[test]
    fn an_unknown_field_is_refused_with_its_name() {
        let error = only_error(&end_user(), json!({ "name": "John", "nickname": "Johnny" }));
        assert_eq!(error.field, "nickname");
        assert_eq!(
            error.message,
            "unknown field: `end_user` does not declare it"
        );
    }

    #[test]
    fn an_unknown_field_is_kept_as_is_when_the_type_allows_additional_fields() {
        let ty = kitchen_sink(true);
        let data = ty
            .normalize(
                obj(json!({ "nickname": { "any": ["shape", 1] } })),
                &limits(),
            )
            .unwrap();
        assert_eq!(data["nickname"], json!({ "any": ["shape", 1] }));
        assert!(
            kitchen_sink(false)
                .normalize(obj(json!({ "nickname": 1 })), &limits())
                .is_err()
        );
    }

    #[test]
    fn every_problem_of_a_record_is_reported_not_just_the_first() {
        let errors = refused(
            &end_user(),
            json!({ "name": 5, "email": "nope", "phone": true, "active": 2,
                    "is_deleted": "no", "nickname": "x", "version": "ignored" }),
        );
        assert_eq!(
            errors,
            [
                FieldError::new("name", "must be a string, got a number"),
                FieldError::new("email", "not an email address"),
                FieldError::new("phone", "must be a string, got a boolean"),
                FieldError::new("active", "must be at most 1"),
                FieldError::new("is_deleted", "must be an integer, got a string"),
                FieldError::new("nickname", "unknown field: `end_user` does not declare it"),
            ]
        );
    }

    #[test]
    fn every_problem_of_an_interaction_is_reported_with_its_field() {
        let errors = refused(
            &interactions(),
            json!({ "type": [], "title": null, "date": "soon", "status": "later",
                    "client_user_id": "someone", "priority": "high" }),
        );
        assert_eq!(
            fields_of(&errors),
            [
                "type",
                "title",
                "date",
                "status",
                "client_user_id",
                "priority"
            ]
        );
        assert!(errors.iter().all(|e| !e.message.is_empty()));
    }

    #[test]
    fn json_nested_32_levels_deep_is_accepted() {
        let ty = kitchen_sink(false);
        for value in [nested_arrays(32), nested_objects(32)] {
            assert!(
                ty.normalize(obj(json!({ "payload": value })), &limits())
                    .is_ok()
            );
        }
    }

    #[test]
    fn json_nested_deeper_than_32_levels_is_refused_naming_the_field() {
        let ty = kitchen_sink(false);
        for value in [nested_arrays(33), nested_objects(33), nested_arrays(500)] {
            let errors = ty
                .normalize(obj(json!({ "payload": value })), &limits())
                .unwrap_err();
            assert_eq!(
                errors,
                [FieldError::new(
                    "payload",
                    "is nested deeper than 32 levels"
                )]
            );
        }
    }

    #[test]
    fn deep_nesting_is_refused_in_undeclared_and_non_json_fields_too() {
        let errors = kitchen_sink(true)
            .normalize(obj(json!({ "extra": nested_objects(40) })), &limits())
            .unwrap_err();
        assert_eq!(
            errors,
            [FieldError::new("extra", "is nested deeper than 32 levels")]
        );
        let error = only_error(&end_user(), json!({ "name": nested_arrays(40) }));
        assert_eq!(
            error,
            FieldError::new("name", "is nested deeper than 32 levels")
        );
    }

    #[test]
    fn a_string_of_64_kib_is_accepted() {
        let data = accepted(
            &interactions(),
            json!({ "description": "x".repeat(65_536) }),
        );
        assert_eq!(data["description"].as_str().unwrap().len(), 65_536);
    }

    #[test]
    fn a_string_over_64_kib_is_refused_naming_the_field() {
        let error = only_error(
            &interactions(),
            json!({ "description": "x".repeat(65_537) }),
        );
        assert_eq!(
            error,
            FieldError::new("description", "holds a string over 65536 bytes")
        );
        // Bytes count, not characters: 32 769 two-byte characters are 65 538 bytes.
        let error = only_error(
            &interactions(),
            json!({ "description": "é".repeat(32_769) }),
        );
        assert_eq!(error.field, "description");
    }

    #[test]
    fn a_long_string_hidden_inside_json_is_refused_naming_the_field() {
        let ty = kitchen_sink(false);
        let errors = ty
            .normalize(
                obj(json!({ "payload": { "a": [1, { "b": "x".repeat(70_000) }] } })),
                &limits(),
            )
            .unwrap_err();
        assert_eq!(
            errors,
            [FieldError::new(
                "payload",
                "holds a string over 65536 bytes"
            )]
        );
        let mut long_key = Map::new();
        long_key.insert("k".repeat(70_000), json!(1));
        let errors = ty
            .normalize(obj(json!({ "payload": long_key })), &limits())
            .unwrap_err();
        assert_eq!(errors[0].field, "payload");
    }

    #[test]
    fn an_overlong_short_string_is_reported_by_size_before_length() {
        let error = only_error(&end_user(), json!({ "name": "x".repeat(70_000) }));
        assert_eq!(
            error,
            FieldError::new("name", "holds a string over 65536 bytes")
        );
    }

    #[test]
    fn max_length_counts_characters_not_bytes() {
        let ty = kitchen_sink(false);
        assert!(
            ty.normalize(obj(json!({ "label": "ééééé" })), &limits())
                .is_ok()
        );
        let errors = ty
            .normalize(obj(json!({ "label": "éééééé" })), &limits())
            .unwrap_err();
        assert_eq!(
            errors,
            [FieldError::new(
                "label",
                "is 6 characters long; at most 5 allowed"
            )]
        );
    }

    #[test]
    fn limits_can_be_configured() {
        let tight = Limits {
            max_depth: 2,
            max_string_bytes: 4,
        };
        let ty = kitchen_sink(false);
        assert!(
            ty.normalize(obj(json!({ "payload": [[1]] })), &tight)
                .is_ok()
        );
        let errors = ty
            .normalize(obj(json!({ "payload": [[[1]]], "body": "12345" })), &tight)
            .unwrap_err();
        assert_eq!(
            errors,
            [
                FieldError::new("payload", "is nested deeper than 2 levels"),
                FieldError::new("body", "holds a string over 4 bytes"),
            ]
        );
        assert_eq!(
            Limits::default(),
            Limits {
                max_depth: 32,
                max_string_bytes: 64 * 1024,
            }
        );
    }

    #[test]
    fn every_field_type_accepts_its_values() {
        let ty = kitchen_sink(false);
        let data = ty
            .normalize(
                obj(json!({
                    "payload": { "any": [1, "two", null] }, "label": "short", "body": "long text",
                    "count": -3, "amount": 2, "flag": false, "at": "2024-02-29T23:59:59.999+01:00",
                    "day": "2024-02-29", "ref_id": ID_A
                })),
                &limits(),
            )
            .unwrap();
        assert_eq!(data.len(), 9);
        assert_eq!(data["amount"], json!(2), "an integer is a number");
    }

    #[test]
    fn every_field_type_refuses_values_of_another_type_with_a_message() {
        let ty = kitchen_sink(false);
        let errors = ty
            .normalize(
                obj(json!({
                    "label": 1, "body": {}, "count": 1.5, "amount": "2", "flag": "true",
                    "at": "2024-01-01", "day": "2023-02-29", "ref_id": "x"
                })),
                &limits(),
            )
            .unwrap_err();
        assert_eq!(
            errors,
            [
                FieldError::new("label", "must be a string, got a number"),
                FieldError::new("body", "must be a string, got an object"),
                FieldError::new("count", "must be an integer, got a number"),
                FieldError::new("amount", "must be a number, got a string"),
                FieldError::new("flag", "must be true or false, got a string"),
                FieldError::new(
                    "at",
                    "must be an RFC 3339 date-time such as 2024-01-01T10:00:00Z"
                ),
                FieldError::new("day", "must be a date such as 2024-01-31"),
                FieldError::new("ref_id", "must be a UUID"),
            ]
        );
    }

    #[test]
    fn a_null_clears_an_optional_field_of_any_type() {
        let ty = kitchen_sink(false);
        let data = ty
            .normalize(
                obj(json!({ "label": null, "count": null, "flag": null, "day": null })),
                &limits(),
            )
            .unwrap();
        assert!(data.values().all(Value::is_null));
        assert_eq!(data.len(), 4);
    }

    #[test]
    fn numbers_respect_their_declared_range() {
        let ty = EntityType::builder(name("bounded"))
            .field("score", FieldSchema::new(FieldType::Float).range(0.0, 10.0))
            .build();
        assert!(ty.normalize(obj(json!({ "score": 10 })), &limits()).is_ok());
        let errors = ty
            .normalize(obj(json!({ "score": 10.5 })), &limits())
            .unwrap_err();
        assert_eq!(errors, [FieldError::new("score", "must be at most 10")]);
    }
}

mod push_shapes {
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
        let times: Vec<Option<Timestamp>> =
            body.changes.iter().map(|c| c.client_edit_time).collect();
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
        let errors =
            prepare_errors(json!({ "table": "ghosts", "operation": "create", "data": {} }));
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
}

mod ids {
    use syncd_model::{
        ClientId, Cursor, CursorError, EntityTypeName, IdError, RecordId, Seq, TenantId, Version,
    };

    #[test]
    fn garbage_cursors_are_refused_with_a_clear_error() {
        for garbage in [
            "",
            " ",
            "c1",
            "c1 ",
            "C1000000000000000000",
            "c1xyz",
            "c1-00000000000000000",
            "c1+00000000000000000",
            "c100000000000000000000",
            "null",
            "0",
            "💥💥💥💥💥💥💥💥💥",
            "c1💥💥💥💥💥💥💥💥💥",
            "c1\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}",
            "2024-01-01T00:00:00Z",
        ] {
            let error = Cursor::decode(garbage).unwrap_err();
            assert_eq!(error, CursorError, "{garbage:?}");
            assert_eq!(
                error.to_string(),
                "the cursor is not one this server handed out"
            );
        }
    }

    #[test]
    fn a_cursor_with_any_one_character_changed_is_refused() {
        let encoded = Cursor::new(Seq(123_456)).encode();
        assert_eq!(encoded.len(), 20);
        for position in 0..encoded.len() {
            for replacement in "0123456789abcdefc1x".chars() {
                let mut tampered: Vec<char> = encoded.chars().collect();
                if tampered[position] == replacement {
                    continue;
                }
                tampered[position] = replacement;
                let tampered: String = tampered.into_iter().collect();
                assert_eq!(Cursor::decode(&tampered), Err(CursorError), "{tampered}");
            }
        }
    }

    #[test]
    fn a_cursor_round_trips_and_is_opaque() {
        for seq in [0, 1, 2, 255, 256, 1_000_000, i64::MAX - 1, i64::MAX] {
            let cursor = Cursor::new(Seq(seq));
            let encoded = cursor.encode();
            assert!(encoded.starts_with("c1"));
            assert_eq!(encoded.len(), 20);
            assert_eq!(Cursor::decode(&encoded), Ok(cursor));
            assert_eq!(Cursor::decode(&encoded).unwrap().seq(), Seq(seq));
            assert_eq!(cursor.to_string(), encoded);
            assert_eq!(serde_json::to_value(cursor).unwrap(), encoded);
        }
        assert_ne!(Cursor::new(Seq(1)).encode(), Cursor::new(Seq(2)).encode());
    }

    #[test]
    fn an_entity_type_name_is_a_short_lowercase_identifier() {
        assert_eq!(
            EntityTypeName::parse("end_user").unwrap().as_str(),
            "end_user"
        );
        assert!(EntityTypeName::parse("a".repeat(63)).is_ok());
        for bad in [
            "",
            "a".repeat(64).as_str(),
            "End_user",
            "_x",
            "9x",
            "a-b",
            "a.b",
            "é",
        ] {
            assert_eq!(
                EntityTypeName::parse(bad),
                Err(IdError::BadEntityTypeName(bad.to_owned())),
                "{bad}"
            );
        }
        assert!(serde_json::from_value::<EntityTypeName>(serde_json::json!("Bad")).is_err());
        assert_eq!(
            serde_json::from_value::<EntityTypeName>(serde_json::json!("visits")).unwrap(),
            EntityTypeName::parse("visits").unwrap()
        );
    }

    #[test]
    fn tenant_and_client_ids_are_short_printable_strings() {
        assert_eq!(TenantId::parse("acme").unwrap().as_str(), "acme");
        assert!(TenantId::parse("t".repeat(256)).is_ok());
        assert_eq!(
            TenantId::parse("t".repeat(257)),
            Err(IdError::TooLong {
                what: "tenant id",
                max: 256
            })
        );
        assert_eq!(
            ClientId::parse("tab\u{7}"),
            Err(IdError::ControlCharacter("client id"))
        );
        assert_eq!(ClientId::parse(""), Err(IdError::Empty("client id")));
        assert!(serde_json::from_value::<TenantId>(serde_json::json!("")).is_err());
        assert_eq!(
            IdError::Empty("tenant id").to_string(),
            "tenant id must not be empty"
        );
    }

    #[test]
    fn a_record_id_is_a_uuid_shown_lowercase_and_hyphenated() {
        let id = RecordId::parse("0190A1B2C3D47E5F8A6B7C8D9E0F1A2B").unwrap();
        assert_eq!(id.to_string(), "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b");
        assert_eq!(
            serde_json::to_value(id).unwrap(),
            "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b"
        );
        let long = "x".repeat(1000);
        match RecordId::parse(&long) {
            Err(IdError::NotUuid(shown)) => assert_eq!(shown.len(), 64, "truncated"),
            other => panic!("{other:?}"),
        }
        assert_ne!(RecordId::new_v7(), RecordId::new_v7());
    }

    #[test]
    fn versions_and_seqs_count_up_without_overflowing() {
        assert_eq!(Version::INITIAL, Version(1));
        assert_eq!(Version::INITIAL.next(), Version(2));
        assert_eq!(Version(i64::MAX).next(), Version(i64::MAX));
        assert_eq!(Seq::ZERO.next(), Seq(1));
        assert_eq!(Seq(i64::MAX).next(), Seq(i64::MAX));
    }
}

mod entities_file {
    use syncd_model::{ConfigError, EntitiesFile, PendingCondition, RegistryError};

    use super::*;

    const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/entities.toml");

    const EXAMPLE_TYPES: [&str; 13] = [
        "clients",
        "appointments",
        "stock_requests",
        "distributors",
        "visits",
        "campaigns",
        "finance_cash_requests",
        "leave_requests",
        "contacts",
        "employee",
        "mileage",
        "receipt",
        "time_tracking",
    ];

    fn example_registry() -> Registry {
        let text = std::fs::read_to_string(EXAMPLE).unwrap();
        EntitiesFile::parse("examples/entities.toml", &text)
            .unwrap()
            .build_registry(Registry::builder().with_builtins())
            .unwrap()
    }

    fn example(name: &str) -> Arc<EntityType> {
        Arc::clone(example_registry().get(name).unwrap())
    }

    fn load(text: &str) -> Result<Registry, ConfigError> {
        EntitiesFile::parse("entities.toml", text)?
            .build_registry(Registry::builder().with_builtins())
    }

    fn load_error(text: &str) -> ConfigError {
        match load(text) {
            Ok(registry) => panic!(
                "loaded: {:?}",
                registry.names().map(|n| n.as_str()).collect::<Vec<_>>()
            ),
            Err(e) => e,
        }
    }

    /// The 1-based number of the first line of `text` containing `needle`.
    fn line_with(text: &str, needle: &str) -> usize {
        text.lines().position(|l| l.contains(needle)).unwrap() + 1
    }

    #[test]
    fn the_example_file_loads_with_all_thirteen_types() {
        let registry = example_registry();
        let names: Vec<&str> = registry.names().map(|n| n.as_str()).collect();
        let mut expected = vec!["end_user", "interactions"];
        expected.extend(EXAMPLE_TYPES);
        assert_eq!(names, expected);
    }

    #[test]
    fn the_example_file_parses_its_types_in_file_order() {
        let text = std::fs::read_to_string(EXAMPLE).unwrap();
        let file = EntitiesFile::parse("examples/entities.toml", &text).unwrap();
        let names: Vec<&str> = file.types().map(|t| t.name.as_str()).collect();
        assert_eq!(names, EXAMPLE_TYPES);
        assert_eq!(file.text(), text);
    }

    #[test]
    fn distributors_keep_their_agreement_data_as_json() {
        let ty = example("distributors");
        assert_eq!(ty.field("agreement_data").unwrap().ty, FieldType::Json);
        let data = accepted(
            &ty,
            json!({ "name": "North Wholesale", "agreement_data": {
                "terms": "net 30", "discounts": [ { "sku": "A1", "percent": 5.5 } ],
                "signed": true, "renewal": null } }),
        );
        assert_eq!(data["agreement_data"]["discounts"][0]["percent"], 5.5);
    }

    #[test]
    fn appointments_carry_their_strategy_deletion_pending_and_search_rules() {
        let ty = example("appointments");
        assert_eq!(ty.strategy.as_deref(), Some("last-write-wins"));
        assert_eq!(
            ty.deletion,
            DeletionRule::SetField {
                field: "status".into(),
                value: json!("cancelled"),
                marks_delete_on_push: false,
            }
        );
        assert_eq!(
            ty.pending,
            [PendingCondition::FieldEquals {
                field: "status".into(),
                value: json!("scheduled"),
            }]
        );
        assert_eq!(ty.search, ["notes", "branch"]);
        assert!(!ty.additional_fields);
        let references: Vec<(&str, &str)> = ty.references().map(|(f, t)| (f, t.as_str())).collect();
        assert_eq!(references, [("client_id", "clients")]);
    }

    #[test]
    fn types_without_rules_in_the_file_get_the_defaults() {
        let ty = example("contacts");
        assert_eq!(ty.strategy, None);
        assert_eq!(ty.deletion, DeletionRule::Tombstone);
        assert!(ty.pending.is_empty());
        assert!(!ty.legacy_sync_fields);
    }

    #[test]
    fn every_example_type_accepts_a_realistic_record_and_refuses_a_bad_one() {
        let registry = example_registry();
        let cases = [
            (
                "clients",
                json!({ "name": "Acme Ltd", "email": "ops@acme.example", "phone": "+44 20 7946 0000",
                        "company": "Acme", "address": "1 High St", "branch": "London",
                        "status": "prospect", "assigned_to": ID_A, "notes": "met at fair" }),
                json!({ "name": "Acme Ltd", "status": "gone" }),
                "status",
            ),
            (
                "appointments",
                json!({ "client_id": ID_A, "date": "2024-03-01T09:30:00+01:00", "branch": "Leeds",
                        "notes": "bring samples" }),
                json!({ "date": "2024-03-01" }),
                "date",
            ),
            (
                "stock_requests",
                json!({ "product_name": "Paper A4", "sku": "PAP-A4-500", "quantity": 20, "unit": "box",
                        "branch": "Leeds", "status": "approved", "requested_by": ID_A,
                        "needed_by": "2024-03-15" }),
                json!({ "product_name": "Paper A4", "quantity": 0 }),
                "quantity",
            ),
            (
                "distributors",
                json!({ "name": "North Wholesale", "region": "North", "contact_name": "Ann",
                        "credit_limit": 25_000.5, "active": true,
                        "agreement_data": { "terms": "net 30" } }),
                json!({ "name": "North Wholesale", "active": 1 }),
                "active",
            ),
            (
                "visits",
                json!({ "client_id": ID_A, "employee_id": ID_B, "visit_date": "2024-03-02T14:00:00Z",
                        "location": "Store 12", "latitude": 53.8, "longitude": -1.55,
                        "purpose": "restock", "status": "completed" }),
                json!({ "visit_date": "2024-03-02T14:00:00Z", "latitude": 91 }),
                "latitude",
            ),
            (
                "campaigns",
                json!({ "name": "Spring sale", "channel": "sms", "start_date": "2024-03-01",
                        "end_date": "2024-03-31", "budget": 1500, "status": "active" }),
                json!({ "name": "Spring sale", "channel": "fax" }),
                "channel",
            ),
            (
                "finance_cash_requests",
                json!({ "employee_id": ID_A, "amount": 120.75, "currency": "EUR",
                        "purpose": "client lunch", "requested_at": "2024-03-03T12:00:00Z" }),
                json!({ "amount": 10, "purpose": "taxi", "currency": "EURO" }),
                "currency",
            ),
            (
                "leave_requests",
                json!({ "employee_id": ID_A, "leave_type": "annual", "start_date": "2024-07-01",
                        "end_date": "2024-07-14", "days": 10, "reason": "holiday" }),
                json!({ "employee_id": ID_A, "leave_type": "annual", "start_date": "2024-07-01",
                        "end_date": "01/07/2024" }),
                "end_date",
            ),
            (
                "contacts",
                json!({ "first_name": "Ann", "last_name": "Lee", "email": "ann@acme.example",
                        "company": "Acme", "position": "Buyer", "client_id": ID_A }),
                json!({ "first_name": "Ann", "email": "ann at acme" }),
                "email",
            ),
            (
                "employee",
                json!({ "name": "Bob", "email": "bob@corp.example", "department": "Sales",
                        "branch": "Leeds", "hire_date": "2021-09-01", "active": true }),
                json!({ "name": "Bob", "hire_date": "2021-09-31" }),
                "hire_date",
            ),
            (
                "mileage",
                json!({ "employee_id": ID_A, "trip_date": "2024-03-04", "start_location": "Leeds",
                        "end_location": "York", "distance_km": 40.2, "vehicle": "car" }),
                json!({ "employee_id": ID_A, "trip_date": "2024-03-04", "distance_km": -1 }),
                "distance_km",
            ),
            (
                "receipt",
                json!({ "employee_id": ID_A, "amount": 18.4, "vendor": "Cafe", "category": "meals",
                        "receipt_date": "2024-03-04", "image_url": "https://files.example/r/1.jpg" }),
                json!({ "amount": 18.4, "receipt_date": "2024-03-04", "category": "snacks" }),
                "category",
            ),
            (
                "time_tracking",
                json!({ "employee_id": ID_A, "project": "Rollout", "task": "training",
                        "start_time": "2024-03-04T09:00:00Z", "end_time": "2024-03-04T11:30:00Z",
                        "duration_minutes": 150, "billable": true }),
                json!({ "employee_id": ID_A, "start_time": "2024-03-04T09:00:00Z",
                        "duration_minutes": 1.5 }),
                "duration_minutes",
            ),
        ];
        assert_eq!(cases.len(), EXAMPLE_TYPES.len());
        for (ty, good, bad, bad_field) in cases {
            let entity = registry.get(ty).unwrap();
            let mut data = accepted(entity, good);
            entity.apply_defaults(&mut data);
            assert_eq!(entity.check_required(&data), [], "{ty}");
            let errors = refused(entity, bad);
            assert_eq!(fields_of(&errors), [bad_field], "{ty}: {errors:?}");
            assert!(!errors[0].message.is_empty());
        }
    }

    #[test]
    fn example_types_fill_their_declared_defaults() {
        let ty = example("stock_requests");
        let mut data = accepted(&ty, json!({ "product_name": "Pens", "quantity": 3 }));
        ty.apply_defaults(&mut data);
        assert_eq!(data["unit"], "pcs");
        assert_eq!(data["status"], "requested");
        let ty = example("time_tracking");
        let mut data = Map::new();
        ty.apply_defaults(&mut data);
        assert_eq!(data["billable"], json!(false));
        let missing = ty.check_required(&data);
        assert_eq!(fields_of(&missing), ["employee_id", "start_time"]);
    }

    #[test]
    fn example_references_point_at_types_of_the_file() {
        let registry = example_registry();
        for ty in registry.iter() {
            for (field, target) in ty.references() {
                assert!(
                    registry.get(target.as_str()).is_some(),
                    "{}.{field} -> {target}",
                    ty.name
                );
            }
        }
        let leave = registry.get("leave_requests").unwrap();
        assert_eq!(
            leave
                .field("employee_id")
                .unwrap()
                .references
                .as_ref()
                .unwrap()
                .as_str(),
            "employee"
        );
    }

    #[test]
    fn an_empty_entities_file_adds_no_types() {
        assert_eq!(load("").unwrap().len(), 2);
        assert_eq!(load("# nothing yet\n").unwrap().len(), 2);
    }

    #[test]
    fn a_toml_syntax_error_names_the_file_and_its_line() {
        let text = "[[entity]]\nname = \"clients\"\nsearch = [\"name\"\n[entity.fields]\nname = { type = \"string\" }\n";
        let error = load_error(text);
        assert_eq!(error.file, "entities.toml");
        assert!((3..=4).contains(&error.line), "{error}");
        assert!(
            error
                .to_string()
                .starts_with(&format!("entities.toml:{}: ", error.line))
        );
        let text = "[[entity]]\nname = \"clients\n";
        let error = load_error(text);
        assert_eq!(error.line, 2, "{error}");
        assert!(!error.problem.is_empty());
    }

    #[test]
    fn an_unknown_key_names_its_line() {
        let text = "[[entity]]\nname = \"clients\"\ncolour = \"red\"\n";
        let error = load_error(text);
        assert_eq!(error.line, 3, "{error}");
        assert!(error.problem.contains("colour"), "{error}");
        let text = "[[entity]]\nname = \"clients\"\n[entity.fields]\nname = { type = \"string\" }\nphone = { type = \"string\", maxlen = 5 }\n";
        let error = load_error(text);
        assert_eq!(error.line, 5, "{error}");
        assert!(error.problem.contains("maxlen"), "{error}");
    }

    #[test]
    fn an_unknown_field_type_names_its_line() {
        let text = "[[entity]]\nname = \"receipt\"\n[entity.fields]\nvendor = { type = \"string\" }\namount = { type = \"money\" }\n";
        let error = load_error(text);
        assert_eq!(error.line, 5, "{error}");
        assert!(error.problem.contains("money"), "{error}");
        assert_eq!(
            error.to_string(),
            format!("entities.toml:5: {}", error.problem)
        );
    }

    #[test]
    fn a_reference_to_an_unknown_type_names_the_line_of_its_field() {
        let text = "\
[[entity]]
name = \"visits\"
[entity.fields]
notes = { type = \"text\" }
client_id = { type = \"uuid\", references = \"customers\" }
";
        let error = load_error(text);
        assert_eq!(error.line, line_with(text, "client_id"), "{error}");
        assert!(
            error
                .problem
                .contains("references unknown entity type `customers`"),
            "{error}"
        );
    }

    #[test]
    fn a_reference_to_a_builtin_or_later_type_is_fine() {
        let text = "\
[[entity]]
name = \"notes\"
[entity.fields]
author = { type = \"uuid\", references = \"end_user\" }
topic = { type = \"uuid\", references = \"topics\" }

[[entity]]
name = \"topics\"
[entity.fields]
parent = { type = \"uuid\", references = \"topics\" }
";
        let registry = load(text).unwrap();
        assert_eq!(registry.len(), 4);
    }

    #[test]
    fn a_duplicate_type_name_names_its_second_declaration() {
        let text = "\
[[entity]]
name = \"clients\"

[[entity]]
name = \"visits\"

[[entity]]
name = \"clients\"
";
        let error = load_error(text);
        assert_eq!(error.line, 7, "expected the second `clients`: {error}");
        assert_eq!(error.problem, "entity type `clients` is registered twice");
    }

    #[test]
    fn redeclaring_a_builtin_type_is_refused() {
        let text = "[[entity]]\nname = \"end_user\"\n";
        let error = load_error(text);
        assert!(
            error.problem.contains("`end_user` is registered twice"),
            "{error}"
        );
    }

    #[test]
    fn an_enum_on_an_int_field_names_its_line() {
        let text = "\
[[entity]]
name = \"mileage\"
[entity.fields]
trip_date = { type = \"date\" }
rating = { type = \"int\", enum = [\"1\", \"2\"] }
";
        let error = load_error(text);
        assert_eq!(error.line, 5, "{error}");
        assert!(
            error.problem.contains("enum values need a string field"),
            "{error}"
        );
    }

    #[test]
    fn a_search_field_that_is_not_declared_names_its_line() {
        let text = "\
[[entity]]
name = \"contacts\"
search = [\"first_name\", \"nickname\"]
[entity.fields]
first_name = { type = \"string\" }
";
        let error = load_error(text);
        assert_eq!(error.line, 3, "{error}");
        assert!(
            error
                .problem
                .contains("search field `nickname` is not a declared field"),
            "{error}"
        );
    }

    #[test]
    fn a_search_field_that_is_not_text_names_its_line() {
        let text = "\
[[entity]]
name = \"contacts\"

search = [\"age\"]
[entity.fields]
age = { type = \"int\" }
";
        let error = load_error(text);
        assert_eq!(
            error.to_string(),
            "entities.toml:4: entity type `contacts`: search field `age` must be a string or text field"
        );
    }

    #[test]
    fn a_missing_type_name_or_a_wrongly_shaped_entity_list_is_refused_with_a_line() {
        let error = load_error("[[entity]]\n[entity.fields]\nx = { type = \"text\" }\n");
        assert_eq!(error.line, 1, "{error}");
        assert!(error.problem.contains("name"), "{error}");
        let error = load_error("# types\n[entity]\nname = \"a\"\n");
        assert!(!error.problem.is_empty());
        let error = load_error("[[entity]]\nname = \"a\"\nsearch = \"x\"\n");
        assert_eq!(error.line, 3, "{error}");
    }

    #[test]
    fn a_bad_type_name_names_its_line() {
        let text = "[[entity]]\n\nname = \"Bad-Name\"\n";
        let error = load_error(text);
        assert_eq!(error.line, 3, "{error}");
        assert!(error.problem.contains("Bad-Name"), "{error}");
    }

    #[test]
    fn a_server_managed_field_cannot_be_declared() {
        let text = "[[entity]]\nname = \"notes\"\n[entity.fields]\nbody = { type = \"text\" }\ntenant_id = { type = \"string\" }\n";
        let error = load_error(text);
        assert_eq!(error.line, 5, "{error}");
        assert!(error.problem.contains("managed by the server"), "{error}");
    }

    #[test]
    fn a_default_that_does_not_fit_its_field_names_its_line() {
        let text = "[[entity]]\nname = \"notes\"\n[entity.fields]\nlevel = { type = \"int\", default = \"high\" }\n";
        let error = load_error(text);
        assert_eq!(error.line, 4, "{error}");
        assert!(
            error
                .problem
                .contains("default of field `level` is invalid"),
            "{error}"
        );
    }

    #[test]
    fn an_unknown_format_names_its_line() {
        let text = "[[entity]]\nname = \"notes\"\n[entity.fields]\nsite = { type = \"string\", format = \"url\" }\n";
        let error = load_error(text);
        assert_eq!(error.line, 4, "{error}");
        assert!(error.problem.contains("unknown format `url`"), "{error}");
    }

    #[test]
    fn a_deletion_rule_on_an_undeclared_field_is_refused() {
        let text = "[[entity]]\nname = \"notes\"\ndeletion = { field = \"state\", value = \"gone\" }\n[entity.fields]\nbody = { type = \"text\" }\n";
        let error = load_error(text);
        assert_eq!(error.line, 3, "{error}");
        assert_eq!(
            error.problem,
            "entity type `notes`: deletion field `state` is not a declared field"
        );
    }

    #[test]
    fn a_pending_filter_on_an_undeclared_field_names_its_line() {
        let text = "[[entity]]\nname = \"notes\"\n\npending = { field = \"state\", equals = \"open\" }\n[entity.fields]\nbody = { type = \"text\" }\n";
        let error = load_error(text);
        assert_eq!(error.line, 4, "{error}");
        assert_eq!(
            error.to_string(),
            "entities.toml:4: entity type `notes`: pending filter field `state` is not a declared field"
        );
    }

    #[test]
    fn a_deletion_value_that_does_not_fit_its_field_is_refused() {
        let text = "[[entity]]\nname = \"notes\"\ndeletion = { field = \"state\", value = \"gone\" }\n[entity.fields]\nstate = { type = \"string\", enum = [\"open\", \"closed\"] }\n";
        let error = load_error(text);
        assert_eq!(error.line, 1, "reported at the entity: {error}");
        assert!(
            error
                .problem
                .contains("deletion value \"gone\" does not fit field `state`"),
            "{error}"
        );
    }

    #[test]
    fn a_pending_filter_on_sync_status_needs_a_known_status() {
        let text = "[[entity]]\nname = \"notes\"\npending = { field = \"sync_status\", equals = \"waiting\" }\n";
        let error = load_error(text);
        assert_eq!(error.line, 3, "{error}");
        let text = "[[entity]]\nname = \"notes\"\npending = { field = \"sync_status\", equals = \"pending\" }\n";
        let registry = load(text).unwrap();
        assert_eq!(
            registry.get("notes").unwrap().pending,
            [PendingCondition::SyncStatus(
                syncd_model::SyncStatus::Pending
            )]
        );
    }

    #[test]
    fn a_type_deleted_on_push_by_a_flag_can_be_declared() {
        let text = "\
[[entity]]
name = \"notes\"
deletion = { field = \"archived\", value = true, deletes_on_push = true }
[entity.fields]
body = { type = \"text\" }
archived = { type = \"bool\", default = false }
";
        let registry = load(text).unwrap();
        let changes = prepare_with(
            &registry,
            json!({ "changes": { "notes": [ { "id": ID_A, "archived": true }, { "id": ID_B, "archived": false } ] } }),
        )
        .unwrap();
        assert_eq!(changes[0].op, ChangeOp::Delete);
        assert_eq!(changes[1].op, ChangeOp::Upsert);
    }

    #[test]
    fn a_registry_error_converts_into_a_readable_message() {
        let error: RegistryError = RegistryError::Duplicate("clients".into());
        assert_eq!(
            error.to_string(),
            "entity type `clients` is registered twice"
        );
    }
}

mod registry {
    use syncd_model::{FieldAlias, PendingCondition, RegistryError, StringFormat};

    use super::*;

    fn orders() -> syncd_model::EntityTypeBuilder {
        EntityType::builder(name("orders"))
            .field(
                "total",
                FieldSchema::new(FieldType::Float)
                    .required()
                    .range(0.0, 1e9),
            )
            .field(
                "customer_id",
                FieldSchema::new(FieldType::Uuid).references(name("end_user")),
            )
            .field(
                "state",
                FieldSchema::new(FieldType::String)
                    .one_of(["open", "paid", "void"])
                    .default_value("open"),
            )
            .field("note", FieldSchema::new(FieldType::Text))
            .field("contact", FieldSchema::new(FieldType::String).email())
    }

    fn build(ty: EntityType) -> Result<Registry, RegistryError> {
        Registry::builder().with_builtins().register(ty).build()
    }

    fn invalid(ty: EntityType) -> (Option<String>, String) {
        match build(ty) {
            Err(RegistryError::Invalid { ty, field, problem }) => {
                assert_eq!(ty, "orders");
                (field, problem)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_type_registered_in_code_joins_the_builtins() {
        let registry = build(
            orders()
                .strategy("server-wins")
                .search(["note"])
                .deletion(DeletionRule::SetField {
                    field: "state".into(),
                    value: json!("void"),
                    marks_delete_on_push: false,
                })
                .pending(PendingCondition::FieldEquals {
                    field: "state".into(),
                    value: json!("open"),
                })
                .build(),
        )
        .unwrap();
        assert_eq!(registry.len(), 3);
        let names: Vec<&str> = registry.names().map(|n| n.as_str()).collect();
        assert_eq!(names, ["end_user", "interactions", "orders"]);
        let ty = registry.get("orders").unwrap();
        assert_eq!(ty.strategy.as_deref(), Some("server-wins"));
        assert_eq!(
            ty.field("contact").unwrap().format,
            Some(StringFormat::Email)
        );
        assert_eq!(registry.iter().count(), 3);
    }

    #[test]
    fn a_type_registered_in_code_is_validated_like_any_other() {
        let registry = build(orders().build()).unwrap();
        let changes = prepare_with(
            &registry,
            json!({ "changes": [ { "entityType": "orders", "data": {
                "total": 12.5, "customer_id": ID_A, "note": "rush" } } ] }),
        )
        .unwrap();
        let mut data = changes[0].data.clone();
        changes[0].entity_type.apply_defaults(&mut data);
        assert_eq!(data["state"], "open");
        let errors = prepare_with(
            &registry,
            json!({ "changes": [ { "entityType": "orders", "data": {
                "total": -1, "state": "lost", "contact": "nobody", "colour": "red" } } ] }),
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_deref().unwrap()).collect();
        assert_eq!(fields, ["total", "state", "contact", "colour"]);
        assert!(
            errors
                .iter()
                .all(|e| e.entity_type.as_deref() == Some("orders"))
        );
    }

    #[test]
    fn a_registry_without_builtins_knows_only_its_own_types() {
        let registry = Registry::builder()
            .register(EntityType::builder(name("notes")).build())
            .build()
            .unwrap();
        assert_eq!(registry.len(), 1);
        assert!(registry.get("end_user").is_none());
        assert!(Registry::builder().build().unwrap().is_empty());
    }

    #[test]
    fn a_type_registered_twice_is_refused() {
        let error = Registry::builder()
            .with_builtins()
            .register(orders().build())
            .register(orders().build())
            .build()
            .unwrap_err();
        assert_eq!(error, RegistryError::Duplicate("orders".into()));
        let error = Registry::builder()
            .with_builtins()
            .register(super::end_user().as_ref().clone())
            .build()
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "entity type `end_user` is registered twice"
        );
    }

    #[test]
    fn a_reference_to_an_unregistered_type_is_refused() {
        let (field, problem) = invalid(
            orders()
                .field(
                    "shop_id",
                    FieldSchema::new(FieldType::Uuid).references(name("shops")),
                )
                .build(),
        );
        assert_eq!(field.as_deref(), Some("shop_id"));
        assert_eq!(
            problem,
            "field `shop_id` references unknown entity type `shops`"
        );
    }

    #[test]
    fn a_reference_must_be_a_uuid_field() {
        let (field, problem) = invalid(
            orders()
                .field(
                    "owner",
                    FieldSchema::new(FieldType::String).references(name("end_user")),
                )
                .build(),
        );
        assert_eq!(field.as_deref(), Some("owner"));
        assert!(problem.contains("its type must be uuid"), "{problem}");
    }

    #[test]
    fn a_type_may_reference_itself() {
        let registry = build(
            orders()
                .field(
                    "parent_id",
                    FieldSchema::new(FieldType::Uuid).references(name("orders")),
                )
                .build(),
        )
        .unwrap();
        assert!(registry.get("orders").is_some());
    }

    #[test]
    fn server_managed_fields_cannot_be_declared() {
        for managed in [
            "id",
            "version",
            "created_at",
            "updated_at",
            "deleted",
            "sync_status",
            "server_synced",
            "last_updated",
            "tenant_id",
            "tid",
        ] {
            let ty = orders()
                .field(managed, FieldSchema::new(FieldType::String))
                .build();
            match build(ty) {
                Err(RegistryError::Invalid { field, problem, .. }) => {
                    assert_eq!(field.as_deref(), Some(managed));
                    assert_eq!(
                        problem,
                        format!(
                            "field `{managed}` is managed by the server and cannot be declared"
                        )
                    );
                }
                other => panic!("{managed}: {other:?}"),
            }
        }
    }

    #[test]
    fn field_names_must_be_lowercase_identifiers_declared_once() {
        let (field, problem) = invalid(
            orders()
                .field("Total", FieldSchema::new(FieldType::Int))
                .build(),
        );
        assert_eq!(field.as_deref(), Some("Total"));
        assert!(problem.contains("must match"), "{problem}");
        let (field, problem) = invalid(
            orders()
                .field("note", FieldSchema::new(FieldType::Text))
                .build(),
        );
        assert_eq!(field.as_deref(), Some("note"));
        assert_eq!(problem, "field `note` is declared twice");
    }

    #[test]
    fn enum_and_max_length_need_a_string_field() {
        let (field, problem) = invalid(
            orders()
                .field("rank", FieldSchema::new(FieldType::Int).one_of(["1", "2"]))
                .build(),
        );
        assert_eq!(field.as_deref(), Some("rank"));
        assert_eq!(problem, "field `rank`: enum values need a string field");
        let (_, problem) = invalid(
            orders()
                .field("rank", FieldSchema::new(FieldType::Json).max_length(3))
                .build(),
        );
        assert_eq!(
            problem,
            "field `rank`: max_length needs a string or text field"
        );
    }

    #[test]
    fn a_default_must_fit_its_field() {
        let (field, problem) = invalid(
            orders()
                .field(
                    "priority",
                    FieldSchema::new(FieldType::String)
                        .one_of(["low", "high"])
                        .default_value("medium"),
                )
                .build(),
        );
        assert_eq!(field.as_deref(), Some("priority"));
        assert_eq!(
            problem,
            "default of field `priority` is invalid: must be one of: low, high"
        );
    }

    #[test]
    fn search_fields_must_be_declared_text_fields() {
        let (field, problem) = invalid(orders().search(["nickname"]).build());
        assert_eq!(field, None);
        assert_eq!(problem, "search field `nickname` is not a declared field");
        let (_, problem) = invalid(orders().search(["total"]).build());
        assert_eq!(
            problem,
            "search field `total` must be a string or text field"
        );
    }

    #[test]
    fn a_deletion_rule_must_name_a_declared_field_and_a_fitting_value() {
        let rule = |field: &str, value: Value| DeletionRule::SetField {
            field: field.into(),
            value,
            marks_delete_on_push: true,
        };
        let (_, problem) = invalid(orders().deletion(rule("gone", json!(1))).build());
        assert_eq!(problem, "deletion field `gone` is not a declared field");
        let (_, problem) = invalid(orders().deletion(rule("state", json!("deleted"))).build());
        assert_eq!(
            problem,
            "deletion value \"deleted\" does not fit field `state`"
        );
    }

    #[test]
    fn a_pending_filter_and_an_alias_must_name_declared_fields() {
        let (_, problem) = invalid(
            orders()
                .pending(PendingCondition::FieldEquals {
                    field: "phase".into(),
                    value: json!(1),
                })
                .build(),
        );
        assert_eq!(
            problem,
            "pending filter field `phase` is not a declared field"
        );
        let (_, problem) = invalid(
            orders()
                .alias(FieldAlias {
                    from: "Total".into(),
                    to: "sum".into(),
                    bool_to_int: false,
                })
                .build(),
        );
        assert_eq!(problem, "alias `Total` points to undeclared field `sum`");
    }

    #[test]
    fn an_alias_renames_an_incoming_field() {
        let registry = build(
            orders()
                .alias(FieldAlias {
                    from: "grandTotal".into(),
                    to: "total".into(),
                    bool_to_int: false,
                })
                .build(),
        )
        .unwrap();
        let ty = registry.get("orders").unwrap();
        let data = accepted(ty, json!({ "grandTotal": 10 }));
        assert_eq!(Value::Object(data), json!({ "total": 10 }));
    }

    #[test]
    fn a_type_with_additional_fields_stores_undeclared_fields() {
        let registry = build(orders().additional_fields(true).build()).unwrap();
        let changes = prepare_with(
            &registry,
            json!({ "changes": { "orders": [ { "total": 1, "colour": "red", "tenant_id": "x" } ] } }),
        )
        .unwrap();
        assert_eq!(
            Value::Object(changes[0].data.clone()),
            json!({ "total": 1, "colour": "red" })
        );
    }

    #[test]
    fn the_builtin_registry_is_consistent() {
        let built = Registry::builder().with_builtins().build().unwrap();
        assert_eq!(built.len(), Registry::builtin().len());
        for ty in built.iter() {
            assert_eq!(
                Registry::builtin().get(ty.name.as_str()).unwrap().as_ref(),
                ty.as_ref()
            );
        }
    }
}

mod rendering {
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
        let json =
            serde_json::to_value(record.view_with_status(&ty, SyncStatus::Conflict)).unwrap();
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
}

mod properties {
    use proptest::prelude::*;
    use syncd_model::{Cursor, Seq, Timestamp};

    use super::*;

    const KEYS: &[&str] = &[
        "id",
        "version",
        "updatedAt",
        "last_updated",
        "deleted",
        "isDeleted",
        "is_deleted",
        "name",
        "email",
        "phone",
        "active",
        "type",
        "title",
        "description",
        "date",
        "status",
        "client_user_id",
        "tenant_id",
        "sync_status",
        "server_synced",
        "changes",
        "table",
        "operation",
        "op",
        "data",
        "entityType",
        "baseVersion",
        "clientUpdatedAt",
        "clientId",
        "pushId",
        "end_user",
        "interactions",
        "",
    ];

    const STRINGS: &[&str] = &[
        ID_A,
        "not-a-uuid",
        "",
        "2024-01-01T10:00:00Z",
        "2024-01-01",
        "john@example.com",
        "john@",
        "pending",
        "completed",
        "cancelled",
        "create",
        "update",
        "upsert",
        "delete",
        "merge",
        "end_user",
        "interactions",
        "ghosts",
        "call",
        "true",
        "1",
    ];

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => prop::sample::select(KEYS).prop_map(str::to_owned),
            1 => ".{0,12}",
        ]
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            prop_oneof![Just(0_i64), Just(1), Just(2), Just(-1), any::<i64>()]
                .prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            prop::sample::select(STRINGS).prop_map(Value::from),
            ".{0,24}".prop_map(Value::String),
        ]
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..6)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    fn arb_record() -> impl Strategy<Value = Map<String, Value>> {
        prop::collection::vec((key(), prop_oneof![3 => leaf(), 1 => arb_json()]), 0..10)
            .prop_map(|entries| entries.into_iter().collect())
    }

    fn type_name() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("end_user".to_owned()),
            Just("interactions".to_owned()),
            Just("ghosts".to_owned()),
            "[a-zA-Z_]{0,8}",
        ]
    }

    fn op() -> impl Strategy<Value = Value> {
        prop_oneof![
            4 => prop::sample::select(&["create", "update", "upsert", "delete", "merge", ""][..])
                .prop_map(Value::from),
            1 => leaf(),
        ]
    }

    /// Inserts the present ones of `entries` into an object.
    fn object(entries: Vec<(&str, Option<Value>)>) -> Value {
        Value::Object(
            entries
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
                .collect(),
        )
    }

    fn map_form() -> impl Strategy<Value = Value> {
        (
            prop::collection::vec(
                (
                    type_name(),
                    prop_oneof![
                        4 => prop::collection::vec(
                            prop_oneof![4 => arb_record().prop_map(Value::Object), 1 => leaf()],
                            0..5,
                        )
                        .prop_map(Value::Array),
                        1 => arb_json(),
                    ],
                ),
                0..4,
            ),
            prop::option::of(leaf()),
        )
            .prop_map(|(types, client_id)| {
                let changes: Map<String, Value> = types.into_iter().collect();
                object(vec![
                    ("changes", Some(Value::Object(changes))),
                    ("clientId", client_id),
                ])
            })
    }

    fn list_change() -> impl Strategy<Value = Value> {
        (
            prop::option::of(prop_oneof![4 => type_name().prop_map(Value::from), 1 => leaf()]),
            prop::option::of(op()),
            prop::option::of(prop_oneof![Just(Value::from(ID_A)), leaf()]),
            prop::option::of(prop_oneof![(0_i64..10).prop_map(Value::from), leaf()]),
            prop::option::of(
                prop_oneof![4 => arb_record().prop_map(Value::Object), 1 => arb_json()],
            ),
            prop::option::of(leaf()),
        )
            .prop_map(|(ty, op, id, base, data, at)| {
                object(vec![
                    ("entityType", ty),
                    ("op", op),
                    ("id", id),
                    ("baseVersion", base),
                    ("data", data),
                    ("clientUpdatedAt", at),
                ])
            })
    }

    fn list_form() -> impl Strategy<Value = Value> {
        prop::collection::vec(prop_oneof![6 => list_change(), 1 => arb_json()], 0..6)
            .prop_map(|changes| json!({ "changes": changes }))
    }

    fn single_form() -> impl Strategy<Value = Value> {
        (
            prop_oneof![4 => type_name().prop_map(Value::from), 1 => leaf()],
            prop::option::of(op()),
            prop::option::of(
                prop_oneof![4 => arb_record().prop_map(Value::Object), 1 => arb_json()],
            ),
            prop::option::of(prop_oneof![Just(Value::from(ID_A)), leaf()]),
        )
            .prop_map(|(table, operation, data, id)| {
                object(vec![
                    ("table", Some(table)),
                    ("operation", operation),
                    ("data", data),
                    ("id", id),
                ])
            })
    }

    fn push_body() -> impl Strategy<Value = Value> {
        prop_oneof![
            2 => map_form(),
            2 => list_form(),
            2 => single_form(),
            1 => arb_json(),
        ]
    }

    /// Parses and prepares `body`, checking that nothing is lost and every rejection explains
    /// itself.
    fn check_push(body: Value) -> Result<(), TestCaseError> {
        let parsed = match parse_push_body(body) {
            Ok(parsed) => parsed,
            Err(e) => {
                prop_assert!(!e.0.is_empty());
                prop_assert!(!e.to_string().is_empty());
                return Ok(());
            }
        };
        for error in &parsed.errors {
            prop_assert!(!error.message.is_empty(), "{error:?}");
        }
        let mut indices: Vec<usize> = parsed
            .changes
            .iter()
            .map(|c| c.index)
            .chain(parsed.errors.iter().map(|e| e.index))
            .collect();
        indices.sort_unstable();
        let expected: Vec<usize> = (0..indices.len()).collect();
        prop_assert_eq!(
            &indices,
            &expected,
            "every change is accounted for exactly once"
        );
        let raw_count = parsed.changes.len();
        let had_parse_errors = !parsed.errors.is_empty();
        match Registry::builtin().prepare(parsed.changes, parsed.errors, &limits()) {
            Ok(changes) => {
                prop_assert!(!had_parse_errors);
                prop_assert_eq!(changes.len(), raw_count);
                for change in &changes {
                    for key in change.data.keys() {
                        prop_assert!(change.entity_type.field(key).is_some(), "{key}");
                    }
                }
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                prop_assert!(errors.windows(2).all(|w| w[0].index <= w[1].index));
                for error in &errors {
                    prop_assert!(!error.message.is_empty(), "{error:?}");
                }
                prop_assert!(worst_kind(&errors).is_some());
            }
        }
        Ok(())
    }

    use syncd_model::worst_kind;

    fn check_record(ty: &EntityType, record: Map<String, Value>) -> Result<(), TestCaseError> {
        match ty.normalize(record, &limits()) {
            Ok(data) => {
                for key in data.keys() {
                    prop_assert!(ty.field(key).is_some(), "{key} is not declared");
                }
                let again = ty.normalize(data.clone(), &limits());
                prop_assert_eq!(again, Ok(data.clone()), "normalising is idempotent");
                for error in ty.check_required(&data) {
                    prop_assert!(!error.message.is_empty());
                }
                let mut with_defaults = data;
                ty.apply_defaults(&mut with_defaults);
                prop_assert!(ty.normalize(with_defaults, &limits()).is_ok());
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for error in errors {
                    prop_assert!(!error.message.is_empty(), "{error:?}");
                }
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_json_never_panics_body_parsing_and_every_rejection_has_a_message(body in arb_json()) {
            check_push(body)?;
        }

        #[test]
        fn push_shaped_bodies_never_panic_and_every_rejection_has_a_message(body in push_body()) {
            check_push(body)?;
        }

        #[test]
        fn arbitrary_end_user_records_never_panic_and_every_rejection_has_a_message(record in arb_record()) {
            check_record(&end_user(), record)?;
        }

        #[test]
        fn arbitrary_interaction_records_never_panic_and_every_rejection_has_a_message(record in arb_record()) {
            check_record(&interactions(), record)?;
        }

        #[test]
        fn arbitrary_json_values_in_every_builtin_field_never_panic(
            field in prop::sample::select(&["name", "email", "phone", "active", "is_deleted", "isDeleted",
                                            "type", "title", "description", "date", "status", "client_user_id"][..]),
            value in arb_json(),
        ) {
            for ty in [end_user(), interactions()] {
                let mut record = Map::new();
                record.insert(field.to_owned(), value.clone());
                check_record(&ty, record)?;
            }
        }

        #[test]
        fn json_depth_is_accepted_up_to_32_levels_and_refused_beyond(depth in 0_usize..48) {
            let ty = EntityType::builder(name("blobs"))
                .field("payload", FieldSchema::new(FieldType::Json))
                .build();
            let value = (0..depth).fold(json!(null), |inner, _| json!([inner]));
            let result = ty.normalize(obj(json!({ "payload": value })), &limits());
            if depth <= 32 {
                prop_assert!(result.is_ok());
            } else {
                prop_assert_eq!(result, Err(vec![FieldError::new("payload", "is nested deeper than 32 levels")]));
            }
        }

        #[test]
        fn garbage_cursors_never_panic(text in ".{0,40}") {
            let _ = Cursor::decode(&text);
        }

        #[test]
        fn cursor_shaped_garbage_is_refused_unless_it_was_handed_out(digits in "[0-9a-fA-F]{18}") {
            let text = format!("c1{digits}");
            if let Ok(cursor) = Cursor::decode(&text) {
                prop_assert_eq!(cursor.encode(), text.to_lowercase());
            }
        }

        #[test]
        fn every_cursor_round_trips(seq in 0_i64..=i64::MAX) {
            let cursor = Cursor::new(Seq(seq));
            prop_assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
        }

        #[test]
        fn garbage_times_never_panic(text in ".{0,40}") {
            if let Ok(ts) = Timestamp::parse_rfc3339(&text) {
                prop_assert_eq!(Timestamp::parse_rfc3339(&ts.to_rfc3339()), Ok(ts));
            }
        }
    }
}
