//! Entity types: their fields, deletion rule, pending filter and conflict strategy, and the
//! registry that holds every type a server knows.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{EntityTypeName, IdError, is_identifier};
use crate::record::SyncStatus;

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

    pub fn build(self) -> EntityType {
        self.ty
    }
}

/// Why a set of entity types does not form a registry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegistryError {
    #[error("entity type `{0}` is registered twice")]
    Duplicate(String),
    #[error("entity type `{ty}`: {problem}")]
    Invalid {
        ty: String,
        /// The field the problem is about, when there is one.
        field: Option<String>,
        problem: String,
    },
    #[error(transparent)]
    Name(#[from] IdError),
}

/// Every entity type a server knows, by name. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    types: Arc<Vec<Arc<EntityType>>>,
    by_name: Arc<HashMap<String, usize>>,
}

impl Registry {
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder { types: Vec::new() }
    }

    /// The two built-in types only.
    pub fn builtin() -> Self {
        // The built-in types are consistent by construction; the test suite checks it.
        Self::builder().with_builtins().build().unwrap_or_default()
    }

    pub fn get(&self, name: &str) -> Option<&Arc<EntityType>> {
        self.by_name.get(name).map(|&i| &self.types[i])
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<EntityType>> {
        self.types.iter()
    }

    pub fn names(&self) -> impl Iterator<Item = &EntityTypeName> {
        self.types.iter().map(|t| &t.name)
    }

    pub fn len(&self) -> usize {
        self.types.len()
    }

    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }
}

/// Collects entity types, then checks them together (references, search fields, rules).
#[derive(Debug, Clone, Default)]
pub struct RegistryBuilder {
    types: Vec<EntityType>,
}

impl RegistryBuilder {
    /// Adds `end_user` and `interactions`.
    pub fn with_builtins(mut self) -> Self {
        self.types.extend(crate::builtin::builtin_types());
        self
    }

    pub fn register(mut self, ty: EntityType) -> Self {
        self.types.push(ty);
        self
    }

    pub fn register_all(mut self, types: impl IntoIterator<Item = EntityType>) -> Self {
        self.types.extend(types);
        self
    }

    pub fn build(self) -> Result<Registry, RegistryError> {
        let mut by_name = HashMap::new();
        for (i, ty) in self.types.iter().enumerate() {
            if by_name.insert(ty.name.as_str().to_owned(), i).is_some() {
                return Err(RegistryError::Duplicate(ty.name.to_string()));
            }
        }
        for ty in &self.types {
            check_type(ty, &by_name)?;
        }
        Ok(Registry {
            types: Arc::new(self.types.into_iter().map(Arc::new).collect()),
            by_name: Arc::new(by_name),
        })
    }
}

fn check_type(ty: &EntityType, known: &HashMap<String, usize>) -> Result<(), RegistryError> {
    let invalid_at = |field: &str, problem: String| RegistryError::Invalid {
        ty: ty.name.to_string(),
        field: Some(field.to_owned()),
        problem,
    };
    let invalid = |problem: String| RegistryError::Invalid {
        ty: ty.name.to_string(),
        field: None,
        problem,
    };
    let mut seen = std::collections::HashSet::new();
    for (name, schema) in &ty.fields {
        if !is_identifier(name) {
            return Err(invalid_at(
                name,
                format!("field name `{name}` must match [a-z][a-z0-9_]* (at most 63 characters)"),
            ));
        }
        if !seen.insert(name.as_str()) {
            return Err(invalid_at(
                name,
                format!("field `{name}` is declared twice"),
            ));
        }
        if crate::validate::is_server_managed(name) {
            return Err(invalid_at(
                name,
                format!("field `{name}` is managed by the server and cannot be declared"),
            ));
        }
        if let Some(target) = &schema.references {
            if !known.contains_key(target.as_str()) {
                return Err(invalid_at(
                    name,
                    format!("field `{name}` references unknown entity type `{target}`"),
                ));
            }
            if schema.ty != FieldType::Uuid {
                return Err(invalid_at(
                    name,
                    format!("field `{name}` references another type, so its type must be uuid"),
                ));
            }
        }
        if schema.enum_values.is_some() && !schema.ty.is_textual() {
            return Err(invalid_at(
                name,
                format!("field `{name}`: enum values need a string field"),
            ));
        }
        if schema.max_length.is_some() && !schema.ty.is_textual() {
            return Err(invalid_at(
                name,
                format!("field `{name}`: max_length needs a string or text field"),
            ));
        }
        if let Some(default) = &schema.default {
            let mut errors = Vec::new();
            crate::validate::check_value(
                name,
                schema,
                default,
                &crate::validate::Limits::default(),
                &mut errors,
            );
            if let Some(e) = errors.first() {
                return Err(invalid_at(
                    name,
                    format!("default of field `{name}` is invalid: {}", e.message),
                ));
            }
        }
    }
    for field in &ty.search {
        match ty.field(field) {
            Some(s) if s.ty.is_textual() => {}
            Some(_) => {
                return Err(invalid(format!(
                    "search field `{field}` must be a string or text field"
                )));
            }
            None => {
                return Err(invalid(format!(
                    "search field `{field}` is not a declared field"
                )));
            }
        }
    }
    if let DeletionRule::SetField { field, value, .. } = &ty.deletion {
        let Some(schema) = ty.field(field) else {
            return Err(invalid(format!(
                "deletion field `{field}` is not a declared field"
            )));
        };
        let mut errors = Vec::new();
        crate::validate::check_value(
            field,
            schema,
            value,
            &crate::validate::Limits::default(),
            &mut errors,
        );
        if !errors.is_empty() {
            return Err(invalid(format!(
                "deletion value {value} does not fit field `{field}`"
            )));
        }
    }
    for condition in &ty.pending {
        if let PendingCondition::FieldEquals { field, .. } = condition
            && ty.field(field).is_none()
        {
            return Err(invalid(format!(
                "pending filter field `{field}` is not a declared field"
            )));
        }
    }
    for alias in &ty.aliases {
        if ty.field(&alias.to).is_none() {
            return Err(invalid(format!(
                "alias `{}` points to undeclared field `{}`",
                alias.from, alias.to
            )));
        }
    }
    Ok(())
}
