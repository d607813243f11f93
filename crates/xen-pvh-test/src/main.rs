// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The PVH test kernel: a freestanding binary that Xen boots as its PVH dom0 (under QEMU TCG in
//! CI) and that proves the `xen` crate — detection, the hypercall instruction and every typed
//! wrapper — against the real hypervisor. It prints one `XTK-PASS:`/`XTK-FAIL:` line per check
//! and `XTK-RESULT: N passed, F failed`, then reboots the machine.
//!
//! With `xtk.mode=domu` it is instead a PVH domU of a Linux dom0 (scripts/xen-full-test): it
//! runs the xenbus store client on its real xenstore ring against Debian's xenstored
//! (`suite/xenstore.rs`), then exchanges events and grants with a dom0 peer program and writes
//! to its PV console, first with the `xen` crate's wrappers (`suite/peer.rs`) and then through
//! the xenbus EVTCHN, GNTTAB, CACHE and CONSOLE subsystems (`suite/subsystems.rs`), each of
//! those rounds followed by a throughput run of grants and events (`suite/throughput.rs`).
//!
//! With `xtk.mode=nt` (and `nt-watchdog`, `nt-bugcheck`, `nt-rule=NAME`) it is the stand-in
//! Windows kernel (`nt/`): it loads the real xen.sys image, passed as the first boot module,
//! binds it to its own checked kernel routines and runs it in ring 0 on the real hypervisor
//! (scripts/nt-xen-test).
//!
//! Layering: it sits beside the drivers and links `crates/xen` exactly as xen.sys does; the
//! code it adds is only what a bare machine needs (entry, descriptor tables, upcall handler)
//! and, for the subsystems, a small `platform_port::Platform` (`port.rs`).
//!
//! With the same `xtk.mode=nt` as an HVM domU (scripts/nt-xen-hvm-test: entered through
//! multiboot by its boot sector, `boot.rs`), it first enumerates the emulated PCI bus and
//! builds the platform device's PDO record (`hvm.rs`, over the host-tested `pci` module of the
//! crate's library), then runs xen.sys as above, and checks that xen.sys's unplug made QEMU's
//! emulated disk and NIC vanish.
//!
//! Build: scripts/xen-qemu-test and scripts/nt-xen-test build it (`scripts/lib/xen-qemu.bash`)
//! with `--cfg xen_freestanding` for the whole crate graph
//! (plus static relocation, no red zone and our linker script, see build.rs). Without that cfg —
//! in every ordinary `cargo build`/`clippy`/`test` of the workspace — this file compiles to a
//! host stub that explains how to run the kernel, because the `xen` crate links `std` on hosts.

#![cfg_attr(xen_freestanding, no_std)]
#![cfg_attr(xen_freestanding, no_main)]

#[cfg(not(xen_freestanding))]
fn main() {
    eprintln!(
        "xen-pvh-test is a PVH kernel for the Xen hypervisor, not a host program: \
         build and boot it with scripts/xen-qemu-test"
    );
    std::process::exit(2);
}

#[cfg(xen_freestanding)]
extern crate alloc;

#[cfg(xen_freestanding)]
mod arch;
#[cfg(xen_freestanding)]
mod boot;
#[cfg(xen_freestanding)]
mod console;
#[cfg(xen_freestanding)]
mod events;
#[cfg(xen_freestanding)]
mod harness;
#[cfg(xen_freestanding)]
mod hvm;
#[cfg(xen_freestanding)]
mod nt;
#[cfg(xen_freestanding)]
mod port;
#[cfg(xen_freestanding)]
mod record;
#[cfg(xen_freestanding)]
mod rt;
#[cfg(xen_freestanding)]
mod suite;

#[cfg(xen_freestanding)]
pub use kernel::*;

#[cfg(xen_freestanding)]
mod kernel {
    use crate::{arch, harness, kprintln, record, suite};
    use xen::hypercall::Xen;

    /// The hypervisor, once detected.
    pub static XEN: spin::Once<Xen> = spin::Once::new();

    /// The detected hypervisor; only called after detection succeeded.
    pub fn xen() -> &'static Xen {
        XEN.get()
            .unwrap_or_else(|| harness::fatal(format_args!("Xen used before detection")))
    }

    /// Reboots the machine (`SCHEDOP_shutdown(SHUTDOWN_reboot)`); with QEMU's `-no-reboot` that
    /// ends the run.
    pub fn reboot() -> ! {
        if let Some(xen) = XEN.get() {
            let _ = xen::sched::shutdown(xen, xen_headers::sched::SHUTDOWN_REBOOT);
        }
        loop {
            arch::halt();
        }
    }

    /// The boot CPU's Rust entry, called by entry.S with the `hvm_start_info` address (PVH) or
    /// the multiboot information's and the multiboot magic (an HVM guest's boot sector).
    #[unsafe(no_mangle)]
    extern "C" fn pvh_bsp_main(start_info: u64, boot_magic: u64) -> ! {
        let start_info = crate::boot::start_info(start_info, boot_magic);
        arch::init_idt();
        arch::init_cpu(0);
        if crate::boot::is_hvm() {
            kprintln!("XTK: HVM test kernel (multiboot), start info at {start_info:#x}");
        } else {
            kprintln!("XTK: PVH test kernel, start info at {start_info:#x}");
        }
        suite::run(start_info);
        record::finish();
        harness::result_line();
        suite::finish()
    }

    /// A secondary CPU's Rust entry, started by `VCPUOP_initialise` with its vCPU id.
    #[unsafe(no_mangle)]
    extern "C" fn pvh_ap_main(cpu: u64) -> ! {
        let cpu = usize::try_from(cpu).unwrap_or(usize::MAX);
        arch::init_cpu(cpu);
        suite::ap_main(cpu)
    }
}
