// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `Log*` exports, the one global [`Log`] behind them, and the hooks the glue calls for
//! `DbgPrint` capture.
//!
//! The log sits behind a [`HighLock`]: a spin lock taken at `HIGH_LEVEL`, raised through the
//! platform's [`platform_port::Irql`], as upstream's `HIGH_LOCK`. Every export may be called at
//! any IRQL, and dispositions run with the lock held, so a disposition must not log (it would
//! spin on the lock, as it deadlocks upstream; a checking platform reports the recursive
//! acquisition instead).

use core::ffi::{c_char, c_void};
use core::sync::atomic::{AtomicBool, Ordering};

use super::{
    DebugLevel, HighLock, NtStatus, STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED,
    STATUS_OBJECT_NAME_NOT_FOUND, STATUS_SUCCESS, STATUS_UNSUCCESSFUL, c_bytes, debug_message,
    platform,
};
use crate::log::{
    CaptureFilter, DispositionHandle, LINE_SIZE, Level, LevelError, Log, LogArg, LogError, Sink,
    VaLogArgs, read_log_level,
};

/// A disposition callback as `LogAddDisposition` takes it: `(Argument, Buffer, Length)`.
pub type DispositionFn = unsafe extern "C" fn(*mut c_void, *mut c_char, u32);

/// The sinks behind the exported log.
#[derive(Debug)]
pub struct ExportSink {
    kind: SinkKind,
}

#[derive(Debug)]
enum SinkKind {
    /// xen.sys's own: bytes to an I/O port through the platform.
    Port(u16),
    /// A child's callback.
    Callback {
        function: DispositionFn,
        argument: *mut c_void,
    },
}

// The raw argument is the C caller's, covered by the SAFETY note below.
#[allow(clippy::non_send_fields_in_send_ty)]
// SAFETY: a C disposition is registered under `LogAddDisposition`'s contract, which makes its
// function and argument usable from any CPU at any IRQL for as long as it is registered; the
// port variant holds plain data.
unsafe impl Send for ExportSink {}

impl ExportSink {
    /// A sink writing to I/O port `port`.
    #[must_use]
    pub const fn port(port: u16) -> Self {
        Self {
            kind: SinkKind::Port(port),
        }
    }
}

impl Sink for ExportSink {
    fn write(&mut self, _level: Level, text: &[u8]) {
        match self.kind {
            SinkKind::Port(port) => {
                if let Some(p) = platform() {
                    for &b in text {
                        p.outb(port, b);
                    }
                }
            }
            SinkKind::Callback { function, argument } => {
                // The callback gets a NUL-terminated copy (see `crate::log`).
                let mut copy = [0u8; LINE_SIZE + 1];
                let len = text.len().min(LINE_SIZE);
                if let (Some(dst), Some(src)) = (copy.get_mut(..len), text.get(..len)) {
                    dst.copy_from_slice(src);
                }
                let length = u32::try_from(len).unwrap_or(0);
                // SAFETY: `LogAddDisposition`'s contract: `function` may be called with its
                // `argument` and a buffer of `length` bytes (ours is terminated) at any IRQL.
                unsafe { function(argument, copy.as_mut_ptr().cast::<c_char>(), length) };
            }
        }
    }
}

/// The log behind the exports.
static LOG: HighLock<Log<ExportSink>> = HighLock::new(Log::new());

/// Whether `DbgPrint` capture is on (`XEN:DBG_PRINT=` not `OFF`).
static CAPTURE: AtomicBool = AtomicBool::new(false);

/// The capture filter: upstream's free-build filter (`xen*` lines only) in every build of
/// ours, debug builds included, so what reaches the consoles never depends on the build type.
const FILTER: CaptureFilter = CaptureFilter::XenPrefix;

fn with_log<T>(f: impl FnOnce(&mut Log<ExportSink>) -> T) -> T {
    LOG.with(f)
}

/// Turns `DbgPrint` capture on or off (the glue registers the kernel callback accordingly).
pub fn set_capture(enabled: bool) {
    CAPTURE.store(enabled, Ordering::SeqCst);
}

/// Whether `DbgPrint` capture is on.
#[must_use]
pub fn capture_enabled() -> bool {
    CAPTURE.load(Ordering::SeqCst)
}

