// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The `XEN:*` system start options.
//!
//! Windows keeps the loader command line (`bcdedit /set loadoptions ...`, or F10 editing at
//! boot) in `HKLM\SYSTEM\CurrentControlSet\Control\SystemStartOptions`, a `REG_SZ` without the
//! leading slashes. The glue reads that value and hands its bytes to [`StartOptions`]; everything
//! from there on is decided here:
//!
//! * the string is split on the space character only; runs of spaces are skipped, any other
//!   byte (tab, `=`, `/`...) belongs to a token;
//! * the **first** token that begins with the option's prefix wins; the prefix includes the
//!   trailing `=` and the comparison is case-sensitive;
//! * the value is the rest of that token.
//!
//! The four options xen.sys and xenbus.sys read:
//!
//! | Option | Values | Default | Reader |
//! |---|---|---|---|
//! | `XEN:DBG_PRINT=` | `ON`, `OFF` | on | [`dbg_print`] |
//! | `XEN:BOOT_EMULATED=` | `TRUE`, `FALSE` | false | [`boot_emulated`] |
//! | `XEN:BALLOON=` | `ON`, `OFF` | on | [`balloon`] |
//! | `XEN:WATCHDOG=` | `strtoul(.., 0)` seconds | 0 (disabled) | [`watchdog`] |
//!
//! # Decisions on upstream behaviour
//!
//! * **Case.** Upstream compares prefixes with `strncmp` and values with `strcmp` against
//!   upper-case literals. Windows upper-cases the stored string, so in practice every option
//!   the administrator types matches; we keep the case-sensitive rule so that a lower-case
//!   `xen:dbg_print=off` behaves exactly as it does under the C drivers (it is ignored).
//! * **Unrecognised values** keep the default and are reported as [`Source::Unrecognized`] so
//!   the caller can log upstream's `UNRECOGNIZED VALUE OF <key>: <value>` warning.
//! * **Empty and malformed strings.** Upstream crashed when the value existed but held no
//!   string at all; here an empty, all-space or NUL-only string simply has no tokens, so every
//!   option takes its default. Bytes after the first NUL are ignored, as a C string would be.
//! * **Huge tokens.** Upstream copied a token into an `ANSI_STRING` whose 16-bit length
//!   wrapped for tokens of 64 KiB or more (a heap overflow). Lookups here borrow the caller's
//!   bytes and never copy or truncate; the C ABI refuses a token that an `ANSI_STRING` cannot
//!   describe.
//! * **`XEN:WATCHDOG=`** is parsed with MSVC `strtoul(.., 0)` rules (leading white space, an
//!   optional sign, `0x` hex, leading-zero octal, stop at the first non-digit, overflow gives
//!   `u32::MAX`, a minus sign negates modulo 2^32). A result of 1 to 9 seconds is raised to the
//!   10 second minimum; upstream's warning for that case lacked its argument, ours carries the
//!   requested value in [`Watchdog::requested`].

#![no_std]

#[cfg(test)]
extern crate std;

/// Prefix of the option that turns `DbgPrint` capture off.
pub const DBG_PRINT: &[u8] = b"XEN:DBG_PRINT=";
/// Prefix of the option that keeps the boot disk emulated.
pub const BOOT_EMULATED: &[u8] = b"XEN:BOOT_EMULATED=";
/// Prefix of the option that turns the balloon off.
pub const BALLOON: &[u8] = b"XEN:BALLOON=";
/// Prefix of the option that enables the Xen watchdog.
pub const WATCHDOG: &[u8] = b"XEN:WATCHDOG=";
/// The shortest watchdog timeout xenbus accepts; shorter non-zero requests are raised to it.
pub const WATCHDOG_MINIMUM_SECONDS: u32 = 10;

/// The loader command line, as stored in `SystemStartOptions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartOptions<'a> {
    text: &'a [u8],
}

impl<'a> StartOptions<'a> {
    /// Wraps the raw value bytes. Everything from the first NUL on is ignored, as it would be by
    /// the C string functions upstream uses.
    #[must_use]
    pub fn new(raw: &'a [u8]) -> Self {
        let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        Self {
            text: raw.get(..end).unwrap_or_default(),
        }
    }

