// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Memory holes: guest-physical pages with nothing behind them.
//!
//! Xen maps grant frames and foreign grants into them (upstream
//! `FdoHoleAllocate`/`FdoHoleFree` with `UseMemoryHole = 1`, the default).
//!
//! [`Hole::allocate`] takes physically contiguous RAM pages from the platform and gives their
//! frames back to Xen with `XENMEM_decrease_reservation`, so the guest-physical range is empty.
//! [`Hole::free`] repopulates the frames with `XENMEM_populate_physmap` and only then frees the
//! pages to the OS.
//!
//! # Decisions
//! * **Partial decrease.** Upstream frees the pages when Xen released only some of them, leaving
//!   the released frames unbacked inside pages the OS reuses. Here the released frames are
//!   repopulated first; only if that fails too are the pages kept (leaked, and logged), since
//!   giving the OS unbacked memory would be worse.
//! * **Repopulation failure on free** is upstream's `BUG_ON`. Here it is logged as critical and
//!   the pages are leaked rather than freed unbacked; [`HoleError::Populate`] tells the caller.
//! * **No allocation on either path.** Frame lists go to Xen in chunks from a stack buffer, so
//!   an allocation failure can never strand a hole.
//! * The PCI-BAR hole (`UseMemoryHole = 0`) is not implemented.

use alloc::sync::Arc;
use core::fmt;

use ntstatus::{NtStatus, STATUS_NO_MEMORY, STATUS_UNSUCCESSFUL};
use platform_port::{Pages, Platform, plog};
use xen_services::XenServices;

/// Frames handed to Xen per reservation call.
const CHUNK: usize = 32;

/// Why a hole could not be made or undone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoleError {
    /// The platform had no contiguous pages.
    NoMemory,
    /// `decrease_reservation` failed with this status (nothing is left released).
    Decrease(NtStatus),
    /// Xen released only some frames (they were repopulated and the pages freed).
    Partial,
    /// Frames could not be repopulated: the pages are leaked.
    Populate(NtStatus),
}

impl HoleError {
    /// The NTSTATUS upstream's callers see (`FdoHoleAllocate` returning NULL is
    /// `STATUS_NO_MEMORY` to them).
    #[must_use]
    pub const fn status(self) -> NtStatus {
        match self {
            Self::NoMemory | Self::Decrease(_) | Self::Partial => STATUS_NO_MEMORY,
            Self::Populate(_) => STATUS_UNSUCCESSFUL,
        }
    }
}

impl fmt::Display for HoleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoMemory => f.write_str("no contiguous pages"),
            Self::Decrease(s) => write!(f, "decrease_reservation failed ({s:08x})"),
            Self::Partial => f.write_str("decrease_reservation released only part"),
            Self::Populate(s) => write!(f, "populate_physmap failed ({s:08x})"),
        }
    }
}

/// The hole allocator.
pub struct Hole<P: Platform, S: XenServices> {
    platform: P,
    xen: Arc<S>,
}

impl<P: Platform, S: XenServices> fmt::Debug for Hole<P, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hole").finish_non_exhaustive()
    }
}

/// Which reservation call.
#[derive(Clone, Copy)]
enum Op {
    Decrease,
    Populate,
}

impl<P: Platform, S: XenServices> Hole<P, S> {
    /// A hole allocator over `platform` pages and `xen`'s memory operations.
    pub const fn new(platform: P, xen: Arc<S>) -> Self {
        Self { platform, xen }
    }

    /// Issues `op` for frames `first .. first + count`; returns how many were done (in order)
    /// and the failure that stopped it, if any.
    fn reservation(&self, op: Op, first: u64, count: usize) -> (usize, Option<NtStatus>) {
        let mut done = 0usize;
        while done < count {
            let n = CHUNK.min(count.saturating_sub(done));
            let mut frames = [0u64; CHUNK];
            let Some(chunk) = frames.get_mut(..n) else {
                break;
            };
            let base = first.saturating_add(done as u64);
            for (i, frame) in chunk.iter_mut().enumerate() {
                *frame = base.saturating_add(i as u64);
            }
            let result = match op {
                // SAFETY: the frames belong to pages this allocator owns (allocated and not
                // yet freed), and nothing touches them while they are unbacked.
                Op::Decrease => unsafe { self.xen.memory_decrease_reservation(0, chunk) },
                // SAFETY: as above; the frames are ours to back again.
                Op::Populate => unsafe { self.xen.memory_populate_physmap(0, chunk) },
            };
            match result {
                Ok(k) => {
                    done = done.saturating_add(k.min(n));
                    if k < n {
                        return (done, None);
                    }
                }
                Err(status) => return (done, Some(status)),
            }
        }
        (done, None)
    }