/// The `DbgPrint` callback: queues `text` if capture is on and the filter keeps it. Returns
/// true when the caller must schedule [`flush`] (upstream queues a DPC).
#[must_use]
pub fn capture_dbg_print(text: &[u8], level: u32) -> bool {
    capture_enabled() && with_log(|log| log.capture(text, level, FILTER))
}

/// Flushes pending lines (the capture DPC).
pub fn flush() {
    with_log(Log::flush);
}

/// What a host without a kernel debugger does for `DbgPrintEx`: capture, then flush at once.
pub(crate) fn deliver_debug_print(text: &[u8], level: u32) {
    if capture_dbg_print(text, level) {
        flush();
    }
}

/// Logs an already formatted line and flushes.
pub(crate) fn write_line(level: Level, text: &[u8]) {
    with_log(|log| log.write_line(level, text));
}

/// Adds one of xen.sys's port dispositions (`0xE9` or `0x12`).
///
/// # Errors
/// [`LogError::TableFull`].
pub fn add_port_disposition(mask: Level, port: u16) -> Result<Option<DispositionHandle>, LogError> {
    with_log(|log| log.add_disposition(mask, ExportSink::port(port)))
}

/// Removes a disposition added by [`add_port_disposition`].
pub fn remove_disposition(handle: Option<DispositionHandle>) {
    // Drop the sink after the lock is released.
    let _sink = with_log(|log| log.remove_disposition(handle));
}

/// Clears every disposition and pending line (`LogTeardown`, and between host tests).
pub fn reset() {
    with_log(Log::clear);
    set_capture(false);
}

/// The C `va_list` of this target.
#[cfg(windows)]
pub type RawVaList = kprintf::RawWin64VaList;
/// The C `va_list` of this target.
#[cfg(not(windows))]
pub type RawVaList = kprintf::RawSysVVaList;

/// Formats with upstream's printf into the log and flushes.
///
/// # Safety
/// `format` must be NULL or a NUL-terminated string, and `arguments` a live `va_list` holding
/// arguments that match it (C's contract, as in [`VaLogArgs::new`]).
unsafe fn vprintf(level: u32, count: u32, format: *const c_char, arguments: RawVaList) {
    // SAFETY: the caller passes NULL or a NUL-terminated format.
    let Some(fmt) = (unsafe { c_bytes(format) }) else {
        return;
    };
    #[cfg(windows)]
    // SAFETY: the caller's `va_list` holds arguments matching the format.
    let source = unsafe { kprintf::Win64VaList::new(arguments) };
    #[cfg(not(windows))]
    // SAFETY: the caller's `va_list` is live and holds arguments matching the format.
    let source = unsafe { kprintf::SysVVaList::new(arguments) };
    // SAFETY: as above, the format matches the arguments, `%Z`/`%wZ` included.
    let mut args = unsafe { VaLogArgs::new(source) };
    with_log(|log| log.printf(Level::from_bits_retain(level), count, fmt, &mut args));
}

/// `VOID LogCchVPrintf(LOG_LEVEL Level, ULONG Count, PCSTR Format, va_list Arguments)`.
///
/// # Safety
/// `Format` is NULL or NUL-terminated and `Arguments` matches it, as for C's `vprintf`.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "LogCchVPrintf")]
pub unsafe extern "C" fn log_cch_vprintf(
    level: u32,
    count: u32,
    format: *const c_char,
    arguments: RawVaList,
) {
    // SAFETY: the caller's contract is this function's.
    unsafe { vprintf(level, count, format, arguments) };
}

/// `VOID LogVPrintf(LOG_LEVEL Level, PCSTR Format, va_list Arguments)`.
///
/// # Safety
/// As [`log_cch_vprintf`].
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "LogVPrintf")]
pub unsafe extern "C" fn log_vprintf(level: u32, format: *const c_char, arguments: RawVaList) {
    // SAFETY: the caller's contract is this function's.
    unsafe { vprintf(level, 256, format, arguments) };
}

#[cfg(not(windows))]
mod variadic {
    //! The System V entry thunks of the variadic exports (host builds).
    use super::{RawVaList, c_char, vprintf};

