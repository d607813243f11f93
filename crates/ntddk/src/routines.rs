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
    ACCESS_MASK, BOOLEAN, DEVICE_OBJECT, DRIVER_OBJECT, HANDLE, IRP, KBUGCHECK_CALLBACK_RECORD,
    KBUGCHECK_CALLBACK_ROUTINE, KEY_INFORMATION_CLASS, KEY_VALUE_INFORMATION_CLASS, NTSTATUS,
    OBJECT_ATTRIBUTES, POOL_TYPE, PVOID, SIZE_T, UCHAR, ULONG_PTR, UNICODE_STRING,
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

    // ---- System routines (PASSIVE_LEVEL). ----
    /// `MmGetSystemRoutineAddress`.
    pub fn MmGetSystemRoutineAddress(name: *mut UNICODE_STRING) -> PVOID;

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
}

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
