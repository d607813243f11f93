// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The formatting engine: MSVC (`ntoskrnl` `_vsnprintf`, as used by `RtlStringCbVPrintfA`)
//! semantics on Windows x64.
//!
//! Where MSVC and ISO C/glibc differ, MSVC wins:
//! * `%p` prints `2 * sizeof(void *)` = 16 upper-case hex digits, no `0x`; a precision in the
//!   format is ignored and, because the forced precision counts as "given", the `0` flag does
//!   not pad (`%020p` pads with spaces). `%#p` adds `0X` (for a non-zero pointer).
//! * `l` is 32 bits (LLP64): `%lu` of `0x1_0000_0001` prints `1`.
//! * The `0` flag also pads `%s` and `%c` with zeros (`%05s` of `ab` is `000ab`).
//! * `%s` of NULL prints `(null)`, cut by the precision like any string (`%.3s` gives `(nu`).
//! * Integer precision is capped at 512 digits (the CRT's `MAXPRECISION`).
//!
//! Wide strings and characters (`%S`, `%ls`, `%ws`, `%C`, `%lc`, `%wc`) are converted unit by
//! unit: ASCII passes through, anything else prints `?` (the kernel converts with the ANSI code
//! page; child drivers only pass ASCII here).

use crate::FormatError;
use crate::args::ArgSource;
use crate::sink::Sink;
use crate::spec::{self, Conversion, Count, Flags, Spec};

/// Integer precision cap of the MSVC CRT (`MAXPRECISION`).
const MAX_INT_PRECISION: usize = 512;

/// Hex digits `%p` forces on x64.
const POINTER_DIGITS: usize = 16;

/// Formats `fmt` with arguments from `args` into `sink` and returns the number of bytes written.
///
/// The whole format is validated, and the argument count checked against
/// [`ArgSource::remaining`], before the first argument is read or the first byte written.
///
/// # Errors
/// A [`FormatError`] for a bad format or missing arguments (nothing written, nothing read), or
/// [`FormatError::Overflow`] when the sink fills up (the sink holds the truncated output).
pub fn format<'a, A: ArgSource<'a> + ?Sized, S: Sink + ?Sized>(
    fmt: &[u8],
    args: &mut A,
    sink: &mut S,
) -> Result<usize, FormatError> {
    let needed = spec::count_args(fmt)?;
    if let Some(supplied) = args.remaining()
        && needed > supplied
    {
        return Err(FormatError::MissingArguments { needed, supplied });
    }
    let mut out = Out { sink, written: 0 };
    let mut pos = 0usize;
    while let Some(rest) = fmt.get(pos..).filter(|r| !r.is_empty()) {
        let literal = rest.iter().position(|&b| b == b'%').unwrap_or(rest.len());
        out.put(rest.get(..literal).unwrap_or_default())?;
        if literal == rest.len() {
            break;
        }
        let offset = pos.saturating_add(literal);
        let (spec, next) = spec::parse(fmt, offset)?;
        convert(&spec, args, &mut out)?;
        pos = next;
    }
    Ok(out.written)
}

/// The sink plus a byte count.
struct Out<'s, S: Sink + ?Sized> {
    sink: &'s mut S,
    written: usize,
}

impl<S: Sink + ?Sized> Out<'_, S> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), FormatError> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.sink.write(bytes).map_err(|_| FormatError::Overflow)?;
        self.written = self.written.saturating_add(bytes.len());
        Ok(())
    }

    fn pad(&mut self, byte: u8, mut count: usize) -> Result<(), FormatError> {
        const SPACES: [u8; 32] = [b' '; 32];
        const ZEROS: [u8; 32] = [b'0'; 32];
        let chunk = if byte == b'0' { &ZEROS } else { &SPACES };
        while count > 0 {
            let n = count.min(chunk.len());
            self.put(chunk.get(..n).unwrap_or_default())?;
            count = count.saturating_sub(n);
        }
        Ok(())
    }
}

