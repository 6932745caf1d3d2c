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
