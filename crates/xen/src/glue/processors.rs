// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The processor table behind `SystemProcessorVcpuId`, `SystemProcessorVcpuInfo` and
//! `SystemProcessorRegisterVcpuInfo` (upstream `SystemInitialize`'s MADT fetch, its
//! processor-change callback and the per-processor DPC, `src/xen/system.c`).
//!
//! * The MADT: the BIOS area `0xE0000..=0xFFFFF` is mapped and scanned for the RSDP, the XSDT
//!   and the MADT are read through short `MmMapIoSpace` mappings ([`crate::acpi`] decides and
//!   validates every step).
//! * The table is sized by `KeQueryMaximumProcessorCountEx` (hot-pluggable processors
//!   included) and published, and the `vcpu_info` policy and pages are set up
//!   ([`super::vcpu_info`]), before the processor-change callback is registered with
//!   `KE_PROCESSOR_CHANGE_ADD_EXISTING` (register and deregister resolved at run time: Wine
//!   lacks them), so the callback runs for every active processor before registration returns,
//!   and later for each hot-added one.
//! * Each `KeProcessorAddCompleteNotify` is decided by [`ProcessorTable::on_change`]: the
//!   processor is marked added and a high-importance DPC targeted at it reads `CPUID` there,
//!   maps the APIC id to the vCPU id through the MADT, registers the processor's `vcpu_info`
//!   when registration is on (upstream's `SystemProcessorRegisterVcpuInfo`: the hypercall
//!   `VCPUOP_register_vcpu_info` for its slot of the named pages, or the slot a previous load
//!   registered, its flag set, kept) and records the outcome under the index of the processor
//!   it actually ran on (so a processor is only identified by code that ran there, and Xen
//!   accepts the registration only from the vCPU itself); the callback waits for it
//!   (`KeFlushQueuedDpcs`, where upstream waits on a per-processor event). Start and failure
//!   notifications are ignored, as upstream.
//! * After registration every added processor must have finished well
//!   ([`ProcessorTable::check`], upstream's `SystemCheckProcessors`), else `DllInitialize`
//!   fails. A processor whose APIC id has no MADT entry fails it (upstream bug-checks); without
//!   any MADT (a PVH domain has no BIOS area) the vCPU ids stay unknown, logged, and the load
//!   goes on unless `vcpu_info` registration is on; a DPC that did not run on its processor (a
//!   kernel that ignores the target) leaves that processor unidentified, logged.
//! * `SystemProcessorRegisterVcpuInfo` does the DPC's registration step for its caller's
//!   processor; `SystemProcessorVcpuInfo` answers the registered slot's mapped address.
//! * The table is changed only with the IRQL raised to `HIGH_LEVEL` around its lock, so a
//!   reader at any IRQL (SUSPEND asks at `HIGH_LEVEL`) can never spin on a holder it
//!   interrupted on the same processor.
//! * `DllUnload` (and a failed `DllInitialize`) deregisters the callback before the table and
//!   the `vcpu_info` mapping go.

use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

use ntddk::KE_PROCESSOR_CHANGE_NOTIFY_CONTEXT;
use platform_port::{Irql as _, IrqlLevel, Processors as _};
use platform_windows::Kernel;

use crate::export::{self, DebugLevel};
use crate::log::LogArg;

use crate::acpi::{self, Madt, PhysicalMemory};
use crate::system::{self, ChangeAction, ProcessorChangeState, ProcessorTable, Registration};

use super::vcpu_info;

/// The BIOS area the RSDP is searched in.
const BIOS_AREA: u64 = 0xE_0000;
/// Its length.
const BIOS_AREA_LENGTH: usize = 0x2_0000;
/// Processors identified by DPC (more are left unidentified: `STATUS_NOT_SUPPORTED`).
const MAX_PROCESSORS: usize = 64;
/// No APIC id recorded.
const UNKNOWN: u32 = u32::MAX;

