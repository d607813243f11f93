// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `XENBUS_DEBUG` v1 (slot order: Printf before Trigger before Deregister).
//!
//! `DebugPrintf` is C-variadic: the entry thunks hand the `va_list` to the subsystem's MSVC
//! engine, which logs the text after the current callback's prefix. `DebugTrigger` with NULL runs every callback; with an unknown
//! handle it does nothing.

use alloc::sync::Arc;
use core::ffi::c_void;

use kprintf::ArgSource;
use ntstatus::{NtStatus, STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED};
use platform_port::Platform;
use xenbus_interface::debug::{
    DebugRegister, PxenbusDebugCallback, XenbusDebugFunction, XenbusDebugInterfaceV1,
};
use xenbus_interface::{Pcstr, Pinterface, Pstr, Pvoid};

use super::util::{self, to_boolean};
use super::{
    Handles, Lifecycle, Object, context, define_context, fill, header, lifecycle_methods, status_of,
};
use crate::debug::{Debug, DebugCallback, DebugError, DebugFunction, Origin};

/// Longest prefix or format read from the caller (the subsystem keeps at most 31 bytes of a
/// prefix).
pub const MAX_STRING_SCAN: usize = 4096;

/// What the DEBUG context needs from the subsystem.
pub trait DebugApi: Lifecycle {
    /// `DebugRegister`.
    ///
    /// # Errors
    /// The subsystem's status.
    fn register(
        &self,
        prefix: &[u8],
        callback: DebugFunction,
        origin: Origin,
    ) -> Result<Object, NtStatus>;
    /// `DebugPrintf`: formats with the MSVC engine and logs after the current prefix.
    fn printf(&self, format: &[u8], args: &mut dyn ArgSource<'_>);
    /// `DebugTrigger`: one callback, or all of them.
    fn trigger(&self, callback: Option<&Object>);
    /// `DebugDeregister`.
    ///
    /// # Errors
    /// A callback this subsystem does not hold.
    fn deregister(&self, callback: &Object) -> Result<(), NtStatus>;
}

impl<P: Platform> Lifecycle for Debug<P> {
    fn acquire(&self) -> Result<(), NtStatus> {
        Self::acquire(self).map_err(DebugError::status)
    }

    fn release(&self) {
        Self::release(self);
    }
}

impl<P: Platform> DebugApi for Debug<P> {
    fn register(
        &self,
        prefix: &[u8],
        callback: DebugFunction,
        origin: Origin,
    ) -> Result<Object, NtStatus> {
        let callback =
            Self::register(self, prefix, callback, origin).map_err(DebugError::status)?;
        Ok(callback)
    }

    fn printf(&self, format: &[u8], args: &mut dyn ArgSource<'_>) {
        self.printf_c(format, args);
    }

    fn trigger(&self, callback: Option<&Object>) {
        match callback {
            None => Self::trigger(self, None),
            Some(object) => {
                if let Ok(callback) = Arc::clone(object).downcast::<DebugCallback>() {
                    Self::trigger(self, Some(&callback));
                }
            }
        }
    }

    fn deregister(&self, callback: &Object) -> Result<(), NtStatus> {
        let callback = Arc::clone(callback)
            .downcast::<DebugCallback>()
            .map_err(|_| STATUS_INVALID_PARAMETER)?;
        Self::deregister(self, &callback).map_err(DebugError::status)
    }
}

define_context!(
    /// The `XENBUS_DEBUG` context.
    DebugContext, DebugApi, b"XBDEBUG\0" {
        callbacks: Handles<Object>,
    }
);

impl DebugContext {
    /// Callbacks registered and not deregistered.
    #[must_use]
    pub fn outstanding(&self) -> usize {
        self.callbacks.len()
    }

    /// `DebugGetInterface`.
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
            _ => STATUS_NOT_SUPPORTED,
        }
    }
}

lifecycle_methods!(DebugContext, debug_acquire, debug_release);

unsafe extern "C" fn debug_register(
    interface: Pinterface,
    prefix: Pstr,
    function: Option<XenbusDebugFunction>,
    argument: Pvoid,
    callback: *mut PxenbusDebugCallback,
) -> NtStatus {
    let context = context!(DebugContext, interface, STATUS_INVALID_PARAMETER);
    let run = || -> Result<(), NtStatus> {
        let api = context.api()?;
        // SAFETY: the caller's NUL-terminated prefix.
        let prefix = unsafe { util::required_str(prefix, MAX_STRING_SCAN) }?;
        let function = function.ok_or(STATUS_INVALID_PARAMETER)?;
        if callback.is_null() {
            return Err(STATUS_INVALID_PARAMETER);
        }
        let origin = Origin {
            function: function as usize,
            argument: argument.addr(),
            caller: 0,
        };
        let argument = argument.expose_provenance();
        let call: DebugFunction = Arc::new(move |crashing| {
            let argument = core::ptr::with_exposed_provenance_mut::<c_void>(argument);
            // SAFETY: the child's function and argument, valid until it deregisters.
            unsafe { function(argument, to_boolean(crashing)) };
        });
        let object = api.register(prefix, call, origin)?;
        let Some(handle) = context.callbacks.insert(Arc::clone(&object)) else {
            let _ = api.deregister(&object);
            return Err(ntstatus::STATUS_INSUFFICIENT_RESOURCES);
        };
        // SAFETY: checked non-NULL; the caller's out-parameter.
        unsafe { util::write_out(callback, handle) };
        Ok(())
    };
    status_of(run())
}

