// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Windows glue: allocator, panic handler and the driver entry point.
//!
//! Only the link-level pieces exist so far. The entry point refuses to load the driver with
//! `STATUS_NOT_IMPLEMENTED` until the glue that wires the portable core to the kernel lands, so
//! an early build can never pretend to be a working driver.

extern crate wdk_panic;

use wdk_alloc::WdkAllocator;
use wdk_sys::{DRIVER_OBJECT, NTSTATUS, PCUNICODE_STRING};

#[global_allocator]
static GLOBAL_ALLOCATOR: WdkAllocator = WdkAllocator;

/// `STATUS_NOT_IMPLEMENTED` (0xC0000002), spelled from its bit pattern.
const STATUS_NOT_IMPLEMENTED: NTSTATUS = NTSTATUS::from_ne_bytes(0xC000_0002_u32.to_ne_bytes());

/// The driver entry point the I/O manager calls on load.
///
/// # Safety
///
/// Called only by the I/O manager, with a valid driver object and registry path.
// SAFETY: the I/O manager resolves this exact, unmangled name as the image entry point.
#[unsafe(export_name = "DriverEntry")]
pub unsafe extern "system" fn driver_entry(
    _driver: &mut DRIVER_OBJECT,
    _registry_path: PCUNICODE_STRING,
) -> NTSTATUS {
    STATUS_NOT_IMPLEMENTED
}
