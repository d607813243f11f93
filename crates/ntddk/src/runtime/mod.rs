// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! What every image needs from the kernel before any driver code runs.
//!
//! That is the pool allocator, the panic handler (a bug check with [`PANIC_BUGCHECK_CODE`], never a loop), debug output, and the
//! symbols the precompiled `core` references.
//!
//! Each image calls [`init`] first thing in its entry point (`DriverEntry` or `DllInitialize`,
//! at PASSIVE_LEVEL), naming itself for panic messages and resolving `ExAllocatePool2`.

mod backend;
pub mod driver;
pub mod irp;
pub mod pnp;
pub mod pool;
pub mod remove_lock;

use core::fmt::Write as _;
use core::sync::atomic::{AtomicPtr, Ordering};

pub use backend::Allocator;

use crate::consts::{DPFLTR_ERROR_LEVEL, DPFLTR_IHVDRIVER_ID};

/// The bug-check code an image raises when it panics or breaks a kernel rule it checks itself.
///
/// Customer-defined codes have the top three bits set (`0xE0000000`..), per Microsoft's
/// documentation of `KeBugCheckEx`; the low bytes spell `XEN`.
///
/// Parameters: 1 the image's name (a C string), 2 the source file (not NUL-terminated), 3 the
/// line, 4 the column; for a rule broken ([`fatal`]): 1 the image's name, 2 the rule's text,
/// 3 the detail value, 4 zero.
pub const PANIC_BUGCHECK_CODE: u32 = 0xE058_454E;

/// The image's name, set by [`init`].
static IMAGE_NAME: AtomicPtr<u8> = AtomicPtr::new(c"xen-rs".as_ptr().cast_mut().cast());

/// Prepares the runtime: records the image's name for panic messages and resolves the pool
/// routines this kernel has. Call once, first, at PASSIVE_LEVEL.
pub fn init(image: &'static core::ffi::CStr) {
    IMAGE_NAME.store(image.as_ptr().cast_mut().cast(), Ordering::Relaxed);
    pool::resolve();
}

/// The image's name as a C string.
fn image_name() -> *const u8 {
    IMAGE_NAME.load(Ordering::Relaxed)
}

/// The highest IRQL `DbgPrintEx` may be called at (`DIRQL`: `CLOCK_LEVEL` and above belong to
/// the kernel).
const MAX_PRINT_IRQL: crate::types::KIRQL = 12;

/// Writes `text` to the kernel debugger as one `DbgPrintEx` message of the IHV component.
///
/// `level` is a `DPFLTR_*_LEVEL`; non-paged text, at any IRQL up to `DIRQL`. Above it (a rule
/// broken at `HIGH_LEVEL`, say) the message is dropped, as `DbgPrintEx` may not be called there
/// (a bug check still names what [`fatal`] stopped for).
pub fn print(level: u32, text: &[u8]) {
    #[cfg(all(windows, target_arch = "x86_64"))]
    if crate::irql::current() > MAX_PRINT_IRQL {
        return;
    }
    let len = i32::try_from(text.len()).unwrap_or(i32::MAX);
    // SAFETY: `%.*s` reads at most `len` bytes of `text`, which is valid for that many.
    unsafe {
        crate::routines::DbgPrintEx(
            DPFLTR_IHVDRIVER_ID,
            level,
            c"%.*s".as_ptr(),
            len,
            text.as_ptr(),
        );
    }
}

/// Writes one message made of `parts` (a module prefix such as `xenbus|DriverEntry: `, then the
/// text), truncated at 255 bytes, as [`print`] does.
pub fn print_parts(level: u32, parts: &[&[u8]]) {
    let mut m = Message::new();
    for part in parts {
        m.push(part);
    }
    print(level, m.text());
}

/// Formats `args` into one message (truncated at 255 bytes) and prints it at `level`. No
/// allocation, so usable at any IRQL.
pub fn print_fmt(level: u32, args: core::fmt::Arguments<'_>) {
    let mut m = Message::new();
    let _ = m.write_fmt(args);
    print(level, m.text());
}

/// Logs what the image still holds after `context` (e.g. `xenbus|DriverUnload`) released
/// everything it acquired: pool blocks and registry handles, both expected to be zero.
#[cfg(windows)]
pub fn report_held(context: &str) {
    print_fmt(
        crate::consts::DPFLTR_INFO_LEVEL,
        format_args!(
            "{context}: released: {} pool blocks and {} registry handles still held\n",
            pool::outstanding(),
            crate::registry::open_keys()
        ),
    );
}

/// A fixed buffer for messages formatted where nothing may allocate (the panic path).
struct Message {
    bytes: [u8; 256],
    used: usize,
}

impl Message {
    const fn new() -> Self {
        Self {
            bytes: [0; 256],
            used: 0,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        let room = self.bytes.len().saturating_sub(1);
        for &b in bytes {
            if self.used >= room {
                break;
            }
            if let Some(slot) = self.bytes.get_mut(self.used) {
                *slot = b;
                self.used = self.used.saturating_add(1);
            }
        }
    }

    fn text(&self) -> &[u8] {
        self.bytes.get(..self.used).unwrap_or(&[])
    }
}

impl core::fmt::Write for Message {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        // Keep the last byte for a newline; silently truncate the rest.
        self.push(s.as_bytes());
        Ok(())
    }
}

/// Stops the machine because the image broke a rule it checks itself (an allocation above
/// DISPATCH_LEVEL, say): prints `rule` and `detail`, then bug-checks with
/// [`PANIC_BUGCHECK_CODE`].
pub fn fatal(rule: &'static core::ffi::CStr, detail: usize) -> ! {
    let mut m = Message::new();
    let name = image_name();
    // SAFETY: `IMAGE_NAME` always holds a NUL-terminated static string.
    let name = unsafe { core::ffi::CStr::from_ptr(name.cast()) };
    let _ = writeln!(
        m,
        "{}: FATAL: {} ({detail:#x})",
        name.to_str().unwrap_or("?"),
        rule.to_str().unwrap_or("?")
    );
    print(DPFLTR_ERROR_LEVEL, m.text());
    // SAFETY: a bug check is always allowed; it does not return.
    unsafe {
        crate::routines::KeBugCheckEx(
            PANIC_BUGCHECK_CODE,
            name.as_ptr() as usize,
            rule.as_ptr() as usize,
            detail,
            0,
        )
    }
}

/// The panic path shared by both backends' handlers: message, then bug check.
#[cfg_attr(feature = "wdk", allow(dead_code))]
fn panicked(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut m = Message::new();
    let name = image_name();
    // SAFETY: `IMAGE_NAME` always holds a NUL-terminated static string.
    let name = unsafe { core::ffi::CStr::from_ptr(name.cast()) };
    let _ = writeln!(m, "{}: PANIC: {}", name.to_str().unwrap_or("?"), info);
    print(DPFLTR_ERROR_LEVEL, m.text());
    let (file, line, column) = info.location().map_or((core::ptr::null(), 0, 0), |l| {
        (l.file().as_ptr(), l.line(), l.column())
    });
    // SAFETY: a bug check is always allowed; it does not return.
    unsafe {
        crate::routines::KeBugCheckEx(
            PANIC_BUGCHECK_CODE,
            name.as_ptr() as usize,
            file as usize,
            line as usize,
            column as usize,
        )
    }
}
