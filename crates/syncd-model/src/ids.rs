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

/// The opaque position a pull hands out. Internally a seq; clients store the string and send it
/// back without parsing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Cursor(Seq);

const CURSOR_PREFIX: &str = "c1";
// Mixed into the encoding so that cursors do not read as plain counters.
const CURSOR_MASK: u64 = 0x5bd1_e995_9e37_79b9;

impl Cursor {
    pub fn new(seq: Seq) -> Self {
        Self(seq)
    }

    pub fn seq(self) -> Seq {
        self.0
    }

    /// `c1` + 16 hex digits + 2 hex digits of check sum.
    pub fn encode(self) -> String {
        let masked = (self.0.0 as u64) ^ CURSOR_MASK;
        format!("{CURSOR_PREFIX}{masked:016x}{:02x}", checksum(masked))
    }

    pub fn decode(value: &str) -> Result<Self, CursorError> {
        let body = value.strip_prefix(CURSOR_PREFIX).ok_or(CursorError)?;
        if body.len() != 18 || !body.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CursorError);
        }
        let (digits, check) = body.split_at(16);
        let masked = u64::from_str_radix(digits, 16).map_err(|_| CursorError)?;
        let check = u8::from_str_radix(check, 16).map_err(|_| CursorError)?;
        if check != checksum(masked) {
            return Err(CursorError);
        }
        let seq = i64::try_from(masked ^ CURSOR_MASK).map_err(|_| CursorError)?;
        Ok(Self(Seq(seq)))
    }
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
