//! REST CRUD for every registered type (SPEC §4.5, issue 7), on a server started with the
//! repository's `examples/entities.toml`: the same validation, tenancy, scopes, seqs, tombstones
//! and history as push, with REST shapes; filters and search safe against injection.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use syncd_e2e::*;

pub const ENTITIES: &str = EXAMPLE_ENTITIES;

/// The settings tweak that loads the example entities file.
pub fn with_entities(settings: &mut Settings) {
    settings.sync.entities_file = Some(ENTITIES.into());
}

pub async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn(backend, with_entities).await
}

pub fn id_of(record: &Value) -> String {
    record["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a record without an id: {record}"))
        .to_owned()
}

/// Percent-encodes a query-string value (everything but unreserved characters).
pub fn enc(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `GET /api/{type}?{query}` page by page (`limit` per page) until `hasMore` is false; returns
/// every record in the order received.
pub async fn list_all(client: &Client, entity_type: &str, query: &str, limit: u32) -> Vec<Value> {
    let mut records = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let mut path = format!("/api/{entity_type}?limit={limit}");
        if !query.is_empty() {
            path.push('&');
            path.push_str(query);
        }
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={}", enc(c)));
        }
        let (status, page) = client.get(&path).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {page}");
        assert_eq!(page["success"], json!(true), "{page}");
        let data = page["data"]
            .as_array()
            .unwrap_or_else(|| panic!("GET {path}: `data` is not a list: {page}"));
        assert!(
            data.len() <= limit as usize,
            "GET {path} exceeded its limit"
        );
        records.extend(data.iter().cloned());
        let next = page["cursor"]
            .as_str()
            .unwrap_or_else(|| panic!("GET {path}: no cursor: {page}"))
            .to_owned();
        if page["hasMore"] != json!(true) {
            return records;
        }
        assert_ne!(
            cursor.as_deref(),
            Some(next.as_str()),
            "the cursor did not move: {page}"
        );
        cursor = Some(next);
    }
    panic!("GET /api/{entity_type}?{query} never reached hasMore: false");
}

fn id_set(records: &[Value]) -> BTreeSet<String> {
    records.iter().map(id_of).collect()
}

/// Asserts that `records` holds no id twice and returns their ids.
#[track_caller]
fn unique_ids(records: &[Value]) -> BTreeSet<String> {
    let set = id_set(records);
    assert_eq!(set.len(), records.len(), "a record was listed twice");
    set
}

/// Asserts a 422 `validation_failed` that names `field` (in `details` or the message).
#[track_caller]
fn assert_names_field(response: &(StatusCode, Value), field: &str) {
    assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let body = &response.1;
    let in_details = body["error"]["details"]
        .as_array()
        .is_some_and(|d| d.iter().any(|e| e["field"] == json!(field)));
    let in_message = body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains(field));
    assert!(
        in_details || in_message,
        "the error does not name `{field}`: {body}"
    );
}

