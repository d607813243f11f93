// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! What can be wrong with an image.

use core::fmt;

/// Why an image, or one of its tables, cannot be read. Every variant names the field at fault
/// and where it is (a file offset or an RVA).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The `len` bytes of `field` at file offset `offset` run past the end of the file
    /// (`file_len` bytes), or their extent overflows.
    Truncated {
        /// The structure or field.
        field: &'static str,
        /// Its file offset.
        offset: usize,
        /// Its length.
        len: usize,
        /// The length of the file (or of the header being read).
        file_len: usize,
    },
    /// `field` at file offset `offset` holds `found`, not its signature or magic.
    BadSignature {
        /// The signature field.
        field: &'static str,
        /// Its file offset.
        offset: usize,
        /// What it holds.
        found: u32,
    },
    /// `field` at file offset `offset` holds a value the format does not allow (`value`).
    BadValue {
        /// The field.
        field: &'static str,
        /// Its file offset.
        offset: usize,
        /// What it holds.
        value: u64,
    },
    /// The `len` bytes of `field` at `rva` have no file data: the RVA lies outside the headers
    /// and every section's file-backed part, or the extent leaves its section or the file.
    UnmappedRva {
        /// The structure or field.
        field: &'static str,
        /// Its RVA.
        rva: u32,
        /// Its length.
        len: usize,
    },
    /// The string `field` at `rva` has no NUL before the end of its section.
    UnterminatedString {
        /// The string.
        field: &'static str,
        /// Its RVA.
        rva: u32,
    },
    /// The table entry `field` at `rva` holds a value the format does not allow (`value`).
    BadEntry {
        /// The entry.
        field: &'static str,
        /// Its RVA.
        rva: u32,
        /// What it holds.
        value: u64,
    },
    /// A loader refuses the image ([`crate::load`]): `what` names the field and the rule it
    /// breaks, `value` is what the field holds.
    Refused {
        /// The field and the rule.
        what: &'static str,
        /// What it holds.
        value: u64,
    },
}

impl Error {
    /// The same error with file offsets moved by `base` (for errors found in a header read as
    /// a sub-slice starting at file offset `base`).
    #[must_use]
    pub(crate) const fn rebase(self, base: usize) -> Self {
        match self {
            Self::Truncated {
                field,
                offset,
                len,
                file_len,
            } => Self::Truncated {
                field,
                offset: offset.saturating_add(base),
                len,
                file_len: file_len.saturating_add(base),
            },
            Self::BadSignature {
                field,
                offset,
                found,
            } => Self::BadSignature {
                field,
                offset: offset.saturating_add(base),
                found,
            },
            Self::BadValue {
                field,
                offset,
                value,
            } => Self::BadValue {
                field,
                offset: offset.saturating_add(base),
                value,
            },
            other => other,
        }
    }

    /// The field or structure at fault.
    #[must_use]
    pub const fn field(&self) -> &'static str {
        match self {
            Self::Truncated { field, .. }
            | Self::BadSignature { field, .. }
            | Self::BadValue { field, .. }
            | Self::UnmappedRva { field, .. }
            | Self::UnterminatedString { field, .. }
            | Self::BadEntry { field, .. } => field,
            Self::Refused { what, .. } => what,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Truncated {
                field,
                offset,
                len,
                file_len,
            } => write!(
                f,
                "{field}: {len} bytes at file offset {offset:#x} run past the end ({file_len:#x} bytes)"
            ),
            Self::BadSignature {
                field,
                offset,
                found,
            } => write!(
                f,
                "{field}: bad signature {found:#x} at file offset {offset:#x}"
            ),
            Self::BadValue {
                field,
                offset,
                value,
            } => write!(
                f,
                "{field}: bad value {value:#x} at file offset {offset:#x}"
            ),
            Self::UnmappedRva { field, rva, len } => write!(
                f,
                "{field}: {len} bytes at RVA {rva:#x} are not in the file's mapped data"
            ),
            Self::UnterminatedString { field, rva } => {
                write!(
                    f,
                    "{field}: string at RVA {rva:#x} has no NUL before its section ends"
                )
            }
            Self::BadEntry { field, rva, value } => {
                write!(f, "{field}: bad entry {value:#x} at RVA {rva:#x}")
            }
            Self::Refused { what, value } => write!(f, "refused: {what}: {value:#x}"),
        }
    }
}

impl core::error::Error for Error {}
