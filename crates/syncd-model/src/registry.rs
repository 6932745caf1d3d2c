//! The registry: every entity type a server knows, checked together (references, search
//! fields, deletion and pending rules, aliases) when it is built.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use crate::ids::{EntityTypeName, IdError, is_identifier};
use crate::managed::is_server_managed;
use crate::schema::{DeletionRule, EntityType, FieldSchema, FieldType, PendingCondition};
use crate::validate::{Limits, check_value};
use crate::visibility::Visibility;

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
        RegistryBuilder::default()
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

    /// Whether any type restricts what a token sees.
    pub fn has_visibility_rules(&self) -> bool {
        self.types.iter().any(|t| t.visibility.is_restricted())
    }

    /// Every `(type, field)` a visibility rule reads: what the stores index.
    pub fn visibility_fields(&self) -> Vec<(EntityTypeName, String)> {
        let mut out: Vec<(EntityTypeName, String)> = Vec::new();
        for ty in self.types.iter() {
            for rule in &ty.visibility.rules {
                let pair = (ty.name.clone(), rule.field.clone());
                if !out.contains(&pair) {
                    out.push(pair);
                }
            }
        }
        out
    }

    /// Whether some type's rule names this claim: only those claims a principal carries.
    pub fn names_claim(&self, claim: &str) -> bool {
        self.types
            .iter()
            .any(|t| t.visibility.rules.iter().any(|r| r.claim == claim))
    }
}

/// Collects entity types, then checks them together (references, search fields, rules).
#[derive(Debug, Clone, Default)]
pub struct RegistryBuilder {
    types: Vec<EntityType>,
    /// Rules set from outside the types' definitions (the configuration, for built-in types).
    visibility: Vec<(String, Visibility)>,
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

    /// Sets the visibility rules of a type registered before or after this call (the built-in
    /// types get theirs from the configuration).
    pub fn visibility(mut self, entity_type: impl Into<String>, rules: Visibility) -> Self {
        self.visibility.push((entity_type.into(), rules));
        self
    }

    pub fn build(mut self) -> Result<Registry, RegistryError> {
        for (name, rules) in std::mem::take(&mut self.visibility) {
            let Some(ty) = self.types.iter_mut().find(|t| t.name.as_str() == name) else {
                return Err(RegistryError::Invalid {
                    ty: name,
                    field: None,
                    problem: "visibility rules are set for a type that is not registered".into(),
                });
            };
            ty.visibility = rules;
        }
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
    let mut seen = HashSet::new();
    for (name, schema) in &ty.fields {
        if !seen.insert(name.as_str()) {
            return Err(invalid(
                ty,
                Some(name),
                format!("field `{name}` is declared twice"),
            ));
        }
        check_field(ty, name, schema, known)?;
    }
    check_search(ty)?;
    check_deletion(ty)?;
    check_visibility(ty)?;
    for condition in &ty.pending {
        if let PendingCondition::FieldEquals { field, .. } = condition
            && ty.field(field).is_none()
        {
            return Err(invalid(
                ty,
                None,
                format!("pending filter field `{field}` is not a declared field"),
            ));
        }
    }
    for alias in &ty.aliases {
        if ty.field(&alias.to).is_none() {
            return Err(invalid(
                ty,
                None,
                format!(
                    "alias `{}` points to undeclared field `{}`",
                    alias.from, alias.to
                ),
            ));
        }
    }
    Ok(())
}

fn invalid(ty: &EntityType, field: Option<&str>, problem: String) -> RegistryError {
    RegistryError::Invalid {
        ty: ty.name.to_string(),
        field: field.map(str::to_owned),
        problem,
    }
}

/// Whether `value` fits `schema` (a default or a deletion marker); the first problem if not.
fn value_problem(name: &str, schema: &FieldSchema, value: &Value) -> Option<String> {
    let mut errors = Vec::new();
    check_value(name, schema, value, &Limits::default(), &mut errors);
    errors.into_iter().next().map(|e| e.message)
}

fn check_field(
    ty: &EntityType,
    name: &str,
    schema: &FieldSchema,
    known: &HashMap<String, usize>,
) -> Result<(), RegistryError> {
    let problem = |problem: String| Err(invalid(ty, Some(name), problem));
    if !is_identifier(name) {
        return problem(format!(
            "field name `{name}` must match [a-z][a-z0-9_]* (at most 63 characters)"
        ));
    }
    if is_server_managed(name) {
        return problem(format!(
            "field `{name}` is managed by the server and cannot be declared"
        ));
    }
    if let Some(target) = &schema.references {
        if !known.contains_key(target.as_str()) {
            return problem(format!(
                "field `{name}` references unknown entity type `{target}`"
            ));
        }
        if schema.ty != FieldType::Uuid {
            return problem(format!(
                "field `{name}` references another type, so its type must be uuid"
            ));
        }
    }
    if schema.enum_values.is_some() && !schema.ty.is_textual() {
        return problem(format!("field `{name}`: enum values need a string field"));
    }
    if schema.max_length.is_some() && !schema.ty.is_textual() {
        return problem(format!(
            "field `{name}`: max_length needs a string or text field"
        ));
    }
    if let Some(default) = &schema.default
        && let Some(message) = value_problem(name, schema, default)
    {
        return problem(format!("default of field `{name}` is invalid: {message}"));
    }
    Ok(())
}

fn check_search(ty: &EntityType) -> Result<(), RegistryError> {
    for field in &ty.search {
        match ty.field(field) {
            Some(s) if s.ty.is_textual() => {}
            Some(_) => {
                return Err(invalid(
                    ty,
                    None,
                    format!("search field `{field}` must be a string or text field"),
                ));
            }
            None => {
                return Err(invalid(
                    ty,
                    None,
                    format!("search field `{field}` is not a declared field"),
                ));
            }
        }
    }
    Ok(())
}

fn check_deletion(ty: &EntityType) -> Result<(), RegistryError> {
    let DeletionRule::SetField { field, value, .. } = &ty.deletion else {
        return Ok(());
    };
    let Some(schema) = ty.field(field) else {
        return Err(invalid(
            ty,
            None,
            format!("deletion field `{field}` is not a declared field"),
        ));
    };
    if value_problem(field, schema, value).is_some() {
        return Err(invalid(
            ty,
            None,
            format!("deletion value {value} does not fit field `{field}`"),
        ));
    }
    Ok(())
}

/// Rules name declared string or uuid fields (their values are what claims are compared with)
/// and a claim.
fn check_visibility(ty: &EntityType) -> Result<(), RegistryError> {
    for rule in &ty.visibility.rules {
        let field = &rule.field;
        match ty.field(field) {
            Some(s) if matches!(s.ty, FieldType::String | FieldType::Uuid) => {}
            Some(s) => {
                return Err(invalid(
                    ty,
                    Some(field),
                    format!(
                        "visibility rule field `{field}` is of type {}; rules name string or uuid fields",
                        s.ty
                    ),
                ));
            }
            None => {
                return Err(invalid(
                    ty,
                    None,
                    format!("visibility rule field `{field}` is not a declared field"),
                ));
            }
        }
        if rule.claim.trim().is_empty() {
            return Err(invalid(
                ty,
                None,
                format!("visibility rule on `{field}` names no claim"),
            ));
        }
    }
    Ok(())
}
