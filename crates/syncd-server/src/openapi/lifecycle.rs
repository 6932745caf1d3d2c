//! The OpenAPI part of the data lifecycle (SPEC §10): `verify`, erasure, and the 410
//! `resync_required` of a pull whose cursor cannot be continued.

use serde_json::{Map, Value, json};

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

/// The error answers of one operation, by status code.
fn error_responses(answers: &[(&str, &str)]) -> Map<String, Value> {
    answers
        .iter()
        .map(|(code, description)| ((*code).into(), error_response(description)))
        .collect()
}

/// Adds the lifecycle paths and schemas, and the 410 answer of pull.
pub(super) fn add(paths: &mut Map<String, Value>, schemas: &mut Map<String, Value>) {
    add_gone_to_pull(paths);
    add_verify(paths);
    add_erase(paths);
    add_schemas(schemas);
}

fn add_gone_to_pull(paths: &mut Map<String, Value>) {
    let gone = error_response(
        "resync_required: the cursor is of another sync epoch, ahead of the head or behind the retention horizon; drop the local records (keep unsent changes) and pull from the start",
    );
    if let Some(responses) = paths
        .get_mut("/api/client/sync/pull")
        .and_then(|p| p.pointer_mut("/post/responses"))
        .and_then(Value::as_object_mut)
    {
        responses.insert("410".into(), gone);
    }
}

fn add_verify(paths: &mut Map<String, Value>) {
    let mut responses = error_responses(&[
        (
            "400",
            "bad_request: the body is not an object, or `entityTypes` is not a list of strings",
        ),
        ("401", "unauthorized: missing, invalid or expired token"),
        ("403", "forbidden: a type outside the token's read scope"),
        ("422", "unknown_entity_type"),
        ("429", "rate_limited (see Retry-After)"),
        ("503", "unavailable: the database is down; retry safely"),
    ]);
    responses.insert(
        "200".into(),
        json!({ "description": "count and checksum per type, at the cursor", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/VerifyResponse" } } } }),
    );
    paths.insert("/api/client/sync/verify".into(), json!({
        "post": {
            "tags": ["sync"], "operationId": "verify",
            "summary": "Integrity check: count and checksum of the live records per type that the caller may see",
            "description": "checksum = the sum modulo 2^64, as a decimal string, of one value per live record the caller may see (visibility rules filter as in a pull): the first 8 bytes of SHA-256 of the UTF-8 text `{id}:{version}` (id lowercase and hyphenated, version in decimal), read as an unsigned big-endian integer. A client that has pulled up to `cursor` computes the same over its local copy; a mismatch means drift, repaired by a resync of that type.",
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/VerifyRequest" } } } },
            "responses": responses,
        }
    }));
}

fn add_erase(paths: &mut Map<String, Value>) {
    let mut erase = error_responses(&[
        ("401", "unauthorized: missing, invalid or expired token"),
        ("403", "forbidden: the token has no `admin` role"),
        (
            "404",
            "not_found: no record of this type and id in the caller's tenant",
        ),
        ("429", "rate_limited (see Retry-After)"),
        ("503", "unavailable: the database is down; retry safely"),
    ]);
    erase.insert("200".into(), json!({ "description": "erased (also for an id erased before)", "content": { "application/json": { "schema": {
        "type": "object", "required": ["success", "data"],
        "properties": { "success": { "const": true }, "data": { "type": "object", "required": ["id", "erased"],
            "properties": { "id": { "type": "string", "format": "uuid" }, "erased": { "const": true } } } }
    } } } }));
    paths.insert("/api/admin/records/{type}/{id}".into(), json!({
        "delete": {
            "tags": ["admin"], "operationId": "eraseRecord",
            "summary": "Erase a record for good (right to be forgotten); a thin tombstone with `erased: true` stays",
            "description": "Removes the record's data, every past version, its conflicts and the data kept in idempotency entries; what remains is a thin tombstone with `erased: true` (new version, new seq, notifications), so every app deletes its copy. A later push or REST write naming the id is refused with 422 `the record was erased`. Role `admin`, the caller's tenant only.",
            "parameters": [
                { "name": "type", "in": "path", "required": true, "schema": { "type": "string" } },
                { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }
            ],
            "responses": erase,
        }
    }));
}

fn add_schemas(schemas: &mut Map<String, Value>) {
    schemas.insert("VerifyRequest".into(), json!({
        "type": "object",
        "properties": { "entityTypes": { "type": "array", "items": { "type": "string" }, "description": "absent = every type the token may read" } }
    }));
    schemas.insert("VerifyResponse".into(), json!({
        "type": "object",
        "required": ["success", "data", "cursor"],
        "properties": {
            "success": { "const": true },
            "data": { "type": "object", "additionalProperties": {
                "type": "object", "required": ["count", "checksum"],
                "properties": { "count": { "type": "integer", "minimum": 0 }, "checksum": { "type": "string", "pattern": "^[0-9]+$" } }
            } },
            "cursor": { "type": "string" }
        }
    }));
}
