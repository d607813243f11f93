// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Line output on Xen's console through `xen::console::write`, one hypercall per line so lines
//! from different CPUs never interleave.

use core::fmt::{self, Write};

/// Serialises output between CPUs.
static LOCK: spin::Mutex<()> = spin::Mutex::new(());

/// A line being assembled; flushed when full and at the end.
struct Line {
    buf: [u8; 256],
    len: usize,
}

impl Line {
    fn flush(&mut self) {
        let bytes = self.buf.get(..self.len).unwrap_or_default();
        emit(bytes);
        self.len = 0;
    }
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if self.len == self.buf.len() {
                self.flush();
            }
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
        Ok(())
    }
}

/// Writes raw bytes: through the hypercall once Xen is known, else to port 0xE9 (Xen's debug
/// console for HVM guests).
fn emit(bytes: &[u8]) {
    if let Some(xen) = crate::XEN.get()
        && xen::console::write(xen, bytes).is_ok()
    {
        return;
    }
    for &b in bytes {
        // SAFETY: port 0xE9 is Xen's debug console; writing it has no other effect.
        unsafe { core::arch::asm!("out 0xe9, al", in("al") b, options(nomem, nostack)) };
    }
}

/// Prints `args` followed by a newline, as one write.
pub fn println(args: fmt::Arguments<'_>) {
    let mut line = Line {
        buf: [0; 256],
        len: 0,
    };
    let _ = line.write_fmt(args);
    let _ = line.write_str("\n");
    let guard = LOCK.lock();
    line.flush();
    drop(guard);
}

/// Prints without taking the lock (for the fatal path, which may interrupt a printer).
pub fn println_unlocked(args: fmt::Arguments<'_>) {
    let mut line = Line {
        buf: [0; 256],
        len: 0,
    };
    let _ = line.write_fmt(args);
    let _ = line.write_str("\n");
    line.flush();
}

/// `println!` for the kernel.
#[macro_export]
macro_rules! kprintln {
    ($($arg:tt)*) => {
        $crate::console::println(format_args!($($arg)*))
    };
}
