// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `XENBUS_GNTTAB`: granting our pages to other domains and mapping theirs.

use crate::cache::{XenbusCacheAcquireLock, XenbusCacheReleaseLock};
use crate::{
    Boolean, Guid, LargeInteger, NtStatus, Pcstr, PfnNumber, Pinterface, Pvoid, Ulong, Ushort,
    interface_table,
};

/// `GUID_XENBUS_GNTTAB_INTERFACE` {763679C5-E5C2-4A6D-8B88-6BB02EC42D8E}.
pub const GUID_XENBUS_GNTTAB_INTERFACE: Guid =
    Guid::from_groups(0x7636_79C5, 0xE5C2, 0x4A6D, 0x8B88, 0x6BB0_2EC4_2D8E);
/// `XENBUS_GNTTAB_INTERFACE_VERSION_MIN`.
pub const XENBUS_GNTTAB_INTERFACE_VERSION_MIN: u16 = 2;
/// `XENBUS_GNTTAB_INTERFACE_VERSION_MAX`.
pub const XENBUS_GNTTAB_INTERFACE_VERSION_MAX: u16 = 4;

/// `XENBUS_GNTTAB_CONSOLE_REFERENCE`: the reserved grant of the PV console page.
pub const XENBUS_GNTTAB_CONSOLE_REFERENCE: Ulong = 0;
/// `XENBUS_GNTTAB_STORE_REFERENCE`: the reserved grant of the xenstore page.
pub const XENBUS_GNTTAB_STORE_REFERENCE: Ulong = 1;

/// `PXENBUS_GNTTAB_ENTRY`: opaque handle.
pub type PxenbusGnttabEntry = Pvoid;
/// `PXENBUS_GNTTAB_CACHE`: opaque handle.
pub type PxenbusGnttabCache = Pvoid;

/// `GnttabAcquire`.
pub type GnttabAcquire = unsafe extern "C" fn(interface: Pinterface) -> NtStatus;
/// `GnttabRelease`.
pub type GnttabRelease = unsafe extern "C" fn(interface: Pinterface);
/// `GnttabCreateCacheVersion1` (v2, v3): no cap.
pub type GnttabCreateCacheVersion1 = unsafe extern "C" fn(
    interface: Pinterface,
    name: Pcstr,
    reservation: Ulong,
    acquire_lock: XenbusCacheAcquireLock,
    release_lock: XenbusCacheReleaseLock,
    argument: Pvoid,
    cache: *mut PxenbusGnttabCache,
) -> NtStatus;
/// `GnttabCreateCache` (v4).
pub type GnttabCreateCache = unsafe extern "C" fn(
    interface: Pinterface,
    name: Pcstr,
    reservation: Ulong,
    cap: Ulong,
    acquire_lock: XenbusCacheAcquireLock,
    release_lock: XenbusCacheReleaseLock,
    argument: Pvoid,
    cache: *mut PxenbusGnttabCache,
) -> NtStatus;
/// `GnttabPermitForeignAccess`.
pub type GnttabPermitForeignAccess = unsafe extern "C" fn(
    interface: Pinterface,
    cache: PxenbusGnttabCache,
    locked: Boolean,
    domain: Ushort,
    pfn: PfnNumber,
    read_only: Boolean,
    entry: *mut PxenbusGnttabEntry,
) -> NtStatus;
/// `GnttabRevokeForeignAccess`.
pub type GnttabRevokeForeignAccess = unsafe extern "C" fn(
    interface: Pinterface,
    cache: PxenbusGnttabCache,
    locked: Boolean,
    entry: PxenbusGnttabEntry,
) -> NtStatus;
/// `GnttabGetReference`.
pub type GnttabGetReference =
    unsafe extern "C" fn(interface: Pinterface, entry: PxenbusGnttabEntry) -> Ulong;
/// `GnttabQueryReference` (v3+).
pub type GnttabQueryReference = unsafe extern "C" fn(
    interface: Pinterface,
    reference: Ulong,
    pfn: *mut PfnNumber,
    read_only: *mut Boolean,
) -> NtStatus;
/// `GnttabDestroyCache`.
pub type GnttabDestroyCache =
    unsafe extern "C" fn(interface: Pinterface, cache: PxenbusGnttabCache);