/// The published table: changed at `HIGH_LEVEL` only ([`update`], [`publish`]), read at any
/// IRQL.
static TABLE: spin::RwLock<Option<ProcessorTable>> = spin::RwLock::new(None);

/// The MADT read at `DllInitialize`, for processors identified later (PASSIVE_LEVEL only).
static MADT: spin::RwLock<Option<Madt>> = spin::RwLock::new(None);

/// The processor-change callback's registration handle (NULL: not registered).
static HANDLE: AtomicPtr<c_void> = AtomicPtr::new(core::ptr::null_mut());
/// `KeDeregisterProcessorChangeCallback`, resolved with the registration.
static DEREGISTER: AtomicPtr<c_void> = AtomicPtr::new(core::ptr::null_mut());

/// The APIC id each processor's DPC recorded.
static APIC_IDS: [AtomicU32; MAX_PROCESSORS] = [const { AtomicU32::new(UNKNOWN) }; MAX_PROCESSORS];

/// One `KDPC` per processor (64 bytes on x64, 8-byte aligned).
struct Dpcs(UnsafeCell<[[u64; 8]; MAX_PROCESSORS]>);

// SAFETY: each KDPC is handed to the kernel's DPC routines only, by the processor-change
// callback, which runs one notification at a time at PASSIVE_LEVEL and flushes the DPC before
// returning.
unsafe impl Sync for Dpcs {}

static DPCS: Dpcs = Dpcs(UnsafeCell::new([[0; 8]; MAX_PROCESSORS]));

/// Physical memory through `MmMapIoSpace` (PASSIVE_LEVEL).
struct Mapped;

impl PhysicalMemory for Mapped {
    fn read(&self, address: u64, buffer: &mut [u8]) -> Result<(), ()> {
        let page = address & !0xFFF;
        let offset = usize::try_from(address & 0xFFF).map_err(|_| ())?;
        let pages = offset
            .checked_add(buffer.len())
            .map(|end| end.div_ceil(4096))
            .ok_or(())?;
        // SAFETY: a read-only look at firmware tables; unmapped below.
        let base =
            unsafe { platform_windows::memory::map_physical(page >> 12, pages) }.map_err(|_| ())?;
        // SAFETY: `pages` pages are mapped at `base`; `offset + len` lies within them.
        let source = unsafe { base.as_ptr().add(offset) };
        for (i, byte) in buffer.iter_mut().enumerate() {
            // SAFETY: within the mapping (see above); firmware memory read bytewise.
            *byte = unsafe { source.wrapping_add(i).read_volatile() };
        }
        // SAFETY: the mapping made above, no longer used.
        unsafe { platform_windows::memory::unmap_physical(base, pages) };
        Ok(())
    }
}

/// The BIOS area's bytes.
fn bios_area() -> Option<Vec<u8>> {
    let mut area = Vec::new();
    area.try_reserve_exact(BIOS_AREA_LENGTH).ok()?;
    area.resize(BIOS_AREA_LENGTH, 0);
    Mapped.read(BIOS_AREA, &mut area).ok()?;
    Some(area)
}

/// The DPC run on each added processor (upstream's `SystemProcessorDpc`): records the APIC
/// id of the processor it runs on, identifies it in the table and registers its `vcpu_info`
/// there (registration must run on the processor itself), recording how it ended.
unsafe extern "system" fn processor_dpc(
    _dpc: *mut c_void,
    _context: *mut c_void,
    _a: *mut c_void,
    _b: *mut c_void,
) {
    let leaf1 = core::arch::x86_64::__cpuid(1);
    // Leaf 0 says whether leaf 0xB (the x2APIC id) exists.
    let max = core::arch::x86_64::__cpuid(0).eax;
    let leaf_0b = (max >= 0xB).then(|| {
        let l = core::arch::x86_64::__cpuid_count(0xB, 0);
        (l.ebx, l.edx)
    });
    let apic = system::apic_id(leaf1.ebx, leaf_0b);
    let cpu = Kernel.current_processor();
    let madt = MADT.read();
    let found = update(|t| t.identify(cpu, apic, madt.as_ref()));
    let no_madt = madt.is_none();
    drop(madt);
    let status = match found {
        Some(Ok(_)) => register(cpu, false),
        // No MADT at all leaves the id unknown without failing the processor, unless its
        // `vcpu_info` has to be registered (which needs the id).
        Some(Err(system::ProcessorError::NoMadtEntry { .. }))
            if no_madt && !vcpu_info::policy().register =>
        {
            Ok(())
        }
        Some(Err(e)) => Err(e),
        None => Err(system::ProcessorError::NotInitialized),
    };
    let _ = update(|t| t.finish(cpu, status));
    if let Some(slot) = usize::try_from(cpu).ok().and_then(|i| APIC_IDS.get(i)) {
        slot.store(apic, Ordering::SeqCst);
    }
}

