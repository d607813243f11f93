// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The one error type of the engine and the argument sources.

use core::fmt;

/// Why a format operation failed.
///
/// Every variant that concerns the format string carries the byte offset of the `%` that starts
/// the offending conversion, so a caller can log exactly what was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatError {
    /// The format ends inside a conversion specification (`"abc%"`, `"%-08"`, `"%l"`).
    TruncatedSpec {
        /// Offset of the `%`.
        offset: usize,
    },
    /// The conversion character is not one printf knows (`%y`, `%5%`, `%q`).
    UnknownConversion {
        /// Offset of the `%`.
        offset: usize,
        /// The offending character.
        conversion: u8,
    },
    /// A conversion MSVC knows but this kernel engine deliberately refuses: `%n` (a write
    /// primitive; MSVC disables it too), floating point (`%f %e %g %a`: no FPU state in the
    /// kernel path), and the counted strings `%Z`/`%wZ`.
    Unsupported {
        /// Offset of the `%`.
        offset: usize,
        /// The offending character.
        conversion: u8,
    },
    /// A length modifier that makes no sense with its conversion (`%lls`, `%I64c`, `%wd`).
    InvalidLength {
        /// Offset of the `%`.
        offset: usize,
    },
    /// A width or precision that does not fit in a C `int`.
    WidthOverflow {
        /// Offset of the `%`.
        offset: usize,
    },
    /// The format consumes more arguments than the source holds.
    MissingArguments {
        /// Arguments the format needs (widths and precisions given by `*` included).
        needed: usize,
        /// Arguments the source was built with.
        supplied: usize,
    },
    /// A slice-backed argument has the wrong kind for its conversion (an integer for `%s`).
    ArgumentType {
        /// Zero-based index of the argument.
        index: usize,
    },
    /// The sink is full: the output was truncated.
    Overflow,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TruncatedSpec { offset } => {
                write!(f, "format ends inside the conversion at offset {offset}")
            }
            Self::UnknownConversion { offset, conversion } => write!(
                f,
                "unknown conversion {:?} at offset {offset}",
                char::from(conversion)
            ),
            Self::Unsupported { offset, conversion } => write!(
                f,
                "unsupported conversion {:?} at offset {offset}",
                char::from(conversion)
            ),
            Self::InvalidLength { offset } => {
                write!(
                    f,
                    "length modifier does not fit the conversion at offset {offset}"
                )
            }
            Self::WidthOverflow { offset } => {
                write!(f, "width or precision too large at offset {offset}")
            }
            Self::MissingArguments { needed, supplied } => write!(
                f,
                "format needs {needed} arguments but only {supplied} were supplied"
            ),
            Self::ArgumentType { index } => write!(f, "argument {index} has the wrong type"),
            Self::Overflow => f.write_str("output buffer full"),
        }
    }
}

impl core::error::Error for FormatError {}
