// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Log output: each line to the debugger output, as upstream's (a kernel debugger, `DebugView`,
//! or Wine's `debugstr` channel show it), and the system's text for a Win32 error.

use core::ptr::{null, null_mut};

use monitor::log::{Level, line};
use monitor::text::{from_wide, wide};
use windows_sys::Win32::System::Diagnostics::Debug::{
    FORMAT_MESSAGE_FROM_SYSTEM, FORMAT_MESSAGE_IGNORE_INSERTS, FormatMessageW, OutputDebugStringW,
};

/// Logs `message` of step `step` at `level`.
pub fn log(level: Level, step: &str, message: &str) {
    let text = wide(&line(level, step, message));
    // SAFETY: `text` is a NUL-terminated UTF-16 string that outlives the call.
    unsafe { OutputDebugStringW(text.as_ptr()) };
}

/// Logs progress.
pub fn info(step: &str, message: &str) {
    log(Level::Info, step, message);
}

/// Logs a failure.
pub fn error(step: &str, message: &str) {
    log(Level::Error, step, message);
}

/// `error N (the system's text for it)`, the text's first line only, as upstream logs errors.
pub fn error_text(code: u32) -> String {
    let mut buffer = [0u16; 512];
    let size = u32::try_from(buffer.len()).unwrap_or(0);
    // SAFETY: FORMAT_MESSAGE_FROM_SYSTEM with IGNORE_INSERTS reads no source and no arguments;
    // `buffer` holds `size` UTF-16 units and receives the text.
    let written = unsafe {
        FormatMessageW(
            FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
            null(),
            code,
            0,
            buffer.as_mut_ptr(),
            size,
            null_mut(),
        )
    };
    let written = usize::try_from(written).unwrap_or(0).min(buffer.len());
    let text = from_wide(buffer.get(..written).unwrap_or_default());
    let first = text.lines().next().unwrap_or("").trim();
    if first.is_empty() {
        format!("error {code}")
    } else {
        format!("error {code} ({first})")
    }
}
