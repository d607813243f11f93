// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `XENBUS_EVTCHN`: event channels. `EvtchnOpen` is C-variadic; its extra arguments depend on the
//! channel type and, for VIRQ channels, on the interface version the caller holds.

use crate::{
    Boolean, Guid, KserviceRoutine, LargeInteger, NtStatus, Pinterface, Pvoid, Uchar, Ulong,
    Ushort, interface_table,
};

/// `GUID_XENBUS_EVTCHN_INTERFACE` {BE2440AC-1098-4150-AF4D-452FADCEF923}.
pub const GUID_XENBUS_EVTCHN_INTERFACE: Guid =
    Guid::from_groups(0xBE24_40AC, 0x1098, 0x4150, 0xAF4D, 0x452F_ADCE_F923);
/// `XENBUS_EVTCHN_INTERFACE_VERSION_MIN`.
pub const XENBUS_EVTCHN_INTERFACE_VERSION_MIN: u16 = 5;
/// `XENBUS_EVTCHN_INTERFACE_VERSION_MAX`.
pub const XENBUS_EVTCHN_INTERFACE_VERSION_MAX: u16 = 9;

/// `XENBUS_EVTCHN_TYPE`.
pub type XenbusEvtchnType = i32;
/// `XENBUS_EVTCHN_TYPE_INVALID`.
pub const XENBUS_EVTCHN_TYPE_INVALID: XenbusEvtchnType = 0;
/// `XENBUS_EVTCHN_TYPE_FIXED`: varargs `ULONG LocalPort, BOOLEAN Mask`.
pub const XENBUS_EVTCHN_TYPE_FIXED: XenbusEvtchnType = 1;
/// `XENBUS_EVTCHN_TYPE_UNBOUND`: varargs `USHORT RemoteDomain, BOOLEAN Mask`.
pub const XENBUS_EVTCHN_TYPE_UNBOUND: XenbusEvtchnType = 2;
/// `XENBUS_EVTCHN_TYPE_INTER_DOMAIN`: varargs `USHORT RemoteDomain, ULONG RemotePort, BOOLEAN
/// Mask`.
pub const XENBUS_EVTCHN_TYPE_INTER_DOMAIN: XenbusEvtchnType = 3;
/// `XENBUS_EVTCHN_TYPE_VIRQ`: varargs `ULONG Index`, plus `USHORT Group, UCHAR Number` from
/// version 9.
pub const XENBUS_EVTCHN_TYPE_VIRQ: XenbusEvtchnType = 4;

/// `PXENBUS_EVTCHN_CHANNEL`: opaque handle.
pub type PxenbusEvtchnChannel = Pvoid;

/// `EvtchnAcquire`.
pub type EvtchnAcquire = unsafe extern "C" fn(interface: Pinterface) -> NtStatus;
/// `EvtchnRelease`.
pub type EvtchnRelease = unsafe extern "C" fn(interface: Pinterface);
/// `EvtchnOpen` (C-variadic): returns NULL on failure.
pub type EvtchnOpen = unsafe extern "C" fn(
    interface: Pinterface,
    type_: XenbusEvtchnType,
    function: KserviceRoutine,
    argument: Pvoid,
    ...
) -> PxenbusEvtchnChannel;
/// `EvtchnBind`.
pub type EvtchnBind = unsafe extern "C" fn(
    interface: Pinterface,
    channel: PxenbusEvtchnChannel,
    group: Ushort,
    number: Uchar,
) -> NtStatus;
/// `EvtchnUnmaskVersion4` (v5-v7): unmask with `Force` = TRUE, no result.
pub type EvtchnUnmaskVersion4 = unsafe extern "C" fn(
    interface: Pinterface,
    channel: PxenbusEvtchnChannel,
    in_callback: Boolean,
);
/// `EvtchnUnmask` (v8+).
pub type EvtchnUnmask = unsafe extern "C" fn(
    interface: Pinterface,
    channel: PxenbusEvtchnChannel,
    in_callback: Boolean,
    force: Boolean,
) -> Boolean;
/// `EvtchnSendVersion1` (v5): raises to `DISPATCH_LEVEL` itself.
pub type EvtchnSendVersion1 =
    unsafe extern "C" fn(interface: Pinterface, channel: PxenbusEvtchnChannel);