    kprintf::sysv64_variadic_thunk! {
        /// `LogPrintf`'s variadic entry.
        pub fn xen_log_printf_entry(u32, *const c_char, ...) -> () => log_printf_va;
    }
    kprintf::sysv64_variadic_thunk! {
        /// `LogCchPrintf`'s variadic entry.
        pub fn xen_log_cch_printf_entry(u32, u32, *const c_char, ...) -> () => log_cch_printf_va;
    }

    /// # Safety
    /// Called only by the thunk, with the caller's arguments.
    unsafe extern "sysv64" fn log_printf_va(level: u32, format: *const c_char, va: RawVaList) {
        // SAFETY: the variadic caller's contract: the arguments match the format.
        unsafe { vprintf(level, 256, format, va) };
    }

    /// # Safety
    /// Called only by the thunk, with the caller's arguments.
    unsafe extern "sysv64" fn log_cch_printf_va(
        level: u32,
        count: u32,
        format: *const c_char,
        va: RawVaList,
    ) {
        // SAFETY: the variadic caller's contract: the arguments match the format.
        unsafe { vprintf(level, count, format, va) };
    }
}

#[cfg(windows)]
mod variadic {
    //! The Windows x64 entry thunks of the variadic exports.
    use super::{RawVaList, c_char, vprintf};

    kprintf::win64_variadic_thunk! {
        /// `LogPrintf`'s variadic entry.
        pub fn xen_log_printf_entry(u32, *const c_char, ...) -> () => log_printf_va;
    }
    kprintf::win64_variadic_thunk! {
        /// `LogCchPrintf`'s variadic entry.
        pub fn xen_log_cch_printf_entry(u32, u32, *const c_char, ...) -> () => log_cch_printf_va;
    }

    /// # Safety
    /// Called only by the thunk, with the caller's arguments.
    unsafe extern "win64" fn log_printf_va(level: u32, format: *const c_char, va: RawVaList) {
        // SAFETY: the variadic caller's contract: the arguments match the format.
        unsafe { vprintf(level, 256, format, va) };
    }

    /// # Safety
    /// Called only by the thunk, with the caller's arguments.
    unsafe extern "win64" fn log_cch_printf_va(
        level: u32,
        count: u32,
        format: *const c_char,
        va: RawVaList,
    ) {
        // SAFETY: the variadic caller's contract: the arguments match the format.
        unsafe { vprintf(level, count, format, va) };
    }
}

/// `VOID LogPrintf(LOG_LEVEL Level, PCSTR Format, ...)`: a tail jump into the variadic thunk,
/// which hands the arguments to the log's printf as a `va_list`.
///
/// # Safety
/// Only for C callers, with the C prototype above and arguments that match the format. Never
/// call it through this Rust signature.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "LogPrintf")]
// SAFETY: the body is a single jump that leaves every register and the stack as the caller set
// them, so the thunk sees the caller's exact frame; it needs no prologue.
#[unsafe(naked)]
pub unsafe extern "C" fn log_printf() {
    core::arch::naked_asm!("jmp {entry}", entry = sym variadic::xen_log_printf_entry);
}

/// `VOID LogCchPrintf(LOG_LEVEL Level, ULONG Count, PCSTR Format, ...)`.
///
/// # Safety
/// As [`log_printf`].
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "LogCchPrintf")]
// SAFETY: a single jump, as in `log_printf`.
#[unsafe(naked)]
pub unsafe extern "C" fn log_cch_printf() {
    core::arch::naked_asm!("jmp {entry}", entry = sym variadic::xen_log_cch_printf_entry);
}

/// `VOID LogResume(VOID)`: re-registers the `DbgPrint` callback if capture is on.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "LogResume")]
pub extern "C" fn log_resume() {
    if capture_enabled()
        && let Some(p) = platform()
    {
        p.log_resume();
    }
}

