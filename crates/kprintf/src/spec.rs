// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Parsing one conversion specification, `%[flags][width][.precision][length]conversion`, with
//! MSVC's grammar (including the `I`, `I32`, `I64` and `w` length modifiers).

use crate::FormatError;

/// Largest width or precision accepted: MSVC keeps them in a C `int`.
const MAX_COUNT: usize = 0x7fff_ffff;

/// The flag characters `-`, `0`, `+`, space and `#`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // Five independent printf flags.
pub struct Flags {
    /// `-`: left-justify within the width.
    pub left: bool,
    /// `0`: pad with zeros instead of spaces.
    pub zero: bool,
    /// `+`: always print a sign for signed conversions.
    pub plus: bool,
    /// space: print a space in place of a `+` sign.
    pub space: bool,
    /// `#`: alternate form (`0x` for hex, leading `0` for octal).
    pub alt: bool,
}

/// A width or precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Not given.
    None,
    /// Given as digits in the format.
    Fixed(usize),
    /// Given as `*`: taken from the next argument (a C `int`).
    Arg,
}

/// The length modifier, with MSVC x64 (LLP64) meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    /// None: `int`.
    Default,
    /// `hh`: `char`.
    Hh,
    /// `h`: `short`; narrow character or string for `c`/`s`/`C`/`S`.
    H,
    /// `l`: `long`, **32 bits** on Windows x64; wide character or string for `c`/`s`.
    L,
    /// `ll`: `long long`, 64 bits.
    Ll,
    /// `I`: `size_t`/`ptrdiff_t`, 64 bits on x64.
    I,
    /// `I32`: 32 bits.
    I32,
    /// `I64`: 64 bits.
    I64,
    /// `z`, `j`, `t`: `size_t`, `intmax_t`, `ptrdiff_t`; 64 bits on x64.
    Z,
    /// `w`: wide character or string (MSVC extension, only for `c`/`s`).
    W,
}

impl Length {
    /// Width in bits of an integer argument with this modifier, or `None` if the modifier is not
    /// an integer modifier.
    #[must_use]
    pub const fn int_bits(self) -> Option<u32> {
        match self {
            Self::Default | Self::L | Self::I32 => Some(32),
            Self::Hh => Some(8),
            Self::H => Some(16),
            Self::Ll | Self::I | Self::I64 | Self::Z => Some(64),
            Self::W => None,
        }
    }
}

/// What a conversion prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// `%%`.
    Percent,
    /// `%d`, `%i`.
    Signed,
    /// `%u` (10), `%o` (8), `%x` (16), `%X` (16, upper case).
    Unsigned {
        /// 8, 10 or 16.
        radix: u8,
        /// Upper-case hex digits and prefix.
        upper: bool,
    },
    /// `%c` (narrow) or `%C`/`%lc`/`%wc` (wide).
    Char {
        /// The argument is a `wchar_t`.
        wide: bool,
    },
    /// `%s` (narrow) or `%S`/`%ls`/`%ws` (wide).
    Str {
        /// The argument is a `wchar_t *`.
        wide: bool,
    },
    /// `%p`: the pointer as `2 * sizeof(void *)` upper-case hex digits.
    Pointer,
}

/// One parsed conversion specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// Flags.
    pub flags: Flags,
    /// Minimum field width.
    pub width: Count,
    /// Precision.
    pub precision: Count,
    /// Length modifier.
    pub length: Length,
    /// Conversion.
    pub conversion: Conversion,
}

impl Spec {
    /// How many arguments this specification consumes.
    #[must_use]
    pub fn arg_count(&self) -> usize {
        [
            matches!(self.width, Count::Arg),
            matches!(self.precision, Count::Arg),
            !matches!(self.conversion, Conversion::Percent),
        ]
        .into_iter()
        .filter(|&consumes| consumes)
        .count()
    }
}

/// A cursor over the format bytes after a `%`.
struct Cursor<'a> {
    rest: &'a [u8],
    /// Offset of the `%`, for errors.
    offset: usize,
}

