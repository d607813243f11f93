// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The `vcpu_info` area: upstream's `RegisterVcpuInfo` policy (`SystemInitialize`) and the
//! named pages behind it (`SystemAllocateVcpuInfo`, `DriverGetNamedPages` and
//! `DriverPutNamedPages` in `src/xen/driver.c`).
//!
//! * The policy is read from `XEN\Parameters\RegisterVcpuInfo` and decided by
//!   [`system::vcpu_info_policy`] for the maximum processor count.
//! * With registration on, the three pages are named by the volatile `XEN\Memory` values
//!   `VCPU_INFO_0..2` ([`system::load_named_pages`]): all present, they are the pages a previous
//!   load of xen.sys registered with Xen and are reused (Xen may still write to them); one
//!   missing, fresh pages come from `MmAllocatePagesForMdlEx(0, ~0, 0, 3 pages, MmCached,
//!   MM_ALLOCATE_FULLY_REQUIRED)` (resolved at run time: Wine lacks it), their PFNs are stored
//!   ([`system::store_named_pages`]) and the kernel's MDL is freed; the pages never are
//!   (Xen writes to them for the life of the domain). A failure fails the load, as upstream's.
//! * The pages are described by an MDL of our own (`MDL_PAGES_LOCKED`) and mapped with
//!   `MmMapLockedPagesSpecifyCache(KernelMode, MmCached)`; `DllUnload` unmaps them with
//!   `MmUnmapLockedPages` and frees the MDL (upstream's `DriverPutNamedPages`).
//!
//! The per-processor registration itself runs in each processor's DPC
//! ([`super::processors`]).

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering};

use ntddk::MDL;

use crate::export::{DebugLevel, debug_message};
use crate::log::LogArg;
use crate::registry::{RegistryError, Value};
use crate::system::{self, NamedPages, PolicySource, VcpuInfoPolicy, VcpuInfoSlot};

use super::platform::{MemoryRegistry, read_parameter};

/// Whether registration is on (decided at `DllInitialize`).
static REGISTER: AtomicBool = AtomicBool::new(false);
/// The processor count the policy was decided for.
static COUNT: AtomicU32 = AtomicU32::new(0);
/// The `RegisterVcpuInfo` value that decided it, if one did.
static FROM_REGISTRY: AtomicBool = AtomicBool::new(false);
/// That value.
static REGISTRY_VALUE: AtomicU32 = AtomicU32::new(0);
/// The mapped area (NULL: none).
static AREA: AtomicPtr<u8> = AtomicPtr::new(core::ptr::null_mut());
/// Our MDL describing the pages (pool; NULL: none).
static AREA_MDL: AtomicPtr<MDL> = AtomicPtr::new(core::ptr::null_mut());
/// The pages' frame numbers.
static PFNS: [AtomicU64; system::VCPU_INFO_PAGES] =
    [const { AtomicU64::new(0) }; system::VCPU_INFO_PAGES];

/// The policy in force (registration off until [`initialize`] decided it and mapped the area).
pub(super) fn policy() -> VcpuInfoPolicy {
    VcpuInfoPolicy {
        register: REGISTER.load(Ordering::Acquire) && !AREA.load(Ordering::Acquire).is_null(),
        source: if FROM_REGISTRY.load(Ordering::Acquire) {
            PolicySource::Registry(REGISTRY_VALUE.load(Ordering::Acquire))
        } else {
            PolicySource::Default
        },
        processor_count: COUNT.load(Ordering::Acquire),
    }
}

/// The mapped `vcpu_info` of `slot`, if the area is mapped.
pub(super) fn vcpu_info(slot: VcpuInfoSlot) -> Option<*mut c_void> {
    let area = AREA.load(Ordering::Acquire);
    (!area.is_null() && slot.area_offset < system::VCPU_INFO_AREA_SIZE)
        .then(|| area.wrapping_add(slot.area_offset).cast())
}