/// `DebugPrintf`'s body, shared by both entry thunks.
///
/// # Safety
/// The arguments as `DebugPrintf` receives them; `args` reads the caller's variadic arguments,
/// which match `format`.
unsafe fn printf_common(interface: Pinterface, format: Pcstr, args: &mut dyn ArgSource<'_>) {
    let context = context!(DebugContext, interface);
    let Ok(api) = context.api() else {
        return;
    };
    // SAFETY: the caller's NUL-terminated format.
    let Ok(format) = (unsafe { util::required_str(format, MAX_STRING_SCAN) }) else {
        return;
    };
    api.printf(format, args);
}

#[cfg(not(windows))]
unsafe extern "sysv64" fn debug_printf_sysv(
    interface: Pinterface,
    format: Pcstr,
    va: kprintf::RawSysVVaList,
) {
    // SAFETY: the thunk passes the caller's `va_list`, whose arguments match `format`.
    let mut args = unsafe { kprintf::SysVVaList::new(va) };
    // SAFETY: the caller's arguments, unchanged.
    unsafe { printf_common(interface, format, &mut args) }
}

unsafe extern "win64" fn debug_printf_win64(
    interface: Pinterface,
    format: Pcstr,
    va: kprintf::RawWin64VaList,
) {
    // SAFETY: the thunk passes the caller's `va_list`, whose arguments match `format`.
    let mut args = unsafe { kprintf::Win64VaList::new(va) };
    // SAFETY: the caller's arguments, unchanged.
    unsafe { printf_common(interface, format, &mut args) }
}

#[cfg(not(windows))]
kprintf::sysv64_variadic_thunk! {
    /// `DebugPrintf` entry, System V (host builds).
    pub fn xenbus_debug_printf_sysv(Pinterface, Pcstr, ...) -> () => debug_printf_sysv;
}

kprintf::win64_variadic_thunk! {
    /// `DebugPrintf` entry, Microsoft x64.
    pub fn xenbus_debug_printf_win64(Pinterface, Pcstr, ...) -> () => debug_printf_win64;
}

#[cfg(windows)]
const DEBUG_PRINTF: xenbus_interface::debug::DebugPrintf = xenbus_debug_printf_win64;
#[cfg(not(windows))]
const DEBUG_PRINTF: xenbus_interface::debug::DebugPrintf = xenbus_debug_printf_sysv;

unsafe extern "C" fn debug_trigger(interface: Pinterface, callback: PxenbusDebugCallback) {
    let context = context!(DebugContext, interface);
    let Ok(api) = context.api() else {
        return;
    };
    if callback.is_null() {
        api.trigger(None);
    } else if let Some(object) = context.callbacks.get(callback) {
        api.trigger(Some(&object));
    }
}

unsafe extern "C" fn debug_deregister(interface: Pinterface, callback: PxenbusDebugCallback) {
    let context = context!(DebugContext, interface);
    let Ok(api) = context.api() else {
        return;
    };
    if let Some(object) = context.callbacks.remove(callback) {
        let _ = api.deregister(&object);
    }
}

/// The `DebugRegister` slot, NULL-safe for the function.
// SAFETY: `Option<extern "C" fn>` has the same ABI as the non-nullable pointer (guaranteed
// null-pointer optimisation), so the two signatures are call-compatible.
const REGISTER: DebugRegister = unsafe {
    core::mem::transmute::<
        unsafe extern "C" fn(
            Pinterface,
            Pstr,
            Option<XenbusDebugFunction>,
            Pvoid,
            *mut PxenbusDebugCallback,
        ) -> NtStatus,
        DebugRegister,
    >(debug_register)
};

const fn table_v1(context: *mut c_void) -> XenbusDebugInterfaceV1 {
    XenbusDebugInterfaceV1 {
        interface: header::<XenbusDebugInterfaceV1>(context),
        debug_acquire,
        debug_release,
        debug_register: REGISTER,
        debug_printf: DEBUG_PRINTF,
        debug_trigger,
        debug_deregister,
    }
}
