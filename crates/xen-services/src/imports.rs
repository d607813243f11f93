// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! xen.sys's C exports as xenbus.sys and xenfilt.sys import them.
//!
//! They are imported by name from `xen.sys` through `raw-dylib` (rustc writes the import table;
//! no import library is needed), with the C signatures of xen.sys's `include/xen.h`. On Windows
//! x64 `extern "C"` is the Microsoft x64 convention the exports use.
//!
//! The loader resolves each name against xen.sys's export table when an importer loads;
//! `scripts/check-images` proves every name imported here is one xen.sys exports.

use core::ffi::{c_char, c_void};

use ntstatus::NtStatus;

#[link(name = "xen.sys", kind = "raw-dylib", modifiers = "+verbatim")]
unsafe extern "C" {
    /// `XenTouch`: loads xen.sys for the importer and checks that both carry the same package
    /// version (`STATUS_INCOMPATIBLE_DRIVER_BLOCKED` otherwise). PASSIVE_LEVEL.
    pub fn XenTouch(
        name: *const c_char,
        major: u32,
        minor: u32,
        micro: u32,
        build: u32,
    ) -> NtStatus;
    /// `FiltersInstall`: puts xenfilt into the class filter lists. PASSIVE_LEVEL.
    pub fn FiltersInstall();
    /// `ConfigRequestReboot`: asks for a reboot on behalf of `module`. PASSIVE_LEVEL.
    pub fn ConfigRequestReboot(parameters_key: *mut c_void, module: *const c_char) -> NtStatus;
    /// `LogPrintf`: one line to xen.sys's leveled log (its dispositions: the debugger, QEMU's
    /// log port, the PV console). Any IRQL.
    pub fn LogPrintf(level: u32, format: *const c_char, ...);
    /// `SystemProcessorRegisterVcpuInfo`: registers processor `cpu`'s `vcpu_info` (again, with
    /// `force`). On that processor; HIGH_LEVEL in the suspend rendezvous.
    pub fn SystemProcessorRegisterVcpuInfo(cpu: u32, force: u8) -> NtStatus;
    /// `SystemRealTimeIsUniversal`: whether the guest's real-time clock keeps UTC.
    /// PASSIVE_LEVEL.
    pub fn SystemRealTimeIsUniversal() -> u8;
    /// `UnplugDevices`: unplugs the emulated devices requested for this boot. Any IRQL.
    pub fn UnplugDevices();
    /// `UnplugGetRequest`: whether devices of `unplug_type` were unplugged at this boot.
    pub fn UnplugGetRequest(unplug_type: u32) -> u8;
    /// `ConfigGetActive`: `XENFILT\Parameters\Active<key>`, freed with `ConfigFreeActive`.
    /// PASSIVE_LEVEL.
    pub fn ConfigGetActive(key: *const c_char, value: *mut *mut c_char) -> NtStatus;
    /// `ConfigFreeActive`.
    pub fn ConfigFreeActive(value: *mut c_char);
    /// `ConfigSetActive`: records the active platform device. PASSIVE_LEVEL.
    pub fn ConfigSetActive(
        device_id: *const c_char,
        instance_id: *const c_char,
        location: *const c_char,
    ) -> NtStatus;
    /// `ConfigUpdateActive`: fills the instance and location if missing. PASSIVE_LEVEL.
    pub fn ConfigUpdateActive(
        device_id: *const c_char,
        instance_id: *const c_char,
        location: *const c_char,
    ) -> NtStatus;
    /// `ConfigClearActive`: forgets the active device. PASSIVE_LEVEL.
    pub fn ConfigClearActive() -> NtStatus;
    /// `FiltersUninstall`: takes xenfilt out of the class filter lists. PASSIVE_LEVEL.
    pub fn FiltersUninstall();
    /// `LogReadLogLevel`: the `LOG_LEVEL` bits a `REG_MULTI_SZ` of level names under `key`
    /// names (0 with a failure status when missing or of another type). PASSIVE_LEVEL.
    pub fn LogReadLogLevel(key: *mut c_void, name: *const c_char, level: *mut u32) -> NtStatus;
    /// `LogAddDisposition`: `function(argument, line, length)` is called for every log line
    /// at a level in `mask` (with xen.sys's log lock held, at any IRQL) until
    /// `LogRemoveDisposition`; `*disposition` is NULL for an empty mask. Any IRQL.
    pub fn LogAddDisposition(
        mask: u32,
        function: unsafe extern "C" fn(*mut c_void, *mut c_char, u32),
        argument: *mut c_void,
        disposition: *mut *mut c_void,
    ) -> NtStatus;
    /// `LogRemoveDisposition`: no call reaches the disposition after it returns. NULL is
    /// ignored. Any IRQL.
    pub fn LogRemoveDisposition(disposition: *mut c_void);

    // The services behind [`crate::XenServices`] (see [`Imported`]); IRQL as each trait method
    // documents.
    fn EventChannelSend(port: u32) -> NtStatus;
    fn EventChannelAllocateUnbound(domain: u16, port: *mut u32) -> NtStatus;
    fn EventChannelBindInterDomain(
        remote_domain: u16,
        remote_port: u32,
        port: *mut u32,
    ) -> NtStatus;
    fn EventChannelBindVirq(virq: u32, vcpu: u32, port: *mut u32) -> NtStatus;
    fn EventChannelBindVirtualCpu(port: u32, vcpu: u32) -> NtStatus;
    fn EventChannelQueryInterDomain(port: u32, domain: *mut u16, remote: *mut u32) -> NtStatus;
    fn EventChannelClose(port: u32) -> NtStatus;
    fn EventChannelUnmask(port: u32) -> NtStatus;
    fn EventChannelReset() -> NtStatus;
    fn EventChannelInitControl(pfn: usize, vcpu: u32) -> NtStatus;
    fn EventChannelExpandArray(pfn: usize) -> NtStatus;
    fn GrantTableQuerySize(current: *mut u32, maximum: *mut u32) -> NtStatus;
    fn GrantTableMapForeignPage(
        domain: u16,
        grant_ref: u32,
        address: i64,
        read_only: u8,
        handle: *mut u32,
    ) -> NtStatus;
    fn GrantTableUnmapForeignPage(handle: u32, address: i64) -> NtStatus;
    fn HvmGetParam(index: u32, value: *mut u64) -> NtStatus;
    fn HvmSetParam(index: u32, value: u64) -> NtStatus;
    fn HvmSetEvtchnUpcallVector(vcpu: u32, vector: u8) -> NtStatus;
    fn MemoryAddToPhysmap(pfn: usize, space: u32, offset: usize) -> NtStatus;
    fn MemoryRemoveFromPhysmap(pfn: usize) -> NtStatus;
    fn MemoryDecreaseReservation(
        order: u32,
        count: u32,
        pfns: *mut usize,
        done: *mut u32,
    ) -> NtStatus;
    fn MemoryPopulatePhysmap(order: u32, count: u32, pfns: *mut usize, done: *mut u32) -> NtStatus;
    fn SchedShutdown(reason: u32) -> NtStatus;
    fn SchedYield();
    fn SystemProcessorVcpuId(cpu: u32, vcpu: *mut u32) -> NtStatus;
    fn SystemProcessorVcpuInfo(cpu: u32, vcpu_info: *mut *mut c_void) -> NtStatus;
    fn VcpuSetPeriodicTimer(vcpu: u32, period: *const i64) -> NtStatus;
    fn SystemSetWatchdog(seconds: u32) -> NtStatus;
    fn SystemStopWatchdog();
    fn UnplugIncrementValue(unplug_type: u32) -> NtStatus;
    fn UnplugDecrementValue(unplug_type: u32) -> NtStatus;
}

