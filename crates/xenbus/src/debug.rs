// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! DEBUG: named debug callbacks, run on demand or when the system crashes.
//!
//! Every subsystem and child registers one; they run for the `VIRQ_DEBUG` Xen raises for the
//! host's `q` key, for the store watchdog, and on bug-check. Inside a callback `Printf` logs
//! lines prefixed with the callback's name.
//!
//! Upstream (`debug.c`, spec §5.3 and §1.4):
//! - Register copies a prefix of at most 31 characters and records the function, argument and
//!   caller; callbacks run in registration order.
//! - Trigger (one or all) runs callbacks with `Crashing = FALSE` at `HIGH_LEVEL` under the list
//!   lock. Before each callback the function's module is looked up; if it is no longer loaded
//!   the callback is skipped (and the registering module named in the log); otherwise the call
//!   is bracketed by `XEN|DEBUG: ====>` / `<====` lines.
//! - Printf logs `"<prefix>: "` and the text at `LOG_LEVEL_INFO`.
//! - The bug-check callback runs every callback with `Crashing = TRUE` without the lock.
//!
//! Decisions:
//! - Callbacks here are Rust closures; [`Origin`] carries the C function/argument/caller
//!   addresses the interface provider knows (zero for callbacks registered from Rust). Module
//!   lookup is an optional [`ModuleLookup`]: without one, or for an origin without a function
//!   address, every callback runs and the banner names its prefix.
//! - Printf produces one log line (`prefix: text`) instead of upstream's two `LogPrintf` calls,
//!   so concurrent log output cannot land between the prefix and the text. Outside a callback
//!   the text is logged without a prefix (upstream prints `(null): `).
//! - The crash path ([`Debug::crash_dump`]) may not wait for the lock (the holder may be the
//!   crashing processor), and walking the list while someone else is changing it is unsound. It
//!   tries the lock a bounded number of times and, if it stays busy, logs that the callbacks
//!   were skipped.
//! - Release of the last reference with callbacks still registered (upstream's BUG
//!   "OUTSTANDING CALLBACKS") logs the fact at `ERROR` and leaves the list intact.

use alloc::sync::Arc;
use core::fmt;

use ntstatus::{NtStatus, STATUS_INVALID_PARAMETER, STATUS_NO_MEMORY};
use platform_port::{IrqlLock, LogLevel, Platform, plog};

use crate::callback_list::CallbackList;

/// Longest prefix kept (upstream's `MAXIMUM_PREFIX_LENGTH - 1`).
pub const MAX_PREFIX_LEN: usize = 31;

/// Size of the buffer C-variadic Printf formats into (longer text is cut).
pub const PRINTF_BUFFER: usize = 1024;

/// How often the crash path tries the list lock before giving up.
const CRASH_LOCK_ATTEMPTS: u32 = 1000;

/// A DEBUG failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DebugError {
    /// No memory for the registration.
    NoMemory,
    /// A bad argument (an unknown callback handle).
    InvalidParameter,
}

impl DebugError {
    /// Upstream's status.
    #[must_use]
    pub const fn status(self) -> NtStatus {
        match self {
            Self::NoMemory => STATUS_NO_MEMORY,
            Self::InvalidParameter => STATUS_INVALID_PARAMETER,
        }
    }
}

impl fmt::Display for DebugError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoMemory => "no memory",
            Self::InvalidParameter => "invalid parameter",
        })
    }
}

/// Where a callback came from: the C addresses the interface provider saw (zero when the
/// callback was registered from Rust). Used for the module lookup and the dumps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// The callback function's address.
    pub function: usize,
    /// The callback's argument.
    pub argument: usize,
    /// The return address of the registering call.
    pub caller: usize,
}

