// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Kernel objects and callbacks: dispatcher objects, DPCs, timers, spin locks, APCs, device
//! queues, processor-change and bug-check callbacks, and the processor context.
//!
//! The dispatcher objects, `KDPC`, `KAPC` and the device queues are opaque in Microsoft's
//! documentation: drivers embed them and initialise them with `KeInitialize*`, and only the
//! kernel reads their fields. The fields are spelled out (after mingw-w64's `wdm.h`) so the
//! sizes come out right and are checked; the current WDK names some of them differently (its
//! `KDPC` splits the 16 bytes of `DpcListEntry` into a `SINGLE_LIST_ENTRY` and a
//! `ProcessorHistory` word) without moving anything a driver could see.

use super::basic::{
    BOOLEAN, CCHAR, CSHORT, ETHREAD, GUID, KBUGCHECK_CALLBACK_REASON,
    KE_PROCESSOR_CHANGE_NOTIFY_STATE, KINTERRUPT, KPROCESSOR_MODE, KSPIN_LOCK, LIST_ENTRY, LONG,
    LONG64, NTSTATUS, PROCESSOR_NUMBER, PVOID, UCHAR, ULARGE_INTEGER, ULONG, ULONG_PTR, ULONG64,
    ULONGLONG, USHORT,
};

/// `KDEFERRED_ROUTINE`: a DPC's routine (`PKDEFERRED_ROUTINE` is `Option<KDEFERRED_ROUTINE>`).
pub type KDEFERRED_ROUTINE =
    unsafe extern "system" fn(Dpc: *mut KDPC, DeferredContext: PVOID, Arg1: PVOID, Arg2: PVOID);
/// `KSTART_ROUTINE`: a system thread's entry point.
pub type KSTART_ROUTINE = unsafe extern "system" fn(StartContext: PVOID);
/// `KSERVICE_ROUTINE`: a line-based interrupt service routine.
pub type KSERVICE_ROUTINE =
    unsafe extern "system" fn(Interrupt: *mut KINTERRUPT, ServiceContext: PVOID) -> BOOLEAN;
/// `KMESSAGE_SERVICE_ROUTINE`: a message-signalled interrupt service routine.
pub type KMESSAGE_SERVICE_ROUTINE = unsafe extern "system" fn(
    Interrupt: *mut KINTERRUPT,
    ServiceContext: PVOID,
    MessageId: ULONG,
) -> BOOLEAN;
/// `KSYNCHRONIZE_ROUTINE` (`KeSynchronizeExecution`).
pub type KSYNCHRONIZE_ROUTINE = unsafe extern "system" fn(SynchronizeContext: PVOID) -> BOOLEAN;
/// `KIPI_BROADCAST_WORKER` (`KeIpiGenericCall`).
pub type KIPI_BROADCAST_WORKER = unsafe extern "system" fn(Argument: ULONG_PTR) -> ULONG_PTR;
/// `KBUGCHECK_CALLBACK_ROUTINE` (`KeRegisterBugCheckCallback`).
pub type KBUGCHECK_CALLBACK_ROUTINE = unsafe extern "system" fn(Buffer: PVOID, Length: ULONG);
/// `KBUGCHECK_REASON_CALLBACK_ROUTINE` (`KeRegisterBugCheckReasonCallback`).
pub type KBUGCHECK_REASON_CALLBACK_ROUTINE = unsafe extern "system" fn(
    Reason: KBUGCHECK_CALLBACK_REASON,
    Record: *mut KBUGCHECK_REASON_CALLBACK_RECORD,
    ReasonSpecificData: PVOID,
    ReasonSpecificDataLength: ULONG,
);
/// `PROCESSOR_CALLBACK_FUNCTION` (`KeRegisterProcessorChangeCallback`).
pub type PROCESSOR_CALLBACK_FUNCTION = unsafe extern "system" fn(
    CallbackContext: PVOID,
    ChangeContext: *mut KE_PROCESSOR_CHANGE_NOTIFY_CONTEXT,
    OperationStatus: *mut NTSTATUS,
);

