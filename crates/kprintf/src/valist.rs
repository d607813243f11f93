// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `va_list` readers for the two x86_64 calling conventions.
//!
//! * Windows x64 (MSVC): a `va_list` is a `char *` to consecutive 8-byte slots; every integer,
//!   pointer and `wchar_t` argument takes exactly one slot. The thunk from
//!   [`crate::win64_variadic_thunk!`] spills the register arguments to their home slots so the
//!   pointer it hands over sees the variadic arguments contiguously.
//! * System V x86_64: a `va_list` is a pointer to `{ gp_offset, fp_offset, overflow_arg_area,
//!   reg_save_area }`; integer arguments come from the register save area while `gp_offset < 48`
//!   and from the overflow (stack) area after that. Used by host tests, through
//!   [`crate::sysv64_variadic_thunk!`] or a real C `va_list`.
//!
//! # The `va_list` contract
//! A `va_list` does not know how many arguments the caller passed. As in C, the caller of a
//! printf-style function promises that the format matches the arguments; these readers can only
//! enforce an optional upper bound (`with_limit`), which the engine checks before it reads
//! anything. Format errors (unknown conversions, truncated specifications) are found by a full
//! validation pass before the first argument is read, so a bad format never touches the
//! `va_list`.

use core::marker::PhantomData;

use crate::FormatError;
use crate::args::{ArgSource, WideStr};

/// Size of one argument slot in both x64 ABIs.
pub const SLOT_SIZE: usize = 8;

/// Byte offset of variadic slot `index` from a Windows x64 `va_list`.
#[must_use]
pub const fn win64_slot_offset(index: usize) -> Option<usize> {
    index.checked_mul(SLOT_SIZE)
}

/// A Windows x64 `va_list` (`char *`) exactly as the caller or the thunk passes it.
#[repr(transparent)]
#[derive(Debug, Clone, Copy)]
pub struct RawWin64VaList(pub *const u8);

/// The System V x86_64 `va_list` element (`__va_list_tag`). A C `va_list` parameter decays to a
/// pointer to this.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SysVVaListTag {
    /// Offset in `reg_save_area` of the next general-purpose register argument (0..=48).
    pub gp_offset: u32,
    /// Offset in `reg_save_area` of the next vector register argument (48..=176).
    pub fp_offset: u32,
    /// The next stack argument.
    pub overflow_arg_area: *mut u8,
    /// Where the prologue spilled the argument registers.
    pub reg_save_area: *mut u8,
}

/// A System V x86_64 `va_list` exactly as the thunk or a C caller passes it.
#[repr(transparent)]
#[derive(Debug, Clone, Copy)]
pub struct RawSysVVaList(pub *mut SysVVaListTag);

/// End of the general-purpose part of the System V register save area (6 registers).
pub const SYSV_GP_AREA: u32 = 48;

