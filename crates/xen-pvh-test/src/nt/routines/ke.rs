// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Processors, DPC targeting and the OS version: `KeQueryActiveProcessorCountEx`,
//! `KeQueryMaximumProcessorCountEx`, `KeGetCurrentProcessorNumberEx`,
//! `KeGetProcessorNumberFromIndex`, `KeGetProcessorIndexFromNumber`, `KeSetImportanceDpc`,
//! `KeSetTargetProcessorDpcEx`, `RtlGetVersion`; `KeRegisterProcessorChangeCallback` and
//! `KeDeregisterProcessorChangeCallback` (a callback still registered when its image unloads
//! is a leak, [`change_callbacks_in`]).
//!
//! The stand-in's processors are the vCPUs Xen gave the domain (one group): the maximum is
//! their number, the active ones start as processor 0 alone when the stand-in will add the
//! second one after load ([`set_processors`]); [`add_processor`] then plays Windows' hot-add to
//! the processor-change callbacks (`KeProcessorAddStartNotify`, the processor becomes active,
//! `KeProcessorAddCompleteNotify`, at `PASSIVE_LEVEL`). Drivers' entry points and threads run on
//! vCPU 0; a DPC targeted at another processor runs there (`routines::dpc`), where
//! `KeGetCurrentProcessorNumberEx` answers that processor (`arch::cpu_id()`). The version is
//! Windows 10 22H2 (10.0.19045), a workstation.
//!
//! Checked: NULL outputs, an uninitialised or queued DPC for the DPC routines, an importance
//! outside `LowImportance..=MediumHighImportance`, an `RTL_OSVERSIONINFOW` whose size field is
//! neither structure's size.

use super::DriverObject;
use crate::arch;
use crate::nt::verifier;
use core::mem::offset_of;
use core::sync::atomic::{AtomicU32, Ordering};
use ntddk::{KDPC, PROCESSOR_NUMBER, RTL_OSVERSIONINFOEXW, RTL_OSVERSIONINFOW};
use ntstatus::{NtStatus, STATUS_INVALID_PARAMETER, STATUS_SUCCESS};

/// `ALL_PROCESSOR_GROUPS`.
const ALL_PROCESSOR_GROUPS: u16 = 0xffff;
/// `INVALID_PROCESSOR_INDEX`.
const INVALID_PROCESSOR_INDEX: u32 = 0xffff_ffff;
/// `MediumHighImportance`, the largest `KDPC_IMPORTANCE`.
const MEDIUM_HIGH_IMPORTANCE: u32 = 3;
/// The version reported: Windows 10 22H2, `VER_PLATFORM_WIN32_NT`, `VER_NT_WORKSTATION`.
pub const VERSION: (u32, u32, u32) = (10, 0, 19045);
const VER_PLATFORM_WIN32_NT: u32 = 2;
const VER_NT_WORKSTATION: u8 = 1;

/// The active processors (indexes `0..ACTIVE`).
static ACTIVE: AtomicU32 = AtomicU32::new(1);
/// The processors the machine can have (the vCPUs Xen gave the domain).
static MAXIMUM: AtomicU32 = AtomicU32::new(1);

/// Records how many processors are active and how many the machine can have.
pub fn set_processors(active: u32, maximum: u32) {
    let maximum = maximum.max(1);
    MAXIMUM.store(maximum, Ordering::SeqCst);
    ACTIVE.store(active.clamp(1, maximum), Ordering::SeqCst);
}

/// How many processors are active.
pub fn processors() -> u32 {
    ACTIVE.load(Ordering::SeqCst)
}

/// How many processors the machine can have.
pub fn maximum_processors() -> u32 {
    MAXIMUM.load(Ordering::SeqCst)
}

/// `ULONG KeQueryActiveProcessorCountEx(USHORT GroupNumber)`.
pub extern "win64" fn ke_query_active_processor_count_ex(group: u16) -> u32 {
    let _call = verifier::enter("KeQueryActiveProcessorCountEx");
    if group == 0 || group == ALL_PROCESSOR_GROUPS {
        processors()
    } else {
        0
    }
}

