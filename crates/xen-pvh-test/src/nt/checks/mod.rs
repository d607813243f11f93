// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The checks of the stand-in's run: one `XTK-PASS:`/`XTK-FAIL:` line per checked property,
//! named `nt.<area>.<property>`.
//!
//! * [`loaded`]: what the loader made of the image (base, relocations, every import slot bound
//!   to the right routine, section rights, exports);
//! * [`after_initialize`]: what `DllInitialize` did to the kernel's state (registry keys,
//!   debugger filter, capture callback, pool routine resolved at run time, notify routines,
//!   with a process exit played to them: [`modules`]);
//! * [`exports`]: every export family called through the Microsoft x64 convention against the
//!   real hypervisor, in the spirit of `crates/xen-host/tests/c/xen_abi.c` (which makes the same
//!   calls against a fake), the results compared with what Xen itself reports
//!   ([`hypercalls`], [`log`], [`services`], the module list: [`modules`]);
//! * [`kernel_objects`]: the kernel routines xenbus.sys needs beyond xen.sys's — system threads,
//!   events, waits ([`threads`]), timers and time ([`timers`]), physical memory ([`memory`]) —
//!   called as a driver calls them, with callbacks in a synthetic driver image ([`ktest`]);
//! * [`io_and_pnp`]: the I/O manager, the PnP manager and the PCI bus driver's part, with a
//!   small WDM driver of the checks' own on the Xen platform device's PDO ([`iomgr`],
//!   [`iodrv`]);
//! * [`leaks`]: after `DllUnload`, nothing of the image's left in the kernel.

mod hypercalls;
mod iodrv;
mod iomgr;
mod ktest;
mod log;
mod memory;
mod modules;
pub mod rules;
mod services;
pub mod smp;
mod threads;
mod timers;
pub mod vcpu_info;
pub mod xenbus;
pub mod xenfilt;

use super::routines::{self, bugcheck, debug, dpc, pool, registry};
use super::xen_sys::Exports;
use super::{call_driver, hive, loader, verifier};
use crate::harness::check;
use crate::kprintln;
use alloc::vec::Vec;
use core::fmt::Write as _;
use pe_image::PeImage;

/// `DPFLTR_IHVDRIVER_ID`.
const IHVDRIVER: u32 = 77;

/// Calls a xen.sys export (at PASSIVE_LEVEL, checked to return there).
pub fn drv<T>(f: impl FnOnce() -> T) -> T {
    call_driver("xen.sys export", f)
}

/// Records a check comparing two values.
#[allow(clippy::needless_pass_by_value)] // Call sites pass fresh values.
pub fn eq<T: PartialEq + core::fmt::Debug>(name: &str, got: T, want: T) -> bool {
    let ok = got == want;
    check(name, ok, format_args!("got {got:?}, want {want:?}"))
}

/// Records a check of an NTSTATUS.
pub fn status(name: &str, got: i32, want: i32) -> bool {
    check(
        name,
        got == want,
        format_args!(
            "status {:#010x}, want {:#010x}",
            got.cast_unsigned(),
            want.cast_unsigned()
        ),
    )
}