/// `GnttabMapForeignPages`.
pub type GnttabMapForeignPages = unsafe extern "C" fn(
    interface: Pinterface,
    domain: Ushort,
    number_pages: Ulong,
    references: *mut Ulong,
    read_only: Boolean,
    address: *mut LargeInteger,
) -> NtStatus;
/// `GnttabUnmapForeignPages`.
pub type GnttabUnmapForeignPages =
    unsafe extern "C" fn(interface: Pinterface, address: LargeInteger) -> NtStatus;

interface_table!(
    GUID_XENBUS_GNTTAB_INTERFACE,
    /// `XENBUS_GNTTAB_INTERFACE_V2` (9 methods).
    XenbusGnttabInterfaceV2, 2, "XENBUS_GNTTAB_INTERFACE_V2" {
        gnttab_acquire: GnttabAcquire => "GnttabAcquire",
        gnttab_release: GnttabRelease => "GnttabRelease",
        gnttab_create_cache_version1: GnttabCreateCacheVersion1 => "GnttabCreateCacheVersion1",
        gnttab_permit_foreign_access: GnttabPermitForeignAccess => "GnttabPermitForeignAccess",
        gnttab_revoke_foreign_access: GnttabRevokeForeignAccess => "GnttabRevokeForeignAccess",
        gnttab_get_reference: GnttabGetReference => "GnttabGetReference",
        gnttab_destroy_cache: GnttabDestroyCache => "GnttabDestroyCache",
        gnttab_map_foreign_pages: GnttabMapForeignPages => "GnttabMapForeignPages",
        gnttab_unmap_foreign_pages: GnttabUnmapForeignPages => "GnttabUnmapForeignPages",
    }
);

interface_table!(
    GUID_XENBUS_GNTTAB_INTERFACE,
    /// `XENBUS_GNTTAB_INTERFACE_V3`: `GnttabQueryReference` added at slot 6.
    XenbusGnttabInterfaceV3, 3, "XENBUS_GNTTAB_INTERFACE_V3" {
        gnttab_acquire: GnttabAcquire => "GnttabAcquire",
        gnttab_release: GnttabRelease => "GnttabRelease",
        gnttab_create_cache_version1: GnttabCreateCacheVersion1 => "GnttabCreateCacheVersion1",
        gnttab_permit_foreign_access: GnttabPermitForeignAccess => "GnttabPermitForeignAccess",
        gnttab_revoke_foreign_access: GnttabRevokeForeignAccess => "GnttabRevokeForeignAccess",
        gnttab_get_reference: GnttabGetReference => "GnttabGetReference",
        gnttab_query_reference: GnttabQueryReference => "GnttabQueryReference",
        gnttab_destroy_cache: GnttabDestroyCache => "GnttabDestroyCache",
        gnttab_map_foreign_pages: GnttabMapForeignPages => "GnttabMapForeignPages",
        gnttab_unmap_foreign_pages: GnttabUnmapForeignPages => "GnttabUnmapForeignPages",
    }
);

interface_table!(
    GUID_XENBUS_GNTTAB_INTERFACE,
    /// `XENBUS_GNTTAB_INTERFACE_V4`: `GnttabCreateCache` with a cap.
    XenbusGnttabInterfaceV4, 4, "XENBUS_GNTTAB_INTERFACE_V4" {
        gnttab_acquire: GnttabAcquire => "GnttabAcquire",
        gnttab_release: GnttabRelease => "GnttabRelease",
        gnttab_create_cache: GnttabCreateCache => "GnttabCreateCache",
        gnttab_permit_foreign_access: GnttabPermitForeignAccess => "GnttabPermitForeignAccess",
        gnttab_revoke_foreign_access: GnttabRevokeForeignAccess => "GnttabRevokeForeignAccess",
        gnttab_get_reference: GnttabGetReference => "GnttabGetReference",
        gnttab_query_reference: GnttabQueryReference => "GnttabQueryReference",
        gnttab_destroy_cache: GnttabDestroyCache => "GnttabDestroyCache",
        gnttab_map_foreign_pages: GnttabMapForeignPages => "GnttabMapForeignPages",
        gnttab_unmap_foreign_pages: GnttabUnmapForeignPages => "GnttabUnmapForeignPages",
    }
);
