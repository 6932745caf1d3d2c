//! The OpenAPI 3.1 document of the whole HTTP API, generated at start from the entity
//! registry, so every registered type gets its own CRUD paths and schemas.

mod lifecycle;

use serde_json::{Map, Value, json};
use syncd_model::{EntityType, FieldSchema, FieldType, Registry, StringFormat};

fn field_schema(schema: &FieldSchema) -> Value {
    let mut s = match schema.ty {
        FieldType::String | FieldType::Text => json!({ "type": "string" }),
        FieldType::Int => json!({ "type": "integer", "format": "int64" }),
        FieldType::Float => json!({ "type": "number" }),
        FieldType::Bool => json!({ "type": "boolean" }),
        FieldType::Datetime => json!({ "type": "string", "format": "date-time" }),
        FieldType::Date => json!({ "type": "string", "format": "date" }),
        FieldType::Uuid => json!({ "type": "string", "format": "uuid" }),
        FieldType::Json => json!({}),
    };
    let Value::Object(obj) = &mut s else {
        return s;
    };
    if let Some(max) = schema.max_length {
        obj.insert("maxLength".into(), json!(max));
    }
    if let Some(values) = &schema.enum_values {
        obj.insert("enum".into(), json!(values));
    }
    if let Some(default) = &schema.default {
        obj.insert("default".into(), default.clone());
    }
    if let Some(min) = schema.min {
        obj.insert("minimum".into(), json!(min));
    }
    if let Some(max) = schema.max {
        obj.insert("maximum".into(), json!(max));
    }
    if schema.format == Some(StringFormat::Email) {
        obj.insert("format".into(), json!("email"));
    }
    if let Some(target) = &schema.references {
        obj.insert(
            "description".into(),
            json!(format!("id of a live `{target}` record of the same tenant")),
        );
    }
    if schema.ty != FieldType::Json && !schema.required {
        // Optional fields may be cleared with null.
        if let Some(Value::String(t)) = obj.get("type").cloned() {
            obj.insert("type".into(), json!([t, "null"]));
        }
    }
    s
}

fn component_name(ty: &EntityType) -> String {
    ty.name
        .as_str()
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn input_schema(ty: &EntityType) -> Value {
    let mut properties = Map::new();
    properties.insert(
        "id".into(),
        json!({ "type": ["string", "null"], "format": "uuid", "description": "proposed on create; required by PUT" }),
    );
    for (name, schema) in &ty.fields {
        properties.insert(name.clone(), field_schema(schema));
    }
    properties.insert(
        "version".into(),
        json!({ "type": "integer", "description": "the version the client last saw (base version)" }),
    );
    let required: Vec<&str> = ty
        .fields
        .iter()
        .filter(|(_, s)| s.required && s.default.is_none())
        .map(|(n, _)| n.as_str())
        .collect();
    json!({
        "type": "object",
        "description": format!("A `{}` record as a client sends it. Fields marked required must be present on create. Server-managed fields are ignored.", ty.name),
        "properties": properties,
        "required": required,
        "additionalProperties": ty.additional_fields,
    })
}

fn record_schema(ty: &EntityType) -> Value {
    let mut properties = Map::new();
    properties.insert("id".into(), json!({ "type": "string", "format": "uuid" }));
    for (name, schema) in &ty.fields {
        properties.insert(name.clone(), field_schema(schema));
    }
    properties.insert("version".into(), json!({ "type": "integer", "minimum": 1 }));
    properties.insert(
        "sync_status".into(),
        json!({ "type": "string", "enum": ["pending", "synced", "conflict", "failed"] }),
    );
    if ty.legacy_sync_fields {
        properties.insert(
            "server_synced".into(),
            json!({ "type": "integer", "enum": [0, 1] }),
        );
        properties.insert(
            "last_updated".into(),
            json!({ "type": "string", "format": "date-time" }),
        );
    }
    properties.insert(
        "createdAt".into(),
        json!({ "type": "string", "format": "date-time" }),
    );
    properties.insert(
        "updatedAt".into(),
        json!({ "type": "string", "format": "date-time" }),
    );
    properties.insert("deleted".into(), json!({ "type": "boolean" }));
    json!({
        "type": "object",
        "description": format!("A stored `{}` record as clients see it.", ty.name),
        "properties": properties,
        "required": ["id", "version", "sync_status", "createdAt", "updatedAt", "deleted"],
    })
}

fn errors(codes: &[u16]) -> Map<String, Value> {
    codes
        .iter()
        .map(|code| {
            let description = match code {
                400 => "bad_request: malformed JSON, wrong shape, undecodable cursor",
                401 => "unauthorized: missing, invalid or expired token",
                403 => "forbidden: outside the token's scope",
                404 => "not_found",
                409 => "version_conflict: the given version is not current",
                413 => "payload_too_large",
                422 => "validation_failed, unknown_entity_type or idempotency_key_reused",
                429 => "rate_limited (see Retry-After)",
                _ => "unavailable: the database is down; retry safely",
            };
            (
                code.to_string(),
                json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }),
            )
        })
        .collect()
}

