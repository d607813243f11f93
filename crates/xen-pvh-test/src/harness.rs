// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Check bookkeeping: one `XTK-PASS:`/`XTK-FAIL:` line per check, then
//! `XTK-RESULT: N passed, F failed`, which scripts/xen-qemu-test reads.

use core::fmt::{self, Debug};
use core::sync::atomic::{AtomicU32, Ordering};
use xen::status::{NtStatus, Result};

static PASSED: AtomicU32 = AtomicU32::new(0);
static FAILED: AtomicU32 = AtomicU32::new(0);

/// Records one check.
pub fn check(name: &str, ok: bool, detail: fmt::Arguments<'_>) -> bool {
    if ok {
        PASSED.fetch_add(1, Ordering::SeqCst);
        crate::kprintln!("XTK-PASS: {name} ({detail})");
    } else {
        FAILED.fetch_add(1, Ordering::SeqCst);
        crate::kprintln!("XTK-FAIL: {name} ({detail})");
    }
    ok
}

/// Passes when `result` is `Ok`, and returns the value.
pub fn ok<T: Debug>(name: &str, result: Result<T>) -> Option<T> {
    match result {
        Ok(value) => {
            check(name, true, format_args!("ok {value:?}"));
            Some(value)
        }
        Err(err) => {
            check(
                name,
                false,
                format_args!("{err} -> {:#010x}", err.ntstatus().cast_unsigned()),
            );
            None
        }
    }
}

/// Passes when `result` failed with an error that upstream reports as `want`.
pub fn status<T: Debug>(name: &str, result: Result<T>, want: NtStatus) -> bool {
    match result {
        Ok(value) => check(
            name,
            false,
            format_args!(
                "succeeded with {value:?}, wanted {:#010x}",
                want.cast_unsigned()
            ),
        ),
        Err(err) => {
            let got = err.ntstatus();
            check(
                name,
                got == want,
                format_args!(
                    "{err} -> {:#010x}, wanted {:#010x}",
                    got.cast_unsigned(),
                    want.cast_unsigned()
                ),
            )
        }
    }
}

/// The checks passed and failed so far.
pub fn counts() -> (u32, u32) {
    (PASSED.load(Ordering::SeqCst), FAILED.load(Ordering::SeqCst))
}

/// Prints the result line.
pub fn result_line() {
    crate::kprintln!(
        "XTK-RESULT: {} passed, {} failed",
        PASSED.load(Ordering::SeqCst),
        FAILED.load(Ordering::SeqCst)
    );
}

/// Reports an unrecoverable error as a failed check, prints the result and reboots.
pub fn fatal(args: fmt::Arguments<'_>) -> ! {
    crate::arch::disable_interrupts();
    FAILED.fetch_add(1, Ordering::SeqCst);
    crate::console::println_unlocked(format_args!("XTK-FAIL: fatal ({args})"));
    crate::console::println_unlocked(format_args!(
        "XTK-RESULT: {} passed, {} failed",
        PASSED.load(Ordering::SeqCst),
        FAILED.load(Ordering::SeqCst)
    ));
    crate::reboot()
}