/// Tampered copies of the image are refused with the defect named: an import renamed to a
/// routine the stand-in does not implement (checksum recomputed, so only the import is wrong),
/// and a stored checksum that no longer matches.
pub fn refusals(bytes: &[u8]) {
    let mut copy = bytes.to_vec();
    let to = b"ZwDeleteValueKez".as_slice();
    // The file offset of the import's name (its hint/name entry), found through the parser.
    let at = PeImage::parse(bytes).ok().and_then(|pe| {
        pe.imports().flatten().find_map(|d| {
            d.entries().flatten().find_map(|e| match e.import {
                pe_image::Import::Name { name, .. } if name == b"ZwDeleteValueKey" => {
                    name.as_ptr().addr().checked_sub(bytes.as_ptr().addr())
                }
                _ => None,
            })
        })
    });
    if let Some(slot) = at.and_then(|at| copy.get_mut(at..at.checked_add(to.len())?)) {
        slot.copy_from_slice(to);
    }
    let checksum_at = PeImage::parse(&copy).map(|p| p.checksum_offset()).ok();
    if let Some(at) = checksum_at {
        let sum = pe_image::pe_checksum(&copy, at);
        if let Some(field) = copy.get_mut(at..at.saturating_add(4)) {
            field.copy_from_slice(&sum.to_le_bytes());
        }
    }
    let refused = loader::load("xen.sys (import renamed)", &copy).err();
    check(
        "nt.loader.unknown_import_refused_by_name",
        at.is_some()
            && refused
                .as_ref()
                .is_some_and(|r| r.0.contains("ntoskrnl.exe!ZwDeleteValueKez")),
        format_args!("{refused:?}"),
    );
    if let Some(at) = checksum_at
        && let Some(byte) = copy.get_mut(at)
    {
        *byte ^= 0x55;
    }
    let refused = loader::load("xen.sys (checksum)", &copy).err();
    check(
        "nt.loader.bad_checksum_refused",
        refused.as_ref().is_some_and(|r| r.0.contains("CheckSum")),
        format_args!("{refused:?}"),
    );
}

/// An importer of xen.sys, as xenbus.sys is one: a synthetic driver image (`pe_image::builder`)
/// importing xen.sys exports by name binds to the loaded xen.sys's addresses, and one importing
/// a name xen.sys does not export is refused with that name. Loaded and unloaded again.
pub fn importer(xen: usize) {
    let build = |names: &[&str]| {
        pe_image::builder::ImageBuilder::driver()
            .import("ntoskrnl.exe", &["memset"])
            .import("xen.sys", names)
            .build()
    };
    let bytes = build(&["XenTouch", "LogPrintf"]);
    match loader::load("importer.sys", &bytes) {
        Ok(index) => {
            let image = loader::image(index);
            let pe = PeImage::parse(&bytes).ok();
            let slots: Vec<(alloc::string::String, u64)> = pe
                .iter()
                .flat_map(|pe| pe.imports().flatten().collect::<Vec<_>>())
                .filter(|d| d.dll_is("xen.sys"))
                .flat_map(|d| d.entries().flatten().collect::<Vec<_>>())
                .filter_map(|e| match e.import {
                    pe_image::Import::Name { name, .. } => {
                        let slot = image.as_ref()?.base.checked_add(u64::from(e.iat_rva))?;
                        let p =
                            core::ptr::with_exposed_provenance::<u64>(usize::try_from(slot).ok()?);
                        // SAFETY: the slot lies in the importer's mapped image.
                        let bound = unsafe { p.read_volatile() };
                        Some((
                            alloc::string::String::from_utf8_lossy(name).into_owned(),
                            bound,
                        ))
                    }
                    pe_image::Import::Ordinal(_) => None,
                })
                .collect();
            let right = slots
                .iter()
                .all(|(name, bound)| loader::export(xen, name) == Some(*bound));
            check(
                "nt.loader.importer_binds_export_driver",
                slots.len() == 2 && right,
                format_args!(
                    "{} xen.sys imports bound to xen.sys's exports: {right}",
                    slots.len()
                ),
            );
            loader::unload(index);
        }
        Err(refused) => {
            check(
                "nt.loader.importer_binds_export_driver",
                false,
                format_args!("{refused}"),
            );
        }
    }
    let refused = loader::load("importer.sys", &build(&["XenTouch", "NoSuchExport"])).err();
    check(
        "nt.loader.missing_export_refused_by_name",
        refused
            .as_ref()
            .is_some_and(|r| r.0.contains("xen.sys!NoSuchExport")),
        format_args!("{refused:?}"),
    );
}

