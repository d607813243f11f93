// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `XENBUS_CONSOLE` v1 over [`crate::console::Console`]. Read and Write with a NULL buffer move
//! nothing (0); a wakeup signals the child's event through the platform's [`SetEventFn`].

use alloc::sync::Arc;
use core::ffi::c_void;

use ntstatus::{NtStatus, STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED};
use xenbus_interface::console::{PxenbusConsoleWakeup, XenbusConsoleInterfaceV1};
use xenbus_interface::{Boolean, Pinterface, Pkevent, Pstr, Ulong};

use super::util::{self, to_boolean};
use super::{
    Handles, Lifecycle, Object, SetEventFn, context, define_context, fill, header,
    lifecycle_methods, status_of,
};
use crate::console::{Console, ConsoleError, ConsoleEvtchn, ConsoleGnttab, ConsoleWakeup};
use crate::store::WatchEvent;
use platform_port::Platform;
use xen_services::XenServices;

/// What the CONSOLE context needs from the subsystem.
pub trait ConsoleApi: Lifecycle {
    /// `ConsoleCanRead`.
    fn can_read(&self) -> bool;
    /// `ConsoleRead`: bytes copied into `data`.
    fn read(&self, data: &mut [u8]) -> usize;
    /// `ConsoleCanWrite`.
    fn can_write(&self) -> bool;
    /// `ConsoleWrite`: bytes taken from `data`.
    fn write(&self, data: &[u8]) -> usize;
    /// `ConsoleWakeupAdd`: `event` is signalled on every console event; `caller` identifies
    /// the waiter in the debug dump.
    ///
    /// # Errors
    /// The subsystem's status.
    fn wakeup_add(&self, event: Arc<dyn WatchEvent>, caller: usize) -> Result<Object, NtStatus>;
    /// `ConsoleWakeupRemove`.
    fn wakeup_remove(&self, wakeup: Object);
}

/// The composition's CONSOLE as the interface serves it ([`Console::acquire`] needs the
/// subsystem's `Arc`).
pub struct ConsoleInterface<P, S, E, G>(pub Arc<Console<P, S, E, G>>)
where
    P: Platform,
    S: XenServices + 'static,
    E: ConsoleEvtchn + 'static,
    G: ConsoleGnttab + 'static;

impl<P, S, E, G> Lifecycle for ConsoleInterface<P, S, E, G>
where
    P: Platform,
    S: XenServices + 'static,
    E: ConsoleEvtchn + 'static,
    G: ConsoleGnttab + 'static,
{
    fn acquire(&self) -> Result<(), NtStatus> {
        self.0.acquire().map_err(ConsoleError::status)
    }

    fn release(&self) {
        self.0.release();
    }
}

impl<P, S, E, G> ConsoleApi for ConsoleInterface<P, S, E, G>
where
    P: Platform,
    S: XenServices + 'static,
    E: ConsoleEvtchn + 'static,
    G: ConsoleGnttab + 'static,
{
    fn can_read(&self) -> bool {
        self.0.can_read()
    }

    fn read(&self, data: &mut [u8]) -> usize {
        self.0.read(data)
    }

    fn can_write(&self) -> bool {
        self.0.can_write()
    }

    fn write(&self, data: &[u8]) -> usize {
        self.0.write(data)
    }

    fn wakeup_add(&self, event: Arc<dyn WatchEvent>, caller: usize) -> Result<Object, NtStatus> {
        let wakeup = self
            .0
            .wakeup_add(event, caller)
            .map_err(ConsoleError::status)?;
        Ok(wakeup)
    }

    fn wakeup_remove(&self, wakeup: Object) {
        if let Ok(wakeup) = wakeup.downcast::<ConsoleWakeup>() {
            let _ = self.0.wakeup_remove(&wakeup);
        }
    }
}

define_context!(
    /// The `XENBUS_CONSOLE` context.
    ConsoleContext, ConsoleApi, b"XBCONSOL" {
        wakeups: Handles<Object>,
        set_event: Option<SetEventFn> = None,
    }
);

/// A child's `PKEVENT`.
struct KernelEvent {
    event: usize,
    set: SetEventFn,
}

