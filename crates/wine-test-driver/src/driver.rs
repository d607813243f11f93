// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The image's entry points: `DriverEntry` runs xen.sys's `DllInitialize` and `DllUnload`
//! with the two work-arounds of the crate docs and prints what happened; `DriverUnload` lets
//! `sc stop` unload the image (and with it xen.sys).

use core::sync::atomic::{AtomicU32, Ordering};

use ntddk::{
    DPFLTR_ERROR_LEVEL, DPFLTR_INFO_LEVEL, DRIVER_OBJECT, NTSTATUS, STATUS_NOT_IMPLEMENTED,
    STATUS_SUCCESS, UNICODE_STRING,
};

use crate::pe::{self, Image};
use crate::ports;

#[global_allocator]
static ALLOCATOR: ntddk::runtime::Allocator =
    ntddk::runtime::Allocator::new(u32::from_ne_bytes(*b"WTST"));

#[link(name = "xen.sys", kind = "raw-dylib", modifiers = "+verbatim")]
unsafe extern "system" {
    /// xen.sys's `DllInitialize(PUNICODE_STRING RegistryPath)`.
    fn DllInitialize(registry_path: *mut UNICODE_STRING) -> NTSTATUS;
    /// xen.sys's `DllUnload(VOID)`.
    fn DllUnload() -> NTSTATUS;
}

/// The service key the kernel passes to xen.sys's `DllInitialize`.
const XEN_SERVICE: &str = r"\Registry\Machine\System\CurrentControlSet\Services\XEN";

/// Calls of the counting `DbgSetDebugFilterState`.
static FILTER_STATE_CALLS: AtomicU32 = AtomicU32::new(0);
/// Calls of the counting `DbgSetDebugPrintCallback`.
static PRINT_CALLBACK_CALLS: AtomicU32 = AtomicU32::new(0);

/// Stands in for Wine's aborting `DbgSetDebugFilterState` stub: counts, succeeds.
unsafe extern "system" fn counting_filter_state(
    _component: u32,
    _level: u32,
    _state: u8,
) -> NTSTATUS {
    FILTER_STATE_CALLS.fetch_add(1, Ordering::Relaxed);
    STATUS_SUCCESS
}

/// Stands in for `DbgSetDebugPrintCallback`, which Wine lacks: counts, fails (a call is a
/// finding, not a registration).
unsafe extern "system" fn counting_print_callback(_callback: usize, _enable: u8) -> NTSTATUS {
    PRINT_CALLBACK_CALLS.fetch_add(1, Ordering::Relaxed);
    STATUS_NOT_IMPLEMENTED
}

fn say(args: core::fmt::Arguments<'_>) {
    ntddk::runtime::print_fmt(DPFLTR_INFO_LEVEL, args);
}

fn fail(args: core::fmt::Arguments<'_>) {
    ntddk::runtime::print_fmt(DPFLTR_ERROR_LEVEL, args);
}

/// The driver entry point.
///
/// # Safety
/// Called only by the I/O manager, at PASSIVE_LEVEL, with a valid driver object.
// SAFETY: the image's entry point (`/ENTRY:DriverEntry`); nothing else defines the name.
#[unsafe(export_name = "DriverEntry")]
pub unsafe extern "system" fn driver_entry(
    driver: *mut DRIVER_OBJECT,
    _path: *mut UNICODE_STRING,
) -> NTSTATUS {
    ntddk::runtime::init(c"wine-test");
    // SAFETY: the I/O manager's contract.
    if let Some(driver) = unsafe { driver.as_mut() } {
        driver.DriverUnload = Some(driver_unload);
    }
    say(format_args!(
        "wine-test|test-only image: runs xen.sys's DllInitialize/DllUnload, working around two \
         Wine gaps (the workaround lines below)\n"
    ));
    if xen_in_cpuid() {
        fail(format_args!(
            "wine-test|skipped: this CPU reports Xen, so the no-Xen path cannot be tested here\n"
        ));
        return STATUS_SUCCESS;
    }
    match run() {
        Ok(()) => say(format_args!("wine-test|done\n")),
        Err(what) => fail(format_args!("wine-test|aborted: {what}\n")),
    }
    STATUS_SUCCESS
}

/// `DriverUnload`.
unsafe extern "system" fn driver_unload(_driver: *mut DRIVER_OBJECT) {
    say(format_args!("wine-test|DriverUnload\n"));
}

