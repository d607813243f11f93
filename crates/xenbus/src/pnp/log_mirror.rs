// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The console log mirror: log lines copied to the PV console.
//!
//! While the active FDO is in D0 with the PV console acquired, every
//! log line at a level of `ConsoleLogLevel` (xenbus's `Parameters`, a `REG_MULTI_SZ` of level
//! names that xen.sys's `LogReadLogLevel` reads) is also written to the PV console, with each
//! `\n` turned into `\r\n` (upstream `FdoOutputBuffer`).
//!
//! The lines come from xen.sys's log through a disposition (`LogAddDisposition`), which xen.sys
//! calls with its log lock held at any IRQL up to `HIGH_LEVEL`: the sink must not log, block or
//! allocate. It converts into a buffer on its stack and writes with
//! [`Console::write_quiet`](crate::console::Console::write_quiet) (the console's ring lock is a
//! `HIGH_LEVEL` lock, and sending on its channel is a hypercall).

use alloc::sync::Arc;

use platform_port::{Interrupts, Platform};
use xen_services::XenServices;

use crate::subsystems::FdoConsole;

/// The most bytes one mirrored line takes after conversion (upstream's static buffer).
pub const MIRROR_BUFFER: usize = 1024;

/// Copies `text` into `out` with every `\n` turned into `\r\n`; returns the length used.
///
/// What does not fit is dropped, as upstream does: a `\n` that lands in the last byte stays a
/// bare `\n` (there is no room for its `\r`).
#[must_use]
pub fn crlf(text: &[u8], out: &mut [u8; MIRROR_BUFFER]) -> usize {
    let mut used = 0usize;
    for &byte in text {
        let Some(slot) = out.get_mut(used) else {
            break;
        };
        *slot = byte;
        used = used.saturating_add(1);
        if byte != b'\n' {
            continue;
        }
        let Some(next) = out.get_mut(used) else {
            break;
        };
        *next = b'\n';
        if let Some(previous) = used.checked_sub(1).and_then(|at| out.get_mut(at)) {
            *previous = b'\r';
        }
        used = used.saturating_add(1);
    }
    used
}

/// Where mirrored lines go (called inside xen.sys's log, lock held, any IRQL).
pub trait LineSink: Send + Sync {
    /// One flushed log line (it normally ends with `\n`).
    fn line(&self, text: &[u8]);
}

/// A mirror the FDO asks the glue to register with xen.sys's log.
#[derive(Clone)]
pub struct LogMirror {
    /// The levels mirrored (xen.sys's `LOG_LEVEL` bits).
    pub mask: u32,
    /// Where the lines go.
    pub sink: Arc<dyn LineSink>,
}

impl core::fmt::Debug for LogMirror {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LogMirror")
            .field("mask", &format_args!("{:#x}", self.mask))
            .finish_non_exhaustive()
    }
}

/// The FDO's PV console as a [`LineSink`].
pub struct ConsoleSink<P, S, I>
where
    P: Platform,
    S: XenServices + 'static,
    I: Interrupts + 'static,
{
    console: Arc<FdoConsole<P, S, I>>,
}

impl<P, S, I> ConsoleSink<P, S, I>
where
    P: Platform,
    S: XenServices + 'static,
    I: Interrupts + 'static,
{
    /// A sink writing to `console`.
    #[must_use]
    pub const fn new(console: Arc<FdoConsole<P, S, I>>) -> Self {
        Self { console }
    }
}

impl<P, S, I> LineSink for ConsoleSink<P, S, I>
where
    P: Platform,
    S: XenServices + 'static,
    I: Interrupts + 'static,
{
    fn line(&self, text: &[u8]) {
        let mut buffer = [0u8; MIRROR_BUFFER];
        let used = crlf(text, &mut buffer);
        if let Some(converted) = buffer.get(..used) {
            // What does not fit in the ring is dropped, as upstream drops it.
            let _ = self.console.write_quiet(converted);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(text: &[u8]) -> alloc::vec::Vec<u8> {
        let mut out = [0u8; MIRROR_BUFFER];
        let used = crlf(text, &mut out);
        out[..used].to_vec()
    }

    #[test]
    fn every_newline_becomes_cr_lf() {
        assert_eq!(convert(b"xenbus|FDO: up\n"), b"xenbus|FDO: up\r\n");
        assert_eq!(convert(b"a\nb\n\n"), b"a\r\nb\r\n\r\n");
        assert_eq!(convert(b"no newline"), b"no newline");
        assert_eq!(convert(b""), b"");
        // A `\r` already there is kept; the `\n` still gets its own.
        assert_eq!(convert(b"x\r\n"), b"x\r\r\n");
    }

    #[test]
    fn what_does_not_fit_is_dropped_as_upstream_drops_it() {
        let long = [b'x'; 2000];
        assert_eq!(convert(&long), [b'x'; MIRROR_BUFFER]);
        // A newline in the last byte has no room for its pair: it stays a bare `\n`.
        let mut text = alloc::vec![b'y'; MIRROR_BUFFER - 1];
        text.push(b'\n');
        text.extend_from_slice(b"after");
        let out = convert(&text);
        assert_eq!(out.len(), MIRROR_BUFFER);
        assert_eq!(out.last(), Some(&b'\n'));
        assert_eq!(out[MIRROR_BUFFER - 2], b'y');
        // One byte earlier there is room: `\r\n` fills the buffer exactly.
        let mut text = alloc::vec![b'z'; MIRROR_BUFFER - 2];
        text.extend_from_slice(b"\nmore");
        let out = convert(&text);
        assert_eq!(&out[MIRROR_BUFFER - 2..], b"\r\n");
        // Many newlines: each takes two bytes until the buffer is full.
        let out = convert(&[b'\n'; 600]);
        assert_eq!(out.len(), MIRROR_BUFFER);
        assert!(out.chunks(2).all(|pair| pair == b"\r\n"));
    }
}
