// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! xen.sys's exports as the stand-in calls them: each `XEN_API` function of
//! `crates/xen/include/xen.h` (and `DllInitialize`/`DllUnload`) resolved by name from the loaded
//! image's export table and typed with the Microsoft x64 convention the image uses
//! (`extern "win64"`; the variadic `LogPrintf`/`LogCchPrintf` as C-variadic `win64` functions,
//! the `va_list` ones taking a pointer to 8-byte argument slots, which is what a Windows x64
//! `va_list` is).

use super::loader;
use core::ffi::c_void;
use ntddk::{ANSI_STRING, UNICODE_STRING};

/// A log disposition's function: `VOID (PVOID Argument, PSTR Buffer, ULONG Length)`.
pub type Disposition = unsafe extern "win64" fn(*mut c_void, *mut u8, u32);

/// Declares [`Exports`]: one typed field per export, resolved by its name.
macro_rules! exports {
    ($($field:ident: $name:literal => $ty:ty;)*) => {
        /// xen.sys's exports, typed.
        #[allow(missing_docs)]
        #[allow(dead_code, reason = "every export of xen.h is resolved, so a load proves the \
                  image exports all of them; the checks call most, not all")]
        #[derive(Clone, Copy)]
        pub struct Exports {
            $(pub $field: $ty,)*
        }

        /// Every export name the stand-in resolves.
        pub const NAMES: &[&str] = &[$($name),*];

        impl Exports {
            /// Resolves every export of image `index`; the first name it lacks on failure.
            pub fn resolve(index: usize) -> Result<Self, &'static str> {
                Ok(Self {
                    $($field: {
                        let address = loader::export(index, $name).ok_or($name)?;
                        let address = usize::try_from(address).map_err(|_| $name)?;
                        // SAFETY: `address` is the loaded image's export of this name, whose
                        // C signature in xen.h is this type in the Microsoft x64 convention.
                        unsafe { core::mem::transmute::<usize, $ty>(address) }
                    },)*
                })
            }
        }
    };
}

