// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `kprintf`: the MSVC printf engine (`crates/kprintf`) on arbitrary formats and argument
//! lists.
//!
//! Two modes, chosen by the first byte:
//! * **free**: any format bytes against any typed arguments. On success the output length is
//!   what `format` returns and the engine consumed exactly `count_args(fmt)` arguments; a
//!   format error found by validation (truncated spec, unknown or unsupported conversion, bad
//!   length, width overflow, missing arguments) writes nothing and reads nothing; a shorter
//!   buffer gets exactly the prefix that fits and `Overflow` (and the whole output when it
//!   fits); `format_to_buf` agrees with `format`.
//! * **differential**: a format built from literal text and integer, character and string
//!   conversions in the ISO C subset where MSVC and glibc agree (the one the unit tests'
//!   matrix covers: any flags, widths, precisions up to MSVC's 512-digit cap, `*` arguments,
//!   `hh`/`h`/`l`/`ll`/`I64`/`I32`/`I`/`z` mapped to glibc's lengths) must print exactly what
//!   glibc's `snprintf` prints, conversion by conversion.

use std::ffi::{CString, c_char, c_int};

use kprintf::{Arg, BufSink, FormatError, SliceArgs, format, format_to_buf, spec};

use crate::input::{Reader, Writer};

unsafe extern "C" {
    fn snprintf(buf: *mut c_char, len: usize, fmt: *const c_char, ...) -> c_int;
}

/// MSVC length modifier and glibc's of the same width on x86_64 (as the unit tests map them).
const LENGTHS: &[(&str, &str)] = &[
    ("", ""),
    ("hh", "hh"),
    ("h", "h"),
    ("l", ""),
    ("ll", "ll"),
    ("I64", "ll"),
    ("I32", ""),
    ("I", "z"),
    ("z", "z"),
];
const CONVERSIONS: &[u8] = b"diuxXocs";
const FLAGS: &[u8] = b"-0+ #";

const SINK: usize = 1 << 16;

fn validation_error(e: FormatError) -> bool {
    !matches!(e, FormatError::Overflow | FormatError::ArgumentType { .. })
}

