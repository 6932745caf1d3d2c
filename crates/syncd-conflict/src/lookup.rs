//! Field lookups that follow the record's own field order.
//!
//! Looking a field up in a `serde_json::Map` hashes the key with SipHash, and in a field merge
//! of a 10-field record those hashes were most of the time spent. Records of one entity type
//! are built from one schema, so the server copy, the base version and a whole-record push
//! usually list their fields in the same order, and a patch lists a subset of them in that
//! order. A [`FieldCursor`] therefore looks a little way ahead of its previous hit first, which
//! costs one or a few string comparisons, and only falls back to `Map::get` for a field that is
//! out of order or absent. The answer is always the same as `Map::get`'s: keys are unique.

use serde_json::map::Iter;
use serde_json::{Map, Value};

/// How many fields past the previous hit are compared before hashing. Large enough to skip the
/// fields a patch leaves out between two it sends; small enough that a miss stays cheap.
const LOOK_AHEAD: usize = 8;

/// Looks fields up in one map, expecting them in the map's order.
#[derive(Clone)]
pub(crate) struct FieldCursor<'a> {
    map: &'a Map<String, Value>,
    /// The entries after the previous hit.
    rest: Iter<'a>,
}

impl<'a> FieldCursor<'a> {
    pub(crate) fn new(map: &'a Map<String, Value>) -> Self {
        Self {
            map,
            rest: map.iter(),
        }
    }

    /// The value of `field`, exactly as `Map::get` would return it.
    pub(crate) fn get(&mut self, field: &str) -> Option<&'a Value> {
        let mut ahead = self.rest.clone();
        for _ in 0..LOOK_AHEAD {
            match ahead.next() {
                Some((key, value)) if key == field => {
                    self.rest = ahead;
                    return Some(value);
                }
                Some(_) => {}
                None => break,
            }
        }
        self.map.get(field)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn record(fields: usize) -> Map<String, Value> {
        (0..fields).map(|i| (format!("f{i}"), json!(i))).collect()
    }

    #[test]
    fn a_cursor_answers_like_map_get_in_any_lookup_order() {
        let map = record(20);
        let orders: [Vec<String>; 4] = [
            (0..20).map(|i| format!("f{i}")).collect(),
            (0..20).rev().map(|i| format!("f{i}")).collect(),
            [0, 1, 15, 3, 19, 2, 2, 18, 0]
                .map(|i| format!("f{i}"))
                .to_vec(),
            ["f1", "missing", "f2", "", "f19", "f12", "nope"]
                .map(String::from)
                .to_vec(),
        ];
        for order in orders {
            let mut cursor = FieldCursor::new(&map);
            for field in &order {
                assert_eq!(cursor.get(field), map.get(field), "{field} in {order:?}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn a_cursor_always_answers_like_map_get(
            keys in proptest::collection::vec(0u8..24, 0..20),
            lookups in proptest::collection::vec(0u8..26, 0..40),
        ) {
            let map: Map<String, Value> =
                keys.iter().map(|k| (format!("k{k}"), json!(k))).collect();
            let mut cursor = FieldCursor::new(&map);
            for k in lookups {
                let field = format!("k{k}");
                proptest::prop_assert_eq!(cursor.get(&field), map.get(&field));
            }
        }
    }

    #[test]
    fn a_cursor_over_an_empty_map_finds_nothing() {
        let map = Map::new();
        let mut cursor = FieldCursor::new(&map);
        assert_eq!(cursor.get("a"), None);
        assert_eq!(cursor.get(""), None);
    }
}
