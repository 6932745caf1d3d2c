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
                    format!("field `{managed}` is managed by the server and cannot be declared")
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