/// The loader's work on image `index`, read back from the mapped image.
pub fn loaded(index: usize, bytes: &[u8]) {
    let Some(image) = loader::image(index) else {
        check("nt.loader.image", false, format_args!("no record"));
        return;
    };
    let Ok(pe) = PeImage::parse(bytes) else {
        check("nt.loader.image", false, format_args!("unparseable"));
        return;
    };
    let preferred = pe.optional_header().image_base;
    check(
        "nt.loader.fresh_base",
        image.base != preferred && image.base >= super::vm::IMAGE_REGION,
        format_args!("mapped at {:#x}, linked for {preferred:#x}", image.base),
    );
    check(
        "nt.loader.relocated",
        image.relocations > 0,
        format_args!("{} DIR64 fix-ups applied", image.relocations),
    );
    let mut slots = 0usize;
    let mut wrong = Vec::new();
    for descriptor in pe.imports().flatten() {
        for entry in descriptor.entries().flatten() {
            let pe_image::Import::Name { name, .. } = entry.import else {
                continue;
            };
            let name = core::str::from_utf8(name).unwrap_or("?");
            let slot = image.base + u64::from(entry.iat_rva);
            let p = core::ptr::with_exposed_provenance::<u64>(usize::try_from(slot).unwrap_or(0));
            // SAFETY: the slot lies in the mapped image (checked by the loader), readable.
            let bound = unsafe { p.read_volatile() };
            slots += 1;
            if routines::lookup(name).map(|r| r.address) != Some(bound) {
                wrong.push(alloc::string::String::from(name));
            }
        }
    }
    check(
        "nt.loader.imports_bound_by_name",
        slots == image.imports && slots > 0 && wrong.is_empty(),
        format_args!("{slots} slots, {} bound, wrong: {wrong:?}", image.imports),
    );
    let code = image.regions.iter().filter(|r| r.rights.execute).count();
    let wx = image
        .regions
        .iter()
        .filter(|r| r.rights.execute && r.rights.write)
        .count();
    check(
        "nt.loader.section_rights",
        code > 0 && wx == 0 && image.regions.iter().any(|r| r.rights.write),
        format_args!(
            "{} regions, {code} executable, {wx} writable and executable",
            image.regions.len()
        ),
    );
    check(
        "nt.loader.entry_point_in_code",
        image.entry != 0 && loader::is_loaded_code(image.entry),
        format_args!("{}", loader::Where(image.entry)),
    );
    eq(
        "nt.loader.export_table_names_xen_sys",
        image.export_name.as_deref(),
        Some("xen.sys"),
    );
    check(
        "nt.loader.exports",
        image.exports.len() >= super::xen_sys::NAMES.len(),
        format_args!("{} named exports", image.exports.len()),
    );
}