/// Registers processor `cpu`'s `vcpu_info` as upstream's `SystemProcessorRegisterVcpuInfo`
/// (on that processor: Xen accepts it only from the vCPU itself): nothing when registration is
/// off; the hypercall when the slot's flag is clear or `force`; otherwise the slot registered
/// earlier (by this or a previous load of xen.sys) is taken as it is.
fn register(cpu: u32, force: bool) -> Result<(), system::ProcessorError> {
    let policy = vcpu_info::policy();
    let flag = system::vcpu_info_slot(cpu).is_some_and(vcpu_info::flag);
    let decision = TABLE
        .read()
        .as_ref()
        .ok_or(system::ProcessorError::NotInitialized)
        .and_then(|t| t.registration(cpu, &policy, force, flag))?;
    let (slot, outcome) = match decision {
        Registration::Disabled => return Ok(()),
        Registration::Keep { slot } => (slot, Ok(())),
        Registration::Register { vcpu_id, slot } => {
            let pfn = vcpu_info::pfn(slot.page).ok_or(system::ProcessorError::NoVcpuInfoSlot)?;
            let xen = super::XEN
                .get()
                .ok_or(system::ProcessorError::NotInitialized)?;
            // SAFETY: the page is one of the named pages, kept (never freed) for the life of
            // the domain; the 64 bytes at the slot are used only as `vcpu_info`.
            let rc =
                unsafe { crate::vcpu::register_vcpu_info(xen, vcpu_id, pfn, slot.page_offset) };
            let outcome = rc.map_err(crate::status::Error::ntstatus);
            if outcome.is_ok() {
                vcpu_info::set_flag(slot);
                export::debug_message(
                    DebugLevel::Info,
                    "SystemProcessorRegisterVcpuInfo",
                    b"XEN: REGISTER vcpu_info[%u]\n",
                    &[LogArg::Int(u64::from(cpu))],
                );
            }
            (slot, outcome)
        }
    };
    let recorded = update(|t| t.registered(cpu, slot, outcome))
        .unwrap_or(Err(system::ProcessorError::NotInitialized));
    match recorded {
        Ok(()) => {
            let address = vcpu_info::pfn(slot.page)
                .unwrap_or(0)
                .wrapping_shl(system::PAGE_SHIFT)
                .wrapping_add(u64::from(slot.page_offset));
            export::debug_message(
                DebugLevel::Info,
                "SystemProcessorRegisterVcpuInfo",
                b"XEN: vcpu_info[%u] @ %08x.%08x\n",
                &[
                    LogArg::Int(u64::from(cpu)),
                    LogArg::Int(address >> 32),
                    LogArg::Int(address & 0xFFFF_FFFF),
                ],
            );
        }
        Err(e) => export::debug_message(
            DebugLevel::Error,
            "SystemProcessorRegisterVcpuInfo",
            b"processor %u: fail2 (%08x)\n",
            &[
                LogArg::Int(u64::from(cpu)),
                LogArg::Int(u64::from(e.ntstatus().cast_unsigned())),
            ],
        ),
    }
    recorded
}

