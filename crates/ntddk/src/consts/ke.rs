// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Kernel (`Ke`) constants: DPC importance, event and timer types, wait reasons, processor
//! modes, processor-change and bug-check callbacks, processor groups, `CONTEXT` flags.

use crate::types::{
    ACCESS_MASK, EVENT_TYPE, KBUGCHECK_BUFFER_DUMP_STATE, KBUGCHECK_CALLBACK_REASON,
    KDPC_IMPORTANCE, KE_PROCESSOR_CHANGE_NOTIFY_STATE, KPROCESSOR_MODE, KWAIT_REASON, LONGLONG,
    TIMER_TYPE, ULONG, ULONG_PTR, USHORT,
};

// Standard access rights (the thread handle of `PsCreateSystemThread` and the reference
// `ObReferenceObjectByHandle` takes on it).
/// `SYNCHRONIZE`: the right to wait on the object.
pub const SYNCHRONIZE: ACCESS_MASK = 0x0010_0000;
/// `STANDARD_RIGHTS_ALL`.
pub const STANDARD_RIGHTS_ALL: ACCESS_MASK = 0x001f_0000;
/// `SPECIFIC_RIGHTS_ALL`.
pub const SPECIFIC_RIGHTS_ALL: ACCESS_MASK = 0x0000_ffff;

/// `MAXLONGLONG`: the highest `LONGLONG` (`MmAllocateContiguousMemory`'s "any address").
pub const MAXLONGLONG: LONGLONG = i64::MAX;

// The kernel's shared data page on x64.
/// `KI_USER_SHARED_DATA`: the kernel-mode address of the shared data page.
pub const KI_USER_SHARED_DATA: ULONG_PTR = 0xffff_f780_0000_0000;
/// `SharedSystemTime` (`KI_USER_SHARED_DATA + 0x14`): the page's `SystemTime` (a
/// `KSYSTEM_TIME`), which `KeQuerySystemTime` reads.
pub const SharedSystemTime: ULONG_PTR = 0xffff_f780_0000_0014;

// KDPC_IMPORTANCE.
/// `LowImportance`.
pub const LowImportance: KDPC_IMPORTANCE = 0;
/// `MediumImportance`.
pub const MediumImportance: KDPC_IMPORTANCE = 1;
/// `HighImportance`.
pub const HighImportance: KDPC_IMPORTANCE = 2;
/// `MediumHighImportance`.
pub const MediumHighImportance: KDPC_IMPORTANCE = 3;

// EVENT_TYPE.
/// `NotificationEvent`.
pub const NotificationEvent: EVENT_TYPE = 0;
/// `SynchronizationEvent`.
pub const SynchronizationEvent: EVENT_TYPE = 1;

// TIMER_TYPE.
/// `NotificationTimer`.
pub const NotificationTimer: TIMER_TYPE = 0;
/// `SynchronizationTimer`.
pub const SynchronizationTimer: TIMER_TYPE = 1;

// KWAIT_REASON (the drivers wait for Executive only).
/// `Executive`.
pub const Executive: KWAIT_REASON = 0;

// MODE values.
/// `KernelMode` (a `MODE`, typed as the `KPROCESSOR_MODE` the routines take).
pub const KernelMode: KPROCESSOR_MODE = 0;
/// `UserMode`.
pub const UserMode: KPROCESSOR_MODE = 1;
/// `MaximumMode`.
pub const MaximumMode: KPROCESSOR_MODE = 2;

// KBUGCHECK_CALLBACK_REASON.
/// `KbCallbackInvalid`.
pub const KbCallbackInvalid: KBUGCHECK_CALLBACK_REASON = 0;
/// `KbCallbackReserved1`.
pub const KbCallbackReserved1: KBUGCHECK_CALLBACK_REASON = 1;
/// `KbCallbackSecondaryDumpData`.
pub const KbCallbackSecondaryDumpData: KBUGCHECK_CALLBACK_REASON = 2;
/// `KbCallbackDumpIo`.
pub const KbCallbackDumpIo: KBUGCHECK_CALLBACK_REASON = 3;
/// `KbCallbackAddPages`.
pub const KbCallbackAddPages: KBUGCHECK_CALLBACK_REASON = 4;
/// `KbCallbackSecondaryMultiPartDumpData`.
pub const KbCallbackSecondaryMultiPartDumpData: KBUGCHECK_CALLBACK_REASON = 5;
/// `KbCallbackRemovePages`.
pub const KbCallbackRemovePages: KBUGCHECK_CALLBACK_REASON = 6;
/// `KbCallbackTriageDumpData`.
pub const KbCallbackTriageDumpData: KBUGCHECK_CALLBACK_REASON = 7;