/// What `DllInitialize` left in the kernel (`xen`: xen.sys's image); `capture`: whether the
/// start options leave xen.sys's `DbgPrint` capture on.
pub fn after_initialize(xen: usize, capture: bool) {
    let keys = registry::with(|r| {
        let service = r.hive.find(super::SERVICE_KEY);
        let sub = |name: &str| service.and_then(|s| r.hive.subkey(s, &hive::wide(name)));
        let memory = sub("Memory");
        (
            sub("Parameters").is_some(),
            sub("Unplug").is_some(),
            sub("ForceUnplug").is_some(),
            memory.is_some(),
            memory
                .and_then(|m| r.hive.key(m))
                .is_some_and(|k| k.volatile),
        )
    })
    .unwrap_or_default();
    check(
        "nt.init.service_subkeys",
        keys.0 && keys.1 && keys.2 && keys.3,
        format_args!(
            "Parameters {}, Unplug {}, ForceUnplug {}, Memory {}",
            keys.0, keys.1, keys.2, keys.3
        ),
    );
    check(
        "nt.init.memory_key_volatile",
        keys.4,
        format_args!("XEN\\Memory created with REG_OPTION_VOLATILE"),
    );
    // Upstream's SystemInitialize registers one processor-change callback with
    // KE_PROCESSOR_CHANGE_ADD_EXISTING, which the kernel calls back for every processor.
    eq(
        "nt.init.processor_change_callback",
        (
            routines::ke::change_callbacks_in(xen),
            verifier::calls()
                .get("KeSetImportanceDpc")
                .copied()
                .unwrap_or(0),
        ),
        (1, u64::from(routines::ke::processors())),
    );
    eq(
        "nt.init.debug_filter_ihvdriver",
        debug::component_mask(IHVDRIVER) & 0xf,
        0xf,
    );
    // The debug-print capture: on unless the start options say `XEN:DBG_PRINT=OFF` (the
    // xenbus boot's do).
    eq(
        "nt.init.capture_callback_registered",
        debug::callback_count(),
        usize::from(capture),
    );
    // Upstream's BugCheckInitialize: one classic callback (KeRegisterBugCheckCallback), no
    // reason callback; DllUnload must remove it (`nt.unload.no_bug_check_callback`).
    eq(
        "nt.init.bug_check_callback_registered",
        bugcheck::registered(),
        (1, 0),
    );
    let calls = verifier::calls();
    let count = |name: &str| calls.get(name).copied().unwrap_or(0);
    check(
        "nt.init.pool2_resolved_at_run_time",
        count("MmGetSystemRoutineAddress") > 0
            && count("ExAllocatePool2") > 0
            && count("ExAllocatePoolWithTag") == 0,
        format_args!(
            "MmGetSystemRoutineAddress {}, ExAllocatePool2 {}, ExAllocatePoolWithTag {}",
            count("MmGetSystemRoutineAddress"),
            count("ExAllocatePool2"),
            count("ExAllocatePoolWithTag")
        ),
    );
    modules::after_initialize(xen);
}

/// `MmGetSystemRoutineAddress` as a driver would call it.
fn system_routine(name: &str) -> u64 {
    let mut units: Vec<u16> = name.encode_utf16().collect();
    let mut string = super::unicode_string(&mut units);
    let entry = routines::lookup("MmGetSystemRoutineAddress").map_or(0, |r| r.address);
    // SAFETY: the stand-in's MmGetSystemRoutineAddress entry.
    let f = unsafe {
        core::mem::transmute::<usize, unsafe extern "win64" fn(*mut ntddk::UNICODE_STRING) -> usize>(
            usize::try_from(entry).unwrap_or(0),
        )
    };
    // SAFETY: a valid UNICODE_STRING over `units`, which outlives the call.
    drv(|| unsafe { f(&raw mut string) }) as u64
}

/// The stand-in's own routines that the current xen.sys does not import yet, called as a
/// driver would, through `MmGetSystemRoutineAddress` (which answers from the table the loader
/// binds with).
fn kernel_routines(vcpus: u32) {
    let count = system_routine("KeQueryActiveProcessorCountEx");
    check(
        "nt.kernel.system_routine_address",
        count != 0
            && routines::lookup("KeQueryActiveProcessorCountEx").map(|r| r.address) == Some(count),
        format_args!("KeQueryActiveProcessorCountEx at {count:#x}"),
    );
    eq(
        "nt.kernel.unknown_routine_is_null",
        system_routine("NoSuchRoutine"),
        0,
    );
    check(
        "nt.kernel.data_export",
        system_routine("KiBugCheckData") == (&raw const bugcheck::KI_BUG_CHECK_DATA).addr() as u64,
        format_args!("KiBugCheckData is a variable of the table"),
    );
    init_safe_boot_mode();
    // SAFETY: the routine's entry, `ULONG (USHORT GroupNumber)`.
    let f = unsafe {
        core::mem::transmute::<usize, unsafe extern "win64" fn(u16) -> u32>(
            usize::try_from(count).unwrap_or(0),
        )
    };
    // SAFETY: ALL_PROCESSOR_GROUPS; no pointers.
    eq(
        "nt.kernel.active_processors",
        drv(|| unsafe { f(0xffff) }),
        vcpus,
    );
    let mut info = [0u8; size_of::<ntddk::RTL_OSVERSIONINFOEXW>()];
    let size = u32::try_from(info.len()).unwrap_or(0);
    if let Some(head) = info.get_mut(..4) {
        head.copy_from_slice(&size.to_le_bytes());
    }
    let version = system_routine("RtlGetVersion");
    // SAFETY: the routine's entry, `NTSTATUS (PRTL_OSVERSIONINFOW)`.
    let f = unsafe {
        core::mem::transmute::<usize, unsafe extern "win64" fn(*mut u8) -> i32>(
            usize::try_from(version).unwrap_or(0),
        )
    };
    // SAFETY: a zeroed RTL_OSVERSIONINFOEXW with its size set.
    let s = drv(|| unsafe { f(info.as_mut_ptr()) });
    let word = |at: usize| {
        info.get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, u32::from_le_bytes)
    };
    check(
        "nt.kernel.rtl_get_version",
        s == 0 && (word(4), word(8), word(12)) == (10, 0, 19045),
        format_args!(
            "status {:#x}, {}.{}.{}",
            s.cast_unsigned(),
            word(4),
            word(8),
            word(12)
        ),
    );
}

