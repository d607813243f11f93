// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Routines upstream's C xen.sys imports but calls only on paths our runs never take, bound so
//! the image loads and failing the run, naming the routine, if one is ever called:
//!
//! - `IoOpenDeviceRegistryKey`: upstream's `RegistryOpenHardwareKey` (`src/common/registry.c`),
//!   which nothing in xen.sys calls.
//!
//! A call is never silently answered: the run ends with `XTK-FAIL: fatal (verifier: NAME:
//! ...)`, so a test that reaches one of them shows it.

use crate::nt::verifier;

/// Fails the run: `name` was called, and the stand-in does not model it.
fn unmodelled(name: &'static str) -> ! {
    let call = verifier::enter(name);
    call.fail(format_args!(
        "called, but not modelled by the stand-in (see routines/unmodelled.rs)"
    ))
}

/// `NTSTATUS IoOpenDeviceRegistryKey(...)`.
pub extern "win64" fn io_open_device_registry_key() -> i32 {
    unmodelled("IoOpenDeviceRegistryKey")
}
