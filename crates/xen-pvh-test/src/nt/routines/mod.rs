// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The stand-in's kernel routines: one table, by name, of what `ntoskrnl.exe` and `HAL.dll`
//! export to drivers, each implemented here as an `extern "win64"` function (the Microsoft x64
//! convention the images are compiled for).
//!
//! The loader binds imports against [`lookup`], and `MmGetSystemRoutineAddress` answers from
//! the same table, so a routine is added in one place: its implementation in the module of its
//! area, and one line in [`table!`]'s invocation below naming its DLL. Each table line also
//! produces the routine's entry thunk, which records the caller's return address
//! ([`super::verifier::CALLERS`]) and jumps to the implementation, so every implementation can
//! name its caller in a message.
//!
//! Every implementation starts with [`super::verifier::enter`] and checks the rules Microsoft
//! documents for it (IRQL, arguments, object state, pairing), failing the run on a broken one.
//! The thread, event, timer and wait routines run on the stand-in's cooperative scheduler
//! ([`super::sched`]): a thread switches only inside a wait, a delay or its exit.
//!
//! | module | routines |
//! |---|---|
//! | [`crt`] | `memcmp`, `memcpy`, `memmove`, `memset`, `strlen`, `strcmp`, `_vsnprintf`, `RtlInitUnicodeString` |
//! | [`pool`] | `ExAllocatePoolWithTag`, `ExAllocatePool2`, `ExFreePoolWithTag`, `ExFreePool` |
//! | [`dpc`] | `KeInitializeDpc`, `KeInsertQueueDpc`, `KeRemoveQueueDpc`, `KeFlushQueuedDpcs` |
//! | [`debug`] | `DbgPrint`, `DbgPrintEx`, `vDbgPrintExWithPrefix`, `DbgSetDebugFilterState`, `DbgSetDebugPrintCallback` |
//! | [`bugcheck`] | `KeBugCheckEx`, `KeRegisterBugCheckCallback`, `KeDeregisterBugCheckCallback`, `KeRegisterBugCheckReasonCallback`, `KeDeregisterBugCheckReasonCallback`; the variable `KiBugCheckData` |
//! | [`ke`] | `KeQueryActiveProcessorCountEx`, `KeQueryMaximumProcessorCountEx`, `KeGetCurrentProcessorNumberEx`, `KeGetProcessorNumberFromIndex`, `KeGetProcessorIndexFromNumber`, `KeSetImportanceDpc`, `KeSetTargetProcessorDpcEx`, `RtlGetVersion`, `KeRegisterProcessorChangeCallback`, `KeDeregisterProcessorChangeCallback` |
//! | [`ps`] | `PsSetCreateProcessNotifyRoutine`, `PsSetLoadImageNotifyRoutine`, `PsRemoveLoadImageNotifyRoutine`, `PsGetProcessImageFileName`, `ZwQuerySystemInformation` (the loaded-module list) |
//! | [`unwind`] | `IoGetStackLimits`, `RtlCaptureContext`, `RtlLookupFunctionEntry`, `RtlVirtualUnwind` |
//! | [`registry`] | `ZwOpenKey`, `ZwCreateKey`, `ZwClose` (key, thread and named-event handles), `ZwQueryValueKey`, `ZwSetValueKey`, `ZwDeleteValueKey`, `ZwEnumerateKey`, `ZwEnumerateValueKey`, `ZwQueryKey`, `ZwDeleteKey` |
//! | [`thread`] | `PsCreateSystemThread`, `PsTerminateSystemThread`, `KeGetCurrentThread`, `PsGetCurrentThread`, `KeDelayExecutionThread`, `ObReferenceObjectByHandle`, `ObfReferenceObject`, `ObfDereferenceObject`; the variable `PsThreadType` |
//! | [`event`] | `KeInitializeEvent`, `KeSetEvent`, `KeClearEvent`, `KeResetEvent`, `KeReadStateEvent`, `KePulseEvent`, `IoCreateNotificationEvent` |
//! | [`timer`] | `KeInitializeTimer`, `KeInitializeTimerEx`, `KeSetTimer`, `KeSetTimerEx`, `KeCancelTimer`, `KeReadStateTimer` |
//! | [`wait`] | `KeWaitForSingleObject`, `KeWaitForMultipleObjects` |
//! | [`time`] | `KeQueryInterruptTime`, `KeQuerySystemTimePrecise`, `KeQueryPerformanceCounter`, `KeStallExecutionProcessor` (HAL) |
//! | [`mm`] | `MmAllocateContiguousMemory`, `MmAllocateContiguousMemorySpecifyCache`, `MmFreeContiguousMemory`, `MmGetPhysicalAddress`, `MmMapIoSpace`, `MmMapIoSpaceEx`, `MmUnmapIoSpace`, `MmAllocatePagesForMdlEx`, `MmAddPhysicalMemory`, `MmGetPhysicalMemoryRanges`, `MmMapLockedPagesSpecifyCache`, `MmUnmapLockedPages`, `MmFreePagesFromMdl` |
//! | [`mdl`] | `IoAllocateMdl`, `MmBuildMdlForNonPagedPool`, `IoFreeMdl` |
//! | [`io`] | `IoCreateDevice`, `IoDeleteDevice`, `IoAttachDeviceToDeviceStack`, `IoDetachDevice`, `IoGetAttachedDeviceReference`, `IoInvalidateDeviceRelations`, `IoInvalidateDeviceState` (and, through [`ob`], references on device and driver objects) |
//! | [`irp`] | `IoAllocateIrp`, `IoBuildSynchronousFsdRequest`, `IoFreeIrp`, `IofCallDriver`, `IofCompleteRequest`, `PoCallDriver` |
//! | [`work`] | `IoAllocateWorkItem`, `IoQueueWorkItem`, `IoFreeWorkItem` |
//! | [`remove_lock`] | `IoInitializeRemoveLockEx`, `IoAcquireRemoveLockEx`, `IoReleaseRemoveLockEx`, `IoReleaseRemoveLockAndWaitEx` |
//! | [`po`] | `PoRequestPowerIrp`, `PoSetPowerState`, `PoStartNextPowerIrp` |
//! | [`interrupt`] | `IoConnectInterruptEx`, `IoDisconnectInterruptEx` (drivers reach them through `MmGetSystemRoutineAddress`), `KeAcquireInterruptSpinLock`, `KeReleaseInterruptSpinLock`, `KeSynchronizeExecution` |
//! | [`rtl`] | `strchr`, `strrchr`, `strstr`, `strncmp`, `_stricmp`, `isdigit`, `wcslen`, `wcschr`, `wcsrchr`, `_wcsnicmp`, `RtlInitAnsiString`, `RtlAnsiStringToUnicodeString`, `RtlUnicodeStringToAnsiString`, `RtlUpcaseUnicodeString`, `RtlFreeAnsiString`, `RtlFreeUnicodeString`, `RtlStringFromGUID`, `RtlIsNtDdiVersionAvailable`, `RtlQueryModuleInformation` (what upstream's C xen.sys imports) |
//! | [`callback`] | `ExCreateCallback`, `ExRegisterCallback`, `ExUnregisterCallback` |
//! | [`unmodelled`] | `IoOpenDeviceRegistryKey`: bound, failing the run if called |
//! | this module | `MmGetSystemRoutineAddress`; the variable `InitSafeBootMode` ([`set_safe_boot_mode`]) |

