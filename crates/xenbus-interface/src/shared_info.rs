// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `XENBUS_SHARED_INFO`: the shared-info page's 2-level event bits, upcall flags and wall clock.

use crate::{Boolean, Guid, LargeInteger, NtStatus, Pinterface, Pvoid, Ulong, interface_table};

/// `GUID_XENBUS_SHARED_INFO_INTERFACE` {7E73C34F-1640-4649-A8F3-263BC930A004}.
pub const GUID_XENBUS_SHARED_INFO_INTERFACE: Guid =
    Guid::from_groups(0x7E73_C34F, 0x1640, 0x4649, 0xA8F3, 0x263B_C930_A004);
/// `XENBUS_SHARED_INFO_INTERFACE_VERSION_MIN`.
pub const XENBUS_SHARED_INFO_INTERFACE_VERSION_MIN: u16 = 2;
/// `XENBUS_SHARED_INFO_INTERFACE_VERSION_MAX`.
pub const XENBUS_SHARED_INFO_INTERFACE_VERSION_MAX: u16 = 4;

/// `XENBUS_SHARED_INFO_EVENT`: called for each pending port found by a poll.
pub type XenbusSharedInfoEvent = unsafe extern "C" fn(argument: Pvoid, port: Ulong) -> Boolean;

/// `SharedInfoAcquire`.
pub type SharedInfoAcquire = unsafe extern "C" fn(interface: Pinterface) -> NtStatus;
/// `SharedInfoRelease`.
pub type SharedInfoRelease = unsafe extern "C" fn(interface: Pinterface);
/// `SharedInfoUpcallSupported` (v4).
pub type SharedInfoUpcallSupported =
    unsafe extern "C" fn(interface: Pinterface, index: Ulong) -> Boolean;
/// `SharedInfoUpcallPending`.
pub type SharedInfoUpcallPending =
    unsafe extern "C" fn(interface: Pinterface, index: Ulong) -> Boolean;
/// `SharedInfoEvtchnPoll`.
pub type SharedInfoEvtchnPoll = unsafe extern "C" fn(
    interface: Pinterface,
    index: Ulong,
    event: XenbusSharedInfoEvent,
    argument: Pvoid,
) -> Boolean;
/// `SharedInfoEvtchnAck`.
pub type SharedInfoEvtchnAck = unsafe extern "C" fn(interface: Pinterface, port: Ulong);
/// `SharedInfoEvtchnMask`.
pub type SharedInfoEvtchnMask = unsafe extern "C" fn(interface: Pinterface, port: Ulong);
/// `SharedInfoEvtchnUnmask`: returns whether the port is pending.
pub type SharedInfoEvtchnUnmask =
    unsafe extern "C" fn(interface: Pinterface, port: Ulong) -> Boolean;
/// `SharedInfoGetTimeVersion2`: the wall clock returned by value (v2).
pub type SharedInfoGetTimeVersion2 = unsafe extern "C" fn(interface: Pinterface) -> LargeInteger;
/// `SharedInfoGetTime`: the wall clock and whether it is local time (v3+).
pub type SharedInfoGetTime =
    unsafe extern "C" fn(interface: Pinterface, time: *mut LargeInteger, local: *mut Boolean);

interface_table!(
    GUID_XENBUS_SHARED_INFO_INTERFACE,
    /// `XENBUS_SHARED_INFO_INTERFACE_V2`.
    XenbusSharedInfoInterfaceV2, 2, "XENBUS_SHARED_INFO_INTERFACE_V2" {
        shared_info_acquire: SharedInfoAcquire => "SharedInfoAcquire",
        shared_info_release: SharedInfoRelease => "SharedInfoRelease",
        shared_info_upcall_pending: SharedInfoUpcallPending => "SharedInfoUpcallPending",
        shared_info_evtchn_poll: SharedInfoEvtchnPoll => "SharedInfoEvtchnPoll",
        shared_info_evtchn_ack: SharedInfoEvtchnAck => "SharedInfoEvtchnAck",
        shared_info_evtchn_mask: SharedInfoEvtchnMask => "SharedInfoEvtchnMask",
        shared_info_evtchn_unmask: SharedInfoEvtchnUnmask => "SharedInfoEvtchnUnmask",
        shared_info_get_time_version2: SharedInfoGetTimeVersion2 => "SharedInfoGetTimeVersion2",
    }
);

interface_table!(
    GUID_XENBUS_SHARED_INFO_INTERFACE,
    /// `XENBUS_SHARED_INFO_INTERFACE_V3`.
    XenbusSharedInfoInterfaceV3, 3, "XENBUS_SHARED_INFO_INTERFACE_V3" {
        shared_info_acquire: SharedInfoAcquire => "SharedInfoAcquire",
        shared_info_release: SharedInfoRelease => "SharedInfoRelease",
        shared_info_upcall_pending: SharedInfoUpcallPending => "SharedInfoUpcallPending",
        shared_info_evtchn_poll: SharedInfoEvtchnPoll => "SharedInfoEvtchnPoll",
        shared_info_evtchn_ack: SharedInfoEvtchnAck => "SharedInfoEvtchnAck",
        shared_info_evtchn_mask: SharedInfoEvtchnMask => "SharedInfoEvtchnMask",
        shared_info_evtchn_unmask: SharedInfoEvtchnUnmask => "SharedInfoEvtchnUnmask",
        shared_info_get_time: SharedInfoGetTime => "SharedInfoGetTime",
    }
);

interface_table!(
    GUID_XENBUS_SHARED_INFO_INTERFACE,
    /// `XENBUS_SHARED_INFO_INTERFACE_V4`: v3 with `SharedInfoUpcallSupported` inserted at slot 2.
    XenbusSharedInfoInterfaceV4, 4, "XENBUS_SHARED_INFO_INTERFACE_V4" {
        shared_info_acquire: SharedInfoAcquire => "SharedInfoAcquire",
        shared_info_release: SharedInfoRelease => "SharedInfoRelease",
        shared_info_upcall_supported: SharedInfoUpcallSupported => "SharedInfoUpcallSupported",
        shared_info_upcall_pending: SharedInfoUpcallPending => "SharedInfoUpcallPending",
        shared_info_evtchn_poll: SharedInfoEvtchnPoll => "SharedInfoEvtchnPoll",
        shared_info_evtchn_ack: SharedInfoEvtchnAck => "SharedInfoEvtchnAck",
        shared_info_evtchn_mask: SharedInfoEvtchnMask => "SharedInfoEvtchnMask",
        shared_info_evtchn_unmask: SharedInfoEvtchnUnmask => "SharedInfoEvtchnUnmask",
        shared_info_get_time: SharedInfoGetTime => "SharedInfoGetTime",
    }
);