/// `DISPATCHER_HEADER`: the common head of every dispatcher object.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct DISPATCHER_HEADER {
    /// `Lock`: the first four bytes as one word (in C a union with `Type`, `Signalling`,
    /// `Size` and `DpcActive` and their bit fields).
    pub Lock: LONG,
    /// `SignalState`.
    pub SignalState: LONG,
    /// `WaitListHead`.
    pub WaitListHead: LIST_ENTRY,
}

/// `KEVENT` (`KeInitializeEvent`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KEVENT {
    /// `Header`.
    pub Header: DISPATCHER_HEADER,
}

/// `KSEMAPHORE` (`KeInitializeSemaphore`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KSEMAPHORE {
    /// `Header`.
    pub Header: DISPATCHER_HEADER,
    /// `Limit`.
    pub Limit: LONG,
}

/// `KMUTANT`/`KMUTEX` (`KeInitializeMutex`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KMUTANT {
    /// `Header`.
    pub Header: DISPATCHER_HEADER,
    /// `MutantListEntry`.
    pub MutantListEntry: LIST_ENTRY,
    /// `OwnerThread`.
    pub OwnerThread: *mut ETHREAD,
    /// `Abandoned`.
    pub Abandoned: BOOLEAN,
    /// `ApcDisable`.
    pub ApcDisable: UCHAR,
}

/// `KMUTEX`.
pub type KMUTEX = KMUTANT;

/// `KDPC` (`KeInitializeDpc`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KDPC {
    /// `Type`.
    pub Type: UCHAR,
    /// `Importance` (`KDPC_IMPORTANCE`).
    pub Importance: UCHAR,
    /// `Number`: the target processor.
    pub Number: USHORT,
    /// `DpcListEntry`.
    pub DpcListEntry: LIST_ENTRY,
    /// `DeferredRoutine`.
    pub DeferredRoutine: Option<KDEFERRED_ROUTINE>,
    /// `DeferredContext`.
    pub DeferredContext: PVOID,
    /// `SystemArgument1`.
    pub SystemArgument1: PVOID,
    /// `SystemArgument2`.
    pub SystemArgument2: PVOID,
    /// `DpcData`.
    pub DpcData: PVOID,
}

/// `KTIMER` (`KeInitializeTimerEx`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KTIMER {
    /// `Header`.
    pub Header: DISPATCHER_HEADER,
    /// `DueTime`.
    pub DueTime: ULARGE_INTEGER,
    /// `TimerListEntry`.
    pub TimerListEntry: LIST_ENTRY,
    /// `Dpc`.
    pub Dpc: *mut KDPC,
    /// `Processor`.
    pub Processor: ULONG,
    /// `Period`.
    pub Period: ULONG,
}

/// `KWAIT_BLOCK` (Windows 8 and later): one object of a `KeWaitForMultipleObjects` wait.
///
/// It lives in the array the caller passes as `WaitBlockArray` (or the thread's own blocks for
/// at most `THREAD_WAIT_OBJECTS`). The array is the kernel's for the length of the wait.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KWAIT_BLOCK {
    /// `WaitListEntry`: the link in the object's `WaitListHead`.
    pub WaitListEntry: LIST_ENTRY,
    /// `WaitType` (`WAIT_TYPE`: `WaitAll` 0, `WaitAny` 1).
    pub WaitType: UCHAR,
    /// `BlockState` (`KWAIT_BLOCK_STATE`).
    pub BlockState: UCHAR,
    /// `WaitKey`: the object's index in the wait.
    pub WaitKey: USHORT,
    /// `SpareLong`.
    pub SpareLong: LONG,
    /// `Thread` (in C a union with `NotificationQueue`).
    pub Thread: PVOID,
    /// `Object`.
    pub Object: PVOID,
    /// `SparePtr`.
    pub SparePtr: PVOID,
}

