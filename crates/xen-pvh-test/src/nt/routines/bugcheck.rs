// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Bug checks: `KeBugCheckEx` and the bug-check callbacks (`KeRegisterBugCheckCallback`,
//! `KeRegisterBugCheckReasonCallback` and their `Deregister` pairs).
//!
//! `KeBugCheckEx` does what Windows does, in the stand-in's terms: it prints the code and the
//! four parameters (and, for the images' own panic code `0xE058454E`, the image and source
//! location the parameters point to), raises to `HIGH_LEVEL`, calls the registered reason
//! callbacks (`KbCallbackSecondaryDumpData`-style records get their reason and no buffer) and
//! then the plain callbacks with their buffers, and stops. A bug check the run did not ask for
//! fails the run with the caller named; the bug-check scenario (`xtk.mode=nt-bugcheck`)
//! instead ends the machine as Windows' automatic reboot does (`SHUTDOWN_reboot`), so a
//! callback that recorded `SHUTDOWN_crash` with `SCHEDOP_shutdown_code` turns it into a crash
//! Xen reports.
//!
//! Checked: registration at most `DISPATCH_LEVEL`, a NULL record or routine, a routine outside
//! a loaded image's code, registering a record twice, deregistering one that is not registered,
//! and (at unload, [`records_in`]) records still registered whose routine lies in the image. As
//! Windows, a record not in state `BufferEmpty` (no `KeInitializeCallbackRecord`) is refused
//! with `FALSE`.

use super::DriverObject;
use crate::kprintln;
use crate::nt::loader::{self, Where};
use crate::nt::verifier::{self, DISPATCH_LEVEL, HIGH_LEVEL};
use alloc::vec::Vec;
use core::ffi::c_void;
use core::mem::offset_of;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use ntddk::{KBUGCHECK_CALLBACK_RECORD, KBUGCHECK_REASON_CALLBACK_RECORD};

/// The images' own panic code (`ntddk::runtime::PANIC_BUGCHECK_CODE`).
const PANIC_CODE: u32 = 0xE058_454E;
/// `BufferInserted`: a registered record's state.
const BUFFER_INSERTED: u8 = 1;
/// `BufferEmpty`.
const BUFFER_EMPTY: u8 = 0;

// A plain callback (`KBUGCHECK_CALLBACK_ROUTINE`: `VOID (PVOID Buffer, ULONG Length)`) is
// called through this trampoline, whose return address is a label: a stack walk the callback
// makes must arrive exactly there.
core::arch::global_asm!(
    ".pushsection .text.nt_bugcheck_call, \"ax\"",
    ".p2align 4",
    ".globl nt_bugcheck_call",
    "nt_bugcheck_call:",
    "sub rsp, 40",
    "call r8",
    ".globl nt_bugcheck_callback_return",
    "nt_bugcheck_callback_return:",
    "add rsp, 40",
    "ret",
    ".popsection",
);

unsafe extern "win64" {
    /// Calls `routine(buffer, length)`.
    fn nt_bugcheck_call(buffer: *mut c_void, length: u32, routine: usize);
}

unsafe extern "C" {
    /// The instruction after the trampoline's call.
    safe static nt_bugcheck_callback_return: [u8; 0];
}
/// `KBUGCHECK_REASON_CALLBACK_ROUTINE`.
type ReasonCallback = unsafe extern "win64" fn(u32, *mut c_void, *mut c_void, u32);

/// A registered record.
#[derive(Debug, Clone, Copy)]
struct Record {
    address: usize,
    size: usize,
    routine: usize,
    buffer: usize,
    length: u32,
    reason: Option<u32>,
}

static RECORDS: spin::Mutex<Vec<Record>> = spin::Mutex::new(Vec::new());

/// `KiBugCheckData`, the exported variable: the code and the four parameters of the bug check
/// in progress (zero until one happens), as callbacks read them.
pub static KI_BUG_CHECK_DATA: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];
/// Whether the current run expects a bug check (the bug-check scenario).
static EXPECTED: AtomicBool = AtomicBool::new(false);

/// Makes the next bug check the scenario's end instead of a failure.
pub fn expect_bug_check() {
    EXPECTED.store(true, Ordering::SeqCst);
}

/// How many callbacks of each kind are registered (plain, reason).
pub fn registered() -> (usize, usize) {
    let records = RECORDS.lock();
    let reason = records.iter().filter(|r| r.reason.is_some()).count();
    (records.len().saturating_sub(reason), reason)
}

/// The driver's callback record at `record`, of `size` bytes.
///
/// # Safety
/// `record` is a callback record the driver handed to a registration routine: valid and the
/// kernel's while registered (the routine's contract).
const unsafe fn object(record: usize, size: usize) -> DriverObject {
    // SAFETY: the caller's contract.
    unsafe { DriverObject::new(record, size) }
}