exports! {
    dll_initialize: "DllInitialize" => unsafe extern "win64" fn(*mut UNICODE_STRING) -> i32;
    dll_unload: "DllUnload" => unsafe extern "win64" fn() -> i32;
    xen_touch: "XenTouch" => unsafe extern "win64" fn(*const u8, u32, u32, u32, u32) -> i32;
    hvm_set_param: "HvmSetParam" => unsafe extern "win64" fn(u32, u64) -> i32;
    hvm_get_param: "HvmGetParam" => unsafe extern "win64" fn(u32, *mut u64) -> i32;
    hvm_pagetable_dying: "HvmPagetableDying" => unsafe extern "win64" fn(i64) -> i32;
    hvm_set_evtchn_upcall_vector: "HvmSetEvtchnUpcallVector" => unsafe extern "win64" fn(u32, u8) -> i32;
    memory_add_to_physmap: "MemoryAddToPhysmap" => unsafe extern "win64" fn(usize, u32, usize) -> i32;
    memory_remove_from_physmap: "MemoryRemoveFromPhysmap" => unsafe extern "win64" fn(usize) -> i32;
    memory_decrease_reservation: "MemoryDecreaseReservation" => unsafe extern "win64" fn(u32, u32, *mut usize, *mut u32) -> i32;
    memory_populate_physmap: "MemoryPopulatePhysmap" => unsafe extern "win64" fn(u32, u32, *mut usize, *mut u32) -> i32;
    event_channel_send: "EventChannelSend" => unsafe extern "win64" fn(u32) -> i32;
    event_channel_allocate_unbound: "EventChannelAllocateUnbound" => unsafe extern "win64" fn(u16, *mut u32) -> i32;
    event_channel_bind_inter_domain: "EventChannelBindInterDomain" => unsafe extern "win64" fn(u16, u32, *mut u32) -> i32;
    event_channel_bind_virq: "EventChannelBindVirq" => unsafe extern "win64" fn(u32, u32, *mut u32) -> i32;
    event_channel_query_inter_domain: "EventChannelQueryInterDomain" => unsafe extern "win64" fn(u32, *mut u16, *mut u32) -> i32;
    event_channel_close: "EventChannelClose" => unsafe extern "win64" fn(u32) -> i32;
    event_channel_expand_array: "EventChannelExpandArray" => unsafe extern "win64" fn(usize) -> i32;
    event_channel_init_control: "EventChannelInitControl" => unsafe extern "win64" fn(usize, u32) -> i32;
    event_channel_reset: "EventChannelReset" => unsafe extern "win64" fn() -> i32;
    event_channel_bind_virtual_cpu: "EventChannelBindVirtualCpu" => unsafe extern "win64" fn(u32, u32) -> i32;
    event_channel_unmask: "EventChannelUnmask" => unsafe extern "win64" fn(u32) -> i32;
    grant_table_set_version: "GrantTableSetVersion" => unsafe extern "win64" fn(u32) -> i32;
    grant_table_get_version: "GrantTableGetVersion" => unsafe extern "win64" fn(*mut u32) -> i32;
    grant_table_copy: "GrantTableCopy" => unsafe extern "win64" fn(*mut c_void, u32) -> i32;
    grant_table_map_foreign_page: "GrantTableMapForeignPage" => unsafe extern "win64" fn(u16, u32, i64, u8, *mut u32) -> i32;
    grant_table_unmap_foreign_page: "GrantTableUnmapForeignPage" => unsafe extern "win64" fn(u32, i64) -> i32;
    grant_table_query_size: "GrantTableQuerySize" => unsafe extern "win64" fn(*mut u32, *mut u32) -> i32;
    sched_shutdown_code: "SchedShutdownCode" => unsafe extern "win64" fn(u32) -> i32;
    sched_shutdown: "SchedShutdown" => unsafe extern "win64" fn(u32) -> i32;
    sched_yield: "SchedYield" => unsafe extern "win64" fn();
    sched_watchdog: "SchedWatchdog" => unsafe extern "win64" fn(*mut u32, u32) -> i32;
    xen_version: "XenVersion" => unsafe extern "win64" fn(*mut u32, *mut u32) -> i32;
    xen_version_extra: "XenVersionExtra" => unsafe extern "win64" fn(*mut u8) -> i32;
    module_lookup: "ModuleLookup" => unsafe extern "win64" fn(usize, *mut *const u8, *mut usize);
    unplug_devices: "UnplugDevices" => unsafe extern "win64" fn();
    unplug_increment_value: "UnplugIncrementValue" => unsafe extern "win64" fn(u32) -> i32;
    unplug_decrement_value: "UnplugDecrementValue" => unsafe extern "win64" fn(u32) -> i32;
    unplug_get_request: "UnplugGetRequest" => unsafe extern "win64" fn(u32) -> u8;
    log_cch_vprintf: "LogCchVPrintf" => unsafe extern "win64" fn(u32, u32, *const u8, *const u64);
    log_vprintf: "LogVPrintf" => unsafe extern "win64" fn(u32, *const u8, *const u64);
    log_cch_printf: "LogCchPrintf" => unsafe extern "win64" fn(u32, u32, *const u8, ...);
    log_printf: "LogPrintf" => unsafe extern "win64" fn(u32, *const u8, ...);
    log_resume: "LogResume" => unsafe extern "win64" fn();
    log_read_log_level: "LogReadLogLevel" => unsafe extern "win64" fn(*mut c_void, *const u8, *mut u32) -> i32;
    log_add_disposition: "LogAddDisposition" => unsafe extern "win64" fn(u32, Option<Disposition>, *mut c_void, *mut *mut c_void) -> i32;
    log_remove_disposition: "LogRemoveDisposition" => unsafe extern "win64" fn(*mut c_void);
    system_processor_vcpu_id: "SystemProcessorVcpuId" => unsafe extern "win64" fn(u32, *mut u32) -> i32;
    system_processor_vcpu_info: "SystemProcessorVcpuInfo" => unsafe extern "win64" fn(u32, *mut *mut c_void) -> i32;
    system_processor_register_vcpu_info: "SystemProcessorRegisterVcpuInfo" => unsafe extern "win64" fn(u32, u8) -> i32;
    system_maximum_physical_address: "SystemMaximumPhysicalAddress" => unsafe extern "win64" fn() -> i64;
    system_real_time_is_universal: "SystemRealTimeIsUniversal" => unsafe extern "win64" fn() -> u8;
    system_set_watchdog: "SystemSetWatchdog" => unsafe extern "win64" fn(u32) -> i32;
    system_stop_watchdog: "SystemStopWatchdog" => unsafe extern "win64" fn();
    vcpu_set_periodic_timer: "VcpuSetPeriodicTimer" => unsafe extern "win64" fn(u32, *mut i64) -> i32;
    vcpu_register_vcpu_info: "VcpuRegisterVcpuInfo" => unsafe extern "win64" fn(u32, usize, u32) -> i32;
    filters_install: "FiltersInstall" => unsafe extern "win64" fn();
    filters_uninstall: "FiltersUninstall" => unsafe extern "win64" fn();
    config_get_active: "ConfigGetActive" => unsafe extern "win64" fn(*const u8, *mut *mut u8) -> i32;
    config_set_active: "ConfigSetActive" => unsafe extern "win64" fn(*mut u8, *mut u8, *mut u8) -> i32;
    config_update_active: "ConfigUpdateActive" => unsafe extern "win64" fn(*mut u8, *mut u8, *mut u8) -> i32;
    config_clear_active: "ConfigClearActive" => unsafe extern "win64" fn() -> i32;
    config_free_active: "ConfigFreeActive" => unsafe extern "win64" fn(*mut u8);
    config_request_reboot: "ConfigRequestReboot" => unsafe extern "win64" fn(*mut c_void, *mut u8) -> i32;
    config_query_system_start_option: "ConfigQuerySystemStartOption" => unsafe extern "win64" fn(*mut u8, *mut *mut ANSI_STRING) -> i32;
    config_free_sz_value: "ConfigFreeSzValue" => unsafe extern "win64" fn(*mut ANSI_STRING);
}
