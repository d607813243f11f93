// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! [`Thread`] over system threads (upstream's `ThreadCreate`/`ThreadJoin`):
//! `PsCreateSystemThread`, a counted reference to the thread object
//! (`ObReferenceObjectByHandle`), `KeWaitForSingleObject` on it, `ObDereferenceObject`.

use alloc::boxed::Box;
use core::ffi::c_void;
use core::ptr;

use ntddk::{
    Executive, HANDLE, KernelMode, OBJ_KERNEL_HANDLE, OBJECT_ATTRIBUTES, PVOID,
    SPECIFIC_RIGHTS_ALL, STANDARD_RIGHTS_ALL, SYNCHRONIZE, nt_success,
};
use platform_port::{IrqlLevel, PortError, Thread};

use crate::kernel::require_at_most;

/// What the new thread runs.
type Body = Box<dyn FnOnce() + Send + 'static>;

/// A system thread the owner can wait for: a counted reference to its thread object.
pub struct WindowsThread {
    object: PVOID,
    name: &'static str,
}

// SAFETY: a referenced thread object may be waited on and dereferenced from any thread.
unsafe impl Send for WindowsThread {}

impl core::fmt::Debug for WindowsThread {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WindowsThread")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The `KSTART_ROUTINE`: runs the body the context owns, at `PASSIVE_LEVEL`. Returning ends the
/// thread (the kernel terminates a system thread whose start routine returns).
unsafe extern "system" fn start(context: PVOID) {
    // SAFETY: `spawn` passed `Box::into_raw` of the body and gave up ownership to this thread.
    let body = unsafe { Box::from_raw(context.cast::<Body>()) };
    body();
    require_at_most(
        IrqlLevel::PASSIVE,
        c"system thread returned above PASSIVE_LEVEL",
    );
}

impl WindowsThread {
    /// Starts `body` on a new system thread. IRQL: `PASSIVE_LEVEL`.
    ///
    /// # Errors
    /// [`PortError::Insufficient`] when no thread could be created; [`PortError::Failed`] when
    /// its thread object could not be referenced (the thread then runs on, detached).
    pub fn spawn(name: &'static str, body: Body) -> Result<Self, PortError> {
        require_at_most(
            IrqlLevel::PASSIVE,
            c"PsCreateSystemThread above PASSIVE_LEVEL",
        );
        let context = Box::into_raw(Box::new(body)).cast::<c_void>();
        let mut attributes = OBJECT_ATTRIBUTES {
            Length: u32::try_from(size_of::<OBJECT_ATTRIBUTES>()).unwrap_or(0),
            RootDirectory: ptr::null_mut(),
            ObjectName: ptr::null_mut(),
            Attributes: OBJ_KERNEL_HANDLE,
            SecurityDescriptor: ptr::null_mut(),
            SecurityQualityOfService: ptr::null_mut(),
        };
        let mut handle: HANDLE = ptr::null_mut();
        // SAFETY: PASSIVE_LEVEL; valid out-pointer and attributes; the context is the body's
        // box, which the thread takes over on success.
        let status = unsafe {
            ntddk::routines::PsCreateSystemThread(
                &raw mut handle,
                STANDARD_RIGHTS_ALL | SPECIFIC_RIGHTS_ALL,
                &raw mut attributes,
                ptr::null_mut(),
                ptr::null_mut(),
                start,
                context,
            )
        };
        if !nt_success(status) {
            // SAFETY: no thread was created: the box is still ours.
            drop(unsafe { Box::from_raw(context.cast::<Body>()) });
            return Err(PortError::Insufficient);
        }
        let mut object: PVOID = ptr::null_mut();
        // SAFETY: PASSIVE_LEVEL; our kernel handle; kernel mode needs no object type.
        let referenced = unsafe {
            ntddk::routines::ObReferenceObjectByHandle(
                handle,
                SYNCHRONIZE,
                ptr::null_mut(),
                KernelMode,
                &raw mut object,
                ptr::null_mut(),
            )
        };
        // SAFETY: our handle, closed once; the reference (if taken) keeps the object.
        let _closed = unsafe { ntddk::routines::ZwClose(handle) };
        if !nt_success(referenced) {
            // The thread runs on, detached: its body owns what it needs.
            return Err(PortError::Failed);
        }
        Ok(Self { object, name })
    }
}

impl Thread for WindowsThread {
    fn join(self) {
        require_at_most(IrqlLevel::APC, c"KeWaitForSingleObject above APC_LEVEL");
        // SAFETY: <= APC_LEVEL; a referenced thread object; no timeout. The drop then releases
        // the reference.
        let _status = unsafe {
            ntddk::routines::KeWaitForSingleObject(
                self.object,
                Executive,
                KernelMode,
                0,
                ptr::null_mut(),
            )
        };
    }
}

impl Drop for WindowsThread {
    /// Releases the reference; a thread dropped without [`Thread::join`] runs on, detached.
    /// IRQL: `<= DISPATCH_LEVEL`.
    fn drop(&mut self) {
        // SAFETY: the reference `spawn` took, released once.
        let _count = unsafe { ntddk::routines::ObfDereferenceObject(self.object) };
    }
}