e2e! {
    async fn an_end_user_created_through_rest_is_pending_until_an_app_pushes_it_back(backend) {
        let app = spawn(backend).await;
        let t = tenant();
        let office = app.client(&t, "back-office");
        let app1 = app.client(&t, "app-1");

        let (status, first) = office
            .post("/api/end_user", &json!({ "name": "Office made", "email": "o@example.com" }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        assert_eq!(first["success"], json!(true), "{first}");
        let first = first["data"].clone();
        assert!(is_uuid(&first["id"]), "{first}");
        assert_eq!(first["sync_status"], json!("pending"), "{first}");
        assert_eq!(first["server_synced"], json!(0), "{first}");
        let (_, second) = office.post("/api/end_user", &json!({ "name": "Also pending" })).await;
        let second = second["data"].clone();

        let pending = |page: &Value| id_set(records_of(page, "end_user"));
        let (status, page) = app1.pull_pending(&json!({ "entityTypes": ["end_user"] })).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(pending(&page), id_set(&[first.clone(), second.clone()]), "{page}");
        // Asking again changes nothing: reading is not acknowledging.
        let (_, page) = app1.pull_pending(&json!({ "entityTypes": ["end_user"] })).await;
        assert_eq!(pending(&page), id_set(&[first.clone(), second.clone()]), "{page}");

        let pushed = records_of(&page, "end_user")
            .iter()
            .find(|r| r["id"] == first["id"])
            .cloned()
            .unwrap_or_default();
        let res = app1.push_ok(&json!({ "changes": { "end_user": [ pushed ] } })).await;
        assert_eq!(res["data"][0]["sync_status"], json!("synced"), "{res}");
        let (_, page) = app1.pull_pending(&json!({ "entityTypes": ["end_user"] })).await;
        assert_eq!(pending(&page), id_set(std::slice::from_ref(&second)), "only the acknowledged one left: {page}");

        // A later REST write makes it pending again.
        let (status, put) = office
            .put("/api/end_user", &json!({ "id": first["id"], "phone": "123" }))
            .await;
        assert_eq!(status, StatusCode::OK, "{put}");
        assert_eq!(put["data"]["sync_status"], json!("pending"), "{put}");
        assert_eq!(put["data"]["server_synced"], json!(0), "{put}");
        let (_, page) = app1.pull_pending(&json!({ "entityTypes": ["end_user"] })).await;
        assert_eq!(pending(&page), id_set(&[first, second]), "{page}");
    }
}

e2e! {
    async fn the_history_route_lists_every_version_with_its_client_and_subject(backend) {
        let app = spawn(backend).await;
        let t = tenant();
        let office = app.client(&t, "office");
        let office2 = app.client(&t, "office-2");
        let app1 = app.client(&t, "app-1");

        let (_, created) = office
            .post("/api/end_user", &json!({ "name": "Ada", "phone": "1" }))
            .await;
        let id = id_of(&created["data"]);
        let (status, put) = office2
            .put("/api/end_user", &json!({ "id": id, "phone": "2", "version": 1 }))
            .await;
        assert_eq!(status, StatusCode::OK, "{put}");
        let res = app1
            .push_ok(&json!({ "changes": [ { "entityType": "end_user", "op": "upsert", "id": id,
                "baseVersion": 2, "data": { "email": "ada@example.com" } } ] }))
            .await;
        assert_eq!(res["results"][0]["status"], json!("updated"), "{res}");
        let (status, _) = office.delete(&format!("/api/end_user/{id}")).await;
        assert_eq!(status, StatusCode::OK);

        let (status, history) = office.get(&format!("/api/end_user/{id}/history")).await;
        assert_eq!(status, StatusCode::OK, "{history}");
        assert_eq!(history["success"], json!(true), "{history}");
        let versions = history["data"]
            .as_array()
            .unwrap_or_else(|| panic!("`data` is not a list: {history}"));
        assert_eq!(versions.len(), 4, "one entry per version: {history}");
        let expected = [
            (1, "create", "office"),
            (2, "update", "office-2"),
            (3, "update", "app-1"),
            (4, "delete", "office"),
        ];
        let mut last_at = String::new();
        for (entry, (version, action, client)) in versions.iter().zip(expected) {
            assert_eq!(entry["version"], json!(version), "{entry}");
            assert_eq!(entry["action"], json!(action), "{entry}");
            assert_eq!(entry["clientId"], json!(client), "{entry}");
            assert_eq!(entry["subject"], json!(format!("user-{client}")), "{entry}");
            assert!(is_rfc3339_millis_utc(&entry["at"]), "{entry}");
            let at = entry["at"].as_str().unwrap_or_default().to_owned();
            assert!(at >= last_at, "history out of order: {history}");
            last_at = at;
            assert!(entry["data"].is_object(), "{entry}");
            assert!(entry["changedFields"].is_array(), "{entry}");
            assert!(entry.get("tenant_id").is_none() && entry["data"].get("tenant_id").is_none());
        }
        let changed = |i: usize| -> Vec<String> {
            versions[i]["changedFields"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect()
        };
        assert!(changed(0).contains(&"name".to_owned()), "{}", versions[0]);
        assert!(changed(1).contains(&"phone".to_owned()), "{}", versions[1]);
        assert!(!changed(1).contains(&"name".to_owned()), "name did not change: {}", versions[1]);
        assert!(changed(2).contains(&"email".to_owned()), "{}", versions[2]);
        assert!(!changed(2).contains(&"phone".to_owned()), "{}", versions[2]);
        assert_eq!(versions[0]["data"]["name"], json!("Ada"));
        assert_eq!(versions[0]["data"]["phone"], json!("1"));
        assert_eq!(versions[1]["data"]["phone"], json!("2"));
        assert_eq!(versions[1]["data"]["name"], json!("Ada"), "a version is the whole record");
        assert_eq!(versions[2]["data"]["email"], json!("ada@example.com"));
        assert_eq!(versions[3]["data"]["is_deleted"], json!(1), "{}", versions[3]);

        // Another tenant cannot read it; an unknown id is a 404.
        let response = app.client(&tenant(), "spy").get(&format!("/api/end_user/{id}/history")).await;
        assert_error(&response, StatusCode::NOT_FOUND, "not_found");
        let response = office.get(&format!("/api/end_user/{}/history", new_id())).await;
        assert_error(&response, StatusCode::NOT_FOUND, "not_found");
    }
}

/// 500 clients: four branches, ten "Widgets" companies.
fn five_hundred_clients() -> Vec<Value> {
    (0..500)
        .map(|i| {
            let branch = ["north", "south", "east", "west"][i % 4];
            json!({
                "name": format!("Client {i:03}"),
                "email": format!("client{i}@example.com"),
                "phone": format!("+1-555-{i:04}"),
                "branch": branch,
                "company": if i % 50 == 7 { "Widgets Unlimited".to_owned() } else { format!("Company {i}") },
            })
        })
        .collect()
}

e2e! {
    async fn a_bulk_post_of_500_clients_is_listed_filtered_searched_and_paged_exactly_once(backend) {
        let app = spawn(backend).await;
        let office = app.client(&tenant(), "office");
        let input = five_hundred_clients();

        let (status, created) = office.post("/api/clients", &Value::Array(input.clone())).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["success"], json!(true));
        let created = created["data"]
            .as_array()
            .unwrap_or_else(|| panic!("an array body answers a list"))
            .clone();
        assert_eq!(created.len(), 500);
        for (record, sent) in created.iter().zip(&input) {
            assert!(is_uuid(&record["id"]), "{record}");
            assert_eq!(record["name"], sent["name"], "results follow the body's order");
            assert_eq!(record["version"], json!(1), "{record}");
            assert_eq!(record["status"], json!("active"), "the default applies: {record}");
            assert_eq!(record["sync_status"], json!("pending"), "{record}");
        }
        let all_ids = unique_ids(&created);
        assert_eq!(all_ids.len(), 500);
        let expected = |pred: &dyn Fn(usize) -> bool| -> BTreeSet<String> {
            (0..500).filter(|i| pred(*i)).map(|i| id_of(&created[i])).collect()
        };

        // A first page without a limit is a page, not everything.
        let (status, page) = office.get("/api/clients").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page["cursor"].is_string(), "{page}");
        let first = page["data"].as_array().map_or(0, Vec::len);
        assert!(first > 0 && first < 500 && page["hasMore"] == json!(true), "{first} {}", page["hasMore"]);

        // Paging through everything: each record exactly once.
        for limit in [37, 500] {
            let listed = list_all(&office, "clients", "", limit).await;
            assert_eq!(listed.len(), 500, "limit {limit}");
            assert_eq!(unique_ids(&listed), all_ids, "limit {limit}");
        }

        // Filters on declared fields.
        let north = list_all(&office, "clients", "branch=north", 40).await;
        assert!(north.iter().all(|r| r["branch"] == json!("north")));
        assert_eq!(unique_ids(&north), expected(&|i| i % 4 == 0));
        let both = list_all(&office, "clients", "branch=north&status=active", 1000).await;
        assert_eq!(unique_ids(&both), expected(&|i| i % 4 == 0));
        let none = list_all(&office, "clients", "status=inactive", 1000).await;
        assert_eq!(none, Vec::<Value>::new());
        let one = list_all(&office, "clients", &format!("email={}", enc("client123@example.com")), 10).await;
        assert_eq!(unique_ids(&one), expected(&|i| i == 123));

        // Search over the type's search fields (name, email, company, branch).
        let widgets = list_all(&office, "clients", "search=Widgets", 3).await;
        assert_eq!(unique_ids(&widgets), expected(&|i| i % 50 == 7));
        let by_email = list_all(&office, "clients", &format!("search={}", enc("client123@")), 100).await;
        assert_eq!(unique_ids(&by_email), expected(&|i| i == 123));
        let combined = list_all(&office, "clients", "search=Widgets&branch=west", 100).await;
        assert_eq!(unique_ids(&combined), expected(&|i| i % 50 == 7 && i % 4 == 3));
        let everyone = list_all(&office, "clients", "search=Client", 64).await;
        assert_eq!(unique_ids(&everyone), all_ids);
        let nobody = list_all(&office, "clients", "search=Gadgets", 100).await;
        assert_eq!(nobody, Vec::<Value>::new());

        // Tombstones only on request.
        let gone: Vec<String> = [5usize, 6].iter().map(|i| id_of(&created[*i])).collect();
        let (status, _) = office.delete(&format!("/api/clients?id={}", gone[0])).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = office.delete(&format!("/api/clients/{}", gone[1])).await;
        assert_eq!(status, StatusCode::OK);
        let live = list_all(&office, "clients", "", 200).await;
        assert_eq!(unique_ids(&live), expected(&|i| i != 5 && i != 6));
        assert!(live.iter().all(|r| r["deleted"] == json!(false)), "lists show live records");
        let with_deleted = list_all(&office, "clients", "includeDeleted=true", 200).await;
        assert_eq!(unique_ids(&with_deleted), all_ids);
        let tombstones: BTreeSet<String> = with_deleted
            .iter()
            .filter(|r| r["deleted"] == json!(true))
            .map(id_of)
            .collect();
        assert_eq!(tombstones, gone.into_iter().collect());
    }
}

e2e! {
    async fn put_patches_objects_and_arrays_and_a_stale_version_is_a_409(backend) {
        let app = spawn(backend).await;
        let office = app.client(&tenant(), "office");
        let (status, created) = office
            .post("/api/clients", &json!([
                { "name": "Alpha", "email": "alpha@example.com", "branch": "north", "phone": "1" },
                { "name": "Beta", "branch": "south" }
            ]))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let a = id_of(&created["data"][0]);
        let b = id_of(&created["data"][1]);

        // An object: a patch, fields not sent keep their values.
        let (status, put) = office
            .put("/api/clients", &json!({ "id": a, "phone": "555", "version": 1 }))
            .await;
        assert_eq!(status, StatusCode::OK, "{put}");
        assert_eq!(put["success"], json!(true));
        let record = &put["data"];
        assert!(record.is_object(), "an object body answers a record: {put}");
        assert_eq!(record["version"], json!(2), "{record}");
        assert_eq!(record["phone"], json!("555"));
        assert_eq!(record["name"], json!("Alpha"), "not sent, kept: {record}");
        assert_eq!(record["email"], json!("alpha@example.com"), "not sent, kept: {record}");
        assert_eq!(record["branch"], json!("north"), "not sent, kept: {record}");

        // A stale version: 409, nothing written.
        let response = office
            .put("/api/clients", &json!({ "id": a, "name": "Stale", "version": 1 }))
            .await;
        assert_error(&response, StatusCode::CONFLICT, "version_conflict");
        let (_, got) = office.get(&format!("/api/clients/{a}")).await;
        assert_eq!(got["data"]["name"], json!("Alpha"), "{got}");
        assert_eq!(got["data"]["version"], json!(2), "{got}");

        // No version: a plain write.
        let (status, put) = office.put("/api/clients", &json!({ "id": a, "notes": "vip" })).await;
        assert_eq!(status, StatusCode::OK, "{put}");
        assert_eq!(put["data"]["version"], json!(3), "{put}");
        assert_eq!(put["data"]["notes"], json!("vip"));
        assert_eq!(put["data"]["phone"], json!("555"));

        // An array: a list back, in order.
        let (status, put) = office
            .put("/api/clients", &json!([
                { "id": a, "branch": "east", "version": 3 },
                { "id": b, "company": "Beta Corp" }
            ]))
            .await;
        assert_eq!(status, StatusCode::OK, "{put}");
        let list = put["data"].as_array().unwrap_or_else(|| panic!("an array body answers a list: {put}"));
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["id"], json!(a));
        assert_eq!(list[0]["version"], json!(4));
        assert_eq!(list[0]["branch"], json!("east"));
        assert_eq!(list[0]["notes"], json!("vip"));
        assert_eq!(list[1]["id"], json!(b));
        assert_eq!(list[1]["version"], json!(2));
        assert_eq!(list[1]["company"], json!("Beta Corp"));
        assert_eq!(list[1]["name"], json!("Beta"));

        // One stale item in an array: 409, and none of it applied.
        let response = office
            .put("/api/clients", &json!([
                { "id": a, "company": "Changed", "version": 4 },
                { "id": b, "company": "Changed", "version": 1 }
            ]))
            .await;
        assert_error(&response, StatusCode::CONFLICT, "version_conflict");
        for (id, version) in [(&a, 4), (&b, 2)] {
            let (_, got) = office.get(&format!("/api/clients/{id}")).await;
            assert_eq!(got["data"]["version"], json!(version), "{got}");
            assert_ne!(got["data"]["company"], json!("Changed"), "{got}");
        }

        // PUT without an id is refused.
        let (status, body) = office.put("/api/clients", &json!({ "name": "no id" })).await;
        assert!(status.is_client_error(), "{status} {body}");
        assert_eq!(body["success"], json!(false));
        assert_eq!(list_all(&office, "clients", "", 100).await.len(), 2, "nothing created");
    }
}