/// `ULONG KeQueryMaximumProcessorCountEx(USHORT GroupNumber)`.
pub extern "win64" fn ke_query_maximum_processor_count_ex(group: u16) -> u32 {
    let _call = verifier::enter("KeQueryMaximumProcessorCountEx");
    if group == 0 || group == ALL_PROCESSOR_GROUPS {
        maximum_processors()
    } else {
        0
    }
}

/// `ULONG KeGetCurrentProcessorNumberEx(PPROCESSOR_NUMBER ProcNumber)`: the index; fills
/// `ProcNumber` when it is not NULL.
///
/// # Safety
/// `number` is NULL or writable (the routine's contract).
pub unsafe extern "win64" fn ke_get_current_processor_number_ex(
    number: *mut PROCESSOR_NUMBER,
) -> u32 {
    let _call = verifier::enter("KeGetCurrentProcessorNumberEx");
    let cpu = u8::try_from(arch::cpu_id()).unwrap_or(0);
    if !number.is_null() {
        let value = PROCESSOR_NUMBER {
            Group: 0,
            Number: cpu,
            Reserved: 0,
        };
        // SAFETY: non-NULL; writable by the routine's contract.
        unsafe { number.write_unaligned(value) };
    }
    u32::from(cpu)
}

/// `NTSTATUS KeGetProcessorNumberFromIndex(ULONG ProcIndex, PPROCESSOR_NUMBER ProcNumber)`.
///
/// # Safety
/// `number` is writable (the routine's contract; NULL is checked).
pub unsafe extern "win64" fn ke_get_processor_number_from_index(
    index: u32,
    number: *mut PROCESSOR_NUMBER,
) -> NtStatus {
    let call = verifier::enter("KeGetProcessorNumberFromIndex");
    call.require(!number.is_null(), format_args!("ProcNumber is NULL"));
    let Some(cpu) = u8::try_from(index)
        .ok()
        .filter(|&c| u32::from(c) < maximum_processors())
    else {
        return STATUS_INVALID_PARAMETER;
    };
    let value = PROCESSOR_NUMBER {
        Group: 0,
        Number: cpu,
        Reserved: 0,
    };
    // SAFETY: non-NULL (checked); writable by the routine's contract.
    unsafe { number.write_unaligned(value) };
    STATUS_SUCCESS
}

/// `ULONG KeGetProcessorIndexFromNumber(PPROCESSOR_NUMBER ProcNumber)`.
///
/// # Safety
/// `number` is readable (the routine's contract; NULL is checked).
pub unsafe extern "win64" fn ke_get_processor_index_from_number(
    number: *const PROCESSOR_NUMBER,
) -> u32 {
    let call = verifier::enter("KeGetProcessorIndexFromNumber");
    call.require(!number.is_null(), format_args!("ProcNumber is NULL"));
    // SAFETY: non-NULL (checked); readable by the routine's contract.
    let n = unsafe { number.read_unaligned() };
    if n.Group == 0 && u32::from(n.Number) < maximum_processors() {
        u32::from(n.Number)
    } else {
        INVALID_PROCESSOR_INDEX
    }
}

/// The initialised `KDPC` a DPC routine was passed.
fn dpc(call: &verifier::Call, dpc: *mut core::ffi::c_void) -> DriverObject {
    call.require(!dpc.is_null(), format_args!("Dpc is NULL"));
    // SAFETY: the routine's contract: an initialised KDPC of the driver.
    let k = unsafe { DriverObject::new(dpc.addr(), size_of::<KDPC>()) };
    call.require(
        super::dpc::is_initialised(k),
        format_args!(
            "the DPC {:#x} was not initialised with KeInitializeDpc",
            dpc.addr()
        ),
    );
    call.require(
        !super::dpc::is_queued(dpc.addr()),
        format_args!("the DPC {:#x} is queued", dpc.addr()),
    );
    k
}

