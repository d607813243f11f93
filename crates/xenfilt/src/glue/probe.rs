// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Asking a device stack for its IDs and location, each answer read bounded and handed to the
//! core's parsers ([`crate::id`]). PASSIVE_LEVEL.

use ntddk::runtime::pnp;
use ntddk::{BUS_QUERY_ID_TYPE, DEVICE_OBJECT, DeviceTextLocationInformation, NTSTATUS};

use crate::id::{Id, IdList, MAX_ID_LEN, MAX_ID_LIST_LEN, MAX_TEXT_LEN, Text};
use crate::pdo::ProbeError;

/// An answer as the core's parsers take it: a failed query is its status; a success without a
/// buffer is an empty answer (which no parser accepts).
fn units(
    answer: Result<Option<alloc::vec::Vec<u16>>, NTSTATUS>,
) -> Result<alloc::vec::Vec<u16>, ProbeError> {
    answer
        .map(Option::unwrap_or_default)
        .map_err(ProbeError::Status)
}

/// `IRP_MN_QUERY_ID` of a single ID (`BusQueryDeviceID`, `BusQueryInstanceID`), at most
/// [`MAX_ID_LEN`] characters and its NUL read.
///
/// # Safety
/// `device` is our lower device (or, with `top`, a PDO the caller holds).
pub unsafe fn id(
    device: *mut DEVICE_OBJECT,
    top: bool,
    kind: BUS_QUERY_ID_TYPE,
) -> Result<Id, ProbeError> {
    // SAFETY: the caller's contract.
    let answer = unsafe { pnp::query_id(device, top, kind, MAX_ID_LEN.saturating_add(1)) };
    Id::from_utf16(&units(answer)?).map_err(ProbeError::Malformed)
}

/// `IRP_MN_QUERY_ID` of an ID list (`BusQueryHardwareIDs`, `BusQueryCompatibleIDs`), at most
/// [`MAX_ID_LIST_LEN`] units and one more read.
///
/// # Safety
/// As [`id`].
pub unsafe fn id_list(
    device: *mut DEVICE_OBJECT,
    top: bool,
    kind: BUS_QUERY_ID_TYPE,
) -> Result<IdList, ProbeError> {
    // SAFETY: the caller's contract.
    let answer = unsafe { pnp::query_id(device, top, kind, MAX_ID_LIST_LEN.saturating_add(1)) };
    IdList::from_utf16(&units(answer)?).map_err(ProbeError::Malformed)
}

/// `IRP_MN_QUERY_DEVICE_TEXT` for `DeviceTextLocationInformation`, at most [`MAX_TEXT_LEN`]
/// characters and its NUL read.
///
/// # Safety
/// `device` is our lower device.
pub unsafe fn location(device: *mut DEVICE_OBJECT) -> Result<Text, ProbeError> {
    // SAFETY: the caller's contract.
    let answer = unsafe {
        pnp::query_text(
            device,
            false,
            DeviceTextLocationInformation,
            MAX_TEXT_LEN.saturating_add(1),
        )
    };
    Text::from_utf16(&units(answer)?).map_err(ProbeError::Malformed)
}