e2e! {
    async fn both_delete_forms_make_a_tombstone_and_apply_the_types_deletion_rule(backend) {
        let app = spawn(backend).await;
        let t = tenant();
        let office = app.client(&t, "office");
        let cursor = office.head().await;
        let (_, created) = office
            .post("/api/clients", &json!([ { "name": "One" }, { "name": "Two" }, { "name": "Three" } ]))
            .await;
        let ids_: Vec<String> = created["data"].as_array().into_iter().flatten().map(id_of).collect();
        assert_eq!(ids_.len(), 3, "{created}");
        let (status, appointment) = office
            .post("/api/appointments", &json!({ "client_id": ids_[2], "date": "2024-05-01T10:00:00Z",
                "notes": "quarterly review" }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{appointment}");
        let appointment = appointment["data"].clone();
        assert_eq!(appointment["status"], json!("scheduled"), "{appointment}");
        let ap = id_of(&appointment);

        let (status, body) = office.delete(&format!("/api/clients?id={}", ids_[0])).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({ "success": true, "data": { "id": ids_[0], "deleted": true } }));
        let (status, body) = office.delete(&format!("/api/clients/{}", ids_[1])).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({ "success": true, "data": { "id": ids_[1], "deleted": true } }));
        let (status, body) = office.delete(&format!("/api/appointments/{ap}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({ "success": true, "data": { "id": ap, "deleted": true } }));

        for path in [
            format!("/api/clients/{}", ids_[0]),
            format!("/api/clients/{}", ids_[1]),
            format!("/api/appointments/{ap}"),
        ] {
            let response = office.get(&path).await;
            assert_error(&response, StatusCode::NOT_FOUND, "not_found");
        }
        let (status, alive) = office.get(&format!("/api/clients/{}", ids_[2])).await;
        assert_eq!(status, StatusCode::OK, "{alive}");

        // appointments: deletion = { field = "status", value = "cancelled" }.
        let listed = list_all(&office, "appointments", "", 100).await;
        assert_eq!(listed, Vec::<Value>::new(), "a deleted appointment is not listed");
        let listed = list_all(&office, "appointments", "includeDeleted=true", 100).await;
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0]["deleted"], json!(true), "{}", listed[0]);
        assert_eq!(listed[0]["status"], json!("cancelled"), "{}", listed[0]);
        assert_eq!(listed[0]["notes"], json!("quarterly review"), "a tombstone keeps its data");

        // The tombstones reach apps by pull.
        let (records, _) = app.client(&t, "app-2").pull_all(Some(&cursor), 100).await;
        let by_id = |id: &str| records.iter().find(|r| r["id"] == json!(id)).cloned();
        for id in [&ids_[0], &ids_[1], &ap] {
            let r = by_id(id).unwrap_or_else(|| panic!("the delete of {id} did not reach a pull: {records:?}"));
            assert_eq!(r["deleted"], json!(true), "{r}");
        }
        assert_eq!(by_id(&ap).unwrap_or_default()["status"], json!("cancelled"));
        assert_eq!(by_id(&ids_[2]).unwrap_or_default()["deleted"], json!(false));

        // Misuse: no id, an unknown id.
        let (status, body) = office.delete("/api/clients").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["success"], json!(false));
        let response = office.delete(&format!("/api/clients/{}", new_id())).await;
        assert_error(&response, StatusCode::NOT_FOUND, "not_found");
        let response = office.delete("/api/clients/not-a-uuid").await;
        assert_error(&response, StatusCode::NOT_FOUND, "not_found");
    }
}

