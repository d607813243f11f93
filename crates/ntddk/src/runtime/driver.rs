// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! What every driver entry point does the same way: report the image's version, open the
//! service's `Parameters` key, and register its plug-and-play routines.

use crate::registry::Key;
use crate::types::{DRIVER_ADD_DEVICE, DRIVER_DISPATCH, DRIVER_OBJECT, NTSTATUS, UNICODE_STRING};

/// Prints `<module>|DriverEntry: <major>.<minor>.<micro> (<build>)`, upstream's first line.
pub fn print_version(module: &str, version: [u32; 4]) {
    let [major, minor, micro, build] = version;
    super::print_fmt(
        crate::consts::DPFLTR_INFO_LEVEL,
        format_args!("{module}|DriverEntry: {major}.{minor}.{micro} ({build})\n"),
    );
}

/// Opens `<service key>\Parameters` for reading, logging a failure as
/// `<module>|DriverEntry: cannot open Parameters (<status>)` (PASSIVE_LEVEL).
///
/// # Errors
/// The status of opening the service key or its `Parameters` subkey.
pub fn open_parameters(module: &str, service: &mut UNICODE_STRING) -> Result<Key, NTSTATUS> {
    let read = crate::consts::KEY_READ;
    Key::open_unicode(None, service, read)
        .and_then(|service| Key::open(Some(&service), "Parameters", read))
        .inspect_err(|status| {
            super::print_fmt(
                crate::consts::DPFLTR_ERROR_LEVEL,
                format_args!(
                    "{module}|DriverEntry: cannot open Parameters ({:08x})\n",
                    status.cast_unsigned()
                ),
            );
        })
}

/// Registers `add_device` and routes every `IRP_MJ_*` to `dispatch`.
pub fn register(
    driver: &mut DRIVER_OBJECT,
    add_device: DRIVER_ADD_DEVICE,
    dispatch: DRIVER_DISPATCH,
) {
    // SAFETY: the I/O manager allocates the driver extension with the driver object.
    if let Some(extension) = unsafe { driver.DriverExtension.as_mut() } {
        extension.AddDevice = Some(add_device);
    }
    for slot in &mut driver.MajorFunction {
        *slot = Some(dispatch);
    }
}
