// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Kernel routines, imported by name from `ntoskrnl.exe` and `HAL.dll` (WDK spellings).
//!
//! Each routine's IRQL contract is the one Microsoft documents for it, stated beside it; the
//! callers in the glue keep it, and the stand-in kernel that runs the images checks it.
//! Routines that not every supported kernel exports (`ExAllocatePool2`) are not imported: they
//! are resolved at run time with `MmGetSystemRoutineAddress` (see [`crate::runtime::pool`]).
//!
//! `__chkstk` (the stack probe the compiler calls for a frame over a page) is deliberately not
//! imported: a kernel stack is a few pages, so such a frame is a bug, and the link fails with
//! an undefined `__chkstk` naming the function that has it.
//!
//! The `wdk` feature links the same names through the WDK's import libraries instead of
//! `raw-dylib`.

use core::ffi::{c_char, c_void};

use crate::consts::BufferEmpty;
use crate::types::{
    ACCESS_MASK, BOOLEAN, CCHAR, CLIENT_ID, CREATE_PROCESS_NOTIFY_ROUTINE, DEVICE_OBJECT,
    DEVICE_RELATION_TYPE, DRIVER_OBJECT, EVENT_TYPE, HANDLE, IO_CONNECT_INTERRUPT_PARAMETERS,
    IO_DISCONNECT_INTERRUPT_PARAMETERS, IO_REMOVE_LOCK, IO_WORKITEM, IO_WORKITEM_ROUTINE, IRP,
    KBUGCHECK_CALLBACK_RECORD, KBUGCHECK_CALLBACK_ROUTINE, KDPC, KDPC_IMPORTANCE, KEVENT,
    KEY_INFORMATION_CLASS, KEY_VALUE_INFORMATION_CLASS, KINTERRUPT, KIRQL, KPRIORITY,
    KPROCESSOR_MODE, KSTART_ROUTINE, KSYNCHRONIZE_ROUTINE, KTIMER, KWAIT_REASON, LARGE_INTEGER,
    LOAD_IMAGE_NOTIFY_ROUTINE, LONG, LONG_PTR, MDL, MEMORY_CACHING_TYPE, NTSTATUS,
    OBJECT_ATTRIBUTES, OBJECT_TYPE, PHYSICAL_ADDRESS, PHYSICAL_MEMORY_RANGE, POOL_TYPE,
    POWER_STATE, POWER_STATE_TYPE, PROCESSOR_CALLBACK_FUNCTION, PROCESSOR_NUMBER, PVOID,
    REQUEST_POWER_COMPLETE, SIZE_T, SYSTEM_INFORMATION_CLASS, TIMER_TYPE, UCHAR, ULONG, ULONG_PTR,
    ULONG64, UNICODE_STRING, USHORT, WORK_QUEUE_TYPE,
};

