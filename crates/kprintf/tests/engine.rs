// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Engine tests: every conversion, flag, width, precision and length the child drivers use.
//!
//! Where MSVC and glibc agree (ISO C integer and string formatting), the expectation comes from
//! the host C library's `snprintf`, called through Rust's C-variadic call support, over a large
//! generated matrix. Where MSVC differs (`%p`, LLP64 `l`, `I64`, `0`-padded strings, `(null)`
//! under a precision, wide strings), the expected MSVC output is written out by hand.

#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::ffi::{CString, c_char, c_int};

use kprintf::{Arg, BufSink, FormatError, SliceArgs, format, format_to_buf};

unsafe extern "C" {
    fn snprintf(buf: *mut c_char, len: usize, fmt: *const c_char, ...) -> c_int;
}

/// Formats with the engine over a slice source; the output must be valid for `assert_eq!`.
fn kp(fmt: &str, args: &[Arg<'_>]) -> String {
    let mut buf = vec![0u8; 4096];
    let mut src = SliceArgs::new(args);
    let out = format_to_buf(&mut buf, fmt.as_bytes(), &mut src)
        .unwrap_or_else(|e| panic!("{fmt:?}: {e}"));
    assert_eq!(
        src.consumed(),
        args.len(),
        "{fmt:?} consumed every argument"
    );
    String::from_utf8(out.to_vec()).unwrap()
}

fn glibc(fmt: &str, call: impl FnOnce(*mut c_char, usize, *const c_char) -> c_int) -> String {
    let cfmt = CString::new(fmt).unwrap();
    let mut buf = vec![0u8; 4096];
    let n = call(buf.as_mut_ptr().cast(), buf.len(), cfmt.as_ptr());
    assert!(n >= 0 && (n as usize) < buf.len(), "{fmt:?}");
    buf.truncate(n as usize);
    String::from_utf8(buf).unwrap()
}

/// MSVC length modifier, and the glibc modifier of the same width on x86_64.
const LENGTHS: &[(&str, &str)] = &[
    ("", ""),
    ("hh", "hh"),
    ("h", "h"),
    ("l", ""), // LLP64: MSVC's long is 32 bits.
    ("ll", "ll"),
    ("I64", "ll"),
    ("I32", ""),
    ("I", "z"),
    ("z", "z"),
];

const VALUES: &[u64] = &[
    0,
    1,
    7,
    8,
    42,
    (-42i64) as u64,
    (-1i64) as u64,
    128,
    65_535,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0001, // Proves truncation to the modifier's width.
    0x8000_0000_0000_0000,
    1_234_567_890_123,
];

const FLAG_CHARS: &[u8] = b"-0+ #";

fn flag_sets() -> Vec<String> {
    (0..32u32)
        .map(|mask| {
            FLAG_CHARS
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, &c)| char::from(c))
                .collect()
        })
        .collect()
}