/// `VOID KeSetImportanceDpc(PRKDPC Dpc, KDPC_IMPORTANCE Importance)`.
pub extern "win64" fn ke_set_importance_dpc(d: *mut core::ffi::c_void, importance: u32) {
    let call = verifier::enter("KeSetImportanceDpc");
    let k = dpc(&call, d);
    call.require(
        importance <= MEDIUM_HIGH_IMPORTANCE,
        format_args!("Importance {importance} is not a KDPC_IMPORTANCE"),
    );
    k.set(
        offset_of!(KDPC, Importance),
        u8::try_from(importance).unwrap_or(0),
    );
}

/// `NTSTATUS KeSetTargetProcessorDpcEx(PKDPC Dpc, PPROCESSOR_NUMBER ProcNumber)`: recorded in
/// the `KDPC`'s `Number` (the index plus `dpc::TARGET_BIAS`); the DPC then runs on that
/// processor (`routines::dpc`). Any processor the machine can have is accepted; queuing the DPC
/// while its target is not active fails the run (`KeInsertQueueDpc`).
///
/// # Safety
/// `number` is readable (the routine's contract; NULL is checked).
pub unsafe extern "win64" fn ke_set_target_processor_dpc_ex(
    d: *mut core::ffi::c_void,
    number: *const PROCESSOR_NUMBER,
) -> NtStatus {
    let call = verifier::enter("KeSetTargetProcessorDpcEx");
    let k = dpc(&call, d);
    call.require(!number.is_null(), format_args!("ProcNumber is NULL"));
    // SAFETY: non-NULL (checked); readable by the routine's contract.
    let n = unsafe { number.read_unaligned() };
    if n.Group != 0 || u32::from(n.Number) >= maximum_processors() {
        return STATUS_INVALID_PARAMETER;
    }
    k.set(
        offset_of!(KDPC, Number),
        u16::from(n.Number).saturating_add(super::dpc::TARGET_BIAS),
    );
    STATUS_SUCCESS
}

/// `NTSTATUS RtlGetVersion(PRTL_OSVERSIONINFOW lpVersionInformation)`.
///
/// # Safety
/// `info` is writable for the size its first field names (the routine's contract; NULL and the
/// size are checked).
pub unsafe extern "win64" fn rtl_get_version(info: *mut RTL_OSVERSIONINFOW) -> NtStatus {
    let call = verifier::enter("RtlGetVersion");
    call.require(
        !info.is_null(),
        format_args!("lpVersionInformation is NULL"),
    );
    let size_at = info.cast::<u32>();
    // SAFETY: non-NULL; its first field is readable by the routine's contract.
    let size = unsafe { size_at.read_unaligned() } as usize;
    let ex = size == size_of::<RTL_OSVERSIONINFOEXW>();
    if !ex && size != size_of::<RTL_OSVERSIONINFOW>() {
        return STATUS_INVALID_PARAMETER;
    }
    let (major, minor, build) = VERSION;
    let fields = [
        (offset_of!(RTL_OSVERSIONINFOW, dwMajorVersion), major),
        (offset_of!(RTL_OSVERSIONINFOW, dwMinorVersion), minor),
        (offset_of!(RTL_OSVERSIONINFOW, dwBuildNumber), build),
        (
            offset_of!(RTL_OSVERSIONINFOW, dwPlatformId),
            VER_PLATFORM_WIN32_NT,
        ),
    ];
    // SAFETY: the routine's contract: `size` writable bytes, the size of the structure named.
    let o = unsafe { DriverObject::new(info.addr(), size) };
    for (offset, value) in fields {
        o.set(offset, value);
    }
    o.set(offset_of!(RTL_OSVERSIONINFOW, szCSDVersion), [0u16; 128]);
    if ex {
        o.set(offset_of!(RTL_OSVERSIONINFOEXW, wServicePackMajor), 0u16);
        o.set(offset_of!(RTL_OSVERSIONINFOEXW, wServicePackMinor), 0u16);
        o.set(offset_of!(RTL_OSVERSIONINFOEXW, wSuiteMask), 0x100u16);
        o.set(
            offset_of!(RTL_OSVERSIONINFOEXW, wProductType),
            VER_NT_WORKSTATION,
        );
        o.set(offset_of!(RTL_OSVERSIONINFOEXW, wReserved), 0u8);
    }
    STATUS_SUCCESS
}