pub mod bugcheck;
pub mod callback;
pub mod crt;
pub mod debug;
pub mod dpc;
pub mod event;
pub mod interrupt;
pub mod io;
pub mod irp;
pub mod ke;
pub mod mdl;
pub mod mm;
pub mod ob;
pub mod po;
pub mod pool;
pub mod ps;
pub mod registry;
pub mod remove_lock;
pub mod rtl;
pub mod thread;
pub mod time;
pub mod timer;
pub mod unmodelled;
pub mod unwind;
pub mod wait;
pub mod work;

use super::verifier::{self, PASSIVE_LEVEL};
use core::ffi::c_void;
use core::sync::atomic::{AtomicU32, Ordering};
use ntddk::UNICODE_STRING;

/// One routine (or variable): the DLL that exports it and where its entry thunk (or the
/// variable) is.
#[derive(Debug, Clone, Copy)]
pub struct Routine {
    /// `ntoskrnl.exe` or `HAL.dll`.
    pub dll: &'static str,
    /// The entry thunk's address.
    pub address: u64,
}

/// Declares the routine table: for each `"dll": Name => implementation;` an entry thunk
/// `nt_entry_Name` (records the caller, jumps to the implementation) and a row of [`TABLE`].
macro_rules! table {
    ($($dll:literal: $name:ident => $target:path;)*) => {
        core::arch::global_asm!(
            ".pushsection .text.nt_routines, \"ax\"",
            $(
                ".p2align 4",
                concat!("nt_entry_", stringify!($name), ":"),
                // The driver's return address, into this CPU's slot of CALLERS: the slot offset
                // is (task register selector - 0x18) / 2 (TSS selectors are 0x18 + 16 * cpu).
                // RAX, R10 and R11 are volatile and carry no argument in the Microsoft x64
                // convention; the argument registers and the stack are untouched.
                "mov r10, qword ptr [rsp]",
                "str r11d",
                "sub r11d, 0x18",
                "shr r11d, 1",
                "and r11d, 8",
                "lea rax, [rip + {callers}]",
                "mov qword ptr [rax + r11], r10",
                "jmp {}",
            )*
            ".popsection",
            ".pushsection .rodata.nt_routines, \"a\"",
            ".p2align 3",
            ".globl nt_routine_entries",
            ".hidden nt_routine_entries",
            "nt_routine_entries:",
            $(concat!(".quad nt_entry_", stringify!($name)),)*
            ".popsection",
            $(sym $target,)*
            callers = sym super::verifier::CALLERS,
        );

        /// The routine names and DLLs, in table order.
        const NAMES: &[(&str, &str)] = &[$(($dll, stringify!($name))),*];

        // SAFETY: `nt_routine_entries` is defined by the assembly above as one quadword (an entry
        // thunk's address) per table row, in the order of `NAMES`, in read-only data.
        unsafe extern "C" {
            safe static nt_routine_entries: [u64; NAMES.len()];
        }
    };
}

