// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The exception directory (`.pdata`): x64 `RUNTIME_FUNCTION` entries, which the kernel needs
//! to unwind through the image (exceptions, stack walks, `__C_specific_handler`).

use crate::{Error, PeImage, Result, directory, to_usize, u32_in};

/// `RUNTIME_FUNCTION`.
const ENTRY: usize = 12;

/// One function's unwind record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeFunction {
    /// `BeginAddress` (RVA).
    pub begin: u32,
    /// `EndAddress` (RVA, exclusive).
    pub end: u32,
    /// `UnwindInfoAddress` (RVA of the `UNWIND_INFO`).
    pub unwind_info: u32,
}

/// The entries of the exception directory, in table order; stops after the first error.
#[derive(Debug, Clone)]
pub struct RuntimeFunctions<'a> {
    table: &'a [u8],
    rva: u32,
    at: usize,
    done: bool,
}

impl<'a> RuntimeFunctions<'a> {
    pub(crate) fn new(image: PeImage<'a>) -> Result<Self> {
        let Some(dir) = image.data_directory(directory::EXCEPTION) else {
            return Ok(Self {
                table: &[],
                rva: 0,
                at: 0,
                done: true,
            });
        };
        let table = image.read(dir.rva, to_usize(dir.size), "exception directory")?;
        Ok(Self {
            table,
            rva: dir.rva,
            at: 0,
            done: false,
        })
    }

    fn entry(&self) -> Result<RuntimeFunction> {
        let rva = PeImage::rva_add(self.rva, self.at, "RUNTIME_FUNCTION")?;
        let field =
            |delta: usize, name| u32_in(self.table, self.at.saturating_add(delta), rva, name);
        let f = RuntimeFunction {
            begin: field(0, "RUNTIME_FUNCTION BeginAddress")?,
            end: field(4, "RUNTIME_FUNCTION EndAddress")?,
            unwind_info: field(8, "RUNTIME_FUNCTION UnwindInfoAddress")?,
        };
        if f.end < f.begin {
            return Err(Error::BadEntry {
                field: "RUNTIME_FUNCTION EndAddress (before BeginAddress)",
                rva,
                value: u64::from(f.end),
            });
        }
        Ok(f)
    }
}

impl Iterator for RuntimeFunctions<'_> {
    type Item = Result<RuntimeFunction>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.at >= self.table.len() {
            return None;
        }
        let item = self.entry();
        self.at = self.at.saturating_add(ENTRY);
        self.done = item.is_err();
        Some(item)
    }
}

impl core::iter::FusedIterator for RuntimeFunctions<'_> {}