/// [`crate::XenServices`] over xen.sys's exports.
///
/// Each method is one call of the export of the same name, its out-parameters turned into
/// return values. xen.sys checks the arguments and maps every hypercall failure to the status
/// returned here.
#[derive(Debug, Clone, Copy, Default)]
pub struct Imported;

/// `Ok(value)` for a success status, the status otherwise.
fn ok<T>(status: NtStatus, value: T) -> crate::Result<T> {
    if status >= 0 { Ok(value) } else { Err(status) }
}

/// The frame array of a reservation call, as `PFN_NUMBER`s (`u64` and `usize` agree on x64).
fn pfns(frames: &mut [u64]) -> crate::Result<(*mut usize, u32)> {
    const _: () = assert!(size_of::<usize>() == size_of::<u64>());
    let count = u32::try_from(frames.len()).map_err(|_| ntstatus::STATUS_INVALID_PARAMETER)?;
    Ok((frames.as_mut_ptr().cast::<usize>(), count))
}

/// A frame number or guest-physical address as the export's `usize`/`LONGLONG`.
fn word(value: u64) -> crate::Result<usize> {
    usize::try_from(value).map_err(|_| ntstatus::STATUS_INVALID_PARAMETER)
}

impl crate::XenServices for Imported {
    fn evtchn_send(&self, port: u32) -> crate::Result<()> {
        // SAFETY: a plain value; any IRQL up to DISPATCH_LEVEL.
        ok(unsafe { EventChannelSend(port) }, ())
    }