table! {
    "ntoskrnl.exe": DbgPrint => debug::dbg_print_entry;
    "ntoskrnl.exe": DbgPrintEx => debug::dbg_print_ex_entry;
    "ntoskrnl.exe": DbgSetDebugFilterState => debug::dbg_set_debug_filter_state;
    "ntoskrnl.exe": DbgSetDebugPrintCallback => debug::dbg_set_debug_print_callback;
    "ntoskrnl.exe": ExAllocatePool2 => pool::ex_allocate_pool2;
    "ntoskrnl.exe": ExAllocatePoolWithTag => pool::ex_allocate_pool_with_tag;
    "ntoskrnl.exe": ExFreePool => pool::ex_free_pool;
    "ntoskrnl.exe": ExFreePoolWithTag => pool::ex_free_pool_with_tag;
    "ntoskrnl.exe": IoAcquireRemoveLockEx => remove_lock::io_acquire_remove_lock_ex;
    "ntoskrnl.exe": IoAllocateIrp => irp::io_allocate_irp;
    "ntoskrnl.exe": IoAllocateMdl => mdl::io_allocate_mdl;
    "ntoskrnl.exe": IoAllocateWorkItem => work::io_allocate_work_item;
    "ntoskrnl.exe": IoAttachDeviceToDeviceStack => io::io_attach_device_to_device_stack;
    "ntoskrnl.exe": IoConnectInterruptEx => interrupt::io_connect_interrupt_ex;
    "ntoskrnl.exe": IoCreateDevice => io::io_create_device;
    "ntoskrnl.exe": IoCreateNotificationEvent => event::io_create_notification_event;
    "ntoskrnl.exe": IoDeleteDevice => io::io_delete_device;
    "ntoskrnl.exe": IoDetachDevice => io::io_detach_device;
    "ntoskrnl.exe": IoDisconnectInterruptEx => interrupt::io_disconnect_interrupt_ex;
    "ntoskrnl.exe": IoFreeIrp => irp::io_free_irp;
    "ntoskrnl.exe": IoFreeMdl => mdl::io_free_mdl;
    "ntoskrnl.exe": IoFreeWorkItem => work::io_free_work_item;
    "ntoskrnl.exe": IoGetAttachedDeviceReference => io::io_get_attached_device_reference;
    "ntoskrnl.exe": IoInitializeRemoveLockEx => remove_lock::io_initialize_remove_lock_ex;
    "ntoskrnl.exe": IoInvalidateDeviceRelations => io::io_invalidate_device_relations;
    "ntoskrnl.exe": IoInvalidateDeviceState => io::io_invalidate_device_state;
    "ntoskrnl.exe": IoQueueWorkItem => work::io_queue_work_item;
    "ntoskrnl.exe": IoReleaseRemoveLockAndWaitEx => remove_lock::io_release_remove_lock_and_wait_ex;
    "ntoskrnl.exe": IoReleaseRemoveLockEx => remove_lock::io_release_remove_lock_ex;
    "ntoskrnl.exe": IofCallDriver => irp::iof_call_driver;
    "ntoskrnl.exe": IofCompleteRequest => irp::iof_complete_request;
    "ntoskrnl.exe": KeAcquireInterruptSpinLock => interrupt::ke_acquire_interrupt_spin_lock;
    "ntoskrnl.exe": KeBugCheckEx => bugcheck::ke_bug_check_ex;
    "ntoskrnl.exe": KeCancelTimer => timer::ke_cancel_timer;
    "ntoskrnl.exe": KeClearEvent => event::ke_clear_event;
    "ntoskrnl.exe": KeDelayExecutionThread => thread::ke_delay_execution_thread;
    "ntoskrnl.exe": KeDeregisterBugCheckCallback => bugcheck::ke_deregister_bug_check_callback;
    "ntoskrnl.exe": KeDeregisterBugCheckReasonCallback => bugcheck::ke_deregister_bug_check_reason_callback;
    "ntoskrnl.exe": KeDeregisterProcessorChangeCallback => ke::ke_deregister_processor_change_callback;
    "ntoskrnl.exe": KeFlushQueuedDpcs => dpc::ke_flush_queued_dpcs;
    "ntoskrnl.exe": KeGetCurrentProcessorNumberEx => ke::ke_get_current_processor_number_ex;
    "ntoskrnl.exe": KeGetCurrentThread => thread::ke_get_current_thread;
    "ntoskrnl.exe": KeGetProcessorIndexFromNumber => ke::ke_get_processor_index_from_number;
    "ntoskrnl.exe": KeGetProcessorNumberFromIndex => ke::ke_get_processor_number_from_index;
    "ntoskrnl.exe": KeInitializeDpc => dpc::ke_initialize_dpc;
    "ntoskrnl.exe": KeInitializeEvent => event::ke_initialize_event;
    "ntoskrnl.exe": KeInitializeTimer => timer::ke_initialize_timer;
    "ntoskrnl.exe": KeInitializeTimerEx => timer::ke_initialize_timer_ex;
    "ntoskrnl.exe": KeInsertQueueDpc => dpc::ke_insert_queue_dpc;
    "ntoskrnl.exe": KePulseEvent => event::ke_pulse_event;
    "ntoskrnl.exe": KeQueryActiveProcessorCountEx => ke::ke_query_active_processor_count_ex;
    "ntoskrnl.exe": KeQueryInterruptTime => time::ke_query_interrupt_time;
    "ntoskrnl.exe": KeQueryMaximumProcessorCountEx => ke::ke_query_maximum_processor_count_ex;
    "ntoskrnl.exe": KeQueryPerformanceCounter => time::ke_query_performance_counter;
    "ntoskrnl.exe": KeQuerySystemTimePrecise => time::ke_query_system_time_precise;
    "ntoskrnl.exe": KeReadStateEvent => event::ke_read_state_event;
    "ntoskrnl.exe": KeReadStateTimer => timer::ke_read_state_timer;
    "ntoskrnl.exe": KeRegisterBugCheckCallback => bugcheck::ke_register_bug_check_callback;
    "ntoskrnl.exe": KeRegisterBugCheckReasonCallback => bugcheck::ke_register_bug_check_reason_callback;
    "ntoskrnl.exe": KeRegisterProcessorChangeCallback => ke::ke_register_processor_change_callback;
    "ntoskrnl.exe": KeReleaseInterruptSpinLock => interrupt::ke_release_interrupt_spin_lock;
    "ntoskrnl.exe": KeRemoveQueueDpc => dpc::ke_remove_queue_dpc;
    "ntoskrnl.exe": KeResetEvent => event::ke_reset_event;
    "ntoskrnl.exe": KeSetEvent => event::ke_set_event;
    "ntoskrnl.exe": KeSetImportanceDpc => ke::ke_set_importance_dpc;
    "ntoskrnl.exe": KeSetTargetProcessorDpcEx => ke::ke_set_target_processor_dpc_ex;
    "ntoskrnl.exe": KeSetTimer => timer::ke_set_timer;
    "ntoskrnl.exe": KeSetTimerEx => timer::ke_set_timer_ex;
    "HAL.dll": KeStallExecutionProcessor => time::ke_stall_execution_processor;
    "ntoskrnl.exe": KeSynchronizeExecution => interrupt::ke_synchronize_execution;
    "ntoskrnl.exe": KeWaitForMultipleObjects => wait::ke_wait_for_multiple_objects;
    "ntoskrnl.exe": KeWaitForSingleObject => wait::ke_wait_for_single_object;
    "ntoskrnl.exe": MmAddPhysicalMemory => mm::mm_add_physical_memory;
    "ntoskrnl.exe": MmAllocateContiguousMemory => mm::mm_allocate_contiguous_memory;
    "ntoskrnl.exe": MmAllocateContiguousMemorySpecifyCache => mm::mm_allocate_contiguous_memory_specify_cache;
    "ntoskrnl.exe": MmAllocatePagesForMdlEx => mm::mm_allocate_pages_for_mdl_ex;
    "ntoskrnl.exe": MmBuildMdlForNonPagedPool => mdl::mm_build_mdl_for_non_paged_pool;
    "ntoskrnl.exe": MmFreeContiguousMemory => mm::mm_free_contiguous_memory;
    "ntoskrnl.exe": MmGetPhysicalAddress => mm::mm_get_physical_address;
    "ntoskrnl.exe": MmGetPhysicalMemoryRanges => mm::mm_get_physical_memory_ranges;
    "ntoskrnl.exe": MmGetSystemRoutineAddress => mm_get_system_routine_address;
    "ntoskrnl.exe": MmMapIoSpace => mm::mm_map_io_space;
    "ntoskrnl.exe": MmMapIoSpaceEx => mm::mm_map_io_space_ex;
    "ntoskrnl.exe": MmMapLockedPagesSpecifyCache => mm::mm_map_locked_pages_specify_cache;
    "ntoskrnl.exe": MmUnmapIoSpace => mm::mm_unmap_io_space;
    "ntoskrnl.exe": MmUnmapLockedPages => mm::mm_unmap_locked_pages;
    "ntoskrnl.exe": ObReferenceObjectByHandle => thread::ob_reference_object_by_handle;
    "ntoskrnl.exe": ObfDereferenceObject => thread::obf_dereference_object;
    "ntoskrnl.exe": ObfReferenceObject => thread::obf_reference_object;
    "ntoskrnl.exe": PoCallDriver => irp::po_call_driver;
    "ntoskrnl.exe": PoRequestPowerIrp => po::po_request_power_irp;
    "ntoskrnl.exe": PoSetPowerState => po::po_set_power_state;
    "ntoskrnl.exe": PoStartNextPowerIrp => po::po_start_next_power_irp;
    "ntoskrnl.exe": PsCreateSystemThread => thread::ps_create_system_thread;
    "ntoskrnl.exe": PsGetCurrentThread => thread::ps_get_current_thread;
    "ntoskrnl.exe": PsGetProcessImageFileName => ps::ps_get_process_image_file_name;
    "ntoskrnl.exe": PsRemoveLoadImageNotifyRoutine => ps::ps_remove_load_image_notify_routine;
    "ntoskrnl.exe": PsSetCreateProcessNotifyRoutine => ps::ps_set_create_process_notify_routine;
    "ntoskrnl.exe": PsSetLoadImageNotifyRoutine => ps::ps_set_load_image_notify_routine;
    "ntoskrnl.exe": PsTerminateSystemThread => thread::ps_terminate_system_thread;
    "ntoskrnl.exe": RtlGetVersion => ke::rtl_get_version;
    "ntoskrnl.exe": ZwClose => registry::zw_close;
    "ntoskrnl.exe": ZwCreateKey => registry::zw_create_key;
    "ntoskrnl.exe": ZwDeleteKey => registry::zw_delete_key;
    "ntoskrnl.exe": ZwDeleteValueKey => registry::zw_delete_value_key;
    "ntoskrnl.exe": ZwEnumerateKey => registry::zw_enumerate_key;
    "ntoskrnl.exe": ZwEnumerateValueKey => registry::zw_enumerate_value_key;
    "ntoskrnl.exe": ZwOpenKey => registry::zw_open_key;
    "ntoskrnl.exe": ZwQueryKey => registry::zw_query_key;
    "ntoskrnl.exe": ZwQuerySystemInformation => ps::zw_query_system_information;
    "ntoskrnl.exe": IoGetStackLimits => unwind::io_get_stack_limits;
    "ntoskrnl.exe": RtlCaptureContext => unwind::rtl_capture_context;
    "ntoskrnl.exe": RtlLookupFunctionEntry => unwind::rtl_lookup_function_entry;
    "ntoskrnl.exe": RtlVirtualUnwind => unwind::rtl_virtual_unwind;
    "ntoskrnl.exe": ZwQueryValueKey => registry::zw_query_value_key;
    "ntoskrnl.exe": ZwSetValueKey => registry::zw_set_value_key;
    "ntoskrnl.exe": memcmp => crt::memcmp;
    "ntoskrnl.exe": memcpy => crt::memcpy;
    "ntoskrnl.exe": memmove => crt::memmove;
    "ntoskrnl.exe": memset => crt::memset;
    "ntoskrnl.exe": strlen => crt::strlen;
    "ntoskrnl.exe": strcmp => crt::strcmp;
    "ntoskrnl.exe": RtlInitUnicodeString => crt::rtl_init_unicode_string;
    "ntoskrnl.exe": _vsnprintf => crt::vsnprintf;
    "ntoskrnl.exe": IoBuildSynchronousFsdRequest => irp::io_build_synchronous_fsd_request;
    "ntoskrnl.exe": ExCreateCallback => callback::ex_create_callback;
    "ntoskrnl.exe": ExRegisterCallback => callback::ex_register_callback;
    "ntoskrnl.exe": ExUnregisterCallback => callback::ex_unregister_callback;
    "ntoskrnl.exe": MmFreePagesFromMdl => mm::mm_free_pages_from_mdl;
    "ntoskrnl.exe": vDbgPrintExWithPrefix => debug::v_dbg_print_ex_with_prefix;
    "ntoskrnl.exe": RtlInitAnsiString => rtl::rtl_init_ansi_string;
    "ntoskrnl.exe": RtlAnsiStringToUnicodeString => rtl::rtl_ansi_string_to_unicode_string;
    "ntoskrnl.exe": RtlUnicodeStringToAnsiString => rtl::rtl_unicode_string_to_ansi_string;
    "ntoskrnl.exe": RtlUpcaseUnicodeString => rtl::rtl_upcase_unicode_string;
    "ntoskrnl.exe": RtlFreeAnsiString => rtl::rtl_free_ansi_string;
    "ntoskrnl.exe": RtlFreeUnicodeString => rtl::rtl_free_unicode_string;
    "ntoskrnl.exe": RtlStringFromGUID => rtl::rtl_string_from_guid;
    "ntoskrnl.exe": RtlIsNtDdiVersionAvailable => rtl::rtl_is_nt_ddi_version_available;
    "ntoskrnl.exe": RtlQueryModuleInformation => rtl::rtl_query_module_information;
    "ntoskrnl.exe": strchr => rtl::strchr;
    "ntoskrnl.exe": strrchr => rtl::strrchr;
    "ntoskrnl.exe": strstr => rtl::strstr;
    "ntoskrnl.exe": strncmp => rtl::strncmp;
    "ntoskrnl.exe": _stricmp => rtl::stricmp;
    "ntoskrnl.exe": isdigit => rtl::isdigit;
    "ntoskrnl.exe": wcslen => rtl::wcslen;
    "ntoskrnl.exe": wcschr => rtl::wcschr;
    "ntoskrnl.exe": wcsrchr => rtl::wcsrchr;
    "ntoskrnl.exe": _wcsnicmp => rtl::wcsnicmp;
    "ntoskrnl.exe": IoOpenDeviceRegistryKey => unmodelled::io_open_device_registry_key;
}