    /// The command line up to its first NUL.
    #[must_use]
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.text
    }

    /// The space-separated tokens, in order; never yields an empty token.
    pub fn tokens(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.text.split(|&b| b == b' ').filter(|t| !t.is_empty())
    }

    /// The first token that begins with `prefix` (case-sensitive), including the prefix.
    ///
    /// An empty prefix matches the first token, as `strncmp` with length 0 does upstream.
    #[must_use]
    pub fn find(&self, prefix: &[u8]) -> Option<&'a [u8]> {
        self.tokens().find(|t| t.starts_with(prefix))
    }

    /// The value of the first token that begins with `prefix`: the rest of the token.
    #[must_use]
    pub fn value(&self, prefix: &[u8]) -> Option<&'a [u8]> {
        self.find(prefix)
            .map(|t| t.get(prefix.len()..).unwrap_or_default())
    }
}

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    /// The option is not on the command line: the default applies.
    Absent,
    /// The option is present with a value the reader recognises.
    Recognized,
    /// The option is present with a value the reader does not recognise (carried for the
    /// warning); the default applies.
    Unrecognized(&'a [u8]),
}

/// A decided setting and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting<'a, T> {
    /// The value to use.
    pub value: T,
    /// Why it has this value.
    pub source: Source<'a>,
}

/// Reads an option whose value is one of two exact words; anything else keeps `default`.
fn two_words<'a>(
    options: &StartOptions<'a>,
    prefix: &[u8],
    yes: &[u8],
    no: &[u8],
    default: bool,
) -> Setting<'a, bool> {
    match options.value(prefix) {
        None => Setting {
            value: default,
            source: Source::Absent,
        },
        Some(v) if v == yes => Setting {
            value: true,
            source: Source::Recognized,
        },
        Some(v) if v == no => Setting {
            value: false,
            source: Source::Recognized,
        },
        Some(v) => Setting {
            value: default,
            source: Source::Unrecognized(v),
        },
    }
}

/// `XEN:DBG_PRINT=`: whether xen.sys captures `DbgPrint` output. Only the exact value `OFF`
/// disables capture.
#[must_use]
pub fn dbg_print<'a>(options: &StartOptions<'a>) -> Setting<'a, bool> {
    two_words(options, DBG_PRINT, b"ON", b"OFF", true)
}

/// `XEN:BOOT_EMULATED=`: whether the boot disk stays emulated. Only the exact value `TRUE`
/// enables it.
#[must_use]
pub fn boot_emulated<'a>(options: &StartOptions<'a>) -> Setting<'a, bool> {
    two_words(options, BOOT_EMULATED, b"TRUE", b"FALSE", false)
}

/// `XEN:BALLOON=`: whether xenbus runs the balloon. Only the exact value `OFF` disables it.
#[must_use]
pub fn balloon<'a>(options: &StartOptions<'a>) -> Setting<'a, bool> {
    two_words(options, BALLOON, b"ON", b"OFF", true)
}

/// The decided `XEN:WATCHDOG=` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watchdog {
    /// Whether the option is on the command line at all.
    pub present: bool,
    /// The number the value parses to (`strtoul(.., 0)`), before the minimum is applied.
    pub requested: u32,
    /// The timeout to use in seconds; 0 means no watchdog.
    pub seconds: u32,
}

impl Watchdog {
    /// Whether a non-zero request below the minimum was raised to it (upstream logs
    /// `TOO SHORT (ROUNDING UP TO 10s)` then).
    #[must_use]
    pub const fn rounded_up(&self) -> bool {
        self.requested != self.seconds
    }

    /// Whether a watchdog is to be armed.
    #[must_use]
    pub const fn enabled(&self) -> bool {
        self.seconds != 0
    }
}

/// `XEN:WATCHDOG=`: the watchdog timeout. Absent or 0 disables it; 1 to 9 become 10.
#[must_use]
pub fn watchdog(options: &StartOptions<'_>) -> Watchdog {
    let Some(value) = options.value(WATCHDOG) else {
        return Watchdog {
            present: false,
            requested: 0,
            seconds: 0,
        };
    };
    let requested = strtoul(value);
    let seconds = if requested != 0 && requested < WATCHDOG_MINIMUM_SECONDS {
        WATCHDOG_MINIMUM_SECONDS
    } else {
        requested
    };
    Watchdog {
        present: true,
        requested,
        seconds,
    }
}

