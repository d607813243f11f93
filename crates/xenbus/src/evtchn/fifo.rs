// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The FIFO event-channel ABI (upstream's `evtchn_fifo.c`).
//!
//! Memory shared with Xen: one control block page per vCPU (`ready` bits and the 16 queue
//! heads, registered with `EVTCHNOP_init_control`) and the event array, pages of 1024 32-bit
//! event words registered one by one with `EVTCHNOP_expand_array` as ports need them. Xen
//! writes all of it at any time, so each page is reached only through a [`SharedMem`] view and
//! every word is accessed atomically by a checked offset (a port or queue is validated once and
//! its word taken as a [`SharedWord`]); nothing is ever turned into a reference to the page
//! contents.
//!
//! Xen owns the queue structure (the `LINKED` bit and the 17-bit link of each word, the heads
//! and the `ready` bits); the guest consumes from the head. Every value Xen controls is checked
//! before use: `ready` is cut to the 16 queues, a head or link is used only if it names a word
//! of the registered array (0 ends a queue; a link to the word itself is taken as the end), and
//! one poll takes at most as many steps as there are event words plus queues, handing any
//! `ready` bits still set back to the control block so nothing is lost.
//!
//! # Upstream behaviour, decided
//! * **Queue order.** Upstream scans `ready` with `BitScanReverse`, serving queue 15 (Xen's
//!   lowest priority) first. Here the lowest-numbered ready queue is served first, as Xen
//!   defines priorities (0 highest) and as Linux does. Xenbus never sets priorities (every
//!   port is at the default 7), so the order is observable only if someone else does.
//! * **Unlink** clears `LINKED` and the link with one atomic AND (upstream: a CAS loop computing
//!   the same value).
//! * **Unmask** clears `MASKED` with a CAS that requires `BUSY` clear, as upstream; if Xen keeps
//!   the word busy for [`UNMASK_SPINS`] attempts, the port is unmasked by `EVTCHNOP_unmask`
//!   instead (Xen re-raises it if pending) and "not pending" is reported.
//! * **Growth.** Upstream frees every page of a failed multi-page expansion, including pages
//!   Xen already accepted. Here each page is kept as soon as `EVTCHNOP_expand_array` accepted
//!   it, so Xen never references a freed page; ports beyond `EVTCHN_FIFO_NR_CHANNELS` are
//!   refused.
//! * **Per-CPU state** is indexed by processor index (upstream: by vCPU id in a 128-entry array,
//!   unchecked). The cached queue heads start at 0 on every acquire (upstream keeps stale heads
//!   across a release/acquire).
//! * **Pages** are freed only after `EvtchnReset` (which makes Xen forget them), in release and
//!   when acquire fails.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::mem::offset_of;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering, fence};

use ntstatus::STATUS_NOT_SUPPORTED;
use platform_port::{IrqlLock, PAGE_SIZE, Pages, Platform, plog};
use shared_mem::{SharedMem, SharedWord};
use xen_headers::event_channel::{
    EVTCHN_FIFO_BUSY, EVTCHN_FIFO_LINK_MASK, EVTCHN_FIFO_LINKED, EVTCHN_FIFO_MASKED,
    EVTCHN_FIFO_MAX_QUEUES, EVTCHN_FIFO_NR_CHANNELS, EVTCHN_FIFO_PENDING, EvtchnFifoControlBlock,
};
use xen_services::XenServices;

use super::EvtchnError;
use super::reset::reset;

/// Event words per page (4-byte words in a 4096-byte page).
pub const WORDS_PER_PAGE: u32 = 1024;
/// The most event-array pages the 17-bit link can address.
pub const MAX_PAGES: usize = (EVTCHN_FIFO_NR_CHANNELS / WORDS_PER_PAGE) as usize;
/// Attempts to clear `MASKED` while Xen holds `BUSY` before falling back to the hypercall.
pub const UNMASK_SPINS: u32 = 1 << 16;
const QUEUES: usize = EVTCHN_FIFO_MAX_QUEUES;
const READY_MASK: u32 = (1 << QUEUES) - 1;

