// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Argument sources: where the engine takes its arguments from. The engine sees only the
//! [`ArgSource`] trait; [`SliceArgs`] is the safe source for tests and Rust callers, the
//! `va_list` readers live in [`crate::valist`].

use core::marker::PhantomData;

use crate::FormatError;

/// A wide (UTF-16, `wchar_t`) string argument, already bounded to the units that will print.
#[derive(Debug, Clone, Copy)]
pub struct WideStr<'a> {
    repr: WideRepr<'a>,
}

#[derive(Debug, Clone, Copy)]
enum WideRepr<'a> {
    Slice(&'a [u16]),
    Raw {
        ptr: *const u16,
        len: usize,
        _marker: PhantomData<&'a [u16]>,
    },
}

impl<'a> WideStr<'a> {
    /// A wide string over a slice.
    #[must_use]
    pub const fn from_slice(units: &'a [u16]) -> Self {
        Self {
            repr: WideRepr::Slice(units),
        }
    }

    /// A wide string over raw memory that may be unaligned.
    ///
    /// # Safety
    /// `ptr .. ptr + len` (in `u16` units) must be readable for `'a`.
    #[must_use]
    pub const unsafe fn from_raw(ptr: *const u16, len: usize) -> Self {
        Self {
            repr: WideRepr::Raw {
                ptr,
                len,
                _marker: PhantomData,
            },
        }
    }

    /// Number of UTF-16 units.
    #[must_use]
    pub const fn len(&self) -> usize {
        match self.repr {
            WideRepr::Slice(s) => s.len(),
            WideRepr::Raw { len, .. } => len,
        }
    }

    /// True if there are no units.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The unit at `index`, if in range.
    #[must_use]
    pub fn get(&self, index: usize) -> Option<u16> {
        match self.repr {
            WideRepr::Slice(s) => s.get(index).copied(),
            WideRepr::Raw { ptr, len, .. } => {
                if index >= len {
                    return None;
                }
                // SAFETY: `index < len` and `from_raw`'s contract makes `ptr .. ptr + len`
                // readable for `'a`; `read_unaligned` tolerates any alignment.
                Some(unsafe { ptr.wrapping_add(index).read_unaligned() })
            }
        }
    }
}

/// A supply of printf arguments.
///
/// Every integer-class argument (any C integer type, a pointer, a `wchar_t` for `%C`) occupies
/// one 64-bit slot in both x64 ABIs; the engine truncates the slot to the width the length
/// modifier names, so the slot's upper bits never matter for narrower types.
pub trait ArgSource<'a> {
    /// How many arguments are left, if the source knows (a `va_list` built without a limit does
    /// not). The engine refuses a format that needs more than this before reading anything.
    fn remaining(&self) -> Option<usize>;

    /// The next integer-class argument as its raw 64-bit slot.
    ///
    /// # Errors
    /// [`FormatError::MissingArguments`] past the end; [`FormatError::ArgumentType`] for a
    /// typed source whose next argument is a string.
    fn next_word(&mut self) -> Result<u64, FormatError>;

    /// The next argument as a narrow C string, or `None` for a NULL pointer. At most `max` bytes
    /// are looked at (so `%.4s` of an unterminated array is fine); the result stops at the first
    /// NUL.
    ///
    /// # Errors
    /// As [`ArgSource::next_word`].
    fn next_str(&mut self, max: usize) -> Result<Option<&'a [u8]>, FormatError>;

    /// The next argument as a wide C string, or `None` for a NULL pointer, bounded like
    /// [`ArgSource::next_str`] (in units).
    ///
    /// # Errors
    /// As [`ArgSource::next_word`].
    fn next_wide_str(&mut self, max: usize) -> Result<Option<WideStr<'a>>, FormatError>;
}

/// One typed argument of a [`SliceArgs`] source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg<'a> {
    /// An integer, pointer or character: the raw 64-bit slot. Use the `From` impls to get C's
    /// promotion right (signed types sign-extend, unsigned types zero-extend).
    Int(u64),
    /// A narrow string (`None` = NULL). Printing stops at an embedded NUL, as in C.
    Str(Option<&'a [u8]>),
    /// A wide string (`None` = NULL).
    WideStr(Option<&'a [u16]>),
}

macro_rules! arg_from_int {
    ($($t:ty => $via:ty),* $(,)?) => {
        $(impl From<$t> for Arg<'_> {
            fn from(v: $t) -> Self {
                #[allow(clippy::cast_sign_loss)] // Two's-complement slot bits, as C passes them.
                Self::Int(<$via>::from(v) as u64)
            }
        })*
    };
}

arg_from_int!(i8 => i64, i16 => i64, i32 => i64, i64 => i64, u8 => u64, u16 => u64,
    u32 => u64, u64 => u64);

impl From<usize> for Arg<'_> {
    fn from(v: usize) -> Self {
        Self::Int(v as u64)
    }
}