/// `NTSTATUS LogReadLogLevel(HANDLE Key, PSTR Name, PLOG_LEVEL LogLevel)`: ORs the level names
/// of the `REG_MULTI_SZ` `Name` under `Key`. On failure `*LogLevel` is `LOG_LEVEL_NONE`.
///
/// # Safety
/// `Name` is NULL or NUL-terminated; `LogLevel` is NULL or writable; `Key` is an open registry
/// handle (passed to the platform untouched).
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "LogReadLogLevel")]
#[must_use]
pub unsafe extern "C" fn log_read_log_level(
    key: *mut c_void,
    name: *const c_char,
    log_level: *mut u32,
) -> NtStatus {
    if log_level.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    // SAFETY: the caller passes NULL or a NUL-terminated name.
    let name = unsafe { c_bytes(name) };
    let mut result = Err(LevelError::Os(STATUS_NOT_SUPPORTED));
    match (name, platform()) {
        (Some(name), Some(p)) => p.read_level_value(key, name, &mut |v| {
            result = read_log_level(v);
        }),
        (None, _) => result = Err(LevelError::Os(STATUS_INVALID_PARAMETER)),
        (Some(_), None) => {}
    }
    let (level, status) = match result {
        Ok(level) => (level, STATUS_SUCCESS),
        Err(LevelError::NotFound) => (Level::NONE, STATUS_OBJECT_NAME_NOT_FOUND),
        Err(LevelError::NotMultiSz) => (Level::NONE, STATUS_INVALID_PARAMETER),
        Err(LevelError::Os(status)) => (Level::NONE, status),
    };
    // SAFETY: non-NULL and writable by the caller's contract.
    unsafe { log_level.write_unaligned(level.bits()) };
    if status != STATUS_SUCCESS && status != STATUS_OBJECT_NAME_NOT_FOUND {
        debug_message(
            DebugLevel::Error,
            "LogReadLogLevel",
            b"fail1 (%08x)\n",
            &[LogArg::Int(u64::from(status.cast_unsigned()))],
        );
    }
    status
}

/// The opaque `PLOG_DISPOSITION` for a handle.
fn handle_to_ptr(handle: DispositionHandle) -> *mut c_void {
    core::ptr::without_provenance_mut(usize::try_from(handle.to_raw()).unwrap_or(0))
}

/// `NTSTATUS LogAddDisposition(LOG_LEVEL Mask, VOID (*Function)(PVOID, PSTR, ULONG), PVOID
/// Argument, PLOG_DISPOSITION *Disposition)`.
///
/// A mask of `LOG_LEVEL_NONE` adds nothing and succeeds with `*Disposition` NULL; a full table
/// gives `STATUS_UNSUCCESSFUL`. A NULL `Function` with a non-empty mask, or a NULL
/// `Disposition`, gives `STATUS_INVALID_PARAMETER` (upstream would fault later).
///
/// # Safety
/// `Disposition` is NULL or writable. Until it is removed, `Function` must be callable at any
/// IRQL from any CPU with `Argument` and a buffer, and must not log.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "LogAddDisposition")]
#[must_use]
pub unsafe extern "C" fn log_add_disposition(
    mask: u32,
    function: Option<DispositionFn>,
    argument: *mut c_void,
    disposition: *mut *mut c_void,
) -> NtStatus {
    if disposition.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    // SAFETY: non-NULL and writable by the caller's contract.
    unsafe { disposition.write_unaligned(core::ptr::null_mut()) };
    let mask = Level::from_bits_retain(mask);
    if mask.is_empty() {
        return STATUS_SUCCESS;
    }
    let Some(function) = function else {
        return STATUS_INVALID_PARAMETER;
    };
    let sink = ExportSink {
        kind: SinkKind::Callback { function, argument },
    };
    match with_log(|log| log.add_disposition(mask, sink)) {
        Ok(handle) => {
            if let Some(handle) = handle {
                // SAFETY: non-NULL and writable by the caller's contract.
                unsafe { disposition.write_unaligned(handle_to_ptr(handle)) };
            }
            STATUS_SUCCESS
        }
        Err(LogError::TableFull) => {
            debug_message(
                DebugLevel::Error,
                "LogAddDisposition",
                b"fail1 (%08x)\n",
                &[LogArg::Int(u64::from(STATUS_UNSUCCESSFUL.cast_unsigned()))],
            );
            STATUS_UNSUCCESSFUL
        }
    }
}

/// `VOID LogRemoveDisposition(PLOG_DISPOSITION Disposition)`: NULL, or a handle already
/// removed, does nothing.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "LogRemoveDisposition")]
pub extern "C" fn log_remove_disposition(disposition: *mut c_void) {
    remove_disposition(DispositionHandle::from_raw(disposition.addr()));
}