/// The "registered" flag of `slot` (false without an area).
pub(super) fn flag(slot: VcpuInfoSlot) -> bool {
    let area = AREA.load(Ordering::Acquire);
    if area.is_null() || slot.registered_offset >= system::VCPU_INFO_AREA_SIZE {
        return false;
    }
    // SAFETY: inside the mapped area (checked); a byte only registration writes.
    unsafe { area.wrapping_add(slot.registered_offset).read_volatile() != 0 }
}

/// Sets the "registered" flag of `slot`.
pub(super) fn set_flag(slot: VcpuInfoSlot) {
    let area = AREA.load(Ordering::Acquire);
    if area.is_null() || slot.registered_offset >= system::VCPU_INFO_AREA_SIZE {
        return;
    }
    // SAFETY: inside the mapped area (checked); each processor writes only its own flag.
    unsafe { area.wrapping_add(slot.registered_offset).write_volatile(1) };
}

/// The frame number of page `page` of the area.
pub(super) fn pfn(page: usize) -> Option<u64> {
    PFNS.get(page).map(|p| p.load(Ordering::Acquire))
}

/// Logs a failure as upstream's `Error("failN (...)")`.
fn fail(function: &str, what: &[u8], status: ntstatus::NtStatus) -> ntstatus::NtStatus {
    debug_message(
        DebugLevel::Error,
        function,
        what,
        &[LogArg::Int(u64::from(status.cast_unsigned()))],
    );
    status
}

/// Allocates fresh pages and stores their PFNs (upstream's `__DriverAllocatePfnArray`).
fn allocate(max_pfn: Option<u64>) -> Result<Vec<u64>, ntstatus::NtStatus> {
    let routine = platform_windows::system_routine("MmAllocatePagesForMdlEx");
    if routine.is_null() {
        return Err(fail(
            "DriverGetNamedPages",
            b"MmAllocatePagesForMdlEx not found (%08x)\n",
            ntstatus::STATUS_NOT_SUPPORTED,
        ));
    }
    // SAFETY: the kernel's `MmAllocatePagesForMdlEx`, whose signature this is.
    let allocate = unsafe {
        core::mem::transmute::<*mut c_void, ntddk::routines::MmAllocatePagesForMdlExFn>(routine)
    };
    let bytes = system::VCPU_INFO_PAGES.saturating_mul(system::PAGE_SIZE);
    // SAFETY: PASSIVE_LEVEL; the whole physical range, whole pages.
    let mdl = unsafe {
        allocate(
            0,
            -1,
            0,
            bytes,
            ntddk::MmCached,
            ntddk::MM_ALLOCATE_FULLY_REQUIRED,
        )
    };
    if mdl.is_null() {
        return Err(fail(
            "DriverGetNamedPages",
            b"fail1 (%08x)\n",
            ntstatus::STATUS_NO_MEMORY,
        ));
    }
    // SAFETY: the MDL the kernel just built; its header is readable.
    let byte_count = unsafe { (*mdl).ByteCount };
    let mut pfns = Vec::new();
    if usize::try_from(byte_count).is_ok_and(|b| b >= bytes)
        && pfns.try_reserve_exact(system::VCPU_INFO_PAGES).is_ok()
    {
        let array = mdl.wrapping_add(1).cast::<u64>();
        for index in 0..system::VCPU_INFO_PAGES {
            // SAFETY: the MDL's PFN array follows its header and holds one entry per page of
            // `ByteCount`, at least `VCPU_INFO_PAGES` (checked).
            pfns.push(unsafe { array.wrapping_add(index).read_unaligned() });
        }
    }
    let stored = if pfns.len() == system::VCPU_INFO_PAGES
        && pfns.iter().all(|&p| max_pfn.is_none_or(|max| p <= max))
    {
        system::store_named_pages(&MemoryRegistry, system::VCPU_INFO_NAME, &pfns)
            .map_err(|(_, e)| crate::export::registry_status(e))
    } else {
        Err(ntstatus::STATUS_UNSUCCESSFUL)
    };
    if let Err(status) = stored {
        // The pages go back when the kernel has the routine; otherwise they stay lost.
        let free = platform_windows::system_routine("MmFreePagesFromMdl");
        if !free.is_null() {
            // SAFETY: the kernel's `MmFreePagesFromMdl`, whose signature this is.
            let free = unsafe {
                core::mem::transmute::<*mut c_void, ntddk::routines::MmFreePagesFromMdlFn>(free)
            };
            // SAFETY: the MDL `MmAllocatePagesForMdlEx` built, its pages unused.
            unsafe { free(mdl) };
        }
        // SAFETY: the kernel's MDL, freed once.
        unsafe { ntddk::routines::ExFreePool(mdl.cast()) };
        return Err(fail("DriverGetNamedPages", b"fail3 (%08x)\n", status));
    }
    // SAFETY: the kernel's MDL, no longer used (its pages are ours now), freed once.
    unsafe { ntddk::routines::ExFreePool(mdl.cast()) };
    Ok(pfns)
}

