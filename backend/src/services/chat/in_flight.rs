//! The in-flight registry: the turns running on this instance, by answer message id, so their
//! owner can cancel one and shutdown can cancel them all.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio_util::sync::CancellationToken;

use aerie_contract::ids::{MessageId, OrgId, UserId};

/// Turns in flight on this instance, by answer message id.
#[derive(Default)]
pub struct InFlight {
    turns: Mutex<HashMap<MessageId, (OrgId, UserId, CancellationToken)>>,
}

impl InFlight {
    pub(crate) fn add(&self, id: MessageId, org: OrgId, user: UserId, token: CancellationToken) {
        if let Ok(mut m) = self.turns.lock() {
            m.insert(id, (org, user, token));
        }
    }

    pub(crate) fn remove(&self, id: MessageId) {
        if let Ok(mut m) = self.turns.lock() {
            m.remove(&id);
        }
    }

    /// Cancels the turn answering `id` if `user` of `org` started it; says whether it did.
    pub(super) fn cancel(&self, id: MessageId, org: OrgId, user: UserId) -> bool {
        let Ok(m) = self.turns.lock() else {
            return false;
        };
        match m.get(&id) {
            Some((o, u, token)) if *o == org && *u == user => {
                token.cancel();
                true
            }
            _ => false,
        }
    }

    /// Cancels every turn of `org` (its suspension): each stores what it has and ends its
    /// stream. Answers how many.
    pub fn cancel_org(&self, org: OrgId) -> usize {
        let Ok(m) = self.turns.lock() else {
            return 0;
        };
        let mut n = 0;
        for (o, _, token) in m.values() {
            if *o == org {
                token.cancel();
                n += 1;
            }
        }
        n
    }

    /// Cancels every turn (shutdown): each stores what it has and ends its stream.
    pub fn cancel_all(&self) {
        if let Ok(m) = self.turns.lock() {
            for (_, _, token) in m.values() {
                token.cancel();
            }
        }
    }
}