// KBUGCHECK_BUFFER_DUMP_STATE.
/// `BufferEmpty`.
pub const BufferEmpty: KBUGCHECK_BUFFER_DUMP_STATE = 0;
/// `BufferInserted`.
pub const BufferInserted: KBUGCHECK_BUFFER_DUMP_STATE = 1;
/// `BufferStarted`.
pub const BufferStarted: KBUGCHECK_BUFFER_DUMP_STATE = 2;
/// `BufferFinished`.
pub const BufferFinished: KBUGCHECK_BUFFER_DUMP_STATE = 3;
/// `BufferIncomplete`.
pub const BufferIncomplete: KBUGCHECK_BUFFER_DUMP_STATE = 4;

// KE_PROCESSOR_CHANGE_NOTIFY_STATE and KeRegisterProcessorChangeCallback flags.
/// `KeProcessorAddStartNotify`.
pub const KeProcessorAddStartNotify: KE_PROCESSOR_CHANGE_NOTIFY_STATE = 0;
/// `KeProcessorAddCompleteNotify`.
pub const KeProcessorAddCompleteNotify: KE_PROCESSOR_CHANGE_NOTIFY_STATE = 1;
/// `KeProcessorAddFailureNotify`.
pub const KeProcessorAddFailureNotify: KE_PROCESSOR_CHANGE_NOTIFY_STATE = 2;
/// `KE_PROCESSOR_CHANGE_ADD_EXISTING`.
pub const KE_PROCESSOR_CHANGE_ADD_EXISTING: ULONG = 1;
/// `INVALID_PROCESSOR_INDEX`.
pub const INVALID_PROCESSOR_INDEX: ULONG = 0xffff_ffff;
/// `ALL_PROCESSOR_GROUPS` (`KeQueryActiveProcessorCountEx`).
pub const ALL_PROCESSOR_GROUPS: USHORT = 0xffff;

// CONTEXT.ContextFlags.
/// `CONTEXT_AMD64`.
pub const CONTEXT_AMD64: ULONG = 0x10_0000;
/// `CONTEXT_CONTROL`.
pub const CONTEXT_CONTROL: ULONG = 0x10_0001;
/// `CONTEXT_INTEGER`.
pub const CONTEXT_INTEGER: ULONG = 0x10_0002;
/// `CONTEXT_SEGMENTS`.
pub const CONTEXT_SEGMENTS: ULONG = 0x10_0004;
/// `CONTEXT_FLOATING_POINT`.
pub const CONTEXT_FLOATING_POINT: ULONG = 0x10_0008;
/// `CONTEXT_FULL`.
pub const CONTEXT_FULL: ULONG = 0x10_000b;
/// `CONTEXT_DEBUG_REGISTERS`.
pub const CONTEXT_DEBUG_REGISTERS: ULONG = 0x10_0010;
/// `CONTEXT_ALL`.
pub const CONTEXT_ALL: ULONG = 0x10_001f;
/// `CONTEXT_XSTATE`.
pub const CONTEXT_XSTATE: ULONG = 0x10_0020;
/// `CONTEXT_EXCEPTION_ACTIVE`.
pub const CONTEXT_EXCEPTION_ACTIVE: ULONG = 0x800_0000;
/// `CONTEXT_SERVICE_ACTIVE`.
pub const CONTEXT_SERVICE_ACTIVE: ULONG = 0x1000_0000;
/// `CONTEXT_EXCEPTION_REQUEST`.
pub const CONTEXT_EXCEPTION_REQUEST: ULONG = 0x4000_0000;
/// `CONTEXT_EXCEPTION_REPORTING`.
pub const CONTEXT_EXCEPTION_REPORTING: ULONG = 0x8000_0000;