/// Reads a narrow C string of at most `max` bytes at `ptr`.
///
/// # Safety
/// `ptr` must be NULL or point to memory readable for `'a` up to its first NUL or `max` bytes,
/// whichever comes first.
const unsafe fn c_str<'a>(ptr: *const u8, max: usize) -> Option<&'a [u8]> {
    if ptr.is_null() {
        return None;
    }
    let mut len = 0usize;
    while len < max {
        // SAFETY: `len < max` and no NUL was seen before `len`, so the caller's contract makes
        // this byte readable.
        let byte = unsafe { ptr.wrapping_add(len).read() };
        if byte == 0 {
            break;
        }
        len = len.saturating_add(1);
    }
    // SAFETY: the loop read each of the `len` bytes, so the range is readable for `'a`; `u8`
    // has no alignment requirement.
    Some(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// Reads a wide C string of at most `max` units at `ptr`.
///
/// # Safety
/// As [`c_str`], in `u16` units (any alignment).
const unsafe fn wide_str<'a>(ptr: *const u16, max: usize) -> Option<WideStr<'a>> {
    if ptr.is_null() {
        return None;
    }
    let mut len = 0usize;
    while len < max {
        // SAFETY: as in `c_str`: unit `len` is before the terminator and within `max`.
        let unit = unsafe { ptr.wrapping_add(len).read_unaligned() };
        if unit == 0 {
            break;
        }
        len = len.saturating_add(1);
    }
    // SAFETY: the loop read each of the `len` units, so they are readable for `'a`.
    Some(unsafe { WideStr::from_raw(ptr, len) })
}

/// Counts reads against an optional limit.
#[derive(Debug, Clone, Copy)]
struct Budget {
    read: usize,
    limit: Option<usize>,
}

impl Budget {
    const fn take(&mut self) -> Result<usize, FormatError> {
        let index = self.read;
        if let Some(limit) = self.limit
            && index >= limit
        {
            return Err(FormatError::MissingArguments {
                needed: index.saturating_add(1),
                supplied: limit,
            });
        }
        self.read = index.saturating_add(1);
        Ok(index)
    }

    fn remaining(&self) -> Option<usize> {
        self.limit.map(|l| l.saturating_sub(self.read))
    }
}

/// Reader of a Windows x64 `va_list`.
#[derive(Debug)]
pub struct Win64VaList<'a> {
    ap: *const u8,
    budget: Budget,
    _marker: PhantomData<&'a [u64]>,
}

impl Win64VaList<'_> {
    /// A reader of `ap` trusting the format to match the arguments (C's contract).
    ///
    /// # Safety
    /// Every slot the format consumes must be readable, and every `%s`/`%S` argument must be
    /// NULL or a string readable up to its terminator (or precision), for the reader's lifetime.
    #[must_use]
    pub const unsafe fn new(ap: RawWin64VaList) -> Self {
        Self {
            ap: ap.0,
            budget: Budget {
                read: 0,
                limit: None,
            },
            _marker: PhantomData,
        }
    }

    /// A reader of `ap` that refuses to read more than `count` slots.
    ///
    /// # Safety
    /// As [`Win64VaList::new`], for the first `count` slots.
    #[must_use]
    pub const unsafe fn with_limit(ap: RawWin64VaList, count: usize) -> Self {
        Self {
            ap: ap.0,
            budget: Budget {
                read: 0,
                limit: Some(count),
            },
            _marker: PhantomData,
        }
    }

    /// How many slots were read.
    #[must_use]
    pub const fn consumed(&self) -> usize {
        self.budget.read
    }

    fn slot(&mut self) -> Result<u64, FormatError> {
        let index = self.budget.take()?;
        let offset = win64_slot_offset(index).ok_or(FormatError::Overflow)?;
        // SAFETY: `new`'s contract makes every slot the format consumes readable; the engine
        // only asks for as many slots as the validated format consumes.
        Ok(unsafe { self.ap.wrapping_add(offset).cast::<u64>().read_unaligned() })
    }
}

impl<'a> ArgSource<'a> for Win64VaList<'a> {
    fn remaining(&self) -> Option<usize> {
        self.budget.remaining()
    }

    fn next_word(&mut self) -> Result<u64, FormatError> {
        self.slot()
    }

    fn next_str(&mut self, max: usize) -> Result<Option<&'a [u8]>, FormatError> {
        let ptr = core::ptr::with_exposed_provenance::<u8>(word_to_addr(self.slot()?));
        // SAFETY: `new`'s contract covers every string argument.
        Ok(unsafe { c_str(ptr, max) })
    }

    fn next_wide_str(&mut self, max: usize) -> Result<Option<WideStr<'a>>, FormatError> {
        let ptr = core::ptr::with_exposed_provenance::<u16>(word_to_addr(self.slot()?));
        // SAFETY: `new`'s contract covers every string argument.
        Ok(unsafe { wide_str(ptr, max) })
    }
}

/// A pointer-sized address from a 64-bit slot (x86_64 only, where they are the same size).
#[allow(clippy::cast_possible_truncation)] // usize is 64 bits on every target that has these ABIs.
const fn word_to_addr(word: u64) -> usize {
    word as usize
}

/// Reader of a System V x86_64 `va_list`. It works on a copy of the tag (like `va_copy`), so the
/// caller's `va_list` is left as it was.
#[derive(Debug)]
pub struct SysVVaList<'a> {
    tag: SysVVaListTag,
    budget: Budget,
    _marker: PhantomData<&'a [u64]>,
}

