//! Entity types declared in a TOML file (SPEC §9), so deployments add types without
//! recompiling. Errors name the file, the line and the problem.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_json::Value;
use toml::Spanned;

use crate::ids::EntityTypeName;
use crate::record::SyncStatus;
use crate::registry::{RegistryBuilder, RegistryError};
use crate::schema::{
    DeletionRule, EntityType, FieldSchema, FieldType, PendingCondition, StringFormat,
};

/// A configuration problem at a place in a file: shown as `FILE:LINE: problem`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.problem)
    }
}

impl ConfigError {
    /// An error at byte `offset` of `text`.
    pub fn at(file: &str, text: &str, offset: usize, problem: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            line: line_of(text, offset),
            problem: problem.into(),
        }
    }

    /// Turns a TOML parse error into `FILE:LINE: problem`.
    pub fn from_toml(file: &str, text: &str, error: &toml::de::Error) -> Self {
        let offset = error.span().map_or(0, |s| s.start);
        Self::at(file, text, offset, error.message().trim().to_owned())
    }
}

/// 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDef {
    #[serde(default)]
    entity: Vec<Spanned<EntityDef>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntityDef {
    name: Spanned<String>,
    strategy: Option<Spanned<String>>,
    deletion: Option<Spanned<DeletionDef>>,
    pending: Option<Spanned<PendingDef>>,
    search: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    additional_fields: bool,
    #[serde(default)]
    fields: BTreeMap<String, Spanned<FieldDef>>,
    visibility: Option<Spanned<Vec<RuleDef>>>,
    #[serde(default)]
    visibility_bypass_roles: Vec<String>,
}

