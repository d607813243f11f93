// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The console log mirror on Windows, registered with xen.sys's log as a disposition.
//!
//! The FDO core's [`LogMirror`] is added with `LogAddDisposition` and removed with
//! `LogRemoveDisposition` (when its record drops). The sink
//! travels to the C callback as a boxed `Arc`, freed only after the removal returns (xen.sys
//! calls no disposition after that).

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::ffi::{c_char, c_void};

use ntstatus::NtStatus;
use platform_port::{IrqlLock, plog};
use platform_windows::WindowsPlatform;
use xen_services::imports::{LogAddDisposition, LogRemoveDisposition};

use crate::pnp::log_mirror::{LineSink, LogMirror};

/// What the callback's argument points at.
type SinkBox = Arc<dyn LineSink>;

/// One registered disposition.
struct Registered {
    /// xen.sys's `PLOG_DISPOSITION`.
    disposition: *mut c_void,
    /// The callback's argument (`Box::into_raw`).
    sink: *mut SinkBox,
}

// SAFETY: both pointers are plain handles: the disposition is xen.sys's, usable from any
// processor; the sink box is `Send + Sync` data owned by this record until it is dropped.
unsafe impl Send for Registered {}

/// The mirror the FDO registered, if any.
pub struct Mirrors {
    platform: WindowsPlatform,
    /// Held only to take or store the record; xen.sys is called with it released.
    slot: IrqlLock<WindowsPlatform, Option<Registered>>,
}

impl Mirrors {
    /// No mirror yet.
    pub const fn new(platform: WindowsPlatform) -> Self {
        Self {
            platform,
            slot: IrqlLock::dispatch(platform, None),
        }
    }

    /// Registers `mirror`, replacing the one registered, or with `None` removes it.
    /// `PASSIVE_LEVEL`.
    pub fn set(&self, mirror: Option<LogMirror>) {
        let old = self.slot.lock().take();
        drop(old);
        let Some(mirror) = mirror else {
            return;
        };
        let sink = Box::into_raw(Box::new(mirror.sink));
        let mut disposition: *mut c_void = core::ptr::null_mut();
        // SAFETY: `mirror_line` is a disposition callback as the export takes it; its argument
        // stays valid until `remove` frees it after `LogRemoveDisposition`; `disposition` is
        // writable.
        let status = unsafe {
            LogAddDisposition(mirror.mask, mirror_line, sink.cast(), &raw mut disposition)
        };
        if status < 0 || disposition.is_null() {
            // SAFETY: made by `Box::into_raw` above and never registered.
            drop(unsafe { Box::from_raw(sink) });
            plog!(
                self.platform,
                Warning,
                "xenbus|FDO: no console log mirror ({:08x})",
                status.cast_unsigned()
            );
            return;
        }
        let previous = self.slot.lock().replace(Registered { disposition, sink });
        drop(previous);
    }
}

impl Drop for Registered {
    /// `LogRemoveDisposition`, then the sink freed.
    fn drop(&mut self) {
        // SAFETY: a disposition `LogAddDisposition` returned and not removed since.
        unsafe { LogRemoveDisposition(self.disposition) };
        // SAFETY: made by `Box::into_raw` in `Mirrors::set`; xen.sys calls the disposition
        // no more, and this record is its only owner.
        drop(unsafe { Box::from_raw(self.sink) });
    }
}

/// The disposition callback: one log line to the sink. Runs inside xen.sys's log with its
/// lock held, at any IRQL: no logging, blocking or allocation here.
unsafe extern "C" fn mirror_line(argument: *mut c_void, line: *mut c_char, length: u32) {
    if argument.is_null() || line.is_null() {
        return;
    }
    let Ok(length) = usize::try_from(length) else {
        return;
    };
    // SAFETY: xen.sys passes `length` readable bytes at `line` for the call.
    let text = unsafe { core::slice::from_raw_parts(line.cast::<u8>(), length) };
    // SAFETY: the argument `set` registered, alive until after `LogRemoveDisposition`.
    let sink = unsafe { &*argument.cast::<SinkBox>() };
    sink.line(text);
}

/// `LogReadLogLevel(Parameters, "ConsoleLogLevel")`: the mirrored levels, 0 when the value is
/// missing or not a `REG_MULTI_SZ` (xen.sys logs what it found wrong).
pub fn console_log_level(parameters: *mut c_void) -> u32 {
    let mut level = 0u32;
    // SAFETY: PASSIVE_LEVEL; an open key handle, a NUL-terminated name, a writable level.
    let status: NtStatus = unsafe {
        xen_services::imports::LogReadLogLevel(
            parameters,
            c"ConsoleLogLevel".as_ptr(),
            &raw mut level,
        )
    };
    if status < 0 { 0 } else { level }
}