/// `KE_PROCESSOR_CHANGE_ADD_EXISTING`, the one flag `KeRegisterProcessorChangeCallback` knows.
const KE_PROCESSOR_CHANGE_ADD_EXISTING: u32 = 1;
/// `KeProcessorAddStartNotify`, `KeProcessorAddCompleteNotify`, `KeProcessorAddFailureNotify`.
const KE_PROCESSOR_ADD_START_NOTIFY: i32 = 0;
const KE_PROCESSOR_ADD_COMPLETE_NOTIFY: i32 = 1;
const KE_PROCESSOR_ADD_FAILURE_NOTIFY: i32 = 2;
/// Where the opaque registration handles point (never mapped: a driver that reads through one
/// faults).
const CHANGE_HANDLES: usize = 0xffff_f80c_0000_0000;

/// A processor-change callback, in the Microsoft x64 convention.
type ChangeRoutine = unsafe extern "win64" fn(
    *mut core::ffi::c_void,
    *mut ntddk::KE_PROCESSOR_CHANGE_NOTIFY_CONTEXT,
    *mut NtStatus,
);

/// A registered processor-change callback.
#[derive(Debug, Clone, Copy)]
struct ChangeCallback {
    /// The handle given out.
    handle: usize,
    /// The routine.
    routine: usize,
    /// Its context.
    context: usize,
}

/// The registered processor-change callbacks, and the next handle's number.
static CHANGE_CALLBACKS: spin::Mutex<(alloc::vec::Vec<ChangeCallback>, usize)> =
    spin::Mutex::new((alloc::vec::Vec::new(), 0));

/// The notifications played so far: (state, processor index), oldest first (the first 64).
static NOTIFIED: spin::Mutex<alloc::vec::Vec<(i32, u32)>> =
    spin::Mutex::new(alloc::vec::Vec::new());

/// Calls the processor-change callback `c` with notification `state` for processor `cpu`, at
/// `PASSIVE_LEVEL` (checked to return there); the status it left.
fn notify(c: ChangeCallback, state: i32, cpu: u32) -> NtStatus {
    // SAFETY: a routine checked to be in a loaded image's code at registration, of this
    // signature in the Microsoft x64 convention (the routine's contract).
    let f = unsafe { core::mem::transmute::<usize, ChangeRoutine>(c.routine) };
    let mut change = ntddk::KE_PROCESSOR_CHANGE_NOTIFY_CONTEXT {
        State: state,
        NtNumber: cpu,
        Status: STATUS_SUCCESS,
        ProcNumber: PROCESSOR_NUMBER {
            Group: 0,
            Number: u8::try_from(cpu).unwrap_or(u8::MAX),
            Reserved: 0,
        },
    };
    let mut status = STATUS_SUCCESS;
    {
        let mut notified = NOTIFIED.lock();
        if notified.len() < 64 {
            notified.push((state, cpu));
        }
    }
    // SAFETY: as above; the notification and the status live across the call.
    crate::nt::call_driver("processor-change callback", || unsafe {
        f(
            core::ptr::with_exposed_provenance_mut(c.context),
            &raw mut change,
            &raw mut status,
        );
    });
    status
}

/// The notifications played to processor-change callbacks so far: (`State`, `NtNumber`).
pub fn notified() -> alloc::vec::Vec<(i32, u32)> {
    NOTIFIED.lock().clone()
}