/// The 8-byte words our MDL takes: the header, then one PFN per page.
const MDL_WORDS: usize = (size_of::<MDL>() + system::VCPU_INFO_PAGES * size_of::<u64>()) / 8;
const _: () = assert!(size_of::<MDL>().is_multiple_of(8));

/// Frees our MDL.
///
/// # Safety
/// `mdl` came from [`map`]'s allocation, is not mapped and not used afterwards.
unsafe fn free_mdl(mdl: *mut MDL) {
    let block = core::ptr::slice_from_raw_parts_mut(mdl.cast::<u64>(), MDL_WORDS);
    // SAFETY: the caller's contract: the boxed slice `map` leaked, with this length.
    drop(unsafe { Box::from_raw(block) });
}

/// Maps `pfns` through an MDL of our own (upstream's `DriverGetNamedPages`).
fn map(pfns: &[u64]) -> Result<(), ntstatus::NtStatus> {
    let size = MDL_WORDS.saturating_mul(8);
    let (Ok(mdl_size), Ok(byte_count), true) = (
        i16::try_from(size),
        u32::try_from(pfns.len().saturating_mul(system::PAGE_SIZE)),
        pfns.len() == system::VCPU_INFO_PAGES,
    ) else {
        return Err(ntstatus::STATUS_UNSUCCESSFUL);
    };
    let mut words: Vec<u64> = Vec::new();
    if words.try_reserve_exact(MDL_WORDS).is_err() {
        return Err(fail(
            "DriverGetNamedPages",
            b"fail1 (%08x)\n",
            ntstatus::STATUS_NO_MEMORY,
        ));
    }
    words.resize(MDL_WORDS, 0);
    // Non-paged pool (the image's allocator), 8-byte aligned, freed by `free_mdl`.
    let mdl = Box::into_raw(words.into_boxed_slice()).cast::<MDL>();
    let header = MDL {
        Next: core::ptr::null_mut(),
        Size: mdl_size,
        MdlFlags: ntddk::MDL_PAGES_LOCKED,
        Process: core::ptr::null_mut(),
        MappedSystemVa: core::ptr::null_mut(),
        StartVa: core::ptr::null_mut(),
        ByteCount: byte_count,
        ByteOffset: 0,
    };
    // SAFETY: a fresh, zeroed pool block of `size` bytes, more than the header.
    unsafe { mdl.write_unaligned(header) };
    let array = mdl.wrapping_add(1).cast::<u64>();
    for (index, &pfn) in pfns.iter().enumerate() {
        // SAFETY: entry `index` of the PFN array inside the block (`size` counts them all).
        unsafe { array.wrapping_add(index).write_unaligned(pfn) };
    }
    // SAFETY: PASSIVE_LEVEL; an MDL describing locked pages that stay ours.
    let va = unsafe {
        ntddk::routines::MmMapLockedPagesSpecifyCache(
            mdl,
            ntddk::KernelMode,
            ntddk::MmCached,
            core::ptr::null_mut(),
            0,
            ntddk::NormalPagePriority.cast_unsigned(),
        )
    };
    if va.is_null() {
        // SAFETY: our MDL, never mapped, freed once.
        unsafe { free_mdl(mdl) };
        return Err(fail(
            "DriverGetNamedPages",
            b"fail3 (%08x)\n",
            ntstatus::STATUS_UNSUCCESSFUL,
        ));
    }
    for (slot, &pfn) in PFNS.iter().zip(pfns) {
        slot.store(pfn, Ordering::Release);
        debug_message(
            DebugLevel::Info,
            "DriverGetNamedPages",
            b"%s %p\n",
            &[
                LogArg::Str(Some(system::VCPU_INFO_NAME.as_bytes())),
                LogArg::Int(pfn),
            ],
        );
    }
    AREA_MDL.store(mdl, Ordering::Release);
    AREA.store(va.cast(), Ordering::Release);
    Ok(())
}

