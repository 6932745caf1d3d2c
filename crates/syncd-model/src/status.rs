//! The sync status the seeds keep on every record.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The seeds' sync status of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncStatus {
    /// Written on the server side (REST CRUD); apps have not taken it in yet.
    Pending,
    /// Written by a push.
    Synced,
    /// A manual conflict is open for it.
    Conflict,
    Failed,
}

impl SyncStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Pending => "pending",
            SyncStatus::Synced => "synced",
            SyncStatus::Conflict => "conflict",
            SyncStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for SyncStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SyncStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(SyncStatus::Pending),
            "synced" => Ok(SyncStatus::Synced),
            "conflict" => Ok(SyncStatus::Conflict),
            "failed" => Ok(SyncStatus::Failed),
            other => Err(format!("unknown sync status `{other}`")),
        }
    }
}
