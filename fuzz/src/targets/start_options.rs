// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `start_options`: the `XEN:*` option parser (`xen::options`) on arbitrary
//! `SystemStartOptions` bytes.
//!
//! Invariants:
//! * the text ends at the first NUL; tokens are exactly the non-empty space-separated pieces
//!   (checked against a hand-written splitter), each a sub-slice of the text;
//! * `find`/`value` return the first token starting with the prefix, and `value` is that
//!   token's remainder (the prefix itself is never part of it);
//! * the three two-word readers give `Recognized` only for their exact words, `Unrecognized`
//!   carrying exactly the value otherwise, and the documented default when absent;
//! * `XEN:WATCHDOG=`: `strtoul` agrees with glibc's `strtoul(.., 0)` under MSVC's 32-bit
//!   rules (a magnitude above `u32::MAX` gives `u32::MAX`, a minus sign negates modulo 2^32),
//!   and 1..9 seconds are raised to 10.
//!
//! Input: the raw option bytes (the value the glue reads).

use std::ffi::CString;

use xen::options::{
    BALLOON, BOOT_EMULATED, DBG_PRINT, Setting, Source, StartOptions, WATCHDOG, balloon,
    boot_emulated, dbg_print, strtoul, watchdog,
};

unsafe extern "C" {
    fn __errno_location() -> *mut i32;
}

const ERANGE: i32 = 34;

/// glibc's `strtoul(text, NULL, 0)` folded to MSVC's 32-bit `unsigned long` rules.
fn reference_strtoul(text: &[u8]) -> u32 {
    let text = text.split(|&b| b == 0).next().unwrap_or_default();
    let c = CString::new(text).expect("no NUL left");
    // SAFETY: glibc's errno location is valid for this thread.
    unsafe { *__errno_location() = 0 };
    // SAFETY: `c` is a NUL-terminated string; a NULL end pointer is allowed.
    let value = unsafe { libc_strtoul(c.as_ptr(), std::ptr::null_mut(), 0) };
    // SAFETY: as above.
    let overflow = unsafe { *__errno_location() } == ERANGE;
    // C's isspace: Rust's ASCII white space lacks the vertical tab.
    let start = text
        .iter()
        .position(|b| !b" \t\n\x0b\x0c\r".contains(b))
        .unwrap_or(text.len());
    let negative = text.get(start) == Some(&b'-');
    // glibc negated modulo 2^64; the magnitude is what was parsed.
    let magnitude = if negative {
        value.wrapping_neg()
    } else {
        value
    };
    if overflow || magnitude > u64::from(u32::MAX) {
        u32::MAX
    } else {
        let m = u32::try_from(magnitude).expect("checked above");
        if negative { m.wrapping_neg() } else { m }
    }
}

unsafe extern "C" {
    #[link_name = "strtoul"]
    fn libc_strtoul(
        s: *const core::ffi::c_char,
        end: *mut *mut core::ffi::c_char,
        base: i32,
    ) -> u64;
}

fn check_two_words(
    setting: Setting<'_, bool>,
    value: Option<&[u8]>,
    yes: &[u8],
    no: &[u8],
    default: bool,
) {
    match value {
        None => {
            assert_eq!(setting.source, Source::Absent);
            assert_eq!(setting.value, default);
        }
        Some(v) if v == yes => {
            assert_eq!(setting.source, Source::Recognized);
            assert!(setting.value);
        }
        Some(v) if v == no => {
            assert_eq!(setting.source, Source::Recognized);
            assert!(!setting.value);
        }
        Some(v) => {
            assert_eq!(setting.source, Source::Unrecognized(v));
            assert_eq!(setting.value, default);
        }
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let options = StartOptions::new(data);
    let text = options.as_bytes();
    let expected_len = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    assert_eq!(text, &data[..expected_len]);

    // The tokens, by hand.
    let mut model: Vec<&[u8]> = Vec::new();
    let mut start = None;
    for (i, &b) in text.iter().enumerate() {
        match (b == b' ', start) {
            (true, Some(s)) => {
                model.push(&text[s..i]);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        model.push(&text[s..]);
    }
    let tokens: Vec<&[u8]> = options.tokens().collect();
    assert_eq!(tokens, model);

    for prefix in [DBG_PRINT, BOOT_EMULATED, BALLOON, WATCHDOG, b"XEN:", b""] {
        let first = model.iter().copied().find(|t| t.starts_with(prefix));
        assert_eq!(options.find(prefix), first);
        assert_eq!(options.value(prefix), first.map(|t| &t[prefix.len()..]));
    }

    check_two_words(
        dbg_print(&options),
        options.value(DBG_PRINT),
        b"ON",
        b"OFF",
        true,
    );
    check_two_words(
        boot_emulated(&options),
        options.value(BOOT_EMULATED),
        b"TRUE",
        b"FALSE",
        false,
    );
    check_two_words(
        balloon(&options),
        options.value(BALLOON),
        b"ON",
        b"OFF",
        true,
    );

    let dog = watchdog(&options);
    match options.value(WATCHDOG) {
        None => {
            assert!(!dog.present && dog.requested == 0 && dog.seconds == 0);
        }
        Some(v) => {
            assert!(dog.present);
            assert_eq!(
                dog.requested,
                reference_strtoul(v),
                "strtoul({:?})",
                v.escape_ascii().to_string()
            );
            let expected = if (1..10).contains(&dog.requested) {
                10
            } else {
                dog.requested
            };
            assert_eq!(dog.seconds, expected);
            assert_eq!(dog.rounded_up(), dog.requested != dog.seconds);
            assert_eq!(dog.enabled(), dog.seconds != 0);
        }
    }
    // strtoul on the raw input too: white space, signs and prefixes anywhere.
    assert_eq!(
        strtoul(data),
        reference_strtoul(data),
        "strtoul({:?})",
        data.escape_ascii().to_string()
    );
}

/// Seeds: the unit tests' command lines.
#[must_use]
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    [
        (
            "noexecute",
            &b"NOEXECUTE=OPTIN XEN:DBG_PRINT=OFF XEN:DBG_PRINT=ON"[..],
        ),
        ("tabs", b"   A  B\tC   D=E  XEN:BALLOON=OFF\tX"),
        (
            "case",
            b"xen:dbg_print=OFF Xen:DBG_PRINT=OFF /XEN:DBG_PRINT=OFF XEN:BOOT_EMULATED=TRUE",
        ),
        ("watchdog-hex", b"XEN:WATCHDOG=0x1F XEN:BALLOON=ON"),
        ("watchdog-octal", b"XEN:WATCHDOG=017"),
        (
            "watchdog-negative",
            b"XEN:WATCHDOG=-5 XEN:BOOT_EMULATED=FALSE",
        ),
        ("watchdog-overflow", b"XEN:WATCHDOG=4294967296"),
        ("watchdog-short", b"XEN:WATCHDOG=3"),
        ("nul", b"XEN:DBG_PRINT=OFF\0XEN:BALLOON=OFF"),
        ("empty-value", b"XEN:DBG_PRINT= XEN:WATCHDOG="),
    ]
    .into_iter()
    .map(|(name, bytes)| (name, bytes.to_vec()))
    .collect()
}