/// Decides the policy and, with registration on, gets and maps the named pages (`DllInitialize`,
/// PASSIVE_LEVEL, before the processor-change callback is registered).
///
/// # Errors
/// Why the pages could not be had (upstream's `SystemAllocateVcpuInfo` failing).
pub(super) fn initialize(count: u32, max_pfn: Option<u64>) -> Result<(), ntstatus::NtStatus> {
    let mut read: Result<(u32, Vec<u8>), RegistryError> = Err(RegistryError::NotFound);
    let outcome = read_parameter(system::REGISTER_VCPU_INFO, &mut |v| {
        let mut data = Vec::new();
        if data.try_reserve_exact(v.data.len()).is_ok() {
            data.extend_from_slice(v.data);
            read = Ok((v.kind, data));
        }
    });
    let read = outcome.and(read);
    let policy = system::vcpu_info_policy(
        read.as_ref()
            .map(|(kind, data)| Value::new(*kind, data))
            .map_err(|e| *e),
        count,
    );
    debug_message(
        DebugLevel::Info,
        "SystemInitialize",
        b"RegisterVcpuInfo = %s\n",
        &[LogArg::Str(Some(if policy.register {
            &b"TRUE"[..]
        } else {
            &b"FALSE"[..]
        }))],
    );
    if policy.leaves_processors_without_vcpu_info() {
        debug_message(
            DebugLevel::Warning,
            "SystemInitialize",
            b"%u processors but no vcpu_info registration: those beyond 32 have no vcpu_info\n",
            &[LogArg::Int(u64::from(count))],
        );
    }
    COUNT.store(count, Ordering::Release);
    if let PolicySource::Registry(value) = policy.source {
        REGISTRY_VALUE.store(value, Ordering::Release);
        FROM_REGISTRY.store(true, Ordering::Release);
    }
    if !policy.register {
        return Ok(());
    }
    let pfns = match system::load_named_pages(
        &MemoryRegistry,
        system::VCPU_INFO_NAME,
        system::VCPU_INFO_PAGES,
        max_pfn,
    ) {
        Ok(NamedPages::Reuse(pfns)) => pfns,
        Ok(NamedPages::Allocate) => allocate(max_pfn)?,
        Err(_) => {
            return Err(fail(
                "DriverGetNamedPages",
                b"fail2 (%08x)\n",
                ntstatus::STATUS_UNSUCCESSFUL,
            ));
        }
    };
    map(&pfns)?;
    REGISTER.store(true, Ordering::Release);
    Ok(())
}

/// Unmaps the area and frees our MDL (`DllUnload`, a failed `DllInitialize`); the pages stay
/// Xen's.
pub(super) fn teardown() {
    REGISTER.store(false, Ordering::Release);
    COUNT.store(0, Ordering::Release);
    FROM_REGISTRY.store(false, Ordering::Release);
    REGISTRY_VALUE.store(0, Ordering::Release);
    let va = AREA.swap(core::ptr::null_mut(), Ordering::AcqRel);
    let mdl = AREA_MDL.swap(core::ptr::null_mut(), Ordering::AcqRel);
    if !va.is_null() && !mdl.is_null() {
        // SAFETY: the mapping `map` made of this MDL, no longer used, unmapped once.
        unsafe { ntddk::routines::MmUnmapLockedPages(va.cast(), mdl) };
    }
    if !mdl.is_null() {
        // SAFETY: our MDL, unmapped, freed once.
        unsafe { free_mdl(mdl) };
    }
    for slot in &PFNS {
        slot.store(0, Ordering::Release);
    }
}
