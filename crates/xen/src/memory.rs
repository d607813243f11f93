// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `HYPERVISOR_memory_op` (upstream `src/xen/memory.c`): the physmap and the reservation.
//!
//! The physmap says what backs a guest frame; the reservation is the memory the domain holds.
//! Every operation targets `DOMID_SELF` except the reservation queries, which take a domain.
//!
//! The physmap operations change which memory sits behind a guest frame number, so they are
//! `unsafe`: the caller answers for whatever the frame held before.

use crate::hypercall::{Hypervisor, arg};
use crate::status::{Error, Result, check};
use xen_headers::memory::{
    XENMEM_ADD_TO_PHYSMAP, XENMEM_CURRENT_RESERVATION, XENMEM_DECREASE_RESERVATION,
    XENMEM_MAXIMUM_RESERVATION, XENMEM_POPULATE_PHYSMAP, XENMEM_REMOVE_FROM_PHYSMAP,
    XenAddToPhysmap, XenMemoryReservation, XenRemoveFromPhysmap,
};
use xen_headers::xen::{DOMID_SELF, DomId, GuestHandle, HYPERVISOR_MEMORY_OP};

/// `PAGE_ORDER_4K`: extents of one page.
pub const PAGE_ORDER_4K: u32 = 0;
/// `PAGE_ORDER_2M`: extents of 512 pages.
pub const PAGE_ORDER_2M: u32 = 9;

/// Issues `XENMEM_<cmd>` with `argument`.
///
/// # Safety
///
/// `argument` must be a live structure of the layout `cmd` expects, and the memory change it
/// describes must be one the caller answers for.
unsafe fn memory_op<H: Hypervisor + ?Sized, T>(
    hv: &H,
    cmd: u32,
    argument: *mut T,
) -> Result<usize> {
    // SAFETY: the caller's guarantee.
    check(unsafe { hv.hypercall(HYPERVISOR_MEMORY_OP, &[cmd as usize, arg(argument)]) })
}

/// `XENMEM_add_to_physmap`: put item `offset` of `space` (`XENMAPSPACE_shared_info`,
/// `XENMAPSPACE_grant_table`...) at guest frame `gfn`.
///
/// Upstream leaves the structure's `size` field uninitialised (only `XENMAPSPACE_gmfn_range`
/// reads it); here it is 0.
///
/// # Safety
///
/// Whatever backed `gfn` is released by Xen (RAM returns to Xen); nothing may still use it.
///
/// # Errors
///
/// [`Error::Errno`]: `EINVAL` for an unknown space or an index beyond it.
pub unsafe fn add_to_physmap<H: Hypervisor + ?Sized>(
    hv: &H,
    gfn: u64,
    space: u32,
    offset: u64,
) -> Result<()> {
    let mut op = XenAddToPhysmap {
        domid: DOMID_SELF,
        size: 0,
        space,
        idx: offset,
        gpfn: gfn,
    };
    // SAFETY: one live local structure; the caller vouches for `gfn`.
    unsafe { memory_op(hv, XENMEM_ADD_TO_PHYSMAP, &raw mut op) }.map(|_| ())
}

/// `XENMEM_remove_from_physmap`: leave guest frame `gfn` unbacked.
///
/// # Safety
///
/// Nothing may use `gfn` afterwards until it is backed again.
///
/// # Errors
///
/// [`Error::Errno`] from Xen.
pub unsafe fn remove_from_physmap<H: Hypervisor + ?Sized>(hv: &H, gfn: u64) -> Result<()> {
    let mut op = XenRemoveFromPhysmap {
        domid: DOMID_SELF,
        gpfn: gfn,
    };
    // SAFETY: one live local structure; the caller vouches for `gfn`.
    unsafe { memory_op(hv, XENMEM_REMOVE_FROM_PHYSMAP, &raw mut op) }.map(|_| ())
}

/// A reservation change over `frames` (extents of `2^order` pages each); returns the extents
/// done, which may be fewer than asked (still a success, as upstream).
///
/// # Safety
///
/// As [`decrease_reservation`] or [`populate_physmap`].
unsafe fn reservation<H: Hypervisor + ?Sized>(
    hv: &H,
    cmd: u32,
    order: u32,
    frames: &mut [u64],
) -> Result<usize> {
    let mut op = XenMemoryReservation {
        extent_start: GuestHandle::new(frames.as_mut_ptr()),
        nr_extents: frames.len() as u64,
        extent_order: order,
        mem_flags: 0,
        domid: DOMID_SELF,
    };
    // SAFETY: one live local structure whose extent list is the exclusively borrowed `frames`,
    // exactly `nr_extents` long; the caller vouches for the frames.
    unsafe { memory_op(hv, cmd, &raw mut op) }
}

/// Upstream's `MemoryDecreaseReservation`: give the extents at guest frames `frames` back to
/// Xen. Returns how many were released.
///
/// # Safety
///
/// The frames become unbacked: nothing may use them until they are populated again.
///
/// # Errors
///
/// [`Error::Errno`] from Xen.
pub unsafe fn decrease_reservation<H: Hypervisor + ?Sized>(
    hv: &H,
    order: u32,
    frames: &mut [u64],
) -> Result<usize> {
    // SAFETY: the caller's guarantee.
    unsafe { reservation(hv, XENMEM_DECREASE_RESERVATION, order, frames) }
}