/// `{ field = "assigned_to", claim = "sub" }` (SPEC §11).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleDef {
    field: String,
    claim: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeletionDef {
    field: String,
    value: toml::Value,
    /// A pushed record with `field = value` is a delete.
    #[serde(default)]
    deletes_on_push: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PendingDef {
    field: String,
    equals: toml::Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldDef {
    #[serde(rename = "type")]
    ty: FieldType,
    #[serde(default)]
    required: bool,
    default: Option<toml::Value>,
    max_length: Option<usize>,
    #[serde(rename = "enum")]
    enum_values: Option<Vec<String>>,
    references: Option<String>,
    format: Option<String>,
    min: Option<f64>,
    max: Option<f64>,
}

/// Entity types parsed from an entities file, with where each was declared.
pub struct EntitiesFile {
    file: String,
    text: String,
    types: Vec<(EntityType, DeclaredAt)>,
}

struct DeclaredAt {
    entity: usize,
    fields: BTreeMap<String, usize>,
}

impl EntitiesFile {
    /// Parses `text`; `file` is the name used in error messages.
    pub fn parse(file: &str, text: &str) -> Result<Self, ConfigError> {
        let def: FileDef =
            toml::from_str(text).map_err(|e| ConfigError::from_toml(file, text, &e))?;
        let mut types = Vec::with_capacity(def.entity.len());
        for entity in def.entity {
            let start = entity.span().start;
            let entity = entity.into_inner();
            types.push(convert_entity(file, text, start, entity)?);
        }
        Ok(Self {
            file: file.to_owned(),
            text: text.to_owned(),
            types,
        })
    }

    pub fn types(&self) -> impl Iterator<Item = &EntityType> {
        self.types.iter().map(|(t, _)| t)
    }

    /// Adds the file's types to `builder` and builds the registry; a problem found only now
    /// (an unknown reference, a duplicate name) still points at its line.
    pub fn build_registry(self, builder: RegistryBuilder) -> Result<crate::Registry, ConfigError> {
        let mut lines = Vec::with_capacity(self.types.len());
        let mut types = Vec::with_capacity(self.types.len());
        for (ty, at) in self.types {
            lines.push((ty.name.to_string(), at));
            types.push(ty);
        }
        builder.register_all(types).build().map_err(|e| {
            let (ty, field) = match &e {
                RegistryError::Duplicate(ty) => (Some(ty.as_str()), None),
                RegistryError::Invalid { ty, field, .. } => (Some(ty.as_str()), field.as_deref()),
                RegistryError::Name(_) => (None, None),
            };
            // A duplicate is reported at its second declaration.
            let at = lines
                .iter()
                .rev()
                .find(|(name, _)| Some(name.as_str()) == ty);
            let line = at.map_or(1, |(_, at)| {
                field
                    .and_then(|f| at.fields.get(f).copied())
                    .unwrap_or(at.entity)
            });
            ConfigError {
                file: self.file.clone(),
                line,
                problem: e.to_string(),
            }
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

fn convert_entity(
    file: &str,
    text: &str,
    start: usize,
    def: EntityDef,
) -> Result<(EntityType, DeclaredAt), ConfigError> {
    let name_at = def.name.span().start;
    let name = EntityTypeName::parse(def.name.into_inner())
        .map_err(|e| ConfigError::at(file, text, name_at, e.to_string()))?;
    let search = match def.search {
        Some(search) => check_search(file, text, &name, &def.fields, search)?,
        None => Vec::new(),
    };
    check_rule_fields(file, text, &name, &def.fields, &def.deletion, &def.pending)?;
    let mut builder = EntityType::builder(name.clone())
        .search(search)
        .additional_fields(def.additional_fields)
        .visibility_bypass_roles(def.visibility_bypass_roles);
    if let Some(rules) = def.visibility {
        builder = convert_visibility(file, text, &name, &def.fields, rules, builder)?;
    }
    if let Some(strategy) = def.strategy {
        builder = builder.strategy(strategy.into_inner());
    }
    if let Some(deletion) = def.deletion {
        builder = builder.deletion(convert_deletion(file, text, deletion)?);
    }
    if let Some(pending) = def.pending {
        builder = builder.pending(convert_pending(file, text, pending)?);
    }
    let mut fields = BTreeMap::new();
    for (field_name, def) in def.fields {
        let at = def.span().start;
        fields.insert(field_name.clone(), line_of(text, at));
        let schema = convert_field(def.into_inner())
            .map_err(|p| ConfigError::at(file, text, at, format!("field `{field_name}`: {p}")))?;
        builder = builder.field(field_name, schema);
    }
    Ok((
        builder.build(),
        DeclaredAt {
            entity: line_of(text, start),
            fields,
        },
    ))
}

/// The search fields, each a declared string or text field. Checked here rather than only by
/// the registry, so the error points at `search`.
fn check_search(
    file: &str,
    text: &str,
    name: &EntityTypeName,
    fields: &BTreeMap<String, Spanned<FieldDef>>,
    search: Spanned<Vec<String>>,
) -> Result<Vec<String>, ConfigError> {
    let at = search.span().start;
    let search = search.into_inner();
    for field in &search {
        let problem = match fields.get(field) {
            Some(f) if f.get_ref().ty.is_textual() => continue,
            Some(_) => "must be a string or text field",
            None => "is not a declared field",
        };
        return Err(ConfigError::at(
            file,
            text,
            at,
            format!("entity type `{name}`: search field `{field}` {problem}"),
        ));
    }
    Ok(search)
}

/// Like `search`, the fields of the deletion rule and the pending filter are checked here so
/// that the error points at their line.
fn check_rule_fields(
    file: &str,
    text: &str,
    name: &EntityTypeName,
    fields: &BTreeMap<String, Spanned<FieldDef>>,
    deletion: &Option<Spanned<DeletionDef>>,
    pending: &Option<Spanned<PendingDef>>,
) -> Result<(), ConfigError> {
    let undeclared = |at: usize, what: &str, field: &str| {
        ConfigError::at(
            file,
            text,
            at,
            format!("entity type `{name}`: {what} field `{field}` is not a declared field"),
        )
    };
    if let Some(deletion) = deletion
        && !fields.contains_key(&deletion.get_ref().field)
    {
        let at = deletion.span().start;
        return Err(undeclared(at, "deletion", &deletion.get_ref().field));
    }
    if let Some(pending) = pending
        && pending.get_ref().field != "sync_status"
        && !fields.contains_key(&pending.get_ref().field)
    {
        let at = pending.span().start;
        return Err(undeclared(at, "pending filter", &pending.get_ref().field));
    }
    Ok(())
}

fn convert_deletion(
    file: &str,
    text: &str,
    deletion: Spanned<DeletionDef>,
) -> Result<DeletionRule, ConfigError> {
    let at = deletion.span().start;
    let deletion = deletion.into_inner();
    Ok(DeletionRule::SetField {
        field: deletion.field,
        value: toml_to_json(deletion.value).map_err(|p| ConfigError::at(file, text, at, p))?,
        marks_delete_on_push: deletion.deletes_on_push,
    })
}

fn convert_pending(
    file: &str,
    text: &str,
    pending: Spanned<PendingDef>,
) -> Result<PendingCondition, ConfigError> {
    let at = pending.span().start;
    let pending = pending.into_inner();
    let value = toml_to_json(pending.equals).map_err(|p| ConfigError::at(file, text, at, p))?;
    if pending.field != "sync_status" {
        return Ok(PendingCondition::FieldEquals {
            field: pending.field,
            value,
        });
    }
    let status = value
        .as_str()
        .and_then(|s| s.parse::<SyncStatus>().ok())
        .ok_or_else(|| {
            ConfigError::at(
                file,
                text,
                at,
                "sync_status must equal pending, synced, conflict or failed",
            )
        })?;
    Ok(PendingCondition::SyncStatus(status))
}

fn convert_visibility(
    file: &str,
    text: &str,
    name: &EntityTypeName,
    fields: &BTreeMap<String, Spanned<FieldDef>>,
    rules: Spanned<Vec<RuleDef>>,
    mut builder: crate::schema::EntityTypeBuilder,
) -> Result<crate::schema::EntityTypeBuilder, ConfigError> {
    let at = rules.span().start;
    for rule in rules.into_inner() {
        // Checked here as well as by the registry, so that the error points at the rule.
        let problem = match fields.get(&rule.field).map(|f| f.get_ref().ty) {
            Some(FieldType::String | FieldType::Uuid) => None,
            Some(other) => Some(format!(
                "is of type {other}; rules name string or uuid fields"
            )),
            None => Some("is not a declared field".to_owned()),
        };
        if let Some(problem) = problem {
            return Err(ConfigError::at(
                file,
                text,
                at,
                format!(
                    "entity type `{name}`: visibility rule field `{}` {problem}",
                    rule.field
                ),
            ));
        }
        builder = builder.visible_when(rule.field, rule.claim);
    }
    Ok(builder)
}

fn convert_field(def: FieldDef) -> Result<FieldSchema, String> {
    let mut schema = FieldSchema::new(def.ty);
    schema.required = def.required;
    schema.default = def.default.map(toml_to_json).transpose()?;
    schema.max_length = def.max_length;
    schema.enum_values = def.enum_values;
    schema.min = def.min;
    schema.max = def.max;
    if let Some(target) = def.references {
        schema.references = Some(EntityTypeName::parse(target).map_err(|e| e.to_string())?);
    }
    schema.format = match def.format.as_deref() {
        None => None,
        Some("email") => Some(StringFormat::Email),
        Some(other) => return Err(format!("unknown format `{other}`; known: email")),
    };
    Ok(schema)
}

fn toml_to_json(value: toml::Value) -> Result<Value, String> {
    Ok(match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| format!("{f} is not a finite number"))?,
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(toml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(table) => Value::Object(
            table
                .into_iter()
                .map(|(k, v)| toml_to_json(v).map(|v| (k, v)))
                .collect::<Result<_, _>>()?,
        ),
    })
}
