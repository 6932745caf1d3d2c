//! Visibility rules inside a tenant (SPEC §11): which records of a type a token sees, decided by
//! the record's fields and the token's claims.
//!
//! A type's rules resolve, for one token, into an [`Access`]: everything, or the records whose
//! named fields hold one of the token's values. The stores turn an `Access` into a condition of
//! their queries, so invisible records are never read; [`Access::allows`] answers the same
//! question for one record in memory (a single `GET`, a write check, a notification).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// One rule: the record's `field` equals the token's `claim` (a string), or the claim is a
/// list that contains it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VisibilityRule {
    pub field: String,
    pub claim: String,
}

/// A type's rules; no rules = every token of the tenant sees every record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Visibility {
    pub rules: Vec<VisibilityRule>,
    /// A token with any of these roles sees every record.
    pub bypass_roles: Vec<String>,
}

impl Visibility {
    pub fn is_restricted(&self) -> bool {
        !self.rules.is_empty()
    }

    /// The values of the fields the rules read (absent fields left out): what decides, with a
    /// token's [`Access`], whether the record is visible.
    pub fn fields_of(&self, data: &Map<String, Value>) -> Map<String, Value> {
        self.rules
            .iter()
            .filter_map(|r| data.get(&r.field).map(|v| (r.field.clone(), v.clone())))
            .collect()
    }

    /// What a token with `roles` and `claims` may see of this type.
    pub fn access(&self, roles: &[String], claims: &VisibilityClaims) -> Access {
        if self.rules.is_empty() || roles.iter().any(|r| self.bypass_roles.contains(r)) {
            return Access::All;
        }
        let mut matches = Vec::with_capacity(self.rules.len());
        for rule in &self.rules {
            // A claim the token lacks, or one of another shape, lets the rule match nothing.
            let Some(values) = claims.get(&rule.claim).filter(|v| !v.is_empty()) else {
                continue;
            };
            matches.push(FieldIn {
                field: rule.field.clone(),
                values: values.iter().cloned().collect(),
            });
        }
        Access::Only(matches)
    }
}

/// A record's `field` holds one of `values` (as a JSON string).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldIn {
    pub field: String,
    /// Sorted, without repeats.
    pub values: Vec<String>,
}

/// What one token may see of one type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Access {
    /// Every record.
    All,
    /// The records matching any of these; none = no record at all.
    Only(Vec<FieldIn>),
}

impl Access {
    pub fn is_all(&self) -> bool {
        matches!(self, Access::All)
    }

    /// Whether a record with this data is visible. Only JSON strings match, as in the stores'
    /// queries.
    pub fn allows(&self, data: &Map<String, Value>) -> bool {
        match self {
            Access::All => true,
            Access::Only(matches) => matches.iter().any(|m| {
                data.get(&m.field)
                    .and_then(Value::as_str)
                    .is_some_and(|v| m.values.binary_search_by(|x| x.as_str().cmp(v)).is_ok())
            }),
        }
    }
}

/// The claims of a token that rules can name: each as a set of strings. A string claim is a set
/// of one; a list of strings is a set; a claim of any other shape is left out, so a rule naming
/// it matches nothing (never an error that would tell the caller about the rule).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VisibilityClaims(BTreeMap<String, BTreeSet<String>>);

impl VisibilityClaims {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes a claim's JSON value if it is a string or a list of strings.
    pub fn insert_json(&mut self, name: &str, value: &Value) {
        let set = match value {
            Value::String(s) => BTreeSet::from([s.clone()]),
            Value::Array(items) => {
                let mut set = BTreeSet::new();
                for item in items {
                    match item {
                        Value::String(s) => set.insert(s.clone()),
                        _ => return,
                    };
                }
                set
            }
            _ => return,
        };
        self.0.insert(name.to_owned(), set);
    }

    /// Sets a claim to these values.
    pub fn insert<I, S>(&mut self, name: &str, values: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.0.insert(
            name.to_owned(),
            values.into_iter().map(Into::into).collect(),
        );
    }

    pub fn get(&self, name: &str) -> Option<&BTreeSet<String>> {
        self.0.get(name)
    }

    /// Keeps only the claims `keep` says rules name.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.0.retain(|name, _| keep(name));
    }

    /// Claims by name, in name order, values sorted.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &BTreeSet<String>)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// A stable 32-bit FNV-1a hash: the cursor's visibility fingerprint must be the same on every
/// instance and after every restart, which `std`'s hasher does not promise.
#[derive(Debug, Clone, Copy)]
pub struct Fnv32(u32);

impl Default for Fnv32 {
    fn default() -> Self {
        Self(0x811c_9dc5)
    }
}

impl Fnv32 {
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u32::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0193);
        }
    }

    /// Writes a string with its length, so ("ab","c") and ("a","bc") differ.
    pub fn write_str(&mut self, s: &str) {
        self.write(&(s.len() as u64).to_le_bytes());
        self.write(s.as_bytes());
    }

    /// The hash; never 0, which means "no visibility rules" in a cursor.
    pub fn finish(self) -> u32 {
        self.0.max(1)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rules() -> Visibility {
        Visibility {
            rules: vec![
                VisibilityRule {
                    field: "assigned_to".into(),
                    claim: "sub".into(),
                },
                VisibilityRule {
                    field: "branch".into(),
                    claim: "branches".into(),
                },
            ],
            bypass_roles: vec!["manager".into()],
        }
    }

    #[test]
    fn a_record_is_visible_when_any_rule_matches_a_string_or_list_claim() {
        let mut claims = VisibilityClaims::new();
        claims.insert_json("sub", &json!("alice"));
        claims.insert_json("branches", &json!(["north", "east"]));
        let access = rules().access(&[], &claims);
        let data = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert!(access.allows(&data(json!({"assigned_to": "alice"}))));
        assert!(access.allows(&data(json!({"assigned_to": "bob", "branch": "east"}))));
        assert!(!access.allows(&data(json!({"assigned_to": "bob", "branch": "south"}))));
        assert!(!access.allows(&data(json!({"assigned_to": 1}))));
        assert!(!access.allows(&data(json!({}))));
    }

    #[test]
    fn a_claim_of_another_shape_matches_nothing_and_a_bypass_role_sees_all() {
        let mut claims = VisibilityClaims::new();
        claims.insert_json("sub", &json!({"x": 1}));
        claims.insert_json("branches", &json!(["north", 3]));
        assert_eq!(rules().access(&[], &claims), Access::Only(Vec::new()));
        assert_eq!(rules().access(&["manager".into()], &claims), Access::All);
        assert_eq!(Visibility::default().access(&[], &claims), Access::All);
    }
}
