// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The kernel debugger's print path: `DbgPrint`, `DbgPrintEx`, `DbgSetDebugFilterState`,
//! `DbgSetDebugPrintCallback`.
//!
//! `DbgPrint`/`DbgPrintEx` are C-variadic: their entries are `kprintf`'s Windows x64 thunks,
//! which hand a `va_list` to the Rust side; the message is formatted with `kprintf`'s MSVC
//! engine, except the counted strings `%Z` (`PANSI_STRING`) and `%wZ` (`PUNICODE_STRING`),
//! which `kprintf` refuses and the kernel prints (`Length` bytes of the string, `(null)` for a
//! NULL pointer or `Buffer`: [`CountedSpec`]), cut at 512 bytes (what one call transmits on Windows), and filtered as the kernel
//! filters it: a message of level `L` (a bit number below 32, else a mask) passes when its mask
//! shares a bit with the component's mask or the `WIN2000` mask (`ERROR` only, Windows'
//! default); `DbgSetDebugFilterState` sets and clears component mask bits. A message that
//! passes is printed on the console as `NT-DBG: ...` (the stand-in's debugger) and handed to
//! every registered debug-print callback as Windows does: an `ANSI_STRING` of the message, the
//! component and the level as the caller passed them, at the caller's IRQL.
//!
//! Checked: the documented IRQL of `DbgPrint`/`DbgPrintEx` (at most `DIRQL`, and
//! `PASSIVE_LEVEL` for the Unicode conversions `%C %S %lc %ls %wc %ws %wZ`; the two setters have
//! no documented IRQL and are held to the same `DIRQL` bound), a NULL or malformed format, a
//! component outside the kernel's table (`STATUS_INVALID_PARAMETER_1`, as Windows answers), a callback outside every loaded image's code, registering a callback
//! twice or removing one never registered, and (at unload, [`callbacks_in`]) callbacks still
//! registered into the image. A `DbgPrint` made from inside a callback is printed but not
//! passed to the callbacks again.

use crate::kprintln;
use crate::nt::loader::{self, Where};
use crate::nt::verifier::{self, Call, MAX_DIRQL, PASSIVE_LEVEL};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ffi::c_char;
use core::sync::atomic::{AtomicBool, Ordering};
use kprintf::ArgSource;
use kprintf::spec::{self, Conversion, Count};
use kprintf::{RawWin64VaList, Win64VaList};
use ntddk::{ANSI_STRING, UNICODE_STRING};

/// `DPFLTR_ENDOFTABLE_ID` of the kernel's component table (mingw-w64's `dpfilter.h`).
const COMPONENTS: u32 = 146;
/// `DPFLTR_DEFAULT_ID`, `DbgPrint`'s component.
const DEFAULT_ID: u32 = 101;
/// `DPFLTR_INFO_LEVEL`, `DbgPrint`'s level.
const INFO_LEVEL: u32 = 3;
/// `Kd_WIN2000_Mask`'s default: `ERROR` messages of every component pass.
const WIN2000_MASK: u32 = 1;
/// Bytes one call transmits.
const MESSAGE_MAX: usize = 512;
/// `STATUS_SUCCESS`, `STATUS_INVALID_PARAMETER_1`.
const STATUS_SUCCESS: i32 = 0;
const STATUS_INVALID_PARAMETER_1: i32 = ntstatus_bits(0xC000_00EF);

const fn ntstatus_bits(bits: u32) -> i32 {
    i32::from_ne_bytes(bits.to_ne_bytes())
}

/// A debug-print callback: `VOID (PSTRING Output, ULONG ComponentId, ULONG Level)`.
type PrintCallback = unsafe extern "win64" fn(*mut ANSI_STRING, u32, u32);

/// The component masks changed from zero, and the registered callbacks (with who registered).
struct Debugger {
    masks: BTreeMap<u32, u32>,
    callbacks: Vec<(usize, u64)>,
    printed: u64,
    delivered: u64,
}

