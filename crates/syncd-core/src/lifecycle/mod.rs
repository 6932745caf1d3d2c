//! The data lifecycle of SPEC §10 in the engine: sync epochs and the cursor check (here), the
//! integrity check (`verify`).

mod erase;
mod maintenance;
mod verify;

pub(crate) use erase::erased_answer;
pub use erase::{ERASED, Erased, thin_data};
pub use maintenance::MaintenanceReport;
pub use verify::{VerifyResponse, record_hash};

use syncd_model::Cursor;
use syncd_store::{LifecycleStore, ResetScope, Store, SyncState};

use crate::engine::SyncEngine;
use crate::error::{Result, SyncError};
use crate::principal::Principal;

/// Why a cursor cannot be continued, if it cannot.
pub(crate) fn cursor_problem(state: &SyncState, cursor: Cursor) -> Option<&'static str> {
    if cursor.epoch() != state.epoch {
        Some(
            "the cursor is of another sync epoch (the server's data was reset): pull from the start",
        )
    } else if cursor.seq() > state.head {
        Some(
            "the cursor is ahead of the server's data (it was restored from a backup): pull from the start",
        )
    } else if cursor.seq() < state.horizon {
        Some("the cursor is older than the deletes the server still keeps: pull from the start")
    } else {
        None
    }
}

impl<S: Store> SyncEngine<S> {
    /// The caller's tenant's head, epoch and horizon.
    pub(crate) async fn sync_state(&self, p: &Principal) -> Result<SyncState> {
        Ok(self.store.sync_state(&p.tenant).await?)
    }

    /// Checks that a client may go on from `cursor`: same epoch, not ahead of the head, not
    /// behind the horizon. Otherwise `resync_required`: the client drops its local copy of the
    /// records (never its unsent changes) and pulls from the start.
    pub async fn check_cursor(&self, p: &Principal, cursor: Cursor) -> Result<SyncState> {
        // Visibility inputs first: that check needs no database (SPEC §11).
        self.check_fingerprint(p, cursor)?;
        let state = self.sync_state(p).await?;
        match cursor_problem(&state, cursor) {
            Some(problem) => {
                metrics::counter!("syncd_resync_required_total").increment(1);
                Err(SyncError::ResyncRequired(problem.to_owned()))
            }
            None => Ok(state),
        }
    }
}

impl<S: LifecycleStore> SyncEngine<S> {
    /// Starts a new sync epoch for one tenant or every tenant (`syncd reset-sync`): every cursor
    /// handed out before is refused with `resync_required`.
    pub async fn reset_sync(
        &self,
        scope: &ResetScope,
    ) -> Result<Vec<(syncd_model::TenantId, syncd_model::Epoch)>> {
        Ok(self
            .store
            .reset_sync(scope, syncd_model::Timestamp::now())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use syncd_model::{Epoch, Seq};

    use super::*;

    #[test]
    fn a_cursor_of_another_epoch_ahead_of_the_head_or_behind_the_horizon_is_refused() {
        let state = SyncState {
            head: Seq(10),
            epoch: Epoch(3),
            horizon: Seq(4),
        };
        let at = |seq, epoch| cursor_problem(&state, Cursor::at(Seq(seq), Epoch(epoch), 0));
        assert_eq!(at(7, 3), None);
        assert_eq!(at(10, 3), None);
        assert_eq!(at(4, 3), None);
        assert!(at(7, 2).is_some());
        assert!(at(11, 3).is_some());
        assert!(at(3, 3).is_some());
        let fresh = SyncState::default();
        assert_eq!(cursor_problem(&fresh, Cursor::new(Seq(0))), None);
        assert!(cursor_problem(&fresh, Cursor::new(Seq(1))).is_some());
    }
}