/// xen.sys's `ModuleLookup`: which loaded module holds an address.
pub trait ModuleLookup: Send + Sync {
    /// Calls `found(module name, offset)` and returns true if `address` lies in a loaded
    /// module; returns false otherwise. Must not allocate (it runs at `HIGH_LEVEL`).
    fn lookup(&self, address: usize, found: &mut dyn FnMut(&str, usize)) -> bool;
}

/// A debug callback body: `crashing` is true on the bug-check path.
pub type DebugFunction = Arc<dyn Fn(bool) + Send + Sync>;

/// A fixed-size copy of a prefix (no allocation when it is made current at `HIGH_LEVEL`).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Prefix {
    bytes: [u8; MAX_PREFIX_LEN],
    len: usize,
}

impl Prefix {
    fn new(text: &[u8]) -> Self {
        let text = text.split(|&b| b == 0).next().unwrap_or_default();
        let len = text.len().min(MAX_PREFIX_LEN);
        let mut bytes = [0; MAX_PREFIX_LEN];
        if let (Some(dst), Some(src)) = (bytes.get_mut(..len), text.get(..len)) {
            dst.copy_from_slice(src);
        }
        Self { bytes, len }
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// Displays bytes as text: valid UTF-8 as is, anything else as `\xNN`.
pub struct Text<'a>(pub &'a [u8]);

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            for byte in chunk.invalid() {
                write!(f, "\\x{byte:02x}")?;
            }
        }
        Ok(())
    }
}

/// One registration.
pub struct DebugCallback {
    prefix: Prefix,
    function: DebugFunction,
    origin: Origin,
}

impl DebugCallback {
    /// The prefix as stored (at most [`MAX_PREFIX_LEN`] bytes).
    #[must_use]
    pub fn prefix(&self) -> &[u8] {
        self.prefix.as_bytes()
    }

    /// Where it came from.
    #[must_use]
    pub const fn origin(&self) -> Origin {
        self.origin
    }
}

/// The DEBUG context.
pub struct Debug<P: Platform> {
    platform: P,
    references: IrqlLock<P, u32>,
    callbacks: CallbackList<P, DebugCallback>,
    current: spin::Mutex<Option<Prefix>>,
    crashing: core::sync::atomic::AtomicBool,
    lookup: Option<Arc<dyn ModuleLookup>>,
}

impl<P: Platform> Debug<P> {
    /// A context; `lookup` is xen.sys's `ModuleLookup` where available.
    pub fn new(platform: P, lookup: Option<Arc<dyn ModuleLookup>>) -> Self {
        Self {
            references: IrqlLock::dispatch(platform.clone(), 0),
            callbacks: CallbackList::high(platform.clone()),
            current: spin::Mutex::new(None),
            crashing: core::sync::atomic::AtomicBool::new(false),
            lookup,
            platform,
        }
    }

    /// `DebugAcquire`. The glue registers the bug-check callback (component "xenbus") calling
    /// [`Debug::crash_dump`] when this returns for the first reference.
    ///
    /// # Errors
    /// None today; the signature matches every subsystem's.
    pub fn acquire(&self) -> Result<(), DebugError> {
        let mut references = self.references.lock();
        *references = references.saturating_add(1);
        Ok(())
    }

    /// `DebugRelease`.
    pub fn release(&self) {
        let mut references = self.references.lock();
        *references = references.saturating_sub(1);
        if *references == 0 && !self.callbacks.is_empty() {
            plog!(
                self.platform,
                Error,
                "DEBUG: OUTSTANDING CALLBACKS ({})",
                self.callbacks.len()
            );
        }
    }

    /// The current reference count.
    pub fn references(&self) -> u32 {
        *self.references.lock()
    }

    /// `DebugRegister`: `prefix` is cut at a NUL or after [`MAX_PREFIX_LEN`] bytes.
    ///
    /// # Errors
    /// [`DebugError::NoMemory`].
    pub fn register(
        &self,
        prefix: &[u8],
        function: DebugFunction,
        origin: Origin,
    ) -> Result<Arc<DebugCallback>, DebugError> {
        let callback = Arc::new(DebugCallback {
            prefix: Prefix::new(prefix),
            function,
            origin,
        });
        self.callbacks
            .push(Arc::clone(&callback))
            .map_err(|_| DebugError::NoMemory)?;
        Ok(callback)
    }