e2e! {
    async fn every_rest_write_is_seen_by_a_later_pull(backend) {
        let app = spawn(backend).await;
        let t = tenant();
        let office = app.client(&t, "office");
        let app2 = app.client(&t, "app-2");
        let cursor = app2.head().await;

        // Pulls `clients` after `cursor`; returns the records and the new cursor.
        let pull_after = |cursor: String| {
            let app2 = app2.clone();
            async move {
                let page = app2
                    .pull_ok(&json!({ "cursor": cursor, "entityTypes": ["clients"] }))
                    .await;
                let records = records_of(&page, "clients").clone();
                (records, page["cursor"].as_str().unwrap_or_default().to_owned())
            }
        };

        let (_, created) = office.post("/api/clients", &json!({ "name": "Seen", "branch": "north" })).await;
        let id = id_of(&created["data"]);
        let (records, cursor) = pull_after(cursor).await;
        assert_eq!(records.len(), 1, "{records:?}");
        assert_eq!(records[0]["id"], json!(id));
        assert_eq!(records[0]["version"], json!(1));
        assert_eq!(records[0]["sync_status"], json!("pending"));

        office.put("/api/clients", &json!({ "id": id, "branch": "south", "version": 1 })).await;
        let (records, cursor) = pull_after(cursor).await;
        assert_eq!(records.len(), 1, "{records:?}");
        assert_eq!(records[0]["version"], json!(2));
        assert_eq!(records[0]["branch"], json!("south"));
        assert_eq!(records[0]["name"], json!("Seen"));

        let (_, bulk) = office
            .post("/api/clients", &json!([ { "name": "B1" }, { "name": "B2" }, { "name": "B3" } ]))
            .await;
        let (records, cursor) = pull_after(cursor).await;
        assert_eq!(id_set(&records), id_set(bulk["data"].as_array().unwrap_or(&Vec::new())));

        office.delete(&format!("/api/clients/{id}")).await;
        let (records, cursor) = pull_after(cursor).await;
        assert_eq!(records.len(), 1, "{records:?}");
        assert_eq!(records[0]["id"], json!(id));
        assert_eq!(records[0]["deleted"], json!(true), "the tombstone is pulled");
        assert_eq!(records[0]["version"], json!(3));

        // Nothing more.
        let (records, _) = pull_after(cursor).await;
        assert_eq!(records, Vec::<Value>::new());
    }
}

