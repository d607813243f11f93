// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The guest side of the xenstore ring page (`struct xenstore_domain_interface`).
//!
//! It holds a 1024-byte request ring we produce into and a 1024-byte response ring we consume from, each with
//! free-running 32-bit indices masked on use.
//!
//! The page is shared with xenstored, which may be broken or hostile. It is only ever touched
//! through a [`SharedMem`] view (checked volatile accesses by offset, never references); every
//! index read from it is checked (`prod - cons` must not exceed the ring size) before it decides
//! anything, and byte positions are always masked into the ring, so no value the peer writes
//! can move an access outside the page or make a copy loop run longer than one ring.

use core::ptr::NonNull;
use core::sync::atomic::{Ordering, fence};

use shared_mem::SharedMem;

use super::error::StoreError;
use super::transport::{Transport, Wait};
use xen_headers::io::xs_wire::{XENSTORE_RING_SIZE, XenstoreDomainInterface, mask_xenstore_idx};

use core::mem::offset_of;

const REQ: usize = offset_of!(XenstoreDomainInterface, req);
const RSP: usize = offset_of!(XenstoreDomainInterface, rsp);
const REQ_CONS: usize = offset_of!(XenstoreDomainInterface, req_cons);
const REQ_PROD: usize = offset_of!(XenstoreDomainInterface, req_prod);
const RSP_CONS: usize = offset_of!(XenstoreDomainInterface, rsp_cons);
const RSP_PROD: usize = offset_of!(XenstoreDomainInterface, rsp_prod);
/// Bytes of the page the transport touches (`struct xenstore_domain_interface`).
pub const RING_PAGE_USED: usize = size_of::<XenstoreDomainInterface>();

/// The event channel to xenstored: how the ring says "look" and waits for an answer.
pub trait EventChannel {
    /// Sends an event to xenstored (`EvtchnSend`).
    fn notify(&mut self);
    /// Waits for an event from xenstored or the end of one wait slice (`EvtchnWait`).
    fn wait(&mut self) -> Wait;
}

/// The four indices of a ring page, read with volatile accesses (no lock needed: each is one
/// aligned word; a failed read, which cannot happen at these constant offsets, reads as 0).
#[must_use]
pub fn read_indices(page: &SharedMem) -> super::watchdog::RingIndices {
    let word = |offset| page.read::<u32>(offset).unwrap_or(0);
    super::watchdog::RingIndices {
        req_cons: word(REQ_CONS),
        req_prod: word(REQ_PROD),
        rsp_cons: word(RSP_CONS),
        rsp_prod: word(RSP_PROD),
    }
}

/// The store transport over a mapped xenstore ring page.
pub struct RingTransport<E> {
    page: SharedMem,
    evtchn: E,
}

impl<E: EventChannel> RingTransport<E> {
    /// Wraps a mapped ring page.
    ///
    /// # Safety
    /// `page` must point to at least [`RING_PAGE_USED`] bytes, 4-byte aligned, that stay mapped
    /// and writable for the life of the transport, and that nothing in this program accesses
    /// except through this transport (the peer on the other side may write anything at any
    /// time).
    #[must_use]
    pub const unsafe fn new(page: NonNull<u8>, evtchn: E) -> Self {
        Self {
            // SAFETY: the caller's contract is `SharedMem::new`'s.
            page: unsafe { SharedMem::new(page, RING_PAGE_USED) },
            evtchn,
        }
    }

    /// The event channel, e.g. to re-open it after a resume.
    pub const fn event_channel(&mut self) -> &mut E {
        &mut self.evtchn
    }

    /// The four ring indices `(req_cons, req_prod, rsp_cons, rsp_prod)`, for debug dumps and the
    /// watchdog.
    #[must_use]
    pub fn indices(&self) -> (u32, u32, u32, u32) {
        (
            self.load(REQ_CONS),
            self.load(REQ_PROD),
            self.load(RSP_CONS),
            self.load(RSP_PROD),
        )
    }

    /// An index word. The offsets are constants inside the page, so the access cannot fail;
    /// should it, 0 reads as an empty ring.
    fn load(&self, offset: usize) -> u32 {
        self.page.read::<u32>(offset).unwrap_or(0)
    }

    /// Writes an index word (we are the only writer on our side of each index).
    fn store(&self, offset: usize, value: u32) -> Result<(), StoreError> {
        self.page
            .write::<u32>(offset, value)
            .map_err(|_| StoreError::Protocol)
    }

    /// The offset of the byte `index` designates in the ring at `base`: masked, so whatever the
    /// peer wrote into an index stays inside its 1024-byte ring.
    fn byte_offset(base: usize, index: u32) -> usize {
        let pos = u16::try_from(mask_xenstore_idx(index)).map_or(0, usize::from);
        base.saturating_add(pos)
    }
}

impl<E: EventChannel> Transport for RingTransport<E> {
    fn send(&mut self, data: &[u8]) -> Result<usize, StoreError> {
        fence(Ordering::SeqCst);
        let cons = self.load(REQ_CONS);
        let prod = self.load(REQ_PROD);
        fence(Ordering::SeqCst);
        let used = usize::try_from(prod.wrapping_sub(cons)).map_err(|_| StoreError::Protocol)?;
        let space = XENSTORE_RING_SIZE
            .checked_sub(used)
            .ok_or(StoreError::Protocol)?;
        let mut index = prod;
        let mut count = 0u32;
        for &byte in data.iter().take(space) {
            self.page
                .write::<u8>(Self::byte_offset(REQ, index), byte)
                .map_err(|_| StoreError::Protocol)?;
            index = index.wrapping_add(1);
            count = count.wrapping_add(1);
        }
        if count == 0 {
            return Ok(0);
        }
        // The bytes must be visible before the index that publishes them.
        fence(Ordering::SeqCst);
        self.store(REQ_PROD, index)?;
        fence(Ordering::SeqCst);
        Ok(usize::try_from(count).unwrap_or(0))
    }

    fn recv(&mut self, buf: &mut [u8]) -> Result<usize, StoreError> {
        fence(Ordering::SeqCst);
        let cons = self.load(RSP_CONS);
        let prod = self.load(RSP_PROD);
        fence(Ordering::SeqCst);
        let available =
            usize::try_from(prod.wrapping_sub(cons)).map_err(|_| StoreError::Protocol)?;
        if available > XENSTORE_RING_SIZE {
            return Err(StoreError::Protocol);
        }
        let mut index = cons;
        let mut count = 0u32;
        for slot in buf.iter_mut().take(available) {
            *slot = self
                .page
                .read::<u8>(Self::byte_offset(RSP, index))
                .map_err(|_| StoreError::Protocol)?;
            index = index.wrapping_add(1);
            count = count.wrapping_add(1);
        }
        if count == 0 {
            return Ok(0);
        }
        // Finish reading the bytes before handing their space back.
        fence(Ordering::SeqCst);
        self.store(RSP_CONS, index)?;
        fence(Ordering::SeqCst);
        Ok(usize::try_from(count).unwrap_or(0))
    }

    fn notify(&mut self) {
        self.evtchn.notify();
    }

    fn wait(&mut self) -> Wait {
        self.evtchn.wait()
    }

    fn shared_ring(&self) -> Option<SharedMem> {
        Some(self.page)
    }
}