/// `ULONG InitSafeBootMode`: 0 for a normal boot, otherwise the Safe Mode the machine started in
/// (1 minimal, 2 with networking, 3 DS repair). A driver's data import binds to its address
/// (`PULONG`); any IRQL.
pub static INIT_SAFE_BOOT_MODE: AtomicU32 = AtomicU32::new(0);

/// Sets what `InitSafeBootMode` reads, for a scenario that plays a Safe Mode boot: before the
/// driver that reads it loads (Windows sets it once, at boot).
pub fn set_safe_boot_mode(mode: u32) {
    INIT_SAFE_BOOT_MODE.store(mode, Ordering::SeqCst);
}

/// The variables the kernel exports (data imports bind to their address): the DLL, the name and
/// the address.
fn data() -> [(&'static str, &'static str, u64); 3] {
    [
        (
            "ntoskrnl.exe",
            "InitSafeBootMode",
            (&raw const INIT_SAFE_BOOT_MODE).addr() as u64,
        ),
        (
            "ntoskrnl.exe",
            "KiBugCheckData",
            (&raw const bugcheck::KI_BUG_CHECK_DATA).addr() as u64,
        ),
        (
            "ntoskrnl.exe",
            "PsThreadType",
            (&raw const thread::PS_THREAD_TYPE).addr() as u64,
        ),
    ]
}

