// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `GrantTable*` exports (upstream `src/xen/grant_table.c`) over [`crate::grant_table`].
//!
//! `GrantTableCopy` keeps upstream's contract: only the hypercall's own result decides the
//! status; each operation's `status` field is left for the caller to inspect (the spec's A8
//! suggestion would turn a success children see today into a failure).

use super::{NtStatus, STATUS_INVALID_PARAMETER, STATUS_SUCCESS, hypercall, put, status};
use crate::grant_table as gnttab;
use xen_headers::grant_table::GnttabCopy;

/// `NTSTATUS GrantTableSetVersion(uint32_t Version)`.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "GrantTableSetVersion")]
#[must_use]
pub extern "C" fn grant_table_set_version(version: u32) -> NtStatus {
    status(
        hypercall("GrantTableSetVersion", |hv| {
            gnttab::set_version(hv, version)
        })
        .map(|_| ()),
    )
}

/// `NTSTATUS GrantTableGetVersion(uint32_t *Version)`.
///
/// # Safety
/// `version` is NULL or writable.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "GrantTableGetVersion")]
#[must_use]
pub unsafe extern "C" fn grant_table_get_version(version: *mut u32) -> NtStatus {
    if version.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    let r = hypercall("GrantTableGetVersion", |hv| gnttab::get_version(hv));
    // SAFETY: checked non-NULL; writable by the caller's contract.
    status(r.and_then(|v| unsafe { put(version, v) }))
}

/// `NTSTATUS GrantTableCopy(struct gnttab_copy op[], ULONG Count)`.
///
/// # Safety
/// `op` points to `Count` writable, aligned `struct gnttab_copy`; every destination frame named
/// by number (not by grant) belongs to this domain and may be overwritten.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "GrantTableCopy")]
#[must_use]
pub unsafe extern "C" fn grant_table_copy(op: *mut GnttabCopy, count: u32) -> NtStatus {
    let Ok(count) = usize::try_from(count) else {
        return STATUS_INVALID_PARAMETER;
    };
    if count == 0 {
        return STATUS_SUCCESS;
    }
    if op.is_null() || !op.is_aligned() {
        return STATUS_INVALID_PARAMETER;
    }
    // SAFETY: `count` writable, aligned operations by the caller's contract, used by no one else
    // during the call.
    let ops = unsafe { core::slice::from_raw_parts_mut(op, count) };
    status(hypercall("GrantTableCopy", |hv| {
        // SAFETY: the caller answers for the destinations, as this function's contract says.
        unsafe { gnttab::copy(hv, ops) }
    }))
}

/// `NTSTATUS GrantTableMapForeignPage(USHORT Domain, ULONG GrantRef, PHYSICAL_ADDRESS Address,
/// BOOLEAN ReadOnly, ULONG *Handle)`.
///
/// # Safety
/// `Address` may be replaced by the granted page until unmapped; `Handle` is NULL or writable.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "GrantTableMapForeignPage")]
#[must_use]
pub unsafe extern "C" fn grant_table_map_foreign_page(
    domain: u16,
    grant_ref: u32,
    address: i64,
    read_only: u8,
    handle: *mut u32,
) -> NtStatus {
    if handle.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    let r = hypercall("GrantTableMapForeignPage", |hv| {
        // SAFETY: the caller gives up `address` to the mapping, as this function's contract says.
        unsafe {
            gnttab::map_foreign_page(
                hv,
                domain,
                grant_ref,
                address.cast_unsigned(),
                read_only != 0,
            )
        }
    });
    // SAFETY: checked non-NULL; writable by the caller's contract.
    status(r.and_then(|h| unsafe { put(handle, h) }))
}

/// `NTSTATUS GrantTableUnmapForeignPage(ULONG Handle, PHYSICAL_ADDRESS Address)`.
///
/// # Safety
/// Nothing may still use the mapping at `Address`.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "GrantTableUnmapForeignPage")]
#[must_use]
pub unsafe extern "C" fn grant_table_unmap_foreign_page(handle: u32, address: i64) -> NtStatus {
    status(hypercall("GrantTableUnmapForeignPage", |hv| {
        // SAFETY: the caller no longer uses the mapping, as this function's contract says.
        unsafe { gnttab::unmap_foreign_page(hv, handle, address.cast_unsigned()) }
    }))
}

/// `NTSTATUS GrantTableQuerySize(uint32_t *Current, uint32_t *Maximum)`: either output may be
/// NULL.
///
/// # Safety
/// `current` and `maximum` are each NULL or writable.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "GrantTableQuerySize")]
#[must_use]
pub unsafe extern "C" fn grant_table_query_size(current: *mut u32, maximum: *mut u32) -> NtStatus {
    match hypercall("GrantTableQuerySize", |hv| gnttab::query_size(hv)) {
        Ok((c, m)) => {
            if !current.is_null() {
                // SAFETY: non-NULL and writable by the caller's contract.
                unsafe { current.write_unaligned(c) };
            }
            if !maximum.is_null() {
                // SAFETY: non-NULL and writable by the caller's contract.
                unsafe { maximum.write_unaligned(m) };
            }
            STATUS_SUCCESS
        }
        Err(e) => e,
    }
}
