// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! xen.sys's module list and process hint (upstream's `module.c` and `process.c`), from the
//! kernel's side and through its `ModuleLookup` export:
//!
//! * [`after_initialize`] (every scenario): `DllInitialize` registered one process and one
//!   load-image notify routine and asked for `PsGetProcessImageFileName`; a process's creation
//!   and exit played to the process routine run without a broken rule (the exit raises to
//!   `DISPATCH_LEVEL`, reads `CR3` and makes the `HVMOP_pagetable_dying` hypercall, whose
//!   answer xen.sys ignores) and return at `PASSIVE_LEVEL`;
//! * [`run`] (the export scenario): the stand-in's own `SystemModuleInformation` answer (the
//!   listing xen.sys read), read back with xen.sys's portable parser; `ModuleLookup` of an
//!   address in xen.sys, in the stand-in's `ntoskrnl.exe`, in an image loaded after xen.sys
//!   (named from its load notification, lower-cased), outside every module, and at
//!   `HIGH_LEVEL` as the bug-check callback calls it.
//!
//! That nothing stays registered after `DllUnload` is `nt.unload.no_notify_routine`
//! (`super::leaks`).

use super::{drv, eq, status};
use crate::harness::check;
use crate::nt::routines::{self, ps};
use crate::nt::verifier::{self, HIGH_LEVEL, PASSIVE_LEVEL};
use crate::nt::xen_sys::Exports;
use crate::nt::{loader, own_image};
use alloc::string::String;
use alloc::vec::Vec;
use ntstatus::{STATUS_INFO_LENGTH_MISMATCH, STATUS_INVALID_INFO_CLASS, STATUS_SUCCESS};

/// `ZwQuerySystemInformation` as a driver's import slot holds it.
type QuerySystemInformation = unsafe extern "win64" fn(i32, *mut u8, u32, *mut u32) -> i32;
/// `PsGetProcessImageFileName`, likewise.
type ImageFileName = unsafe extern "win64" fn(usize) -> *const u8;

/// The stand-in's routine `name`, as an address.
fn entry(name: &str) -> usize {
    routines::lookup(name)
        .and_then(|r| usize::try_from(r.address).ok())
        .unwrap_or(0)
}

/// What `DllInitialize` registered, and a process exit played to it; `xen` is xen.sys's image.
pub fn after_initialize(xen: usize) {
    eq(
        "nt.init.notify_routines_registered",
        ps::registered_in(xen),
        (1, 1),
    );
    check(
        "nt.init.process_image_file_name_resolved",
        routines::asked("PsGetProcessImageFileName"),
        format_args!("MmGetSystemRoutineAddress asked for PsGetProcessImageFileName"),
    );
    let (before, _) = ps::notifications();
    let called = ps::process_exit();
    let (after, _) = ps::notifications();
    check(
        "nt.process.exit_notified",
        called == 1 && after.wrapping_sub(before) == 2 && verifier::irql() == PASSIVE_LEVEL,
        format_args!(
            "{called} routine called with process {:#x}'s creation and exit ({} calls), back at \
             IRQL {}",
            ps::SIMULATED_PROCESS_ID,
            after.wrapping_sub(before),
            verifier::irql()
        ),
    );
    // SAFETY: the stand-in's PsGetProcessImageFileName entry, in the Microsoft x64 convention.
    let f =
        unsafe { core::mem::transmute::<usize, ImageFileName>(entry("PsGetProcessImageFileName")) };
    let system = (&raw const ps::SYSTEM_PROCESS).addr();
    // SAFETY: the System process object.
    let name = drv(|| unsafe { f(system) });
    // SAFETY: NULL or a NUL-terminated name inside the process object.
    let text = unsafe { c_text(name.cast()) };
    check(
        "nt.process.image_file_name",
        text.as_deref() == Some(b"System"),
        format_args!(
            "System's process object: {:?}",
            text.as_deref().map(String::from_utf8_lossy)
        ),
    );
}

/// A copy of the NUL-terminated text at `text`, `None` for NULL.
///
/// # Safety
/// `text` is NULL or points at a NUL-terminated string readable for the call.
unsafe fn c_text(text: *const u8) -> Option<Vec<u8>> {
    if text.is_null() {
        return None;
    }
    // SAFETY: non-NULL and NUL-terminated (the caller's contract).
    Some(
        unsafe { core::ffi::CStr::from_ptr(text.cast()) }
            .to_bytes()
            .to_vec(),
    )
}