e2e! {
    async fn an_unregistered_type_is_a_404_json_error(backend) {
        let app = spawn(backend).await;
        let office = app.client(&tenant(), "office");
        let some_id = new_id();
        for (method, path, body) in [
            (Method::GET, "/api/no_such_type".to_owned(), None),
            (Method::GET, format!("/api/no_such_type/{some_id}"), None),
            (Method::GET, format!("/api/no_such_type/{some_id}/history"), None),
            (Method::POST, "/api/no_such_type".to_owned(), Some(json!({ "name": "x" }))),
            (Method::POST, "/api/no_such_type".to_owned(), Some(json!([ { "name": "x" } ]))),
            (Method::PUT, "/api/no_such_type".to_owned(), Some(json!({ "id": some_id, "name": "x" }))),
            (Method::DELETE, format!("/api/no_such_type?id={some_id}"), None),
            (Method::DELETE, format!("/api/no_such_type/{some_id}"), None),
            (Method::GET, "/api/records".to_owned(), None),
            (Method::GET, format!("/api/{}", enc("clients'; --")), None),
        ] {
            let response = office.json(method, &path, &[], body.as_ref()).await;
            assert_error(&response, StatusCode::NOT_FOUND, "not_found");
        }

        // The types of the entities file are routes; without the file they are not.
        let (status, page) = office.get("/api/clients").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let (status, page) = office.get("/api/time_tracking").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let plain = TestApp::spawn(backend, |_| {}).await;
        let response = plain.client(&tenant(), "office").get("/api/clients").await;
        assert_error(&response, StatusCode::NOT_FOUND, "not_found");
    }
}

