// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The kernel routines as the stand-in's own drivers call them (the PCI bus driver
//! [`super::pci_bus`], the checks' test driver): through their table entries, as a loaded
//! driver's import slots hold them, so each call is counted, its caller recorded and its rules
//! checked exactly as for a driver's call.

use core::ffi::{c_char, c_void};
use ntddk::UNICODE_STRING;
use ntstatus::NtStatus;

/// The entry of routine `name`; a missing one ends the run (the table is the stand-in's own).
fn entry(name: &str) -> usize {
    let address = super::routines::lookup(name)
        .and_then(|r| usize::try_from(r.address).ok())
        .unwrap_or(0);
    if address == 0 {
        crate::harness::fatal(format_args!("the stand-in has no routine {name}"));
    }
    address
}

/// Declares one typed caller per routine.
macro_rules! routines {
    ($($fn_name:ident = $routine:literal: fn($($arg:ident: $ty:ty),*) $(-> $ret:ty)?;)*) => {$(
        #[doc = concat!("`", $routine, "` through its table entry.")]
        ///
        /// # Safety
        /// The routine's contract with a driver (pointers valid as it documents them).
        pub unsafe fn $fn_name($($arg: $ty),*) $(-> $ret)? {
            // SAFETY: the table entry of the routine, whose implementation has this signature
            // in the Microsoft x64 convention.
            let f = unsafe {
                core::mem::transmute::<usize, unsafe extern "win64" fn($($ty),*) $(-> $ret)?>(
                    entry($routine),
                )
            };
            // SAFETY: the caller's contract.
            unsafe { f($($arg),*) }
        }
    )*};
}

routines! {
    zw_open_key = "ZwOpenKey":
        fn(handle: *mut *mut c_void, access: u32, attributes: *mut ntddk::OBJECT_ATTRIBUTES)
            -> NtStatus;
    zw_close = "ZwClose": fn(handle: *mut c_void) -> NtStatus;
    io_create_device = "IoCreateDevice": fn(
        driver: *mut c_void, extension: u32, name: *const UNICODE_STRING, kind: u32,
        characteristics: u32, exclusive: u8, out: *mut *mut c_void
    ) -> NtStatus;
    io_delete_device = "IoDeleteDevice": fn(device: *mut c_void);
    io_attach_device_to_device_stack = "IoAttachDeviceToDeviceStack":
        fn(source: *mut c_void, target: *mut c_void) -> *mut c_void;
    io_detach_device = "IoDetachDevice": fn(target: *mut c_void);
    io_get_attached_device_reference = "IoGetAttachedDeviceReference":
        fn(device: *mut c_void) -> *mut c_void;
    io_invalidate_device_relations = "IoInvalidateDeviceRelations":
        fn(device: *mut c_void, kind: i32);
    io_invalidate_device_state = "IoInvalidateDeviceState": fn(device: *mut c_void);
    io_allocate_irp = "IoAllocateIrp": fn(stack: i8, quota: u8) -> *mut c_void;
    io_free_irp = "IoFreeIrp": fn(irp: *mut c_void);
    iof_call_driver = "IofCallDriver": fn(device: *mut c_void, irp: *mut c_void) -> NtStatus;
    iof_complete_request = "IofCompleteRequest": fn(irp: *mut c_void, boost: i8);
    io_allocate_work_item = "IoAllocateWorkItem": fn(device: *mut c_void) -> *mut c_void;
    io_queue_work_item = "IoQueueWorkItem":
        fn(item: *mut c_void, routine: usize, queue: i32, context: *mut c_void);
    io_free_work_item = "IoFreeWorkItem": fn(item: *mut c_void);
    io_initialize_remove_lock_ex = "IoInitializeRemoveLockEx": fn(
        lock: *mut c_void, allocate_tag: u32, max_locked_minutes: u32, high_watermark: u32,
        size: u32
    );
    io_acquire_remove_lock_ex = "IoAcquireRemoveLockEx": fn(
        lock: *mut c_void, tag: *mut c_void, file: *const c_char, line: u32, size: u32
    ) -> NtStatus;
    io_release_remove_lock_ex = "IoReleaseRemoveLockEx":
        fn(lock: *mut c_void, tag: *mut c_void, size: u32);
    io_release_remove_lock_and_wait_ex = "IoReleaseRemoveLockAndWaitEx":
        fn(lock: *mut c_void, tag: *mut c_void, size: u32);
    io_connect_interrupt_ex = "IoConnectInterruptEx": fn(parameters: *mut c_void) -> NtStatus;
    io_disconnect_interrupt_ex = "IoDisconnectInterruptEx": fn(parameters: *mut c_void);
    ke_acquire_interrupt_spin_lock = "KeAcquireInterruptSpinLock":
        fn(interrupt: *mut c_void) -> u8;
    ke_release_interrupt_spin_lock = "KeReleaseInterruptSpinLock":
        fn(interrupt: *mut c_void, old: u8);
    ke_synchronize_execution = "KeSynchronizeExecution":
        fn(interrupt: *mut c_void, routine: usize, context: *mut c_void) -> u8;
    obf_reference_object = "ObfReferenceObject": fn(object: *mut c_void) -> isize;
    obf_dereference_object = "ObfDereferenceObject": fn(object: *mut c_void) -> isize;
    po_call_driver = "PoCallDriver": fn(device: *mut c_void, irp: *mut c_void) -> NtStatus;
    po_set_power_state = "PoSetPowerState": fn(device: *mut c_void, kind: i32, state: u32) -> u32;
    po_start_next_power_irp = "PoStartNextPowerIrp": fn(irp: *mut c_void);
    po_request_power_irp = "PoRequestPowerIrp": fn(
        device: *mut c_void, minor: u8, state: u32, completion: usize, context: *mut c_void,
        out: *mut *mut c_void
    ) -> NtStatus;
    ex_allocate_pool_with_tag = "ExAllocatePoolWithTag":
        fn(pool: u32, bytes: usize, tag: u32) -> *mut c_void;
    ex_free_pool = "ExFreePool": fn(p: *mut c_void);
    mm_get_system_routine_address = "MmGetSystemRoutineAddress":
        fn(name: *const UNICODE_STRING) -> *mut c_void;
}

/// `PagedPool`.
pub const PAGED_POOL: u32 = 1;

/// The address of a stand-in function (a dispatch, completion or work-item routine of the
/// stand-in's own drivers) as a driver's code pointer.
macro_rules! code_address {
    ($f:expr) => {
        ($f as *const ()).addr()
    };
}
pub(crate) use code_address;