/// `EvtchnSend` (v6+): the caller is already at `DISPATCH_LEVEL` or above.
pub type EvtchnSend = unsafe extern "C" fn(interface: Pinterface, channel: PxenbusEvtchnChannel);
/// `EvtchnTrigger`.
pub type EvtchnTrigger = unsafe extern "C" fn(interface: Pinterface, channel: PxenbusEvtchnChannel);
/// `EvtchnGetCount` (v7+).
pub type EvtchnGetCount =
    unsafe extern "C" fn(interface: Pinterface, channel: PxenbusEvtchnChannel) -> Ulong;
/// `EvtchnWaitVersion5` (v5-v6): wait for the next event.
pub type EvtchnWaitVersion5 = unsafe extern "C" fn(
    interface: Pinterface,
    channel: PxenbusEvtchnChannel,
    timeout: *mut LargeInteger,
) -> NtStatus;
/// `EvtchnWait` (v7+): wait until the channel's count reaches `count`.
pub type EvtchnWait = unsafe extern "C" fn(
    interface: Pinterface,
    channel: PxenbusEvtchnChannel,
    count: Ulong,
    timeout: *mut LargeInteger,
) -> NtStatus;
/// `EvtchnGetPort`.
pub type EvtchnGetPort =
    unsafe extern "C" fn(interface: Pinterface, channel: PxenbusEvtchnChannel) -> Ulong;
/// `EvtchnClose`.
pub type EvtchnClose = unsafe extern "C" fn(interface: Pinterface, channel: PxenbusEvtchnChannel);

interface_table!(
    GUID_XENBUS_EVTCHN_INTERFACE,
    /// `XENBUS_EVTCHN_INTERFACE_V5` (10 methods).
    XenbusEvtchnInterfaceV5, 5, "XENBUS_EVTCHN_INTERFACE_V5" {
        evtchn_acquire: EvtchnAcquire => "EvtchnAcquire",
        evtchn_release: EvtchnRelease => "EvtchnRelease",
        evtchn_open: EvtchnOpen => "EvtchnOpen",
        evtchn_bind: EvtchnBind => "EvtchnBind",
        evtchn_unmask_version4: EvtchnUnmaskVersion4 => "EvtchnUnmaskVersion4",
        evtchn_send_version1: EvtchnSendVersion1 => "EvtchnSendVersion1",
        evtchn_trigger: EvtchnTrigger => "EvtchnTrigger",
        evtchn_wait_version5: EvtchnWaitVersion5 => "EvtchnWaitVersion5",
        evtchn_get_port: EvtchnGetPort => "EvtchnGetPort",
        evtchn_close: EvtchnClose => "EvtchnClose",
    }
);

interface_table!(
    GUID_XENBUS_EVTCHN_INTERFACE,
    /// `XENBUS_EVTCHN_INTERFACE_V6`: `EvtchnSend` replaces `EvtchnSendVersion1`.
    XenbusEvtchnInterfaceV6, 6, "XENBUS_EVTCHN_INTERFACE_V6" {
        evtchn_acquire: EvtchnAcquire => "EvtchnAcquire",
        evtchn_release: EvtchnRelease => "EvtchnRelease",
        evtchn_open: EvtchnOpen => "EvtchnOpen",
        evtchn_bind: EvtchnBind => "EvtchnBind",
        evtchn_unmask_version4: EvtchnUnmaskVersion4 => "EvtchnUnmaskVersion4",
        evtchn_send: EvtchnSend => "EvtchnSend",
        evtchn_trigger: EvtchnTrigger => "EvtchnTrigger",
        evtchn_wait_version5: EvtchnWaitVersion5 => "EvtchnWaitVersion5",
        evtchn_get_port: EvtchnGetPort => "EvtchnGetPort",
        evtchn_close: EvtchnClose => "EvtchnClose",
    }
);