/// Runs `f` on the published table with the IRQL at `HIGH_LEVEL` (see the module docs).
fn update<T>(f: impl FnOnce(&mut ProcessorTable) -> T) -> Option<T> {
    let old = Kernel.raise_irql(IrqlLevel::HIGH);
    let out = TABLE.write().as_mut().map(f);
    Kernel.lower_irql(old);
    out
}

/// Replaces the published table (PASSIVE_LEVEL), returning the old one to be dropped there.
fn publish(table: Option<ProcessorTable>) -> Option<ProcessorTable> {
    let old = Kernel.raise_irql(IrqlLevel::HIGH);
    let previous = core::mem::replace(&mut *TABLE.write(), table);
    Kernel.lower_irql(old);
    previous
}

/// The name upstream's trace gives a notification state.
const fn state_name(state: ProcessorChangeState) -> &'static [u8] {
    match state {
        ProcessorChangeState::AddStart => b"KeProcessorAddStartNotify",
        ProcessorChangeState::AddComplete => b"KeProcessorAddCompleteNotify",
        ProcessorChangeState::AddFailure => b"KeProcessorAddFailureNotify",
        ProcessorChangeState::Unknown(_) => b"UNKNOWN",
    }
}

/// Identifies processor `cpu` after its `KeProcessorAddCompleteNotify`, at `PASSIVE_LEVEL`: its DPC,
/// the wait, the MADT lookup, the outcome.
fn initialize_processor(cpu: u32) {
    let kernel = Kernel;
    let index = usize::try_from(cpu).ok().filter(|&i| i < MAX_PROCESSORS);
    let (Some(index), Some(mut number)) = (index, kernel.processor_number(cpu)) else {
        export::debug_message(
            DebugLevel::Error,
            "SystemProcessorChangeCallback",
            b"processor %u: not identified (beyond the DPCs kept)\n",
            &[LogArg::Int(u64::from(cpu))],
        );
        let _ = update(|t| t.finish(cpu, Ok(())));
        return;
    };
    if let Some(slot) = APIC_IDS.get(index) {
        slot.store(UNKNOWN, Ordering::SeqCst);
    }
    let dpc = DPCS
        .0
        .get()
        .cast::<[u64; 8]>()
        .wrapping_add(index)
        .cast::<c_void>();
    // SAFETY: our static KDPC storage for this processor; the callback runs one notification
    // at a time and flushes the DPC before returning, so it is not queued.
    unsafe { ntddk::routines::KeInitializeDpc(dpc, processor_dpc, core::ptr::null_mut()) };
    // SAFETY: an initialised, unqueued DPC.
    unsafe { ntddk::routines::KeSetImportanceDpc(dpc.cast(), ntddk::HighImportance) };
    // SAFETY: as above, and a processor the kernel named.
    let _status =
        unsafe { ntddk::routines::KeSetTargetProcessorDpcEx(dpc.cast(), &raw mut number) };
    // SAFETY: as above.
    let _queued = unsafe {
        ntddk::routines::KeInsertQueueDpc(dpc, core::ptr::null_mut(), core::ptr::null_mut())
    };
    // SAFETY: PASSIVE_LEVEL (the callback's): the DPC above has run when this returns.
    unsafe { ntddk::routines::KeFlushQueuedDpcs() };
    let apic = APIC_IDS
        .get(index)
        .map_or(UNKNOWN, |slot| slot.load(Ordering::SeqCst));
    if apic == UNKNOWN {
        export::debug_message(
            DebugLevel::Error,
            "SystemProcessorDpc",
            b"processor %u: the DPC did not run there: not identified\n",
            &[LogArg::Int(u64::from(cpu))],
        );
        let _ = update(|t| t.finish(cpu, Ok(())));
        return;
    }
    export::debug_message(
        DebugLevel::Info,
        "SystemProcessorDpc",
        b"processor %u: APIC ID: %02X\n",
        &[LogArg::Int(u64::from(cpu)), LogArg::Int(u64::from(apic))],
    );
    match vcpu_id(cpu) {
        Ok(vcpu) => export::debug_message(
            DebugLevel::Info,
            "SystemProcessorDpc",
            b"processor %u: PROCESSOR ID: %02X\n",
            &[LogArg::Int(u64::from(cpu)), LogArg::Int(u64::from(vcpu))],
        ),
        Err(_) => export::debug_message(
            DebugLevel::Error,
            "SystemProcessorDpc",
            b"processor %u (APIC id %u): no vCPU id\n",
            &[LogArg::Int(u64::from(cpu)), LogArg::Int(u64::from(apic))],
        ),
    }
}

