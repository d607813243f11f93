// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Port → channel lookup for the delivery path (upstream's `HASH_TABLE`).
//!
//! Upstream hashes ports into 256 buckets with per-bucket reader/writer locks at `HIGH_LEVEL`
//! and frees removed nodes from a DPC so an ISR holding a stale pointer stays safe. Ports are
//! small dense integers (below 4096 with the 2-level ABI, below 2^17 with FIFO), so here the
//! table is a vector indexed by port under one `HIGH_LEVEL` lock: a lookup is one bounds check
//! and one reference-count increment (the returned `Arc` keeps the channel alive however long
//! the caller holds it, which replaces the deferred free). The vector grows by doubling; the
//! new storage is allocated before the lock is taken (never at `HIGH_LEVEL`) and the old one is
//! freed after it is released. Inserting a port that is already present is refused (upstream
//! adds a duplicate node).

use alloc::sync::Arc;
use alloc::vec::Vec;

use platform_port::{Irql, IrqlLock};

use super::EvtchnError;
use super::channel::Channel;

/// The smallest table allocated.
const MIN_SLOTS: usize = 64;

pub(super) struct PortTable<P: Irql> {
    slots: IrqlLock<P, Vec<Option<Arc<Channel>>>>,
}

impl<P: Irql> PortTable<P> {
    pub(super) const fn new(platform: P) -> Self {
        Self {
            slots: IrqlLock::high(platform, Vec::new()),
        }
    }

    /// The channel bound to `port`, if any.
    pub(super) fn lookup(&self, port: u32) -> Option<Arc<Channel>> {
        let index = usize::try_from(port).ok()?;
        self.slots.lock().get(index)?.clone()
    }

    /// Adds `channel` under `port`.
    pub(super) fn insert(&self, port: u32, channel: &Arc<Channel>) -> Result<(), EvtchnError> {
        let index = usize::try_from(port).map_err(|_| EvtchnError::InvalidParameter)?;
        loop {
            let len = self.slots.lock().len();
            if index < len {
                let mut slots = self.slots.lock();
                if let Some(slot) = slots.get_mut(index) {
                    if slot.is_some() {
                        return Err(EvtchnError::InvalidParameter);
                    }
                    *slot = Some(Arc::clone(channel));
                    return Ok(());
                }
                continue;
            }
            // Grow outside the lock, then move the entries over (no allocation under it).
            let wanted = index
                .checked_add(1)
                .and_then(usize::checked_next_power_of_two)
                .ok_or(EvtchnError::NoMemory)?
                .max(MIN_SLOTS);
            let mut fresh: Vec<Option<Arc<Channel>>> = Vec::new();
            fresh
                .try_reserve_exact(wanted)
                .map_err(|_| EvtchnError::NoMemory)?;
            let old = {
                let mut slots = self.slots.lock();
                if slots.len() >= wanted {
                    None
                } else {
                    fresh.extend(slots.drain(..));
                    fresh.resize(wanted, None);
                    Some(core::mem::replace(&mut *slots, fresh))
                }
            };
            drop(old);
        }
    }

    /// Removes `port` if it is bound to `channel`; returns the table's reference so the caller
    /// drops it outside the lock.
    pub(super) fn remove(&self, port: u32, channel: &Arc<Channel>) -> Option<Arc<Channel>> {
        let index = usize::try_from(port).ok()?;
        let mut slots = self.slots.lock();
        let slot = slots.get_mut(index)?;
        if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, channel)) {
            slot.take()
        } else {
            None
        }
    }

    /// Takes every channel for which `invalidate` returns true out of the table, under the
    /// table's `HIGH_LEVEL` lock only (SUSPEND EARLY). The table's references are dropped under
    /// the lock: never the last ones (the channel list, or the opener, holds another), so
    /// nothing is freed at `HIGH_LEVEL`.
    pub(super) fn invalidate_all(&self, mut invalidate: impl FnMut(&Arc<Channel>) -> bool) {
        let mut slots = self.slots.lock();
        for slot in slots.iter_mut() {
            if slot.as_ref().is_some_and(&mut invalidate) {
                drop(slot.take());
            }
        }
    }

    /// How many ports are in the table.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.slots.lock().iter().filter(|s| s.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evtchn::channel::ChannelKind;
    use platform_port::std_impl::StdPlatform;

    fn channel(port: u32) -> Arc<Channel> {
        Arc::new(Channel::new(
            ChannelKind::Fixed,
            false,
            port,
            0,
            Arc::new(|| false),
            0,
        ))
    }

    #[test]
    fn insert_grows_and_lookup_finds_only_inserted_ports() {
        let table = PortTable::new(StdPlatform::new(1));
        let a = channel(3);
        let b = channel(131_071);
        table.insert(3, &a).unwrap();
        table.insert(131_071, &b).unwrap();
        assert!(Arc::ptr_eq(&table.lookup(3).unwrap(), &a));
        assert!(Arc::ptr_eq(&table.lookup(131_071).unwrap(), &b));
        assert!(table.lookup(4).is_none());
        assert!(table.lookup(u32::MAX).is_none());
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn duplicate_insert_is_refused_and_remove_checks_the_channel() {
        let table = PortTable::new(StdPlatform::new(1));
        let a = channel(7);
        let other = channel(7);
        table.insert(7, &a).unwrap();
        assert_eq!(table.insert(7, &other), Err(EvtchnError::InvalidParameter));
        assert!(table.remove(7, &other).is_none());
        assert!(table.lookup(7).is_some());
        assert!(table.remove(7, &a).is_some());
        assert!(table.lookup(7).is_none());
        assert!(table.remove(7, &a).is_none());
        // The table's reference went back to the caller and was dropped.
        assert_eq!(Arc::strong_count(&a), 1);
    }
}