/// The `InitSafeBootMode` variable: bound (by the table and through
/// `MmGetSystemRoutineAddress`) to the kernel's `ULONG`, 0 (a normal boot), and what a scenario
/// sets with `routines::set_safe_boot_mode` is what a driver's data import reads.
fn init_safe_boot_mode() {
    let variable = (&raw const routines::INIT_SAFE_BOOT_MODE).addr() as u64;
    let bound = routines::lookup("InitSafeBootMode");
    let at = bound.map_or(0, |r| r.address);
    let read = || {
        let p = core::ptr::with_exposed_provenance::<u32>(usize::try_from(at).unwrap_or(0));
        // SAFETY: `at` is the kernel's `InitSafeBootMode` (checked before each read), a
        // static `ULONG`.
        unsafe { p.read_volatile() }
    };
    let right = at == variable && bound.is_some_and(|r| r.dll == "ntoskrnl.exe");
    let (normal, set, back) = if right {
        let normal = read();
        routines::set_safe_boot_mode(1);
        let set = read();
        routines::set_safe_boot_mode(0);
        (normal, set, read())
    } else {
        (u32::MAX, u32::MAX, u32::MAX)
    };
    check(
        "nt.kernel.init_safe_boot_mode",
        right && system_routine("InitSafeBootMode") == variable && (normal, set, back) == (0, 1, 0),
        format_args!(
            "ntoskrnl.exe!InitSafeBootMode at {at:#x} (the variable {variable:#x}): reads \
             {normal}, {set} after set_safe_boot_mode(1), {back} after set_safe_boot_mode(0)"
        ),
    );
}

/// Every export family against the real hypervisor (`xen`: xen.sys's image).
pub fn exports(e: &Exports, xen: usize) {
    kernel_routines(routines::ke::processors());
    hypercalls::run(e);
    log::run(e);
    services::run(e);
    modules::run(e, xen);
}

/// The kernel-object checks: threads, events, waits, timers, time, physical memory and remove
/// locks, run from `ktest.sys`; then nothing of theirs may be left.
pub fn kernel_objects() {
    let callbacks: Vec<(&str, usize)> = threads::callbacks()
        .into_iter()
        .chain(timers::callbacks())
        .chain(iomgr::callbacks())
        .collect();
    let Some(kt) = ktest::load(&callbacks) else {
        return;
    };
    threads::run(&kt);
    timers::run(&kt);
    // The I/O manager's remove locks, here because the removal that waits needs a system
    // thread of ktest.sys.
    drv(|| iomgr::remove_locks(&kt));
    memory::run();
    ktest::unload(&kt);
    let live = super::sched::live();
    let (blocks, maps, _) = routines::mm::counts();
    check(
        "nt.kernel_objects.nothing_left",
        live == super::sched::Live::default() && blocks == 0 && maps == 0,
        format_args!("{live:?}, {blocks} contiguous blocks, {maps} I/O mappings"),
    );
}