impl Cursor<'_> {
    const fn peek(&self) -> Option<u8> {
        match self.rest {
            [c, ..] => Some(*c),
            [] => None,
        }
    }

    const fn bump(&mut self) {
        if let Some((_, rest)) = self.rest.split_first() {
            self.rest = rest;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.bump();
        }
        hit
    }

    fn eat_str(&mut self, s: &[u8]) -> bool {
        let hit = self.rest.starts_with(s);
        if hit {
            self.rest = self.rest.get(s.len()..).unwrap_or_default();
        }
        hit
    }

    const fn truncated(&self) -> FormatError {
        FormatError::TruncatedSpec {
            offset: self.offset,
        }
    }

    /// Digits of a width or precision; `None` if there are none.
    fn number(&mut self) -> Result<Option<usize>, FormatError> {
        let mut value: Option<usize> = None;
        while let Some(c) = self.peek().filter(u8::is_ascii_digit) {
            let digit = usize::from(c.wrapping_sub(b'0'));
            let next = value
                .unwrap_or(0)
                .checked_mul(10)
                .and_then(|v| v.checked_add(digit))
                .filter(|&v| v <= MAX_COUNT)
                .ok_or(FormatError::WidthOverflow {
                    offset: self.offset,
                })?;
            value = Some(next);
            self.bump();
        }
        Ok(value)
    }

    fn count(&mut self) -> Result<Count, FormatError> {
        if self.eat(b'*') {
            return Ok(Count::Arg);
        }
        Ok(self.number()?.map_or(Count::None, Count::Fixed))
    }

    fn length(&mut self) -> Length {
        if self.eat_str(b"hh") {
            Length::Hh
        } else if self.eat(b'h') {
            Length::H
        } else if self.eat_str(b"ll") {
            Length::Ll
        } else if self.eat(b'l') {
            Length::L
        } else if self.eat_str(b"I64") {
            Length::I64
        } else if self.eat_str(b"I32") {
            Length::I32
        } else if self.eat(b'I') {
            Length::I
        } else if self.eat(b'z') || self.eat(b'j') || self.eat(b't') {
            Length::Z
        } else if self.eat(b'w') {
            Length::W
        } else {
            Length::Default
        }
    }
}

/// Parses the specification that starts at `fmt[offset] == b'%'`.
///
/// Returns the specification and the offset just after it.
///
/// # Errors
/// [`FormatError::TruncatedSpec`], [`FormatError::UnknownConversion`],
/// [`FormatError::Unsupported`], [`FormatError::InvalidLength`] or
/// [`FormatError::WidthOverflow`], each naming `offset`.
pub fn parse(fmt: &[u8], offset: usize) -> Result<(Spec, usize), FormatError> {
    let after_percent = fmt
        .get(offset..)
        .and_then(|s| s.get(1..))
        .unwrap_or_default();
    let mut cur = Cursor {
        rest: after_percent,
        offset,
    };

    if cur.eat(b'%') {
        let spec = Spec {
            flags: Flags::default(),
            width: Count::None,
            precision: Count::None,
            length: Length::Default,
            conversion: Conversion::Percent,
        };
        return Ok((spec, end_offset(fmt, &cur)));
    }

    let mut flags = Flags::default();
    loop {
        match cur.peek() {
            Some(b'-') => flags.left = true,
            Some(b'0') => flags.zero = true,
            Some(b'+') => flags.plus = true,
            Some(b' ') => flags.space = true,
            Some(b'#') => flags.alt = true,
            _ => break,
        }
        cur.bump();
    }
    let width = cur.count()?;
    let precision = if cur.eat(b'.') {
        // A lone '.' means precision zero, as in C.
        match cur.count()? {
            Count::None => Count::Fixed(0),
            other => other,
        }
    } else {
        Count::None
    };
    let length = cur.length();
    let c = cur.peek().ok_or_else(|| cur.truncated())?;
    cur.bump();

    let conversion = conversion(c, length, offset)?;
    let spec = Spec {
        flags,
        width,
        precision,
        length,
        conversion,
    };
    Ok((spec, end_offset(fmt, &cur)))
}

/// The conversion for character `c` under `length`.
fn conversion(c: u8, length: Length, offset: usize) -> Result<Conversion, FormatError> {
    let invalid_length = FormatError::InvalidLength { offset };
    let int_length = |conversion| {
        if length.int_bits().is_some() {
            Ok(conversion)
        } else {
            Err(invalid_length)
        }
    };
    match c {
        b'd' | b'i' => int_length(Conversion::Signed),
        b'u' => int_length(Conversion::Unsigned {
            radix: 10,
            upper: false,
        }),
        b'o' => int_length(Conversion::Unsigned {
            radix: 8,
            upper: false,
        }),
        b'x' => int_length(Conversion::Unsigned {
            radix: 16,
            upper: false,
        }),
        b'X' => int_length(Conversion::Unsigned {
            radix: 16,
            upper: true,
        }),
        // MSVC ignores any length modifier on %p: it always reads a pointer.
        b'p' => Ok(Conversion::Pointer),
        b'c' | b'C' | b's' | b'S' => {
            // In the narrow printf family, upper-case C/S mean the *other* width (wide);
            // h forces narrow, l and w force wide (MSVC).
            let wide = match length {
                Length::Default => c.is_ascii_uppercase(),
                Length::H => false,
                Length::L | Length::W => true,
                _ => return Err(invalid_length),
            };
            if c.eq_ignore_ascii_case(&b'c') {
                Ok(Conversion::Char { wide })
            } else {
                Ok(Conversion::Str { wide })
            }
        }
        b'n' | b'f' | b'F' | b'e' | b'E' | b'g' | b'G' | b'a' | b'A' | b'Z' => {
            Err(FormatError::Unsupported {
                offset,
                conversion: c,
            })
        }
        _ => Err(FormatError::UnknownConversion {
            offset,
            conversion: c,
        }),
    }
}