/// Prints the hypervisor leaf's signature and whether any candidate base leaf (upstream's
/// range) carries Xen's (then the "no Xen" path cannot be tested, and xen.sys would issue
/// hypercalls from Wine's user-mode host).
fn xen_in_cpuid() -> bool {
    let text = |leaf: core::arch::x86_64::CpuidResult| {
        let mut s = [0u8; 12];
        for (chunk, reg) in s.chunks_exact_mut(4).zip([leaf.ebx, leaf.ecx, leaf.edx]) {
            chunk.copy_from_slice(&reg.to_le_bytes());
        }
        s
    };
    let first = core::arch::x86_64::__cpuid(0x4000_0000);
    let signature = text(first);
    let printable = signature.map(|b| if b.is_ascii_graphic() { b } else { b'.' });
    say(format_args!(
        "wine-test|cpuid 40000000: eax {:08x} signature \"{}\"\n",
        first.eax,
        core::str::from_utf8(&printable).unwrap_or("?")
    ));
    let mut base: u32 = 0x4000_0000;
    while base <= 0x4000_ff00 {
        if &text(core::arch::x86_64::__cpuid(base)) == b"XenVMMXenVMM" {
            fail(format_args!(
                "wine-test|cpuid: XEN SIGNATURE at leaf {base:08x}\n"
            ));
            return true;
        }
        base = base.saturating_add(0x100);
    }
    say(format_args!(
        "wine-test|cpuid: no Xen signature in leaves 40000000-4000ff00\n"
    ));
    false
}

/// Finds xen.sys, rebinds its two slots, runs `DllInitialize` and `DllUnload` under the
/// port-I/O handler, restores everything and prints the counts.
fn run() -> Result<(), &'static str> {
    let own_base =
        pe::image_base(driver_entry as *const () as usize).ok_or("own image not found")?;
    // SAFETY: the loader mapped this image at `own_base`; it stays mapped while we run.
    let own = unsafe { Image::new(own_base) }.ok_or("own image headers unreadable")?;
    let dll_initialize_slot = own
        .import_slot(b"xen.sys", b"DllInitialize")
        .ok_or("no xen.sys import")?;
    // SAFETY: a slot of our own mapped image.
    let dll_initialize = unsafe { pe::slot_value(dll_initialize_slot) };
    let xen_base = pe::image_base(dll_initialize).ok_or("xen.sys not found from DllInitialize")?;
    // SAFETY: the loader mapped xen.sys at `xen_base`; our import keeps it mapped.
    let xen = unsafe { Image::new(xen_base) }.ok_or("xen.sys headers unreadable")?;
    say(format_args!(
        "wine-test|xen.sys at {xen_base:#x}, DllInitialize at xen.sys+{:#x}\n",
        dll_initialize.wrapping_sub(xen_base)
    ));

    let (add, remove) = vectored_handler_routines(&own)?;
    let filter_slot = rebind_import(
        &xen,
        b"DbgSetDebugFilterState",
        counting_filter_state as *const () as usize,
    )?;
    let callback_slot = rebind_import(
        &xen,
        b"DbgSetDebugPrintCallback",
        counting_print_callback as *const () as usize,
    )
    .inspect_err(|_| restore(filter_slot))?;
    // SAFETY: ntdll's two routines, as resolved.
    let Some(handler) = (unsafe { ports::install(xen.base(), add, remove) }) else {
        restore(filter_slot);
        restore(callback_slot);
        return Err("RtlAddVectoredExceptionHandler failed");
    };
    say(format_args!(
        "wine-test|workaround: port I/O emulated by a vectored exception handler as on a machine \
         without the Xen platform device (reads all ones, writes recorded); cr8 left to Wine\n"
    ));
    if ports::self_test() {
        say(format_args!("wine-test|port-I/O emulation self-test: ok\n"));
    } else {
        fail(format_args!(
            "wine-test|port-I/O emulation self-test: FAILED\n"
        ));
    }
    say(format_args!(
        "wine-test|calling DllInitialize({XEN_SERVICE})\n"
    ));
    let mut units = [0u16; XEN_SERVICE.len()];
    for (unit, byte) in units.iter_mut().zip(XEN_SERVICE.bytes()) {
        *unit = u16::from(byte);
    }
    let bytes = u16::try_from(XEN_SERVICE.len() * 2).unwrap_or(u16::MAX);
    let mut path = UNICODE_STRING {
        Length: bytes,
        MaximumLength: bytes,
        Buffer: units.as_mut_ptr(),
    };
    // SAFETY: PASSIVE_LEVEL, a valid path, as the kernel calls it; xen.sys's gaps are covered.
    let status = unsafe { DllInitialize(&raw mut path) };
    say(format_args!(
        "wine-test|DllInitialize returned {:08x}\n",
        status.cast_unsigned()
    ));
    // SAFETY: as the kernel calls it, after DllInitialize.
    let status = unsafe { DllUnload() };
    say(format_args!(
        "wine-test|DllUnload returned {:08x}\n",
        status.cast_unsigned()
    ));
    handler.remove();

    restore(filter_slot);
    restore(callback_slot);
    report_counts();
    Ok(())
}