impl<T> From<*const T> for Arg<'_> {
    fn from(p: *const T) -> Self {
        Self::Int(p.addr() as u64)
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Self::Str(Some(s.as_bytes()))
    }
}

impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(s: &'a [u8]) -> Self {
        Self::Str(Some(s))
    }
}

impl<'a> From<&'a [u16]> for Arg<'a> {
    fn from(s: &'a [u16]) -> Self {
        Self::WideStr(Some(s))
    }
}

/// A safe argument source over a slice: it can never read past the arguments it was built with.
#[derive(Debug, Clone)]
pub struct SliceArgs<'s, 'a> {
    args: &'s [Arg<'a>],
    next: usize,
}

impl<'s, 'a> SliceArgs<'s, 'a> {
    /// A source yielding `args` in order.
    #[must_use]
    pub const fn new(args: &'s [Arg<'a>]) -> Self {
        Self { args, next: 0 }
    }

    /// How many arguments were consumed.
    #[must_use]
    pub const fn consumed(&self) -> usize {
        self.next
    }

    fn take(&mut self) -> Result<(usize, Arg<'a>), FormatError> {
        let index = self.next;
        let arg = *self
            .args
            .get(index)
            .ok_or_else(|| FormatError::MissingArguments {
                needed: index.saturating_add(1),
                supplied: self.args.len(),
            })?;
        self.next = index.saturating_add(1);
        Ok((index, arg))
    }
}

/// The prefix of `s` before its first NUL, looking at no more than `max` elements.
fn bounded<T: Copy + Default + PartialEq>(s: &[T], max: usize) -> &[T] {
    let s = s.get(..max.min(s.len())).unwrap_or_default();
    let end = s.iter().position(|&u| u == T::default()).unwrap_or(s.len());
    s.get(..end).unwrap_or_default()
}

impl<'a> ArgSource<'a> for SliceArgs<'_, 'a> {
    fn remaining(&self) -> Option<usize> {
        Some(self.args.len().saturating_sub(self.next))
    }

    fn next_word(&mut self) -> Result<u64, FormatError> {
        match self.take()? {
            (_, Arg::Int(v)) => Ok(v),
            (index, _) => Err(FormatError::ArgumentType { index }),
        }
    }

    fn next_str(&mut self, max: usize) -> Result<Option<&'a [u8]>, FormatError> {
        match self.take()? {
            (_, Arg::Str(s)) => Ok(s.map(|s| bounded(s, max))),
            (index, _) => Err(FormatError::ArgumentType { index }),
        }
    }

    fn next_wide_str(&mut self, max: usize) -> Result<Option<WideStr<'a>>, FormatError> {
        match self.take()? {
            (_, Arg::WideStr(s)) => Ok(s.map(|s| WideStr::from_slice(bounded(s, max)))),
            (index, _) => Err(FormatError::ArgumentType { index }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_source_stops_at_its_end() {
        let args = [Arg::from(-1i32), Arg::from("ab\0cd")];
        let mut src = SliceArgs::new(&args);
        assert_eq!(src.remaining(), Some(2));
        assert_eq!(src.next_word(), Ok(u64::MAX));
        assert_eq!(src.next_str(usize::MAX), Ok(Some(&b"ab"[..])));
        assert_eq!(
            src.next_word(),
            Err(FormatError::MissingArguments {
                needed: 3,
                supplied: 2
            })
        );
        assert_eq!(src.consumed(), 2);
    }

    #[test]
    fn slice_source_checks_kinds_and_bounds_strings() {
        let wide: &[u16] = &[0x41, 0x42, 0, 0x43];
        let args = [Arg::Str(Some(b"abcdef")), Arg::from(wide), Arg::from(5u8)];
        let mut src = SliceArgs::new(&args);
        assert_eq!(src.next_str(3), Ok(Some(&b"abc"[..])));
        let w = src.next_wide_str(10).unwrap().unwrap();
        assert_eq!(
            (w.len(), w.get(0), w.get(1), w.get(2)),
            (2, Some(0x41), Some(0x42), None)
        );
        assert_eq!(src.next_str(1), Err(FormatError::ArgumentType { index: 2 }));
    }

    #[test]
    fn raw_wide_strings_read_unaligned_memory() {
        let bytes = [0u8, 0x41, 0, 0x42, 0];
        #[allow(clippy::cast_ptr_alignment)] // The point of the test: `from_raw` reads unaligned.
        let ptr = bytes.as_ptr().wrapping_add(1).cast::<u16>();
        // SAFETY: two units starting at offset 1 lie inside `bytes`.
        let w = unsafe { WideStr::from_raw(ptr, 2) };
        assert_eq!(
            (w.get(0), w.get(1), w.get(2)),
            (Some(0x41), Some(0x42), None)
        );
    }
}
