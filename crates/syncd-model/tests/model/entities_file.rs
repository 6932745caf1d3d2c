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
    EntitiesFile::parse("entities.toml", text)?.build_registry(Registry::builder().with_builtins())
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