static DEBUGGER: spin::Mutex<Debugger> = spin::Mutex::new(Debugger {
    masks: BTreeMap::new(),
    callbacks: Vec::new(),
    printed: 0,
    delivered: 0,
});

/// Set on a processor while callbacks run there (a nested `DbgPrint` is not passed to them
/// again; another processor's messages still are).
static IN_CALLBACK: [AtomicBool; crate::arch::MAX_CPUS] =
    [const { AtomicBool::new(false) }; crate::arch::MAX_CPUS];

/// The most lines [`keep`] holds (the rest are only printed).
const KEPT_MAX: usize = 4096;

/// Printed lines a scenario asked to keep ([`keep`]): the prefixes, and the lines seen.
static KEPT: spin::Mutex<(Vec<&'static str>, Vec<alloc::string::String>)> =
    spin::Mutex::new((Vec::new(), Vec::new()));

/// From now on, also keeps the printed lines that start with `prefix` (up to [`KEPT_MAX`] lines
/// in all), for a scenario that reads a driver's own report (the C child driver's).
pub fn keep(prefix: &'static str) {
    KEPT.lock().0.push(prefix);
}

/// The lines [`keep`] kept so far.
pub fn kept() -> Vec<alloc::string::String> {
    KEPT.lock().1.clone()
}

kprintf::win64_variadic_thunk! {
    /// `ULONG DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...)`.
    pub fn dbg_print_ex_entry(u32, u32, *const c_char, ...) -> u32 => dbg_print_ex_va;
}

kprintf::win64_variadic_thunk! {
    /// `ULONG DbgPrint(PCSTR Format, ...)`.
    pub fn dbg_print_entry(*const c_char, ...) -> u32 => dbg_print_va;
}

/// `DbgPrintEx` with its `va_list`.
unsafe extern "win64" fn dbg_print_ex_va(
    component: u32,
    level: u32,
    format: *const c_char,
    args: RawWin64VaList,
) -> u32 {
    let call = verifier::enter("DbgPrintEx");
    // SAFETY: the caller's contract: the format matches the arguments.
    unsafe { print(&call, b"", component, level, format, args) }
}

/// `ULONG vDbgPrintExWithPrefix(PCCH Prefix, ULONG ComponentId, ULONG Level, PCCH Format,
/// va_list arglist)`: `DbgPrintEx` with a `va_list` and `Prefix` printed before the message
/// (upstream's `Error`, `Warning`, `Info` and `Trace` print through it).
///
/// # Safety
/// `prefix` is NUL-terminated (NULL is checked); the format matches the arguments at `args`.
pub unsafe extern "win64" fn v_dbg_print_ex_with_prefix(
    prefix: *const c_char,
    component: u32,
    level: u32,
    format: *const c_char,
    args: RawWin64VaList,
) -> u32 {
    let call = verifier::enter("vDbgPrintExWithPrefix");
    call.require(!prefix.is_null(), format_args!("Prefix is NULL"));
    // SAFETY: the caller's contract: a NUL-terminated string (NULL checked).
    let prefix = unsafe { core::ffi::CStr::from_ptr(prefix) }.to_bytes();
    // SAFETY: the caller's contract: the format matches the arguments.
    unsafe { print(&call, prefix, component, level, format, args) }
}

/// `DbgPrint` with its `va_list`: `DbgPrintEx(DPFLTR_DEFAULT_ID, DPFLTR_INFO_LEVEL, ...)`.
unsafe extern "win64" fn dbg_print_va(format: *const c_char, args: RawWin64VaList) -> u32 {
    let call = verifier::enter("DbgPrint");
    // SAFETY: the caller's contract: the format matches the arguments.
    unsafe { print(&call, b"", DEFAULT_ID, INFO_LEVEL, format, args) }
}

/// A `%Z` (`PANSI_STRING`) or `%wZ` (`PUNICODE_STRING`) specification. `kprintf` refuses the
/// counted strings (our images' printf has no use for them); the kernel's `DbgPrint` family
/// prints them with the CRT's rules: the flags and the width apply as to `%s`, the argument is
/// a pointer to the counted string, `Length` bytes are printed (no terminator is looked for),
/// and a NULL pointer or a NULL `Buffer` prints `(null)`. A precision, or a length modifier
/// other than `w`, is refused.
#[derive(Debug, Clone, Copy)]
struct CountedSpec {
    left: bool,
    zero: bool,
    width: Count,
    wide: bool,
    /// Offset just after the `Z`.
    end: usize,
}

/// Parses the `%Z`/`%wZ` specification at `fmt[at] == b'%'`; `None` if it is not one.
fn counted_spec(fmt: &[u8], at: usize) -> Option<CountedSpec> {
    let mut i = at.checked_add(1)?;
    let (mut left, mut zero) = (false, false);
    while let Some(&c) = fmt.get(i).filter(|c| b"-0+ #".contains(c)) {
        left |= c == b'-';
        zero |= c == b'0';
        i += 1;
    }
    let width = if fmt.get(i) == Some(&b'*') {
        i += 1;
        Count::Arg
    } else {
        let digits = fmt
            .get(i..)?
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits == 0 {
            Count::None
        } else {
            let text = core::str::from_utf8(fmt.get(i..i + digits)?).ok()?;
            i += digits;
            Count::Fixed(text.parse::<usize>().ok().filter(|&w| w <= 0x7fff_ffff)?)
        }
    };
    let wide = fmt.get(i) == Some(&b'w');
    if wide {
        i += 1;
    }
    (fmt.get(i) == Some(&b'Z')).then_some(CountedSpec {
        left,
        zero,
        width,
        wide,
        end: i + 1,
    })
}

/// One piece of a format: bytes `kprintf` formats, or a counted-string specification.
#[derive(Debug, Clone)]
enum Piece {
    Kprintf(core::ops::Range<usize>),
    Counted(CountedSpec),
}

/// Splits `format` at its counted-string specifications, validating every specification
/// (nothing is read or printed for a format that fails).
fn pieces(format: &[u8]) -> Result<Vec<Piece>, kprintf::FormatError> {
    let mut out = Vec::new();
    let (mut pos, mut from) = (0usize, 0usize);
    while let Some(percent) = format
        .get(pos..)
        .and_then(|r| r.iter().position(|&b| b == b'%'))
    {
        let at = pos + percent;
        match spec::parse(format, at) {
            Ok((_, next)) => pos = next,
            Err(
                e @ kprintf::FormatError::Unsupported {
                    conversion: b'Z', ..
                },
            ) => {
                let counted = counted_spec(format, at).ok_or(e)?;
                out.push(Piece::Kprintf(from..at));
                out.push(Piece::Counted(counted));
                pos = counted.end;
                from = pos;
            }
            Err(e) => return Err(e),
        }
    }
    out.push(Piece::Kprintf(from..format.len()));
    Ok(out)
}

/// Whether `format` holds a Unicode conversion (only allowed at `PASSIVE_LEVEL`): `%C %S %lc
/// %ls %wc %ws` and `%wZ`, however flagged or sized. A format that does not parse answers
/// `false` (printing it fails anyway).
pub(super) fn has_unicode_conversion(format: &[u8]) -> bool {
    let Ok(pieces) = pieces(format) else {
        return false;
    };
    pieces.iter().any(|piece| match piece {
        Piece::Counted(c) => c.wide,
        Piece::Kprintf(range) => {
            let part = format.get(range.clone()).unwrap_or_default();
            let mut pos = 0usize;
            while let Some(percent) = part
                .get(pos..)
                .and_then(|r| r.iter().position(|&b| b == b'%'))
            {
                let Ok((s, next)) = spec::parse(part, pos + percent) else {
                    return false;
                };
                if matches!(
                    s.conversion,
                    Conversion::Str { wide: true } | Conversion::Char { wide: true }
                ) {
                    return true;
                }
                pos = next;
            }
            false
        }
    })
}

/// The text a `%Z`/`%wZ` argument prints (before padding): `Length` bytes of an `ANSI_STRING`,
/// or `Length / 2` units of a `UNICODE_STRING` narrowed as `kprintf` narrows `%ws` (ASCII
/// passes, anything else prints `?`); `(null)` for a NULL pointer or a NULL `Buffer`. A string
/// whose `Length` exceeds its `MaximumLength` (or, for `%wZ`, is odd) fails the call.
///
/// # Safety
/// `at` is NULL or the address of a readable counted string of the kind `wide` names whose
/// `Buffer` is NULL or readable for `Length` bytes (the caller's contract with `DbgPrint`).
unsafe fn counted_text(call: &Call, at: u64, wide: bool) -> Vec<u8> {
    let null = b"(null)".to_vec();
    let Ok(addr) = usize::try_from(at) else {
        return null;
    };
    if addr == 0 {
        return null;
    }
    if wide {
        let s = core::ptr::with_exposed_provenance::<UNICODE_STRING>(addr);
        // SAFETY: the caller's contract: a readable UNICODE_STRING (NULL handled above).
        let v = unsafe { s.read_unaligned() };
        call.require(
            v.Length.is_multiple_of(2) && v.Length <= v.MaximumLength,
            format_args!(
                "the %wZ argument's Length {} is odd or exceeds its MaximumLength {}",
                v.Length, v.MaximumLength
            ),
        );
        if v.Buffer.is_null() {
            return null;
        }
        (0..usize::from(v.Length / 2))
            .map(|i| {
                // SAFETY: the caller's contract: `Length` readable bytes at `Buffer`, and
                // `i < Length / 2`.
                let unit = unsafe { v.Buffer.wrapping_add(i).read_unaligned() };
                u8::try_from(unit).ok().filter(u8::is_ascii).unwrap_or(b'?')
            })
            .collect()
    } else {
        let s = core::ptr::with_exposed_provenance::<ANSI_STRING>(addr);
        // SAFETY: the caller's contract: a readable ANSI_STRING (NULL handled above).
        let v = unsafe { s.read_unaligned() };
        call.require(
            v.Length <= v.MaximumLength,
            format_args!(
                "the %Z argument's Length {} exceeds its MaximumLength {}",
                v.Length, v.MaximumLength
            ),
        );
        if v.Buffer.is_null() {
            return null;
        }
        (0..usize::from(v.Length))
            .map(|i| {
                // SAFETY: the caller's contract: `Length` readable bytes at `Buffer`, and
                // `i < Length`.
                unsafe { v.Buffer.wrapping_add(i).read() }
            })
            .collect()
    }
}

/// Formats one counted-string specification into `room`, reading its arguments from `va`;
/// returns the bytes written (`room` full: truncated).
///
/// # Safety
/// As [`counted_text`] for the pointer argument at `va`'s next slot (after a `*` width).
unsafe fn format_counted(
    call: &Call,
    spec: &CountedSpec,
    va: &mut Win64VaList<'_>,
    room: &mut [u8],
) -> Result<usize, kprintf::FormatError> {
    let (mut left, mut width) = (spec.left, 0usize);
    match spec.width {
        Count::None => {}
        Count::Fixed(w) => width = w,
        Count::Arg => {
            // A C `int`; a negative width means left-justify.
            let w = u32::try_from(va.next_word()? & 0xffff_ffff)
                .unwrap_or(0)
                .cast_signed();
            left |= w < 0;
            width = usize::try_from(w.unsigned_abs()).unwrap_or(0);
        }
    }
    let at = va.next_word()?;
    // SAFETY: the caller's contract for the argument.
    let text = unsafe { counted_text(call, at, spec.wide) };
    let fill = width.saturating_sub(text.len());
    let pad = if spec.zero && !left { b'0' } else { b' ' };
    let bytes = (!left)
        .then_some(fill)
        .into_iter()
        .flat_map(|n| core::iter::repeat_n(pad, n))
        .chain(text.iter().copied())
        .chain(
            left.then_some(fill)
                .into_iter()
                .flat_map(|n| core::iter::repeat_n(b' ', n)),
        );
    let mut written = 0usize;
    for (slot, byte) in room.iter_mut().zip(bytes) {
        *slot = byte;
        written += 1;
    }
    Ok(written)
}

/// Formats, filters, prints and hands the message to the callbacks.
///
/// # Safety
/// `format` is a NUL-terminated string whose conversions match the arguments at `args`.
unsafe fn print(
    call: &Call,
    prefix: &[u8],
    component: u32,
    level: u32,
    format: *const c_char,
    args: RawWin64VaList,
) -> u32 {
    call.at_most(MAX_DIRQL);
    call.require(!format.is_null(), format_args!("Format is NULL"));
    // SAFETY: the caller's contract: a NUL-terminated string.
    let fmt = unsafe { core::ffi::CStr::from_ptr(format) }.to_bytes();
    if call.irql > PASSIVE_LEVEL {
        call.require(
            !has_unicode_conversion(fmt),
            format_args!(
                "Unicode conversions are allowed only at PASSIVE_LEVEL (IRQL {}), format {:?}",
                call.irql,
                core::str::from_utf8(fmt).unwrap_or("?")
            ),
        );
    }
    let mut buf = [0u8; MESSAGE_MAX + 1];
    // SAFETY: the caller's contract covers every slot and string the format consumes.
    let mut va = unsafe { Win64VaList::new(args) };
    let start = prefix.len().min(MESSAGE_MAX);
    if let Some(head) = buf.get_mut(..start) {
        head.copy_from_slice(prefix.get(..start).unwrap_or_default());
    }
    let bad = |e: kprintf::FormatError| -> ! {
        call.fail(format_args!(
            "bad format {:?}: {e:?}",
            core::str::from_utf8(fmt).unwrap_or("?")
        ))
    };
    let pieces = pieces(fmt).unwrap_or_else(|e| bad(e));
    let mut len = start;
    for piece in &pieces {
        let room = buf.get_mut(len..MESSAGE_MAX).unwrap_or_default();
        let room_len = room.len();
        let written = match piece {
            Piece::Kprintf(range) => {
                let part = fmt.get(range.clone()).unwrap_or_default();
                match kprintf::format_to_buf(room, part, &mut va) {
                    Ok(text) => text.len(),
                    Err(kprintf::FormatError::Overflow) => room_len,
                    Err(e) => bad(e),
                }
            }
            Piece::Counted(c) => {
                // SAFETY: the caller's contract covers the counted string the format names.
                let counted = unsafe { format_counted(call, c, &mut va, room) };
                counted.unwrap_or_else(|e| bad(e))
            }
        };
        len += written;
        if len >= MESSAGE_MAX {
            break;
        }
    }
    let mask = if level < 32 {
        1u32 << level
    } else {
        level & 0x7fff_ffff
    };
    let passes = {
        let mut d = DEBUGGER.lock();
        let component_mask = d.masks.get(&component).copied().unwrap_or(0);
        let passes = mask & (WIN2000_MASK | component_mask) != 0;
        if passes {
            d.printed += 1;
        }
        passes
    };
    if !passes {
        return 0;
    }
    let text = buf.get(..len).unwrap_or_default();
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let line = core::str::from_utf8(line).unwrap_or("(not UTF-8)");
        kprintln!("NT-DBG: {line}");
        let mut kept = KEPT.lock();
        if kept.0.iter().any(|p| line.starts_with(p)) && kept.1.len() < KEPT_MAX {
            kept.1.push(alloc::string::String::from(line));
        }
    }
    let Some(in_callback) = IN_CALLBACK.get(crate::arch::cpu_id()) else {
        return 0;
    };
    if in_callback.swap(true, Ordering::SeqCst) {
        return 0;
    }
    let callbacks: Vec<usize> = DEBUGGER.lock().callbacks.iter().map(|&(c, _)| c).collect();
    for callback in callbacks {
        let mut output = ANSI_STRING {
            Length: u16::try_from(len).unwrap_or(0),
            MaximumLength: u16::try_from(len + 1).unwrap_or(0),
            Buffer: buf.as_mut_ptr(),
        };
        // SAFETY: `callback` was registered by a driver and checked to be code of a loaded
        // image; debug-print callbacks take (PSTRING, ComponentId, Level) in the Microsoft x64
        // convention. The string is NUL-terminated (the buffer's last byte stays 0).
        let f = unsafe { core::mem::transmute::<usize, PrintCallback>(callback) };
        // SAFETY: as above; `output` and `buf` outlive the call.
        unsafe { f(&raw mut output, component, level) };
        DEBUGGER.lock().delivered += 1;
    }
    in_callback.store(false, Ordering::SeqCst);
    0
}