fn ok(description: &str, schema: Value, code: u16, error_codes: &[u16]) -> Value {
    let mut responses = errors(error_codes);
    responses.insert(
        code.to_string(),
        json!({ "description": description, "content": { "application/json": { "schema": schema } } }),
    );
    Value::Object(responses)
}

fn body(schema: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": schema } } })
}

fn envelope(data: Value) -> Value {
    json!({ "type": "object", "properties": { "success": { "const": true }, "data": data }, "required": ["success", "data"] })
}

fn crud_paths(ty: &EntityType, paths: &mut Map<String, Value>) {
    let name = ty.name.as_str();
    let component = component_name(ty);
    let record = json!({ "$ref": format!("#/components/schemas/{component}") });
    let input = json!({ "$ref": format!("#/components/schemas/{component}Input") });
    let tag = json!([name]);
    let mut list_params = vec![
        json!({ "name": "limit", "in": "query", "schema": { "type": "integer", "default": 100 } }),
        json!({ "name": "cursor", "in": "query", "schema": { "type": "string" }, "description": "from the previous page" }),
        json!({ "name": "includeDeleted", "in": "query", "schema": { "type": "boolean" } }),
    ];
    if !ty.search.is_empty() {
        list_params.push(json!({ "name": "search", "in": "query", "schema": { "type": "string" }, "description": format!("case-insensitive substring over {}", ty.search.join(", ")) }));
    }
    for (field, schema) in &ty.fields {
        list_params.push(json!({ "name": field, "in": "query", "schema": field_schema(schema), "description": "equality filter" }));
    }
    let one_or_many = |s: &Value| json!({ "oneOf": [s, { "type": "array", "items": s }] });
    paths.insert(
        format!("/api/{name}"),
        json!({
            "get": {
                "tags": tag, "summary": format!("List live {name} records"), "operationId": format!("list_{name}"),
                "parameters": list_params,
                "responses": ok("a page", json!({ "type": "object", "properties": { "success": { "const": true }, "data": { "type": "array", "items": record }, "cursor": { "type": "string" }, "hasMore": { "type": "boolean" } } }), 200, &[400, 401, 403, 429, 503]),
            },
            "post": {
                "tags": tag, "summary": format!("Create {name} records (one object or an array, atomic)"), "operationId": format!("create_{name}"),
                "requestBody": body(one_or_many(&input)),
                "responses": ok("created", envelope(one_or_many(&record)), 201, &[400, 401, 403, 409, 413, 422, 429, 503]),
            },
            "put": {
                "tags": tag, "summary": format!("Patch {name} records by id; a stale `version` is refused"), "operationId": format!("update_{name}"),
                "requestBody": body(one_or_many(&input)),
                "responses": ok("updated", envelope(one_or_many(&record)), 200, &[400, 401, 403, 404, 409, 413, 422, 429, 503]),
            },
            "delete": {
                "tags": tag, "summary": format!("Delete a {name} record (tombstone)"), "operationId": format!("delete_{name}_by_query"),
                "parameters": [ { "name": "id", "in": "query", "required": true, "schema": { "type": "string", "format": "uuid" } } ],
                "responses": ok("deleted", envelope(json!({ "type": "object", "properties": { "id": { "type": "string" }, "deleted": { "const": true } } })), 200, &[400, 401, 403, 404, 429, 503]),
            },
        }),
    );
    let id_param = json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } }]);
    paths.insert(
        format!("/api/{name}/{{id}}"),
        json!({
            "get": {
                "tags": tag, "summary": format!("One live {name} record"), "operationId": format!("get_{name}"),
                "parameters": id_param,
                "responses": ok("the record", envelope(record.clone()), 200, &[401, 403, 404, 429, 503]),
            },
            "delete": {
                "tags": tag, "summary": format!("Delete a {name} record (tombstone)"), "operationId": format!("delete_{name}"),
                "parameters": id_param,
                "responses": ok("deleted", envelope(json!({ "type": "object", "properties": { "id": { "type": "string" }, "deleted": { "const": true } } })), 200, &[401, 403, 404, 429, 503]),
            },
        }),
    );
    paths.insert(
        format!("/api/{name}/{{id}}/history"),
        json!({
            "get": {
                "tags": tag, "summary": format!("Versions of a {name} record inside the history window"), "operationId": format!("history_{name}"),
                "parameters": id_param,
                "responses": ok("versions, oldest first", envelope(json!({ "type": "array", "items": { "$ref": "#/components/schemas/Version" } })), 200, &[401, 403, 404, 429, 503]),
            },
        }),
    );
}