/// The I/O manager, PnP manager and PCI bus checks ([`iomgr`]) on the platform function among
/// `functions` (the HVM guest's bus; the PVH dom0's synthetic one when there is none), with the
/// checks' WDM driver ([`iodrv`]).
pub fn io_and_pnp(functions: &[xen_pvh_test::pci::Function]) {
    iomgr::run(functions);
}

/// The watchdog scenario: `XEN:WATCHDOG=` read back through xen.sys, armed, never patted.
pub fn watchdog(e: &Exports) {
    services::watchdog(e);
}

/// The bug-check scenario's code: `DRIVER_IRQL_NOT_LESS_OR_EQUAL`, which xen.sys's callback
/// decodes (so its dump shows that the parameters reached it through `KiBugCheckData`).
const BUG_CHECK_CODE: u32 = 0xD1;
/// Its parameters: memory referenced, IRQL, access (write), faulting address: `0x1234` bytes
/// into xen.sys (the first image, at `vm::IMAGE_REGION`), which the dump names from xen.sys's
/// module list (`ADDRESS: xen.sys + 0000000000001234`).
const BUG_CHECK_PARAMETERS: [usize; 4] = [0xFFFF_8000_0BAD_F00D, 2, 1, 0xFFFF_F806_1000_1234];

/// The bug-check scenario: a bug check with xen.sys's callbacks registered.
pub fn bug_check() {
    let (plain, reason) = bugcheck::registered();
    kprintln!("NT-BUGCHECK-CALLBACKS: {plain} plain, {reason} reason");
    bugcheck::expect_bug_check();
    let Some(entry) = routines::lookup("KeBugCheckEx") else {
        return;
    };
    // SAFETY: the stand-in's own KeBugCheckEx entry, called as the kernel's page-fault handler
    // would for a driver's write at DISPATCH_LEVEL; it does not return.
    let f = unsafe {
        core::mem::transmute::<usize, extern "win64" fn(u32, usize, usize, usize, usize) -> !>(
            usize::try_from(entry.address).unwrap_or(0),
        )
    };
    let [p1, p2, p3, p4] = BUG_CHECK_PARAMETERS;
    f(BUG_CHECK_CODE, p1, p2, p3, p4);
}

/// What the I/O manager would hold for image `index`: device objects, IRPs, work items,
/// connected interrupts, remove-lock acquisitions (on its locks, or by its code).
fn io_leaks(index: usize) {
    let io = [
        (
            "nt.unload.no_device_object",
            routines::io::devices_created_in(index),
        ),
        (
            "nt.unload.no_irp_allocated",
            routines::irp::outstanding(index),
        ),
        (
            "nt.unload.no_work_item_allocated",
            routines::work::outstanding(index),
        ),
        (
            "nt.unload.no_interrupt_connected",
            routines::interrupt::connected_in(index),
        ),
        (
            "nt.unload.no_remove_lock_held",
            routines::remove_lock::outstanding(index),
        ),
    ];
    for (name, left) in io {
        check(
            name,
            left.is_empty(),
            format_args!(
                "{} left{}",
                left.len(),
                left.first()
                    .map(|&(a, c)| alloc::format!(", {a:#x} from {}", loader::Where(c)))
                    .unwrap_or_default()
            ),
        );
    }
}

