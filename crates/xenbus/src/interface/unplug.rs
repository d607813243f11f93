// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `XENBUS_UNPLUG` v1–v3 (v2 adds `UnplugIsRequested`, v3 `UnplugBootEmulated` and
//! `UnplugReboot`). A device type other than NICS or DISKS does nothing (FALSE); a NULL module
//! name is ignored.

use core::ffi::c_void;

use ntstatus::{NtStatus, STATUS_NOT_SUPPORTED};
use platform_port::Platform;
use xen_services::XenServices;
use xenbus_interface::unplug::{
    XenbusUnplugDeviceType, XenbusUnplugInterfaceV1, XenbusUnplugInterfaceV2,
    XenbusUnplugInterfaceV3,
};
use xenbus_interface::{Boolean, Pinterface, Pstr};

use super::util::{self, boolean, to_boolean};
use super::{Lifecycle, context, define_context, fill, header, lifecycle_methods};
use crate::unplug::{Unplug, UnplugDeviceType, UnplugError};

/// Longest module name read from the caller.
pub const MAX_MODULE_SCAN: usize = 4096;

/// The device type of a C value; `None` for `INVALID` and unknown values.
const fn device(kind: XenbusUnplugDeviceType) -> Option<UnplugDeviceType> {
    UnplugDeviceType::from_raw(kind.cast_unsigned())
}

/// What the UNPLUG context needs from the subsystem.
pub trait UnplugApi: Lifecycle {
    /// `UnplugRequest`: count a request up (`make`) or down.
    fn request(&self, device: UnplugDeviceType, make: bool);
    /// `UnplugIsRequested`: whether xen.sys unplugged the class at this boot.
    fn is_requested(&self, device: UnplugDeviceType) -> bool;
    /// `UnplugBootEmulated`.
    fn boot_emulated(&self) -> bool;
    /// `UnplugReboot`: ask for a reboot on behalf of `module`.
    fn reboot(&self, module: &[u8]);
}

impl<P: Platform, S: XenServices> Lifecycle for Unplug<P, S> {
    fn acquire(&self) -> Result<(), NtStatus> {
        Self::acquire(self).map_err(UnplugError::status)
    }

    fn release(&self) {
        Self::release(self);
    }
}

impl<P: Platform, S: XenServices> UnplugApi for Unplug<P, S> {
    fn request(&self, device: UnplugDeviceType, make: bool) {
        Self::request(self, device, make);
    }

    fn is_requested(&self, device: UnplugDeviceType) -> bool {
        Self::is_requested(self, device)
    }

    fn boot_emulated(&self) -> bool {
        Self::boot_emulated(self)
    }

    fn reboot(&self, module: &[u8]) {
        // The subsystem logs a refusal; the C method returns nothing.
        let _ = Self::reboot(self, module);
    }
}

define_context!(
    /// The `XENBUS_UNPLUG` context.
    UnplugContext, UnplugApi, b"XBUNPLUG" {}
);

impl UnplugContext {
    /// `UnplugGetInterface`.
    ///
    /// # Safety
    /// `buffer` must be NULL or writable for `size` bytes.
    pub(crate) unsafe fn get_interface(
        &self,
        version: u16,
        buffer: *mut c_void,
        size: u16,
    ) -> NtStatus {
        let context = core::ptr::from_ref(self).cast_mut().cast::<c_void>();
        match version {
            // SAFETY: forwarded buffer contract.
            1 => unsafe { fill(table_v1(context), buffer, size) },
            // SAFETY: forwarded buffer contract.
            2 => unsafe { fill(table_v2(context), buffer, size) },
            // SAFETY: forwarded buffer contract.
            3 => unsafe { fill(table_v3(context), buffer, size) },
            _ => STATUS_NOT_SUPPORTED,
        }
    }
}

lifecycle_methods!(UnplugContext, unplug_acquire, unplug_release);

unsafe extern "C" fn unplug_request(
    interface: Pinterface,
    kind: XenbusUnplugDeviceType,
    make: Boolean,
) {
    let context = context!(UnplugContext, interface);
    if let (Ok(api), Some(device)) = (context.api(), device(kind)) {
        api.request(device, boolean(make));
    }
}

unsafe extern "C" fn unplug_is_requested(
    interface: Pinterface,
    kind: XenbusUnplugDeviceType,
) -> Boolean {
    let context = context!(UnplugContext, interface, 0);
    match (context.api(), device(kind)) {
        (Ok(api), Some(device)) => to_boolean(api.is_requested(device)),
        _ => 0,
    }
}

unsafe extern "C" fn unplug_boot_emulated(interface: Pinterface) -> Boolean {
    let context = context!(UnplugContext, interface, 0);
    to_boolean(context.api().is_ok_and(UnplugApi::boot_emulated))
}

unsafe extern "C" fn unplug_reboot(interface: Pinterface, module: Pstr) {
    let context = context!(UnplugContext, interface);
    let Ok(api) = context.api() else {
        return;
    };
    // SAFETY: the caller's NUL-terminated module name.
    if let Ok(module) = unsafe { util::required_str(module, MAX_MODULE_SCAN) } {
        api.reboot(module);
    }
}

const fn table_v1(context: *mut c_void) -> XenbusUnplugInterfaceV1 {
    XenbusUnplugInterfaceV1 {
        interface: header::<XenbusUnplugInterfaceV1>(context),
        unplug_acquire,
        unplug_release,
        unplug_request,
    }
}

const fn table_v2(context: *mut c_void) -> XenbusUnplugInterfaceV2 {
    XenbusUnplugInterfaceV2 {
        interface: header::<XenbusUnplugInterfaceV2>(context),
        unplug_acquire,
        unplug_release,
        unplug_request,
        unplug_is_requested,
    }
}

const fn table_v3(context: *mut c_void) -> XenbusUnplugInterfaceV3 {
    XenbusUnplugInterfaceV3 {
        interface: header::<XenbusUnplugInterfaceV3>(context),
        unplug_acquire,
        unplug_release,
        unplug_request,
        unplug_is_requested,
        unplug_boot_emulated,
        unplug_reboot,
    }
}
