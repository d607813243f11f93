// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `check-xen-abi`: checks `xen-headers` against Xen's C headers and prints
//! `xen-abi: N checked, M mismatches` as its last line.
//!
//! Usage: `check-xen-abi [-v]`; `XEN_INCLUDE=dir` selects the headers (default `/usr/include`,
//! Debian's libxen-dev). Exit status: 0 when everything matches, 1 on any mismatch, 2 when the
//! headers are missing or the probe cannot be built.

use std::process::ExitCode;

fn main() -> ExitCode {
    let verbose = std::env::args()
        .skip(1)
        .any(|a| a == "-v" || a == "--verbose");
    let include = xen_abi_check::include_dir_from_env();
    println!(
        "xen-abi: Rust ABI follows Xen {} (interface {}); checking against the headers under {}",
        xen_abi_check::XEN_RELEASE,
        xen_abi_check::probe::INTERFACE_VERSION,
        include.display()
    );
    println!(
        "xen-abi: to check another release, point XEN_INCLUDE at its xen/include/public \
         (or at a directory holding xen/xen.h)"
    );
    let report = match xen_abi_check::run(&include) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("xen-abi: error: {e}");
            println!("xen-abi: 0 checked, 0 mismatches (nothing was checked: {e})");
            return ExitCode::from(2);
        }
    };
    for outcome in &report.outcomes {
        if !outcome.matches() {
            println!(
                "MISMATCH {}: C {}, Rust {}",
                outcome.item.c_expr, outcome.c, outcome.item.rust
            );
        } else if verbose {
            println!("ok       {} = {}", outcome.item.c_expr, outcome.c);
        }
    }
    for name in &report.uncovered {
        println!("UNCOVERED {name}: defined by the C headers, neither checked nor exempted");
    }
    if !report.uncovered.is_empty() {
        println!(
            "xen-abi: {} C definitions under covered prefixes have no table entry",
            report.uncovered.len()
        );
    }
    println!("{}", report.summary());
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
