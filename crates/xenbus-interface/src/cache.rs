// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `XENBUS_CACHE`: object caches (slabs with per-CPU magazines) with client constructors and
//! client locking.

use crate::{Boolean, Guid, NtStatus, Pcstr, Pinterface, Pvoid, Ulong, interface_table};

/// `GUID_XENBUS_CACHE_INTERFACE` {A98DFD78-416A-4949-92A5-E084F2F4B44E}.
pub const GUID_XENBUS_CACHE_INTERFACE: Guid =
    Guid::from_groups(0xA98D_FD78, 0x416A, 0x4949, 0x92A5, 0xE084_F2F4_B44E);
/// `XENBUS_CACHE_INTERFACE_VERSION_MIN`.
pub const XENBUS_CACHE_INTERFACE_VERSION_MIN: u16 = 1;
/// `XENBUS_CACHE_INTERFACE_VERSION_MAX`.
pub const XENBUS_CACHE_INTERFACE_VERSION_MAX: u16 = 2;

/// `PXENBUS_CACHE`: opaque handle.
pub type PxenbusCache = Pvoid;
/// `XENBUS_CACHE_CTOR`.
pub type XenbusCacheCtor = unsafe extern "C" fn(argument: Pvoid, object: Pvoid) -> NtStatus;
/// `XENBUS_CACHE_DTOR`.
pub type XenbusCacheDtor = unsafe extern "C" fn(argument: Pvoid, object: Pvoid);
/// `XENBUS_CACHE_ACQUIRE_LOCK`.
pub type XenbusCacheAcquireLock = unsafe extern "C" fn(argument: Pvoid);
/// `XENBUS_CACHE_RELEASE_LOCK`.
pub type XenbusCacheReleaseLock = unsafe extern "C" fn(argument: Pvoid);

/// `CacheAcquire`.
pub type CacheAcquire = unsafe extern "C" fn(interface: Pinterface) -> NtStatus;
/// `CacheRelease`.
pub type CacheRelease = unsafe extern "C" fn(interface: Pinterface);
/// `CacheCreateVersion1` (v1): no cap.
pub type CacheCreateVersion1 = unsafe extern "C" fn(
    interface: Pinterface,
    name: Pcstr,
    size: Ulong,
    reservation: Ulong,
    ctor: XenbusCacheCtor,
    dtor: XenbusCacheDtor,
    acquire_lock: XenbusCacheAcquireLock,
    release_lock: XenbusCacheReleaseLock,
    argument: Pvoid,
    cache: *mut PxenbusCache,
) -> NtStatus;
/// `CacheCreate` (v2): `cap` 0 means unlimited.
pub type CacheCreate = unsafe extern "C" fn(
    interface: Pinterface,
    name: Pcstr,
    size: Ulong,
    reservation: Ulong,
    cap: Ulong,
    ctor: XenbusCacheCtor,
    dtor: XenbusCacheDtor,
    acquire_lock: XenbusCacheAcquireLock,
    release_lock: XenbusCacheReleaseLock,
    argument: Pvoid,
    cache: *mut PxenbusCache,
) -> NtStatus;
/// `CacheGet`: NULL on failure.
pub type CacheGet =
    unsafe extern "C" fn(interface: Pinterface, cache: PxenbusCache, locked: Boolean) -> Pvoid;
/// `CachePut`.
pub type CachePut = unsafe extern "C" fn(
    interface: Pinterface,
    cache: PxenbusCache,
    object: Pvoid,
    locked: Boolean,
);
/// `CacheDestroy`: every object must have been returned.
pub type CacheDestroy = unsafe extern "C" fn(interface: Pinterface, cache: PxenbusCache);

interface_table!(
    GUID_XENBUS_CACHE_INTERFACE,
    /// `XENBUS_CACHE_INTERFACE_V1`.
    XenbusCacheInterfaceV1, 1, "XENBUS_CACHE_INTERFACE_V1" {
        cache_acquire: CacheAcquire => "CacheAcquire",
        cache_release: CacheRelease => "CacheRelease",
        cache_create_version1: CacheCreateVersion1 => "CacheCreateVersion1",
        cache_get: CacheGet => "CacheGet",
        cache_put: CachePut => "CachePut",
        cache_destroy: CacheDestroy => "CacheDestroy",
    }
);

interface_table!(
    GUID_XENBUS_CACHE_INTERFACE,
    /// `XENBUS_CACHE_INTERFACE_V2`: `CacheCreate` with a cap.
    XenbusCacheInterfaceV2, 2, "XENBUS_CACHE_INTERFACE_V2" {
        cache_acquire: CacheAcquire => "CacheAcquire",
        cache_release: CacheRelease => "CacheRelease",
        cache_create: CacheCreate => "CacheCreate",
        cache_get: CacheGet => "CacheGet",
        cache_put: CachePut => "CachePut",
        cache_destroy: CacheDestroy => "CacheDestroy",
    }
);