#[cfg_attr(
    not(feature = "wdk"),
    link(name = "ntoskrnl.exe", kind = "raw-dylib", modifiers = "+verbatim")
)]
#[cfg_attr(feature = "wdk", link(name = "ntoskrnl"))]
unsafe extern "system" {
    // ---- Run-time library the compiler's own code calls (any IRQL; non-paged). ----
    /// `memcpy`.
    pub fn memcpy(dest: *mut c_void, src: *const c_void, count: SIZE_T) -> *mut c_void;
    /// `memmove`.
    pub fn memmove(dest: *mut c_void, src: *const c_void, count: SIZE_T) -> *mut c_void;
    /// `memset`.
    pub fn memset(dest: *mut c_void, value: i32, count: SIZE_T) -> *mut c_void;
    /// `memcmp`.
    pub fn memcmp(a: *const c_void, b: *const c_void, count: SIZE_T) -> i32;
    /// `strlen`.
    pub fn strlen(s: *const c_char) -> SIZE_T;

    // ---- Bug checks (any IRQL). ----
    /// `KeBugCheckEx`: never returns.
    pub fn KeBugCheckEx(code: u32, p1: ULONG_PTR, p2: ULONG_PTR, p3: ULONG_PTR, p4: ULONG_PTR)
    -> !;
    /// `KeRegisterBugCheckCallback` (<= DISPATCH_LEVEL). `FALSE` unless the record is
    /// [`KeInitializeCallbackRecord`]'s (state `BufferEmpty`). The record, in non-paged memory,
    /// is the kernel's until [`KeDeregisterBugCheckCallback`]; the routine runs at HIGH_LEVEL
    /// during a bug check (after the crash dump is written), so it may not allocate, wait or
    /// take a lock below HIGH_LEVEL.
    pub fn KeRegisterBugCheckCallback(
        record: *mut KBUGCHECK_CALLBACK_RECORD,
        routine: KBUGCHECK_CALLBACK_ROUTINE,
        buffer: PVOID,
        length: u32,
        component: *mut UCHAR,
    ) -> BOOLEAN;
    /// `KeDeregisterBugCheckCallback` (<= DISPATCH_LEVEL). `FALSE` if the record is not
    /// registered.
    pub fn KeDeregisterBugCheckCallback(record: *mut KBUGCHECK_CALLBACK_RECORD) -> BOOLEAN;
    /// `KiBugCheckData`: a variable, not a routine (no WDK header declares it; upstream's
    /// `bug_check.c` declares it itself). The code and the four parameters of the bug check in
    /// progress, as `KeBugCheckEx` stored them before calling the bug-check callbacks, which is
    /// when a callback reads them. Imported as data: the import-table slot holds its address.
    pub static KiBugCheckData: [ULONG_PTR; 5];

    // ---- Debug output. ----
    /// `DbgSetDebugPrintCallback` (PASSIVE_LEVEL); the callback runs at any IRQL.
    pub fn DbgSetDebugPrintCallback(
        callback: unsafe extern "system" fn(*mut crate::types::ANSI_STRING, u32, u32),
        enable: BOOLEAN,
    ) -> NTSTATUS;
    /// `DbgSetDebugFilterState` (PASSIVE_LEVEL).
    pub fn DbgSetDebugFilterState(component: u32, level: u32, state: BOOLEAN) -> NTSTATUS;

    // ---- DPCs. ----
    /// `KeInitializeDpc` (any IRQL).
    pub fn KeInitializeDpc(
        dpc: *mut c_void,
        routine: unsafe extern "system" fn(*mut c_void, PVOID, PVOID, PVOID),
        context: PVOID,
    );
    /// `KeInsertQueueDpc` (any IRQL).
    pub fn KeInsertQueueDpc(dpc: *mut c_void, arg1: PVOID, arg2: PVOID) -> BOOLEAN;
    /// `KeRemoveQueueDpc` (any IRQL).
    pub fn KeRemoveQueueDpc(dpc: *mut c_void) -> BOOLEAN;
    /// `KeFlushQueuedDpcs` (PASSIVE_LEVEL).
    pub fn KeFlushQueuedDpcs();

    // ---- Pool (<= DISPATCH_LEVEL for non-paged pool). ----
    /// `ExAllocatePoolWithTag`: deprecated by `ExAllocatePool2` but present on every Windows;
    /// the fallback when `ExAllocatePool2` cannot be resolved.
    pub fn ExAllocatePoolWithTag(pool_type: POOL_TYPE, bytes: SIZE_T, tag: u32) -> PVOID;
    /// `ExFreePoolWithTag`.
    pub fn ExFreePoolWithTag(p: PVOID, tag: u32);
    /// `ExFreePool`: frees pool whatever its tag (buffers another driver allocated and handed
    /// over, as Plug and Play does with device relations) (<= DISPATCH_LEVEL).
    pub fn ExFreePool(p: PVOID);

    // ---- System routines (PASSIVE_LEVEL). ----
    /// `MmGetSystemRoutineAddress`.
    pub fn MmGetSystemRoutineAddress(name: *mut UNICODE_STRING) -> PVOID;

    /// `ZwQuerySystemInformation` (`PASSIVE_LEVEL`): with [`crate::SystemModuleInformation`],
    /// the loaded kernel modules as an `RTL_PROCESS_MODULES` (what the WDK's
    /// `AuxKlibQueryModuleInformation` asks for). A buffer too small for the answer gives
    /// `STATUS_INFO_LENGTH_MISMATCH` and, in `return_length` (optional), the bytes needed.
    pub fn ZwQuerySystemInformation(
        class: SYSTEM_INFORMATION_CLASS,
        info: PVOID,
        length: ULONG,
        return_length: *mut ULONG,
    ) -> NTSTATUS;

    // ---- Process and image notifications (PASSIVE_LEVEL). ----
    /// `PsSetLoadImageNotifyRoutine`: `routine` is called for every image mapped from now on
    /// (drivers included) until [`PsRemoveLoadImageNotifyRoutine`], which a driver must call
    /// before it unloads.
    pub fn PsSetLoadImageNotifyRoutine(routine: LOAD_IMAGE_NOTIFY_ROUTINE) -> NTSTATUS;
    /// `PsRemoveLoadImageNotifyRoutine`: `STATUS_PROCEDURE_NOT_FOUND` if `routine` is not
    /// registered. Returns after every running call of the routine has returned.
    pub fn PsRemoveLoadImageNotifyRoutine(routine: LOAD_IMAGE_NOTIFY_ROUTINE) -> NTSTATUS;
    /// `PsSetCreateProcessNotifyRoutine`: registers `routine` (`remove` FALSE) for every
    /// process creation and exit, or removes it (`remove` TRUE; `STATUS_PROCEDURE_NOT_FOUND` if
    /// it is not registered). A driver must remove it before it unloads.
    pub fn PsSetCreateProcessNotifyRoutine(
        routine: CREATE_PROCESS_NOTIFY_ROUTINE,
        remove: BOOLEAN,
    ) -> NTSTATUS;

    // ---- Registry (PASSIVE_LEVEL). ----
    /// `ZwOpenKey`.
    pub fn ZwOpenKey(
        key: *mut HANDLE,
        access: ACCESS_MASK,
        attrs: *mut OBJECT_ATTRIBUTES,
    ) -> NTSTATUS;
    /// `ZwCreateKey`.
    pub fn ZwCreateKey(
        key: *mut HANDLE,
        access: ACCESS_MASK,
        attrs: *mut OBJECT_ATTRIBUTES,
        title_index: u32,
        class: *mut UNICODE_STRING,
        options: u32,
        disposition: *mut u32,
    ) -> NTSTATUS;
    /// `ZwClose`.
    pub fn ZwClose(handle: HANDLE) -> NTSTATUS;
    /// `ZwQueryValueKey`.
    pub fn ZwQueryValueKey(
        key: HANDLE,
        name: *mut UNICODE_STRING,
        class: KEY_VALUE_INFORMATION_CLASS,
        info: PVOID,
        length: u32,
        result_length: *mut u32,
    ) -> NTSTATUS;
    /// `ZwSetValueKey`.
    pub fn ZwSetValueKey(
        key: HANDLE,
        name: *mut UNICODE_STRING,
        title_index: u32,
        kind: u32,
        data: PVOID,
        size: u32,
    ) -> NTSTATUS;
    /// `ZwDeleteValueKey`.
    pub fn ZwDeleteValueKey(key: HANDLE, name: *mut UNICODE_STRING) -> NTSTATUS;
    /// `ZwEnumerateKey`.
    pub fn ZwEnumerateKey(
        key: HANDLE,
        index: u32,
        class: KEY_INFORMATION_CLASS,
        info: PVOID,
        length: u32,
        result_length: *mut u32,
    ) -> NTSTATUS;

    // ---- I/O manager. ----
    /// `IofCompleteRequest` (<= DISPATCH_LEVEL).
    pub fn IofCompleteRequest(irp: *mut IRP, boost: i8);
    /// `IoCreateDevice` (PASSIVE_LEVEL).
    pub fn IoCreateDevice(
        driver: *mut DRIVER_OBJECT,
        extension_size: u32,
        name: *mut UNICODE_STRING,
        device_type: u32,
        characteristics: u32,
        exclusive: BOOLEAN,
        device: *mut *mut DEVICE_OBJECT,
    ) -> NTSTATUS;
    /// `IoDeleteDevice` (PASSIVE_LEVEL).
    pub fn IoDeleteDevice(device: *mut DEVICE_OBJECT);
    /// `IofCallDriver` (<= DISPATCH_LEVEL).
    pub fn IofCallDriver(device: *mut DEVICE_OBJECT, irp: *mut IRP) -> NTSTATUS;
    /// `IoAttachDeviceToDeviceStack`: `source` on top of the stack `target` is in; the device
    /// it attached to, or NULL (PASSIVE_LEVEL).
    pub fn IoAttachDeviceToDeviceStack(
        source: *mut DEVICE_OBJECT,
        target: *mut DEVICE_OBJECT,
    ) -> *mut DEVICE_OBJECT;
    /// `IoDetachDevice`: detaches whatever is attached on top of `lower` (PASSIVE_LEVEL).
    pub fn IoDetachDevice(lower: *mut DEVICE_OBJECT);
    /// `IoInvalidateDeviceRelations` on a PDO (<= DISPATCH_LEVEL).
    pub fn IoInvalidateDeviceRelations(pdo: *mut DEVICE_OBJECT, kind: DEVICE_RELATION_TYPE);
    /// `IoInvalidateDeviceState` on a PDO (<= DISPATCH_LEVEL).
    pub fn IoInvalidateDeviceState(pdo: *mut DEVICE_OBJECT);
    /// `IoAllocateIrp` (<= DISPATCH_LEVEL).
    pub fn IoAllocateIrp(stack_size: CCHAR, charge_quota: BOOLEAN) -> *mut IRP;
    /// `IoFreeIrp` (<= DISPATCH_LEVEL).
    pub fn IoFreeIrp(irp: *mut IRP);
    /// `IoGetAttachedDeviceReference`: the top of `device`'s stack, referenced (<=
    /// DISPATCH_LEVEL).
    pub fn IoGetAttachedDeviceReference(device: *mut DEVICE_OBJECT) -> *mut DEVICE_OBJECT;
    /// `IoAllocateWorkItem` (<= DISPATCH_LEVEL).
    pub fn IoAllocateWorkItem(device: *mut DEVICE_OBJECT) -> *mut IO_WORKITEM;
    /// `IoQueueWorkItem`: `routine` runs at PASSIVE_LEVEL in a system thread (<=
    /// DISPATCH_LEVEL).
    pub fn IoQueueWorkItem(
        item: *mut IO_WORKITEM,
        routine: IO_WORKITEM_ROUTINE,
        queue: WORK_QUEUE_TYPE,
        context: PVOID,
    );
    /// `IoFreeWorkItem` (<= DISPATCH_LEVEL).
    pub fn IoFreeWorkItem(item: *mut IO_WORKITEM);
    /// `ObfReferenceObject` (<= DISPATCH_LEVEL).
    pub fn ObfReferenceObject(object: PVOID) -> LONG_PTR;

    // ---- Remove locks (what the WDK's `IoInitializeRemoveLock`, `IoAcquireRemoveLock`,
    // `IoReleaseRemoveLock` and `IoReleaseRemoveLockAndWait` macros call). `size` is
    // `size_of::<IO_REMOVE_LOCK>()`, which tells the kernel the free build's layout. ----
    /// `IoInitializeRemoveLockEx` (PASSIVE_LEVEL), on non-paged storage that does not move
    /// while the lock is in use (a device extension).
    pub fn IoInitializeRemoveLockEx(
        lock: *mut IO_REMOVE_LOCK,
        tag: ULONG,
        max_locked_minutes: ULONG,
        high_watermark: ULONG,
        size: ULONG,
    );
    /// `IoAcquireRemoveLockEx` (`<= DISPATCH_LEVEL`): `STATUS_SUCCESS`, or
    /// `STATUS_DELETE_PENDING` once `IoReleaseRemoveLockAndWaitEx` has been called. `tag`
    /// (the IRP, by convention) is released with the same value; `file` and `line` are only
    /// read by checked builds.
    pub fn IoAcquireRemoveLockEx(
        lock: *mut IO_REMOVE_LOCK,
        tag: PVOID,
        file: *const c_char,
        line: ULONG,
        size: ULONG,
    ) -> NTSTATUS;
    /// `IoReleaseRemoveLockEx` (`<= DISPATCH_LEVEL`): one acquisition with `tag` ends.
    pub fn IoReleaseRemoveLockEx(lock: *mut IO_REMOVE_LOCK, tag: PVOID, size: ULONG);
    /// `IoReleaseRemoveLockAndWaitEx` (`PASSIVE_LEVEL`): releases the caller's acquisition with
    /// `tag`, refuses every later one and waits until the others are released (the removal).
    pub fn IoReleaseRemoveLockAndWaitEx(lock: *mut IO_REMOVE_LOCK, tag: PVOID, size: ULONG);
    /// `InitSafeBootMode`: a variable, not a routine. Non-zero when Windows started in Safe
    /// Mode (the WDK declares `PULONG InitSafeBootMode` for drivers, whose import slot is the
    /// address of this `ULONG`; read `*InitSafeBootMode`). Imported as data, as
    /// [`KiBugCheckData`]; any IRQL.
    pub static InitSafeBootMode: ULONG;

    // ---- Power manager. ----
    /// `PoCallDriver`: passes a power IRP down (<= DISPATCH_LEVEL).
    pub fn PoCallDriver(device: *mut DEVICE_OBJECT, irp: *mut IRP) -> NTSTATUS;
    /// `PoSetPowerState`: tells the power manager the device's new state (<= DISPATCH_LEVEL).
    pub fn PoSetPowerState(
        device: *mut DEVICE_OBJECT,
        kind: POWER_STATE_TYPE,
        state: POWER_STATE,
    ) -> POWER_STATE;
    /// `PoRequestPowerIrp`: asks the power manager for a device power IRP for the stack of
    /// `device` (<= DISPATCH_LEVEL).
    pub fn PoRequestPowerIrp(
        device: *mut DEVICE_OBJECT,
        minor: UCHAR,
        state: POWER_STATE,
        complete: Option<REQUEST_POWER_COMPLETE>,
        context: PVOID,
        irp: *mut *mut IRP,
    ) -> NTSTATUS;
    /// `PoStartNextPowerIrp` (Windows before Vista needed it; harmless since) (<=
    /// DISPATCH_LEVEL).
    pub fn PoStartNextPowerIrp(irp: *mut IRP);

    // ---- Processors (any IRQL). ----
    /// `KeGetCurrentProcessorNumberEx`: the caller's processor index, and its group and number
    /// in `number` unless NULL (stable only at DISPATCH_LEVEL or above).
    pub fn KeGetCurrentProcessorNumberEx(number: *mut PROCESSOR_NUMBER) -> ULONG;
    /// `KeQueryMaximumProcessorCountEx`: processors the group (or `ALL_PROCESSOR_GROUPS`)
    /// may ever hold, hot-added ones included.
    pub fn KeQueryMaximumProcessorCountEx(group: USHORT) -> ULONG;
    /// `KeQueryActiveProcessorCountEx`: processors active now in the group (or
    /// `ALL_PROCESSOR_GROUPS`).
    pub fn KeQueryActiveProcessorCountEx(group: USHORT) -> ULONG;
    /// `KeSetImportanceDpc` (any IRQL): where `KeInsertQueueDpc` puts the DPC in its
    /// processor's queue, and whether it interrupts that processor at once; the DPC must not be
    /// queued.
    pub fn KeSetImportanceDpc(dpc: *mut KDPC, importance: KDPC_IMPORTANCE);
    /// `KeSetTargetProcessorDpcEx` (any IRQL): the processor a DPC runs on; the DPC must not
    /// be queued.
    pub fn KeSetTargetProcessorDpcEx(dpc: *mut KDPC, number: *mut PROCESSOR_NUMBER) -> NTSTATUS;

    // ---- Events and waits. ----
    /// `KeInitializeEvent` (any IRQL) on non-paged storage that does not move afterwards.
    pub fn KeInitializeEvent(event: *mut KEVENT, kind: EVENT_TYPE, state: BOOLEAN);
    /// `KeSetEvent` (<= DISPATCH_LEVEL with `wait` FALSE): the previous signal state.
    pub fn KeSetEvent(event: *mut KEVENT, increment: KPRIORITY, wait: BOOLEAN) -> LONG;
    /// `KeClearEvent` (<= DISPATCH_LEVEL).
    pub fn KeClearEvent(event: *mut KEVENT);
    /// `KeReadStateEvent` (`<= DISPATCH_LEVEL`): non-zero when signalled.
    pub fn KeReadStateEvent(event: *mut KEVENT) -> LONG;
    /// `KeWaitForSingleObject` (<= APC_LEVEL; <= DISPATCH_LEVEL with a zero timeout):
    /// `STATUS_SUCCESS` when signalled, `STATUS_TIMEOUT` when `timeout` (100 ns units,
    /// negative = relative; NULL = forever) passed first.
    pub fn KeWaitForSingleObject(
        object: PVOID,
        reason: KWAIT_REASON,
        mode: KPROCESSOR_MODE,
        alertable: BOOLEAN,
        timeout: *mut LARGE_INTEGER,
    ) -> NTSTATUS;

    // ---- Timers (<= DISPATCH_LEVEL). ----
    /// `KeInitializeTimerEx` on non-paged storage that does not move afterwards.
    pub fn KeInitializeTimerEx(timer: *mut KTIMER, kind: TIMER_TYPE);
    /// `KeSetTimerEx`: arms the timer (`due` in 100 ns units, negative = relative; `period`
    /// in milliseconds, 0 = one-shot), queueing `dpc` at each expiry; TRUE if it was armed.
    pub fn KeSetTimerEx(
        timer: *mut KTIMER,
        due: LARGE_INTEGER,
        period: LONG,
        dpc: *mut KDPC,
    ) -> BOOLEAN;
    /// `KeCancelTimer`: TRUE if the timer was armed.
    pub fn KeCancelTimer(timer: *mut KTIMER) -> BOOLEAN;

    // ---- System threads and object references. ----
    /// `PsCreateSystemThread` (`PASSIVE_LEVEL`): a thread of the system process running
    /// `start(context)` at PASSIVE_LEVEL; the handle must be closed with `ZwClose`.
    pub fn PsCreateSystemThread(
        handle: *mut HANDLE,
        access: ULONG,
        attributes: *mut OBJECT_ATTRIBUTES,
        process: HANDLE,
        client: *mut CLIENT_ID,
        start: KSTART_ROUTINE,
        context: PVOID,
    ) -> NTSTATUS;
    /// `ObReferenceObjectByHandle` (`PASSIVE_LEVEL`): a counted pointer to the handle's object
    /// (`object_type` may be NULL from kernel mode; `information` is an optional
    /// `POBJECT_HANDLE_INFORMATION`, NULL here).
    pub fn ObReferenceObjectByHandle(
        handle: HANDLE,
        access: ACCESS_MASK,
        object_type: *mut OBJECT_TYPE,
        mode: KPROCESSOR_MODE,
        object: *mut PVOID,
        information: PVOID,
    ) -> NTSTATUS;
    /// `ObfDereferenceObject` (what the `ObDereferenceObject` macro calls; <= DISPATCH_LEVEL).
    pub fn ObfDereferenceObject(object: PVOID) -> LONG_PTR;

    // ---- Physical memory (<= DISPATCH_LEVEL). ----
    /// `MmAllocateContiguousMemory`: cached, physically contiguous, page-aligned non-paged
    /// memory below `highest` (inclusive), or NULL; not zeroed.
    pub fn MmAllocateContiguousMemory(bytes: SIZE_T, highest: PHYSICAL_ADDRESS) -> PVOID;
    /// `MmFreeContiguousMemory`.
    pub fn MmFreeContiguousMemory(base: PVOID);
    /// `MmGetPhysicalAddress` (any IRQL for non-paged memory).
    pub fn MmGetPhysicalAddress(base: PVOID) -> PHYSICAL_ADDRESS;
    /// `MmMapIoSpace`: maps `bytes` of physical address space, or NULL.
    pub fn MmMapIoSpace(
        physical: PHYSICAL_ADDRESS,
        bytes: SIZE_T,
        cache: MEMORY_CACHING_TYPE,
    ) -> PVOID;
    /// `MmUnmapIoSpace`: undoes one `MmMapIoSpace` with the same size.
    pub fn MmUnmapIoSpace(base: PVOID, bytes: SIZE_T);
    /// `MmAllocatePagesForMdlEx` (`PASSIVE_LEVEL` with `MM_ALLOCATE_AND_HOT_REMOVE`): up to
    /// `bytes` of physical pages between `low` and `high`, described by a fresh MDL whose PFN
    /// array follows its header, or NULL; possibly fewer pages than asked.
    pub fn MmAllocatePagesForMdlEx(
        low: PHYSICAL_ADDRESS,
        high: PHYSICAL_ADDRESS,
        skip: PHYSICAL_ADDRESS,
        bytes: SIZE_T,
        cache: MEMORY_CACHING_TYPE,
        flags: ULONG,
    ) -> *mut MDL;
    /// `MmGetPhysicalMemoryRanges` (`PASSIVE_LEVEL`): the physical memory the memory manager
    /// knows, as a non-paged pool array ended by an all-zero entry (the caller frees it with
    /// [`ExFreePool`]), or NULL.
    pub fn MmGetPhysicalMemoryRanges() -> *mut PHYSICAL_MEMORY_RANGE;
    /// `MmMapLockedPagesSpecifyCache` (<= `DISPATCH_LEVEL` for `KernelMode`): maps the pages an
    /// MDL with `MDL_PAGES_LOCKED` describes at a system address (`MappedSystemVa`, flag
    /// `MDL_MAPPED_TO_SYSTEM_VA`), or NULL; undone with [`MmUnmapLockedPages`].
    pub fn MmMapLockedPagesSpecifyCache(
        mdl: *mut MDL,
        mode: KPROCESSOR_MODE,
        cache: MEMORY_CACHING_TYPE,
        requested: PVOID,
        bug_check_on_failure: ULONG,
        priority: ULONG,
    ) -> PVOID;
    /// `MmUnmapLockedPages` (<= `DISPATCH_LEVEL`): undoes [`MmMapLockedPagesSpecifyCache`].
    pub fn MmUnmapLockedPages(base: PVOID, mdl: *mut MDL);
    /// `MmAddPhysicalMemory` (`PASSIVE_LEVEL`): gives a physical range to the memory manager
    /// (hot add); `*bytes` becomes what was added.
    pub fn MmAddPhysicalMemory(start: *mut PHYSICAL_ADDRESS, bytes: *mut LARGE_INTEGER)
    -> NTSTATUS;

    // ---- Named kernel events (`PASSIVE_LEVEL`). ----
    /// `IoCreateNotificationEvent`: opens (creating if needed) the named notification event and
    /// a handle to it (`ZwClose`), or NULL.
    pub fn IoCreateNotificationEvent(name: *mut UNICODE_STRING, handle: *mut HANDLE)
    -> *mut KEVENT;

    // ---- Interrupt locks (`IoConnectInterruptEx` is resolved at run time, see below). ----
    /// `KeAcquireInterruptSpinLock` (<= the interrupt's synchronize IRQL): raises to it, takes
    /// the interrupt's lock and returns the IRQL to restore.
    pub fn KeAcquireInterruptSpinLock(interrupt: *mut KINTERRUPT) -> KIRQL;
    /// `KeReleaseInterruptSpinLock` (at the synchronize IRQL).
    pub fn KeReleaseInterruptSpinLock(interrupt: *mut KINTERRUPT, old: KIRQL);
    /// `KeSynchronizeExecution` (<= the interrupt's synchronize IRQL): runs `routine(context)`
    /// at that IRQL holding the interrupt's lock.
    pub fn KeSynchronizeExecution(
        interrupt: *mut KINTERRUPT,
        routine: KSYNCHRONIZE_ROUTINE,
        context: PVOID,
    ) -> BOOLEAN;
}

