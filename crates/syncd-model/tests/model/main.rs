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

mod builtin_end_user;
mod builtin_interactions;
mod entities_file;
mod ids;
mod properties;
mod push_shapes;
mod registry;
mod rendering;
mod validation_limits;