impl WatchEvent for KernelEvent {
    fn signal(&self) {
        let event = core::ptr::with_exposed_provenance_mut::<c_void>(self.event);
        // SAFETY: the child keeps the event alive until WakeupRemove returns.
        unsafe { (self.set)(event) };
    }
}

impl ConsoleContext {
    /// Sets how wakeup events are signalled (required for `ConsoleWakeupAdd`).
    #[must_use]
    pub const fn with_set_event(mut self, set_event: SetEventFn) -> Self {
        self.set_event = Some(set_event);
        self
    }

    /// Wakeups added and not removed.
    #[must_use]
    pub fn outstanding(&self) -> usize {
        self.wakeups.len()
    }

    /// `ConsoleGetInterface`.
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

lifecycle_methods!(ConsoleContext, console_acquire, console_release);

unsafe extern "C" fn console_can_read(interface: Pinterface) -> Boolean {
    let context = context!(ConsoleContext, interface, 0);
    to_boolean(context.api().is_ok_and(ConsoleApi::can_read))
}

unsafe extern "C" fn console_read(interface: Pinterface, data: Pstr, length: Ulong) -> Ulong {
    let context = context!(ConsoleContext, interface, 0);
    let Ok(api) = context.api() else {
        return 0;
    };
    let Ok(length) = usize::try_from(length) else {
        return 0;
    };
    if data.is_null() || length == 0 {
        return 0;
    }
    // SAFETY: the caller's buffer of `length` bytes, writable for this call.
    let buffer = unsafe { core::slice::from_raw_parts_mut(data.cast::<u8>(), length) };
    Ulong::try_from(api.read(buffer)).unwrap_or(0)
}

unsafe extern "C" fn console_can_write(interface: Pinterface) -> Boolean {
    let context = context!(ConsoleContext, interface, 0);
    to_boolean(context.api().is_ok_and(ConsoleApi::can_write))
}

unsafe extern "C" fn console_write(interface: Pinterface, data: Pstr, length: Ulong) -> Ulong {
    let context = context!(ConsoleContext, interface, 0);
    let Ok(api) = context.api() else {
        return 0;
    };
    let Ok(length) = usize::try_from(length) else {
        return 0;
    };
    if data.is_null() || length == 0 {
        return 0;
    }
    // SAFETY: the caller's `length` bytes, readable for this call.
    let bytes = unsafe { core::slice::from_raw_parts(data.cast_const().cast::<u8>(), length) };
    Ulong::try_from(api.write(bytes)).unwrap_or(0)
}

unsafe extern "C" fn console_wakeup_add(
    interface: Pinterface,
    event: Pkevent,
    wakeup: *mut PxenbusConsoleWakeup,
) -> NtStatus {
    let context = context!(ConsoleContext, interface, STATUS_INVALID_PARAMETER);
    let run = || -> Result<(), NtStatus> {
        let api = context.api()?;
        let set = context.set_event.ok_or(STATUS_NOT_SUPPORTED)?;
        if event.is_null() || wakeup.is_null() {
            return Err(STATUS_INVALID_PARAMETER);
        }
        let caller = event.expose_provenance();
        let signal: Arc<dyn WatchEvent> = Arc::new(KernelEvent { event: caller, set });
        let object = api.wakeup_add(signal, caller)?;
        let Some(handle) = context.wakeups.insert(Arc::clone(&object)) else {
            api.wakeup_remove(object);
            return Err(ntstatus::STATUS_INSUFFICIENT_RESOURCES);
        };
        // SAFETY: checked non-NULL; the caller's out-parameter.
        unsafe { util::write_out(wakeup, handle) };
        Ok(())
    };
    status_of(run())
}

unsafe extern "C" fn console_wakeup_remove(interface: Pinterface, wakeup: PxenbusConsoleWakeup) {
    let context = context!(ConsoleContext, interface);
    let Ok(api) = context.api() else {
        return;
    };
    if let Some(object) = context.wakeups.remove(wakeup) {
        api.wakeup_remove(object);
    }
}

const fn table_v1(context: *mut c_void) -> XenbusConsoleInterfaceV1 {
    XenbusConsoleInterfaceV1 {
        interface: header::<XenbusConsoleInterfaceV1>(context),
        console_acquire,
        console_release,
        console_can_read,
        console_read,
        console_can_write,
        console_write,
        console_wakeup_add,
        console_wakeup_remove,
    }
}