// The Windows x64 DDK's layout (`wdm.h`, NTDDI_WIN8 and later): 48 bytes, 8-byte aligned.
const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<KWAIT_BLOCK>() == 0x30);
    assert!(align_of::<KWAIT_BLOCK>() == 8);
    assert!(offset_of!(KWAIT_BLOCK, WaitListEntry) == 0x00);
    assert!(offset_of!(KWAIT_BLOCK, WaitType) == 0x10);
    assert!(offset_of!(KWAIT_BLOCK, BlockState) == 0x11);
    assert!(offset_of!(KWAIT_BLOCK, WaitKey) == 0x12);
    assert!(offset_of!(KWAIT_BLOCK, SpareLong) == 0x14);
    assert!(offset_of!(KWAIT_BLOCK, Thread) == 0x18);
    assert!(offset_of!(KWAIT_BLOCK, Object) == 0x20);
    assert!(offset_of!(KWAIT_BLOCK, SparePtr) == 0x28);
    // The dispatcher objects the stand-in kernel waits on, as the same DDK lays them out.
    assert!(size_of::<DISPATCHER_HEADER>() == 0x18);
    assert!(offset_of!(DISPATCHER_HEADER, SignalState) == 0x04);
    assert!(offset_of!(DISPATCHER_HEADER, WaitListHead) == 0x08);
    assert!(size_of::<KEVENT>() == 0x18);
    assert!(size_of::<KTIMER>() == 0x40);
    assert!(offset_of!(KTIMER, DueTime) == 0x18);
    assert!(offset_of!(KTIMER, TimerListEntry) == 0x20);
    assert!(offset_of!(KTIMER, Dpc) == 0x30);
    assert!(offset_of!(KTIMER, Processor) == 0x38);
    assert!(offset_of!(KTIMER, Period) == 0x3c);
};

/// `KSPIN_LOCK_QUEUE`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KSPIN_LOCK_QUEUE {
    /// `Next`.
    pub Next: *mut Self,
    /// `Lock`.
    pub Lock: *mut KSPIN_LOCK,
}

/// `KLOCK_QUEUE_HANDLE` (`KeAcquireInStackQueuedSpinLock`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KLOCK_QUEUE_HANDLE {
    /// `LockQueue`.
    pub LockQueue: KSPIN_LOCK_QUEUE,
    /// `OldIrql`.
    pub OldIrql: UCHAR,
}

/// `KAPC` (the drivers never queue APCs; it sits in `IRP.Tail`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KAPC {
    /// `Type`.
    pub Type: UCHAR,
    /// `SpareByte0`.
    pub SpareByte0: UCHAR,
    /// `Size`.
    pub Size: UCHAR,
    /// `SpareByte1`.
    pub SpareByte1: UCHAR,
    /// `SpareLong0`.
    pub SpareLong0: ULONG,
    /// `Thread`.
    pub Thread: *mut ETHREAD,
    /// `ApcListEntry`.
    pub ApcListEntry: LIST_ENTRY,
    /// `KernelRoutine`.
    pub KernelRoutine: PVOID,
    /// `RundownRoutine`.
    pub RundownRoutine: PVOID,
    /// `NormalRoutine`.
    pub NormalRoutine: PVOID,
    /// `NormalContext`.
    pub NormalContext: PVOID,
    /// `SystemArgument1`.
    pub SystemArgument1: PVOID,
    /// `SystemArgument2`.
    pub SystemArgument2: PVOID,
    /// `ApcStateIndex`.
    pub ApcStateIndex: CCHAR,
    /// `ApcMode`.
    pub ApcMode: KPROCESSOR_MODE,
    /// `Inserted`.
    pub Inserted: BOOLEAN,
}

/// `KDEVICE_QUEUE_ENTRY`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KDEVICE_QUEUE_ENTRY {
    /// `DeviceListEntry`.
    pub DeviceListEntry: LIST_ENTRY,
    /// `SortKey`.
    pub SortKey: ULONG,
    /// `Inserted`.
    pub Inserted: BOOLEAN,
}

/// The anonymous union ending [`KDEVICE_QUEUE`] on x64.
#[repr(C)]
#[derive(Clone, Copy)]
pub union KDEVICE_QUEUE_u {
    /// `Busy`.
    pub Busy: BOOLEAN,
    /// The word holding the `Reserved:8` and `Hint:56` bit fields.
    pub ReservedHint: LONG64,
}