/// The routine or variable called `name`, if the stand-in exports it.
pub fn lookup(name: &str) -> Option<Routine> {
    NAMES
        .iter()
        .zip(nt_routine_entries.iter())
        .find(|((_, n), _)| *n == name)
        .map(|(&(dll, _), &address)| Routine { dll, address })
        .or_else(|| {
            data()
                .into_iter()
                .find(|&(_, n, _)| n == name)
                .map(|(dll, _, address)| Routine { dll, address })
        })
}

/// How many routines and variables the table has.
pub fn count() -> usize {
    NAMES.len() + data().len()
}

/// A kernel object that lives in a driver's memory (a `KDPC`, a bug-check callback record):
/// the kernel reads and writes its fields by offset, as Windows does, once a routine's contract
/// has handed it over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriverObject {
    address: usize,
    size: usize,
}

impl DriverObject {
    /// The `size`-byte object at `address`.
    ///
    /// # Safety
    /// `address` must point to `size` bytes of the driver's memory that stay readable and
    /// writable, and that only the kernel touches, for as long as this value is used: what the
    /// routine that receives the object requires of its caller (for a `KDPC`, from
    /// `KeInitializeDpc` until it is neither queued nor running).
    pub const unsafe fn new(address: usize, size: usize) -> Self {
        Self { address, size }
    }