#[cfg_attr(
    not(feature = "wdk"),
    link(name = "HAL.dll", kind = "raw-dylib", modifiers = "+verbatim")
)]
#[cfg_attr(feature = "wdk", link(name = "hal"))]
unsafe extern "system" {
    /// `KeStallExecutionProcessor` (any IRQL): busy-waits `microseconds`.
    pub fn KeStallExecutionProcessor(microseconds: ULONG);
}

/// `KeQuerySystemTime` on x64 (a `wdm.h` macro, not a routine): the system time, 100 ns units
/// since 1601-01-01 UTC. Any IRQL.
///
/// It is read from the kernel's shared page (`SharedSystemTime`, a
/// `KSYSTEM_TIME`: `LowPart`, `High1Time`, `High2Time`). The kernel writes `High2Time`, then
/// `LowPart`, then `High1Time`; reading in the opposite order until both high parts agree gives
/// a consistent value.
#[cfg(target_arch = "x86_64")]
#[must_use]
pub fn KeQuerySystemTime() -> LARGE_INTEGER {
    let low = core::ptr::with_exposed_provenance::<u32>(crate::consts::SharedSystemTime);
    let high1 = low.wrapping_add(1).cast::<i32>();
    let high2 = low.wrapping_add(2).cast::<i32>();
    loop {
        // SAFETY: the kernel maps the shared data page at `KI_USER_SHARED_DATA` in every
        // context and keeps its `KSYSTEM_TIME SystemTime` at `SharedSystemTime` (the address
        // the WDK's macro reads); the three words are 4-byte aligned.
        let first = unsafe { high1.read_volatile() };
        // SAFETY: as above.
        let part = unsafe { low.read_volatile() };
        // SAFETY: as above.
        let second = unsafe { high2.read_volatile() };
        if first == second {
            return (i64::from(first) << 32) | i64::from(part);
        }
        core::hint::spin_loop();
    }
}