/// What image `index` may not leave registered or mapped: bug-check, processor-change and
/// callback-object callbacks, locked-page mappings.
fn callback_leaks(index: usize) {
    let records = bugcheck::records_in(index);
    check(
        "nt.unload.no_bug_check_callback",
        records.is_empty(),
        format_args!("{} registered", records.len()),
    );
    let changes = routines::ke::change_callbacks_in(index);
    check(
        "nt.unload.no_processor_change_callback",
        changes == 0,
        format_args!("{changes} registered"),
    );
    let registered = routines::callback::registered_in(index);
    check(
        "nt.unload.no_callback_object_registration",
        registered == 0,
        format_args!("{registered} ExRegisterCallback registrations left"),
    );
    let locked = routines::mm::locked_mappings_in(index);
    check(
        "nt.unload.no_locked_pages_mapped",
        locked == 0,
        format_args!("{locked} MmMapLockedPagesSpecifyCache mappings left"),
    );
}

/// The unload audit's DMA part: nothing outstanding on any adapter (`crate::nt::dma`).
fn dma_leaks() {
    let dma = crate::nt::dma::outstanding();
    check(
        "nt.unload.no_dma_outstanding",
        dma.is_empty(),
        format_args!(
            "{} DMA adapters, common buffers, scatter/gather lists, channels or map registers \
             held (any driver's): {dma:?}",
            dma.len()
        ),
    );
}

/// After `DllUnload`: nothing of image `index` left behind.
pub fn leaks(index: usize) {
    let blocks = pool::outstanding(index);
    check(
        "nt.unload.no_pool_leaked",
        blocks.is_empty(),
        format_args!(
            "{} blocks held{}",
            blocks.len(),
            blocks
                .iter()
                .take(4)
                .fold(alloc::string::String::new(), |mut out, (a, b)| {
                    let _ = write!(
                        out,
                        "; {a:#x}: {} bytes tag {} from {}",
                        b.size,
                        pool::Tag(b.tag),
                        loader::Where(b.caller)
                    );
                    out
                })
        ),
    );
    let handles = registry::handles_in(index);
    check(
        "nt.unload.no_registry_handle_leaked",
        handles.is_empty(),
        format_args!(
            "{} open: {:?}",
            handles.len(),
            handles
                .iter()
                .map(|(v, h)| alloc::format!(
                    "{v:#x} {} from {}",
                    registry::with(|r| r.hive.path(h.key)).unwrap_or_default(),
                    loader::Where(h.caller)
                ))
                .collect::<Vec<_>>()
        ),
    );
    dma_leaks();
    let dpcs = dpc::queued_in(index);
    check(
        "nt.unload.no_dpc_queued",
        dpcs.is_empty(),
        format_args!("{} queued", dpcs.len()),
    );
    let callbacks = debug::callbacks_in(index);
    check(
        "nt.unload.no_debug_print_callback",
        callbacks.is_empty(),
        format_args!("{} registered", callbacks.len()),
    );
    let notify = routines::ps::routines_in(index);
    check(
        "nt.unload.no_notify_routine",
        notify.is_empty(),
        format_args!("{} registered", notify.len()),
    );
    callback_leaks(index);
    io_leaks(index);
    let names = [
        "nt.unload.no_thread_running",
        "nt.unload.no_thread_handle_open",
        "nt.unload.no_object_reference_held",
        "nt.unload.no_timer_queued",
        "nt.unload.no_contiguous_memory_held",
        "nt.unload.no_io_space_mapped",
    ];
    let found = super::sched::leftovers_in(index)
        .into_iter()
        .chain(routines::mm::leftovers_in(index));
    for (name, (what, items)) in names.into_iter().zip(found) {
        check(
            name,
            items.is_empty(),
            format_args!(
                "{} {what}{}",
                items.len(),
                items
                    .iter()
                    .take(4)
                    .fold(alloc::string::String::new(), |mut out, i| {
                        let _ = write!(out, "; {i}");
                        out
                    })
            ),
        );
    }
    check(
        "nt.unload.unmapped",
        loader::image(index).is_some_and(|i| !i.loaded && !loader::is_loaded_code(i.entry)),
        format_args!("the image's pages are unmapped"),
    );
}
