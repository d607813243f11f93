// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The suite.

use crate::harness::check;
use crate::{XEN, arch, kprintln};
use xen::hypercall::{Cpuid, Instruction, Xen};

/// Runs every check.
pub fn run(_start_info: u64) {
    let detected = Xen::detect();
    let Ok(xen) = detected else {
        crate::harness::fatal(format_args!("no Xen: {detected:?}"));
    };
    XEN.call_once(|| xen);
    kprintln!("XTK: detected {xen:?}");
    let vendor = Cpuid::read(0).vendor();
    check(
        "hypercall.vendor_instruction",
        Instruction::for_vendor(&vendor) == Some(xen.instruction),
        format_args!(
            "vendor {:?} -> {}",
            core::str::from_utf8(&vendor),
            xen.instruction.name()
        ),
    );
}

/// The end of a run.
pub fn finish() -> ! {
    crate::reboot()
}

/// The secondary CPU.
pub fn ap_main(_cpu: usize) -> ! {
    loop {
        arch::halt();
    }
}
