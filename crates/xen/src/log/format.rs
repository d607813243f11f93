// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The log's own small printf (upstream `LogWriteSlot`).
//!
//! xen.sys does not use the kernel's printf for `LogPrintf`: it has a minimal formatter whose
//! output children have been reading on the Xen and QEMU consoles for years, so we reproduce it
//! byte for byte rather than substitute the MSVC engine of `kprintf`:
//!
//! * conversions `%c` `%wc` `%s` `%ws` `%Z` (`PANSI_STRING`) `%wZ` (`PUNICODE_STRING`) `%d` `%u`
//!   `%o` `%x` `%X` `%p`; any other character after `%` (including `%` itself) is printed as is;
//! * an optional `-`, then an optional width whose leading `0` selects zero padding; the width
//!   is an 8-bit counter, so widths wrap modulo 256 exactly as upstream's `UCHAR` does;
//! * `l` may repeat; exactly two (`ll`) select 64 bits, any other count 32 bits; `w` selects
//!   the wide form of `c`, `s` and `Z` and is ignored elsewhere;
//! * `%p` is zero-padded to two hex digits per pointer byte, upper-case, pointer-sized;
//! * numbers pad on the left unless `-` (then spaces on the right); the zero padding goes in
//!   front of a minus sign (`%05d` of -42 is `00-42`), as upstream;
//! * **strings pad the other way round**: on the right without `-`, on the left with it;
//! * wide characters are narrowed by keeping their low byte; NULL strings print `(null)`;
//! * output stops silently at [`LINE_SIZE`] bytes;
//! * `count` limits the number of format items (literal characters or conversions) processed,
//!   at most 256; a count of 0 means no limit, as upstream's signed countdown never reaches 0.
//!
//! # Decisions on upstream behaviour
//!
//! * A format that ends inside a conversion (`"abc%"`, `"%-"`, `"%08"`, `"%ll"`) makes
//!   upstream read past the terminating NUL (its `ASSERT`s are compiled out in free builds).
//!   We stop at the end of the format.
//! * Upstream measures `%s`/`%ws` arguments with an unbounded `strlen`/`wcslen`. Only the first
//!   [`LINE_SIZE`] characters can ever be printed and no width exceeds 255, so we look at no
//!   more than that: the output is identical and a missing terminator cannot run us off the end
//!   of memory by more than the line size.
//! * A counted string (`%Z`, `%wZ`) whose `Buffer` is NULL with a non-zero `Length` would fault
//!   upstream; here it prints nothing.

use kprintf::{ArgSource, WideStr};

/// Capacity of one log line (upstream `LOG_BUFFER_SIZE`).
pub const LINE_SIZE: usize = 256;

/// One formatted line: at most [`LINE_SIZE`] bytes, no terminator.
#[derive(Clone, PartialEq, Eq)]
pub struct Line {
    bytes: [u8; LINE_SIZE],
    len: usize,
}

impl core::fmt::Debug for Line {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("Line")
            .field(&self.as_bytes().escape_ascii())
            .finish()
    }
}

impl Default for Line {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl Line {
    /// An empty line.
    pub const EMPTY: Self = Self {
        bytes: [0; LINE_SIZE],
        len: 0,
    };

    /// The bytes written so far.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    /// Number of bytes written.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len
    }

    /// True if nothing was written.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True once [`LINE_SIZE`] bytes are written; further bytes are dropped.
    #[must_use]
    pub const fn is_full(&self) -> bool {
        self.len >= LINE_SIZE
    }

    /// Appends one byte, or drops it when the line is full.
    pub fn push(&mut self, byte: u8) {
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = byte;
            self.len = self.len.saturating_add(1);
        }
    }

    /// Appends bytes until the line is full.
    pub fn extend(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.is_full() {
                break;
            }
            self.push(b);
        }
    }

    /// Empties the line and zeroes what it held.
    pub fn clear(&mut self) {
        if let Some(used) = self.bytes.get_mut(..self.len) {
            used.fill(0);
        }
        self.len = 0;
    }

    /// A line holding the first [`LINE_SIZE`] bytes of `bytes`.
    #[must_use]
    pub fn from_clamped(bytes: &[u8]) -> Self {
        let mut line = Self::EMPTY;
        line.extend(bytes);
        line
    }
}