/// `KDEVICE_QUEUE`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct KDEVICE_QUEUE {
    /// `Type`.
    pub Type: CSHORT,
    /// `Size`.
    pub Size: CSHORT,
    /// `DeviceListHead`.
    pub DeviceListHead: LIST_ENTRY,
    /// `Lock`.
    pub Lock: KSPIN_LOCK,
    /// `Busy` and the `Hint` bit fields (an anonymous union in C).
    pub u: KDEVICE_QUEUE_u,
}

/// `WAIT_CONTEXT_BLOCK` (inside `DEVICE_OBJECT.Queue`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct WAIT_CONTEXT_BLOCK {
    /// `WaitQueueEntry`.
    pub WaitQueueEntry: KDEVICE_QUEUE_ENTRY,
    /// `DeviceRoutine`.
    pub DeviceRoutine: PVOID,
    /// `DeviceContext`.
    pub DeviceContext: PVOID,
    /// `NumberOfMapRegisters`.
    pub NumberOfMapRegisters: ULONG,
    /// `DeviceObject`.
    pub DeviceObject: PVOID,
    /// `CurrentIrp`.
    pub CurrentIrp: PVOID,
    /// `BufferChainingDpc`.
    pub BufferChainingDpc: *mut KDPC,
}

/// `KE_PROCESSOR_CHANGE_NOTIFY_CONTEXT`: what a processor-change callback is told.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KE_PROCESSOR_CHANGE_NOTIFY_CONTEXT {
    /// `State` (`KeProcessorAdd*Notify`).
    pub State: KE_PROCESSOR_CHANGE_NOTIFY_STATE,
    /// `NtNumber`: the processor's index.
    pub NtNumber: ULONG,
    /// `Status`.
    pub Status: NTSTATUS,
    /// `ProcNumber`.
    pub ProcNumber: PROCESSOR_NUMBER,
}

/// `KBUGCHECK_CALLBACK_RECORD` (`KeInitializeCallbackRecord`, `KeRegisterBugCheckCallback`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KBUGCHECK_CALLBACK_RECORD {
    /// `Entry`.
    pub Entry: LIST_ENTRY,
    /// `CallbackRoutine`.
    pub CallbackRoutine: Option<KBUGCHECK_CALLBACK_ROUTINE>,
    /// `Buffer`.
    pub Buffer: PVOID,
    /// `Length`.
    pub Length: ULONG,
    /// `Component`.
    pub Component: *mut UCHAR,
    /// `Checksum`.
    pub Checksum: ULONG_PTR,
    /// `State` (`KBUGCHECK_BUFFER_DUMP_STATE`).
    pub State: UCHAR,
}

/// `KBUGCHECK_REASON_CALLBACK_RECORD` (`KeRegisterBugCheckReasonCallback`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KBUGCHECK_REASON_CALLBACK_RECORD {
    /// `Entry`.
    pub Entry: LIST_ENTRY,
    /// `CallbackRoutine`.
    pub CallbackRoutine: Option<KBUGCHECK_REASON_CALLBACK_ROUTINE>,
    /// `Component`.
    pub Component: *mut UCHAR,
    /// `Checksum`.
    pub Checksum: ULONG_PTR,
    /// `Reason`.
    pub Reason: KBUGCHECK_CALLBACK_REASON,
    /// `State`.
    pub State: UCHAR,
}

/// `KBUGCHECK_SECONDARY_DUMP_DATA`: what a `KbCallbackSecondaryDumpData` callback fills in.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KBUGCHECK_SECONDARY_DUMP_DATA {
    /// `InBuffer`.
    pub InBuffer: PVOID,
    /// `InBufferLength`.
    pub InBufferLength: ULONG,
    /// `MaximumAllowed`.
    pub MaximumAllowed: ULONG,
    /// `Guid`.
    pub Guid: GUID,
    /// `OutBuffer`.
    pub OutBuffer: PVOID,
    /// `OutBufferLength`.
    pub OutBufferLength: ULONG,
}

/// `EXCEPTION_MAXIMUM_PARAMETERS`.
pub const EXCEPTION_MAXIMUM_PARAMETERS: usize = 15;

