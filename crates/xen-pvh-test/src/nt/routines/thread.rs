// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! System threads and object references: `PsCreateSystemThread`, `PsTerminateSystemThread`,
//! `KeGetCurrentThread`, `PsGetCurrentThread`, `KeDelayExecutionThread`,
//! `ObReferenceObjectByHandle`, `ObfReferenceObject`, `ObfDereferenceObject`; the variable
//! `PsThreadType`; thread handles (and the named events' handles, `super::event`) for `ZwClose`
//! ([`close_handle`]).
//!
//! A thread runs on the stand-in's scheduler (`nt::sched`): created ready, it first runs when
//! the creator waits; returning from the start routine ends it like `PsTerminateSystemThread`.
//! Its object (a `DISPATCHER_HEADER` first, `ThreadObject`) is signalled at exit and can be
//! waited on; handles (`0xFFFFFFFF84...`) and references keep it, and it is deleted when the
//! last goes and the thread has exited.
//!
//! Checked: `PASSIVE_LEVEL` for creation, termination and references by handle; a NULL
//! `ThreadHandle`; a `ProcessHandle` (drivers must pass NULL); `OBJECT_ATTRIBUTES` of the wrong
//! size or without `OBJ_KERNEL_HANDLE`; a start routine outside every loaded image's code;
//! `PsTerminateSystemThread` on a thread `PsCreateSystemThread` did not create; a handle that
//! is not open or an object type other than `PsThreadType`; a dereference of an object with no
//! reference left (dereferenced twice); `KeDelayExecutionThread` above `APC_LEVEL` or without
//! an interval. `ObfReferenceObject` and `ObfDereferenceObject` offer the object to the I/O
//! manager's counts first (`ob::adjust`: device and driver objects), then take thread objects
//! and named events (`IoCreateNotificationEvent`'s; a handle to one is referenced only without
//! an object type, since the stand-in exports no `ExEventObjectType`);
//! and (at unload, `sched::leftovers_in`) threads still running, handles open and
//! references held by an image.

use super::registry;
use crate::nt::loader::{self, Where};
use crate::nt::sched::{self, Kind, objects, switch};
use crate::nt::verifier::{self, APC_LEVEL, DISPATCH_LEVEL, PASSIVE_LEVEL};
use core::ffi::c_void;
use core::sync::atomic::{AtomicPtr, Ordering};
use ntddk::{CLIENT_ID, OBJECT_ATTRIBUTES};
use ntstatus::{NtStatus, STATUS_INSUFFICIENT_RESOURCES, STATUS_SUCCESS};

const OBJ_KERNEL_HANDLE: u32 = 0x200;
/// `OBJ_VALID_KERNEL_ATTRIBUTES`.
const OBJ_VALID_KERNEL_ATTRIBUTES: u32 = 0x1ff2;
/// `NtCurrentThread()`: the pseudo-handle of the calling thread.
const CURRENT_THREAD: u64 = 0xffff_ffff_ffff_fffe;
/// The process id the threads report (the System process).
const SYSTEM_PROCESS_ID: usize = 4;
/// `STATUS_OBJECT_TYPE_MISMATCH`.
const STATUS_OBJECT_TYPE_MISMATCH: NtStatus = ntstatus::STATUS_OBJECT_TYPE_MISMATCH;

/// The thread object type (opaque to drivers; only its address matters).
static THREAD_TYPE: [u64; 4] = [0; 4];
/// `POBJECT_TYPE PsThreadType`: the variable drivers import (its address is the import).
pub static PS_THREAD_TYPE: AtomicPtr<u64> =
    AtomicPtr::new((&raw const THREAD_TYPE).cast_mut().cast());

/// The address of the thread object type.
pub fn thread_type() -> usize {
    PS_THREAD_TYPE.load(Ordering::Relaxed).addr()
}

