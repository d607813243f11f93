// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The simulator's guest memory behind the platform port.
//!
//! Subsystems under test allocate pages through `platform_port::Memory`; the frames must be
//! guest frames the simulator knows, so Xen-side operations (`add_to_physmap`, grant mapping,
//! `decrease_reservation`) act on the very memory the subsystem reads, and `map_physical`
//! reaches whatever Xen placed at a frame (a grant frame in a hole, the shared-info page).
//! [`Sim::platform`] builds a `StdPlatform` whose pages come from here.
//!
//! Guest memory is never handed back to the host (the simulator keeps every frame valid), so
//! [`SimPages`] only keeps the books a test checks: pages allocated and not freed, frees of
//! frames Xen did not back any more (memory handed back to the OS while Xen still owned the
//! frame), frees of pages never allocated, and a switch that makes allocations fail.

use std::collections::BTreeMap;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use platform_port::std_impl::{PageSource, StdPlatform};
use platform_port::{PAGE_SIZE, Pages, PortError};

use crate::Sim;

/// Guest frames as a page source.
#[derive(Debug)]
pub struct SimPages {
    sim: Sim,
    /// First frame -> page count of every live allocation.
    live: Mutex<BTreeMap<u64, usize>>,
    /// Fail every allocation while set.
    pub fail: AtomicBool,
    /// Frees of pages whose frames were not backed by RAM any more.
    pub unbacked_frees: AtomicUsize,
    /// Frees of pages this source never handed out (or handed out with another count).
    pub foreign_frees: AtomicUsize,
}

impl SimPages {
    /// Pages allocated through the port and not freed.
    #[must_use]
    pub fn outstanding(&self) -> usize {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .sum()
    }

    /// Same as [`SimPages::outstanding`].
    #[must_use]
    pub fn live_pages(&self) -> usize {
        self.outstanding()
    }
}

impl PageSource for SimPages {
    fn alloc(&self, count: usize) -> Result<Pages, PortError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(PortError::NoMemory);
        }
        let (pfn, address) = self.sim.allocate(count);
        let address = NonNull::new(address).ok_or(PortError::NoMemory)?;
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(pfn, count);
        Ok(Pages {
            address,
            pfn,
            count,
        })
    }

    unsafe fn free(&self, pages: Pages) {
        let known = self
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&pages.pfn);
        if known != Some(pages.count) {
            self.foreign_frees.fetch_add(1, Ordering::SeqCst);
            return;
        }
        // The frames stay guest memory; only the accounting changes.
        for frame in (0..pages.count as u64).filter_map(|i| pages.pfn.checked_add(i)) {
            if !self.sim.is_populated(frame) {
                self.unbacked_frees.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    fn map(&self, pfn: u64, count: usize) -> Result<NonNull<u8>, PortError> {
        let first = self.sim.host_ptr(pfn).ok_or(PortError::InvalidParameter)?;
        // A multi-page mapping must be contiguous in host memory too.
        for i in 1..count {
            let frame = pfn
                .checked_add(i as u64)
                .ok_or(PortError::InvalidParameter)?;
            let here = self
                .sim
                .host_ptr(frame)
                .ok_or(PortError::InvalidParameter)?;
            if here != first.wrapping_add(i * PAGE_SIZE) {
                return Err(PortError::InvalidParameter);
            }
        }
        NonNull::new(first).ok_or(PortError::InvalidParameter)
    }
}

impl Sim {
    /// A std platform with `processors` processors whose pages are this simulator's guest
    /// frames, and the page source (for its books).
    #[must_use]
    pub fn platform(&self, processors: u32) -> (StdPlatform, Arc<SimPages>) {
        let pages = Arc::new(SimPages {
            sim: self.clone(),
            live: Mutex::new(BTreeMap::new()),
            fail: AtomicBool::new(false),
            unbacked_frees: AtomicUsize::new(0),
            foreign_frees: AtomicUsize::new(0),
        });
        let source: Arc<dyn PageSource> = pages.clone();
        (StdPlatform::with_pages(processors, source), pages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SimConfig;
    use platform_port::Memory;

    #[test]
    fn port_pages_are_guest_frames_the_simulator_backs() {
        let sim = Sim::new(SimConfig::default());
        let (platform, pages) = sim.platform(2);
        let block = platform.alloc_pages(2).unwrap();
        assert!(sim.is_populated(block.pfn));
        assert_eq!(
            sim.host_ptr(block.pfn + 1).unwrap(),
            block.address.as_ptr().wrapping_add(PAGE_SIZE)
        );
        // SAFETY: the frames are guest RAM the simulator keeps alive.
        let mapped = unsafe { platform.map_physical(block.pfn + 1, 1) }.unwrap();
        assert_eq!(
            mapped.as_ptr(),
            block.address.as_ptr().wrapping_add(PAGE_SIZE)
        );
        assert_eq!(pages.outstanding(), 2);
        // SAFETY: allocated above and unused.
        unsafe { platform.free_pages(block) };
        assert_eq!(pages.outstanding(), 0);
        assert_eq!(pages.unbacked_frees.load(Ordering::SeqCst), 0);
        assert_eq!(pages.foreign_frees.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn the_books_catch_failed_allocations_and_bad_frees() {
        let sim = Sim::new(SimConfig::default());
        let (platform, pages) = sim.platform(1);
        pages.fail.store(true, Ordering::SeqCst);
        assert_eq!(platform.alloc_pages(1), Err(PortError::NoMemory));
        pages.fail.store(false, Ordering::SeqCst);
        let block = platform.alloc_pages(1).unwrap();
        let stranger = Pages {
            address: block.address,
            pfn: block.pfn + 7,
            count: 1,
        };
        // SAFETY: a bogus free is only counted, never acted on.
        unsafe { platform.free_pages(stranger) };
        assert_eq!(pages.foreign_frees.load(Ordering::SeqCst), 1);
        assert_eq!(pages.outstanding(), 1);
        // SAFETY: allocated above and unused.
        unsafe { platform.free_pages(block) };
        assert_eq!(pages.outstanding(), 0);
    }
}