/// `EXCEPTION_RECORD`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct EXCEPTION_RECORD {
    /// `ExceptionCode`.
    pub ExceptionCode: NTSTATUS,
    /// `ExceptionFlags`.
    pub ExceptionFlags: ULONG,
    /// `ExceptionRecord`: a chained record, or NULL.
    pub ExceptionRecord: *mut Self,
    /// `ExceptionAddress`.
    pub ExceptionAddress: PVOID,
    /// `NumberParameters`.
    pub NumberParameters: ULONG,
    /// `ExceptionInformation`.
    pub ExceptionInformation: [ULONG_PTR; EXCEPTION_MAXIMUM_PARAMETERS],
}

/// `M128A`: one 128-bit register image.
#[repr(C, align(16))]
#[derive(Debug, Clone, Copy, Default)]
pub struct M128A {
    /// `Low`.
    pub Low: ULONGLONG,
    /// `High`.
    pub High: i64,
}

/// `CONTEXT` on x64 (`RtlCaptureContext`; what a bug check's exception parameters point at).
#[repr(C, align(16))]
#[derive(Debug, Clone, Copy)]
pub struct CONTEXT {
    /// `P1Home`.
    pub P1Home: ULONG64,
    /// `P2Home`.
    pub P2Home: ULONG64,
    /// `P3Home`.
    pub P3Home: ULONG64,
    /// `P4Home`.
    pub P4Home: ULONG64,
    /// `P5Home`.
    pub P5Home: ULONG64,
    /// `P6Home`.
    pub P6Home: ULONG64,
    /// `ContextFlags` (`CONTEXT_*`).
    pub ContextFlags: ULONG,
    /// `MxCsr`.
    pub MxCsr: ULONG,
    /// `SegCs`.
    pub SegCs: USHORT,
    /// `SegDs`.
    pub SegDs: USHORT,
    /// `SegEs`.
    pub SegEs: USHORT,
    /// `SegFs`.
    pub SegFs: USHORT,
    /// `SegGs`.
    pub SegGs: USHORT,
    /// `SegSs`.
    pub SegSs: USHORT,
    /// `EFlags`.
    pub EFlags: ULONG,
    /// `Dr0`.
    pub Dr0: ULONG64,
    /// `Dr1`.
    pub Dr1: ULONG64,
    /// `Dr2`.
    pub Dr2: ULONG64,
    /// `Dr3`.
    pub Dr3: ULONG64,
    /// `Dr6`.
    pub Dr6: ULONG64,
    /// `Dr7`.
    pub Dr7: ULONG64,
    /// `Rax`.
    pub Rax: ULONG64,
    /// `Rcx`.
    pub Rcx: ULONG64,
    /// `Rdx`.
    pub Rdx: ULONG64,
    /// `Rbx`.
    pub Rbx: ULONG64,
    /// `Rsp`.
    pub Rsp: ULONG64,
    /// `Rbp`.
    pub Rbp: ULONG64,
    /// `Rsi`.
    pub Rsi: ULONG64,
    /// `Rdi`.
    pub Rdi: ULONG64,
    /// `R8`.
    pub R8: ULONG64,
    /// `R9`.
    pub R9: ULONG64,
    /// `R10`.
    pub R10: ULONG64,
    /// `R11`.
    pub R11: ULONG64,
    /// `R12`.
    pub R12: ULONG64,
    /// `R13`.
    pub R13: ULONG64,
    /// `R14`.
    pub R14: ULONG64,
    /// `R15`.
    pub R15: ULONG64,
    /// `Rip`.
    pub Rip: ULONG64,
    /// `FltSave` (`XMM_SAVE_AREA32`, 512 bytes; in C a union with `Header`, `Legacy` and
    /// `Xmm0`..`Xmm15`, which are its 32 slots).
    pub FltSave: [M128A; 32],
    /// `VectorRegister`.
    pub VectorRegister: [M128A; 26],
    /// `VectorControl`.
    pub VectorControl: ULONG64,
    /// `DebugControl`.
    pub DebugControl: ULONG64,
    /// `LastBranchToRip`.
    pub LastBranchToRip: ULONG64,
    /// `LastBranchFromRip`.
    pub LastBranchFromRip: ULONG64,
    /// `LastExceptionToRip`.
    pub LastExceptionToRip: ULONG64,
    /// `LastExceptionFromRip`.
    pub LastExceptionFromRip: ULONG64,
}