const PENDING: u32 = 1 << EVTCHN_FIFO_PENDING;
const MASKED: u32 = 1 << EVTCHN_FIFO_MASKED;
const LINKED: u32 = 1 << EVTCHN_FIFO_LINKED;
const BUSY: u32 = 1 << EVTCHN_FIFO_BUSY;

const CONTROL_SIZE: usize = size_of::<EvtchnFifoControlBlock>();
const READY_OFFSET: usize = offset_of!(EvtchnFifoControlBlock, ready);
const HEAD_OFFSET: usize = offset_of!(EvtchnFifoControlBlock, head);
/// Bytes of one event word.
const WORD_SIZE: usize = size_of::<u32>();

const _: () = assert!(WORDS_PER_PAGE as usize * WORD_SIZE == PAGE_SIZE);
const _: () = assert!(CONTROL_SIZE <= PAGE_SIZE);
const _: () = assert!(READY_OFFSET.is_multiple_of(4) && HEAD_OFFSET.is_multiple_of(4));
const _: () = assert!(HEAD_OFFSET + QUEUES * 4 <= CONTROL_SIZE);
const _: () = assert!(QUEUES <= 32);

/// A vCPU's control block page and the guest's cached queue heads.
struct ControlBlock {
    page: Pages,
    /// Xen's `ready` word, taken (checked) from the block's view when it was set up.
    ready: SharedWord<u32>,
    /// Xen's `head[q]` words, likewise.
    head_words: [SharedWord<u32>; QUEUES],
    /// The guest's cached queue heads.
    heads: [AtomicU32; QUEUES],
}

impl ControlBlock {
    /// The block of a freshly allocated page; the page back if its words cannot be taken (a
    /// page that is not 4-aligned: never, pages are page-aligned).
    ///
    /// # Safety
    /// `page` is allocated for this FIFO and stays so while the block exists, and nothing in
    /// this program touches it except through the block (Xen may write it at any time).
    unsafe fn new(page: Pages) -> Result<Self, Pages> {
        // SAFETY: the caller's contract, for the control block at the start of the page.
        let view = unsafe { SharedMem::new(page.address, CONTROL_SIZE) };
        let Some((ready, head_words)) = Self::words(&view) else {
            return Err(page);
        };
        Ok(Self {
            page,
            ready,
            head_words,
            heads: Default::default(),
        })
    }

    /// `ready` and `head[]` of a control block view.
    fn words(view: &SharedMem) -> Option<(SharedWord<u32>, [SharedWord<u32>; QUEUES])> {
        let ready = view.word(READY_OFFSET).ok()?;
        let mut head = [ready; QUEUES];
        for (queue, slot) in head.iter_mut().enumerate() {
            let offset = queue
                .checked_mul(WORD_SIZE)
                .and_then(|offset| offset.checked_add(HEAD_OFFSET))?;
            *slot = view.word(offset).ok()?;
        }
        Some((ready, head))
    }

    /// `head[queue]` (`queue < QUEUES`, else `None`).
    fn head(&self, queue: usize) -> Option<SharedWord<u32>> {
        self.head_words.get(queue).copied()
    }
}

/// The FIFO ABI state.
pub(super) struct Fifo<P: Platform, S: XenServices> {
    platform: P,
    services: Arc<S>,
    /// Per processor index: the control block, `None` for CPUs without a vCPU.
    control: Vec<Option<ControlBlock>>,
    /// Page `i` of the event array (published before `array_len` counts it).
    array: Vec<spin::Once<SharedMem>>,
    array_len: AtomicUsize,
    /// The event-array pages, in order; its lock serializes growth.
    pages: IrqlLock<P, Vec<Pages>>,
}