    /// A pointer to the `T` at `offset`, if it lies inside the object.
    fn field<T>(self, offset: usize) -> Option<*mut T> {
        let end = offset.checked_add(size_of::<T>())?;
        (end <= self.size).then(|| {
            core::ptr::with_exposed_provenance_mut::<u8>(self.address)
                .wrapping_add(offset)
                .cast::<T>()
        })
    }

    /// Reads the `T` at `offset` (a field offset of the object's type); `None` outside it.
    pub fn get<T: Copy>(self, offset: usize) -> Option<T> {
        let p = self.field::<T>(offset)?;
        // SAFETY: inside the object (checked), which `new`'s contract keeps readable.
        Some(unsafe { p.read_unaligned() })
    }

    /// Writes the `T` at `offset` (a field offset of the object's type); nothing outside it.
    pub fn set<T>(self, offset: usize, value: T) {
        if let Some(p) = self.field::<T>(offset) {
            // SAFETY: inside the object (checked), which `new`'s contract keeps writable and
            // the kernel's.
            unsafe { p.write_unaligned(value) };
        }
    }
}

/// The text of a `UNICODE_STRING` the caller passed, after checking its invariants (even
/// `Length` not above `MaximumLength`, a buffer when `Length` is not zero); `None` when they do
/// not hold.
///
/// # Safety
/// `s` is NULL or points to a readable `UNICODE_STRING` whose buffer is readable for `Length`
/// bytes (the caller's contract with the routine).
pub unsafe fn unicode(s: *const UNICODE_STRING) -> Option<alloc::vec::Vec<u16>> {
    // SAFETY: the caller's contract.
    let s = unsafe { s.as_ref() }?;
    let len = usize::from(s.Length);
    if len % 2 != 0 || s.Length > s.MaximumLength || (len > 0 && s.Buffer.is_null()) {
        return None;
    }
    let mut units = alloc::vec::Vec::with_capacity(len / 2);
    for i in 0..len / 2 {
        // SAFETY: `i < Length / 2`, inside the buffer by the caller's contract.
        units.push(unsafe { s.Buffer.wrapping_add(i).read_unaligned() });
    }
    Some(units)
}

