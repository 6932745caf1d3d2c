//! Entity types: their fields, deletion rule, pending filter and conflict strategy (the
//! registry that holds them is in `registry`).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::EntityTypeName;
use crate::status::SyncStatus;
use crate::visibility::{Visibility, VisibilityRule};

/// The type of a declared field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// A short string (`max_length` applies).
    String,
    /// A long string.
    Text,
    /// A 64-bit integer.
    Int,
    /// A number.
    Float,
    /// `true` or `false`.
    Bool,
    /// An RFC 3339 date-time.
    Datetime,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A UUID, stored lowercase and hyphenated.
    Uuid,
    /// Any JSON value.
    Json,
}

impl FieldType {
    pub fn name(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Text => "text",
            FieldType::Int => "int",
            FieldType::Float => "float",
            FieldType::Bool => "bool",
            FieldType::Datetime => "datetime",
            FieldType::Date => "date",
            FieldType::Uuid => "uuid",
            FieldType::Json => "json",
        }
    }

    pub(crate) fn is_textual(self) -> bool {
        matches!(self, FieldType::String | FieldType::Text)
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Extra shape a string field must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringFormat {
    Email,
}

/// One declared field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSchema {
    pub ty: FieldType,
    /// Must be present (and not null) when the record is created, and never set to null.
    pub required: bool,
    /// Stored on create when the client sends nothing for the field.
    pub default: Option<Value>,
    /// Maximum length in characters (string and text fields).
    pub max_length: Option<usize>,
    /// Allowed values (string fields).
    pub enum_values: Option<Vec<String>>,
    /// The field holds the id of a live record of this type in the same tenant.
    pub references: Option<EntityTypeName>,
    pub format: Option<StringFormat>,
    /// Inclusive bounds for numbers.
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl FieldSchema {
    pub fn new(ty: FieldType) -> Self {
        Self {
            ty,
            required: false,
            default: None,
            max_length: None,
            enum_values: None,
            references: None,
            format: None,
            min: None,
            max: None,
        }
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn default_value(mut self, value: impl Into<Value>) -> Self {
        self.default = Some(value.into());
        self
    }

    pub fn max_length(mut self, max: usize) -> Self {
        self.max_length = Some(max);
        self
    }

    pub fn one_of<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.enum_values = Some(values.into_iter().map(Into::into).collect());
        self
    }

    pub fn references(mut self, target: EntityTypeName) -> Self {
        self.references = Some(target);
        self
    }

    pub fn email(mut self) -> Self {
        self.format = Some(StringFormat::Email);
        self
    }

    pub fn range(mut self, min: f64, max: f64) -> Self {
        self.min = Some(min);
        self.max = Some(max);
        self
    }

    /// An int field holding 0 or 1; `true`/`false` are accepted and stored as 1/0.
    pub fn flag(default: i64) -> Self {
        Self::new(FieldType::Int)
            .range(0.0, 1.0)
            .default_value(default)
    }

    pub(crate) fn is_flag(&self) -> bool {
        self.ty == FieldType::Int && self.min == Some(0.0) && self.max == Some(1.0)
    }
}

/// What a delete does to the record's data besides making it a tombstone.
#[derive(Debug, Clone, PartialEq)]
pub enum DeletionRule {
    /// Only the tombstone flag.
    Tombstone,
    /// Also set `field` to `value` (e.g. `is_deleted = 1`, `status = 'cancelled'`).
    SetField {
        field: String,
        value: Value,
        /// A pushed record carrying `field = value` is itself a delete.
        marks_delete_on_push: bool,
    },
}

/// One condition of a type's pull-pending filter.
#[derive(Debug, Clone, PartialEq)]
pub enum PendingCondition {
    SyncStatus(SyncStatus),
    FieldEquals { field: String, value: Value },
}

/// An incoming field name that is rewritten before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldAlias {
    pub from: String,
    pub to: String,
    /// `true`/`false` become 1/0.
    pub bool_to_int: bool,
}

/// A registered entity type.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityType {
    pub name: EntityTypeName,
    pub fields: Vec<(String, FieldSchema)>,
    pub deletion: DeletionRule,
    /// Conditions of pull-pending besides "live"; empty = every live record.
    pub pending: Vec<PendingCondition>,
    /// Conflict strategy name; `None` = the configured default.
    pub strategy: Option<String>,
    /// Fields that `?search=` looks into.
    pub search: Vec<String>,
    /// Store fields that are not declared instead of rejecting them.
    pub additional_fields: bool,
    pub aliases: Vec<FieldAlias>,
    /// Render the seeds' `server_synced` and `last_updated` fields (the `end_user` table).
    pub legacy_sync_fields: bool,
    /// Which records a token sees inside its tenant (SPEC §11); no rules = all of them.
    pub visibility: Visibility,
}

impl EntityType {
    /// A type with no fields, tombstone-only deletes and no pending conditions.
    pub fn builder(name: EntityTypeName) -> EntityTypeBuilder {
        EntityTypeBuilder {
            ty: EntityType {
                name,
                fields: Vec::new(),
                deletion: DeletionRule::Tombstone,
                pending: Vec::new(),
                strategy: None,
                search: Vec::new(),
                additional_fields: false,
                aliases: Vec::new(),
                legacy_sync_fields: false,
                visibility: Visibility::default(),
            },
        }
    }

    pub fn field(&self, name: &str) -> Option<&FieldSchema> {
        self.fields
            .iter()
            .find_map(|(n, schema)| (n == name).then_some(schema))
    }

    /// The fields that reference other types.
    pub fn references(&self) -> impl Iterator<Item = (&str, &EntityTypeName)> {
        self.fields
            .iter()
            .filter_map(|(n, s)| s.references.as_ref().map(|t| (n.as_str(), t)))
    }
}

/// Builds an [`EntityType`] in code: the way embedding services register their own types.
#[derive(Debug, Clone)]
pub struct EntityTypeBuilder {
    ty: EntityType,
}

impl EntityTypeBuilder {
    pub fn field(mut self, name: impl Into<String>, schema: FieldSchema) -> Self {
        self.ty.fields.push((name.into(), schema));
        self
    }

    pub fn deletion(mut self, rule: DeletionRule) -> Self {
        self.ty.deletion = rule;
        self
    }

    pub fn pending(mut self, condition: PendingCondition) -> Self {
        self.ty.pending.push(condition);
        self
    }

    pub fn strategy(mut self, name: impl Into<String>) -> Self {
        self.ty.strategy = Some(name.into());
        self
    }

    pub fn search<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.ty.search = fields.into_iter().map(Into::into).collect();
        self
    }

    pub fn additional_fields(mut self, allowed: bool) -> Self {
        self.ty.additional_fields = allowed;
        self
    }

    pub fn alias(mut self, alias: FieldAlias) -> Self {
        self.ty.aliases.push(alias);
        self
    }

    pub fn legacy_sync_fields(mut self) -> Self {
        self.ty.legacy_sync_fields = true;
        self
    }

    /// A record is visible to a token when its `field` equals the token's `claim` (or is in it,
    /// for a list claim); with several rules, when any matches.
    pub fn visible_when(mut self, field: impl Into<String>, claim: impl Into<String>) -> Self {
        self.ty.visibility.rules.push(VisibilityRule {
            field: field.into(),
            claim: claim.into(),
        });
        self
    }

    /// Roles that see every record of the type whatever its rules.
    pub fn visibility_bypass_roles<I, S>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.ty.visibility.bypass_roles = roles.into_iter().map(Into::into).collect();
        self
    }

    pub fn build(self) -> EntityType {
        self.ty
    }
}