e2e! {
    async fn a_field_not_in_the_schema_is_rejected_naming_it(backend) {
        let app = spawn(backend).await;
        let office = app.client(&tenant(), "office");

        let response = office
            .post("/api/clients", &json!({ "name": "Ok", "favourite_colour": "blue" }))
            .await;
        assert_names_field(&response, "favourite_colour");

        // In a bulk body: the index is named and nothing is created.
        let response = office
            .post("/api/clients", &json!([
                { "name": "fine 0" }, { "name": "fine 1" }, { "name": "bad", "shoe_size": 44 }
            ]))
            .await;
        assert_names_field(&response, "shoe_size");
        let details = response.1["error"]["details"].as_array().cloned().unwrap_or_default();
        assert!(
            details.iter().any(|d| d["index"] == json!(2) && d["field"] == json!("shoe_size")),
            "the details name index 2: {}", response.1
        );
        assert_eq!(list_all(&office, "clients", "includeDeleted=true", 100).await, Vec::<Value>::new());

        // PUT too, and the record is unchanged.
        let (_, created) = office.post("/api/clients", &json!({ "name": "Target" })).await;
        let id = id_of(&created["data"]);
        let response = office
            .put("/api/clients", &json!({ "id": id, "name": "Changed", "shoe_size": 44 }))
            .await;
        assert_names_field(&response, "shoe_size");
        let (_, got) = office.get(&format!("/api/clients/{id}")).await;
        assert_eq!(got["data"]["name"], json!("Target"));
        assert_eq!(got["data"]["version"], json!(1));
        assert!(got["data"].get("shoe_size").is_none(), "{got}");

        // Built-in types too.
        let response = office.post("/api/end_user", &json!({ "name": "x", "nickname": "y" })).await;
        assert_names_field(&response, "nickname");
        let response = office
            .post("/api/interactions", &json!({ "type": "call", "title": "t", "priority": "high" }))
            .await;
        assert_names_field(&response, "priority");
    }
}

