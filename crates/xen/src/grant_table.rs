// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `HYPERVISOR_grant_table_op` (upstream `src/xen/grant_table.c`): version, size and frame
//! queries, copy, and mapping another domain's grant. Arguments are `(cmd, op, count)`.
//!
//! Errors: a negative hypercall result is `-errno`; for the single-entry operations with a
//! `status` field (map, unmap, setup) a non-`GNTST_okay` status is [`Error::Grant`], which maps
//! to NTSTATUS through upstream's `GNTST_TO_STATUS`. `GNTTABOP_query_size` with a bad status is
//! `STATUS_UNSUCCESSFUL`, and [`copy`] checks only the hypercall result, both as upstream.

use crate::hypercall::{Hypervisor, arg};
use crate::status::{Error, Result, check};
use xen_headers::grant_table::{
    GNTMAP_HOST_MAP, GNTMAP_READONLY, GNTST_OKAY, GNTTABOP_COPY, GNTTABOP_GET_VERSION,
    GNTTABOP_MAP_GRANT_REF, GNTTABOP_QUERY_SIZE, GNTTABOP_SET_VERSION, GNTTABOP_SETUP_TABLE,
    GNTTABOP_UNMAP_GRANT_REF, GnttabCopy, GnttabGetVersion, GnttabMapGrantRef, GnttabQuerySize,
    GnttabSetVersion, GnttabSetupTable, GnttabUnmapGrantRef,
};
use xen_headers::xen::{DOMID_SELF, DomId, GuestHandle, HYPERVISOR_GRANT_TABLE_OP};

/// Issues `GNTTABOP_<cmd>` over `count` argument structures starting at `op`.
///
/// # Safety
///
/// `op` must point to `count` live structures of the layout `cmd` expects, and any memory they
/// describe must be valid for what `cmd` does with it.
unsafe fn grant_table_op<H: Hypervisor + ?Sized, T>(
    hv: &H,
    cmd: u32,
    op: *mut T,
    count: u32,
) -> Result<usize> {
    // SAFETY: the caller's guarantee.
    let rc = unsafe {
        hv.hypercall(
            HYPERVISOR_GRANT_TABLE_OP,
            &[cmd as usize, arg(op), count as usize],
        )
    };
    check(rc)
}

const fn entry_status(status: i16) -> Result<()> {
    if status == GNTST_OKAY {
        Ok(())
    } else {
        Err(Error::Grant(status))
    }
}

/// `GNTTABOP_set_version`: switch this domain's grant table to `version` (1 or 2); returns the
/// version now in force.
///
/// # Errors
///
/// [`Error::Errno`]: `EINVAL` for an unsupported version, `EBUSY` while grants are in use.
pub fn set_version<H: Hypervisor + ?Sized>(hv: &H, version: u32) -> Result<u32> {
    let mut op = GnttabSetVersion { version };
    // SAFETY: one live local structure, used by Xen only during the call.
    unsafe { grant_table_op(hv, GNTTABOP_SET_VERSION, &raw mut op, 1) }?;
    Ok(op.version)
}

/// `GNTTABOP_get_version` of this domain.
///
/// # Errors
///
/// [`Error::Errno`] from Xen.
pub fn get_version<H: Hypervisor + ?Sized>(hv: &H) -> Result<u32> {
    let mut op = GnttabGetVersion {
        dom: DOMID_SELF,
        ..GnttabGetVersion::default()
    };
    // SAFETY: one live local structure, used by Xen only during the call.
    unsafe { grant_table_op(hv, GNTTABOP_GET_VERSION, &raw mut op, 1) }?;
    Ok(op.version)
}

/// `GNTTABOP_query_size` of this domain: `(current frames, maximum frames)`.
///
/// # Errors
///
/// [`Error::Errno`] from Xen, or [`Error::Unsuccessful`] for a bad status (as upstream).
pub fn query_size<H: Hypervisor + ?Sized>(hv: &H) -> Result<(u32, u32)> {
    let mut op = GnttabQuerySize {
        dom: DOMID_SELF,
        ..GnttabQuerySize::default()
    };
    // SAFETY: one live local structure, used by Xen only during the call.
    unsafe { grant_table_op(hv, GNTTABOP_QUERY_SIZE, &raw mut op, 1) }?;
    if op.status != GNTST_OKAY {
        return Err(Error::Unsuccessful);
    }
    Ok((op.nr_frames, op.max_nr_frames))
}