impl<P: Platform, S: XenServices> Fifo<P, S> {
    /// Registers a control block for every CPU with a vCPU. Any failure resets the ABI
    /// (`EvtchnReset`), frees the pages and fails.
    pub(super) fn acquire(platform: &P, services: &Arc<S>) -> Result<Self, EvtchnError> {
        let count = platform.processor_count();
        let capacity = usize::try_from(count).map_err(|_| EvtchnError::NoMemory)?;
        let mut control = Vec::new();
        let mut array = Vec::new();
        let mut pages = Vec::new();
        control
            .try_reserve_exact(capacity)
            .map_err(|_| EvtchnError::NoMemory)?;
        array
            .try_reserve_exact(MAX_PAGES)
            .map_err(|_| EvtchnError::NoMemory)?;
        pages
            .try_reserve_exact(MAX_PAGES)
            .map_err(|_| EvtchnError::NoMemory)?;
        array.resize_with(MAX_PAGES, spin::Once::new);

        for cpu in 0..count {
            match Self::init_control(platform, services.as_ref(), cpu) {
                Ok(block) => control.push(block),
                Err(error) => {
                    plog!(*platform, Error, "EVTCHN_FIFO: CPU {cpu}: {error}");
                    reset(platform, services.as_ref());
                    for block in control.into_iter().flatten() {
                        // SAFETY: allocated by `init_control` from this platform; the reset
                        // above made Xen forget every control block.
                        unsafe { platform.free_pages(block.page) };
                    }
                    return Err(error);
                }
            }
        }
        if control.iter().all(Option::is_none) {
            // No processor has a vCPU id (xen.sys cannot tell them): Xen has no control block,
            // so every FIFO operation would fail. Refused, so the 2-level ABI is used instead.
            plog!(
                *platform,
                Warning,
                "EVTCHN_FIFO: no processor has a vCPU id: no control block registered"
            );
            return Err(EvtchnError::Unsuccessful);
        }
        Ok(Self {
            platform: platform.clone(),
            services: Arc::clone(services),
            control,
            array,
            array_len: AtomicUsize::new(0),
            pages: IrqlLock::dispatch(platform.clone(), pages),
        })
    }

    fn init_control(
        platform: &P,
        services: &S,
        cpu: u32,
    ) -> Result<Option<ControlBlock>, EvtchnError> {
        let vcpu = match services.processor_vcpu_id(cpu) {
            Ok(vcpu) => vcpu,
            Err(STATUS_NOT_SUPPORTED) => return Ok(None),
            Err(status) => return Err(EvtchnError::Xen(status)),
        };
        let page = platform.alloc_pages(1).map_err(|_| EvtchnError::NoMemory)?;
        let pfn = page.pfn;
        // SAFETY: the page was just allocated for this FIFO; the block owns it until it is
        // freed (after an `EvtchnReset`, or just below), and it is only touched through the
        // block's checked atomic accesses.
        let block = match unsafe { ControlBlock::new(page) } {
            Ok(block) => block,
            Err(page) => {
                // SAFETY: allocated just above; Xen does not know it.
                unsafe { platform.free_pages(page) };
                return Err(EvtchnError::NoMemory);
            }
        };
        // SAFETY: the page is this FIFO's and stays allocated, touched only atomically, until
        // it is freed after an `EvtchnReset`.
        if let Err(status) = unsafe { services.evtchn_init_control(pfn, vcpu) } {
            // SAFETY: allocated just above; Xen refused it, so nothing else references it.
            unsafe { platform.free_pages(block.page) };
            return Err(EvtchnError::Xen(status));
        }
        plog!(
            *platform,
            Info,
            "EVTCHN_FIFO: CONTROLBLOCK[{vcpu}] @ {:016x}",
            pfn.wrapping_shl(platform_port::PAGE_SHIFT)
        );
        Ok(Some(block))
    }

    /// Resets the ABI (Xen forgets every page) and frees the pages.
    pub(super) fn release(mut self) {
        reset(&self.platform, self.services.as_ref());
        self.array_len.store(0, Ordering::SeqCst);
        for page in self.pages.get_mut().drain(..) {
            // SAFETY: allocated by `port_enable` from this platform; after the reset Xen no
            // longer references the event array, and `self` is consumed, so no reader is left.
            unsafe { self.platform.free_pages(page) };
        }
        for block in self.control.drain(..).flatten() {
            // SAFETY: allocated by `init_control`; Xen forgot it in the reset above.
            unsafe { self.platform.free_pages(block.page) };
        }
    }

    pub(super) fn is_processor_enabled(&self, cpu: u32) -> bool {
        self.block(cpu).is_some()
    }