#[test]
fn integer_matrix_matches_the_host_c_library() {
    let widths = ["", "1", "6", "25"];
    let precisions = ["", ".", ".0", ".1", ".5", ".20"];
    let mut checked = 0usize;
    for flags in flag_sets() {
        for width in widths {
            for precision in precisions {
                for (ours, theirs) in LENGTHS {
                    for conv in ['d', 'i', 'u', 'x', 'X', 'o'] {
                        let fmt = format!("[%{flags}{width}{precision}{ours}{conv}]");
                        let cfmt = format!("[%{flags}{width}{precision}{theirs}{conv}]");
                        for &value in VALUES {
                            let expected = glibc(&cfmt, |b, n, f| {
                                // SAFETY: one integer conversion, given one 64-bit slot; glibc
                                // reads the low bits it needs, as it would from a C `int`.
                                unsafe { snprintf(b, n, f, value) }
                            });
                            assert_eq!(kp(&fmt, &[Arg::Int(value)]), expected, "{fmt} {value:#x}");
                            checked += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(checked, 32 * 4 * 6 * LENGTHS.len() * 6 * VALUES.len());
}

#[test]
fn star_width_and_precision_match_the_host_c_library() {
    for conv in ["d", "x", "s", "c", "u"] {
        for w in [-12i32, -1, 0, 3, 9] {
            for p in [-3i32, 0, 2, 7] {
                let fmt = format!("<%*.*{conv}>");
                let (ours, theirs) = if conv == "s" {
                    let ours = kp(&fmt, &[Arg::from(w), Arg::from(p), Arg::from("xen-store")]);
                    let theirs = glibc(&fmt, |b, n, f| {
                        // SAFETY: width, precision and a NUL-terminated string.
                        unsafe { snprintf(b, n, f, w, p, c"xen-store".as_ptr()) }
                    });
                    (ours, theirs)
                } else {
                    let v: i32 = if conv == "c" { i32::from(b'Q') } else { -4660 };
                    let ours = kp(&fmt, &[Arg::from(w), Arg::from(p), Arg::from(v)]);
                    // SAFETY: width, precision and an int.
                    let theirs = glibc(&fmt, |b, n, f| unsafe { snprintf(b, n, f, w, p, v) });
                    (ours, theirs)
                };
                assert_eq!(ours, theirs, "{fmt} w={w} p={p}");
            }
        }
    }
}

#[test]
fn strings_and_chars_match_the_host_c_library_without_the_zero_flag() {
    let strings: &[&std::ffi::CStr] = &[c"", c"a", c"device/vif/0", c"0123456789abcdef0123"];
    for flags in ["", "-", "+", " ", "#", "-+ #"] {
        for width in ["", "1", "5", "40"] {
            for precision in ["", ".", ".0", ".3", ".30"] {
                let fmt = format!("|%{flags}{width}{precision}s|");
                for s in strings {
                    let ours = kp(&fmt, &[Arg::Str(Some(s.to_bytes()))]);
                    // SAFETY: one NUL-terminated string.
                    let theirs = glibc(&fmt, |b, n, f| unsafe { snprintf(b, n, f, s.as_ptr()) });
                    assert_eq!(ours, theirs, "{fmt} {s:?}");
                }
                let fmt = format!("|%{flags}{width}c|");
                let ours = kp(&fmt, &[Arg::from(i32::from(b'z'))]);
                // SAFETY: one int.
                let theirs = glibc(&fmt, |b, n, f| unsafe {
                    snprintf(b, n, f, c_int::from(b'z'))
                });
                assert_eq!(ours, theirs, "{fmt}");
            }
        }
    }
}

#[test]
fn formats_the_children_use() {
    // Spec §5.4.7: `%u %s %p %d %04x %02x %lu %x %llu %02u %40s %08x %04u`.
    let frontend = "device/vbd/768";
    assert_eq!(kp("%u", &[Arg::from(4_294_967_295u32)]), "4294967295");
    assert_eq!(
        kp("%s/state", &[Arg::from(frontend)]),
        "device/vbd/768/state"
    );
    assert_eq!(kp("%d", &[Arg::from(-5i32)]), "-5");
    assert_eq!(kp("%04x", &[Arg::from(0xbu32)]), "000b");
    assert_eq!(
        kp("%02x:%02x", &[Arg::from(0u8), Arg::from(0x16u8)]),
        "00:16"
    );
    assert_eq!(kp("%x", &[Arg::from(0xdead_beefu32)]), "deadbeef");
    assert_eq!(kp("%08x", &[Arg::from(0x1234u32)]), "00001234");
    assert_eq!(kp("%llu", &[Arg::from(u64::MAX)]), "18446744073709551615");
    assert_eq!(kp("%02u", &[Arg::from(7u32)]), "07");
    assert_eq!(kp("%04u", &[Arg::from(31u32)]), "0031");
    assert_eq!(
        kp("%40s|", &[Arg::from("x")]),
        format!("{}x|", " ".repeat(39))
    );
    // A grant reference and a ring-ref path, the way xenvif writes them.
    assert_eq!(
        kp(
            "%s/ring-ref%u",
            &[Arg::from("device/vif/0"), Arg::from(3u32)]
        ),
        "device/vif/0/ring-ref3"
    );
}

#[test]
fn msvc_l_is_32_bits_on_x64() {
    // glibc would print 4294967297 (LP64); MSVC's long is 32 bits (LLP64).
    assert_eq!(kp("%lu", &[Arg::Int(0x1_0000_0001)]), "1");
    assert_eq!(kp("%ld", &[Arg::Int(0xffff_ffff)]), "-1");
    assert_eq!(kp("%lx", &[Arg::Int(0xabcd_0000_1234_5678)]), "12345678");
    assert_eq!(
        kp("%I64x", &[Arg::Int(0xabcd_0000_1234_5678)]),
        "abcd000012345678"
    );
    assert_eq!(kp("%I64d", &[Arg::from(i64::MIN)]), "-9223372036854775808");
    assert_eq!(kp("%I32u", &[Arg::Int(0x1_0000_0002)]), "2");
    assert_eq!(kp("%Iu", &[Arg::Int(0x1_0000_0002)]), "4294967298");
    assert_eq!(kp("%zx", &[Arg::from(usize::MAX)]), "ffffffffffffffff");
}

#[test]
fn msvc_pointers_are_16_upper_case_digits() {
    // MSVC: precision forced to 2 * sizeof(void *), upper-case, no 0x (glibc prints 0x...).
    let p = Arg::Int(0xffff_e001_2345_abcd);
    assert_eq!(kp("%p", &[p]), "FFFFE0012345ABCD");
    assert_eq!(kp("%p", &[Arg::Int(0)]), "0000000000000000");
    assert_eq!(kp("%p", &[Arg::Int(0x1000)]), "0000000000001000");
    assert_eq!(kp("[%20p]", &[Arg::Int(0x1000)]), "[    0000000000001000]");
    assert_eq!(kp("[%-20p]", &[Arg::Int(0x1000)]), "[0000000000001000    ]");
    // The forced precision counts as given, so `0` does not pad (as for `%020.16X`).
    assert_eq!(kp("[%020p]", &[Arg::Int(0x1000)]), "[    0000000000001000]");
    // A precision in the format is overridden.
    assert_eq!(kp("%.4p", &[Arg::Int(0x1000)]), "0000000000001000");
    assert_eq!(kp("%#p", &[Arg::Int(0x1000)]), "0X0000000000001000");
    assert_eq!(kp("%+p", &[Arg::Int(0x1000)]), "0000000000001000");
    // Length modifiers are ignored on %p: the whole pointer prints.
    assert_eq!(kp("%lp", &[p]), "FFFFE0012345ABCD");
    // The watch token format (spec §5.4): TOK|<caller as %p>|<id as %04X>.
    assert_eq!(
        kp(
            "TOK|%p|%04X",
            &[Arg::Int(0xffff_f806_1234_5678), Arg::from(0x2au32)]
        ),
        "TOK|FFFFF80612345678|002A"
    );
}

#[test]
fn msvc_string_quirks() {
    // NULL prints "(null)", cut by the precision (glibc prints nothing under precision 6).
    assert_eq!(kp("%s", &[Arg::Str(None)]), "(null)");
    assert_eq!(kp("%.3s", &[Arg::Str(None)]), "(nu");
    assert_eq!(kp("[%8s]", &[Arg::Str(None)]), "[  (null)]");
    // MSVC pads strings and characters with zeros under the `0` flag.
    assert_eq!(kp("%05s", &[Arg::from("ab")]), "000ab");
    assert_eq!(kp("%-05s|", &[Arg::from("ab")]), "ab   |");
    assert_eq!(kp("%03c", &[Arg::from(i32::from(b'x'))]), "00x");
    // Embedded NUL ends a string, as in C.
    assert_eq!(kp("%s|", &[Arg::Str(Some(b"ab\0cd"))]), "ab|");
    // A precision bounds the read: an unterminated array is fine.
    assert_eq!(kp("%.2s", &[Arg::Str(Some(b"abc"))]), "ab");
    // %c prints the low byte of the int.
    assert_eq!(kp("%c", &[Arg::Int(0x1234_5641)]), "A");
}

#[test]
fn wide_strings_and_characters() {
    let wide: Vec<u16> = "Xen PV".encode_utf16().chain([0]).collect();
    let w = Arg::from(&wide[..]);
    assert_eq!(kp("%S", &[w]), "Xen PV");
    assert_eq!(kp("%ls", &[w]), "Xen PV");
    assert_eq!(kp("%ws", &[w]), "Xen PV");
    assert_eq!(kp("[%8.3S]", &[w]), "[     Xen]");
    assert_eq!(kp("[%-8S]", &[w]), "[Xen PV  ]");
    assert_eq!(kp("%hs", &[Arg::from("narrow")]), "narrow");
    assert_eq!(kp("%S", &[Arg::WideStr(None)]), "(null)");
    let accented: Vec<u16> = "é€a".encode_utf16().collect();
    assert_eq!(kp("%S", &[Arg::from(&accented[..])]), "??a");
    assert_eq!(
        kp(
            "%C%wc%lc",
            &[Arg::from(0x41u16), Arg::from(0x42u16), Arg::from(0x20acu16)]
        ),
        "AB?"
    );
    assert_eq!(kp("%hc", &[Arg::from(i32::from(b'n'))]), "n");
}

/// Runs a bad format and checks that it fails with `err` having read no argument and written
/// no byte.
fn rejects(fmt: &str, args: &[Arg<'_>], err: FormatError) {
    let mut written = Vec::new();
    let mut sink = |b: &[u8]| {
        written.extend_from_slice(b);
        Ok(())
    };
    let mut src = SliceArgs::new(args);
    assert_eq!(
        format(fmt.as_bytes(), &mut src, &mut sink),
        Err(err),
        "{fmt:?}"
    );
    assert_eq!(src.consumed(), 0, "{fmt:?} read no argument");
    assert!(written.is_empty(), "{fmt:?} wrote nothing");
}

#[test]
fn bad_formats_fail_before_reading_or_writing() {
    let one = [Arg::from(1u32)];
    rejects("abc%", &one, FormatError::TruncatedSpec { offset: 3 });
    rejects("%-08", &one, FormatError::TruncatedSpec { offset: 0 });
    rejects("%I64", &one, FormatError::TruncatedSpec { offset: 0 });
    rejects("%d %", &one, FormatError::TruncatedSpec { offset: 3 });
    rejects(
        "%d %y",
        &one,
        FormatError::UnknownConversion {
            offset: 3,
            conversion: b'y',
        },
    );
    rejects(
        "%5%",
        &[],
        FormatError::UnknownConversion {
            offset: 0,
            conversion: b'%',
        },
    );
    rejects(
        "%k",
        &one,
        FormatError::UnknownConversion {
            offset: 0,
            conversion: b'k',
        },
    );
    rejects(
        "%n",
        &one,
        FormatError::Unsupported {
            offset: 0,
            conversion: b'n',
        },
    );
    rejects(
        "%f",
        &one,
        FormatError::Unsupported {
            offset: 0,
            conversion: b'f',
        },
    );
    rejects(
        "%wZ",
        &one,
        FormatError::Unsupported {
            offset: 0,
            conversion: b'Z',
        },
    );
    rejects(
        "%Z",
        &one,
        FormatError::Unsupported {
            offset: 0,
            conversion: b'Z',
        },
    );
    rejects("%I64s", &one, FormatError::InvalidLength { offset: 0 });
    rejects("%llc", &one, FormatError::InvalidLength { offset: 0 });
    rejects("%wu", &one, FormatError::InvalidLength { offset: 0 });
    rejects(
        "%4294967296d",
        &one,
        FormatError::WidthOverflow { offset: 0 },
    );
    rejects(
        "%.4294967296d",
        &one,
        FormatError::WidthOverflow { offset: 0 },
    );
}

#[test]
fn more_conversions_than_arguments_fail_before_reading() {
    rejects(
        "%d",
        &[],
        FormatError::MissingArguments {
            needed: 1,
            supplied: 0,
        },
    );
    rejects(
        "%s %s",
        &[Arg::from("a")],
        FormatError::MissingArguments {
            needed: 2,
            supplied: 1,
        },
    );
    // `*` consumes an argument too.
    rejects(
        "%*d",
        &[Arg::from(3i32)],
        FormatError::MissingArguments {
            needed: 2,
            supplied: 1,
        },
    );
    rejects(
        "%*.*s%p",
        &[Arg::from(1i32), Arg::from(2i32), Arg::from("x")],
        FormatError::MissingArguments {
            needed: 4,
            supplied: 3,
        },
    );
    // `%%` consumes none, so this is fine.
    assert_eq!(kp("100%%", &[]), "100%");
    // Extra arguments are allowed, as in C.
    let mut buf = [0u8; 8];
    let args = [Arg::from(1u32), Arg::from(2u32)];
    let mut src = SliceArgs::new(&args);
    assert_eq!(format_to_buf(&mut buf, b"%u", &mut src), Ok(&b"1"[..]));
    assert_eq!(src.consumed(), 1);
}

#[test]
fn wrong_argument_kinds_are_errors_not_reads() {
    let mut buf = [0u8; 8];
    let args = [Arg::from(5u32)];
    let mut src = SliceArgs::new(&args);
    assert_eq!(
        format_to_buf(&mut buf, b"%s", &mut src),
        Err(FormatError::ArgumentType { index: 0 })
    );
    let args = [Arg::from("x")];
    let mut src = SliceArgs::new(&args);
    assert_eq!(
        format_to_buf(&mut buf, b"%p", &mut src),
        Err(FormatError::ArgumentType { index: 0 })
    );
}

#[test]
fn a_full_sink_truncates_and_reports_overflow() {
    let mut buf = [0u8; 6];
    let mut sink = BufSink::new(&mut buf);
    let args = [Arg::from(123_456_789u32)];
    let mut src = SliceArgs::new(&args);
    assert_eq!(
        format(b"id=%u", &mut src, &mut sink),
        Err(FormatError::Overflow)
    );
    assert_eq!(sink.as_bytes(), b"id=123");
    // Huge widths stop at the sink's end instead of running on.
    let mut buf = [0u8; 16];
    let args = [Arg::from(1u32)];
    let mut src = SliceArgs::new(&args);
    assert_eq!(
        format_to_buf(&mut buf, b"%2147483647u", &mut src),
        Err(FormatError::Overflow)
    );
}

#[test]
fn store_printf_limits() {
    // StorePrintf formats into at most 1024 bytes including the NUL (spec §5.4.7 and §9.7):
    // 1023 characters are written intact, 1100 fail.
    let mut buf = [0u8; 1023];
    let long = "x".repeat(1023);
    let args = [Arg::from(long.as_str())];
    let mut src = SliceArgs::new(&args);
    assert_eq!(
        format_to_buf(&mut buf, b"%s", &mut src).map(<[u8]>::len),
        Ok(1023)
    );
    let args = [Arg::from(1100i32), Arg::from("y")];
    let mut src = SliceArgs::new(&args);
    assert_eq!(
        format_to_buf(&mut buf, b"%*s", &mut src),
        Err(FormatError::Overflow)
    );
}

#[test]
fn integer_precision_is_capped_like_the_crt() {
    // MSVC's CRT caps integer precision at MAXPRECISION (512).
    let out = kp("%.600u", &[Arg::from(5u32)]);
    assert_eq!(out.len(), 512);
    assert!(out.ends_with("05"));
}
