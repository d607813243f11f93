// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `ntddk::types::ke`: dispatcher objects, DPCs, timers, spin locks, APCs, device queues,
//! processor-change and bug-check callbacks, exception records, the processor context.

use super::{NtTable, consts, fn_pointers, layout, typedefs, within};

pub fn items(t: &mut NtTable) {
    fn_pointers!(
        t,
        [
            PKDEFERRED_ROUTINE => KDEFERRED_ROUTINE,
            PKSTART_ROUTINE => KSTART_ROUTINE,
            PKSERVICE_ROUTINE => KSERVICE_ROUTINE,
            PKMESSAGE_SERVICE_ROUTINE => KMESSAGE_SERVICE_ROUTINE,
            PKSYNCHRONIZE_ROUTINE => KSYNCHRONIZE_ROUTINE,
            PKIPI_BROADCAST_WORKER => KIPI_BROADCAST_WORKER,
            PKBUGCHECK_CALLBACK_ROUTINE => KBUGCHECK_CALLBACK_ROUTINE,
            PKBUGCHECK_REASON_CALLBACK_ROUTINE => KBUGCHECK_REASON_CALLBACK_ROUTINE,
            PPROCESSOR_CALLBACK_FUNCTION => PROCESSOR_CALLBACK_FUNCTION,
        ]
    );
    layout!(
        t,
        DISPATCHER_HEADER {
            Lock,
            SignalState,
            WaitListHead
        }
    );
    layout!(t, KEVENT { Header });
    layout!(t, KSEMAPHORE { Header, Limit });
    layout!(
        t,
        KMUTANT {
            Header,
            MutantListEntry,
            OwnerThread,
            Abandoned,
            ApcDisable,
        }
    );
    typedefs!(t, [KMUTEX]);
    layout!(
        t,
        KDPC {
            Type,
            Importance,
            Number,
            DpcListEntry,
            DeferredRoutine,
            DeferredContext,
            SystemArgument1,
            SystemArgument2,
            DpcData,
        }
    );
    layout!(
        t,
        KTIMER {
            Header,
            DueTime,
            TimerListEntry,
            Dpc,
            Processor,
            Period
        }
    );
    layout!(t, KSPIN_LOCK_QUEUE { Next, Lock });
    layout!(t, KLOCK_QUEUE_HANDLE { LockQueue, OldIrql });
    layout!(
        t,
        KAPC {
            Type,
            SpareByte0,
            Size,
            SpareByte1,
            SpareLong0,
            Thread,
            ApcListEntry,
            KernelRoutine,
            RundownRoutine,
            NormalRoutine,
            NormalContext,
            SystemArgument1,
            SystemArgument2,
            ApcStateIndex,
            ApcMode,
            Inserted,
        }
    );
    layout!(
        t,
        KDEVICE_QUEUE_ENTRY {
            DeviceListEntry,
            SortKey,
            Inserted
        }
    );
    let queue = layout!(
        t,
        KDEVICE_QUEUE {
            Type,
            Size,
            DeviceListHead,
            Lock
        }
    );
    within!(t, &queue, KDEVICE_QUEUE, u as "": KDEVICE_QUEUE_u { Busy });
    layout!(
        t,
        WAIT_CONTEXT_BLOCK {
            WaitQueueEntry,
            DeviceRoutine,
            DeviceContext,
            NumberOfMapRegisters,
            DeviceObject,
            CurrentIrp,
            BufferChainingDpc,
        }
    );
    layout!(
        t,
        KE_PROCESSOR_CHANGE_NOTIFY_CONTEXT {
            State,
            NtNumber,
            Status,
            ProcNumber
        }
    );
    layout!(
        t,
        KBUGCHECK_CALLBACK_RECORD {
            Entry,
            CallbackRoutine,
            Buffer,
            Length,
            Component,
            Checksum,
            State,
        }
    );
    layout!(
        t,
        KBUGCHECK_REASON_CALLBACK_RECORD {
            Entry,
            CallbackRoutine,
            Component,
            Checksum,
            Reason,
            State,
        }
    );
    // A variable of ntoskrnl.exe that no header declares (mingw-w64's nor the WDK's): listed so
    // the binding's shape is printed with its source.
    t.documented(
        "KiBugCheckData",
        "ULONG_PTR KiBugCheckData[5] (code, then the four parameters), a data import",
        "ntoskrnl.exe's export table (no WDK header declares it); read by upstream's \
         src/xen/bug_check.c, which declares it itself",
    );
    // mingw-w64's wdm.h has the KWAIT_BLOCK of Windows 7 (Thread, Object, NextWaitBlock before
    // WaitKey); only the stand-in kernel uses the type, with Windows 8's layout.
    t.documented(
        "KWAIT_BLOCK",
        "KWAIT_BLOCK { LIST_ENTRY WaitListEntry; UCHAR WaitType; UCHAR BlockState; USHORT WaitKey; \
         LONG SpareLong; PVOID Thread; PVOID Object; PVOID SparePtr; }, 48 bytes",
        "the WDK's wdm.h for NTDDI_WIN8 and later (mingw-w64 10's wdm.h keeps the Windows 7 \
         order); the stand-in kernel's KeWaitForMultipleObjects reads it, asserted in \
         crates/ntddk/src/types/ke.rs",
    );
    // Another variable of ntoskrnl.exe that mingw-w64's headers do not declare.
    t.documented(
        "InitSafeBootMode",
        "ULONG InitSafeBootMode, a data import (non-zero in Safe Mode)",
        "ntoskrnl.exe's export table; the WDK's ntddk.h declares `extern PULONG InitSafeBootMode` \
         for drivers (the import slot holds the variable's address, read as \
         `*InitSafeBootMode`); read by upstream's src/xenfilt/driver.c",
    );
    layout!(
        t,
        KBUGCHECK_SECONDARY_DUMP_DATA {
            InBuffer,
            InBufferLength,
            MaximumAllowed,
            Guid,
            OutBuffer,
            OutBufferLength,
        }
    );
    consts!(t, [EXCEPTION_MAXIMUM_PARAMETERS]);
    layout!(
        t,
        EXCEPTION_RECORD {
            ExceptionCode,
            ExceptionFlags,
            ExceptionRecord,
            ExceptionAddress,
            NumberParameters,
            ExceptionInformation,
        }
    );
    layout!(t, M128A { Low, High });
    layout!(
        t,
        CONTEXT {
            P1Home,
            P2Home,
            P3Home,
            P4Home,
            P5Home,
            P6Home,
            ContextFlags,
            MxCsr,
            SegCs,
            SegDs,
            SegEs,
            SegFs,
            SegGs,
            SegSs,
            EFlags,
            Dr0,
            Dr1,
            Dr2,
            Dr3,
            Dr6,
            Dr7,
            Rax,
            Rcx,
            Rdx,
            Rbx,
            Rsp,
            Rbp,
            Rsi,
            Rdi,
            R8,
            R9,
            R10,
            R11,
            R12,
            R13,
            R14,
            R15,
            Rip,
            FltSave,
            VectorRegister,
            VectorControl,
            DebugControl,
            LastBranchToRip,
            LastBranchFromRip,
            LastExceptionToRip,
            LastExceptionFromRip,
        }
    );
}
