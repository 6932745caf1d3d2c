//! What a write transaction read, and the maps a write looks it up in.

use std::collections::HashMap;

use serde_json::{Map, Value};
use syncd_model::{Record, Version};

use crate::RecordKey;

/// The records a write transaction read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loaded {
    /// Current states of the asked-for keys that exist (tombstones included).
    pub records: Vec<Record>,
    /// Data at the asked-for versions that the history still holds.
    pub versions: Vec<(RecordKey, Version, Map<String, Value>)>,
}

/// Current states by key, and data by (key, version).
pub type LoadedMaps = (
    HashMap<RecordKey, Record>,
    HashMap<(RecordKey, Version), Map<String, Value>>,
);

impl Loaded {
    /// The loaded states by key and the loaded versions by (key, version), as a write looks
    /// them up.
    pub fn into_maps(self) -> LoadedMaps {
        let records = self.records.into_iter();
        let versions = self.versions.into_iter();
        (
            records
                .map(|r| (RecordKey::new(r.entity_type.clone(), r.id), r))
                .collect(),
            versions.map(|(k, v, data)| ((k, v), data)).collect(),
        )
    }
}