/// Where the formatter takes its arguments from.
///
/// Sources never fail: a missing argument reads as 0 or NULL (a typed source can run out; a
/// `va_list` is trusted to match the format, as in C).
pub trait LogArgs<'a> {
    /// The next integer-class argument as its raw 64-bit slot.
    fn word(&mut self) -> u64;
    /// The next `PCSTR`, looking at no more than `max` bytes and stopping at a NUL.
    fn str(&mut self, max: usize) -> Option<&'a [u8]>;
    /// The next `PCWSTR`, looking at no more than `max` units and stopping at a NUL.
    fn wide_str(&mut self, max: usize) -> Option<WideStr<'a>>;
    /// The next `PANSI_STRING`: its first `min(Length, max)` bytes.
    fn ansi_string(&mut self, max: usize) -> Option<&'a [u8]>;
    /// The next `PUNICODE_STRING`: its first `min(Length / 2, max)` units.
    fn unicode_string(&mut self, max: usize) -> Option<WideStr<'a>>;
}

/// One typed argument for [`SliceLogArgs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogArg<'a> {
    /// Integer, character or pointer: the raw slot (sign-extend signed values).
    Int(u64),
    /// `%s` (`None` = NULL).
    Str(Option<&'a [u8]>),
    /// `%ws` (`None` = NULL).
    WideStr(Option<&'a [u16]>),
    /// `%Z` (`None` = NULL).
    AnsiString(Option<&'a [u8]>),
    /// `%wZ` (`None` = NULL).
    UnicodeString(Option<&'a [u16]>),
}

/// A safe argument source over typed arguments. An argument of the wrong kind reads as 0 or
/// NULL, like a missing one.
#[derive(Debug, Clone)]
pub struct SliceLogArgs<'s, 'a> {
    args: core::slice::Iter<'s, LogArg<'a>>,
}

impl<'s, 'a> SliceLogArgs<'s, 'a> {
    /// A source yielding `args` in order.
    #[must_use]
    pub fn new(args: &'s [LogArg<'a>]) -> Self {
        Self { args: args.iter() }
    }
}

fn until_nul(bytes: &[u8]) -> &[u8] {
    bytes.split(|&b| b == 0).next().unwrap_or_default()
}

fn until_nul_wide(units: &[u16]) -> &[u16] {
    units.split(|&u| u == 0).next().unwrap_or_default()
}

fn clamp<T>(s: &[T], max: usize) -> &[T] {
    s.get(..max).unwrap_or(s)
}

impl<'a> LogArgs<'a> for SliceLogArgs<'_, 'a> {
    fn word(&mut self) -> u64 {
        match self.args.next() {
            Some(LogArg::Int(v)) => *v,
            _ => 0,
        }
    }
    fn str(&mut self, max: usize) -> Option<&'a [u8]> {
        match self.args.next() {
            Some(LogArg::Str(Some(s))) => Some(clamp(until_nul(s), max)),
            _ => None,
        }
    }
    fn wide_str(&mut self, max: usize) -> Option<WideStr<'a>> {
        match self.args.next() {
            Some(LogArg::WideStr(Some(s))) => {
                Some(WideStr::from_slice(clamp(until_nul_wide(s), max)))
            }
            _ => None,
        }
    }
    fn ansi_string(&mut self, max: usize) -> Option<&'a [u8]> {
        match self.args.next() {
            Some(LogArg::AnsiString(Some(s))) => Some(clamp(s, max)),
            _ => None,
        }
    }
    fn unicode_string(&mut self, max: usize) -> Option<WideStr<'a>> {
        match self.args.next() {
            Some(LogArg::UnicodeString(Some(s))) => Some(WideStr::from_slice(clamp(s, max))),
            _ => None,
        }
    }
}

/// The layout of `ANSI_STRING` and `UNICODE_STRING` (`Length` and `MaximumLength` in bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct CountedString {
    /// Bytes in use.
    pub length: u16,
    /// Bytes allocated.
    pub maximum_length: u16,
    /// The characters (not necessarily terminated).
    pub buffer: *const core::ffi::c_void,
}

/// Adapts a `kprintf` argument source (a C `va_list`) to [`LogArgs`], reading `%Z`/`%wZ`
/// arguments through their pointers.
#[derive(Debug)]
pub struct VaLogArgs<A> {
    source: A,
}

impl<A> VaLogArgs<A> {
    /// Wraps `source`.
    ///
    /// # Safety
    /// The format passed to [`format_into`] must match the arguments `source` reads, as in C:
    /// every `%s`/`%ws` argument NULL or a readable, terminated string, and every `%Z`/`%wZ`
    /// argument NULL or a readable `ANSI_STRING`/`UNICODE_STRING` whose `Buffer` holds `Length`
    /// readable bytes (or is NULL), for as long as the formatting runs.
    pub const unsafe fn new(source: A) -> Self {
        Self { source }
    }
}