    fn evtchn_allocate_unbound(&self, domain: u16) -> crate::Result<u32> {
        let mut port = 0;
        // SAFETY: `port` is writable for the call.
        let status = unsafe { EventChannelAllocateUnbound(domain, &raw mut port) };
        ok(status, port)
    }

    fn evtchn_bind_inter_domain(&self, domain: u16, remote_port: u32) -> crate::Result<u32> {
        let mut port = 0;
        // SAFETY: `port` is writable for the call.
        let status = unsafe { EventChannelBindInterDomain(domain, remote_port, &raw mut port) };
        ok(status, port)
    }

    fn evtchn_bind_virq(&self, virq: u32, vcpu: u32) -> crate::Result<u32> {
        let mut port = 0;
        // SAFETY: `port` is writable for the call.
        let status = unsafe { EventChannelBindVirq(virq, vcpu, &raw mut port) };
        ok(status, port)
    }

    fn evtchn_bind_virtual_cpu(&self, port: u32, vcpu: u32) -> crate::Result<()> {
        // SAFETY: plain values.
        ok(unsafe { EventChannelBindVirtualCpu(port, vcpu) }, ())
    }

    fn evtchn_query_inter_domain(&self, port: u32) -> crate::Result<(u16, u32)> {
        let (mut domain, mut remote) = (0, 0);
        // SAFETY: both outputs are writable for the call.
        let status =
            unsafe { EventChannelQueryInterDomain(port, &raw mut domain, &raw mut remote) };
        ok(status, (domain, remote))
    }

    fn evtchn_close(&self, port: u32) -> crate::Result<()> {
        // SAFETY: a plain value.
        ok(unsafe { EventChannelClose(port) }, ())
    }

    fn evtchn_unmask(&self, port: u32) -> crate::Result<()> {
        // SAFETY: a plain value.
        ok(unsafe { EventChannelUnmask(port) }, ())
    }

    fn evtchn_reset(&self) -> crate::Result<()> {
        // SAFETY: no arguments.
        ok(unsafe { EventChannelReset() }, ())
    }

    unsafe fn evtchn_init_control(&self, gfn: u64, vcpu: u32) -> crate::Result<()> {
        let pfn = word(gfn)?;
        // SAFETY: the trait's contract: the caller hands the page to Xen.
        ok(unsafe { EventChannelInitControl(pfn, vcpu) }, ())
    }

    unsafe fn evtchn_expand_array(&self, gfn: u64) -> crate::Result<()> {
        let pfn = word(gfn)?;
        // SAFETY: the trait's contract: the caller hands the page to Xen.
        ok(unsafe { EventChannelExpandArray(pfn) }, ())
    }

    fn gnttab_query_size(&self) -> crate::Result<(u32, u32)> {
        let (mut current, mut maximum) = (0, 0);
        // SAFETY: both outputs are writable for the call.
        let status = unsafe { GrantTableQuerySize(&raw mut current, &raw mut maximum) };
        ok(status, (current, maximum))
    }

    unsafe fn gnttab_map_foreign_page(
        &self,
        domain: u16,
        grant_ref: u32,
        address: u64,
        read_only: bool,
    ) -> crate::Result<u32> {
        let address = i64::try_from(address).map_err(|_| ntstatus::STATUS_INVALID_PARAMETER)?;
        let mut handle = 0;
        // SAFETY: the trait's contract gives up `address`; `handle` is writable.
        let status = unsafe {
            GrantTableMapForeignPage(
                domain,
                grant_ref,
                address,
                u8::from(read_only),
                &raw mut handle,
            )
        };
        ok(status, handle)
    }

    unsafe fn gnttab_unmap_foreign_page(&self, handle: u32, address: u64) -> crate::Result<()> {
        let address = i64::try_from(address).map_err(|_| ntstatus::STATUS_INVALID_PARAMETER)?;
        // SAFETY: the trait's contract: nothing uses the mapping any more.
        ok(unsafe { GrantTableUnmapForeignPage(handle, address) }, ())
    }

    fn hvm_get_param(&self, index: u32) -> crate::Result<u64> {
        let mut value = 0;
        // SAFETY: `value` is writable for the call.
        let status = unsafe { HvmGetParam(index, &raw mut value) };
        ok(status, value)
    }

    fn hvm_set_param(&self, index: u32, value: u64) -> crate::Result<()> {
        // SAFETY: plain values.
        ok(unsafe { HvmSetParam(index, value) }, ())
    }

    fn hvm_set_evtchn_upcall_vector(&self, vcpu: u32, vector: u8) -> crate::Result<()> {
        // SAFETY: plain values.
        ok(unsafe { HvmSetEvtchnUpcallVector(vcpu, vector) }, ())
    }