    /// `FdoHoleAllocate`: `count` contiguous guest-physical pages with nothing behind them.
    ///
    /// # Errors
    /// [`HoleError::NoMemory`], [`HoleError::Decrease`] or [`HoleError::Partial`]; nothing is
    /// left allocated or released (but see [`HoleError::Populate`] if undoing fails too).
    pub fn allocate(&self, count: usize) -> Result<Pages, HoleError> {
        let pages = self
            .platform
            .alloc_pages(count)
            .map_err(|_| HoleError::NoMemory)?;
        let (released, failure) = self.reservation(Op::Decrease, pages.pfn, count);
        if released == count {
            return Ok(pages);
        }
        let error = failure.map_or(HoleError::Partial, HoleError::Decrease);
        plog!(
            self.platform,
            Error,
            "HOLE: {} of {} frames at {:#x}: {}",
            released,
            count,
            pages.pfn,
            error
        );
        if released == 0 {
            // SAFETY: the pages are ours, still fully backed and used by nobody.
            unsafe { self.platform.free_pages(pages) };
            return Err(error);
        }
        let (back, failure) = self.reservation(Op::Populate, pages.pfn, released);
        if back == released {
            // SAFETY: every frame is backed again; nothing uses the pages.
            unsafe { self.platform.free_pages(pages) };
            return Err(error);
        }
        let status = failure.unwrap_or(STATUS_UNSUCCESSFUL);
        plog!(
            self.platform,
            Critical,
            "HOLE: cannot repopulate {} frames at {:#x}: pages leaked",
            released.saturating_sub(back),
            pages.pfn
        );
        Err(HoleError::Populate(status))
    }

    /// `FdoHoleFree`: backs the frames again and frees the pages.
    ///
    /// # Safety
    /// `pages` came from [`Hole::allocate`] of this allocator, and nothing Xen placed in the
    /// hole is still there (grant frames removed from the physmap, foreign pages unmapped).
    ///
    /// # Errors
    /// [`HoleError::Populate`]: the pages are kept (leaked) and the failure logged.
    pub unsafe fn free(&self, pages: Pages) -> Result<(), HoleError> {
        let (back, failure) = self.reservation(Op::Populate, pages.pfn, pages.count);
        if back == pages.count {
            // SAFETY: every frame is backed again and, by the caller's guarantee, unused.
            unsafe { self.platform.free_pages(pages) };
            return Ok(());
        }
        let status = failure.unwrap_or(STATUS_UNSUCCESSFUL);
        plog!(
            self.platform,
            Critical,
            "HOLE: cannot repopulate {} of {} frames at {:#x} ({:08x}): pages leaked",
            pages.count.saturating_sub(back),
            pages.count,
            pages.pfn,
            status
        );
        Err(HoleError::Populate(status))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use ntstatus::STATUS_INSUFFICIENT_RESOURCES;
    use platform_port::std_impl::StdPlatform;
    use xen_fake::FakeXen;

    fn hole() -> (Arc<FakeXen>, Hole<StdPlatform, FakeXen>) {
        let xen = Arc::new(FakeXen::default());
        (
            Arc::clone(&xen),
            Hole::new(StdPlatform::new(1), Arc::clone(&xen)),
        )
    }

    #[test]
    fn allocate_releases_every_frame_and_free_repopulates_them() {
        let (xen, hole) = hole();
        let pages = hole.allocate(40).unwrap();
        assert_eq!(xen.given_back_count(), 40);
        assert_eq!(*xen.decrease_calls.lock().unwrap(), [CHUNK, 40 - CHUNK]);
        let first = pages.pfn;
        assert!(xen.given_back.lock().unwrap().contains(&(first + 39)));
        // SAFETY: from this hole, nothing placed in it.
        unsafe { hole.free(pages) }.unwrap();
        assert_eq!(xen.given_back_count(), 0);
    }

    #[test]
    fn a_partial_decrease_is_undone_and_reported() {
        let (xen, hole) = hole();
        *xen.reservation_limit.lock().unwrap() = Some(2);
        let e = hole.allocate(5).unwrap_err();
        assert_eq!(e, HoleError::Partial);
        assert_eq!(e.status(), STATUS_NO_MEMORY);
        assert_eq!(
            xen.given_back_count(),
            0,
            "the two released frames are back"
        );
        assert_eq!(*xen.populate_calls.lock().unwrap(), [2]);
    }

    #[test]
    fn a_failed_decrease_gives_nothing_away() {
        let (xen, hole) = hole();
        *xen.decrease_fault.lock().unwrap() = Some(STATUS_INSUFFICIENT_RESOURCES);
        let e = hole.allocate(3).unwrap_err();
        assert_eq!(e, HoleError::Decrease(STATUS_INSUFFICIENT_RESOURCES));
        assert_eq!(xen.given_back_count(), 0);
        assert!(xen.populate_calls.lock().unwrap().is_empty());
    }

    #[test]
    fn a_failed_repopulation_on_free_is_reported_and_the_pages_kept() {
        let (xen, hole) = hole();
        let pages = hole.allocate(2).unwrap();
        *xen.populate_fault.lock().unwrap() = Some(STATUS_UNSUCCESSFUL);
        // SAFETY: from this hole, nothing placed in it.
        let e = unsafe { hole.free(pages) }.unwrap_err();
        assert_eq!(e, HoleError::Populate(STATUS_UNSUCCESSFUL));
        assert_eq!(
            xen.given_back_count(),
            2,
            "still Xen's: the pages were not freed"
        );
    }

    #[test]
    fn zero_pages_is_no_memory() {
        let (_, hole) = hole();
        assert_eq!(hole.allocate(0).unwrap_err(), HoleError::NoMemory);
    }
}