/// `GNTTABOP_setup_table` of this domain: grow the table and list its frames.
///
/// The table grows to `frames.len()` frames and `frames` receives their frame numbers. On a
/// translated guest (HVM, PVH) Xen reports a frame the guest has not yet mapped with
/// `XENMEM_add_to_physmap` as all-ones.
///
/// # Errors
///
/// [`Error::Errno`] from Xen, [`Error::Grant`] for a bad status (`GNTST_general_error` beyond
/// the maximum size), [`Error::InvalidParameter`] for more frames than the call can name.
pub fn setup_table<H: Hypervisor + ?Sized>(hv: &H, frames: &mut [u64]) -> Result<()> {
    let nr_frames = u32::try_from(frames.len()).map_err(|_| Error::InvalidParameter)?;
    let mut op = GnttabSetupTable {
        dom: DOMID_SELF,
        nr_frames,
        status: 0,
        frame_list: GuestHandle::new(frames.as_mut_ptr()),
    };
    // SAFETY: one live local structure whose frame list is the exclusively borrowed `frames`,
    // exactly `nr_frames` long; Xen writes it only during the call.
    unsafe { grant_table_op(hv, GNTTABOP_SETUP_TABLE, &raw mut op, 1) }?;
    entry_status(op.status)
}

/// `GNTTABOP_copy` of every operation in `ops`. As upstream, only the hypercall result is
/// checked; each operation's own `status` is left for the caller.
///
/// # Safety
///
/// Xen writes `len` bytes at each destination: every destination frame named by a frame number
/// (not a grant) must belong to this domain and be safe to overwrite.
///
/// # Errors
///
/// [`Error::Errno`] from Xen, [`Error::InvalidParameter`] for more operations than the call can
/// name.
pub unsafe fn copy<H: Hypervisor + ?Sized>(hv: &H, ops: &mut [GnttabCopy]) -> Result<()> {
    let count = u32::try_from(ops.len()).map_err(|_| Error::InvalidParameter)?;
    // SAFETY: `ops` is exclusively borrowed and `count` long; the caller vouches for the
    // destinations.
    unsafe { grant_table_op(hv, GNTTABOP_COPY, ops.as_mut_ptr(), count) }.map(|_| ())
}

/// Upstream's `GrantTableMapForeignPage`: map another domain's grant into this one.
///
/// Maps grant `grant_ref` of `domain` at guest-physical address `address` (`GNTMAP_host_map`,
/// plus `GNTMAP_readonly` when `read_only`) and returns the handle for [`unmap_foreign_page`].
///
/// On a translated guest (HVM, PVH), mapping a grant of the domain's own memory does not share
/// the page: Xen 4.17 moves the frame, leaving its original guest frame unbacked (reads as
/// all-ones) until it is repopulated. `domain` is a real domain id: `DOMID_SELF` is
/// `GNTST_bad_domain` here.
///
/// # Safety
///
/// Whatever was at `address` is replaced by the granted page until it is unmapped; nothing may
/// use `address` as ordinary memory meanwhile. For a grant of the domain's own memory, the
/// granted frame's original address becomes unbacked too (see above).
///
/// # Errors
///
/// [`Error::Errno`] from Xen, or [`Error::Grant`] with the entry's status (e.g.
/// `GNTST_bad_gntref`, `GNTST_bad_domain`, `GNTST_permission_denied`).
pub unsafe fn map_foreign_page<H: Hypervisor + ?Sized>(
    hv: &H,
    domain: DomId,
    grant_ref: u32,
    address: u64,
    read_only: bool,
) -> Result<u32> {
    let mut op = GnttabMapGrantRef {
        host_addr: address,
        flags: GNTMAP_HOST_MAP | if read_only { GNTMAP_READONLY } else { 0 },
        ref_: grant_ref,
        dom: domain,
        ..GnttabMapGrantRef::default()
    };
    // SAFETY: one live local structure; the caller vouches for `address`.
    unsafe { grant_table_op(hv, GNTTABOP_MAP_GRANT_REF, &raw mut op, 1) }?;
    entry_status(op.status)?;
    Ok(op.handle)
}