/// Upstream's `MemoryPopulatePhysmap`: back guest frames `frames` with new memory. Returns how
/// many extents were populated.
///
/// # Safety
///
/// Whatever the frames held is replaced by new (not necessarily zeroed) memory.
///
/// # Errors
///
/// [`Error::Errno`] from Xen.
pub unsafe fn populate_physmap<H: Hypervisor + ?Sized>(
    hv: &H,
    order: u32,
    frames: &mut [u64],
) -> Result<usize> {
    // SAFETY: the caller's guarantee.
    unsafe { reservation(hv, XENMEM_POPULATE_PHYSMAP, order, frames) }
}

fn reservation_query<H: Hypervisor + ?Sized>(hv: &H, cmd: u32, domain: DomId) -> Result<u64> {
    let mut domid = domain;
    // SAFETY: the argument is a live local domid, which Xen only reads.
    let pages = unsafe { memory_op(hv, cmd, &raw mut domid) }?;
    u64::try_from(pages).map_err(|_| Error::Unsuccessful)
}

/// `XENMEM_current_reservation`: pages `domain` holds now.
///
/// # Errors
///
/// [`Error::Errno`]: `ESRCH` for an unknown domain.
pub fn current_reservation<H: Hypervisor + ?Sized>(hv: &H, domain: DomId) -> Result<u64> {
    reservation_query(hv, XENMEM_CURRENT_RESERVATION, domain)
}

/// `XENMEM_maximum_reservation`: pages `domain` may hold.
///
/// # Errors
///
/// [`Error::Errno`]: `ESRCH` for an unknown domain.
pub fn maximum_reservation<H: Hypervisor + ?Sized>(hv: &H, domain: DomId) -> Result<u64> {
    reservation_query(hv, XENMEM_MAXIMUM_RESERVATION, domain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypercall::fake::{Fake, at, returning};
    use crate::status::STATUS_UNSUCCESSFUL;
    use xen_headers::memory::{XENMAPSPACE_GRANT_TABLE, XENMAPSPACE_SHARED_INFO};

    #[test]
    fn add_to_physmap_targets_self_with_zero_size() {
        let hv = Fake::new(|op, args| {
            assert_eq!((op, args[0]), (12, 7));
            // SAFETY: the wrapper passes its live structure.
            let m = unsafe { &*at::<XenAddToPhysmap>(args, 1) };
            assert_eq!(
                (m.domid, m.size, m.space),
                (DOMID_SELF, 0, XENMAPSPACE_GRANT_TABLE)
            );
            assert_eq!((m.idx, m.gpfn), (3, 0x2_0000));
            0
        });
        // SAFETY: the fake maps nothing.
        let got = unsafe { add_to_physmap(&hv, 0x2_0000, XENMAPSPACE_GRANT_TABLE, 3) };
        assert_eq!(got, Ok(()));
        // SAFETY: as above.
        let got = unsafe { add_to_physmap(&returning(-22), 1, XENMAPSPACE_SHARED_INFO, 1) };
        assert_eq!(got, Err(Error::Errno(22)));
    }

    #[test]
    fn remove_from_physmap_targets_self() {
        let hv = Fake::new(|_, args| {
            assert_eq!(args[0], 15);
            // SAFETY: the wrapper passes its live structure.
            let m = unsafe { &*at::<XenRemoveFromPhysmap>(args, 1) };
            assert_eq!((m.domid, m.gpfn), (DOMID_SELF, 0x77));
            0
        });
        // SAFETY: the fake unmaps nothing.
        assert_eq!(unsafe { remove_from_physmap(&hv, 0x77) }, Ok(()));
    }

    #[test]
    fn reservations_describe_the_frames_and_return_partial_counts() {
        let mut frames = [0x10, 0x11, 0x12];
        let hv = Fake::new(|_, args| {
            // SAFETY: the wrapper passes its live structure.
            let r = unsafe { &*at::<XenMemoryReservation>(args, 1) };
            assert_eq!((r.nr_extents, r.extent_order, r.mem_flags), (3, 0, 0));
            assert_eq!(r.domid, DOMID_SELF);
            let list = r.extent_start.p.cast::<[u64; 3]>();
            // SAFETY: the extent list is the caller's three frames.
            assert_eq!(unsafe { list.read() }[2], 0x12);
            if args[0] == 1 { 2 } else { 3 }
        });
        // SAFETY: the fake changes no memory.
        let released = unsafe { decrease_reservation(&hv, PAGE_ORDER_4K, &mut frames) };
        assert_eq!(released, Ok(2));
        // SAFETY: as above.
        let populated = unsafe { populate_physmap(&hv, PAGE_ORDER_4K, &mut frames) };
        assert_eq!(populated, Ok(3));
        assert_eq!(hv.calls.borrow()[1].args[0], 6);
    }

    #[test]
    fn reservation_queries_pass_the_domain() {
        let hv = Fake::new(|_, args| {
            // SAFETY: the wrapper passes a live domid.
            let dom = unsafe { *at::<DomId>(args, 1) };
            assert_eq!(dom, DOMID_SELF);
            if args[0] == 3 { 16384 } else { 16640 }
        });
        assert_eq!(current_reservation(&hv, DOMID_SELF), Ok(16384));
        assert_eq!(maximum_reservation(&hv, DOMID_SELF), Ok(16640));
        // ESRCH is not in upstream's table.
        let err = current_reservation(&returning(-3), 0x7ff5).unwrap_err();
        assert_eq!(err.ntstatus(), STATUS_UNSUCCESSFUL);
    }
}