/// The processor-change callback (`PROCESSOR_CALLBACK_FUNCTION`, PASSIVE_LEVEL).
unsafe extern "system" fn change_callback(
    _context: *mut c_void,
    change: *mut KE_PROCESSOR_CHANGE_NOTIFY_CONTEXT,
    _status: *mut ntddk::NTSTATUS,
) {
    // SAFETY: the kernel passes a readable notification for the call's duration.
    let Some(change) = (unsafe { change.as_ref() }) else {
        return;
    };
    let cpu = change.NtNumber;
    let state = ProcessorChangeState::from_raw(change.State.cast_unsigned());
    let number = change.ProcNumber;
    let args = [
        LogArg::Int(u64::from(number.Group)),
        LogArg::Int(u64::from(number.Number)),
        LogArg::Str(Some(state_name(state))),
    ];
    export::debug_message(
        DebugLevel::Trace,
        "SystemProcessorChangeCallback",
        b"====> (%u:%u:%s)\n",
        &args,
    );
    match update(|t| t.on_change(cpu, state)) {
        Some(ChangeAction::Initialize { cpu }) => initialize_processor(cpu),
        Some(ChangeAction::Refuse { cpu }) => export::debug_message(
            DebugLevel::Error,
            "SystemProcessorChangeCallback",
            b"processor %u is beyond the table\n",
            &[LogArg::Int(u64::from(cpu))],
        ),
        Some(ChangeAction::Ignore) | None => {}
    }
    export::debug_message(
        DebugLevel::Trace,
        "SystemProcessorChangeCallback",
        b"<==== (%u:%u:%s)\n",
        &args,
    );
}

/// Builds and publishes the table, registers the processor-change callback and checks the
/// processors (`DllInitialize`, PASSIVE_LEVEL). On failure nothing is left registered.
///
/// # Errors
/// `STATUS_UNSUCCESSFUL` when the table cannot be made or the callback cannot be registered
/// (upstream's `SystemRegisterProcessorChangeCallback`), a processor's failure status as
/// upstream's `SystemCheckProcessors` returns it.
pub(super) fn initialize() -> Result<(), ntstatus::NtStatus> {
    let kernel = Kernel;
    let active = kernel.active_processor_count();
    // SAFETY: any IRQL; a documented group selector.
    let count =
        unsafe { ntddk::routines::KeQueryMaximumProcessorCountEx(ntddk::ALL_PROCESSOR_GROUPS) };
    export::debug_message(
        DebugLevel::Info,
        "SystemInitialize",
        b"CPUs %u / %u\n",
        &[
            LogArg::Int(u64::from(active)),
            LogArg::Int(u64::from(count)),
        ],
    );
    let table = ProcessorTable::new(count).map_err(system::ProcessorError::ntstatus)?;
    let madt = match bios_area().map(|area| acpi::read_madt(&Mapped, &area, BIOS_AREA)) {
        Some(Ok(madt)) => Some(madt),
        Some(Err(_)) => {
            export::debug_message(DebugLevel::Error, "SystemInitialize", b"no MADT\n", &[]);
            None
        }
        None => None,
    };
    *MADT.write() = madt;
    drop(publish(Some(table)));
    if let Err(status) = vcpu_info::initialize(count, super::memory_map::maximum_pfn()) {
        forget();
        return Err(status);
    }
    let register = platform_windows::system_routine("KeRegisterProcessorChangeCallback");
    let deregister = platform_windows::system_routine("KeDeregisterProcessorChangeCallback");
    if register.is_null() || deregister.is_null() {
        export::debug_message(
            DebugLevel::Error,
            "SystemRegisterProcessorChangeCallback",
            b"KeRegisterProcessorChangeCallback not found\n",
            &[],
        );
        forget();
        return Err(ntstatus::STATUS_UNSUCCESSFUL);
    }
    DEREGISTER.store(deregister, Ordering::Release);
    // SAFETY: the kernel's `KeRegisterProcessorChangeCallback`, whose signature this is.
    let register = unsafe {
        core::mem::transmute::<*mut c_void, ntddk::routines::KeRegisterProcessorChangeCallbackFn>(
            register,
        )
    };
    // SAFETY: PASSIVE_LEVEL; a callback that stays valid until `forget` deregisters it.
    let handle = unsafe {
        register(
            change_callback,
            core::ptr::null_mut(),
            ntddk::KE_PROCESSOR_CHANGE_ADD_EXISTING,
        )
    };
    if handle.is_null() {
        export::debug_message(
            DebugLevel::Error,
            "SystemRegisterProcessorChangeCallback",
            b"fail2\n",
            &[],
        );
        forget();
        return Err(ntstatus::STATUS_UNSUCCESSFUL);
    }
    HANDLE.store(handle, Ordering::Release);
    let checked = TABLE.read().as_ref().map(ProcessorTable::check);
    if let Some(Err((cpu, error))) = checked {
        let status = error.ntstatus();
        export::debug_message(
            DebugLevel::Error,
            "SystemCheckProcessors",
            b"processor %u: fail1 (%08x)\n",
            &[
                LogArg::Int(u64::from(cpu)),
                LogArg::Int(u64::from(status.cast_unsigned())),
            ],
        );
        forget();
        return Err(status);
    }
    Ok(())
}