/// Width and flags after `*` arguments are applied.
struct Field {
    flags: Flags,
    width: usize,
    precision: Option<usize>,
}

fn resolve<'a, A: ArgSource<'a> + ?Sized>(spec: &Spec, args: &mut A) -> Result<Field, FormatError> {
    let mut flags = spec.flags;
    let width = match spec.width {
        Count::None => 0,
        Count::Fixed(w) => w,
        Count::Arg => {
            let w = c_int(args.next_word()?);
            // A negative `*` width means left-justify (C and MSVC).
            if w < 0 {
                flags.left = true;
            }
            w.unsigned_abs() as usize
        }
    };
    let precision = match spec.precision {
        Count::None => None,
        Count::Fixed(p) => Some(p),
        // A negative `*` precision is taken as if omitted.
        Count::Arg => usize::try_from(c_int(args.next_word()?)).ok(),
    };
    Ok(Field {
        flags,
        width,
        precision,
    })
}

/// The low 32 bits of a slot as a C `int`.
#[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)] // C's int conversion.
const fn c_int(word: u64) -> i32 {
    word as u32 as i32
}

fn convert<'a, A: ArgSource<'a> + ?Sized, S: Sink + ?Sized>(
    spec: &Spec,
    args: &mut A,
    out: &mut Out<'_, S>,
) -> Result<(), FormatError> {
    if spec.conversion == Conversion::Percent {
        return out.put(b"%");
    }
    let field = resolve(spec, args)?;
    match spec.conversion {
        Conversion::Percent => Ok(()),
        Conversion::Signed => {
            let bits = spec.length.int_bits().unwrap_or(32);
            let value = sign_extend(args.next_word()?, bits);
            integer(
                out,
                &field,
                value.unsigned_abs(),
                value < 0,
                10,
                false,
                true,
            )
        }
        Conversion::Unsigned { radix, upper } => {
            let bits = spec.length.int_bits().unwrap_or(32);
            let value = truncate(args.next_word()?, bits);
            integer(out, &field, value, false, radix, upper, false)
        }
        Conversion::Pointer => {
            let value = args.next_word()?;
            let mut field = field;
            field.precision = Some(POINTER_DIGITS);
            integer(out, &field, value, false, 16, true, false)
        }
        Conversion::Char { wide } => {
            let word = args.next_word()?;
            let byte = if wide {
                narrow(truncate(word, 16))
            } else {
                word.to_le_bytes()[0]
            };
            text(out, field.flags, field.width, 1, |o| o.put(&[byte]))
        }
        Conversion::Str { wide: false } => {
            let max = field.precision.unwrap_or(usize::MAX);
            let s = args.next_str(max)?.unwrap_or(b"(null)");
            let s = s.get(..s.len().min(max)).unwrap_or_default();
            text(out, field.flags, field.width, s.len(), |o| o.put(s))
        }
        Conversion::Str { wide: true } => {
            let max = field.precision.unwrap_or(usize::MAX);
            match args.next_wide_str(max)? {
                None => {
                    let s = b"(null)".get(..6.min(max)).unwrap_or_default();
                    text(out, field.flags, field.width, s.len(), |o| o.put(s))
                }
                Some(w) => text(out, field.flags, field.width, w.len(), |o| {
                    let mut buf = [0u8; 64];
                    let mut start = 0usize;
                    while start < w.len() {
                        let n = (w.len().saturating_sub(start)).min(buf.len());
                        for (i, slot) in buf.iter_mut().take(n).enumerate() {
                            *slot = narrow(u64::from(w.get(start.saturating_add(i)).unwrap_or(0)));
                        }
                        o.put(buf.get(..n).unwrap_or_default())?;
                        start = start.saturating_add(n);
                    }
                    Ok(())
                }),
            }
        }
    }
}