/// Upstream's `GrantTableUnmapForeignPage`: undo [`map_foreign_page`].
///
/// # Safety
///
/// Nothing may still use the mapping at `address`.
///
/// # Errors
///
/// [`Error::Errno`] from Xen, or [`Error::Grant`] with the entry's status (`GNTST_bad_handle`
/// for an unknown handle).
pub unsafe fn unmap_foreign_page<H: Hypervisor + ?Sized>(
    hv: &H,
    handle: u32,
    address: u64,
) -> Result<()> {
    let mut op = GnttabUnmapGrantRef {
        host_addr: address,
        handle,
        ..GnttabUnmapGrantRef::default()
    };
    // SAFETY: one live local structure; the caller vouches for `address`.
    unsafe { grant_table_op(hv, GNTTABOP_UNMAP_GRANT_REF, &raw mut op, 1) }?;
    entry_status(op.status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypercall::fake::{Fake, at, returning};
    use crate::status::{STATUS_ACCESS_DENIED, STATUS_INVALID_HANDLE, STATUS_UNSUCCESSFUL};

    fn fake_with<T>(
        cmd: u32,
        count: usize,
        edit: impl Fn(&mut T) -> isize,
    ) -> Fake<impl Fn(u32, &[usize]) -> isize> {
        Fake::new(move |op, args| {
            assert_eq!(op, 20);
            assert_eq!((args[0], args[2]), (cmd as usize, count));
            // SAFETY: the wrapper passes its live argument structure of type T.
            edit(unsafe { &mut *at::<T>(args, 1) })
        })
    }

    #[test]
    fn versions_round_trip() {
        let hv = fake_with(8, 1, |op: &mut GnttabSetVersion| {
            assert_eq!(op.version, 2);
            0
        });
        assert_eq!(set_version(&hv, 2), Ok(2));
        let hv = fake_with(10, 1, |op: &mut GnttabGetVersion| {
            assert_eq!(op.dom, DOMID_SELF);
            op.version = 1;
            0
        });
        assert_eq!(get_version(&hv), Ok(1));
    }

    #[test]
    fn query_size_reports_frames_and_bad_status_is_unsuccessful() {
        let hv = fake_with(6, 1, |op: &mut GnttabQuerySize| {
            assert_eq!(op.dom, DOMID_SELF);
            op.nr_frames = 1;
            op.max_nr_frames = 64;
            0
        });
        assert_eq!(query_size(&hv), Ok((1, 64)));
        let hv = fake_with(6, 1, |op: &mut GnttabQuerySize| {
            op.status = -8;
            0
        });
        assert_eq!(
            query_size(&hv).map_err(Error::ntstatus),
            Err(STATUS_UNSUCCESSFUL)
        );
    }

    #[test]
    fn setup_table_fills_the_frame_list() {
        let hv = fake_with(2, 1, |op: &mut GnttabSetupTable| {
            assert_eq!((op.dom, op.nr_frames), (DOMID_SELF, 2));
            let list = op.frame_list.p.cast::<[u64; 2]>();
            // SAFETY: the frame list is the caller's two-entry array.
            unsafe { list.write([0x100, u64::MAX]) };
            0
        });
        let mut frames = [0; 2];
        assert_eq!(setup_table(&hv, &mut frames), Ok(()));
        assert_eq!(frames, [0x100, u64::MAX]);
    }

    #[test]
    fn map_passes_flags_and_maps_statuses_as_upstream() {
        let hv = fake_with(0, 1, |op: &mut GnttabMapGrantRef| {
            assert_eq!((op.host_addr, op.ref_, op.dom), (0x5000, 8, 0));
            assert_eq!(op.flags, GNTMAP_HOST_MAP | GNTMAP_READONLY);
            op.handle = 3;
            0
        });
        // SAFETY: the fake maps nothing.
        assert_eq!(unsafe { map_foreign_page(&hv, 0, 8, 0x5000, true) }, Ok(3));
        for (status, want) in [
            (-4, STATUS_INVALID_HANDLE),
            (-8, STATUS_ACCESS_DENIED),
            (-3, STATUS_UNSUCCESSFUL),
        ] {
            let hv = fake_with(0, 1, move |op: &mut GnttabMapGrantRef| {
                assert_eq!(op.flags, GNTMAP_HOST_MAP);
                op.status = status;
                0
            });
            // SAFETY: as above.
            let got = unsafe { map_foreign_page(&hv, 0, 8, 0x5000, false) };
            assert_eq!(got.map_err(Error::ntstatus), Err(want));
        }
    }

    #[test]
    fn unmap_passes_handle_and_address() {
        let hv = fake_with(1, 1, |op: &mut GnttabUnmapGrantRef| {
            assert_eq!((op.handle, op.host_addr), (3, 0x5000));
            op.status = -4;
            0
        });
        // SAFETY: the fake unmaps nothing.
        let got = unsafe { unmap_foreign_page(&hv, 3, 0x5000) };
        assert_eq!(got.map_err(Error::ntstatus), Err(STATUS_INVALID_HANDLE));
    }

    #[test]
    fn copy_checks_only_the_hypercall_result() {
        let mut ops = [GnttabCopy::default(), GnttabCopy::default()];
        let hv = Fake::new(|_, args| {
            assert_eq!((args[0], args[2]), (5, 2));
            // SAFETY: the wrapper passes its two live operations.
            unsafe { (*at::<GnttabCopy>(args, 1)).status = -3 };
            0
        });
        // SAFETY: the fake copies nothing.
        assert_eq!(unsafe { copy(&hv, &mut ops) }, Ok(()));
        assert_eq!(ops[0].status, -3);
        // SAFETY: as above.
        let failed = unsafe { copy(&returning(-14), &mut ops) };
        assert_eq!(failed, Err(Error::Errno(14)));
    }
}