/// `NTSTATUS PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess,
/// POBJECT_ATTRIBUTES ObjectAttributes, HANDLE ProcessHandle, PCLIENT_ID ClientId,
/// PKSTART_ROUTINE StartRoutine, PVOID StartContext)`. PASSIVE_LEVEL.
///
/// # Safety
/// Called by driver code: `handle` writable, `attributes` NULL or readable, `client` NULL or
/// writable.
pub unsafe extern "win64" fn ps_create_system_thread(
    handle: *mut *mut c_void,
    access: u32,
    attributes: *const OBJECT_ATTRIBUTES,
    process: *mut c_void,
    client: *mut CLIENT_ID,
    start: usize,
    context: *mut c_void,
) -> NtStatus {
    let call = verifier::enter("PsCreateSystemThread");
    call.at_most(PASSIVE_LEVEL);
    call.require(!handle.is_null(), format_args!("ThreadHandle is NULL"));
    call.require(
        process.is_null(),
        format_args!(
            "ProcessHandle is {:#x}: drivers must pass NULL (a thread of the system process)",
            process.addr()
        ),
    );
    // SAFETY: NULL or readable by the routine's contract.
    if let Some(a) = unsafe { attributes.as_ref() } {
        call.require(
            a.Length as usize == size_of::<OBJECT_ATTRIBUTES>(),
            format_args!("OBJECT_ATTRIBUTES.Length is {}", a.Length),
        );
        call.require(
            a.Attributes & OBJ_KERNEL_HANDLE != 0,
            format_args!(
                "OBJ_KERNEL_HANDLE is missing: a driver's thread handle must be a kernel handle"
            ),
        );
        call.require(
            a.Attributes & !OBJ_VALID_KERNEL_ATTRIBUTES == 0,
            format_args!("unknown attributes {:#x}", a.Attributes),
        );
    }
    let at = start as u64;
    call.require(
        loader::is_loaded_code(at),
        format_args!("StartRoutine {} is not in a loaded image's code", Where(at)),
    );
    let Some((id, object)) = switch::create(at, context.addr(), call.caller) else {
        return STATUS_INSUFFICIENT_RESOURCES;
    };
    let value = sched::with(|s| s.open_handle(object, access, call.caller)).unwrap_or(0);
    // SAFETY: checked non-NULL; writable by the routine's contract.
    unsafe {
        handle.write_unaligned(core::ptr::with_exposed_provenance_mut(
            usize::try_from(value).unwrap_or(0),
        ));
    };
    if !client.is_null() {
        let id = CLIENT_ID {
            UniqueProcess: core::ptr::with_exposed_provenance_mut(SYSTEM_PROCESS_ID),
            UniqueThread: core::ptr::with_exposed_provenance_mut(id.saturating_mul(4)),
        };
        // SAFETY: non-NULL; writable by the routine's contract.
        unsafe { client.write_unaligned(id) };
    }
    STATUS_SUCCESS
}

/// `NTSTATUS PsTerminateSystemThread(NTSTATUS ExitStatus)`: does not return. PASSIVE_LEVEL, on
/// a thread `PsCreateSystemThread` created.
pub extern "win64" fn ps_terminate_system_thread(status: NtStatus) -> NtStatus {
    let call = verifier::enter("PsTerminateSystemThread");
    call.at_most(PASSIVE_LEVEL);
    call.require(
        sched::current() != 0,
        format_args!(
            "called on the boot thread (a driver entry point's context), not on a system \
             thread PsCreateSystemThread created"
        ),
    );
    switch::exit_current(status)
}

/// `PKTHREAD KeGetCurrentThread(VOID)`. Any IRQL.
pub extern "win64" fn ke_get_current_thread() -> *mut c_void {
    let _call = verifier::enter("KeGetCurrentThread");
    core::ptr::with_exposed_provenance_mut(sched::current_object())
}

/// `PETHREAD PsGetCurrentThread(VOID)`. Any IRQL.
pub extern "win64" fn ps_get_current_thread() -> *mut c_void {
    let _call = verifier::enter("PsGetCurrentThread");
    core::ptr::with_exposed_provenance_mut(sched::current_object())
}

/// `NTSTATUS KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
/// PLARGE_INTEGER Interval)`: `STATUS_SUCCESS` after the interval (negative: relative, in
/// 100 ns units; positive: absolute system time; zero: the other ready threads run first).
/// <= APC_LEVEL.
///
/// # Safety
/// `interval` readable (the routine's contract; NULL is checked).
pub unsafe extern "win64" fn ke_delay_execution_thread(
    mode: i8,
    _alertable: u8,
    interval: *const i64,
) -> NtStatus {
    let call = verifier::enter("KeDelayExecutionThread");
    call.at_most(APC_LEVEL);
    call.require(!interval.is_null(), format_args!("Interval is NULL"));
    call.require(
        matches!(mode, 0 | 1),
        format_args!("WaitMode {mode} is neither KernelMode nor UserMode"),
    );
    // SAFETY: checked non-NULL; readable by the routine's contract.
    let due = unsafe { interval.read_unaligned() };
    if due == 0 {
        switch::yield_now();
        return STATUS_SUCCESS;
    }
    let wait = sched::Wait {
        objects: alloc::vec::Vec::new(),
        all: false,
        deadline: Some(objects::due_time(due)),
        blocks: 0,
        routine: call.routine,
        caller: call.caller,
        seq: 0,
    };
    let _timeout = objects::wait(wait, false);
    STATUS_SUCCESS
}

