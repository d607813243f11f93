// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! How the kernel was entered, and the one start info the rest of it reads.
//!
//! * **PVH** (dom0 of scripts/xen-qemu-test and scripts/nt-xen-test, domU of
//!   scripts/xen-full-test): Xen enters `pvh_start32` with `EBX` = its `hvm_start_info`, which
//!   is used as it is.
//! * **Multiboot v1** (the HVM domU of scripts/nt-xen-hvm-test): the boot sector on the guest's
//!   emulated IDE disk (scripts/lib/xtk-bootsector.S) loads the flat image where the multiboot
//!   header says, loads the first module (xen.sys) after it and enters `mb_start32` with
//!   `EAX` = `0x2BADB002` and `EBX` = a multiboot information structure. [`start_info`] turns
//!   that into an `hvm_start_info` (version 0: command line and modules) in kernel memory, so
//!   the suite and the stand-in read one format. The guest is then an HVM guest with the legacy
//!   hardware `SeaBIOS` left running: both PICs are masked before anything can enable interrupts
//!   (`SeaBIOS` leaves the timer's IRQ 0 on vector 8, which would look like a double fault).

use core::sync::atomic::{AtomicBool, Ordering};
use xen_pvh_test::multiboot;

/// What `EAX` holds when a multiboot loader enters the kernel.
pub const MULTIBOOT_MAGIC: u64 = multiboot::BOOTLOADER_MAGIC as u64;
/// `XEN_HVM_START_MAGIC_VALUE`.
const START_MAGIC: u32 = 0x336e_c578;

/// Set when the kernel was entered through multiboot, i.e. is an HVM guest.
static HVM: AtomicBool = AtomicBool::new(false);

/// Whether the kernel runs as an HVM guest (entered through its boot sector).
pub fn is_hvm() -> bool {
    HVM.load(Ordering::Relaxed)
}

/// `struct hvm_start_info`, version 0, and its module entries.
#[repr(C)]
struct StartInfo {
    magic: u32,
    version: u32,
    flags: u32,
    nr_modules: u32,
    modlist_paddr: u64,
    cmdline_paddr: u64,
    rsdp_paddr: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct ModlistEntry {
    paddr: u64,
    size: u64,
    cmdline_paddr: u64,
    reserved: u64,
}

/// The start info built from the multiboot information and its module list, each written once
/// on the boot CPU before anything reads it.
static MODULES: spin::Once<[ModlistEntry; multiboot::MAX_MODULES]> = spin::Once::new();
static INFO: spin::Once<StartInfo> = spin::Once::new();

/// Reads the `T` at physical (= identity-mapped) address `at`.
///
/// # Safety
/// `at` must be readable memory holding a `T` below 4 GiB (the boot identity map).
unsafe fn read_phys<T: Copy>(at: u64) -> T {
    let p = core::ptr::with_exposed_provenance::<T>(usize::try_from(at).unwrap_or(0));
    // SAFETY: the caller's contract.
    unsafe { p.read_unaligned() }
}

/// Masks both legacy 8259 PICs.
fn mask_pics() {
    for port in [0x21u16, 0xa1] {
        // SAFETY: writing the PICs' interrupt mask registers only masks interrupts.
        unsafe {
            core::arch::asm!("out dx, al", in("dx") port, in("al") 0xffu8,
                             options(nomem, nostack, preserves_flags));
        }
    }
}

/// The start info to use: `start_info` itself after a PVH entry, or one built from the
/// multiboot information at `start_info` when `magic` is [`MULTIBOOT_MAGIC`] (which also masks
/// the PICs and records that this is an HVM guest).
pub fn start_info(start_info: u64, magic: u64) -> u64 {
    if magic != MULTIBOOT_MAGIC {
        return start_info;
    }
    mask_pics();
    HVM.store(true, Ordering::Relaxed);
    let mut read = |at: u64| -> u32 {
        // SAFETY: the boot sector placed the multiboot information and its module list in
        // identity-mapped low memory that nothing reuses; `parse` reads only the words its flags
        // say are valid.
        unsafe { read_phys(at) }
    };
    let boot = multiboot::parse(start_info, &mut read);
    let modules = boot.modules.map(|m| ModlistEntry {
        paddr: m.start,
        size: m.size,
        cmdline_paddr: m.cmdline,
        reserved: 0,
    });
    let count = u32::try_from(boot.count).unwrap_or(0);
    let cmdline = boot.cmdline;
    let modlist = core::ptr::from_ref(MODULES.call_once(|| modules)).expose_provenance() as u64;
    let info = INFO.call_once(|| StartInfo {
        magic: START_MAGIC,
        version: 0,
        flags: 0,
        nr_modules: count,
        modlist_paddr: modlist,
        cmdline_paddr: cmdline,
        rsdp_paddr: 0,
    });
    core::ptr::from_ref(info).expose_provenance() as u64
}
