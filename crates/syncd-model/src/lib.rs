//! The domain model of syncd: identifiers, cursors, entity types and their registry, record
//! validation, and the normalised changes that the three push body shapes parse into.
//!
//! Pure: no async, no IO, no HTTP, no ORM. Everything here is plain data and functions over it,
//! so it can be embedded and tested anywhere.

pub mod builtin;
pub mod change;
pub mod entities_file;
pub mod event;
pub mod ids;
pub mod listener;
mod managed;
mod prepare;
pub mod record;
pub mod registry;
pub mod schema;
mod status;
pub mod text;
pub mod timestamp;
pub mod validate;
pub mod visibility;

pub use change::{
    Change, ChangeError, ChangeErrorKind, ChangeOp, PushBody, PushBodyError, RawChange,
    parse_push_body, worst_kind,
};
pub use entities_file::{ConfigError, EntitiesFile};
pub use event::{ChangeEvent, NoopNotifier, Notifier, RecordAction, RecordChange, StatusUpdate};
pub use ids::{
    ClientId, Cursor, CursorError, EntityTypeName, Epoch, IdError, RecordId, Seq, SubjectId,
    TenantId, Version,
};
pub use listener::{Listener, RegisterError};
pub use prepare::Prepared;
pub use record::{Record, RecordView, SyncStatus, raw};
pub use registry::{Registry, RegistryBuilder, RegistryError};
pub use schema::{
    DeletionRule, EntityType, EntityTypeBuilder, FieldAlias, FieldSchema, FieldType,
    PendingCondition, StringFormat,
};
pub use timestamp::{Timestamp, TimestampError};
pub use validate::{FieldError, Limits};
pub use visibility::{Access, FieldIn, Visibility, VisibilityClaims, VisibilityRule};
