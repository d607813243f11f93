// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `System*` (except the watchdog), `ModuleLookup` and `Filters*` exports.
//!
//! The `System*` and `ModuleLookup` answers come from the [`super::Platform`], which owns the
//! processor table, the `vcpu_info` pages and the loaded-module list (their decisions are
//! [`crate::system`]'s and [`crate::module`]'s). The `Filters*` edits are decided here by
//! [`crate::filters`] over the platform's class keys. The watchdog is a hypercall service.

use core::ffi::{c_char, c_void};

use super::{
    DebugLevel, NtStatus, STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED, STATUS_SUCCESS,
    debug_message, platform,
};
use crate::filters::{self, DeviceClass, FilterError, Outcome};
use crate::log::LogArg;

/// `NTSTATUS SystemProcessorVcpuId(ULONG Cpu, unsigned int *vcpu_id)`.
///
/// # Safety
/// `vcpu_id` is NULL or writable.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "SystemProcessorVcpuId")]
pub unsafe extern "C" fn system_processor_vcpu_id(cpu: u32, vcpu_id: *mut u32) -> NtStatus {
    if vcpu_id.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    match platform().map_or(Err(STATUS_NOT_SUPPORTED), |p| p.processor_vcpu_id(cpu)) {
        Ok(id) => {
            // SAFETY: non-NULL and writable by the caller's contract.
            unsafe { vcpu_id.write_unaligned(id) };
            STATUS_SUCCESS
        }
        Err(status) => status,
    }
}

/// `NTSTATUS SystemProcessorVcpuInfo(ULONG Cpu, vcpu_info_t **Vcpu)`.
///
/// # Safety
/// `vcpu` is NULL or writable.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "SystemProcessorVcpuInfo")]
pub unsafe extern "C" fn system_processor_vcpu_info(cpu: u32, vcpu: *mut *mut c_void) -> NtStatus {
    if vcpu.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    match platform().map_or(Err(STATUS_NOT_SUPPORTED), |p| p.processor_vcpu_info(cpu)) {
        Ok(info) => {
            // SAFETY: non-NULL and writable by the caller's contract.
            unsafe { vcpu.write_unaligned(info) };
            STATUS_SUCCESS
        }
        Err(status) => status,
    }
}

/// `NTSTATUS SystemProcessorRegisterVcpuInfo(ULONG Cpu, BOOLEAN Force)`.
///
/// Success only once Xen accepted the registration; `STATUS_NOT_SUPPORTED` without a platform
/// or where the platform cannot register `vcpu_info` (a caller then keeps using
/// `shared_info`'s `vcpu_info`).
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "SystemProcessorRegisterVcpuInfo")]
#[must_use]
pub extern "C" fn system_processor_register_vcpu_info(cpu: u32, force: u8) -> NtStatus {
    platform().map_or(STATUS_NOT_SUPPORTED, |p| {
        p.register_vcpu_info(cpu, force != 0)
            .map_or_else(|s| s, |()| STATUS_SUCCESS)
    })
}

/// `PHYSICAL_ADDRESS SystemMaximumPhysicalAddress(VOID)`.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "SystemMaximumPhysicalAddress")]
#[must_use]
pub extern "C" fn system_maximum_physical_address() -> i64 {
    platform().map_or(0, super::Platform::maximum_physical_address)
}

/// `BOOLEAN SystemRealTimeIsUniversal(VOID)`.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "SystemRealTimeIsUniversal")]
#[must_use]
pub extern "C" fn system_real_time_is_universal() -> u8 {
    u8::from(platform().is_some_and(super::Platform::real_time_is_universal))
}

/// `VOID ModuleLookup(ULONG_PTR Address, PSTR *Name, PULONG_PTR Offset)`: the module holding
/// `Address` (a pointer to its stored lower-case name, not a copy) and the offset into it, or
/// NULL and 0.
///
/// # Safety
/// `Name` and `Offset` are each NULL or writable (NULL ones are skipped).
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "ModuleLookup")]
pub unsafe extern "C" fn module_lookup(
    address: usize,
    name: *mut *const c_char,
    offset: *mut usize,
) {
    let (module, off) = platform()
        .and_then(|p| p.module_lookup(address))
        .map_or((core::ptr::null(), 0), |(n, o)| (n.cast::<c_char>(), o));
    if !name.is_null() {
        // SAFETY: non-NULL and writable by the caller's contract.
        unsafe { name.write_unaligned(module) };
    }
    if !offset.is_null() {
        // SAFETY: non-NULL and writable by the caller's contract.
        unsafe { offset.write_unaligned(off) };
    }
}

/// Logs one class's outcome as upstream's `FiltersInstallClass`/`FiltersUninstallClass` do.
fn log_class(function: &str, class: DeviceClass, result: Result<Outcome, FilterError>) {
    match result {
        Ok(Outcome::Written) => debug_message(
            DebugLevel::Info,
            function,
            b"%s %s\n",
            &[
                LogArg::Str(Some(class.name().as_bytes())),
                LogArg::Str(Some(filters::FILTER_NAME.as_bytes())),
            ],
        ),
        Ok(Outcome::Unchanged) => {}
        Err(e) => debug_message(
            DebugLevel::Error,
            function,
            b"%s: fail1 (%08x)\n",
            &[
                LogArg::Str(Some(class.name().as_bytes())),
                LogArg::Int(u64::from(e.ntstatus().cast_unsigned())),
            ],
        ),
    }
}

/// `VOID FiltersInstall(VOID)`: adds `XENFILT` to the System, then the HDC class's
/// `UpperFilters` ([`crate::filters`]). Failures are logged, as upstream's are ignored.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "FiltersInstall")]
pub extern "C" fn filters_install() {
    if let Some(p) = platform() {
        for (class, result) in filters::install(p) {
            log_class("FiltersInstallClass", class, result);
        }
    }
}

/// `VOID FiltersUninstall(VOID)`: removes `XENFILT` from the HDC, then the System class.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "FiltersUninstall")]
pub extern "C" fn filters_uninstall() {
    if let Some(p) = platform() {
        for (class, result) in filters::uninstall(p) {
            log_class("FiltersUninstallClass", class, result);
        }
    }
}
