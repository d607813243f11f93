// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The processor table behind `SystemProcessorVcpuId` (upstream `SystemInitialize`'s MADT
//! fetch and its per-processor identification), built once at `DllInitialize`.
//!
//! * The MADT: the BIOS area `0xE0000..=0xFFFFF` is mapped and scanned for the RSDP, the XSDT
//!   and the MADT are read through short `MmMapIoSpace` mappings ([`crate::acpi`] decides and
//!   validates every step).
//! * The APIC ids: a DPC targeted at each active processor reads `CPUID` on it and records the
//!   id under the index of the processor it actually ran on, so a processor is only identified
//!   by code that ran there.
//! * Each identified processor is marked added and mapped to its vCPU id through the MADT
//!   ([`crate::system::ProcessorTable`]); the table is published once and read without a lock
//!   at any IRQL (SUSPEND asks at `HIGH_LEVEL`).
//!
//! Not done yet (issue 12's rest): the processor-change callback for processors added later,
//! and `vcpu_info` registration.

use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::sync::atomic::{AtomicU32, Ordering};

use platform_port::Processors as _;
use platform_windows::Kernel;

use crate::export::{self, DebugLevel};
use crate::log::LogArg;

use crate::acpi::{self, PhysicalMemory};
use crate::system::{self, ProcessorChangeState, ProcessorTable};

/// The BIOS area the RSDP is searched in.
const BIOS_AREA: u64 = 0xE_0000;
/// Its length.
const BIOS_AREA_LENGTH: usize = 0x2_0000;
/// Processors identified by DPC (more are left unidentified: `STATUS_NOT_SUPPORTED`).
const MAX_PROCESSORS: usize = 64;
/// No APIC id recorded.
const UNKNOWN: u32 = u32::MAX;

/// The published table: written at `DllInitialize` and `DllUnload` only (PASSIVE_LEVEL, when no
/// importer can ask), read at any IRQL in between.
static TABLE: spin::RwLock<Option<ProcessorTable>> = spin::RwLock::new(None);

/// The APIC id each processor's DPC recorded.
static APIC_IDS: [AtomicU32; MAX_PROCESSORS] = [const { AtomicU32::new(UNKNOWN) }; MAX_PROCESSORS];

/// One `KDPC` per processor (64 bytes on x64, 8-byte aligned).
struct Dpcs(UnsafeCell<[[u64; 8]; MAX_PROCESSORS]>);

// SAFETY: each KDPC is handed to the kernel's DPC routines only, during `identify`, which runs
// once at PASSIVE_LEVEL and flushes them before returning.
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

/// The DPC that records the APIC id of the processor it runs on.
unsafe extern "system" fn record_apic_id(
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
    if let Some(slot) = usize::try_from(cpu).ok().and_then(|i| APIC_IDS.get(i)) {
        slot.store(apic, Ordering::SeqCst);
    }
}

/// Builds and publishes the table (`DllInitialize`, PASSIVE_LEVEL). Failures leave processors
/// unidentified and are logged.
pub(super) fn identify() {
    let kernel = Kernel;
    let count = kernel.active_processor_count();
    let madt = match bios_area().map(|area| acpi::read_madt(&Mapped, &area, BIOS_AREA)) {
        Some(Ok(madt)) => Some(madt),
        Some(Err(_)) => {
            export::debug_message(DebugLevel::Error, "SystemInitialize", b"no MADT\n", &[]);
            None
        }
        None => None,
    };
    let dpcs = DPCS.0.get().cast::<[u64; 8]>();
    let identified = usize::try_from(count).unwrap_or(0).min(MAX_PROCESSORS);
    for index in 0..identified {
        let dpc = dpcs.wrapping_add(index).cast::<c_void>();
        let Some(mut number) = kernel.processor_number(u32::try_from(index).unwrap_or(u32::MAX))
        else {
            continue;
        };
        // SAFETY: our static KDPC storage, PASSIVE_LEVEL, nothing queued yet.
        unsafe { ntddk::routines::KeInitializeDpc(dpc, record_apic_id, core::ptr::null_mut()) };
        // SAFETY: an initialised, unqueued DPC and a processor the kernel named.
        let _status =
            unsafe { ntddk::routines::KeSetTargetProcessorDpcEx(dpc.cast(), &raw mut number) };
        // SAFETY: as above.
        let _queued = unsafe {
            ntddk::routines::KeInsertQueueDpc(dpc, core::ptr::null_mut(), core::ptr::null_mut())
        };
    }
    // SAFETY: PASSIVE_LEVEL: every DPC above has run when this returns.
    unsafe { ntddk::routines::KeFlushQueuedDpcs() };
    let Ok(mut table) = ProcessorTable::new(count) else {
        return;
    };
    for (cpu, slot) in (0..count).zip(APIC_IDS.iter()) {
        let apic = slot.load(Ordering::SeqCst);
        if apic == UNKNOWN {
            continue;
        }
        let _action = table.on_change(cpu, ProcessorChangeState::AddComplete);
        if table.identify(cpu, apic, madt.as_ref()).is_err() {
            export::debug_message(
                DebugLevel::Error,
                "SystemInitialize",
                b"processor %u (APIC id %u): no vCPU id\n",
                &[LogArg::Int(u64::from(cpu)), LogArg::Int(u64::from(apic))],
            );
        }
    }
    let previous = TABLE.write().replace(table);
    drop(previous);
}

/// Frees the table (`DllUnload`, and a failed `DllInitialize`).
pub(super) fn forget() {
    let table = TABLE.write().take();
    drop(table);
}

/// `SystemProcessorVcpuId`'s answer.
pub(super) fn vcpu_id(cpu: u32) -> Result<u32, ntstatus::NtStatus> {
    TABLE
        .read()
        .as_ref()
        .ok_or(ntstatus::STATUS_NOT_SUPPORTED)
        .and_then(|table| table.vcpu_id(cpu).map_err(system::ProcessorError::ntstatus))
}