/// A `wchar_t` as one output byte: ASCII passes, the rest prints `?`.
fn narrow(unit: u64) -> u8 {
    u8::try_from(unit).ok().filter(u8::is_ascii).unwrap_or(b'?')
}

/// The low `bits` bits of `word`, sign-extended.
#[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)] // Deliberate C conversions.
const fn sign_extend(word: u64, bits: u32) -> i64 {
    match bits {
        8 => word as u8 as i8 as i64,
        16 => word as u16 as i16 as i64,
        32 => word as u32 as i32 as i64,
        _ => word as i64,
    }
}

/// The low `bits` bits of `word`.
const fn truncate(word: u64, bits: u32) -> u64 {
    match bits {
        8 => word & 0xff,
        16 => word & 0xffff,
        32 => word & 0xffff_ffff,
        _ => word,
    }
}

/// Pads a text field of `len` bytes written by `body` to `width`.
fn text<S: Sink + ?Sized>(
    out: &mut Out<'_, S>,
    flags: Flags,
    width: usize,
    len: usize,
    body: impl FnOnce(&mut Out<'_, S>) -> Result<(), FormatError>,
) -> Result<(), FormatError> {
    let fill = width.saturating_sub(len);
    if !flags.left {
        // MSVC pads strings and characters with zeros too when `0` is given.
        out.pad(if flags.zero { b'0' } else { b' ' }, fill)?;
    }
    body(out)?;
    if flags.left {
        out.pad(b' ', fill)?;
    }
    Ok(())
}

/// Formats an integer field.
#[allow(clippy::fn_params_excessive_bools)] // Mirrors the CRT's flag word.
fn integer<S: Sink + ?Sized>(
    out: &mut Out<'_, S>,
    field: &Field,
    magnitude: u64,
    negative: bool,
    radix: u8,
    upper: bool,
    signed: bool,
) -> Result<(), FormatError> {
    let flags = field.flags;
    // Digits, least significant last.
    let mut buf = [0u8; 24];
    let mut start = buf.len();
    let mut v = magnitude;
    let table: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let radix64 = u64::from(radix);
    while v != 0 {
        start = start.saturating_sub(1);
        let digit = v.checked_rem(radix64).unwrap_or(0);
        if let (Some(slot), Some(&d)) = (
            buf.get_mut(start),
            table.get(usize::try_from(digit).unwrap_or(0)),
        ) {
            *slot = d;
        }
        v = v.checked_div(radix64).unwrap_or(0);
    }
    let digits = buf.get(start..).unwrap_or_default();

    // A given precision turns off `0` padding (C and MSVC); default precision is 1.
    let (precision, zero) = field
        .precision
        .map_or((1, flags.zero), |p| (p.min(MAX_INT_PRECISION), false));
    let mut leading_zeros = precision.saturating_sub(digits.len());
    // `#` with octal forces a leading zero.
    if flags.alt && radix == 8 && leading_zeros == 0 && digits.first() != Some(&b'0') {
        leading_zeros = 1;
    }
    let sign: &[u8] = if negative {
        b"-"
    } else if signed && flags.plus {
        b"+"
    } else if signed && flags.space {
        b" "
    } else {
        b""
    };
    let prefix: &[u8] = match (flags.alt && radix == 16 && magnitude != 0, upper) {
        (true, true) => b"0X",
        (true, false) => b"0x",
        (false, _) => b"",
    };
    let body = sign
        .len()
        .saturating_add(prefix.len())
        .saturating_add(leading_zeros)
        .saturating_add(digits.len());
    let fill = field.width.saturating_sub(body);
    if !flags.left && !zero {
        out.pad(b' ', fill)?;
    }
    out.put(sign)?;
    out.put(prefix)?;
    if !flags.left && zero {
        out.pad(b'0', fill)?;
    }
    out.pad(b'0', leading_zeros)?;
    out.put(digits)?;
    if flags.left {
        out.pad(b' ', fill)?;
    }
    Ok(())
}