    unsafe fn memory_add_to_physmap(&self, gfn: u64, space: u32, offset: u64) -> crate::Result<()> {
        let (pfn, offset) = (word(gfn)?, word(offset)?);
        // SAFETY: the trait's contract: the caller owns the page at `gfn`.
        ok(unsafe { MemoryAddToPhysmap(pfn, space, offset) }, ())
    }

    unsafe fn memory_remove_from_physmap(&self, gfn: u64) -> crate::Result<()> {
        let pfn = word(gfn)?;
        // SAFETY: the trait's contract: the caller owns the page at `gfn`.
        ok(unsafe { MemoryRemoveFromPhysmap(pfn) }, ())
    }

    unsafe fn memory_decrease_reservation(
        &self,
        order: u32,
        frames: &mut [u64],
    ) -> crate::Result<usize> {
        let (array, count) = pfns(frames)?;
        let mut done = 0u32;
        // SAFETY: the trait's contract gives up the frames; `array` holds `count` of them and
        // `done` is writable.
        let status = unsafe { MemoryDecreaseReservation(order, count, array, &raw mut done) };
        ok(status, usize::try_from(done).unwrap_or(usize::MAX))
    }

    unsafe fn memory_populate_physmap(
        &self,
        order: u32,
        frames: &mut [u64],
    ) -> crate::Result<usize> {
        let (array, count) = pfns(frames)?;
        let mut done = 0u32;
        // SAFETY: the trait's contract; `array` holds `count` frames and `done` is writable.
        let status = unsafe { MemoryPopulatePhysmap(order, count, array, &raw mut done) };
        ok(status, usize::try_from(done).unwrap_or(usize::MAX))
    }

    fn sched_shutdown(&self, reason: u32) -> crate::Result<()> {
        // SAFETY: a plain value.
        ok(unsafe { SchedShutdown(reason) }, ())
    }

    fn sched_yield(&self) {
        // SAFETY: no arguments.
        unsafe { SchedYield() };
    }

    fn processor_vcpu_id(&self, cpu: u32) -> crate::Result<u32> {
        let mut vcpu = 0;
        // SAFETY: `vcpu` is writable for the call.
        let status = unsafe { SystemProcessorVcpuId(cpu, &raw mut vcpu) };
        ok(status, vcpu)
    }

    fn processor_vcpu_info(&self, cpu: u32) -> crate::Result<core::ptr::NonNull<u8>> {
        let mut info: *mut c_void = core::ptr::null_mut();
        // SAFETY: `info` is writable for the call.
        let status = unsafe { SystemProcessorVcpuInfo(cpu, &raw mut info) };
        ok(status, ())?;
        core::ptr::NonNull::new(info.cast::<u8>()).ok_or(ntstatus::STATUS_NOT_SUPPORTED)
    }

    fn vcpu_set_periodic_timer(&self, vcpu: u32, period: Option<u64>) -> crate::Result<()> {
        let period = period
            .map(|p| i64::try_from(p).map_err(|_| ntstatus::STATUS_INVALID_PARAMETER))
            .transpose()?;
        let pointer = period
            .as_ref()
            .map_or(core::ptr::null(), core::ptr::from_ref);
        // SAFETY: `pointer` is NULL or points at `period`, alive for the call.
        ok(unsafe { VcpuSetPeriodicTimer(vcpu, pointer) }, ())
    }

    fn system_set_watchdog(&self, seconds: u32) -> crate::Result<()> {
        // SAFETY: a plain value.
        ok(unsafe { SystemSetWatchdog(seconds) }, ())
    }

    fn system_stop_watchdog(&self) {
        // SAFETY: no arguments.
        unsafe { SystemStopWatchdog() };
    }

    fn unplug_increment_value(&self, unplug_type: u32) -> crate::Result<()> {
        // SAFETY: a plain value; PASSIVE_LEVEL (registry).
        ok(unsafe { UnplugIncrementValue(unplug_type) }, ())
    }

    fn unplug_decrement_value(&self, unplug_type: u32) -> crate::Result<()> {
        // SAFETY: a plain value; PASSIVE_LEVEL (registry).
        ok(unsafe { UnplugDecrementValue(unplug_type) }, ())
    }
}

/// `XenTouch` with this package's version ([`crate::PACKAGE_VERSION`]) on behalf of `module`
/// (PASSIVE_LEVEL).
#[must_use]
pub fn touch(module: &core::ffi::CStr) -> NtStatus {
    let v = crate::PACKAGE_VERSION;
    // SAFETY: PASSIVE_LEVEL (the caller's); a NUL-terminated name and plain numbers.
    unsafe { XenTouch(module.as_ptr(), v.major, v.minor, v.micro, v.build) }
}