/// The names `MmGetSystemRoutineAddress` was asked for, found or not.
static ASKED: spin::Mutex<alloc::vec::Vec<alloc::string::String>> =
    spin::Mutex::new(alloc::vec::Vec::new());

/// Whether a driver (or a check) asked `MmGetSystemRoutineAddress` for `name`.
pub fn asked(name: &str) -> bool {
    ASKED.lock().iter().any(|n| n == name)
}

/// `PVOID MmGetSystemRoutineAddress(PUNICODE_STRING SystemRoutineName)`: the routine's entry
/// from the same table the loader binds imports to, or NULL. PASSIVE_LEVEL.
///
/// # Safety
/// Called by driver code with a valid `UNICODE_STRING`.
pub unsafe extern "win64" fn mm_get_system_routine_address(
    name: *const UNICODE_STRING,
) -> *mut c_void {
    let call = verifier::enter("MmGetSystemRoutineAddress");
    call.at_most(PASSIVE_LEVEL);
    call.require(!name.is_null(), format_args!("SystemRoutineName is NULL"));
    // SAFETY: non-NULL; the driver's contract makes it a readable UNICODE_STRING.
    let Some(units) = (unsafe { unicode(name) }) else {
        call.fail(format_args!(
            "SystemRoutineName is not a valid UNICODE_STRING"
        ));
    };
    let text: alloc::string::String = char::decode_utf16(units)
        .map(|c| c.unwrap_or('\u{fffd}'))
        .collect();
    {
        let mut asked = ASKED.lock();
        if !asked.contains(&text) {
            asked.push(text.clone());
        }
    }
    lookup(&text).map_or(core::ptr::null_mut(), |r| {
        core::ptr::with_exposed_provenance_mut(usize::try_from(r.address).unwrap_or(0))
    })
}