    fn block(&self, cpu: u32) -> Option<&ControlBlock> {
        self.control.get(usize::try_from(cpu).ok()?)?.as_ref()
    }

    /// Ports the registered event array covers.
    fn port_limit(&self) -> u32 {
        let pages = u32::try_from(self.array_len.load(Ordering::Acquire)).unwrap_or(0);
        pages.saturating_mul(WORDS_PER_PAGE)
    }

    /// The event word of `port`, if the registered array covers it: the port is validated
    /// once (page published and counted, word inside it) and the word taken from that page's
    /// view, so its accesses cannot fail.
    fn word(&self, port: u32) -> Option<SharedWord<u32>> {
        let page = usize::try_from(port / WORDS_PER_PAGE).ok()?;
        if page >= self.array_len.load(Ordering::Acquire) {
            return None;
        }
        let view = self.array.get(page)?.get()?;
        let offset = usize::try_from(port % WORDS_PER_PAGE)
            .ok()?
            .checked_mul(WORD_SIZE)?;
        view.word(offset).ok()
    }

    /// Grows the event array until it covers `port`.
    pub(super) fn port_enable(&self, port: u32) -> Result<(), EvtchnError> {
        if port >= EVTCHN_FIFO_NR_CHANNELS {
            return Err(EvtchnError::InvalidParameter);
        }
        let needed = usize::try_from(port / WORDS_PER_PAGE).map_err(|_| EvtchnError::NoMemory)?;
        let mut pages = self.pages.lock();
        while pages.len() <= needed {
            let index = pages.len();
            let Some(slot) = self.array.get(index) else {
                return Err(EvtchnError::InvalidParameter);
            };
            let page = self
                .platform
                .alloc_pages(1)
                .map_err(|_| EvtchnError::NoMemory)?;
            // SAFETY: the page was just allocated for this FIFO and stays allocated until
            // `release` (after an `EvtchnReset`) or the refusal below frees it; nothing in
            // this program touches it except through this view and its sub-views.
            let view = unsafe { SharedMem::new(page.address, PAGE_SIZE) };
            // Xen does not know the page yet; every word starts masked. A page whose words
            // cannot be reached (not 4-aligned: never) is not registered at all.
            let masked = (0..PAGE_SIZE).step_by(WORD_SIZE).try_for_each(|offset| {
                view.fetch_or::<u32>(offset, MASKED, Ordering::SeqCst)
                    .map(drop)
            });
            if masked.is_err() {
                // SAFETY: allocated above; Xen does not know it.
                unsafe { self.platform.free_pages(page) };
                return Err(EvtchnError::NoMemory);
            }
            let pfn = page.pfn;
            // SAFETY: the page stays allocated, touched only atomically, until it is freed
            // after an `EvtchnReset` in `release`.
            if let Err(status) = unsafe { self.services.evtchn_expand_array(pfn) } {
                // SAFETY: allocated above; Xen refused it, so nothing else references it.
                unsafe { self.platform.free_pages(page) };
                return Err(EvtchnError::Xen(status));
            }
            // Published (release) before `array_len` counts it; a slot is filled once, as
            // pages are only ever appended under the lock.
            slot.call_once(|| view);
            pages.push(page);
            self.array_len.store(pages.len(), Ordering::Release);
            let first = u32::try_from(index)
                .unwrap_or(0)
                .saturating_mul(WORDS_PER_PAGE);
            plog!(
                self.platform,
                Info,
                "EVTCHN_FIFO: EVENTARRAY[{index}] @ {:016x}: added ports [{first:08x} - {:08x}]",
                pfn.wrapping_shl(platform_port::PAGE_SHIFT),
                first.saturating_add(WORDS_PER_PAGE - 1)
            );
        }
        Ok(())
    }

    pub(super) fn port_ack(&self, port: u32) {
        if let Some(word) = self.word(port) {
            word.fetch_and(!PENDING, Ordering::SeqCst);
        }
    }

    pub(super) fn port_mask(&self, port: u32) {
        if let Some(word) = self.word(port) {
            word.fetch_or(MASKED, Ordering::SeqCst);
        }
    }

