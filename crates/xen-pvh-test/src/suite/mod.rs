// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The suite: every check runs through the `xen` crate's wrappers against the real hypervisor.
//!
//! Order matters where Xen state is one-way: the callback-vector upcall checks come before the
//! per-vCPU vector ones, `vcpu_info` registration is permanent, and the FIFO ABI (left again
//! with `EVTCHNOP_reset`) comes last.

mod basics;
mod evtchn;
mod fifo;
mod gnttab;
mod memory;
mod peer;
mod sched;
pub mod shm;
pub mod smp;
mod subsystems;
mod throughput;
mod xenstore;

use crate::arch::{self, Page};
use crate::harness::check;
use crate::{XEN, events, kprintln};
use core::mem::offset_of;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Guest frames outside dom0's memory (it has 64 MiB; QEMU has 1 GiB), for mappings Xen places.
pub const HOLE_GFN: u64 = 0x3_0000;
/// Where `shared_info` is mapped first.
pub const SHARED_INFO_GFN: u64 = HOLE_GFN;
/// Where `shared_info` is moved to by the physmap checks.
pub const SHARED_INFO_GFN2: u64 = HOLE_GFN + 1;
/// Where grant-table frame 0 is mapped.
pub const GRANT_FRAME_GFN: u64 = HOLE_GFN + 0x10;
/// Where our own grant is mapped back.
pub const GRANT_MAP_GFN: u64 = HOLE_GFN + 0x20;
/// A frame nothing is ever mapped at.
pub const NEVER_MAPPED_GFN: u64 = HOLE_GFN + 0x30;

/// Pages of our own memory the checks hand to Xen.
pub static GRANT_SRC: Page = Page::new();
/// Destination of the grant copy.
pub static GRANT_DST: Page = Page::new();
/// The page given back and repopulated by the reservation checks.
pub static BALLOON: Page = Page::new();
/// Registered `vcpu_info` of vCPU 0 (offset 0) and vCPU 1 (offset 64).
pub static VCPU_INFO_PAGE: Page = Page::new();
/// FIFO control blocks, one per vCPU.
pub static FIFO_CONTROL: [Page; arch::MAX_CPUS] = [Page::new(), Page::new()];
/// FIFO event array pages.
pub static FIFO_ARRAY: [Page; 2] = [Page::new(), Page::new()];

/// vCPUs Xen gave this domain that the suite brought up (1 or 2).
pub static VCPUS: AtomicU32 = AtomicU32::new(1);
/// Set by vCPU 1 once it runs our code.
pub static AP_ALIVE: AtomicBool = AtomicBool::new(false);

/// The detected hypervisor, through the transcript recorder (`crate::record`).
pub fn hv() -> &'static crate::record::Recording {
    crate::record::hv()
}

/// `XEN_HVM_START_MAGIC_VALUE`.
const START_MAGIC: u32 = 0x336e_c578;

/// The head of `struct hvm_start_info` (`public/arch-x86/hvm/start_info.h`), up to the field
/// the suite reads.
#[repr(C)]
#[allow(dead_code)] // Only the layout matters; fields are read by offset.
struct HvmStartInfo {
    magic: u32,
    version: u32,
    flags: u32,
    nr_modules: u32,
    modlist_paddr: u64,
    cmdline_paddr: u64,
}