/// `NTSTATUS DbgSetDebugFilterState(ULONG ComponentId, ULONG Level, BOOLEAN State)`.
pub extern "win64" fn dbg_set_debug_filter_state(component: u32, level: u32, state: u8) -> i32 {
    let call = verifier::enter("DbgSetDebugFilterState");
    call.at_most(MAX_DIRQL);
    if component >= COMPONENTS {
        return STATUS_INVALID_PARAMETER_1;
    }
    let mask = if level < 32 {
        1u32 << level
    } else {
        level & 0x7fff_ffff
    };
    let mut d = DEBUGGER.lock();
    let entry = d.masks.entry(component).or_insert(0);
    if state != 0 {
        *entry |= mask;
    } else {
        *entry &= !mask;
    }
    STATUS_SUCCESS
}

/// `NTSTATUS DbgSetDebugPrintCallback(PDEBUG_PRINT_CALLBACK DebugPrintCallback, BOOLEAN
/// Enable)`.
pub extern "win64" fn dbg_set_debug_print_callback(callback: usize, enable: u8) -> i32 {
    let call = verifier::enter("DbgSetDebugPrintCallback");
    call.at_most(MAX_DIRQL);
    let at = u64::try_from(callback).unwrap_or(0);
    let known = DEBUGGER
        .lock()
        .callbacks
        .iter()
        .position(|&(c, _)| c == callback);
    if enable != 0 {
        call.require(
            known.is_none(),
            format_args!("the callback {} is already registered", Where(at)),
        );
        call.require(
            loader::is_loaded_code(at),
            format_args!("the callback {} is not in a loaded image's code", Where(at)),
        );
        DEBUGGER.lock().callbacks.push((callback, call.caller));
    } else {
        let Some(index) = known else {
            call.fail(format_args!(
                "removing the callback {}, which is not registered",
                Where(at)
            ));
        };
        DEBUGGER.lock().callbacks.remove(index);
    }
    STATUS_SUCCESS
}

/// The registered callbacks that lie in image `index`.
pub fn callbacks_in(index: usize) -> Vec<usize> {
    DEBUGGER
        .lock()
        .callbacks
        .iter()
        .map(|&(c, _)| c)
        .filter(|&c| loader::containing(c as u64) == Some(index))
        .collect()
}

/// Registered callbacks now.
pub fn callback_count() -> usize {
    DEBUGGER.lock().callbacks.len()
}

/// The component mask now.
pub fn component_mask(component: u32) -> u32 {
    DEBUGGER.lock().masks.get(&component).copied().unwrap_or(0)
}

/// Messages that passed the filter, and callback deliveries.
pub fn counts() -> (u64, u64) {
    let d = DEBUGGER.lock();
    (d.printed, d.delivered)
}
