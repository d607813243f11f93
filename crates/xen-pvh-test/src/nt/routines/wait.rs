// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Waits: `KeWaitForSingleObject`, `KeWaitForMultipleObjects`.
//!
//! The objects are the stand-in's dispatcher objects (events, timers, thread objects; see
//! `nt::sched`). A wait that can be satisfied at once returns at once (consuming what it
//! takes); a zero timeout never blocks (`STATUS_TIMEOUT`); otherwise the thread blocks until
//! the wait is satisfied (`STATUS_WAIT_0 + n`, `n` the object that satisfied a `WaitAny`, 0 for
//! a `WaitAll`) or its timeout passes (`STATUS_TIMEOUT`). Timeouts: NULL waits forever, negative
//! values are relative (100 ns units), positive ones absolute system time. Alertable waits are
//! accepted but never alerted: the stand-in has no APCs.
//!
//! Checked: the IRQL (`APC_LEVEL` at most, `DISPATCH_LEVEL` only with a zero timeout; after
//! `KeSetEvent(Wait = TRUE)` the IRQL that call was made at), objects that are not initialised
//! dispatcher objects (or are deleted thread objects), a count of 0 or above
//! `MAXIMUM_WAIT_OBJECTS`, more than `THREAD_WAIT_OBJECTS` objects without a `WaitBlockArray`,
//! an unknown wait type or mode; and a wait that can never end (every thread blocked, no timer,
//! timeout or DPC left): the deadlock is reported with every waiting thread.

use crate::nt::sched::{self, Kind, Wait, objects};
use crate::nt::verifier::{self, APC_LEVEL, Call, DISPATCH_LEVEL};
use core::ffi::c_void;
use ntstatus::NtStatus;

/// `THREAD_WAIT_OBJECTS`: what a thread's own wait blocks cover.
const THREAD_WAIT_OBJECTS: u32 = 3;
/// `MAXIMUM_WAIT_OBJECTS`.
const MAXIMUM_WAIT_OBJECTS: u32 = 64;
/// `WAIT_TYPE`: `WaitAll`, `WaitAny`.
const WAIT_ALL: i32 = 0;
const WAIT_ANY: i32 = 1;

/// Checks that `object` can be waited on.
fn waitable(call: &Call, object: usize) {
    let state = sched::with(|s| {
        let deleted = s.objects.get(&object).is_some_and(|o| o.deleted);
        (s.kind(object), deleted)
    });
    match state {
        Some((Some(Kind::Thread(_)), true)) => call.fail(format_args!(
            "{object:#x} is a deleted thread object (its last reference was released)"
        )),
        Some((Some(_), _)) => {}
        _ => call.fail(format_args!(
            "{object:#x} is not an initialised dispatcher object (an event, timer or thread)"
        )),
    }
}

/// The common part: IRQL and timeout rules, then the wait.
///
/// # Safety
/// `timeout` is NULL or readable.
unsafe fn wait(
    call: &Call,
    objects_list: alloc::vec::Vec<usize>,
    all: bool,
    mode: i8,
    timeout: *const i64,
    blocks: usize,
) -> NtStatus {
    // After KeSetEvent(Wait = TRUE) the thread comes here at DISPATCH_LEVEL; the rules apply
    // to the IRQL it called KeSetEvent at, which the wait returns to.
    let owed = sched::with(|s| {
        let cur = s.current;
        s.threads.get_mut(cur).and_then(|t| t.wait_next.take())
    })
    .flatten();
    let irql = owed.map_or(call.irql, |w| w.irql);
    if owed.is_some() {
        verifier::set_irql(irql);
    }
    let timeout = if timeout.is_null() {
        None
    } else {
        // SAFETY: non-NULL; readable by the routine's contract.
        Some(unsafe { timeout.read_unaligned() })
    };
    let poll = timeout == Some(0);
    if poll {
        if irql > DISPATCH_LEVEL {
            call.fail(format_args!(
                "called at IRQL {irql}, above the documented maximum {DISPATCH_LEVEL}"
            ));
        }
    } else if irql > APC_LEVEL {
        call.fail(format_args!(
            "a wait with a nonzero timeout at IRQL {irql}: only a zero timeout is allowed at \
             DISPATCH_LEVEL, and nothing above it"
        ));
    }
    call.require(
        matches!(mode, 0 | 1),
        format_args!("WaitMode {mode} is neither KernelMode nor UserMode"),
    );
    for &o in &objects_list {
        waitable(call, o);
    }
    let w = Wait {
        objects: objects_list,
        all,
        deadline: timeout.filter(|&t| t != 0).map(objects::due_time),
        blocks,
        routine: call.routine,
        caller: call.caller,
        seq: 0,
    };
    NtStatus::from_ne_bytes(objects::wait(w, poll).to_ne_bytes())
}