impl SysVVaList<'_> {
    /// A reader of `ap` trusting the format to match the arguments (C's contract).
    ///
    /// # Safety
    /// `ap` must point to a live, initialised `va_list` tag whose register save area and
    /// overflow area hold every argument the format consumes, and every `%s`/`%S` argument must
    /// be NULL or a string readable up to its terminator (or precision), for the reader's
    /// lifetime.
    #[must_use]
    pub const unsafe fn new(ap: RawSysVVaList) -> Self {
        // SAFETY: the caller guarantees `ap` points to an initialised tag.
        let tag = unsafe { ap.0.read() };
        Self {
            tag,
            budget: Budget {
                read: 0,
                limit: None,
            },
            _marker: PhantomData,
        }
    }

    /// A reader of `ap` that refuses to read more than `count` integer arguments.
    ///
    /// # Safety
    /// As [`SysVVaList::new`], for the first `count` arguments.
    #[must_use]
    pub const unsafe fn with_limit(ap: RawSysVVaList, count: usize) -> Self {
        // SAFETY: forwarded contract.
        let mut reader = unsafe { Self::new(ap) };
        reader.budget.limit = Some(count);
        reader
    }

    /// How many arguments were read.
    #[must_use]
    pub const fn consumed(&self) -> usize {
        self.budget.read
    }

    fn slot(&mut self) -> Result<u64, FormatError> {
        self.budget.take()?;
        let gp = self.tag.gp_offset;
        let ptr = if gp < SYSV_GP_AREA {
            self.tag.gp_offset = gp.saturating_add(8);
            self.tag.reg_save_area.wrapping_add(gp as usize)
        } else {
            let p = self.tag.overflow_arg_area;
            self.tag.overflow_arg_area = p.wrapping_add(SLOT_SIZE);
            p
        };
        // SAFETY: `new`'s contract makes every argument the format consumes readable where the
        // ABI puts it: the next register slot below `SYSV_GP_AREA`, else the next stack slot.
        Ok(unsafe { ptr.cast::<u64>().read_unaligned() })
    }
}

impl<'a> ArgSource<'a> for SysVVaList<'a> {
    fn remaining(&self) -> Option<usize> {
        self.budget.remaining()
    }

    fn next_word(&mut self) -> Result<u64, FormatError> {
        self.slot()
    }

    fn next_str(&mut self, max: usize) -> Result<Option<&'a [u8]>, FormatError> {
        let ptr = core::ptr::with_exposed_provenance::<u8>(word_to_addr(self.slot()?));
        // SAFETY: `new`'s contract covers every string argument.
        Ok(unsafe { c_str(ptr, max) })
    }

    fn next_wide_str(&mut self, max: usize) -> Result<Option<WideStr<'a>>, FormatError> {
        let ptr = core::ptr::with_exposed_provenance::<u16>(word_to_addr(self.slot()?));
        // SAFETY: `new`'s contract covers every string argument.
        Ok(unsafe { wide_str(ptr, max) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn win64_slots_are_eight_bytes_apart() {
        assert_eq!(win64_slot_offset(0), Some(0));
        assert_eq!(win64_slot_offset(3), Some(24));
        assert_eq!(win64_slot_offset(usize::MAX), None);
    }

    #[test]
    fn win64_reader_walks_slots_and_respects_its_limit() {
        let text = b"hey\0";
        let slots: [u64; 3] = [
            0xdead_beef_0000_0007,
            text.as_ptr().expose_provenance() as u64,
            0,
        ];
        let raw = RawWin64VaList(slots.as_ptr().cast::<u8>());
        // SAFETY: three readable slots; slot 1 is a NUL-terminated string; slot 2 is NULL.
        let mut va = unsafe { Win64VaList::with_limit(raw, 3) };
        assert_eq!(va.remaining(), Some(3));
        assert_eq!(va.next_word(), Ok(0xdead_beef_0000_0007));
        assert_eq!(va.next_str(usize::MAX), Ok(Some(&b"hey"[..])));
        assert_eq!(va.next_str(usize::MAX), Ok(None));
        assert_eq!(
            va.next_word(),
            Err(FormatError::MissingArguments {
                needed: 4,
                supplied: 3
            })
        );
        assert_eq!(va.consumed(), 3);
    }

    #[test]
    fn sysv_reader_moves_from_registers_to_the_overflow_area() {
        let mut regs: [u64; 6] = [10, 11, 12, 13, 14, 15];
        let mut stack: [u64; 2] = [20, 21];
        let mut tag = SysVVaListTag {
            gp_offset: 32, // four fixed register arguments already used
            fp_offset: 176,
            overflow_arg_area: stack.as_mut_ptr().cast::<u8>(),
            reg_save_area: regs.as_mut_ptr().cast::<u8>(),
        };
        // SAFETY: the tag and both areas are live locals holding every argument read below.
        let mut va = unsafe { SysVVaList::with_limit(RawSysVVaList(&raw mut tag), 4) };
        let words: std::vec::Vec<_> = (0..4).map(|_| va.next_word().unwrap()).collect();
        assert_eq!(words, [14, 15, 20, 21]);
        assert!(va.next_word().is_err());
        assert_eq!(tag.gp_offset, 32, "the caller's va_list is not consumed");
    }
}
