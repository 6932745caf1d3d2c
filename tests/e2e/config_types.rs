//! Entity types from configuration (SPEC §2, §9): every type of `examples/entities.toml` works
//! end to end without recompiling — field rules, defaults, json fields, references, deletion
//! rules, pending filters, per-type strategies — and `additional_fields` is opt-in.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use syncd_e2e::process::WorkDir;
use syncd_e2e::*;

use crate::crud::{id_of, spawn};

/// A valid record for every example type, in an order where references already exist:
/// `(type, data, expected defaults)`. `$employee` and `$client` are replaced by ids.
fn one_of_each() -> Vec<(&'static str, Value, Value)> {
    vec![
        (
            "employee",
            json!({ "name": "Eve", "email": "eve@example.com", "hire_date": "2023-01-15" }),
            json!({ "active": true }),
        ),
        (
            "clients",
            json!({ "name": "Acme", "assigned_to": "$employee" }),
            json!({ "status": "active" }),
        ),
        (
            "appointments",
            json!({ "client_id": "$client", "date": "2024-05-01T10:00:00Z" }),
            json!({ "status": "scheduled" }),
        ),
        (
            "stock_requests",
            json!({ "product_name": "Bolts", "quantity": 3, "requested_by": "$employee",
            "needed_by": "2024-06-01" }),
            json!({ "unit": "pcs", "status": "requested" }),
        ),
        (
            "distributors",
            json!({ "name": "Dist", "credit_limit": 1000.5,
            "agreement_data": { "terms": { "days": 30, "discounts": [0.05, 0.1] }, "signed": true, "note": null } }),
            json!({ "active": true }),
        ),
        (
            "visits",
            json!({ "client_id": "$client", "employee_id": "$employee",
            "visit_date": "2024-05-02T09:30:00Z", "latitude": 45.5, "longitude": -73.6 }),
            json!({ "status": "planned" }),
        ),
        (
            "campaigns",
            json!({ "name": "Spring", "channel": "email", "start_date": "2024-03-01", "budget": 500 }),
            json!({ "status": "draft" }),
        ),
        (
            "finance_cash_requests",
            json!({ "employee_id": "$employee", "amount": 120.0, "purpose": "Taxi" }),
            json!({ "currency": "USD", "status": "pending" }),
        ),
        (
            "leave_requests",
            json!({ "employee_id": "$employee", "leave_type": "annual",
            "start_date": "2024-07-01", "end_date": "2024-07-14" }),
            json!({ "status": "pending" }),
        ),
        (
            "contacts",
            json!({ "first_name": "Carl", "client_id": "$client" }),
            json!({}),
        ),
        (
            "mileage",
            json!({ "employee_id": "$employee", "trip_date": "2024-05-03", "distance_km": 42.5 }),
            json!({ "status": "submitted" }),
        ),
        (
            "receipt",
            json!({ "amount": 18.9, "receipt_date": "2024-05-03", "category": "meals" }),
            json!({ "currency": "USD", "status": "submitted" }),
        ),
        (
            "time_tracking",
            json!({ "employee_id": "$employee", "start_time": "2024-05-03T08:00:00Z",
            "duration_minutes": 30 }),
            json!({ "billable": false }),
        ),
    ]
}

fn substitute(data: &Value, employee: &str, client: &str) -> Value {
    match data {
        Value::String(s) if s == "$employee" => json!(employee),
        Value::String(s) if s == "$client" => json!(client),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute(v, employee, client)))
                .collect(),
        ),
        other => other.clone(),
    }
}