/// `ModuleLookup(address)` through the Microsoft x64 convention: the name (copied) and offset.
fn lookup(e: &Exports, address: usize) -> (Option<Vec<u8>>, usize) {
    let mut name = core::ptr::null::<u8>();
    let mut offset = usize::MAX;
    // SAFETY: both outputs are ours.
    unsafe { (e.module_lookup)(address, &raw mut name, &raw mut offset) };
    // SAFETY: NULL or xen.sys's stored NUL-terminated module name.
    let named = unsafe { c_text(name) };
    (named, offset)
}

/// Checks `ModuleLookup(address)` names `want` (`None`: outside every module, offset 0).
fn named(e: &Exports, check_name: &str, address: usize, want: Option<(&[u8], usize)>) -> bool {
    let (name, offset) = drv(|| lookup(e, address));
    let got = name.as_deref().map(|n| (n, offset));
    let ok = want.map_or_else(|| got.is_none() && offset == 0, |w| got == Some(w));
    check(
        check_name,
        ok,
        format_args!(
            "{address:#x}: name {:?}, offset {offset:#x}; want {:?}",
            name.as_deref().map(String::from_utf8_lossy),
            want.map(|(n, o)| (String::from_utf8_lossy(n), o))
        ),
    )
}

/// The module-list checks of the export scenario; `xen` is xen.sys's image.
pub fn run(e: &Exports, xen: usize) {
    system_module_information(xen);
    let Some(image) = loader::image(xen) else {
        check("nt.module.lookup_xen_sys", false, format_args!("no image"));
        return;
    };
    let base = usize::try_from(image.base).unwrap_or(0);
    let size = usize::try_from(image.size).unwrap_or(0);
    let export = e.module_lookup as usize;
    named(
        e,
        "nt.module.lookup_xen_sys",
        export,
        Some((b"xen.sys", export.wrapping_sub(base))),
    );
    named(
        e,
        "nt.module.lookup_xen_sys_last_byte",
        base + size - 1,
        Some((b"xen.sys", size - 1)),
    );
    let (start, _) = own_image();
    let routine = entry("KeBugCheckEx");
    named(
        e,
        "nt.module.lookup_ntoskrnl",
        routine,
        Some((
            b"ntoskrnl.exe",
            routine.wrapping_sub(usize::try_from(start).unwrap_or(0)),
        )),
    );
    // Just past xen.sys (the next image slot, whose image was unloaded before xen.sys's
    // listing), low memory below the stand-in, and the top of the address space.
    for (name, address) in [
        ("nt.module.lookup_past_xen_sys", base + size),
        ("nt.module.lookup_low_memory", 0x1000),
        ("nt.module.lookup_top", usize::MAX),
    ] {
        named(e, name, address, None);
    }
    // At HIGH_LEVEL, as the bug-check callback looks up: the same answer, no pool touched (the
    // stand-in's pool refuses non-paged pool above DISPATCH_LEVEL).
    verifier::set_irql(HIGH_LEVEL);
    let high = lookup(e, export);
    verifier::set_irql(PASSIVE_LEVEL);
    check(
        "nt.module.lookup_at_high_level",
        high.0.as_deref() == Some(b"xen.sys") && high.1 == export.wrapping_sub(base),
        format_args!(
            "{export:#x} at HIGH_LEVEL: name {:?}, offset {:#x}",
            high.0.as_deref().map(String::from_utf8_lossy),
            high.1
        ),
    );
    later_image(e);
}

/// An image loaded after xen.sys: reported to its load-image notify routine, named from the
/// notification's `FullImageName` (lower-cased), until an image loaded over it replaces it.
fn later_image(e: &Exports) {
    let (_, before) = ps::notifications();
    let bytes = pe_image::builder::ImageBuilder::driver()
        .import("ntoskrnl.exe", &["memset"])
        .build();
    let index = match loader::load("Later.SYS", &bytes) {
        Ok(index) => index,
        Err(refused) => {
            check("nt.module.later_image", false, format_args!("{refused}"));
            return;
        }
    };
    let (_, after) = ps::notifications();
    eq(
        "nt.module.later_image_notified",
        after.wrapping_sub(before),
        1,
    );
    if let Some(image) = loader::image(index) {
        let base = usize::try_from(image.base).unwrap_or(0);
        named(
            e,
            "nt.module.later_image_named",
            base + 0x10,
            Some((b"later.sys", 0x10)),
        );
    }
    loader::unload(index);
}