/// Registers `new` unless the record is not ready: Windows inserts a record only in state
/// `BufferEmpty` (`KeInitializeCallbackRecord`'s work) and otherwise returns `FALSE`.
fn register(routine_name: &'static str, record: *mut c_void, new: Record, state_at: usize) -> u8 {
    let call = verifier::enter(routine_name);
    call.at_most(DISPATCH_LEVEL);
    call.require(!record.is_null(), format_args!("CallbackRecord is NULL"));
    let at = u64::try_from(new.routine).unwrap_or(0);
    call.require(
        loader::is_loaded_code(at),
        format_args!(
            "CallbackRoutine {} is not in a loaded image's code",
            Where(at)
        ),
    );
    let mut records = RECORDS.lock();
    if records.iter().any(|r| r.address == record.addr()) {
        drop(records);
        call.fail(format_args!(
            "the record {:#x} is already registered",
            record.addr()
        ));
    }
    // SAFETY: the registration routine's contract: the driver's record, non-NULL (required
    // above), readable for its size.
    let state = unsafe { object(record.addr(), new.size) }.get::<u8>(state_at);
    if state != Some(BUFFER_EMPTY) {
        kprintln!(
            "NT-BUGCHECK: {routine_name} refused record {:#x}: state {state:?}, not BufferEmpty (KeInitializeCallbackRecord)",
            record.addr()
        );
        return 0;
    }
    records.push(new);
    1
}

fn deregister(routine_name: &'static str, record: *mut c_void, state_at: usize) -> u8 {
    let call = verifier::enter(routine_name);
    call.at_most(DISPATCH_LEVEL);
    call.require(!record.is_null(), format_args!("CallbackRecord is NULL"));
    let mut records = RECORDS.lock();
    let Some(index) = records.iter().position(|r| r.address == record.addr()) else {
        return 0;
    };
    let removed = records.remove(index);
    // SAFETY: the record was registered: the driver kept it valid until this deregistration.
    unsafe { object(removed.address, removed.size) }.set(state_at, BUFFER_EMPTY);
    1
}

/// `BOOLEAN KeRegisterBugCheckCallback(PKBUGCHECK_CALLBACK_RECORD CallbackRecord,
/// PKBUGCHECK_CALLBACK_ROUTINE CallbackRoutine, PVOID Buffer, ULONG Length, PUCHAR
/// Component)`.
pub extern "win64" fn ke_register_bug_check_callback(
    record: *mut c_void,
    routine: usize,
    buffer: *mut c_void,
    length: u32,
    component: *mut u8,
) -> u8 {
    let size = size_of::<KBUGCHECK_CALLBACK_RECORD>();
    let done = register(
        "KeRegisterBugCheckCallback",
        record,
        Record {
            address: record.addr(),
            size,
            routine,
            buffer: buffer.addr(),
            length,
            reason: None,
        },
        offset_of!(KBUGCHECK_CALLBACK_RECORD, State),
    );
    if done == 0 {
        return 0;
    }
    // SAFETY: `KeRegisterBugCheckCallback`'s contract: the driver's record, the kernel's while
    // registered (registration refused a NULL one).
    let r = unsafe { object(record.addr(), size) };
    r.set(
        offset_of!(KBUGCHECK_CALLBACK_RECORD, CallbackRoutine),
        routine,
    );
    r.set(offset_of!(KBUGCHECK_CALLBACK_RECORD, Buffer), buffer);
    r.set(offset_of!(KBUGCHECK_CALLBACK_RECORD, Length), length);
    r.set(offset_of!(KBUGCHECK_CALLBACK_RECORD, Component), component);
    r.set(
        offset_of!(KBUGCHECK_CALLBACK_RECORD, State),
        BUFFER_INSERTED,
    );
    done
}

/// `BOOLEAN KeDeregisterBugCheckCallback(PKBUGCHECK_CALLBACK_RECORD CallbackRecord)`.
pub extern "win64" fn ke_deregister_bug_check_callback(record: *mut c_void) -> u8 {
    deregister(
        "KeDeregisterBugCheckCallback",
        record,
        offset_of!(KBUGCHECK_CALLBACK_RECORD, State),
    )
}

/// `BOOLEAN KeRegisterBugCheckReasonCallback(PKBUGCHECK_REASON_CALLBACK_RECORD
/// CallbackRecord, PKBUGCHECK_REASON_CALLBACK_ROUTINE CallbackRoutine, KBUGCHECK_CALLBACK_REASON
/// Reason, PUCHAR Component)`.
pub extern "win64" fn ke_register_bug_check_reason_callback(
    record: *mut c_void,
    routine: usize,
    reason: u32,
    component: *mut u8,
) -> u8 {
    let size = size_of::<KBUGCHECK_REASON_CALLBACK_RECORD>();
    let done = register(
        "KeRegisterBugCheckReasonCallback",
        record,
        Record {
            address: record.addr(),
            size,
            routine,
            buffer: 0,
            length: 0,
            reason: Some(reason),
        },
        offset_of!(KBUGCHECK_REASON_CALLBACK_RECORD, State),
    );
    if done == 0 {
        return 0;
    }
    // SAFETY: `KeRegisterBugCheckReasonCallback`'s contract, as above.
    let r = unsafe { object(record.addr(), size) };
    r.set(
        offset_of!(KBUGCHECK_REASON_CALLBACK_RECORD, CallbackRoutine),
        routine,
    );
    r.set(
        offset_of!(KBUGCHECK_REASON_CALLBACK_RECORD, Component),
        component,
    );
    r.set(offset_of!(KBUGCHECK_REASON_CALLBACK_RECORD, Reason), reason);
    r.set(
        offset_of!(KBUGCHECK_REASON_CALLBACK_RECORD, State),
        BUFFER_INSERTED,
    );
    done
}

