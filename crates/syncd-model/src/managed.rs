//! The fields the server manages, whatever the entity type.

/// Fields the server manages. Clients cannot set them: values sent are dropped, never stored.
/// Both spellings the seeds use are listed.
const SERVER_MANAGED: &[&str] = &[
    "id",
    "version",
    "createdAt",
    "created_at",
    "updatedAt",
    "updated_at",
    "deleted",
    "isDeleted",
    "sync_status",
    "syncStatus",
    "server_synced",
    "serverSynced",
    "last_updated",
    "lastUpdated",
    "tenant_id",
    "tenantId",
    "tid",
];

pub fn is_server_managed(field: &str) -> bool {
    SERVER_MANAGED.contains(&field)
}