impl<'a, A: ArgSource<'a>> VaLogArgs<A> {
    fn counted(&mut self) -> Option<CountedString> {
        let word = self.source.next_word().ok()?;
        let ptr = core::ptr::with_exposed_provenance::<CountedString>(usize::try_from(word).ok()?);
        if ptr.is_null() {
            return None;
        }
        // SAFETY: `new`'s contract: a non-NULL `%Z`/`%wZ` argument points to a readable counted
        // string; `read_unaligned` makes no alignment assumption.
        Some(unsafe { ptr.read_unaligned() })
    }
}

impl<'a, A: ArgSource<'a>> LogArgs<'a> for VaLogArgs<A> {
    fn word(&mut self) -> u64 {
        self.source.next_word().unwrap_or(0)
    }
    fn str(&mut self, max: usize) -> Option<&'a [u8]> {
        self.source.next_str(max).ok().flatten()
    }
    fn wide_str(&mut self, max: usize) -> Option<WideStr<'a>> {
        self.source.next_wide_str(max).ok().flatten()
    }
    fn ansi_string(&mut self, max: usize) -> Option<&'a [u8]> {
        let s = self.counted()?;
        let len = usize::from(s.length).min(max);
        if s.buffer.is_null() {
            return Some(&[]);
        }
        // SAFETY: `new`'s contract: `Buffer` holds `Length` readable bytes for the duration of
        // the formatting, and `len <= Length`.
        Some(unsafe { core::slice::from_raw_parts(s.buffer.cast::<u8>(), len) })
    }
    fn unicode_string(&mut self, max: usize) -> Option<WideStr<'a>> {
        let s = self.counted()?;
        let units = usize::from(s.length / 2).min(max);
        if s.buffer.is_null() {
            return Some(WideStr::from_slice(&[]));
        }
        // SAFETY: `new`'s contract: `Buffer` holds `Length` readable bytes, so `units` (at most
        // `Length / 2`) `u16`s are readable; `WideStr` reads them unaligned.
        Some(unsafe { WideStr::from_raw(s.buffer.cast::<u16>(), units) })
    }
}

/// A cursor over the format that ends at the first NUL or at the end of the slice.
struct Cursor<'f> {
    rest: &'f [u8],
}

impl Cursor<'_> {
    fn next(&mut self) -> Option<u8> {
        let (&b, tail) = self.rest.split_first()?;
        if b == 0 {
            self.rest = &[];
            return None;
        }
        self.rest = tail;
        Some(b)
    }
}

/// Pads with `fill` while `pad > len`, as upstream's decrementing loop does.
fn pad_to(line: &mut Line, pad: u8, len: usize, fill: u8) {
    let mut pad = usize::from(pad);
    while pad > len && !line.is_full() {
        line.push(fill);
        pad = pad.saturating_sub(1);
    }
}

/// Prints a string with upstream's inverted justification.
fn put_text(line: &mut Line, len: usize, pad: u8, left: bool, mut each: impl FnMut(&mut Line)) {
    if left {
        pad_to(line, pad, len, b' ');
    }
    each(line);
    if !left {
        pad_to(line, pad, len, b' ');
    }
}

fn put_narrow(line: &mut Line, s: Option<&[u8]>, pad: u8, left: bool) {
    let s = s.unwrap_or(b"(null)");
    put_text(line, s.len(), pad, left, |l| l.extend(s));
}

fn put_wide(line: &mut Line, s: Option<WideStr<'_>>, pad: u8, left: bool) {
    match s {
        None => put_narrow(line, None, pad, left),
        Some(w) => put_text(line, w.len(), pad, left, |l| {
            for i in 0..w.len() {
                if l.is_full() {
                    break;
                }
                let unit = w.get(i).unwrap_or(0);
                l.push(unit.to_le_bytes()[0]);
            }
        }),
    }
}

/// Number conversion state.
struct Number {
    pad: u8,
    zero: bool,
    left: bool,
    wide: bool,
}