/// `strtoul(text, NULL, 0)` with the MSVC C runtime's rules for a 32-bit `unsigned long`.
///
/// Leading white space (space, `\t`, `\n`, `\v`, `\f`, `\r`) is skipped, then an optional `+`
/// or `-`, then the base is chosen from the prefix (`0x`/`0X` hex, `0` octal, else decimal) and
/// digits are taken until the first byte that is not a digit of that base. No digits gives 0.
/// A value that does not fit gives `u32::MAX`; otherwise a minus sign negates modulo 2^32.
#[must_use]
pub fn strtoul(text: &[u8]) -> u32 {
    let mut rest = text;
    while let Some((&b, tail)) = rest.split_first() {
        if matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
            rest = tail;
        } else {
            break;
        }
    }
    let mut negative = false;
    if let Some((&b, tail)) = rest.split_first()
        && (b == b'-' || b == b'+')
    {
        negative = b == b'-';
        rest = tail;
    }
    let base: u32 = match rest {
        [b'0', b'x' | b'X', tail @ ..] => {
            rest = tail;
            16
        }
        [b'0', ..] => 8,
        _ => 10,
    };
    let mut value: u32 = 0;
    let mut overflow = false;
    for &b in rest {
        let Some(digit) = char::from(b).to_digit(base) else {
            break;
        };
        match value.checked_mul(base).and_then(|v| v.checked_add(digit)) {
            Some(v) => value = v,
            None => overflow = true,
        }
    }
    if overflow {
        u32::MAX
    } else if negative {
        value.wrapping_neg()
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn opts(s: &str) -> StartOptions<'_> {
        StartOptions::new(s.as_bytes())
    }

    // ---- lookup ------------------------------------------------------------------------------

    #[test]
    fn first_matching_token_wins_and_value_is_the_rest() {
        let o = opts("NOEXECUTE=OPTIN XEN:DBG_PRINT=OFF XEN:DBG_PRINT=ON");
        assert_eq!(o.find(DBG_PRINT), Some(&b"XEN:DBG_PRINT=OFF"[..]));
        assert_eq!(o.value(DBG_PRINT), Some(&b"OFF"[..]));
        assert!(!dbg_print(&o).value);
    }

    #[test]
    fn tokens_split_on_space_only_and_skip_runs() {
        let o = opts("   A  B\tC   D=E  ");
        let t: Vec<&[u8]> = o.tokens().collect();
        assert_eq!(t, [&b"A"[..], b"B\tC", b"D=E"]);
    }

    #[test]
    fn tab_is_part_of_the_token() {
        // "XEN:BALLOON=OFF\tX" is one token whose value is "OFF\tX": unrecognised.
        let o = opts("XEN:BALLOON=OFF\tX");
        assert_eq!(
            balloon(&o),
            Setting {
                value: true,
                source: Source::Unrecognized(b"OFF\tX")
            }
        );
    }

    #[test]
    fn prefix_match_is_case_sensitive() {
        let o = opts("xen:dbg_print=OFF Xen:DBG_PRINT=OFF");
        assert_eq!(o.find(DBG_PRINT), None);
        assert_eq!(
            dbg_print(&o),
            Setting {
                value: true,
                source: Source::Absent
            }
        );
    }

    #[test]
    fn prefix_must_start_the_token() {
        let o = opts("/XEN:DBG_PRINT=OFF FOOXEN:DBG_PRINT=OFF");
        assert_eq!(o.find(DBG_PRINT), None);
    }

    #[test]
    fn prefix_without_its_equals_sign_is_not_a_match() {
        assert_eq!(opts("XEN:DBG_PRINT OFF").find(DBG_PRINT), None);
        assert_eq!(opts("XEN:DBG_PRINT").find(DBG_PRINT), None);
    }

    #[test]
    fn empty_prefix_matches_the_first_token() {
        assert_eq!(opts("  FIRST SECOND").find(b""), Some(&b"FIRST"[..]));
        assert_eq!(opts("   ").find(b""), None);
    }

    #[test]
    fn empty_and_blank_strings_have_no_tokens_and_give_defaults() {
        for s in ["", " ", "          ", "\0", "\0XEN:DBG_PRINT=OFF"] {
            let o = opts(s);
            assert_eq!(o.tokens().count(), 0, "{s:?}");
            assert_eq!(dbg_print(&o).source, Source::Absent);
            assert!(dbg_print(&o).value);
            assert!(!boot_emulated(&o).value);
            assert!(balloon(&o).value);
            assert_eq!(watchdog(&o).seconds, 0);
            assert!(!watchdog(&o).present);
        }
    }

    #[test]
    fn bytes_after_a_nul_are_ignored() {
        let o = StartOptions::new(b"XEN:BALLOON=OFF\0XEN:DBG_PRINT=OFF");
        assert_eq!(o.as_bytes(), b"XEN:BALLOON=OFF");
        assert!(!balloon(&o).value);
        assert!(dbg_print(&o).value);
        // A NUL inside a value truncates it, like strcmp would see it.
        let o = StartOptions::new(b"XEN:BALLOON=OF\0F");
        assert_eq!(balloon(&o).source, Source::Unrecognized(b"OF"));
    }

    #[test]
    fn truncated_option_has_an_empty_value() {
        let o = opts("XEN:DBG_PRINT=");
        assert_eq!(o.value(DBG_PRINT), Some(&b""[..]));
        assert_eq!(
            dbg_print(&o),
            Setting {
                value: true,
                source: Source::Unrecognized(b"")
            }
        );
    }

    // ---- the four options --------------------------------------------------------------------

    #[test]
    fn dbg_print_only_exact_off_disables_capture() {
        let cases: [(&str, bool, Source<'_>); 6] = [
            ("XEN:DBG_PRINT=OFF", false, Source::Recognized),
            ("XEN:DBG_PRINT=ON", true, Source::Recognized),
            ("XEN:DBG_PRINT=off", true, Source::Unrecognized(b"off")),
            ("XEN:DBG_PRINT=OFFF", true, Source::Unrecognized(b"OFFF")),
            ("XEN:DBG_PRINT=0", true, Source::Unrecognized(b"0")),
            ("DEBUG", true, Source::Absent),
        ];
        for (s, value, source) in cases {
            assert_eq!(dbg_print(&opts(s)), Setting { value, source }, "{s}");
        }
    }

    #[test]
    fn boot_emulated_only_exact_true_enables_it() {
        let cases: [(&str, bool, Source<'_>); 5] = [
            ("XEN:BOOT_EMULATED=TRUE", true, Source::Recognized),
            ("XEN:BOOT_EMULATED=FALSE", false, Source::Recognized),
            (
                "XEN:BOOT_EMULATED=true",
                false,
                Source::Unrecognized(b"true"),
            ),
            ("XEN:BOOT_EMULATED=1", false, Source::Unrecognized(b"1")),
            ("", false, Source::Absent),
        ];
        for (s, value, source) in cases {
            assert_eq!(boot_emulated(&opts(s)), Setting { value, source }, "{s}");
        }
    }

    #[test]
    fn balloon_only_exact_off_disables_it() {
        assert!(!balloon(&opts("XEN:BALLOON=OFF")).value);
        assert!(balloon(&opts("XEN:BALLOON=ON")).value);
        assert!(balloon(&opts("XEN:BALLOON=NO")).value);
        assert!(balloon(&opts("XEN:BALLOON=OFF=")).value);
        assert!(balloon(&opts("")).value);
    }

    #[test]
    fn options_do_not_shadow_each_other() {
        let o = opts("XEN:BALLOON=OFF XEN:BOOT_EMULATED=TRUE XEN:WATCHDOG=60 XEN:DBG_PRINT=OFF");
        assert!(!balloon(&o).value);
        assert!(boot_emulated(&o).value);
        assert_eq!(watchdog(&o).seconds, 60);
        assert!(!dbg_print(&o).value);
    }

    #[test]
    fn watchdog_defaults_minimum_and_bases() {
        let cases: [(&str, bool, u32, u32); 16] = [
            ("", false, 0, 0),
            ("XEN:WATCHDOG=", true, 0, 0),
            ("XEN:WATCHDOG=0", true, 0, 0),
            ("XEN:WATCHDOG=1", true, 1, 10),
            ("XEN:WATCHDOG=5", true, 5, 10),
            ("XEN:WATCHDOG=9", true, 9, 10),
            ("XEN:WATCHDOG=10", true, 10, 10),
            ("XEN:WATCHDOG=30", true, 30, 30),
            ("XEN:WATCHDOG=0x1E", true, 30, 30),
            ("XEN:WATCHDOG=0X1e", true, 30, 30),
            ("XEN:WATCHDOG=036", true, 30, 30),
            ("XEN:WATCHDOG=08", true, 0, 0),
            ("XEN:WATCHDOG=ABC", true, 0, 0),
            ("XEN:WATCHDOG=12S", true, 12, 12),
            ("XEN:WATCHDOG=4294967295", true, u32::MAX, u32::MAX),
            (
                "XEN:WATCHDOG=99999999999999999999",
                true,
                u32::MAX,
                u32::MAX,
            ),
        ];
        for (s, present, requested, seconds) in cases {
            let w = watchdog(&opts(s));
            assert_eq!(
                w,
                Watchdog {
                    present,
                    requested,
                    seconds
                },
                "{s}"
            );
            assert_eq!(w.enabled(), seconds != 0);
            assert_eq!(w.rounded_up(), (1..10).contains(&requested), "{s}");
        }
    }

    #[test]
    fn watchdog_uses_the_first_token() {
        assert_eq!(
            watchdog(&opts("XEN:WATCHDOG=20 XEN:WATCHDOG=40")).seconds,
            20
        );
    }

    // ---- strtoul -----------------------------------------------------------------------------

    #[test]
    fn strtoul_follows_the_c_runtime() {
        let cases: [(&[u8], u32); 22] = [
            (b"", 0),
            (b"0", 0),
            (b"42", 42),
            (b"  \t\n\x0b\x0c\r42", 42),
            (b"+42", 42),
            (b"-1", u32::MAX),
            (b"-5", 5u32.wrapping_neg()),
            (b"--5", 0),
            (b"+-5", 0),
            (b"0x", 0),
            (b"0xg", 0),
            (b"0x10", 16),
            (b"0xFFFFFFFF", u32::MAX),
            (b"0x100000000", u32::MAX),
            (b"-0x100000000", u32::MAX),
            (b"010", 8),
            (b"019", 1),
            (b"4294967296", u32::MAX),
            (b"4294967295", u32::MAX),
            (b"4294967294", u32::MAX - 1),
            (b"12abc", 12),
            (b"\xff\xfe7", 0),
        ];
        for (s, want) in cases {
            assert_eq!(
                strtoul(s),
                want,
                "{:?}",
                std::string::String::from_utf8_lossy(s)
            );
        }
    }

    #[test]
    fn strtoul_survives_very_long_inputs() {
        let mut digits = Vec::new();
        digits.resize(1 << 20, b'9');
        assert_eq!(strtoul(&digits), u32::MAX);
        let mut zeros = Vec::new();
        zeros.resize(1 << 20, b'0');
        zeros.push(b'7');
        assert_eq!(strtoul(&zeros), 7);
    }

    #[test]
    fn huge_command_line_and_huge_token() {
        let mut line = Vec::new();
        for _ in 0..10_000 {
            line.extend_from_slice(b"FILLER=1234567890 ");
        }
        line.extend_from_slice(b"XEN:BALLOON=");
        line.resize(line.len() + 200_000, b'Z');
        line.extend_from_slice(b" XEN:WATCHDOG=15");
        let o = StartOptions::new(&line);
        let b = balloon(&o);
        assert!(b.value);
        assert!(matches!(b.source, Source::Unrecognized(v) if v.len() == 200_000));
        assert_eq!(watchdog(&o).seconds, 15);
    }

    // ---- property test -----------------------------------------------------------------------

    /// A tiny xorshift64* generator: deterministic, no dependencies.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).unwrap()
        }
    }

    /// Pieces that make interesting command lines: prefixes, values, separators and junk.
    const PIECES: [&[u8]; 24] = [
        b" ",
        b"  ",
        b"\t",
        b"\0",
        b"=",
        b"XEN:",
        b"XEN:DBG_PRINT=",
        b"XEN:BALLOON=",
        b"XEN:WATCHDOG=",
        b"XEN:BOOT_EMULATED=",
        b"ON",
        b"OFF",
        b"TRUE",
        b"FALSE",
        b"0x",
        b"1",
        b"9",
        b"0",
        b"-",
        b"+",
        b"xen:dbg_print=",
        b"\xff",
        b"DEBUG",
        b"/NOEXECUTE",
    ];

    fn random_line(rng: &mut XorShift) -> Vec<u8> {
        let mut v = Vec::new();
        for _ in 0..rng.below(24) {
            if rng.below(8) == 0 {
                v.push(u8::try_from(rng.below(256)).unwrap());
            } else {
                v.extend_from_slice(PIECES[rng.below(PIECES.len())]);
            }
        }
        v
    }

    /// The reference: the same rules written as plainly as possible with std.
    fn reference_value<'a>(raw: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
        let text = raw.split(|&b| b == 0).next().unwrap();
        for token in text.split(|&b| b == b' ') {
            if !token.is_empty() && token.len() >= prefix.len() && &token[..prefix.len()] == prefix
            {
                return Some(&token[prefix.len()..]);
            }
        }
        None
    }

    #[test]
    fn random_command_lines_agree_with_the_reference_and_hold_invariants() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let line = random_line(&mut rng);
            let o = StartOptions::new(&line);
            for prefix in [DBG_PRINT, BALLOON, WATCHDOG, BOOT_EMULATED, b"XEN:", b""] {
                let got = o.value(prefix);
                assert_eq!(got, reference_value(&line, prefix), "{line:?} {prefix:?}");
                if let (Some(token), Some(value)) = (o.find(prefix), got) {
                    assert!(token.starts_with(prefix));
                    assert!(token.ends_with(value));
                    assert!(!token.contains(&b' ') && !token.contains(&0));
                }
            }
            for t in o.tokens() {
                assert!(!t.is_empty() && !t.contains(&b' ') && !t.contains(&0));
            }
            let d = dbg_print(&o);
            assert_eq!(!d.value, o.value(DBG_PRINT) == Some(b"OFF"));
            let b = boot_emulated(&o);
            assert_eq!(b.value, o.value(BOOT_EMULATED) == Some(b"TRUE"));
            let w = watchdog(&o);
            assert!(w.seconds == 0 || w.seconds >= WATCHDOG_MINIMUM_SECONDS);
            assert_eq!(w.present, o.value(WATCHDOG).is_some());
        }
    }

    #[test]
    fn random_strtoul_inputs_match_a_wide_reference() {
        // Reference: parse in u128 and apply the same overflow/negation rules.
        fn reference(s: &[u8]) -> u32 {
            let mut i = 0;
            while i < s.len() && b" \t\n\x0b\x0c\r".contains(&s[i]) {
                i += 1;
            }
            let mut neg = false;
            if i < s.len() && (s[i] == b'-' || s[i] == b'+') {
                neg = s[i] == b'-';
                i += 1;
            }
            let mut base = 10;
            if i < s.len() && s[i] == b'0' {
                base = 8;
                if i + 1 < s.len() && (s[i + 1] | 0x20) == b'x' {
                    base = 16;
                    i += 2;
                }
            }
            let mut v: u128 = 0;
            let mut over = false;
            while i < s.len() {
                let Some(d) = (s[i] as char).to_digit(base) else {
                    break;
                };
                v = v * u128::from(base) + u128::from(d);
                if v > u128::from(u32::MAX) {
                    over = true;
                    v = 0;
                }
                i += 1;
            }
            if over {
                u32::MAX
            } else if neg {
                u32::try_from(v).unwrap().wrapping_neg()
            } else {
                u32::try_from(v).unwrap()
            }
        }
        let alphabet = b" \t+-0123456789abcdefxXgG";
        let mut rng = XorShift(42);
        for _ in 0..50_000 {
            let len = rng.below(16);
            let s: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            assert_eq!(
                strtoul(&s),
                reference(&s),
                "{:?}",
                String::from_utf8_lossy(&s)
            );
        }
    }

    use std::string::String;
}