e2e! {
    async fn a_reference_to_a_missing_record_is_rejected(backend) {
        let app = spawn(backend).await;
        let t = tenant();
        let office = app.client(&t, "office");
        let other = app.client(&tenant(), "other-office");
        let (_, theirs) = other.post("/api/clients", &json!({ "name": "Theirs" })).await;
        let theirs = id_of(&theirs["data"]);

        // appointments.client_id references clients (entities file).
        for dangling in [new_id(), theirs] {
            let response = office
                .post("/api/appointments", &json!({ "client_id": dangling, "date": "2024-05-01T10:00:00Z" }))
                .await;
            assert_names_field(&response, "client_id");
            let response = office
                .push(&json!({ "changes": [ { "entityType": "appointments", "op": "upsert",
                    "data": { "client_id": dangling, "date": "2024-05-01T10:00:00Z" } } ] }))
                .await;
            assert_names_field(&response, "client_id");
        }
        assert_eq!(list_all(&office, "appointments", "includeDeleted=true", 10).await, Vec::<Value>::new());

        let (_, mine) = office.post("/api/clients", &json!({ "name": "Mine" })).await;
        let mine = id_of(&mine["data"]);
        let (status, ok) = office
            .post("/api/appointments", &json!({ "client_id": mine, "date": "2024-05-01T10:00:00Z" }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ok}");
        assert_eq!(ok["data"]["client_id"], json!(mine));
        let ap = id_of(&ok["data"]);

        // Re-pointing it at a record that does not exist is refused as well.
        let response = office.put("/api/appointments", &json!({ "id": ap, "client_id": new_id() })).await;
        assert_names_field(&response, "client_id");
        let (_, got) = office.get(&format!("/api/appointments/{ap}")).await;
        assert_eq!(got["data"]["client_id"], json!(mine), "{got}");
    }
}

/// Values that break naive SQL building: quotes, comments, LIKE wildcards, escapes.
const NASTY: &[&str] = &[
    "' OR 1=1 --",
    "\"; DROP TABLE records; --",
    "100%",
    "%",
    "a_b",
    "_",
    "back\\slash",
    "\\",
    "'); DELETE FROM records WHERE ('1'='1",
];

/// Branches that a wildcard or a broken escape would wrongly match.
const DECOYS: &[&str] = &[
    "north",
    "aXb",
    "100 percent",
    "1000",
    "backslash",
    "back/slash",
    "OR 1=1",
];

e2e! {
    async fn sql_metacharacters_in_filters_and_search_match_literally_and_change_nothing(backend) {
        let app = spawn(backend).await;
        let t = tenant();
        let office = app.client(&t, "office");
        let bystander = app.client(&tenant(), "bystander");
        bystander.post("/api/clients", &json!({ "name": "Untouchable", "branch": "' OR 1=1 --" })).await;

        let mut body = Vec::new();
        for (k, v) in NASTY.iter().enumerate() {
            body.push(json!({ "name": format!("Nasty {k}"), "branch": v }));
        }
        for (k, v) in DECOYS.iter().enumerate() {
            body.push(json!({ "name": format!("Decoy {k}"), "branch": v }));
        }
        let (status, created) = office.post("/api/clients", &Value::Array(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let created = created["data"].as_array().cloned().unwrap_or_default();
        let ids_with = |pred: &dyn Fn(&str) -> bool| -> BTreeSet<String> {
            created
                .iter()
                .filter(|r| pred(r["branch"].as_str().unwrap_or_default()))
                .map(id_of)
                .collect()
        };

        let snapshot = |client: Client| async move {
            let listed = list_all(&client, "clients", "includeDeleted=true", 1000).await;
            let (pulled, _) = client.pull_all(None, 1000).await;
            (listed, pulled)
        };
        let before = snapshot(office.clone()).await;
        let bystander_before = snapshot(bystander.clone()).await;

        for value in NASTY {
            // A filter is an exact match.
            let found = list_all(&office, "clients", &format!("branch={}", enc(value)), 100).await;
            assert_eq!(unique_ids(&found), ids_with(&|b| b == *value), "filter branch={value:?}");
            // Search is a literal substring match (no wildcard, no escape, no injection).
            let found = list_all(&office, "clients", &format!("search={}", enc(value)), 100).await;
            let expected = ids_with(&|b| b.to_lowercase().contains(&value.to_lowercase()));
            assert_eq!(unique_ids(&found), expected, "search={value:?}");
            // On a field no record has that value in.
            let found = list_all(&office, "clients", &format!("name={}", enc(value)), 100).await;
            assert_eq!(found, Vec::<Value>::new(), "filter name={value:?}");
            let found = list_all(&office, "clients", &format!("search={}&branch={}", enc(value), enc(value)), 100).await;
            assert_eq!(unique_ids(&found), ids_with(&|b| b == *value), "search and filter {value:?}");
            // A typed field refuses a value of the wrong type instead of running it.
            let response = office.get(&format!("/api/clients?assigned_to={}", enc(value))).await;
            assert_error(&response, StatusCode::BAD_REQUEST, "bad_request");
            // The same against a built-in type and through pull-pending's neighbour routes.
            let (status, page) = office.get(&format!("/api/end_user?name={}", enc(value))).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            assert_eq!(page["data"], json!([]), "{page}");
        }
        // Injection through the field name is an undeclared field.
        let response = office.get(&format!("/api/clients?{}=x", enc("branch' OR 1=1 --"))).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "bad_request");

        assert_eq!(snapshot(office.clone()).await, before, "a read changed the data");
        assert_eq!(snapshot(bystander.clone()).await, bystander_before, "another tenant changed");
        assert_eq!(before.0.len(), NASTY.len() + DECOYS.len());
        // The bystander's identical value never shows in this tenant.
        let found = list_all(&office, "clients", &format!("branch={}", enc("' OR 1=1 --")), 100).await;
        assert_eq!(found.len(), 1);
        assert_ne!(found[0]["name"], json!("Untouchable"));
    }
}

e2e! {
    async fn a_filter_on_an_undeclared_field_is_a_400(backend) {
        let app = spawn(backend).await;
        let office = app.client(&tenant(), "office");
        office.post("/api/clients", &json!({ "name": "Someone", "branch": "north" })).await;
        for query in ["colour=red", "tenant_id=anything", "branch=north&colour=red", "data=x"] {
            let response = office.get(&format!("/api/clients?{query}")).await;
            assert_error(&response, StatusCode::BAD_REQUEST, "bad_request");
        }
        // A declared field of another type is not a field of this one.
        let response = office.get("/api/clients?date=2024-05-01T10:00:00Z").await;
        assert_error(&response, StatusCode::BAD_REQUEST, "bad_request");
        // Bad paging parameters are 400 too.
        for query in ["limit=many", "cursor=not-a-cursor", "includeDeleted=maybe"] {
            let response = office.get(&format!("/api/clients?{query}")).await;
            assert_error(&response, StatusCode::BAD_REQUEST, "bad_request");
        }
        let (status, page) = office.get("/api/clients?branch=north").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["data"].as_array().map(Vec::len), Some(1));
    }
}

e2e! {
    async fn scope_restricted_tokens_are_forbidden_outside_their_scope(backend) {
        let app = spawn(backend).await;
        let t = tenant();
        let admin = app.client(&t, "admin");
        let (_, client) = admin.post("/api/clients", &json!({ "name": "C" })).await;
        let client_id = id_of(&client["data"]);
        let (_, appointment) = admin
            .post("/api/appointments", &json!({ "client_id": client_id, "date": "2024-05-01T10:00:00Z" }))
            .await;
        let ap = id_of(&appointment["data"]);
        let before = admin.pull_all(None, 1000).await.0;

        let token = |scope: &str| {
            let mut c = claims(&t, "scoped");
            c["scope"] = json!(scope);
            app.client_with_token(app.sign(&c))
        };

        // Read and write on clients only.
        let clients_only = token("sync:read:clients sync:write:clients");
        let forbidden: Vec<(Method, String, Option<Value>)> = vec![
            (Method::GET, "/api/appointments".into(), None),
            (Method::GET, format!("/api/appointments/{ap}"), None),
            (Method::GET, format!("/api/appointments/{ap}/history"), None),
            (Method::GET, "/api/appointments?status=scheduled".into(), None),
            (Method::POST, "/api/appointments".into(),
                Some(json!({ "client_id": client_id, "date": "2024-06-01T10:00:00Z" }))),
            (Method::PUT, "/api/appointments".into(), Some(json!({ "id": ap, "notes": "x" }))),
            (Method::DELETE, format!("/api/appointments?id={ap}"), None),
            (Method::DELETE, format!("/api/appointments/{ap}"), None),
            (Method::GET, "/api/end_user".into(), None),
            (Method::POST, "/api/end_user".into(), Some(json!({ "name": "x" }))),
        ];
        for (method, path, body) in &forbidden {
            let response = clients_only.json(method.clone(), path, &[], body.as_ref()).await;
            assert_error(&response, StatusCode::FORBIDDEN, "forbidden");
        }
        let (status, page) = clients_only.get("/api/clients").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let (status, made) = clients_only.post("/api/clients", &json!({ "name": "allowed" })).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        let made = id_of(&made["data"]);

        // Read only.
        let reader = token("sync:read");
        for (method, path, body) in [
            (Method::POST, "/api/clients".to_owned(), Some(json!({ "name": "no" }))),
            (Method::POST, "/api/clients".to_owned(), Some(json!([ { "name": "no" } ]))),
            (Method::PUT, "/api/clients".to_owned(), Some(json!({ "id": client_id, "name": "no" }))),
            (Method::DELETE, format!("/api/clients?id={client_id}"), None),
            (Method::DELETE, format!("/api/clients/{client_id}"), None),
        ] {
            let response = reader.json(method, &path, &[], body.as_ref()).await;
            assert_error(&response, StatusCode::FORBIDDEN, "forbidden");
        }
        for path in ["/api/clients".to_owned(), format!("/api/clients/{client_id}"),
                     format!("/api/appointments/{ap}"), format!("/api/clients/{client_id}/history")] {
            let (status, body) = reader.get(&path).await;
            assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        }

        // Nothing but the allowed write happened.
        let after = admin.pull_all(None, 1000).await.0;
        assert_eq!(after.len(), before.len() + 1, "{after:?}");
        assert!(after.iter().any(|r| r["id"] == json!(made)));
        let (_, got) = admin.get(&format!("/api/appointments/{ap}")).await;
        assert_eq!(got["data"]["version"], json!(1), "{got}");
        assert_eq!(got["data"]["status"], json!("scheduled"), "{got}");
    }
}

e2e! {
    async fn another_tenants_records_are_invisible_to_rest_crud(backend) {
        let app = spawn(backend).await;
        let a = app.client(&tenant(), "office-a");
        let b = app.client(&tenant(), "office-b");
        let (_, created) = a
            .post("/api/clients", &json!({ "name": "A secret", "branch": "hq", "email": "secret@a.example" }))
            .await;
        let id = id_of(&created["data"]);

        assert_eq!(list_all(&b, "clients", "", 100).await, Vec::<Value>::new());
        assert_eq!(list_all(&b, "clients", "branch=hq", 100).await, Vec::<Value>::new());
        assert_eq!(list_all(&b, "clients", "search=secret", 100).await, Vec::<Value>::new());
        assert_eq!(list_all(&b, "clients", "includeDeleted=true", 100).await, Vec::<Value>::new());
        for path in [format!("/api/clients/{id}"), format!("/api/clients/{id}/history")] {
            let response = b.get(&path).await;
            assert_error(&response, StatusCode::NOT_FOUND, "not_found");
            assert!(!response.1.to_string().contains("secret@a.example"));
        }
        let response = b.put("/api/clients", &json!({ "id": id, "name": "hijacked" })).await;
        assert!(response.0.is_client_error(), "{response:?}");
        assert!(!response.1.to_string().contains("secret@a.example"), "{}", response.1);
        let response = b.delete(&format!("/api/clients/{id}")).await;
        assert_error(&response, StatusCode::NOT_FOUND, "not_found");
        let response = b.delete(&format!("/api/clients?id={id}")).await;
        assert_error(&response, StatusCode::NOT_FOUND, "not_found");

        let (status, got) = a.get(&format!("/api/clients/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{got}");
        assert_eq!(got["data"], created["data"], "A's record is untouched");
    }
}