/// Deregisters the callback and frees the table (`DllUnload`, and a failed `DllInitialize`).
pub(super) fn forget() {
    let handle = HANDLE.swap(core::ptr::null_mut(), Ordering::AcqRel);
    let deregister = DEREGISTER.swap(core::ptr::null_mut(), Ordering::AcqRel);
    if !handle.is_null() && !deregister.is_null() {
        // SAFETY: the kernel's `KeDeregisterProcessorChangeCallback`, whose signature this is.
        let deregister = unsafe {
            core::mem::transmute::<
                *mut c_void,
                ntddk::routines::KeDeregisterProcessorChangeCallbackFn,
            >(deregister)
        };
        // SAFETY: PASSIVE_LEVEL; the handle registration returned, deregistered once.
        unsafe { deregister(handle) };
    }
    drop(publish(None));
    let madt = MADT.write().take();
    drop(madt);
    vcpu_info::teardown();
}

/// `SystemProcessorRegisterVcpuInfo`'s answer (run on processor `cpu`).
pub(super) fn register_vcpu_info(cpu: u32, force: bool) -> Result<(), ntstatus::NtStatus> {
    register(cpu, force).map_err(system::ProcessorError::ntstatus)
}

/// `SystemProcessorVcpuInfo`'s answer: the registered `vcpu_info` in the mapped area.
pub(super) fn vcpu_info(cpu: u32) -> Result<*mut c_void, ntstatus::NtStatus> {
    let slot = TABLE
        .read()
        .as_ref()
        .ok_or(ntstatus::STATUS_NOT_SUPPORTED)
        .and_then(|table| {
            table
                .vcpu_info(cpu)
                .map_err(system::ProcessorError::ntstatus)
        })?;
    vcpu_info::vcpu_info(slot).ok_or(ntstatus::STATUS_NOT_SUPPORTED)
}

/// `SystemProcessorVcpuId`'s answer.
pub(super) fn vcpu_id(cpu: u32) -> Result<u32, ntstatus::NtStatus> {
    TABLE
        .read()
        .as_ref()
        .ok_or(ntstatus::STATUS_NOT_SUPPORTED)
        .and_then(|table| table.vcpu_id(cpu).map_err(system::ProcessorError::ntstatus))
}
