// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The simulator's guest memory behind the platform port.
//!
//! Subsystems under test allocate pages through `platform_port::Memory`; the frames must be
//! guest frames the simulator knows, so Xen-side operations (`add_to_physmap`, grant mapping,
//! `decrease_reservation`) act on the very memory the subsystem reads. [`Sim::platform`] builds a
//! `StdPlatform` whose pages come from here. Guest memory is never handed back to the host (the
//! simulator keeps every frame valid), so [`SimPages::outstanding`] counts pages allocated and not
//! yet freed: a leak check for tests.

use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use platform_port::std_impl::{PageSource, StdPlatform};
use platform_port::{PAGE_SIZE, Pages, PortError};

use crate::Sim;

/// Guest frames as a page source.
#[derive(Debug)]
pub struct SimPages {
    sim: Sim,
    outstanding: AtomicUsize,
}

impl SimPages {
    /// Pages allocated through the port and not freed.
    #[must_use]
    pub fn outstanding(&self) -> usize {
        self.outstanding.load(Ordering::Acquire)
    }
}

impl PageSource for SimPages {
    fn alloc(&self, count: usize) -> Result<Pages, PortError> {
        let (pfn, address) = self.sim.allocate(count);
        let address = NonNull::new(address).ok_or(PortError::NoMemory)?;
        self.outstanding.fetch_add(count, Ordering::AcqRel);
        Ok(Pages {
            address,
            pfn,
            count,
        })
    }

    unsafe fn free(&self, pages: Pages) {
        // The frames stay guest memory; only the accounting changes.
        let _ = self
            .outstanding
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                n.checked_sub(pages.count)
            });
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
    /// frames, and the page source (for its leak count).
    #[must_use]
    pub fn platform(&self, processors: u32) -> (StdPlatform, Arc<SimPages>) {
        let pages = Arc::new(SimPages {
            sim: self.clone(),
            outstanding: AtomicUsize::new(0),
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
    }
}