/// `NTSTATUS ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess, POBJECT_TYPE
/// ObjectType, KPROCESSOR_MODE AccessMode, PVOID *Object, POBJECT_HANDLE_INFORMATION
/// HandleInformation)`: thread handles (and `NtCurrentThread()`). PASSIVE_LEVEL.
///
/// # Safety
/// Called by driver code: `object` writable, `information` NULL or writable (8 bytes).
pub unsafe extern "win64" fn ob_reference_object_by_handle(
    handle: *mut c_void,
    _access: u32,
    object_type: *mut c_void,
    mode: i8,
    object: *mut *mut c_void,
    information: *mut u32,
) -> NtStatus {
    let call = verifier::enter("ObReferenceObjectByHandle");
    call.at_most(PASSIVE_LEVEL);
    call.require(!object.is_null(), format_args!("Object is NULL"));
    call.require(
        matches!(mode, 0 | 1),
        format_args!("AccessMode {mode} is neither KernelMode nor UserMode"),
    );
    let value = handle.addr() as u64;
    let found = if value == CURRENT_THREAD {
        Some((sched::current_object(), 0x001f_ffff))
    } else {
        sched::with(|s| s.handles.get(&value).map(|h| (h.object, h.access))).flatten()
    };
    let Some((target, granted)) = found else {
        let key = registry::with(|r| r.is_handle(value)).unwrap_or(false);
        call.fail(format_args!(
            "{value:#x} is not an open thread handle{}",
            if key {
                " (a registry key handle: the stand-in's object manager has thread objects only)"
            } else {
                ""
            }
        ));
    };
    // A named event's handle (`IoCreateNotificationEvent`) is of no type the stand-in exports.
    let thread = sched::with(|s| {
        s.objects
            .get(&target)
            .is_some_and(|o| matches!(o.kind, Kind::Thread(_)))
    })
    .unwrap_or(false);
    if !object_type.is_null() && (object_type.addr() != thread_type() || !thread) {
        return STATUS_OBJECT_TYPE_MISMATCH;
    }
    sched::with(|s| {
        if let Some(o) = s.objects.get_mut(&target) {
            o.refs.push(call.caller);
        }
    });
    // SAFETY: checked non-NULL; writable by the routine's contract.
    unsafe { object.write_unaligned(core::ptr::with_exposed_provenance_mut(target)) };
    if !information.is_null() {
        // SAFETY: NULL or a writable OBJECT_HANDLE_INFORMATION (HandleAttributes,
        // GrantedAccess) by the routine's contract.
        unsafe { information.write_unaligned(OBJ_KERNEL_HANDLE) };
        // SAFETY: as above, its second field.
        unsafe { information.wrapping_add(1).write_unaligned(granted) };
    }
    STATUS_SUCCESS
}

/// The thread object (or named event) at `object`, failing the call unless it is one the
/// stand-in knows and has not deleted.
fn thread_object(call: &verifier::Call, object: *mut c_void) -> usize {
    let o = object.addr();
    let state = sched::with(|s| s.objects.get(&o).map(|obj| (obj.kind, obj.deleted))).flatten();
    match state {
        Some((Kind::Thread(_), false)) => o,
        Some((Kind::Event { sync: false }, _)) if super::event::is_named(o) => o,
        Some((Kind::Thread(_), true)) => call.fail(format_args!(
            "{o:#x} is a thread object already deleted (dereferenced twice, or used after its last \
             reference and handle were released)"
        )),
        _ => call.fail(format_args!(
            "{o:#x} is not an object of the object manager (the stand-in's are thread objects \
             and named events)"
        )),
    }
}

/// `LONG_PTR ObfReferenceObject(PVOID Object)`: the new pointer count. <= DISPATCH_LEVEL.
pub extern "win64" fn obf_reference_object(object: *mut c_void) -> isize {
    let call = verifier::enter("ObfReferenceObject");
    call.at_most(DISPATCH_LEVEL);
    // Device and driver objects (the I/O manager's, `super::ob`).
    if let Some(count) = super::ob::adjust(&call, object, 1) {
        return count;
    }
    let o = thread_object(&call, object);
    sched::with(|s| {
        if let Some(obj) = s.objects.get_mut(&o) {
            obj.refs.push(call.caller);
        }
        s.pointer_count(o)
    })
    .unwrap_or(0)
}

/// `LONG_PTR ObfDereferenceObject(PVOID Object)`: the new pointer count. <= DISPATCH_LEVEL.
pub extern "win64" fn obf_dereference_object(object: *mut c_void) -> isize {
    let call = verifier::enter("ObfDereferenceObject");
    call.at_most(DISPATCH_LEVEL);
    // Device and driver objects (the I/O manager's, `super::ob`).
    if let Some(count) = super::ob::adjust(&call, object, -1) {
        return count;
    }
    let o = thread_object(&call, object);
    let released = sched::with(|s| {
        let obj = s.objects.get_mut(&o)?;
        // The caller's image's reference if it holds one, else the latest.
        let image = loader::containing(call.caller);
        let index = obj
            .refs
            .iter()
            .rposition(|&r| loader::containing(r) == image)
            .or_else(|| obj.refs.len().checked_sub(1))?;
        obj.refs.remove(index);
        s.collect(o);
        Some(s.pointer_count(o))
    })
    .flatten();
    let Some(count) = released else {
        call.fail(format_args!(
            "{o:#x} has no references left to release (dereferenced twice, or never referenced \
             with ObReferenceObjectByHandle or ObfReferenceObject)"
        ));
    };
    count
}

/// Closes a thread handle (or a named event's) for `ZwClose`; false if `value` is not one.
pub fn close_handle(value: u64) -> bool {
    sched::close_handle(value)
}