/// The command line from `hvm_start_info`.
fn command_line(start_info: u64) -> &'static [u8] {
    let address = usize::try_from(start_info).unwrap_or(0);
    let info = core::ptr::with_exposed_provenance::<HvmStartInfo>(address);
    if info.is_null() {
        return &[];
    }
    let magic = info
        .wrapping_byte_add(offset_of!(HvmStartInfo, magic))
        .cast::<u32>();
    let cmdline = info
        .wrapping_byte_add(offset_of!(HvmStartInfo, cmdline_paddr))
        .cast::<u64>();
    // SAFETY: Xen passes the physical (= virtual, identity map) address of hvm_start_info.
    if unsafe { magic.read_volatile() } != START_MAGIC {
        return &[];
    }
    // SAFETY: as above.
    let cmdline = unsafe { cmdline.read_volatile() };
    let text = core::ptr::with_exposed_provenance::<u8>(usize::try_from(cmdline).unwrap_or(0));
    if text.is_null() {
        return &[];
    }
    let mut len = 0;
    // SAFETY: the command line is a NUL-terminated string Xen placed in our memory; the scan
    // stops at the NUL or after 4 KiB.
    while len < 4096 && unsafe { text.wrapping_add(len).read_volatile() } != 0 {
        len += 1;
    }
    // SAFETY: the `len` bytes just scanned are initialised and never written again.
    unsafe { core::slice::from_raw_parts(text, len) }
}

/// Runs every check (or the watchdog-expiry scenario when the command line asks for it).
pub fn run(start_info: u64) {
    let cmdline = command_line(start_info);
    kprintln!(
        "XTK: command line {:?}",
        core::str::from_utf8(cmdline).unwrap_or("?")
    );
    basics::detection();
    crate::record::start(cmdline);
    if let Some(scenario) = crate::nt::scenario(cmdline) {
        // The stand-in kernel (scripts/nt-xen-test): xen.sys is the first boot module.
        crate::nt::run(start_info, scenario);
        return;
    }
    if cmdline
        .windows(b"xtk.mode=watchdog".len())
        .any(|w| w == b"xtk.mode=watchdog")
    {
        sched::watchdog_expiry();
    }
    if cmdline
        .windows(b"xtk.mode=domu".len())
        .any(|w| w == b"xtk.mode=domu")
    {
        // A PVH domU of a Linux dom0 (scripts/xen-full-test): the store client on the real ring,
        // then the inter-domain rounds with dom0's peer (xenstore::domu runs them).
        memory::shared_info();
        xenstore::domu();
        return;
    }
    basics::version();
    basics::console();
    memory::shared_info();
    basics::hvm_params();
    evtchn::two_level();
    sched::timers_and_scheduling();
    memory::reservation_and_physmap();
    gnttab::grant_tables();
    smp::upcall_vectors_and_vcpus();
    fifo::fifo_and_fallback();
    smp::stop_second_vcpu();
    sched::shutdown_code();
    kprintln!(
        "XTK: {} stray interrupts, {} vCPUs",
        events::STRAY.load(Ordering::SeqCst),
        VCPUS.load(Ordering::SeqCst)
    );
}

/// The end of a normal run: the shutdown code recorded by the suite (`SHUTDOWN_reboot`) wins
/// over the poweroff asked for here, so Xen reboots (and QEMU exits) instead of halting;
/// scripts/xen-qemu-test checks Xen's message for that.
pub fn finish() -> ! {
    if let Some(xen) = XEN.get() {
        let _ = xen::sched::shutdown(xen, xen_headers::sched::SHUTDOWN_POWEROFF);
    }
    crate::reboot()
}

/// The secondary vCPU: enable its LAPIC, report, then sleep; work arrives through its upcall
/// handler.
pub fn ap_main(cpu: usize) -> ! {
    if crate::nt::smp::owns_secondary() {
        // The stand-in kernel's processor 1 (`nt::smp`): interrupts stay off there.
        crate::nt::smp::ap_loop(cpu);
    }
    arch::enable_lapic();
    if cpu == 1 {
        AP_ALIVE.store(true, Ordering::SeqCst);
    }
    loop {
        arch::halt();
    }
}

/// Records a check whose detail is a `Debug` value.
#[allow(clippy::needless_pass_by_value)] // Call sites pass fresh results; references would be noise.
pub fn check_eq<T: PartialEq + core::fmt::Debug>(name: &str, got: T, want: T) -> bool {
    let ok = got == want;
    check(name, ok, format_args!("got {got:?}, want {want:?}"))
}
