//! The integrity checksum of SPEC §10 against the shared test vectors
//! (`tests/vectors/checksum.json`), which the JavaScript SDK's tests read too: both sides must
//! compute the same values for the same records.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use syncd_core::record_hash;
use syncd_model::{RecordId, Version};

const VECTORS: &str = include_str!("../../../tests/vectors/checksum.json");

fn record(value: &Value) -> (RecordId, Version) {
    (
        RecordId::parse(value["id"].as_str().unwrap()).unwrap(),
        Version(value["version"].as_i64().unwrap()),
    )
}

#[test]
fn record_hashes_and_set_checksums_match_the_shared_vectors() {
    let vectors: Value = serde_json::from_str(VECTORS).unwrap();
    let records = vectors["records"].as_array().unwrap();
    assert!(!records.is_empty());
    for r in records {
        let (id, version) = record(r);
        assert_eq!(
            record_hash(id, version).to_string(),
            r["hash"].as_str().unwrap(),
            "{r}"
        );
    }
    let sets = vectors["sets"].as_array().unwrap();
    assert!(!sets.is_empty());
    for set in sets {
        let members = set["records"].as_array().unwrap();
        let sum = members
            .iter()
            .map(record)
            .fold(0u64, |sum, (id, v)| sum.wrapping_add(record_hash(id, v)));
        assert_eq!(sum.to_string(), set["checksum"].as_str().unwrap(), "{set}");
        assert_eq!(members.len() as u64, set["count"].as_u64().unwrap());
    }
}