fn put_number(line: &mut Line, word: u64, conv: u8, n: &Number) {
    let (base, upper): (u64, bool) = match conv {
        b'o' => (8, false),
        b'd' | b'u' => (10, false),
        b'X' | b'p' => (16, true),
        _ => (16, false),
    };
    let (magnitude, negative) = if n.wide {
        let signed = i64::from_ne_bytes(word.to_ne_bytes());
        if conv == b'd' && signed < 0 {
            (signed.unsigned_abs(), true)
        } else {
            (word, false)
        }
    } else {
        let low = u32::try_from(word & 0xffff_ffff).unwrap_or(0);
        let signed = i32::from_ne_bytes(low.to_ne_bytes());
        if conv == b'd' && signed < 0 {
            (u64::from(signed.unsigned_abs()), true)
        } else {
            (u64::from(low), false)
        }
    };
    // 64 bits in octal is 22 digits; one more for the sign.
    let mut digits = [0u8; 24];
    let mut start = digits.len();
    let mut v = magnitude;
    loop {
        let d = u8::try_from(v.checked_rem(base).unwrap_or(0)).unwrap_or(0);
        let c = match d {
            0..=9 => b'0'.saturating_add(d),
            _ if upper => b'A'.saturating_add(d.saturating_sub(10)),
            _ => b'a'.saturating_add(d.saturating_sub(10)),
        };
        start = start.saturating_sub(1);
        if let Some(slot) = digits.get_mut(start) {
            *slot = c;
        }
        v = v.checked_div(base).unwrap_or(0);
        if v == 0 {
            break;
        }
    }
    if negative {
        start = start.saturating_sub(1);
        if let Some(slot) = digits.get_mut(start) {
            *slot = b'-';
        }
    }
    let text = digits.get(start..).unwrap_or_default();
    if !n.left {
        pad_to(line, n.pad, text.len(), if n.zero { b'0' } else { b' ' });
    }
    line.extend(text);
    if n.left {
        pad_to(line, n.pad, text.len(), b' ');
    }
}

/// Formats `fmt` with `args` onto the end of `line` with upstream's rules (see the module
/// docs); `count` limits the format items processed (0 = no limit, at most 256).
pub fn format_into<'a, A: LogArgs<'a> + ?Sized>(
    line: &mut Line,
    count: u32,
    fmt: &[u8],
    args: &mut A,
) {
    let mut remaining = match count.min(256) {
        0 => None,
        n => Some(n),
    };
    let mut f = Cursor { rest: fmt };
    while let Some(c) = f.next() {
        if c == b'%' && !format_conversion(line, &mut f, args) {
            break;
        } else if c != b'%' {
            line.push(c);
        }
        if let Some(r) = remaining.as_mut() {
            *r = r.saturating_sub(1);
            if *r == 0 {
                break;
            }
        }
    }
}