/// `KeGetProcessorNumberFromIndex` (any IRQL): the group and number of a processor index
/// (`STATUS_INVALID_PARAMETER` for an index no processor has).
///
/// This routine, [`IoConnectInterruptExFn`] and [`IoDisconnectInterruptExFn`] are not imported:
/// Wine's kernel (which loads the images in `scripts/wine-test`) lacks them, and an image whose
/// imports it cannot resolve fails that test. They are resolved at run time with
/// [`MmGetSystemRoutineAddress`] (every Windows the package supports exports them), through these
/// signatures.
pub type KeGetProcessorNumberFromIndexFn =
    unsafe extern "system" fn(index: ULONG, number: *mut PROCESSOR_NUMBER) -> NTSTATUS;
/// `IoConnectInterruptEx` (`PASSIVE_LEVEL`), resolved at run time.
///
/// Connects the ISR; on success the kernel has written the interrupt object (or message table)
/// and the version it used. See [`KeGetProcessorNumberFromIndexFn`] for why it is not imported.
pub type IoConnectInterruptExFn =
    unsafe extern "system" fn(parameters: *mut IO_CONNECT_INTERRUPT_PARAMETERS) -> NTSTATUS;
/// `IoDisconnectInterruptEx` (`PASSIVE_LEVEL`). Resolved at run time (see
/// [`KeGetProcessorNumberFromIndexFn`]).
pub type IoDisconnectInterruptExFn =
    unsafe extern "system" fn(parameters: *mut IO_DISCONNECT_INTERRUPT_PARAMETERS);

