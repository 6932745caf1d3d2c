//! The built-in strategies.

use serde_json::Map;
use syncd_model::ChangeOp;

use crate::lookup::FieldCursor;
use crate::{
    ConflictStrategy, Context, Resolution, ResultStatus, keep_server, take_client,
    take_client_over_server,
};

/// Keeps the server record; the client's change is dropped.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerWins;

impl ConflictStrategy for ServerWins {
    fn name(&self) -> &str {
        "server-wins"
    }

    fn resolve_conflict(&self, ctx: &Context<'_>) -> Resolution {
        keep_server(ctx)
    }
}

/// Takes the client's fields over the server's; a stale delete deletes and an update of a
/// tombstone revives it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientWins;

impl ConflictStrategy for ClientWins {
    fn name(&self) -> &str {
        "client-wins"
    }

    fn resolve_conflict(&self, ctx: &Context<'_>) -> Resolution {
        take_client_over_server(ctx)
    }
}

/// The later edit wins, by the clients' clocks (clamped); the server wins ties.
#[derive(Debug, Clone, Copy, Default)]
pub struct LastWriteWins;

impl ConflictStrategy for LastWriteWins {
    fn name(&self) -> &str {
        "last-write-wins"
    }

    fn resolve_conflict(&self, ctx: &Context<'_>) -> Resolution {
        match &ctx.server {
            Some(server) if ctx.client_time() > server.edited_at => take_client_over_server(ctx),
            _ => keep_server(ctx),
        }
    }
}

/// The seeds' shallow merge: server fields, then the client's on top. It never revives a
/// tombstone; a stale delete deletes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Merge;

impl ConflictStrategy for Merge {
    fn name(&self) -> &str {
        "merge"
    }

    fn resolve_conflict(&self, ctx: &Context<'_>) -> Resolution {
        match &ctx.server {
            Some(server) if server.deleted && ctx.incoming.op == ChangeOp::Upsert => {
                keep_server(ctx)
            }
            _ => take_client_over_server(ctx),
        }
    }
}

/// Three-way merge against the client's base version: a field only one side changed keeps
/// that side's value; a field both changed to different values goes to the later edit (the
/// server on ties) and is reported as conflicting.
///
/// A stale delete is decided by edit time for the whole record; an update of a tombstone the
/// client had not seen keeps the tombstone.
#[derive(Debug, Clone, Copy, Default)]
pub struct FieldMerge;

impl ConflictStrategy for FieldMerge {
    fn name(&self) -> &str {
        "field-merge"
    }

    fn resolve_conflict(&self, ctx: &Context<'_>) -> Resolution {
        let Some(server) = &ctx.server else {
            return take_client(ctx, ResultStatus::Created, Vec::new());
        };
        let client_time = ctx.client_time();
        if ctx.incoming.op == ChangeOp::Delete {
            return if client_time > server.edited_at {
                take_client(ctx, ResultStatus::ConflictResolved, Vec::new())
            } else {
                keep_server(ctx)
            };
        }
        if server.deleted {
            return keep_server(ctx);
        }
        let empty = Map::new();
        let base = ctx.base.unwrap_or(&empty);
        let client_later = client_time > server.edited_at;
        let mut patch = Map::new();
        let mut conflicting = Vec::new();
        let mut in_base = FieldCursor::new(base);
        let mut on_server = FieldCursor::new(server.data);
        for (field, client_value) in ctx.incoming.data {
            let base_value = in_base.get(field);
            if base_value == Some(client_value) {
                // The client did not change it.
                continue;
            }
            let server_value = on_server.get(field);
            if server_value == Some(client_value) {
                continue;
            }
            if server_value == base_value {
                // Only the client changed it.
                patch.insert(field.clone(), client_value.clone());
            } else {
                // Both changed it, to different values.
                conflicting.push(field.clone());
                if client_later {
                    patch.insert(field.clone(), client_value.clone());
                }
            }
        }
        if patch.is_empty() {
            return Resolution::Keep {
                status: if conflicting.is_empty() {
                    ResultStatus::Unchanged
                } else {
                    ResultStatus::ConflictResolved
                },
                conflicting_fields: conflicting,
            };
        }
        Resolution::Write {
            patch,
            deleted: false,
            edited_at: client_time.max(server.edited_at),
            status: ResultStatus::ConflictResolved,
            conflicting_fields: conflicting,
        }
    }
}

/// Keeps the server record and opens a conflict for a person to resolve.
#[derive(Debug, Clone, Copy, Default)]
pub struct Manual;

impl ConflictStrategy for Manual {
    fn name(&self) -> &str {
        "manual"
    }

    fn resolve_conflict(&self, ctx: &Context<'_>) -> Resolution {
        Resolution::Open {
            conflicting_fields: ctx.differing_fields(),
        }
    }
}