e2e! {
    async fn every_type_of_the_example_file_works_through_rest_push_and_pull(backend) {
        let app = spawn(backend).await;
        let t = tenant();
        let office = app.client(&t, "office");
        let app1 = app.client(&t, "app-1");
        let mut employee = String::new();
        let mut client = String::new();
        let mut written = Vec::new();

        for (ty, data, defaults) in one_of_each() {
            let data = substitute(&data, &employee, &client);
            let (status, created) = office.post(&format!("/api/{ty}"), &data).await;
            assert_eq!(status, StatusCode::CREATED, "POST /api/{ty} {data}: {created}");
            let record = created["data"].clone();
            for (field, value) in data.as_object().into_iter().flatten() {
                assert_eq!(&record[field], value, "{ty}.{field} round trip: {record}");
            }
            for (field, value) in defaults.as_object().into_iter().flatten() {
                assert_eq!(&record[field], value, "{ty}.{field} default: {record}");
            }
            assert_eq!(record["version"], json!(1));
            match ty {
                "employee" => employee = id_of(&record),
                "clients" => client = id_of(&record),
                _ => {}
            }
            let (status, got) = office.get(&format!("/api/{ty}/{}", id_of(&record))).await;
            assert_eq!(status, StatusCode::OK, "{got}");
            assert_eq!(got["data"], record, "GET returns what POST answered");
            written.push((ty, record));

            // The same type through a push from an app.
            let res = app1
                .push_ok(&json!({ "changes": [ { "entityType": ty, "op": "upsert", "data": data } ] }))
                .await;
            assert_eq!(res["results"][0]["status"], json!("created"), "push {ty}: {res}");
            assert_eq!(res["data"][0]["sync_status"], json!("synced"), "{res}");
            written.push((ty, res["data"][0].clone()));
        }

        let page = app1.pull_ok(&json!({})).await;
        let data = page["data"].as_object().cloned().unwrap_or_default();
        let keys: BTreeSet<&str> = data.keys().map(String::as_str).collect();
        for ty in one_of_each().iter().map(|(ty, _, _)| *ty).chain(["end_user", "interactions"]) {
            assert!(keys.contains(ty), "a pull of every readable type lacks `{ty}`: {keys:?}");
        }
        for (ty, record) in &written {
            let pulled = records_of(&page, ty)
                .iter()
                .find(|r| r["id"] == record["id"])
                .unwrap_or_else(|| panic!("{ty} {} was not pulled", record["id"]));
            assert_eq!(pulled, record, "{ty}");
        }
        // The json field comes back as sent, nested structure and null included.
        let distributor = &written.iter().find(|(ty, _)| *ty == "distributors").map(|(_, r)| r.clone()).unwrap_or_default();
        assert_eq!(
            distributor["agreement_data"],
            json!({ "terms": { "days": 30, "discounts": [0.05, 0.1] }, "signed": true, "note": null })
        );
    }
}

e2e! {
    async fn field_rules_of_the_entities_file_are_enforced_and_name_the_field(backend) {
        let app = spawn(backend).await;
        let office = app.client(&tenant(), "office");
        let (_, employee) = office.post("/api/employee", &json!({ "name": "Eve" })).await;
        let employee = id_of(&employee["data"]);
        let long = "x".repeat(101);

        let cases: Vec<(&str, Value, &str)> = vec![
            ("clients", json!({ "email": "a@example.com" }), "name"),
            ("clients", json!({ "name": "A", "status": "bogus" }), "status"),
            ("clients", json!({ "name": "A", "email": "not-an-email" }), "email"),
            ("clients", json!({ "name": "A", "branch": long }), "branch"),
            ("clients", json!({ "name": "A", "assigned_to": "not-a-uuid" }), "assigned_to"),
            ("clients", json!({ "name": "A", "assigned_to": new_id() }), "assigned_to"),
            ("clients", json!({ "name": 42 }), "name"),
            ("stock_requests", json!({ "product_name": "P", "quantity": 0 }), "quantity"),
            ("stock_requests", json!({ "product_name": "P", "quantity": "three" }), "quantity"),
            ("stock_requests", json!({ "product_name": "P" }), "quantity"),
            ("distributors", json!({ "name": "D", "credit_limit": -1 }), "credit_limit"),
            ("distributors", json!({ "name": "D", "active": "yes" }), "active"),
            ("visits", json!({ "visit_date": "2024-05-02T09:30:00Z", "latitude": 91 }), "latitude"),
            ("appointments", json!({ "date": "tomorrow" }), "date"),
            ("appointments", json!({ "date": "2024-05-01T10:00:00Z", "status": "maybe" }), "status"),
            ("campaigns", json!({ "name": "C", "start_date": "2024-13-45" }), "start_date"),
            ("campaigns", json!({ "name": "C", "channel": "fax" }), "channel"),
            ("leave_requests", json!({ "employee_id": "not-a-uuid", "leave_type": "annual",
                "start_date": "2024-07-01", "end_date": "2024-07-02" }), "employee_id"),
            ("finance_cash_requests", json!({ "employee_id": employee, "amount": 1, "purpose": "p",
                "currency": "EURO" }), "currency"),
            ("time_tracking", json!({ "employee_id": employee, "start_time": "2024-05-03T08:00:00Z",
                "duration_minutes": -5 }), "duration_minutes"),
        ];
        for (ty, body, field) in &cases {
            let response = office.post(&format!("/api/{ty}"), body).await;
            assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            let details = response.1["error"]["details"].as_array().cloned().unwrap_or_default();
            let message = response.1["error"]["message"].as_str().unwrap_or_default();
            assert!(
                details.iter().any(|d| d["field"] == json!(field)) || message.contains(field),
                "POST /api/{ty} {body}: the error does not name `{field}`: {}", response.1
            );
        }

        // Through a push, every invalid change is listed by index and nothing is applied.
        let changes: Vec<Value> = cases
            .iter()
            .map(|(ty, body, _)| json!({ "entityType": ty, "op": "upsert", "data": body }))
            .chain([json!({ "entityType": "clients", "op": "upsert", "data": { "name": "valid" } })])
            .collect();
        let response = office.push(&json!({ "changes": changes })).await;
        assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let indexes: BTreeSet<i64> = response.1["error"]["details"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["index"].as_i64())
            .collect();
        assert_eq!(indexes, (0..cases.len() as i64).collect(), "{}", response.1);
        let (all, _) = office.pull_all(None, 1000).await;
        assert_eq!(all.len(), 1, "only the employee exists: {all:?}");
    }
}