/// `ZwQuerySystemInformation(SystemModuleInformation)`, called as a driver would: the size
/// query, the list (read with xen.sys's parser), a buffer with room for one entry, another
/// class.
fn system_module_information(xen: usize) {
    // SAFETY: the stand-in's entry, in the Microsoft x64 convention.
    let f = unsafe {
        core::mem::transmute::<usize, QuerySystemInformation>(entry("ZwQuerySystemInformation"))
    };
    let class = ntddk::SystemModuleInformation;
    let images = loader::loaded_images();
    let want = xen::module::LISTING_HEADER + (images.len() + 1) * xen::module::LISTING_ENTRY;
    let mut needed = 0u32;
    // SAFETY: no buffer and a writable length.
    let s = drv(|| unsafe { f(class, core::ptr::null_mut(), 0, &raw mut needed) });
    check(
        "nt.module.size_query",
        s == STATUS_INFO_LENGTH_MISMATCH && usize::try_from(needed).ok() == Some(want),
        format_args!(
            "status {:#x}, {needed} bytes needed, want {want} ({} images and ntoskrnl.exe)",
            s.cast_unsigned(),
            images.len()
        ),
    );
    let mut buffer = alloc::vec![0u8; want];
    let mut returned = 0u32;
    let length = u32::try_from(want).unwrap_or(0);
    // SAFETY: `buffer` holds `length` writable bytes; `returned` is ours.
    let s = drv(|| unsafe { f(class, buffer.as_mut_ptr(), length, &raw mut returned) });
    status("nt.module.listing_status", s, STATUS_SUCCESS);
    let listed: Vec<(usize, usize, Vec<u8>)> = xen::module::listing(&buffer)
        .map(|l| {
            l.map(|(base, size, path)| {
                let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                (base, size, path[..end].to_vec())
            })
            .collect()
        })
        .unwrap_or_default();
    let (start, end) = own_image();
    let first = listed.first();
    check(
        "nt.module.listing_starts_with_ntoskrnl",
        first.is_some_and(|(b, s, p)| {
            *b as u64 == start
                && *s as u64 == end - start
                && p == br"\SystemRoot\system32\ntoskrnl.exe"
        }),
        format_args!(
            "{} entries; first {:?}",
            listed.len(),
            first.map(|(b, s, p)| (*b, *s, String::from_utf8_lossy(p)))
        ),
    );
    let xen_image = loader::image(xen);
    let xen_entry = listed.iter().find(|(_, _, p)| p.ends_with(br"\xen.sys"));
    check(
        "nt.module.listing_has_xen_sys",
        xen_image
            .as_ref()
            .zip(xen_entry)
            .is_some_and(|(i, (b, s, p))| {
                *b as u64 == i.base
                    && *s as u64 == i.size
                    && p == br"\SystemRoot\System32\drivers\xen.sys"
            })
            && listed.len() == images.len() + 1,
        format_args!(
            "{:?}; {} images loaded",
            xen_entry.map(|(b, s, p)| (*b, *s, String::from_utf8_lossy(p))),
            images.len()
        ),
    );
    // Room for the header and one entry: that entry and the count 1 are written.
    let short = xen::module::LISTING_HEADER + xen::module::LISTING_ENTRY + 100;
    let mut small = alloc::vec![0xEEu8; short];
    let mut returned = 0u32;
    let length = u32::try_from(short).unwrap_or(0);
    // SAFETY: `small` holds `length` writable bytes; `returned` is ours.
    let s = drv(|| unsafe { f(class, small.as_mut_ptr(), length, &raw mut returned) });
    let count = small
        .get(..4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_le_bytes);
    check(
        "nt.module.short_buffer",
        s == STATUS_INFO_LENGTH_MISMATCH
            && usize::try_from(returned).ok() == Some(want)
            && count == Some(1)
            && small
                .get(short - 100..)
                .is_some_and(|tail| tail.iter().all(|&b| b == 0xEE)),
        format_args!(
            "status {:#x}, {returned} bytes needed, count {count:?}",
            s.cast_unsigned()
        ),
    );
    // SAFETY: no buffer; the class is checked first.
    let s = drv(|| unsafe { f(5, core::ptr::null_mut(), 0, core::ptr::null_mut()) });
    status(
        "nt.module.other_class_refused",
        s,
        STATUS_INVALID_INFO_CLASS,
    );
}
