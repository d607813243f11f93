// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `XENBUS_SUSPEND` v1 (member names without a prefix, as upstream).
//!
//! `Register` wraps the child's function and argument in a closure for the subsystem's EARLY
//! or LATE list; any other callback type is `STATUS_INVALID_PARAMETER`, as is a NULL function
//! or out-pointer. The callback handle is a table entry: `Deregister` of an unknown handle does
//! nothing.

use alloc::sync::Arc;
use core::ffi::c_void;

use ntstatus::{NtStatus, STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED};
use platform_port::{Platform, Rendezvous};
use xen_services::XenServices;
use xenbus_interface::suspend::{
    PxenbusSuspendCallback, SuspendRegister, XenbusSuspendCallbackType, XenbusSuspendFunction,
    XenbusSuspendInterfaceV1,
};
use xenbus_interface::{Pinterface, Pvoid, Ulong};

use super::util;
use super::{
    Handles, Lifecycle, Object, context, define_context, fill, header, lifecycle_methods, status_of,
};
use crate::debug::Origin;
use crate::suspend::{
    Suspend, SuspendCallback, SuspendCallbackType, SuspendError, SuspendFunction,
};

/// What the SUSPEND context needs from the subsystem.
pub trait SuspendApi: Lifecycle {
    /// `Register`: appends `callback` to the list of `kind`.
    ///
    /// # Errors
    /// The subsystem's status.
    fn register(
        &self,
        kind: SuspendCallbackType,
        callback: SuspendFunction,
        origin: Origin,
    ) -> Result<Object, NtStatus>;
    /// `Deregister`.
    ///
    /// # Errors
    /// A callback this subsystem does not hold.
    fn deregister(&self, callback: &Object) -> Result<(), NtStatus>;
    /// `Trigger`: suspends the domain now; the C method answers `STATUS_SUCCESS` whatever
    /// the outcome, as upstream.
    fn trigger(&self);
    /// `GetCount`: completed suspends.
    fn get_count(&self) -> u32;
}

impl<P: Platform + Rendezvous, S: XenServices> Lifecycle for Suspend<P, S> {
    fn acquire(&self) -> Result<(), NtStatus> {
        Self::acquire(self).map_err(SuspendError::status)
    }

    fn release(&self) {
        Self::release(self);
    }
}

impl<P: Platform + Rendezvous, S: XenServices> SuspendApi for Suspend<P, S> {
    fn register(
        &self,
        kind: SuspendCallbackType,
        callback: SuspendFunction,
        origin: Origin,
    ) -> Result<Object, NtStatus> {
        let callback =
            Self::register(self, kind, callback, origin).map_err(SuspendError::status)?;
        Ok(callback)
    }

    fn deregister(&self, callback: &Object) -> Result<(), NtStatus> {
        let callback = Arc::clone(callback)
            .downcast::<SuspendCallback>()
            .map_err(|_| STATUS_INVALID_PARAMETER)?;
        Self::deregister(self, &callback).map_err(SuspendError::status)
    }

    fn trigger(&self) {
        let _ = Self::trigger(self);
    }

    fn get_count(&self) -> u32 {
        self.count()
    }
}

define_context!(
    /// The `XENBUS_SUSPEND` context.
    SuspendContext, SuspendApi, b"XBSUSPND" {
        callbacks: Handles<Object>,
    }
);

impl SuspendContext {
    /// Callbacks registered and not deregistered.
    #[must_use]
    pub fn outstanding(&self) -> usize {
        self.callbacks.len()
    }

    /// `SuspendGetInterface`.
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

lifecycle_methods!(SuspendContext, suspend_acquire, suspend_release);

unsafe extern "C" fn suspend_register(
    interface: Pinterface,
    kind: XenbusSuspendCallbackType,
    function: Option<XenbusSuspendFunction>,
    argument: Pvoid,
    callback: *mut PxenbusSuspendCallback,
) -> NtStatus {
    let context = context!(SuspendContext, interface, STATUS_INVALID_PARAMETER);
    let run = || -> Result<(), NtStatus> {
        let api = context.api()?;
        let phase =
            SuspendCallbackType::from_raw(kind.cast_unsigned()).ok_or(STATUS_INVALID_PARAMETER)?;
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
        let call: SuspendFunction = Arc::new(move || {
            let argument = core::ptr::with_exposed_provenance_mut::<c_void>(argument);
            // SAFETY: the child's function and argument, valid until it deregisters.
            unsafe { function(argument) };
        });
        let object = api.register(phase, call, origin)?;
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

unsafe extern "C" fn suspend_deregister(interface: Pinterface, callback: PxenbusSuspendCallback) {
    let context = context!(SuspendContext, interface);
    let Ok(api) = context.api() else {
        return;
    };
    if let Some(object) = context.callbacks.remove(callback) {
        let _ = api.deregister(&object);
    }
}

unsafe extern "C" fn suspend_trigger(interface: Pinterface) -> NtStatus {
    let context = context!(SuspendContext, interface, STATUS_INVALID_PARAMETER);
    match context.api() {
        Ok(api) => {
            api.trigger();
            ntstatus::STATUS_SUCCESS
        }
        Err(status) => status,
    }
}

unsafe extern "C" fn suspend_get_count(interface: Pinterface) -> Ulong {
    let context = context!(SuspendContext, interface, 0);
    context.api().map_or(0, SuspendApi::get_count)
}

/// The `Register` slot, NULL-safe for the function.
// SAFETY: `Option<extern "C" fn>` has the same ABI as the non-nullable pointer (guaranteed
// null-pointer optimisation), so the two signatures are call-compatible.
const REGISTER: SuspendRegister = unsafe {
    core::mem::transmute::<
        unsafe extern "C" fn(
            Pinterface,
            XenbusSuspendCallbackType,
            Option<XenbusSuspendFunction>,
            Pvoid,
            *mut PxenbusSuspendCallback,
        ) -> NtStatus,
        SuspendRegister,
    >(suspend_register)
};

const fn table_v1(context: *mut c_void) -> XenbusSuspendInterfaceV1 {
    XenbusSuspendInterfaceV1 {
        interface: header::<XenbusSuspendInterfaceV1>(context),
        acquire: suspend_acquire,
        release: suspend_release,
        register: REGISTER,
        deregister: suspend_deregister,
        trigger: suspend_trigger,
        get_count: suspend_get_count,
    }
}
