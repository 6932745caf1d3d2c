//! Parsed identifiers and counters. Each constructor validates, so a value of these types is
//! always well formed.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why a string could not become an identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("{0} must not be blank (only whitespace or control characters)")]
    Blank(&'static str),
    #[error("{what} is longer than {max} bytes")]
    TooLong { what: &'static str, max: usize },
    #[error("{0} must not contain control characters")]
    ControlCharacter(&'static str),
    #[error(
        "entity type name `{0}` must start with a lowercase letter and contain only a-z, 0-9 and _ (at most 63)"
    )]
    BadEntityTypeName(String),
    #[error("`{0}` is not a UUID")]
    NotUuid(String),
}

const MAX_ID_BYTES: usize = 256;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Accepts a string of at most 256 bytes without control characters that is not
            /// blank (made of whitespace only).
            pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                if value.is_empty() {
                    return Err(IdError::Empty($what));
                }
                if crate::text::is_blank(&value) {
                    return Err(IdError::Blank($what));
                }
                if value.len() > MAX_ID_BYTES {
                    return Err(IdError::TooLong { what: $what, max: MAX_ID_BYTES });
                }
                if value.chars().any(char::is_control) {
                    return Err(IdError::ControlCharacter($what));
                }
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_id!(
    /// An isolated customer. Comes from the token only, never from a request body.
    TenantId,
    "tenant id"
);
string_id!(
    /// One app installation, device or browser tab.
    ClientId,
    "client id"
);
string_id!(
    /// The authenticated subject (`sub` claim) that made a change.
    SubjectId,
    "subject"
);

/// The name of a registered entity type, e.g. `end_user`. It doubles as a route segment and a
/// JSON path component, so it is restricted to `[a-z][a-z0-9_]{0,62}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct EntityTypeName(String);