/// `NTSTATUS KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason, KPROCESSOR_MODE
/// WaitMode, BOOLEAN Alertable, PLARGE_INTEGER Timeout)`.
///
/// # Safety
/// Called by driver code: `timeout` NULL or readable.
pub unsafe extern "win64" fn ke_wait_for_single_object(
    object: *mut c_void,
    _reason: i32,
    mode: i8,
    _alertable: u8,
    timeout: *const i64,
) -> NtStatus {
    let call = verifier::enter("KeWaitForSingleObject");
    call.require(!object.is_null(), format_args!("Object is NULL"));
    // SAFETY: the caller's contract.
    unsafe { wait(&call, alloc::vec![object.addr()], false, mode, timeout, 0) }
}

/// `NTSTATUS KeWaitForMultipleObjects(ULONG Count, PVOID Object[], WAIT_TYPE WaitType,
/// KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode, BOOLEAN Alertable, PLARGE_INTEGER
/// Timeout, PKWAIT_BLOCK WaitBlockArray)`.
///
/// # Safety
/// Called by driver code: `objects` readable for `count` pointers, `timeout` NULL or readable,
/// `blocks` NULL or writable for `count` `KWAIT_BLOCK`s.
#[allow(clippy::too_many_arguments)] // Windows' signature.
pub unsafe extern "win64" fn ke_wait_for_multiple_objects(
    count: u32,
    objects_array: *const *mut c_void,
    wait_type: i32,
    _reason: i32,
    mode: i8,
    _alertable: u8,
    timeout: *const i64,
    blocks: *mut c_void,
) -> NtStatus {
    let call = verifier::enter("KeWaitForMultipleObjects");
    call.require(
        count > 0 && count <= MAXIMUM_WAIT_OBJECTS,
        format_args!("Count {count} is not 1 to MAXIMUM_WAIT_OBJECTS ({MAXIMUM_WAIT_OBJECTS})"),
    );
    call.require(
        count <= THREAD_WAIT_OBJECTS || !blocks.is_null(),
        format_args!(
            "{count} objects without a WaitBlockArray: the thread's own wait blocks cover \
             THREAD_WAIT_OBJECTS ({THREAD_WAIT_OBJECTS})"
        ),
    );
    call.require(!objects_array.is_null(), format_args!("Object is NULL"));
    let all = match wait_type {
        WAIT_ALL => true,
        WAIT_ANY => false,
        other => call.fail(format_args!(
            "WaitType {other} is neither WaitAll nor WaitAny"
        )),
    };
    let mut list = alloc::vec::Vec::new();
    for i in 0..count as usize {
        // SAFETY: `i < Count`: inside the array by the routine's contract.
        let o = unsafe { objects_array.wrapping_add(i).read_unaligned() };
        call.require(!o.is_null(), format_args!("Object[{i}] is NULL"));
        list.push(o.addr());
    }
    // SAFETY: the caller's contract.
    unsafe { wait(&call, list, all, mode, timeout, blocks.addr()) }
}
