// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `inf-check [INF]`: checks a generated `xenbus.inf` (default `target/package/xenbus.inf`)
//! against upstream's `src/xenbus.inf` for the build options of `scripts/gen-inf`, read from
//! the same environment: `MONITOR`, `FORCE_ACTIVATE`, `VENDOR_DEVICE_ID`, `INF_ARCH`; the
//! version is the package version (`xen_services::PACKAGE_VERSION`). Prints one line per
//! failed check and last `inf: N checks, F failures`; exit status 1 with failures, 2 when the
//! INF cannot be read.

use std::process::ExitCode;

use package_tool::inf::Inf;
use package_tool::inf_check::{Options, check_inf};

fn main() -> ExitCode {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/package/xenbus.inf".into());
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("inf-check: {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let Ok(text) = String::from_utf8(bytes) else {
        eprintln!("inf-check: {path}: not UTF-8 text");
        return ExitCode::from(2);
    };
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let v = xen_services::PACKAGE_VERSION;
    let part = |x: u32| u16::try_from(x).unwrap_or(u16::MAX);
    let options = Options {
        version: [part(v.major), part(v.minor), part(v.micro), part(v.build)],
        monitor: env("MONITOR").is_some(),
        force_activate: env("FORCE_ACTIVATE").is_some(),
        vendor_device: env("VENDOR_DEVICE_ID"),
        arch: env("INF_ARCH").unwrap_or_else(|| "amd64".into()),
    };
    let checks = check_inf(&Inf::parse(&text), &options);
    let mut failures = 0usize;
    for c in &checks {
        if let Some(why) = &c.failure {
            failures += 1;
            println!("inf: FAILED {}: {why}", c.what);
        }
    }
    println!("inf: {} checks, {failures} failures", checks.len());
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