impl EntityTypeName {
    pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
        let value = value.into();
        if is_identifier(&value) {
            Ok(Self(value))
        } else {
            Err(IdError::BadEntityTypeName(value))
        }
    }

    /// For names written in the source (the built-in types); checked in debug builds and by the
    /// tests of the built-in registry.
    pub(crate) fn from_static(value: &'static str) -> Self {
        debug_assert!(is_identifier(value));
        Self(value.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `[a-z][a-z0-9_]{0,62}`: the shape of entity type names and declared field names.
pub fn is_identifier(value: &str) -> bool {
    let mut chars = value.chars();
    matches!(chars.next(), Some('a'..='z'))
        && value.len() <= 63
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

impl fmt::Display for EntityTypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for EntityTypeName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for EntityTypeName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for EntityTypeName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(s).map_err(serde::de::Error::custom)
    }
}

/// A record id: a UUID. The server generates v7 ids (time ordered) when the client
/// proposes none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordId(Uuid);

impl RecordId {
    pub fn parse(value: &str) -> Result<Self, IdError> {
        Uuid::try_parse(value)
            .map(Self)
            .map_err(|_| IdError::NotUuid(value.chars().take(64).collect()))
    }

    /// A fresh time-ordered id.
    pub fn new_v7() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

/// A record's version: 1 on create, +1 on every server-side write.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Version(pub i64);

impl Version {
    pub const INITIAL: Version = Version(1);

    pub fn next(self) -> Version {
        Version(self.0.saturating_add(1))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A tenant's change sequence number. Assigned under the tenant's write lock, so commit order
/// equals seq order within a tenant.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Seq(pub i64);

impl Seq {
    pub const ZERO: Seq = Seq(0);

    pub fn next(self) -> Seq {
        Seq(self.0.saturating_add(1))
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why a cursor string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is not one this server handed out")]
pub struct CursorError;

/// A tenant's sync epoch. `syncd reset-sync` (after a database restore) starts a new one, and
/// a cursor of another epoch is refused with `resync_required`. Every tenant starts at 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Epoch(pub u32);

/// The opaque position a pull hands out: a seq, the tenant's epoch when it was handed out, and
/// a fingerprint of the token's visibility inputs (0 when no entity type has visibility rules).
/// Clients store the string and send it back without parsing it.
///
/// Cursors of epoch 0 with fingerprint 0 keep the first encoding (`c1…`), so every cursor
/// handed out before epochs and fingerprints existed still decodes, and means the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Cursor {
    seq: Seq,
    epoch: Epoch,
    fingerprint: u32,
}

const CURSOR_PREFIX: &str = "c1";
const CURSOR2_PREFIX: &str = "c2";
// Mixed into the encoding so that cursors do not read as plain counters.
const CURSOR_MASK: u64 = 0x5bd1_e995_9e37_79b9;
const CURSOR2_MASK: u64 = 0x2545_f491_4f6c_dd1d;

impl Cursor {
    /// A position of epoch 0 without a fingerprint.
    pub fn new(seq: Seq) -> Self {
        Self::at(seq, Epoch::default(), 0)
    }

    pub fn at(seq: Seq, epoch: Epoch, fingerprint: u32) -> Self {
        Self {
            seq,
            epoch,
            fingerprint,
        }
    }

    pub fn seq(self) -> Seq {
        self.seq
    }

    pub fn epoch(self) -> Epoch {
        self.epoch
    }

    pub fn fingerprint(self) -> u32 {
        self.fingerprint
    }

    /// `c1` + 16 hex digits + 2 hex digits of check sum; with an epoch or a fingerprint, `c2`
    /// + 16 + 16 hex digits + 2 of check sum.
    pub fn encode(self) -> String {
        let masked = (self.seq.0 as u64) ^ CURSOR_MASK;
        if self.epoch.0 == 0 && self.fingerprint == 0 {
            return format!("{CURSOR_PREFIX}{masked:016x}{:02x}", checksum(masked));
        }
        let extra = ((u64::from(self.epoch.0) << 32) | u64::from(self.fingerprint)) ^ CURSOR2_MASK;
        let check = checksum(masked) ^ checksum(extra).rotate_left(4);
        format!("{CURSOR2_PREFIX}{masked:016x}{extra:016x}{check:02x}")
    }

    pub fn decode(value: &str) -> Result<Self, CursorError> {
        if let Some(body) = value.strip_prefix(CURSOR_PREFIX) {
            let [masked] = hex_words::<1>(body)?;
            return Ok(Self::new(unmask(masked)?));
        }
        let body = value.strip_prefix(CURSOR2_PREFIX).ok_or(CursorError)?;
        let [masked, extra] = hex_words::<2>(body)?;
        let seq = unmask(masked)?;
        let extra = extra ^ CURSOR2_MASK;
        let epoch = Epoch((extra >> 32) as u32);
        let fingerprint = (extra & 0xffff_ffff) as u32;
        Ok(Self::at(seq, epoch, fingerprint))
    }
}

/// `N` 16-digit hex words followed by their 2-digit check sum.
fn hex_words<const N: usize>(body: &str) -> Result<[u64; N], CursorError> {
    if body.len() != 16 * N + 2 || !body.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CursorError);
    }
    let mut words = [0u64; N];
    for (i, word) in words.iter_mut().enumerate() {
        *word = u64::from_str_radix(&body[16 * i..16 * (i + 1)], 16).map_err(|_| CursorError)?;
    }
    let check = u8::from_str_radix(&body[16 * N..], 16).map_err(|_| CursorError)?;
    let expected = match words.as_slice() {
        [one] => checksum(*one),
        [first, second] => checksum(*first) ^ checksum(*second).rotate_left(4),
        _ => return Err(CursorError),
    };
    if check != expected {
        return Err(CursorError);
    }
    Ok(words)
}

fn unmask(masked: u64) -> Result<Seq, CursorError> {
    i64::try_from(masked ^ CURSOR_MASK)
        .map(Seq)
        .map_err(|_| CursorError)
}

fn checksum(value: u64) -> u8 {
    value
        .to_le_bytes()
        .iter()
        .fold(0x2du8, |acc, b| acc.rotate_left(3) ^ b)
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

impl Serialize for Cursor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_through_its_encoding() {
        for seq in [0, 1, 7, 1_000_000, i64::MAX] {
            let cursor = Cursor::new(Seq(seq));
            assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
        }
    }

    #[test]
    fn a_cursor_with_an_epoch_or_a_fingerprint_round_trips_and_old_ones_stay_the_same() {
        for (seq, epoch, fingerprint) in [
            (0, 1, 0),
            (5, 0, 7),
            (1_000_000, 3, u32::MAX),
            (i64::MAX, u32::MAX, 1),
        ] {
            let cursor = Cursor::at(Seq(seq), Epoch(epoch), fingerprint);
            let text = cursor.encode();
            assert!(text.starts_with("c2"), "{text}");
            assert_eq!(Cursor::decode(&text), Ok(cursor));
        }
        let old = Cursor::new(Seq(42)).encode();
        assert!(old.starts_with("c1"));
        assert_eq!(Cursor::at(Seq(42), Epoch(0), 0).encode(), old);
        let decoded = Cursor::decode(&old).unwrap_or_default();
        assert_eq!((decoded.epoch(), decoded.fingerprint()), (Epoch(0), 0));
        let mut tampered = Cursor::at(Seq(42), Epoch(2), 9).encode();
        tampered.replace_range(20..21, if &tampered[20..21] == "0" { "1" } else { "0" });
        assert_eq!(Cursor::decode(&tampered), Err(CursorError));
    }

    #[test]
    fn garbage_cursors_are_refused_without_panicking() {
        for bad in [
            "",
            "c1",
            "hello",
            "c1zzzzzzzzzzzzzzzzzz",
            "c1000000000000000000",
            "c2000000000000000000",
            "c1ééééééééé",
        ] {
            assert_eq!(Cursor::decode(bad), Err(CursorError), "{bad}");
        }
        let mut tampered = Cursor::new(Seq(42)).encode();
        tampered.replace_range(5..6, if &tampered[5..6] == "0" { "1" } else { "0" });
        assert_eq!(Cursor::decode(&tampered), Err(CursorError));
    }

    #[test]
    fn entity_type_names_are_lowercase_identifiers() {
        assert!(EntityTypeName::parse("end_user").is_ok());
        assert!(EntityTypeName::parse("a1").is_ok());
        for bad in [
            "",
            "End_user",
            "1abc",
            "a-b",
            "a b",
            "a;drop",
            &"a".repeat(64),
        ] {
            assert!(EntityTypeName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tenant_ids_refuse_empty_long_and_control_characters() {
        assert!(TenantId::parse("acme").is_ok());
        assert_eq!(TenantId::parse(""), Err(IdError::Empty("tenant id")));
        assert!(TenantId::parse("a".repeat(257)).is_err());
        assert!(TenantId::parse("a\nb").is_err());
        assert!(TenantId::parse("a\u{0}b").is_err());
    }

    #[test]
    fn blank_tenants_subjects_and_clients_are_refused() {
        for blank in [" ", "   ", "\t", "\u{a0}", "\u{2003}"] {
            assert_eq!(
                TenantId::parse(blank),
                Err(IdError::Blank("tenant id")),
                "{blank:?}"
            );
            assert!(SubjectId::parse(blank).is_err(), "{blank:?}");
            assert!(ClientId::parse(blank).is_err(), "{blank:?}");
        }
        assert!(TenantId::parse("acme corp").is_ok());
    }

    #[test]
    fn record_ids_are_uuids_and_generated_ones_are_v7() {
        assert!(RecordId::parse("not-a-uuid").is_err());
        let id = RecordId::new_v7();
        assert_eq!(id.as_uuid().get_version_num(), 7);
        assert_eq!(RecordId::parse(&id.to_string()), Ok(id));
    }
}