/// Adds processor `cpu` (the next index, below the maximum) as Windows does on a hot-add, at
/// `PASSIVE_LEVEL`: every registered callback gets `KeProcessorAddStartNotify`, then `start`
/// brings the processor up; if it did and no callback failed the start (its status), the
/// processor becomes active and every callback gets `KeProcessorAddCompleteNotify`, else
/// `KeProcessorAddFailureNotify` and the processor stays inactive. Whether it was added.
pub fn add_processor(cpu: u32, start: impl FnOnce() -> bool) -> bool {
    if cpu != processors() || cpu >= maximum_processors() {
        return false;
    }
    let callbacks = || CHANGE_CALLBACKS.lock().0.clone();
    let vetoed = callbacks()
        .into_iter()
        .map(|c| notify(c, KE_PROCESSOR_ADD_START_NOTIFY, cpu))
        .filter(|s| *s < 0)
        .count();
    let added = vetoed == 0 && start();
    if added {
        ACTIVE.store(cpu + 1, Ordering::SeqCst);
    }
    let state = if added {
        KE_PROCESSOR_ADD_COMPLETE_NOTIFY
    } else {
        KE_PROCESSOR_ADD_FAILURE_NOTIFY
    };
    for c in callbacks() {
        notify(c, state, cpu);
    }
    added
}

/// `PVOID KeRegisterProcessorChangeCallback(PPROCESSOR_CALLBACK_FUNCTION CallbackFunction,
/// PVOID CallbackContext, ULONG Flags)`: registers the callback; with
/// `KE_PROCESSOR_CHANGE_ADD_EXISTING` calls it first, before returning, at `PASSIVE_LEVEL`, with
/// `KeProcessorAddCompleteNotify` for each active processor in index order; it is called again
/// for each processor added later ([`add_processor`]). Returns an opaque handle.
/// `PASSIVE_LEVEL`.
///
/// Checked: the IRQL, a routine outside every loaded image's code, unknown flags; the callback
/// must return at `PASSIVE_LEVEL`.
pub extern "win64" fn ke_register_processor_change_callback(
    routine: usize,
    context: *mut core::ffi::c_void,
    flags: u32,
) -> *mut core::ffi::c_void {
    let call = verifier::enter("KeRegisterProcessorChangeCallback");
    call.at_most(verifier::PASSIVE_LEVEL);
    call.require(
        crate::nt::loader::is_loaded_code(u64::try_from(routine).unwrap_or(0)),
        format_args!(
            "CallbackFunction {} is not in a loaded image's code",
            crate::nt::loader::Where(u64::try_from(routine).unwrap_or(0))
        ),
    );
    call.require(
        flags & !KE_PROCESSOR_CHANGE_ADD_EXISTING == 0,
        format_args!("Flags {flags:#x} holds unknown bits"),
    );
    let callback = {
        let mut callbacks = CHANGE_CALLBACKS.lock();
        callbacks.1 = callbacks.1.wrapping_add(1);
        let handle = CHANGE_HANDLES.wrapping_add(callbacks.1.wrapping_mul(16));
        let callback = ChangeCallback {
            handle,
            routine,
            context: context.addr(),
        };
        callbacks.0.push(callback);
        callback
    };
    if flags & KE_PROCESSOR_CHANGE_ADD_EXISTING != 0 {
        for cpu in 0..processors() {
            notify(callback, KE_PROCESSOR_ADD_COMPLETE_NOTIFY, cpu);
        }
    }
    core::ptr::with_exposed_provenance_mut(callback.handle)
}

/// `VOID KeDeregisterProcessorChangeCallback(PVOID CallbackHandle)`. `PASSIVE_LEVEL`.
///
/// Checked: the IRQL, a handle no registration gave out (or one deregistered already).
pub extern "win64" fn ke_deregister_processor_change_callback(handle: *mut core::ffi::c_void) {
    let call = verifier::enter("KeDeregisterProcessorChangeCallback");
    call.at_most(verifier::PASSIVE_LEVEL);
    let mut callbacks = CHANGE_CALLBACKS.lock();
    let Some(at) = callbacks.0.iter().position(|c| c.handle == handle.addr()) else {
        drop(callbacks);
        call.fail(format_args!(
            "CallbackHandle {:#x} is not a registered processor-change callback",
            handle.addr()
        ));
    };
    callbacks.0.remove(at);
}

/// The processor-change callbacks still registered whose routine lies in image `index`.
pub fn change_callbacks_in(index: usize) -> usize {
    CHANGE_CALLBACKS
        .lock()
        .0
        .iter()
        .filter(|c| crate::nt::loader::containing(c.routine as u64) == Some(index))
        .count()
}