/// The offset in `fmt` where the cursor's unread bytes start.
const fn end_offset(fmt: &[u8], cur: &Cursor<'_>) -> usize {
    // `rest` is a suffix of `fmt`, so the difference cannot underflow.
    fmt.len().saturating_sub(cur.rest.len())
}

/// Validates a whole format string without reading any argument and returns how many arguments
/// it consumes.
///
/// # Errors
/// The first parse error in the format.
pub fn count_args(fmt: &[u8]) -> Result<usize, FormatError> {
    let mut needed = 0usize;
    let mut pos = 0usize;
    while let Some(found) = fmt
        .get(pos..)
        .and_then(|s| s.iter().position(|&b| b == b'%'))
    {
        let offset = pos.saturating_add(found);
        let (spec, next) = parse(fmt, offset)?;
        needed = needed.saturating_add(spec.arg_count());
        pos = next;
    }
    Ok(needed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(fmt: &str) -> Spec {
        let (spec, end) = parse(fmt.as_bytes(), 0).unwrap();
        assert_eq!(end, fmt.len(), "{fmt}");
        spec
    }

    #[test]
    fn parses_flags_width_precision_length() {
        let s = one("%-+ #08.5I64x");
        assert_eq!(
            s.flags,
            Flags {
                left: true,
                zero: true,
                plus: true,
                space: true,
                alt: true
            }
        );
        assert_eq!(s.width, Count::Fixed(8));
        assert_eq!(s.precision, Count::Fixed(5));
        assert_eq!(s.length, Length::I64);
        assert_eq!(
            s.conversion,
            Conversion::Unsigned {
                radix: 16,
                upper: false
            }
        );
    }

    #[test]
    fn star_width_and_precision_consume_arguments() {
        let s = one("%*.*d");
        assert_eq!((s.width, s.precision), (Count::Arg, Count::Arg));
        assert_eq!(s.arg_count(), 3);
        assert_eq!(one("%%").arg_count(), 0);
        assert_eq!(one("%.d").precision, Count::Fixed(0));
    }

    #[test]
    fn msvc_length_modifiers_and_lp64_trap() {
        assert_eq!(one("%lu").length.int_bits(), Some(32));
        assert_eq!(one("%llu").length.int_bits(), Some(64));
        assert_eq!(one("%I64x").length.int_bits(), Some(64));
        assert_eq!(one("%I32d").length.int_bits(), Some(32));
        assert_eq!(one("%Iu").length.int_bits(), Some(64));
        assert_eq!(one("%zu").length.int_bits(), Some(64));
        assert_eq!(one("%hu").length.int_bits(), Some(16));
        assert_eq!(one("%hhu").length.int_bits(), Some(8));
    }

    #[test]
    fn wide_and_narrow_strings() {
        assert_eq!(one("%s").conversion, Conversion::Str { wide: false });
        assert_eq!(one("%S").conversion, Conversion::Str { wide: true });
        assert_eq!(one("%ls").conversion, Conversion::Str { wide: true });
        assert_eq!(one("%ws").conversion, Conversion::Str { wide: true });
        assert_eq!(one("%hS").conversion, Conversion::Str { wide: false });
        assert_eq!(one("%C").conversion, Conversion::Char { wide: true });
        assert_eq!(one("%wc").conversion, Conversion::Char { wide: true });
    }

    #[test]
    fn bad_specs_name_their_offset() {
        assert_eq!(
            parse(b"ab%", 2),
            Err(FormatError::TruncatedSpec { offset: 2 })
        );
        assert_eq!(
            parse(b"%-08l", 0),
            Err(FormatError::TruncatedSpec { offset: 0 })
        );
        assert_eq!(
            parse(b"%y", 0),
            Err(FormatError::UnknownConversion {
                offset: 0,
                conversion: b'y'
            })
        );
        assert_eq!(
            parse(b"%n", 0),
            Err(FormatError::Unsupported {
                offset: 0,
                conversion: b'n'
            })
        );
        assert_eq!(
            parse(b"%wZ", 0),
            Err(FormatError::Unsupported {
                offset: 0,
                conversion: b'Z'
            })
        );
        assert_eq!(
            parse(b"%lls", 0),
            Err(FormatError::InvalidLength { offset: 0 })
        );
        assert_eq!(
            parse(b"%wd", 0),
            Err(FormatError::InvalidLength { offset: 0 })
        );
        assert_eq!(
            parse(b"%99999999999d", 0),
            Err(FormatError::WidthOverflow { offset: 0 })
        );
        assert_eq!(
            parse(b"%2147483648d", 0),
            Err(FormatError::WidthOverflow { offset: 0 })
        );
        assert!(parse(b"%2147483647d", 0).is_ok());
    }

    #[test]
    fn count_args_validates_the_whole_format() {
        assert_eq!(count_args(b"plain"), Ok(0));
        assert_eq!(count_args(b"%d %s %% %*.*x %p"), Ok(6));
        assert_eq!(
            count_args(b"%d %d %k"),
            Err(FormatError::UnknownConversion {
                offset: 6,
                conversion: b'k'
            })
        );
    }
}