    /// `DebugDeregister`.
    ///
    /// # Errors
    /// [`DebugError::InvalidParameter`] if `callback` is not registered here.
    pub fn deregister(&self, callback: &Arc<DebugCallback>) -> Result<(), DebugError> {
        if self.callbacks.remove(callback) {
            Ok(())
        } else {
            Err(DebugError::InvalidParameter)
        }
    }

    /// How many callbacks are registered.
    pub fn callback_count(&self) -> usize {
        self.callbacks.len()
    }

    /// `DebugTrigger`: runs `callback` (or every callback, for `None`) with `crashing = false`
    /// at `HIGH_LEVEL` under the list lock. A callback not registered here is not run.
    pub fn trigger(&self, callback: Option<&Arc<DebugCallback>>) {
        self.callbacks.with(|list| match callback {
            None => list.iter().for_each(|c| self.run(c, false)),
            Some(one) => {
                if list.iter().any(|c| Arc::ptr_eq(c, one)) {
                    self.run(one, false);
                } else {
                    plog!(self.platform, Warning, "XEN|DEBUG: UNKNOWN CALLBACK");
                }
            }
        });
    }

    /// The bug-check path: every callback with `crashing = true`, without waiting for the lock.
    pub fn crash_dump(&self) {
        self.crashing
            .store(true, core::sync::atomic::Ordering::Release);
        for _ in 0..CRASH_LOCK_ATTEMPTS {
            if self
                .callbacks
                .try_with(|list| list.iter().for_each(|c| self.run(c, true)))
                .is_some()
            {
                return;
            }
            core::hint::spin_loop();
        }
        plog!(
            self.platform,
            Info,
            "XEN|DEBUG: CALLBACK LIST BUSY: CALLBACKS SKIPPED"
        );
    }

    fn run(&self, callback: &DebugCallback, crashing: bool) {
        let origin = callback.origin;
        let prefix = Text(callback.prefix.as_bytes());
        if let Some(lookup) = self.lookup.as_deref()
            && origin.function != 0
        {
            let mut entered = false;
            let found = lookup.lookup(origin.function, &mut |name, offset| {
                plog!(
                    self.platform,
                    Info,
                    "XEN|DEBUG: ====> ({} + {:#x})",
                    name,
                    offset
                );
                entered = true;
            });
            if !(found && entered) {
                let named = lookup.lookup(origin.caller, &mut |name, offset| {
                    plog!(
                        self.platform,
                        Info,
                        "XEN|DEBUG: SKIPPING {:#x} PREFIX '{}' REGISTERED BY {} + {:#x}",
                        origin.function,
                        prefix,
                        name,
                        offset
                    );
                });
                if !named {
                    plog!(
                        self.platform,
                        Info,
                        "XEN|DEBUG: SKIPPING {:#x} PREFIX '{}' REGISTERED BY {:#x}",
                        origin.function,
                        prefix,
                        origin.caller
                    );
                }
                return;
            }
            self.call(callback, crashing);
            lookup.lookup(origin.function, &mut |name, offset| {
                plog!(
                    self.platform,
                    Info,
                    "XEN|DEBUG: <==== ({} + {:#x})",
                    name,
                    offset
                );
            });
            return;
        }
        plog!(self.platform, Info, "XEN|DEBUG: ====> ({})", prefix);
        self.call(callback, crashing);
        plog!(self.platform, Info, "XEN|DEBUG: <==== ({})", prefix);
    }

    fn call(&self, callback: &DebugCallback, crashing: bool) {
        let previous = self
            .with_current(|current| current.replace(callback.prefix))
            .flatten();
        (callback.function)(crashing);
        self.with_current(|current| *current = previous);
    }

