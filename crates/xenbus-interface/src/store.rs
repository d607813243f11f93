// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `XENBUS_STORE`: xenstore access. `StorePrintf` is C-variadic. Read and Directory results are
//! NUL-terminated buffers children read directly and hand back through `StoreFree`.

use crate::{
    Boolean, Guid, NtStatus, Pcstr, Pinterface, Pkevent, Pstr, Pvoid, Ulong, Ushort,
    interface_table,
};

/// `GUID_XENBUS_STORE_INTERFACE` {86824C3B-D34E-4753-B281-2F1E3AD214D7}.
pub const GUID_XENBUS_STORE_INTERFACE: Guid =
    Guid::from_groups(0x8682_4C3B, 0xD34E, 0x4753, 0xB281, 0x2F1E_3AD2_14D7);
/// `XENBUS_STORE_INTERFACE_VERSION_MIN`.
pub const XENBUS_STORE_INTERFACE_VERSION_MIN: u16 = 2;
/// `XENBUS_STORE_INTERFACE_VERSION_MAX`.
pub const XENBUS_STORE_INTERFACE_VERSION_MAX: u16 = 2;

/// `PXENBUS_STORE_TRANSACTION`: opaque handle (NULL = no transaction).
pub type PxenbusStoreTransaction = Pvoid;
/// `PXENBUS_STORE_WATCH`: opaque handle.
pub type PxenbusStoreWatch = Pvoid;

/// `XENBUS_STORE_PERMISSION_MASK`.
pub type XenbusStorePermissionMask = i32;
/// `XENBUS_STORE_PERM_NONE`.
pub const XENBUS_STORE_PERM_NONE: XenbusStorePermissionMask = 0;
/// `XENBUS_STORE_PERM_READ`.
pub const XENBUS_STORE_PERM_READ: XenbusStorePermissionMask = 1;
/// `XENBUS_STORE_PERM_WRITE`.
pub const XENBUS_STORE_PERM_WRITE: XenbusStorePermissionMask = 2;

/// `XENBUS_STORE_PERMISSION` (8 bytes on x64: domain, padding, mask).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenbusStorePermission {
    /// `Domain`.
    pub domain: Ushort,
    /// `Mask`.
    pub mask: XenbusStorePermissionMask,
}

/// `StoreAcquire`.
pub type StoreAcquire = unsafe extern "C" fn(interface: Pinterface) -> NtStatus;
/// `StoreRelease`.
pub type StoreRelease = unsafe extern "C" fn(interface: Pinterface);
/// `StoreFree`: releases a buffer from Read or Directory.
pub type StoreFree = unsafe extern "C" fn(interface: Pinterface, buffer: Pstr);
/// `StoreRead`.
pub type StoreRead = unsafe extern "C" fn(
    interface: Pinterface,
    transaction: PxenbusStoreTransaction,
    prefix: Pstr,
    node: Pstr,
    buffer: *mut Pstr,
) -> NtStatus;
/// `StorePrintf` (C-variadic): formats the value, then writes it.
pub type StorePrintf = unsafe extern "C" fn(
    interface: Pinterface,
    transaction: PxenbusStoreTransaction,
    prefix: Pstr,
    node: Pstr,
    format: Pcstr,
    ...
) -> NtStatus;
/// `StorePermissionsSet`.
pub type StorePermissionsSet = unsafe extern "C" fn(
    interface: Pinterface,
    transaction: PxenbusStoreTransaction,
    prefix: Pstr,
    node: Pstr,
    permissions: *mut XenbusStorePermission,
    number_permissions: Ulong,
) -> NtStatus;
/// `StoreRemove`.
pub type StoreRemove = unsafe extern "C" fn(
    interface: Pinterface,
    transaction: PxenbusStoreTransaction,
    prefix: Pstr,
    node: Pstr,
) -> NtStatus;
/// `StoreDirectory`.
pub type StoreDirectory = unsafe extern "C" fn(
    interface: Pinterface,
    transaction: PxenbusStoreTransaction,
    prefix: Pstr,
    node: Pstr,
    buffer: *mut Pstr,
) -> NtStatus;
/// `StoreTransactionStart`.
pub type StoreTransactionStart = unsafe extern "C" fn(
    interface: Pinterface,
    transaction: *mut PxenbusStoreTransaction,
) -> NtStatus;
/// `StoreTransactionEnd`: `STATUS_RETRY` on conflict or after a suspend.
pub type StoreTransactionEnd = unsafe extern "C" fn(
    interface: Pinterface,
    transaction: PxenbusStoreTransaction,
    commit: Boolean,
) -> NtStatus;
/// `StoreWatchAdd`: `event` is signalled each time the watch fires.
pub type StoreWatchAdd = unsafe extern "C" fn(
    interface: Pinterface,
    prefix: Pstr,
    node: Pstr,
    event: Pkevent,
    watch: *mut PxenbusStoreWatch,
) -> NtStatus;
/// `StoreWatchRemove`.
pub type StoreWatchRemove =
    unsafe extern "C" fn(interface: Pinterface, watch: PxenbusStoreWatch) -> NtStatus;
/// `StorePoll`: process the ring now (for callers spinning at `DISPATCH_LEVEL`).
pub type StorePoll = unsafe extern "C" fn(interface: Pinterface);

interface_table!(
    GUID_XENBUS_STORE_INTERFACE,
    /// `XENBUS_STORE_INTERFACE_V2`.
    XenbusStoreInterfaceV2, 2, "XENBUS_STORE_INTERFACE_V2" {
        store_acquire: StoreAcquire => "StoreAcquire",
        store_release: StoreRelease => "StoreRelease",
        store_free: StoreFree => "StoreFree",
        store_read: StoreRead => "StoreRead",
        store_printf: StorePrintf => "StorePrintf",
        store_permissions_set: StorePermissionsSet => "StorePermissionsSet",
        store_remove: StoreRemove => "StoreRemove",
        store_directory: StoreDirectory => "StoreDirectory",
        store_transaction_start: StoreTransactionStart => "StoreTransactionStart",
        store_transaction_end: StoreTransactionEnd => "StoreTransactionEnd",
        store_watch_add: StoreWatchAdd => "StoreWatchAdd",
        store_watch_remove: StoreWatchRemove => "StoreWatchRemove",
        store_poll: StorePoll => "StorePoll",
    }
);
