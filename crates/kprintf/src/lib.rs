// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The kernel printf: an MSVC-compatible `vsnprintf` engine and the C-variadic entry design for
//! the three variadic XENBUS methods (`StorePrintf`, `DebugPrintf`, `EvtchnOpen`) and the
//! xen.sys log printf.
//!
//! Layering (see the README's layout): a leaf, portable `#![no_std]` library with no dependencies, used by
//! `crates/xenbus` (the store and debug subsystems and the interface glue) and `crates/xen`
//! (log). It is tested on Linux; nothing in it needs the Windows kernel.
//!
//! * [`format`] runs a format string against an [`ArgSource`] into a [`Sink`], with MSVC x64
//!   semantics (LLP64 `%lu`, `I64`, `%p` as 16 upper-case hex digits...). It validates the whole
//!   format before reading any argument or writing any byte, and it allocates nothing.
//! * Argument sources: [`SliceArgs`] (safe, typed, bounded), [`Win64VaList`] (an MSVC x64
//!   `va_list`) and [`SysVVaList`] (a System V x86_64 `va_list`, for host tests).
//! * [`win64_variadic_thunk!`] and [`sysv64_variadic_thunk!`] define C-variadic entry points that
//!   forward to a Rust function taking the fixed arguments and a raw `va_list`.

#![no_std]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

#[cfg(test)]
extern crate std;

mod args;
mod engine;
mod error;
mod sink;
pub mod spec;
#[cfg(target_arch = "x86_64")]
pub mod thunk;
mod valist;

pub use args::{Arg, ArgSource, SliceArgs, WideStr};
pub use engine::format;
pub use error::FormatError;
pub use sink::{BufSink, Sink, SinkFull};
pub use valist::{
    RawSysVVaList, RawWin64VaList, SLOT_SIZE, SYSV_GP_AREA, SysVVaList, SysVVaListTag, Win64VaList,
    win64_slot_offset,
};

/// Formats into `buf` and returns the formatted bytes, like `RtlStringCbVPrintfA` without the
/// terminating NUL (reserve it yourself if you need one).
///
/// # Errors
/// As [`format`]; on [`FormatError::Overflow`] `buf` holds the truncated output.
pub fn format_to_buf<'b, 'a, A: ArgSource<'a> + ?Sized>(
    buf: &'b mut [u8],
    fmt: &[u8],
    args: &mut A,
) -> Result<&'b [u8], FormatError> {
    let mut sink = BufSink::new(buf);
    let len = format(fmt, args, &mut sink)?;
    let buf = sink.into_inner();
    Ok(buf.get(..len).unwrap_or_default())
}