e2e! {
    async fn pending_filters_of_the_entities_file_select_what_pull_pending_returns(backend) {
        let app = spawn(backend).await;
        let t = tenant();
        let office = app.client(&t, "office");
        let app1 = app.client(&t, "app-1");
        let (_, client) = office.post("/api/clients", &json!({ "name": "C" })).await;
        let client = id_of(&client["data"]);
        let appointment = |status: &str| json!({ "client_id": client, "date": "2024-05-01T10:00:00Z", "status": status });

        // appointments: pending = { field = "status", equals = "scheduled" }.
        let (_, scheduled) = office.post("/api/appointments", &appointment("scheduled")).await;
        let (_, done) = office.post("/api/appointments", &appointment("done")).await;
        let (_, cancelled) = office.post("/api/appointments", &appointment("scheduled")).await;
        office.delete(&format!("/api/appointments/{}", id_of(&cancelled["data"]))).await;
        let pushed = app1
            .push_ok(&json!({ "changes": { "appointments": [ appointment("scheduled") ] } }))
            .await;
        // stock_requests: pending = { field = "status", equals = "requested" }.
        let (_, requested) = office
            .post("/api/stock_requests", &json!({ "product_name": "P", "quantity": 1 }))
            .await;
        office
            .post("/api/stock_requests", &json!({ "product_name": "Q", "quantity": 1, "status": "approved" }))
            .await;
        // clients: no pending filter = every live record.
        let (_, second_client) = office.post("/api/clients", &json!({ "name": "D" })).await;

        let (status, page) = app1
            .pull_pending(&json!({ "entityTypes": ["appointments", "stock_requests", "clients"] }))
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let got = |ty: &str| -> BTreeSet<String> { records_of(&page, ty).iter().map(id_of).collect() };
        assert_eq!(
            got("appointments"),
            [id_of(&scheduled["data"]), id_of(&pushed["data"][0])].into_iter().collect(),
            "scheduled and live only: {page}"
        );
        assert!(!got("appointments").contains(&id_of(&done["data"])));
        assert_eq!(got("stock_requests"), [id_of(&requested["data"])].into_iter().collect(), "{page}");
        assert_eq!(got("clients"), [client.clone(), id_of(&second_client["data"])].into_iter().collect());

        // A record leaves the set when it stops matching.
        office
            .put("/api/appointments", &json!({ "id": id_of(&scheduled["data"]), "status": "done" }))
            .await;
        let (_, page) = app1.pull_pending(&json!({ "entityTypes": ["appointments"] })).await;
        assert_eq!(
            records_of(&page, "appointments").iter().map(id_of).collect::<Vec<_>>(),
            vec![id_of(&pushed["data"][0])]
        );
    }
}