    pub(super) fn port_unmask(&self, port: u32) -> bool {
        let Some(word) = self.word(port) else {
            return false;
        };
        for _ in 0..UNMASK_SPINS {
            let current = word.load(Ordering::SeqCst);
            if current & BUSY != 0 {
                core::hint::spin_loop();
                continue;
            }
            // A strong compare-exchange (was weak: the same `lock cmpxchg` on x86, and never a
            // spurious failure elsewhere).
            if word
                .compare_exchange(
                    current,
                    current & !MASKED,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                )
                .is_ok()
            {
                fence(Ordering::SeqCst);
                return word.load(Ordering::SeqCst) & PENDING != 0;
            }
        }
        // Xen kept the word busy: let Xen clear the mask (it re-raises a pending event).
        let _ = self.services.evtchn_unmask(port);
        false
    }

    /// Consumes the ready queues of CPU `cpu`, reporting each pending, unmasked port.
    pub(super) fn poll(&self, cpu: u32, event: &mut dyn FnMut(u32) -> bool) -> bool {
        let Some(block) = self.block(cpu) else {
            return false;
        };
        let ready_word = block.ready;
        let mut ready = ready_word.swap(0, Ordering::SeqCst) & READY_MASK;
        let limit = u64::from(self.port_limit()).saturating_add(QUEUES as u64);
        let mut steps = 0u64;
        let mut done = false;
        while ready != 0 {
            if steps >= limit {
                // Xen kept the queues busy (or built a cycle): leave the rest for next time.
                ready_word.fetch_or(ready, Ordering::SeqCst);
                break;
            }
            steps = steps.saturating_add(1);
            let queue = ready.trailing_zeros() as usize;
            done |= self.consume_one(block, queue, &mut ready, event);
            ready |= ready_word.swap(0, Ordering::SeqCst) & READY_MASK;
        }
        done
    }

    /// Takes the head event of `queue`; clears the queue's `ready` bit when it was the last.
    fn consume_one(
        &self,
        block: &ControlBlock,
        queue: usize,
        ready: &mut u32,
        event: &mut dyn FnMut(u32) -> bool,
    ) -> bool {
        let bit = 1u32 << (queue % QUEUES);
        let Some(cached) = block.heads.get(queue) else {
            *ready &= !bit;
            return false;
        };
        let mut port = cached.load(Ordering::Relaxed);
        if port == 0 {
            fence(Ordering::SeqCst);
            // `queue` indexes `heads` (checked above), so it is a queue; without a head word
            // (never) the queue reads as empty.
            port = block
                .head(queue)
                .map_or(0, |head| head.load(Ordering::SeqCst));
        }
        let Some(word) = (port != 0).then(|| self.word(port)).flatten() else {
            // An empty queue, or Xen named a port outside the array: nothing to take.
            if port != 0 {
                plog!(
                    self.platform,
                    Warning,
                    "EVTCHN_FIFO: queue {queue} head {port} outside the event array"
                );
            }
            cached.store(0, Ordering::Relaxed);
            *ready &= !bit;
            return false;
        };
        let old = word.fetch_and(!(LINKED | EVTCHN_FIFO_LINK_MASK), Ordering::SeqCst);
        let mut next = old & EVTCHN_FIFO_LINK_MASK;
        // A link outside the registered array ends the queue. Every page the count covers is
        // published before it is counted, so this is `self.word(next).is_some()` without
        // taking the word; the next round takes it, checked, through `word`.
        if next == port || (next != 0 && next >= self.port_limit()) {
            next = 0;
        }
        if next == 0 {
            *ready &= !bit;
        }
        fence(Ordering::SeqCst);
        let value = word.load(Ordering::SeqCst);
        let done = value & PENDING != 0 && value & MASKED == 0 && event(port);
        cached.store(next, Ordering::Relaxed);
        done
    }

    /// The raw event word of `port` (tests and the debug dump).
    #[cfg(test)]
    pub(super) fn word_value(&self, port: u32) -> Option<u32> {
        self.word(port).map(|w| w.load(Ordering::SeqCst))
    }
}

#[cfg(feature = "fuzzing")]
pub mod seam;
#[cfg(test)]
mod tests;
