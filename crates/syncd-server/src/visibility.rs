//! Visibility rules in the server's configuration: `[sync.visibility.<type>]` gives rules to
//! types the entities file does not declare (the built-in `end_user` and `interactions`).

use serde::{Deserialize, Serialize};

/// `rules = [{ field = "…", claim = "…" }]` and `bypass_roles = […]` of one type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VisibilitySettings {
    pub rules: Vec<VisibilityRuleSettings>,
    pub bypass_roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisibilityRuleSettings {
    pub field: String,
    pub claim: String,
}

impl VisibilitySettings {
    pub fn to_model(&self) -> syncd_model::Visibility {
        syncd_model::Visibility {
            rules: self
                .rules
                .iter()
                .map(|r| syncd_model::VisibilityRule {
                    field: r.field.clone(),
                    claim: r.claim.clone(),
                })
                .collect(),
            bypass_roles: self.bypass_roles.clone(),
        }
    }
}