e2e! {
    async fn conflict_strategies_named_in_the_entities_file_apply_unless_the_configuration_overrides_them(backend) {
        let app = spawn(backend).await;
        let t = tenant();
        let app1 = app.client(&t, "app-1");
        let app2 = app.client(&t, "app-2");

        // finance_cash_requests: strategy = "manual".
        let employee = app1.create_record("employee", json!({ "name": "Eve" })).await;
        let request = app1
            .create_record("finance_cash_requests", json!({ "employee_id": employee["id"], "amount": 10.0, "purpose": "Taxi" }))
            .await;
        let update = |base: i64, amount: f64| json!({ "changes": [ { "entityType": "finance_cash_requests",
            "op": "upsert", "id": request["id"], "baseVersion": base, "data": { "amount": amount } } ] });
        let res = app2.push_ok(&update(1, 20.0)).await;
        assert_eq!(res["results"][0]["status"], json!("updated"), "{res}");
        let res = app1.push_ok(&update(1, 30.0)).await;
        assert_eq!(res["results"][0]["status"], json!("conflict"), "manual keeps the server copy: {res}");
        assert_eq!(res["data"][0]["amount"], json!(20.0), "{res}");
        let (status, conflicts) = app1.conflicts("entityType=finance_cash_requests").await;
        assert_eq!(status, StatusCode::OK, "{conflicts}");
        assert_eq!(conflicts["data"].as_array().map(Vec::len), Some(1), "{conflicts}");
        assert_eq!(conflicts["data"][0]["recordId"], request["id"], "{conflicts}");

        // appointments: strategy = "last-write-wins".
        let client = app1.create_record("clients", json!({ "name": "C" })).await;
        let appointment = app1
            .create_record("appointments", json!({ "client_id": client["id"], "date": "2024-05-01T10:00:00Z" }))
            .await;
        let edit = |base: i64, notes: &str, at: String| json!({ "changes": [ { "entityType": "appointments",
            "op": "upsert", "id": appointment["id"], "baseVersion": base, "clientUpdatedAt": at,
            "data": { "notes": notes } } ] });
        app2.push_ok(&edit(1, "app-2 now", time_from_now(0))).await;
        let res = app1.push_ok(&edit(1, "app-1 an hour ago", time_from_now(-3600))).await;
        assert_eq!(res["results"][0]["status"], json!("conflict_resolved"), "{res}");
        assert_eq!(res["data"][0]["notes"], json!("app-2 now"), "the later edit wins: {res}");
        let res = app1.push_ok(&edit(1, "app-1 later", time_from_now(5))).await;
        assert_eq!(res["data"][0]["notes"], json!("app-1 later"), "the later edit wins: {res}");

        // [sync.strategies] in the configuration beats the file.
        let overridden = TestApp::spawn(backend, |s| {
            crate::crud::with_entities(s);
            s.sync.strategies.insert("appointments".into(), "server-wins".into());
        })
        .await;
        let app1 = overridden.client(&t, "app-1");
        let app2 = overridden.client(&t, "app-2");
        let client = app1.create_record("clients", json!({ "name": "C" })).await;
        let appointment = app1
            .create_record("appointments", json!({ "client_id": client["id"], "date": "2024-05-01T10:00:00Z" }))
            .await;
        let edit = |base: i64, notes: &str, at: String| json!({ "changes": [ { "entityType": "appointments",
            "op": "upsert", "id": appointment["id"], "baseVersion": base, "clientUpdatedAt": at,
            "data": { "notes": notes } } ] });
        app2.push_ok(&edit(1, "server copy", time_from_now(-10))).await;
        let res = app1.push_ok(&edit(1, "later but stale", time_from_now(5))).await;
        assert_eq!(res["results"][0]["status"], json!("conflict_resolved"), "{res}");
        assert_eq!(res["data"][0]["notes"], json!("server copy"), "server-wins: {res}");
    }
}

const CUSTOM_ENTITIES: &str = r#"
[[entity]]
name = "field_notes"
additional_fields = true
search = ["title"]
[entity.fields]
title = { type = "string", required = true }

[[entity]]
name = "strict_notes"
[entity.fields]
title = { type = "string", required = true }
"#;

e2e! {
    async fn additional_fields_are_stored_as_is_only_where_a_type_opts_in(backend) {
        let dir = WorkDir::new();
        let file = dir.write("entities.toml", CUSTOM_ENTITIES);
        let app = TestApp::spawn(backend, |s| s.sync.entities_file = Some(file.clone())).await;
        let office = app.client(&tenant(), "office");

        let extra = json!({ "colour": "red", "meta": { "tags": ["a", "b"], "n": 1 } });
        let mut body = json!({ "title": "Open" });
        for (k, v) in extra.as_object().into_iter().flatten() {
            body[k] = v.clone();
        }
        let (status, created) = office.post("/api/field_notes", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = id_of(&created["data"]);
        let (_, got) = office.get(&format!("/api/field_notes/{id}")).await;
        assert_eq!(got["data"]["colour"], json!("red"), "{got}");
        assert_eq!(got["data"]["meta"], extra["meta"], "{got}");
        let page = office.pull_ok(&json!({ "entityTypes": ["field_notes"] })).await;
        assert_eq!(records_of(&page, "field_notes")[0]["meta"], extra["meta"], "{page}");
        // Server-managed fields are still not the client's, even here.
        let (status, sneaky) = office
            .post("/api/field_notes", &json!({ "title": "x", "tenant_id": "other", "version": 99 }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{sneaky}");
        assert_eq!(sneaky["data"]["version"], json!(1), "{sneaky}");
        assert!(sneaky["data"].get("tenant_id").is_none(), "{sneaky}");

        let response = office.post("/api/strict_notes", &body).await;
        assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert!(response.1.to_string().contains("colour"), "{}", response.1);

        // A server without the file does not know these types.
        let plain = TestApp::spawn(backend, |_| {}).await;
        let response = plain
            .client(&tenant(), "app")
            .push(&json!({ "changes": { "field_notes": [ { "title": "x" } ] } }))
            .await;
        assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "unknown_entity_type");
    }
}