/// ntdll's `RtlAddVectoredExceptionHandler` and `RtlRemoveVectoredExceptionHandler`, from the
/// import table of Wine's ntoskrnl.exe (this image cannot import ntdll.dll itself: see
/// module `pe`).
fn vectored_handler_routines(own: &Image) -> Result<(usize, usize), &'static str> {
    let print = own
        .import_slot(b"ntoskrnl.exe", b"DbgPrintEx")
        .ok_or("no DbgPrintEx import")?;
    // SAFETY: a slot of our own mapped image.
    let ntoskrnl_base =
        pe::image_base(unsafe { pe::slot_value(print) }).ok_or("ntoskrnl.exe not found")?;
    // SAFETY: the loader mapped ntoskrnl.exe there; it is never unloaded.
    let ntoskrnl = unsafe { Image::new(ntoskrnl_base) }.ok_or("ntoskrnl.exe headers unreadable")?;
    let slot = |name| {
        ntoskrnl
            .import_slot(b"ntdll.dll", name)
            .ok_or("ntoskrnl.exe does not import the vectored-handler routines")
    };
    let (add, remove) = (
        slot(b"RtlAddVectoredExceptionHandler")?,
        slot(b"RtlRemoveVectoredExceptionHandler")?,
    );
    // SAFETY: slots of ntoskrnl.exe's mapped import table.
    let add = unsafe { pe::slot_value(add) };
    // SAFETY: as above.
    let remove = unsafe { pe::slot_value(remove) };
    Ok((add, remove))
}

/// A rebound slot and what it held.
#[derive(Clone, Copy)]
struct Rebound {
    name: &'static str,
    slot: usize,
    previous: usize,
}

/// Points xen.sys's `ntoskrnl.exe!name` slot at `target`.
fn rebind_import(xen: &Image, name: &'static [u8], target: usize) -> Result<Rebound, &'static str> {
    let text = core::str::from_utf8(name).unwrap_or("?");
    let slot = xen
        .import_slot(b"ntoskrnl.exe", name)
        .ok_or("xen.sys does not import a routine to rebind")?;
    // SAFETY: a slot of xen.sys's IAT; `target` has the routine's signature; no thread calls
    // xen.sys yet (its DllInitialize has not run).
    let previous = unsafe { pe::rebind(slot, target) }
        .map_err(|_| "ZwProtectVirtualMemory refused the IAT page")?;
    say(format_args!(
        "wine-test|workaround: xen.sys import ntoskrnl.exe!{text} (slot xen.sys+{:#x}) rebound to a counting routine\n",
        slot.wrapping_sub(xen.base())
    ));
    Ok(Rebound {
        name: text,
        slot,
        previous,
    })
}

/// Puts back what the slot held.
fn restore(rebound: Rebound) {
    // SAFETY: the slot we rebound, back to the loader's value; xen.sys is idle.
    if let Err(status) = unsafe { pe::rebind(rebound.slot, rebound.previous) } {
        fail(format_args!(
            "wine-test|cannot restore the {} slot ({:08x})\n",
            rebound.name,
            status.cast_unsigned()
        ));
    }
}

/// Prints what the counting routines and the handler saw (also when a Wine stub is about to
/// abort the host).
pub fn report_counts() {
    let seen = &ports::SEEN;
    let n = |a: &AtomicU32| a.load(Ordering::Relaxed);
    say(format_args!(
        "wine-test|DbgSetDebugFilterState calls: {}\n",
        FILTER_STATE_CALLS.load(Ordering::Relaxed)
    ));
    say(format_args!(
        "wine-test|DbgSetDebugPrintCallback calls: {}\n",
        PRINT_CALLBACK_CALLS.load(Ordering::Relaxed)
    ));
    say(format_args!(
        "wine-test|port reads: 0x10: {}, 0x12: {}, other: {}\n",
        n(&seen.reads[0]),
        n(&seen.reads[1]),
        n(&seen.reads[2])
    ));
    say(format_args!(
        "wine-test|port writes (bytes): 0xe9: {}, 0x12: {}, 0x10: {}, other: {}\n",
        n(&seen.written[0]),
        n(&seen.written[1]),
        n(&seen.written[2]),
        n(&seen.written[3])
    ));
    let mut text = [0u8; 128];
    let len = ports::e9_text(&mut text);
    if len > 0 {
        let shown = text.map(|b| {
            if b.is_ascii_graphic() || b == b' ' {
                b
            } else {
                b'.'
            }
        });
        say(format_args!(
            "wine-test|port 0xe9 text: \"{}\"\n",
            core::str::from_utf8(shown.get(..len).unwrap_or(&[])).unwrap_or("?")
        ));
    }
    say(format_args!(
        "wine-test|cr8 accesses passed to Wine: {}\n",
        n(&seen.cr8)
    ));
    say(format_args!(
        "wine-test|other privileged instructions: {}, other exceptions: {}\n",
        n(&seen.other_privileged),
        n(&seen.other_exceptions)
    ));
}
