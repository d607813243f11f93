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
use xenbus_interface::suspend::{
    PxenbusSuspendCallback, SUSPEND_CALLBACK_EARLY, SUSPEND_CALLBACK_LATE, SuspendRegister,
    XenbusSuspendCallbackType, XenbusSuspendFunction, XenbusSuspendInterfaceV1,
};
use xenbus_interface::{Pinterface, Pvoid, Ulong};

use super::util;
use super::{
    Handles, Lifecycle, Object, context, define_context, fill, header, lifecycle_methods, status_of,
};

/// When a suspend callback runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuspendPhase {
    /// `SUSPEND_CALLBACK_EARLY`: on CPU 0 at `HIGH_LEVEL`, right after the resume.
    Early,
    /// `SUSPEND_CALLBACK_LATE`: on CPU 0 at `DISPATCH_LEVEL`, after the early ones.
    Late,
}

/// A child's suspend callback.
pub type SuspendCallback = Arc<dyn Fn() + Send + Sync>;

/// What the SUSPEND context needs from the subsystem.
pub trait SuspendApi: Lifecycle {
    /// `Register`: appends `callback` to the list of `phase`.
    ///
    /// # Errors
    /// The subsystem's status.
    fn register(&self, phase: SuspendPhase, callback: SuspendCallback) -> Result<Object, NtStatus>;
    /// `Deregister`.
    fn deregister(&self, callback: Object);
    /// `Trigger`: suspends the domain now.
    ///
    /// # Errors
    /// The subsystem's status.
    fn trigger(&self) -> Result<(), NtStatus>;
    /// `GetCount`: completed suspends.
    fn get_count(&self) -> u32;
}

define_context!(
    /// The `XENBUS_SUSPEND` context.
    SuspendContext, SuspendApi, b"XBSUSPND" {
        callbacks: Handles<Object> = Handles::new(),
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
        let phase = match kind {
            SUSPEND_CALLBACK_EARLY => SuspendPhase::Early,
            SUSPEND_CALLBACK_LATE => SuspendPhase::Late,
            _ => return Err(STATUS_INVALID_PARAMETER),
        };
        let function = function.ok_or(STATUS_INVALID_PARAMETER)?;
        if callback.is_null() {
            return Err(STATUS_INVALID_PARAMETER);
        }
        let argument = argument.expose_provenance();
        let call: SuspendCallback = Arc::new(move || {
            let argument = core::ptr::with_exposed_provenance_mut::<c_void>(argument);
            // SAFETY: the child's function and argument, valid until it deregisters.
            unsafe { function(argument) };
        });
        let object = api.register(phase, call)?;
        let Some(handle) = context.callbacks.insert(Arc::clone(&object)) else {
            api.deregister(object);
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
        api.deregister(object);
    }
}

unsafe extern "C" fn suspend_trigger(interface: Pinterface) -> NtStatus {
    let context = context!(SuspendContext, interface, STATUS_INVALID_PARAMETER);
    status_of(context.api().and_then(SuspendApi::trigger))
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