fn free(r: &mut Reader<'_>) {
    let fmt = r.long_bytes(400);
    let strings: Vec<&[u8]> = (0..4).map(|_| r.short_bytes(64)).collect();
    let wide: Vec<Vec<u16>> = (0..2)
        .map(|_| {
            r.short_bytes(64)
                .chunks(2)
                .map(|c| u16::from_le_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect()
        })
        .collect();
    let mut args: Vec<Arg<'_>> = Vec::new();
    for _ in 0..r.below(16) {
        args.push(match r.below(8) {
            0..=3 => Arg::Int(r.u64()),
            4 => Arg::Int(u64::from(r.u8())),
            5 => Arg::Str(strings.get(usize::from(r.below(5))).copied()),
            6 => Arg::WideStr(wide.get(usize::from(r.below(3))).map(Vec::as_slice)),
            _ => Arg::Int(u64::from(r.u32()) | 0xFFFF_FFFF_0000_0000),
        });
    }
    let cut = usize::from(r.u16());

    let mut buf = vec![0u8; SINK];
    let mut sink = BufSink::new(&mut buf);
    let mut src = SliceArgs::new(&args);
    let result = format(fmt, &mut src, &mut sink);
    let full = sink.as_bytes().to_vec();
    match result {
        Ok(n) => {
            assert_eq!(n, full.len(), "returned length");
            let needed = spec::count_args(fmt).expect("a format that formatted validates");
            assert_eq!(src.consumed(), needed, "arguments consumed");
        }
        Err(e) if validation_error(e) => {
            assert!(full.is_empty(), "{e:?} after writing");
            assert_eq!(src.consumed(), 0, "{e:?} after reading");
        }
        Err(FormatError::Overflow) => assert_eq!(full.len(), SINK),
        Err(_) => {}
    }

    // A shorter buffer: the prefix that fits.
    let len = if full.is_empty() {
        0
    } else {
        cut % (full.len() + 1)
    };
    let mut small = vec![0u8; len];
    let mut src = SliceArgs::new(&args);
    let mut sink = BufSink::new(&mut small);
    let short = format(fmt, &mut src, &mut sink);
    match result {
        Ok(n) if len >= n => assert_eq!(short, Ok(n)),
        Ok(_) => {
            assert_eq!(short, Err(FormatError::Overflow));
            assert_eq!(sink.as_bytes(), &full[..len], "truncated output");
        }
        Err(e) if validation_error(e) => assert_eq!(short, Err(e)),
        Err(_) => assert!(full.starts_with(sink.as_bytes())),
    }

    let mut buf = vec![0u8; SINK];
    let mut src = SliceArgs::new(&args);
    match (format_to_buf(&mut buf, fmt, &mut src), result) {
        (Ok(out), Ok(_)) => assert_eq!(out, &full[..]),
        (Err(a), Err(b)) => assert_eq!(a, b),
        (a, b) => panic!("format_to_buf {a:?} vs format {b:?}"),
    }
}

/// One conversion of the differential mode: its MSVC and glibc spellings and arguments.
struct Conversion {
    ours: String,
    theirs: String,
    star_width: Option<i32>,
    star_precision: Option<i32>,
    value: u64,
    text: Option<Vec<u8>>,
}

fn glibc(c: &Conversion) -> Vec<u8> {
    let fmt = CString::new(c.theirs.clone()).expect("no NUL in a built format");
    let text = c
        .text
        .as_ref()
        .map(|t| CString::new(t.clone()).expect("text cut at its NUL"));
    let mut buf = vec![0u8; 4096];
    let (b, n, f) = (buf.as_mut_ptr().cast::<c_char>(), buf.len(), fmt.as_ptr());
    // SAFETY: each call passes exactly the arguments the format names, in order: `int`s for `*`,
    // then a 64-bit integer slot (glibc reads the width its length modifier names) or a
    // NUL-terminated string.
    let written = unsafe {
        match (c.star_width, c.star_precision, &text) {
            (None, None, None) => snprintf(b, n, f, c.value),
            (Some(w), None, None) => snprintf(b, n, f, w, c.value),
            (None, Some(p), None) => snprintf(b, n, f, p, c.value),
            (Some(w), Some(p), None) => snprintf(b, n, f, w, p, c.value),
            (None, None, Some(t)) => snprintf(b, n, f, t.as_ptr()),
            (Some(w), None, Some(t)) => snprintf(b, n, f, w, t.as_ptr()),
            (None, Some(p), Some(t)) => snprintf(b, n, f, p, t.as_ptr()),
            (Some(w), Some(p), Some(t)) => snprintf(b, n, f, w, p, t.as_ptr()),
        }
    };
    let written = usize::try_from(written).expect("snprintf failed");
    assert!(
        written < buf.len(),
        "glibc output too long for the comparison buffer"
    );
    buf.truncate(written);
    buf
}

fn differential(r: &mut Reader<'_>) {
    let mut fmt = Vec::new();
    let mut expected = Vec::new();
    let mut texts: Vec<Vec<u8>> = Vec::new();
    let mut conversions = Vec::new();
    for _ in 0..8 {
        if r.is_empty() {
            break;
        }
        if r.below(4) == 0 {
            let literal: Vec<u8> = r
                .short_bytes(16)
                .iter()
                .copied()
                .filter(|&b| b != b'%' && b != 0)
                .collect();
            fmt.extend_from_slice(&literal);
            expected.extend_from_slice(&literal);
            continue;
        }
        let conv = r.choose(CONVERSIONS);
        let textual = conv == b'c' || conv == b's';
        let mask = r.u8();
        let mut flags: Vec<u8> = FLAGS
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, &f)| f)
            .collect();
        if textual {
            // `0`, `+`, ` ` and `#` on %c/%s are undefined in C (MSVC zero-pads): not compared.
            flags.retain(|&f| f == b'-');
        }
        let flags = String::from_utf8(flags).expect("ASCII flags");
        let (width, star_width) = match r.below(3) {
            0 => (String::new(), None),
            1 => (format!("{}", r.u16() % 700), None),
            _ => ("*".to_owned(), Some(i32::from(r.u16() as i16) % 700)),
        };
        let (precision, star_precision) = match (conv == b'c', r.below(4)) {
            (true, _) | (false, 0) => (String::new(), None),
            (false, 1) => (".".to_owned(), None),
            (false, 2) => (format!(".{}", r.u16() % 513), None),
            (false, _) => (".*".to_owned(), Some(i32::from(r.u16() as i16) % 513)),
        };
        let (ours_len, theirs_len) = if textual { ("", "") } else { r.choose(LENGTHS) };
        let conv = char::from(conv);
        let ours = format!("%{flags}{width}{precision}{ours_len}{conv}");
        let theirs = format!("%{flags}{width}{precision}{theirs_len}{conv}");
        let value = match r.below(4) {
            0 => u64::from(r.u8()),
            1 => i64::from(r.u16().cast_signed()).cast_unsigned(),
            _ => r.u64(),
        };
        let text = (conv == 's').then(|| {
            let t = r.short_bytes(80);
            t.split(|&b| b == 0).next().unwrap_or_default().to_vec()
        });
        // `%c` of 0 prints a NUL: fine for both, compared as bytes.
        let c = Conversion {
            ours,
            theirs,
            star_width,
            star_precision,
            value,
            text,
        };
        expected.extend_from_slice(&glibc(&c));
        fmt.extend_from_slice(c.ours.as_bytes());
        if let Some(t) = &c.text {
            texts.push(t.clone());
        }
        conversions.push(c);
    }
    let mut args: Vec<Arg<'_>> = Vec::new();
    let mut next_text = texts.iter();
    for c in &conversions {
        if let Some(w) = c.star_width {
            args.push(Arg::from(w));
        }
        if let Some(p) = c.star_precision {
            args.push(Arg::from(p));
        }
        if c.text.is_some() {
            args.push(Arg::Str(next_text.next().map(Vec::as_slice)));
        } else {
            args.push(Arg::Int(c.value));
        }
    }
    let mut buf = vec![0u8; SINK];
    let mut src = SliceArgs::new(&args);
    let out = format_to_buf(&mut buf, &fmt, &mut src)
        .unwrap_or_else(|e| panic!("{:?}: {e:?}", String::from_utf8_lossy(&fmt)));
    assert_eq!(
        out,
        &expected[..],
        "format {:?}: ours {:?}, glibc {:?}",
        String::from_utf8_lossy(&fmt),
        String::from_utf8_lossy(out),
        String::from_utf8_lossy(&expected)
    );
    assert_eq!(src.consumed(), args.len());
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut r = Reader::new(data);
    if r.bool() {
        differential(&mut r);
    } else {
        free(&mut r);
    }
}