/// `KeRegisterProcessorChangeCallback` (`PASSIVE_LEVEL`), resolved at run time.
///
/// Registers `routine` for processor hot-add notifications; with
/// `KE_PROCESSOR_CHANGE_ADD_EXISTING` it is first called (at `PASSIVE_LEVEL`, before this
/// returns) with `KeProcessorAddCompleteNotify` for every active processor. Returns a handle for
/// [`KeDeregisterProcessorChangeCallbackFn`], or NULL. Wine lacks it (see
/// [`KeGetProcessorNumberFromIndexFn`]).
pub type KeRegisterProcessorChangeCallbackFn = unsafe extern "system" fn(
    routine: PROCESSOR_CALLBACK_FUNCTION,
    context: PVOID,
    flags: ULONG,
) -> PVOID;
/// `KeDeregisterProcessorChangeCallback` (`PASSIVE_LEVEL`): removes a registration made with
/// [`KeRegisterProcessorChangeCallbackFn`]. Resolved at run time.
pub type KeDeregisterProcessorChangeCallbackFn = unsafe extern "system" fn(handle: PVOID);

/// `MmAllocatePagesForMdlEx` (<= `DISPATCH_LEVEL`), resolved at run time by xen.sys, which
/// Wine's kernel must load (xenbus.sys imports it as [`MmAllocatePagesForMdlEx`]).
pub type MmAllocatePagesForMdlExFn = unsafe extern "system" fn(
    low: PHYSICAL_ADDRESS,
    high: PHYSICAL_ADDRESS,
    skip: PHYSICAL_ADDRESS,
    bytes: SIZE_T,
    cache: MEMORY_CACHING_TYPE,
    flags: ULONG,
) -> *mut MDL;
/// `MmFreePagesFromMdl` (<= `DISPATCH_LEVEL`): gives back the pages of an MDL
/// [`MmAllocatePagesForMdlExFn`] built (the MDL itself is then freed with `ExFreePool`).
/// Resolved at run time.
pub type MmFreePagesFromMdlFn = unsafe extern "system" fn(mdl: *mut MDL);