/// Formats one conversion after its `%`. Returns false if the format ended inside it.
fn format_conversion<'a, A: LogArgs<'a> + ?Sized>(
    line: &mut Line,
    f: &mut Cursor<'_>,
    args: &mut A,
) -> bool {
    let Some(mut c) = f.next() else { return false };
    let left = c == b'-';
    if left {
        let Some(next) = f.next() else { return false };
        c = next;
    }
    let mut pad: u8 = 0;
    let zero = c == b'0';
    while c.is_ascii_digit() {
        pad = pad.wrapping_mul(10).wrapping_add(c.wrapping_sub(b'0'));
        let Some(next) = f.next() else { return false };
        c = next;
    }
    let mut longs: u32 = 0;
    while c == b'l' {
        longs = longs.saturating_add(1);
        let Some(next) = f.next() else { return false };
        c = next;
    }
    let mut wide = false;
    while c == b'w' {
        wide = true;
        let Some(next) = f.next() else { return false };
        c = next;
    }
    let max = LINE_SIZE;
    match c {
        b'c' => {
            let word = args.word();
            // `%wc` reads a WCHAR and keeps its low byte; `%c` reads a CHAR: the same byte.
            line.push(word.to_le_bytes()[0]);
        }
        b'p' | b'd' | b'u' | b'o' | b'x' | b'X' => {
            let pointer = c == b'p';
            let pointer_bytes = u8::try_from(core::mem::size_of::<usize>()).unwrap_or(8);
            let n = Number {
                pad: if pointer {
                    pointer_bytes.saturating_mul(2)
                } else {
                    pad
                },
                zero: pointer || zero,
                left,
                wide: if pointer {
                    pointer_bytes == 8
                } else {
                    longs == 2
                },
            };
            let word = args.word();
            put_number(line, word, c, &n);
        }
        b's' if wide => put_wide(line, args.wide_str(max), pad, left),
        b's' => put_narrow(line, args.str(max), pad, left),
        b'Z' if wide => put_wide(line, args.unicode_string(max), pad, left),
        b'Z' => put_narrow(line, args.ansi_string(max), pad, left),
        other => line.push(other),
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn fmt(count: u32, f: &str, args: &[LogArg<'_>]) -> Vec<u8> {
        let mut line = Line::EMPTY;
        format_into(&mut line, count, f.as_bytes(), &mut SliceLogArgs::new(args));
        line.as_bytes().to_vec()
    }

    fn s(f: &str, args: &[LogArg<'_>]) -> std::string::String {
        std::string::String::from_utf8(fmt(256, f, args)).unwrap()
    }

    fn int(v: i64) -> LogArg<'static> {
        LogArg::Int(u64::from_ne_bytes(v.to_ne_bytes()))
    }

    #[test]
    fn literals_and_unknown_conversions_print_as_is() {
        assert_eq!(s("hello\n", &[]), "hello\n");
        assert_eq!(s("100%%", &[]), "100%");
        assert_eq!(s("%q%I64d", &[int(5)]), "qI64d");
    }

    #[test]
    fn numbers_match_upstream() {
        assert_eq!(s("%08x", &[int(0xABC)]), "00000abc");
        assert_eq!(s("%X", &[int(0xabc)]), "ABC");
        assert_eq!(s("%5d", &[int(-42)]), "  -42");
        assert_eq!(s("%05d", &[int(-42)]), "00-42");
        assert_eq!(s("%-5d|", &[int(-42)]), "-42  |");
        assert_eq!(s("%-05x|", &[int(0x1f)]), "1f   |");
        assert_eq!(s("%d", &[int(i64::from(i32::MIN))]), "-2147483648");
        assert_eq!(s("%u", &[int(-1)]), "4294967295");
        assert_eq!(s("%lu", &[int(-1)]), "4294967295");
        assert_eq!(s("%llu", &[int(-1)]), "18446744073709551615");
        assert_eq!(s("%lld", &[int(i64::MIN)]), "-9223372036854775808");
        assert_eq!(s("%lllx", &[int(0x1_0000_0001)]), "1");
        assert_eq!(s("%llo", &[int(-1)]), "1777777777777777777777");
        assert_eq!(s("%o", &[int(8)]), "10");
        assert_eq!(s("%d", &[int(0)]), "0");
        assert_eq!(s("%x", &[int(0x1_0000_00ff)]), "ff");
    }

    #[test]
    fn pointers_are_sixteen_upper_case_digits() {
        assert_eq!(s("%p", &[int(0x1234)]), "0000000000001234");
        assert_eq!(s("%p", &[int(-1)]), "FFFFFFFFFFFFFFFF");
        // The width is overridden; `-` still moves the (space) padding to the right.
        assert_eq!(s("%-3p|", &[int(0xab)]), "AB              |");
        assert_eq!(s("%3p|", &[int(0xab)]), "00000000000000AB|");
    }

    #[test]
    fn widths_wrap_at_256_like_a_uchar() {
        // 300 mod 256 = 44.
        assert_eq!(s("%300d", &[int(1)]).len(), 44);
        assert_eq!(s("%256d", &[int(7)]), "7");
    }

    #[test]
    fn strings_pad_the_other_way_round() {
        assert_eq!(s("%-4s|", &[LogArg::Str(Some(b"ab"))]), "  ab|");
        assert_eq!(s("%4s|", &[LogArg::Str(Some(b"ab"))]), "ab  |");
        assert_eq!(s("%04s|", &[LogArg::Str(Some(b"ab"))]), "ab  |");
        assert_eq!(s("%1s|", &[LogArg::Str(Some(b"abc"))]), "abc|");
        assert_eq!(s("%s", &[LogArg::Str(Some(b"ab\0cd"))]), "ab");
    }

    #[test]
    fn null_strings_print_null() {
        assert_eq!(s("%s", &[LogArg::Str(None)]), "(null)");
        assert_eq!(s("%ws", &[LogArg::WideStr(None)]), "(null)");
        assert_eq!(s("%Z", &[LogArg::AnsiString(None)]), "(null)");
        assert_eq!(s("%wZ", &[LogArg::UnicodeString(None)]), "(null)");
        assert_eq!(s("%8s|", &[LogArg::Str(None)]), "(null)  |");
    }

    #[test]
    fn wide_forms_keep_the_low_byte() {
        let w: Vec<u16> = "héllo".encode_utf16().collect();
        assert_eq!(fmt(0, "%ws", &[LogArg::WideStr(Some(&w))]), b"h\xe9llo");
        assert_eq!(fmt(0, "%wc", &[int(0x4142)]), b"B");
        assert_eq!(fmt(0, "%c", &[int(0x141)]), b"A");
        let u: Vec<u16> = "ab\0c".encode_utf16().collect();
        // Counted strings print their whole length, NULs included.
        assert_eq!(fmt(0, "%wZ", &[LogArg::UnicodeString(Some(&u))]), b"ab\0c");
        assert_eq!(fmt(0, "%Z", &[LogArg::AnsiString(Some(b"x\0y"))]), b"x\0y");
        assert_eq!(
            s("%-5wZ|", &[LogArg::UnicodeString(Some(&u[..2]))]),
            "   ab|"
        );
    }

    #[test]
    fn w_is_ignored_on_numbers() {
        assert_eq!(s("%wd", &[int(-3)]), "-3");
    }

    #[test]
    fn output_is_truncated_at_256_bytes() {
        let long = [b'a'; 300];
        let out = fmt(0, "%s", &[LogArg::Str(Some(&long))]);
        assert_eq!(out.len(), LINE_SIZE);
        let f: std::string::String = "x".repeat(1000);
        assert_eq!(fmt(0, &f, &[]).len(), LINE_SIZE);
        let out = fmt(
            0,
            "%200s%200s",
            &[LogArg::Str(Some(b"a")), LogArg::Str(Some(b"b"))],
        );
        assert_eq!(out.len(), LINE_SIZE);
        assert_eq!(out[200], b'b');
    }

    #[test]
    fn count_limits_format_items() {
        assert_eq!(fmt(3, "abcdef", &[]), b"abc");
        assert_eq!(fmt(2, "%d-%d", &[int(1), int(2)]), b"1-");
        assert_eq!(fmt(1, "%s and more", &[LogArg::Str(Some(b"all"))]), b"all");
        // 0 means no limit; counts above 256 are clamped to 256.
        assert_eq!(fmt(0, "abcdef", &[]), b"abcdef");
        let f: std::string::String = "x".repeat(300);
        assert_eq!(fmt(1000, &f, &[]).len(), 256);
    }

    #[test]
    fn formats_that_end_inside_a_conversion_stop_there() {
        for f in ["abc%", "abc%-", "abc%08", "abc%ll", "abc%w", "abc%-0l"] {
            assert_eq!(fmt(0, f, &[int(1)]), b"abc", "{f}");
        }
        // An embedded NUL ends the format.
        assert_eq!(fmt(0, "ab\0%d", &[int(1)]), b"ab");
    }

    #[test]
    fn missing_or_mistyped_arguments_read_as_zero_or_null() {
        assert_eq!(s("%d %s %x", &[]), "0 (null) 0");
        assert_eq!(s("%s %d", &[int(5), LogArg::Str(Some(b"x"))]), "(null) 0");
    }

    #[test]
    fn format_appends_to_existing_text() {
        let mut line = Line::from_clamped(b"xen|Fn: ");
        format_into(&mut line, 0, b"%u\n", &mut SliceLogArgs::new(&[int(7)]));
        assert_eq!(line.as_bytes(), b"xen|Fn: 7\n");
        line.clear();
        assert!(line.is_empty());
    }

    #[test]
    fn random_formats_never_panic_and_never_exceed_the_line() {
        let mut x: u64 = 0x0123_4567_89ab_cdef;
        let alphabet = b"%%%-0123456789lllwwcsZdpuoxX \0abc";
        let w: Vec<u16> = "wide".encode_utf16().collect();
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = usize::try_from(x % 40).unwrap();
            let mut y = x;
            let f: Vec<u8> = (0..len)
                .map(|_| {
                    y = y.rotate_left(5) ^ 0x9e37_79b9;
                    alphabet[usize::try_from(y % alphabet.len() as u64).unwrap()]
                })
                .collect();
            let args = [
                int(i64::from_ne_bytes(x.to_ne_bytes())),
                LogArg::Str(Some(b"str")),
                LogArg::WideStr(Some(&w)),
                LogArg::AnsiString(None),
                LogArg::UnicodeString(Some(&w)),
                int(-1),
            ];
            let mut line = Line::EMPTY;
            let count = u32::try_from(x >> 56).unwrap();
            format_into(&mut line, count, &f, &mut SliceLogArgs::new(&args));
            assert!(line.len() <= LINE_SIZE);
        }
    }
}