/// The sync routes: push, pull, pull-pending and the conflicts of the `manual` strategy.
fn sync_paths(paths: &mut Map<String, Value>) {
    let sync_tag = json!(["sync"]);
    let error_codes = [400, 401, 403, 413, 422, 429, 503];
    paths.insert("/api/client/sync/push".into(), json!({
        "post": {
            "tags": sync_tag, "operationId": "push", "summary": "Push local changes (map, single-operation or list form); atomic and idempotent",
            "parameters": [
                { "name": "Idempotency-Key", "in": "header", "schema": { "type": "string", "maxLength": 255 }, "description": "retries with the same key apply once for 24 h" },
                { "name": "X-Client-Id", "in": "header", "schema": { "type": "string" } }
            ],
            "requestBody": body(json!({ "oneOf": [
                { "$ref": "#/components/schemas/PushMapForm" },
                { "$ref": "#/components/schemas/PushSingleForm" },
                { "$ref": "#/components/schemas/PushListForm" }
            ] })),
            "responses": ok("applied (or replayed)", json!({ "$ref": "#/components/schemas/PushResponse" }), 200, &error_codes),
        }
    }));
    paths.insert("/api/client/sync/pull".into(), json!({
        "post": {
            "tags": sync_tag, "operationId": "pull", "summary": "What changed since a cursor, in seq order, tombstones included",
            "requestBody": body(json!({ "$ref": "#/components/schemas/PullRequest" })),
            "responses": ok("a page of changes", json!({ "$ref": "#/components/schemas/PullResponse" }), 200, &error_codes),
        }
    }));
    paths.insert("/api/client/sync/pull-pending".into(), json!({
        "post": {
            "tags": sync_tag, "operationId": "pullPending", "summary": "Records written on the server side that apps have not taken in",
            "requestBody": body(json!({ "type": "object", "properties": { "entityTypes": { "type": "array", "items": { "type": "string" } }, "table": { "type": "string" }, "limit": { "type": "integer" } } })),
            "responses": ok("pending records by type", json!({ "$ref": "#/components/schemas/PullResponse" }), 200, &error_codes),
        }
    }));
    paths.insert("/api/client/sync/conflicts".into(), json!({
        "get": {
            "tags": sync_tag, "operationId": "listConflicts", "summary": "Open manual conflicts",
            "parameters": [
                { "name": "entityType", "in": "query", "schema": { "type": "string" } },
                { "name": "limit", "in": "query", "schema": { "type": "integer" } }
            ],
            "responses": ok("open conflicts", envelope(json!({ "type": "array", "items": { "$ref": "#/components/schemas/Conflict" } })), 200, &error_codes),
        }
    }));
    paths.insert("/api/client/sync/conflicts/{id}/resolve".into(), json!({
        "post": {
            "tags": sync_tag, "operationId": "resolveConflict", "summary": "Apply the chosen record and close the conflict",
            "parameters": [ { "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } } ],
            "requestBody": body(json!({ "type": "object", "required": ["data"], "properties": { "data": { "type": "object" } } })),
            "responses": ok("the record as stored", envelope(json!({ "type": "object" })), 200, &[400, 401, 403, 404, 422, 429, 503]),
        }
    }));
}

/// The admin routes and the WebSocket upgrade.
fn admin_and_socket_paths(paths: &mut Map<String, Value>) {
    let sync_tag = json!(["sync"]);
    paths.insert("/api/admin/stats".into(), json!({
        "get": {
            "tags": ["admin"], "operationId": "adminStats",
            "summary": "Figures of the caller's tenant for the console's Activity page (role `admin`)",
            "description": "Record counts per type, open conflicts and conflicts per strategy (last hour) come from indexed queries of the tenant's rows, reused for 2 s; connections, resyncs, pushes, changes and push latency are counted in memory by the instance that answers. See docs/api.md for the cost of each figure.",
            "responses": ok("the tenant's figures", envelope(json!({ "$ref": "#/components/schemas/AdminStats" })), 200, &[401, 403, 429, 503]),
        }
    }));
    for path in ["/api/client/sync/ws", "/ws"] {
        paths.insert(path.into(), json!({
            "get": {
                "tags": sync_tag, "summary": "WebSocket: real-time notifications (see docs/protocol.md)",
                "parameters": [
                    { "name": "token", "in": "query", "schema": { "type": "string" }, "description": "bearer token, instead of the header or a first `authenticate` message" },
                    { "name": "clientId", "in": "query", "schema": { "type": "string" } }
                ],
                "responses": { "101": { "description": "switching protocols" }, "401": { "description": "bad or expired token", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } } },
            }
        }));
    }
}

/// Health, readiness, metrics and the documents the binary serves.
fn operations_paths(paths: &mut Map<String, Value>) {
    let ops_tag = json!(["operations"]);
    paths.insert("/healthz".into(), json!({ "get": { "tags": ops_tag, "security": [], "summary": "The process is up", "responses": { "200": { "description": "ok" } } } }));
    paths.insert("/readyz".into(), json!({ "get": { "tags": ops_tag, "security": [], "summary": "The database is reachable and migrated", "responses": { "200": { "description": "ready" }, "503": { "description": "not ready" } } } }));
    paths.insert("/metrics".into(), json!({ "get": { "tags": ops_tag, "security": [], "summary": "Prometheus metrics", "responses": { "200": { "description": "text format", "content": { "text/plain": {} } } } } }));
    paths.insert("/openapi.json".into(), json!({ "get": { "tags": ops_tag, "security": [], "summary": "This document", "responses": { "200": { "description": "OpenAPI 3.1" } } } }));
    paths.insert("/console/dev-token".into(), json!({ "get": { "tags": ops_tag, "security": [], "summary": "A development token (tenant `dev`, role `admin`, no `client_id`) for the console; only on a development server bound to loopback, asked from this machine", "responses": { "200": { "description": "`{success, data: {token, tenantId, subject, roles, expiresAt}}`" }, "404": { "description": "not offered here", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } } } } }));
    paths.insert("/docs".into(), json!({ "get": { "tags": ops_tag, "security": [], "summary": "Interactive documentation of this document (served offline)", "responses": { "200": { "description": "HTML" } } } }));
}