/// `RtlLookupFunctionEntry` (any IRQL: the exception dispatcher's own lookup), resolved at run
/// time.
///
/// Used by xen.sys's bug-check callback: the `RUNTIME_FUNCTION` covering `control_pc` in a loaded
/// image's exception directory, that image's base written to `image_base`; NULL for a leaf
/// function or an address outside every image. `history` may be NULL.
pub type RtlLookupFunctionEntryFn = unsafe extern "system" fn(
    control_pc: ULONG64,
    image_base: *mut ULONG64,
    history: PVOID,
) -> PVOID;
/// `RtlVirtualUnwind` (any IRQL), resolved at run time.
///
/// Unwinds `context` by the one frame of
/// `function` (found by [`RtlLookupFunctionEntryFn`]), reading the saved registers from the
/// stack; returns the frame's handler (none asked for with `UNW_FLAG_NHANDLER`).
pub type RtlVirtualUnwindFn = unsafe extern "system" fn(
    handler_type: ULONG,
    image_base: ULONG64,
    control_pc: ULONG64,
    function: PVOID,
    context: PVOID,
    handler_data: *mut PVOID,
    establisher_frame: *mut ULONG64,
    context_pointers: PVOID,
) -> PVOID;
/// `IoGetStackLimits` (any IRQL since Windows Server 2003 SP1), resolved at run time: the
/// bounds of the current thread's stack, `low <= RSP < high`, resident while the thread runs.
pub type IoGetStackLimitsFn = unsafe extern "system" fn(low: *mut ULONG_PTR, high: *mut ULONG_PTR);
/// `UNW_FLAG_NHANDLER`: no handler wanted from [`RtlVirtualUnwindFn`].
pub const UNW_FLAG_NHANDLER: ULONG = 0;

/// `KeInitializeCallbackRecord` (a `wdm.h` macro, not a routine): readies a record for
/// [`KeRegisterBugCheckCallback`] by setting its state to `BufferEmpty`.
#[expect(
    clippy::cast_possible_truncation,
    reason = "the C macro stores the enumeration value BufferEmpty (0) in the UCHAR field"
)]
pub const fn KeInitializeCallbackRecord(record: &mut KBUGCHECK_CALLBACK_RECORD) {
    const { assert!(BufferEmpty == 0) };
    record.State = BufferEmpty as UCHAR;
}

#[cfg_attr(
    not(feature = "wdk"),
    link(name = "ntoskrnl.exe", kind = "raw-dylib", modifiers = "+verbatim")
)]
#[cfg_attr(feature = "wdk", link(name = "ntoskrnl"))]
unsafe extern "C" {
    /// `DbgPrint` (any IRQL; `%s` of paged data only at PASSIVE_LEVEL).
    pub fn DbgPrint(format: *const c_char, ...) -> u32;
    /// `DbgPrintEx` (any IRQL).
    pub fn DbgPrintEx(component: u32, level: u32, format: *const c_char, ...) -> u32;
}