    /// Runs `f` on the current prefix. Once the system is crashing, the prefix lock is only
    /// tried (a frozen processor may hold it); `None` if it stayed busy.
    fn with_current<R>(&self, f: impl FnOnce(&mut Option<Prefix>) -> R) -> Option<R> {
        if !self.crashing.load(core::sync::atomic::Ordering::Acquire) {
            return Some(f(&mut self.current.lock()));
        }
        for _ in 0..CRASH_LOCK_ATTEMPTS {
            if let Some(mut current) = self.current.try_lock() {
                return Some(f(&mut current));
            }
            core::hint::spin_loop();
        }
        None
    }

    /// `DebugPrintf` for text the caller already formatted (the interface provider's
    /// C-variadic entry formats it): logs `"<prefix>: <text>"` at `INFO`; one trailing newline
    /// is dropped (every log message is a line).
    pub fn printf_text(&self, text: &[u8]) {
        let text = text.strip_suffix(b"\n").unwrap_or(text);
        self.printf(format_args!("{}", Text(text)));
    }

    /// `DebugPrintf` for Rust callers: logs `"<prefix>: <text>"` at `INFO`.
    pub fn printf(&self, args: fmt::Arguments<'_>) {
        let prefix = self.with_current(|current| *current).flatten();
        match prefix {
            Some(prefix) => plog!(self.platform, Info, "{}: {}", Text(prefix.as_bytes()), args),
            None => self.platform.log(LogLevel::Info, args),
        }
    }

    /// `DebugPrintf` for C callers: the MSVC-compatible engine formats `format` with `args` (a
    /// `va_list` reader from the entry thunk, or typed arguments) into a
    /// [`PRINTF_BUFFER`]-byte buffer (longer text is cut); a bad format logs a warning instead.
    pub fn printf_c<'a, A: kprintf::ArgSource<'a> + ?Sized>(&self, format: &[u8], args: &mut A) {
        let mut buf = [0u8; PRINTF_BUFFER];
        let mut sink = kprintf::BufSink::new(&mut buf);
        match kprintf::format(format, args, &mut sink) {
            Ok(_) | Err(kprintf::FormatError::Overflow) => self.printf_text(sink.as_bytes()),
            Err(error) => plog!(
                self.platform,
                Warning,
                "XEN|DEBUG: BAD FORMAT '{}' ({:?})",
                Text(format),
                error
            ),
        }
    }

    /// A [`fmt::Write`] that turns every completed line into one [`Debug::printf`]; the
    /// composition hands it to the subsystems' `debug_dump` inside their callbacks.
    pub const fn writer(&self) -> DebugWriter<'_, P> {
        DebugWriter {
            debug: self,
            line: [0; LINE_MAX],
            len: 0,
        }
    }
}

const LINE_MAX: usize = 256;

/// See [`Debug::writer`]. Lines longer than 256 bytes are split; a partial last line is
/// printed when the writer is dropped.
pub struct DebugWriter<'a, P: Platform> {
    debug: &'a Debug<P>,
    line: [u8; LINE_MAX],
    len: usize,
}

impl<P: Platform> DebugWriter<'_, P> {
    fn flush(&mut self) {
        if self.len != 0 {
            let text = self.line.get(..self.len).unwrap_or_default();
            self.debug.printf(format_args!("{}", Text(text)));
            self.len = 0;
        }
    }
}

impl<P: Platform> fmt::Write for DebugWriter<'_, P> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &byte in s.as_bytes() {
            if byte == b'\n' {
                self.flush();
                continue;
            }
            if self.len == LINE_MAX {
                self.flush();
            }
            if let Some(slot) = self.line.get_mut(self.len) {
                *slot = byte;
                self.len = self.len.saturating_add(1);
            }
        }
        Ok(())
    }
}

impl<P: Platform> Drop for DebugWriter<'_, P> {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests;