/// The shared schemas: the error body, the three push forms, pull, conflicts, stats, versions.
fn message_schemas(registry: &Registry, schemas: &mut Map<String, Value>) {
    let types: Vec<&str> = registry.names().map(|n| n.as_str()).collect();
    schemas.insert("Error".into(), json!({
        "type": "object", "required": ["success", "error"],
        "properties": { "success": { "const": false }, "error": { "type": "object", "required": ["code", "message"], "properties": {
            "code": { "type": "string", "enum": ["bad_request", "unauthorized", "forbidden", "not_found", "method_not_allowed", "version_conflict", "payload_too_large", "request_timeout", "unsupported_media_type", "validation_failed", "unknown_entity_type", "idempotency_key_reused", "rate_limited", "unavailable", "internal"] },
            "message": { "type": "string" },
            "details": { "type": "array", "items": { "type": "object", "properties": { "index": { "type": "integer" }, "entityType": { "type": "string" }, "field": { "type": "string" }, "message": { "type": "string" } } } }
        } } }
    }));
    schemas.insert("PushMapForm".into(), json!({
        "type": "object", "required": ["changes"],
        "properties": { "clientId": { "type": "string" }, "pushId": { "type": "string" }, "changes": { "type": "object", "description": "entity type → records; a record's `version` is its base version, `updatedAt`/`last_updated` its edit time, `deleted: true` makes it a delete", "additionalProperties": { "type": "array", "items": { "type": "object" } } } }
    }));
    schemas.insert("PushSingleForm".into(), json!({
        "type": "object", "required": ["table", "operation"],
        "properties": { "table": { "type": "string", "enum": types }, "operation": { "type": "string", "enum": ["create", "update", "delete"] }, "data": { "type": "object" } }
    }));
    schemas.insert("PushListForm".into(), json!({
        "type": "object", "required": ["changes"],
        "properties": { "clientId": { "type": "string" }, "pushId": { "type": "string" }, "changes": { "type": "array", "items": { "type": "object", "required": ["entityType"], "properties": {
            "entityType": { "type": "string", "enum": types }, "op": { "type": "string", "enum": ["upsert", "create", "update", "delete"] }, "id": { "type": "string", "format": "uuid" },
            "baseVersion": { "type": "integer" }, "data": { "type": "object" }, "clientUpdatedAt": { "type": "string", "format": "date-time" } } } } }
    }));
    schemas.insert("PushResponse".into(), json!({
        "type": "object",
        "properties": { "success": { "const": true }, "data": { "type": "array", "items": { "type": "object" } },
            "results": { "type": "array", "items": { "type": "object", "properties": {
                "index": { "type": "integer" }, "entityType": { "type": "string" }, "id": { "type": "string", "format": "uuid" },
                "status": { "type": "string", "enum": ["created", "updated", "deleted", "unchanged", "conflict_resolved", "conflict"] },
                "version": { "type": "integer" }, "strategy": { "type": "string" }, "conflictingFields": { "type": "array", "items": { "type": "string" } } } } },
            "cursor": { "type": "string" }, "syncTimestamp": { "type": "string", "format": "date-time" } }
    }));
    schemas.insert("PullRequest".into(), json!({
        "type": "object",
        "properties": { "cursor": { "type": "string", "description": "opaque; from the previous pull" }, "entityTypes": { "type": "array", "items": { "type": "string", "enum": types } },
            "limit": { "type": "integer", "default": 1000, "maximum": 10000 }, "lastSyncTimestamp": { "type": "string", "format": "date-time", "description": "legacy, weaker than a cursor" },
            "table": { "type": "string" }, "lastSync": { "type": "string", "format": "date-time", "description": "legacy" } }
    }));
    schemas.insert("PullResponse".into(), json!({
        "type": "object",
        "properties": { "success": { "const": true }, "data": { "type": "object", "additionalProperties": { "type": "array", "items": { "type": "object" } } },
            "cursor": { "type": "string" }, "hasMore": { "type": "boolean" }, "syncTimestamp": { "type": "string", "format": "date-time" } }
    }));
    schemas.insert("Conflict".into(), json!({
        "type": "object",
        "properties": { "id": { "type": "string", "format": "uuid" }, "entityType": { "type": "string" }, "recordId": { "type": "string", "format": "uuid" },
            "strategy": { "type": "string" }, "serverVersion": { "type": "integer" }, "serverData": { "type": "object" }, "clientData": { "type": "object" },
            "fields": { "type": "array", "items": { "type": "string" } }, "clientId": { "type": "string" }, "createdAt": { "type": "string", "format": "date-time" } }
    }));
    let window = json!({ "type": "object", "required": ["lastMinute", "lastHour"], "properties": { "lastMinute": { "type": "integer" }, "lastHour": { "type": "integer" } } });
    schemas.insert("AdminStats".into(), json!({
        "type": "object",
        "required": ["types", "openConflicts", "connections", "pushes", "changes", "conflictsByStrategy", "resyncs", "pushLatencyMs"],
        "properties": {
            "types": { "type": "object", "description": "every type the token may read", "additionalProperties": { "type": "object", "required": ["live", "tombstones"], "properties": { "live": { "type": "integer" }, "tombstones": { "type": "integer" } } } },
            "openConflicts": { "type": "integer", "description": "open manual conflicts" },
            "connections": { "type": "integer", "description": "WebSocket connections of the tenant on this instance" },
            "pushes": window.clone(),
            "changes": { "description": "records written (pushes, REST writes, resolutions) committed by this instance", "allOf": [window] },
            "conflictsByStrategy": { "type": "object", "description": "conflicts recorded in the last hour per strategy; every strategy in force appears", "additionalProperties": { "type": "integer" } },
            "resyncs": { "type": "integer", "description": "resync_required messages sent to the tenant's connections by this instance since it started" },
            "pushLatencyMs": { "type": "object", "description": "engine time of the pushes this instance applied in the last 5 minutes; null without pushes", "properties": { "p50": { "type": ["number", "null"] }, "p99": { "type": ["number", "null"] } } }
        }
    }));
    schemas.insert("Version".into(), json!({
        "type": "object",
        "properties": { "version": { "type": "integer" }, "action": { "type": "string", "enum": ["create", "update", "delete"] }, "data": { "type": "object" },
            "deleted": { "type": "boolean" }, "changedFields": { "type": "array", "items": { "type": "string" } }, "clientId": { "type": "string" },
            "subject": { "type": "string" }, "at": { "type": "string", "format": "date-time" } }
    }));
}

/// The whole document.
pub fn document(registry: &Registry) -> Value {
    let mut schemas = Map::new();
    let mut paths = Map::new();
    sync_paths(&mut paths);
    admin_and_socket_paths(&mut paths);
    for ty in registry.iter() {
        let component = component_name(ty);
        schemas.insert(component.clone(), record_schema(ty));
        schemas.insert(format!("{component}Input"), input_schema(ty));
        crud_paths(ty, &mut paths);
    }
    operations_paths(&mut paths);
    message_schemas(registry, &mut schemas);

    lifecycle::add(&mut paths, &mut schemas);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "syncd",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Multi-tenant data sync: push local changes, pull what changed since a cursor, hear about changes over a WebSocket. Every error has the body `{success: false, error: {code, message, details}}`."
        },
        "security": [ { "bearerAuth": [] } ],
        "tags": [ { "name": "sync" }, { "name": "operations" }, { "name": "admin" } ],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": { "bearerAuth": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" } }
        }
    })
}