/// Seeds: formats the child drivers use (the unit tests' vectors) in free mode, and a few
/// differential specs.
#[must_use]
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    type FreeSeed<'a> = (&'a str, &'a [u8], &'a [&'a [u8]], &'a [(u8, u64)]);
    let free_seeds: [FreeSeed<'_>; 8] = [
        (
            "ring-ref",
            b"%s/ring-ref%u",
            &[b"device/vif/0"],
            &[(5, 0), (4, 8)],
        ),
        (
            "pointer",
            b"%p %#p %.4p %lp",
            &[],
            &[(0, 0xFFFF_E001_2345_ABCD), (0, 0x1000), (0, 0x1000), (0, 0)],
        ),
        (
            "llp64",
            b"%lu %ld %lx %I64x %I64d %I32u %Iu %zx",
            &[],
            &[
                (0, 0x1_0000_0001),
                (0, 0xffff_ffff),
                (0, 0xabcd_0000_1234_5678),
                (0, 0xabcd_0000_1234_5678),
                (0, 1 << 63),
                (0, 0x1_0000_0002),
                (0, 0x1_0000_0002),
                (0, u64::MAX),
            ],
        ),
        (
            "strings",
            b"%05s|%-05s|%.3s|%S|%ws|%C%wc",
            &[b"ab", b"ab"],
            &[(5, 0), (5, 1), (5, 4), (6, 0), (6, 1), (4, 0x41), (4, 0x42)],
        ),
        (
            "star",
            b"<%*.*d> <%-*s>",
            &[b"xen-store"],
            &[
                (7, 12),
                (7, 3),
                (0, 0xFFFF_FFFF_FFFF_EDCC), // -4660
                (4, 9),
                (5, 0),
            ],
        ),
        ("rejects", b"%d %y %n %f %I64s %5%", &[], &[(0, 1)]),
        (
            "width-overflow",
            b"%4294967296d %.4294967296d",
            &[],
            &[(0, 1), (0, 2)],
        ),
        ("big-width", b"%2147483647d", &[], &[(0, 7)]),
    ];
    for (name, fmt, strings, ints) in free_seeds {
        let mut w = Writer::new();
        w.bool(false).long_bytes(fmt);
        for i in 0..4 {
            w.short_bytes(strings.get(i).copied().unwrap_or_default());
        }
        w.short_bytes(
            &"Xen PV"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<u8>>(),
        );
        w.short_bytes(b"");
        w.u8(u8::try_from(ints.len()).expect("few args"));
        for &(kind, value) in ints {
            match kind {
                0 => w.u8(0).u64(value),
                4 => w.u8(4).u8(value as u8),
                5 => w.u8(5).u8(value as u8),
                6 => w.u8(6).u8(value as u8),
                _ => w.u8(7).u32(value as u32),
            };
        }
        w.u16(7);
        out.push((name, w.finish()));
    }
    let mut diff = Writer::new();
    diff.bool(true);
    // literal, then %-+8.3lld of -42, %#x, %*.*s.
    diff.u8(0).short_bytes(b"vif/");
    // kind, conversion, flags mask (-0+ #), width mode [+u16], precision mode [+u16],
    // length (integers only), value mode + value, text (%s only).
    diff.u8(1)
        .u8(0)
        .u8(0b101)
        .u8(1)
        .u16(8)
        .u8(2)
        .u16(3)
        .u8(4)
        .u8(2)
        .u64((-42i64).cast_unsigned());
    diff.u8(1)
        .u8(3)
        .u8(0b10000)
        .u8(0)
        .u8(0)
        .u8(0)
        .u8(2)
        .u64(0xdead_beef);
    diff.u8(1)
        .u8(7)
        .u8(1)
        .u8(2)
        .u16(12)
        .u8(3)
        .u16(4)
        .u8(0)
        .u8(0)
        .short_bytes(b"xen-store");
    diff.u8(1)
        .u8(6)
        .u8(1)
        .u8(2)
        .u16(0xFFF4)
        .u8(0)
        .u8(0)
        .u8(b'Q');
    out.push(("differential", diff.finish()));
    out
}