interface_table!(
    GUID_XENBUS_EVTCHN_INTERFACE,
    /// `XENBUS_EVTCHN_INTERFACE_V7`: `EvtchnGetCount` inserted before the 4-argument
    /// `EvtchnWait` (11 methods).
    XenbusEvtchnInterfaceV7, 7, "XENBUS_EVTCHN_INTERFACE_V7" {
        evtchn_acquire: EvtchnAcquire => "EvtchnAcquire",
        evtchn_release: EvtchnRelease => "EvtchnRelease",
        evtchn_open: EvtchnOpen => "EvtchnOpen",
        evtchn_bind: EvtchnBind => "EvtchnBind",
        evtchn_unmask_version4: EvtchnUnmaskVersion4 => "EvtchnUnmaskVersion4",
        evtchn_send: EvtchnSend => "EvtchnSend",
        evtchn_trigger: EvtchnTrigger => "EvtchnTrigger",
        evtchn_get_count: EvtchnGetCount => "EvtchnGetCount",
        evtchn_wait: EvtchnWait => "EvtchnWait",
        evtchn_get_port: EvtchnGetPort => "EvtchnGetPort",
        evtchn_close: EvtchnClose => "EvtchnClose",
    }
);

interface_table!(
    GUID_XENBUS_EVTCHN_INTERFACE,
    /// `XENBUS_EVTCHN_INTERFACE_V8`: `EvtchnUnmask` (4 arguments, returns BOOLEAN).
    XenbusEvtchnInterfaceV8, 8, "XENBUS_EVTCHN_INTERFACE_V8" {
        evtchn_acquire: EvtchnAcquire => "EvtchnAcquire",
        evtchn_release: EvtchnRelease => "EvtchnRelease",
        evtchn_open: EvtchnOpen => "EvtchnOpen",
        evtchn_bind: EvtchnBind => "EvtchnBind",
        evtchn_unmask: EvtchnUnmask => "EvtchnUnmask",
        evtchn_send: EvtchnSend => "EvtchnSend",
        evtchn_trigger: EvtchnTrigger => "EvtchnTrigger",
        evtchn_get_count: EvtchnGetCount => "EvtchnGetCount",
        evtchn_wait: EvtchnWait => "EvtchnWait",
        evtchn_get_port: EvtchnGetPort => "EvtchnGetPort",
        evtchn_close: EvtchnClose => "EvtchnClose",
    }
);

interface_table!(
    GUID_XENBUS_EVTCHN_INTERFACE,
    /// `XENBUS_EVTCHN_INTERFACE_V9`: the v8 layout; only VIRQ `EvtchnOpen` varargs differ
    /// (`Group` and `Number` follow `Index`).
    XenbusEvtchnInterfaceV9, 9, "XENBUS_EVTCHN_INTERFACE_V9" {
        evtchn_acquire: EvtchnAcquire => "EvtchnAcquire",
        evtchn_release: EvtchnRelease => "EvtchnRelease",
        evtchn_open: EvtchnOpen => "EvtchnOpen",
        evtchn_bind: EvtchnBind => "EvtchnBind",
        evtchn_unmask: EvtchnUnmask => "EvtchnUnmask",
        evtchn_send: EvtchnSend => "EvtchnSend",
        evtchn_trigger: EvtchnTrigger => "EvtchnTrigger",
        evtchn_get_count: EvtchnGetCount => "EvtchnGetCount",
        evtchn_wait: EvtchnWait => "EvtchnWait",
        evtchn_get_port: EvtchnGetPort => "EvtchnGetPort",
        evtchn_close: EvtchnClose => "EvtchnClose",
    }
);