/// `BOOLEAN KeDeregisterBugCheckReasonCallback(PKBUGCHECK_REASON_CALLBACK_RECORD
/// CallbackRecord)`.
pub extern "win64" fn ke_deregister_bug_check_reason_callback(record: *mut c_void) -> u8 {
    deregister(
        "KeDeregisterBugCheckReasonCallback",
        record,
        offset_of!(KBUGCHECK_REASON_CALLBACK_RECORD, State),
    )
}

/// The registered records whose routine lies in image `index`.
pub fn records_in(index: usize) -> Vec<usize> {
    RECORDS
        .lock()
        .iter()
        .filter(|r| loader::containing(r.routine as u64) == Some(index))
        .map(|r| r.address)
        .collect()
}

/// A string a bug-check parameter points to, if it lies in a loaded image (at most `max`
/// bytes, up to a NUL).
fn image_text(p: usize, max: usize) -> Option<alloc::string::String> {
    let bytes = loader::read_c_string(u64::try_from(p).ok()?, max)?;
    Some(
        bytes
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    char::from(b)
                } else {
                    '?'
                }
            })
            .collect(),
    )
}

/// `VOID KeBugCheckEx(ULONG BugCheckCode, ULONG_PTR P1, ULONG_PTR P2, ULONG_PTR P3, ULONG_PTR
/// P4)`: does not return.
pub extern "win64" fn ke_bug_check_ex(code: u32, p1: usize, p2: usize, p3: usize, p4: usize) -> ! {
    let call = verifier::enter("KeBugCheckEx");
    verifier::set_irql(HIGH_LEVEL);
    kprintln!(
        "NT-BUGCHECK: {code:#010x} ({p1:#x}, {p2:#x}, {p3:#x}, {p4:#x}) from {}",
        Where(call.caller)
    );
    if code == PANIC_CODE {
        let image = image_text(p1, 64).unwrap_or_default();
        let file = image_text(p2, 120).unwrap_or_default();
        kprintln!("NT-BUGCHECK: panic in {image} at {file}:{p3}:{p4}");
    }
    for (slot, value) in
        KI_BUG_CHECK_DATA
            .iter()
            .zip([u64::from(code), p1 as u64, p2 as u64, p3 as u64, p4 as u64])
    {
        slot.store(value, Ordering::SeqCst);
    }
    let records = RECORDS.lock().clone();
    for r in records.iter().filter(|r| r.reason.is_some()) {
        // SAFETY: registered and checked to be code of a loaded image; reason callbacks take
        // (Reason, Record, ReasonSpecificData, ReasonSpecificDataLength).
        let f = unsafe { core::mem::transmute::<usize, ReasonCallback>(r.routine) };
        // SAFETY: as above; no reason-specific data is offered (NULL, 0).
        unsafe {
            f(
                r.reason.unwrap_or(0),
                core::ptr::with_exposed_provenance_mut(r.address),
                core::ptr::null_mut(),
                0,
            );
        };
    }
    // Where a plain callback returns to, named as the module list names it (the stand-in is
    // `ntoskrnl.exe` there): a stack walk from inside the callback reaches it once it has
    // unwound every frame of the driver's.
    let (own, _) = crate::nt::own_image();
    let back = (&raw const nt_bugcheck_callback_return).addr() as u64;
    kprintln!(
        "NT-BUGCHECK-RETURN: ntoskrnl.exe + {:016X}",
        back.saturating_sub(own)
    );
    for r in records.iter().filter(|r| r.reason.is_none()) {
        // SAFETY: registered and checked to be code of a loaded image; plain callbacks take
        // (Buffer, Length); the trampoline calls it with the Microsoft x64 convention.
        unsafe {
            nt_bugcheck_call(
                core::ptr::with_exposed_provenance_mut(r.buffer),
                r.length,
                r.routine,
            );
        };
    }
    kprintln!("NT-BUGCHECK: {} callbacks called", records.len());
    if EXPECTED.load(Ordering::SeqCst) {
        // Windows' automatic restart after the dump.
        crate::reboot()
    }
    call.fail(format_args!(
        "bug check {code:#010x} ({p1:#x}, {p2:#x}, {p3:#x}, {p4:#x})"
    ))
}
