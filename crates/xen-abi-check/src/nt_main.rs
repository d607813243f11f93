// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `check-nt-abi`: checks the kernel bindings (`ntddk`) against mingw-w64's DDK headers for x64
//! Windows and prints `nt-abi: N checked, M mismatches` as its last line.
//!
//! Usage: `check-nt-abi [-v]` (`-v` lists every check). `NT_ABI_CC` selects the compiler
//! (default `x86_64-w64-mingw32-gcc` on `PATH`), `NT_DDK_INCLUDE` the directory holding
//! `ntddk.h` (default `ddk/` under the compiler's include directories). Exit status: 0 when
//! everything matches, 1 on any mismatch or uncovered macro, 2 when the compiler or headers are
//! missing or the probe cannot be built.

use std::process::ExitCode;

use xen_abi_check::nt;

fn main() -> ExitCode {
    let verbose = std::env::args()
        .skip(1)
        .any(|a| a == "-v" || a == "--verbose");
    println!(
        "{}: checking ntddk against mingw-w64's DDK headers (ntddk.h, x64, NT_PROCESSOR_GROUPS) \
         with {}; the probe is compiled to assembly, never run",
        nt::NAME,
        std::env::var("NT_ABI_CC").unwrap_or_else(|_| nt::COMPILER.to_owned())
    );
    let report = match nt::run() {
        Ok(report) => report,
        Err(e) => {
            eprintln!("{}: error: {e}", nt::NAME);
            println!(
                "{}: 0 checked, 0 mismatches (nothing was checked: {e})",
                nt::NAME
            );
            return ExitCode::from(2);
        }
    };
    for outcome in &report.report.outcomes {
        if !outcome.matches() {
            println!(
                "MISMATCH {}: C {}, Rust {}",
                outcome.item.c_expr, outcome.c, outcome.item.rust
            );
        } else if verbose {
            println!("ok       {} = {}", outcome.item.c_expr, outcome.c);
        }
    }
    for name in &report.report.uncovered {
        println!("UNCOVERED {name}: defined by ntddk.h, neither checked nor excused");
    }
    println!(
        "{}: {} values follow Microsoft's documented layout where mingw-w64's headers are older \
         (exempt from the header check; each must equal the documented value):",
        nt::NAME,
        report.exemptions.len()
    );
    let mut reasons: Vec<&str> = Vec::new();
    for exemption in &report.exemptions {
        if !reasons.contains(&exemption.reason) {
            reasons.push(exemption.reason);
        }
    }
    for reason in reasons {
        println!("  because {reason}:");
        for exemption in report.exemptions.iter().filter(|e| e.reason == reason) {
            println!(
                "{} {}: Rust {}, documented {}",
                if exemption.matches() {
                    "EXEMPT  "
                } else {
                    "MISMATCH"
                },
                exemption.c_expr,
                exemption.rust,
                exemption.documented,
            );
        }
    }
    println!(
        "{}: {} definitions are written from Microsoft's documentation only (mingw-w64's headers \
         lack them; not checked):",
        nt::NAME,
        report.documented.len()
    );
    for documented in &report.documented {
        println!(
            "DOCUMENTED {} = {} ({})",
            documented.name, documented.rust, documented.source
        );
    }
    println!("{}", report.summary());
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
