//! The two built-in entity types, `end_user` and `interactions`, as the seed systems define them.

use serde_json::json;

use crate::ids::EntityTypeName;
use crate::record::SyncStatus;
use crate::schema::{
    DeletionRule, EntityType, FieldAlias, FieldSchema, FieldType, PendingCondition,
};

pub const END_USER: &str = "end_user";
pub const INTERACTIONS: &str = "interactions";

fn name(value: &'static str) -> EntityTypeName {
    EntityTypeName::from_static(value)
}

/// `end_user` (the seeds' ClientUser).
pub fn end_user() -> EntityType {
    EntityType::builder(name(END_USER))
        .field(
            "name",
            FieldSchema::new(FieldType::String)
                .required()
                .max_length(255),
        )
        .field(
            "email",
            FieldSchema::new(FieldType::String).email().max_length(255),
        )
        .field("phone", FieldSchema::new(FieldType::String).max_length(50))
        .field("active", FieldSchema::flag(1))
        .field("is_deleted", FieldSchema::flag(0))
        .alias(FieldAlias {
            from: "isDeleted".into(),
            to: "is_deleted".into(),
            bool_to_int: true,
        })
        .deletion(DeletionRule::SetField {
            field: "is_deleted".into(),
            value: json!(1),
            marks_delete_on_push: true,
        })
        .pending(PendingCondition::FieldEquals {
            field: "is_deleted".into(),
            value: json!(0),
        })
        .pending(PendingCondition::SyncStatus(SyncStatus::Pending))
        .search(["name", "email", "phone"])
        .legacy_sync_fields()
        .build()
}

/// `interactions` (the seeds' Interaction).
pub fn interactions() -> EntityType {
    EntityType::builder(name(INTERACTIONS))
        .field(
            "type",
            FieldSchema::new(FieldType::String)
                .required()
                .max_length(50),
        )
        .field(
            "title",
            FieldSchema::new(FieldType::String)
                .required()
                .max_length(255),
        )
        .field("description", FieldSchema::new(FieldType::Text))
        .field("date", FieldSchema::new(FieldType::Datetime))
        .field(
            "status",
            FieldSchema::new(FieldType::String)
                .one_of(["pending", "completed", "cancelled"])
                .default_value("pending"),
        )
        .field(
            "client_user_id",
            FieldSchema::new(FieldType::Uuid).references(name(END_USER)),
        )
        .deletion(DeletionRule::SetField {
            field: "status".into(),
            value: json!("cancelled"),
            marks_delete_on_push: false,
        })
        .search(["title", "description"])
        .build()
}

pub fn builtin_types() -> Vec<EntityType> {
    vec![end_user(), interactions()]
}
