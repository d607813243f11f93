// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Base relocations: blocks of 16-bit entries, one block per 4 KiB page.

use crate::{Error, PeImage, Result, directory, to_usize, u32_in};

/// `IMAGE_BASE_RELOCATION`: `VirtualAddress`, `SizeOfBlock`.
const BLOCK_HEADER: usize = 8;

/// `IMAGE_REL_BASED_*`: relocation kinds.
pub mod kind {
    /// Padding; no fix-up.
    pub const ABSOLUTE: u8 = 0;
    /// The high 16 bits of a 32-bit field.
    pub const HIGH: u8 = 1;
    /// The low 16 bits of a 32-bit field.
    pub const LOW: u8 = 2;
    /// A 32-bit field.
    pub const HIGHLOW: u8 = 3;
    /// The high 16 bits, adjusted by the next entry.
    pub const HIGHADJ: u8 = 4;
    /// A 64-bit field (all an x64 image should have, besides padding).
    pub const DIR64: u8 = 10;
}

/// The relocation blocks of an image, in table order; stops after the first error.
#[derive(Debug, Clone)]
pub struct BaseRelocations<'a> {
    table: &'a [u8],
    rva: u32,
    at: usize,
    done: bool,
}

impl<'a> BaseRelocations<'a> {
    pub(crate) fn new(image: PeImage<'a>) -> Result<Self> {
        let Some(dir) = image.data_directory(directory::BASERELOC) else {
            return Ok(Self {
                table: &[],
                rva: 0,
                at: 0,
                done: true,
            });
        };
        let table = image.read(dir.rva, to_usize(dir.size), "base relocation directory")?;
        Ok(Self {
            table,
            rva: dir.rva,
            at: 0,
            done: false,
        })
    }

    fn block(&self) -> Result<(RelocationBlock<'a>, usize)> {
        let rva = PeImage::rva_add(self.rva, self.at, "base relocation block")?;
        let page_rva = u32_in(
            self.table,
            self.at,
            rva,
            "base relocation block VirtualAddress",
        )?;
        let size = u32_in(
            self.table,
            self.at.saturating_add(4),
            rva,
            "base relocation block SizeOfBlock",
        )?;
        let bad = |field| Error::BadEntry {
            field,
            rva,
            value: u64::from(size),
        };
        let len = to_usize(size);
        if len < BLOCK_HEADER || !len.is_multiple_of(2) {
            return Err(bad("base relocation block SizeOfBlock (too small or odd)"));
        }
        let entries = self
            .at
            .checked_add(BLOCK_HEADER)
            .zip(self.at.checked_add(len))
            .and_then(|(start, end)| self.table.get(start..end))
            .ok_or_else(|| bad("base relocation block SizeOfBlock (past the directory)"))?;
        if page_rva.checked_add(0xfff).is_none() {
            return Err(Error::BadEntry {
                field: "base relocation block VirtualAddress",
                rva,
                value: u64::from(page_rva),
            });
        }
        Ok((RelocationBlock { page_rva, entries }, len))
    }
}

impl<'a> Iterator for BaseRelocations<'a> {
    type Item = Result<RelocationBlock<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.at >= self.table.len() {
            return None;
        }
        match self.block() {
            Ok((block, len)) => {
                // `block` checked that `at + len` lies within the table.
                self.at = self.at.saturating_add(len);
                Some(Ok(block))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl core::iter::FusedIterator for BaseRelocations<'_> {}

/// One relocation block: the fix-ups of one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelocationBlock<'a> {
    /// The page's RVA (`VirtualAddress`).
    pub page_rva: u32,
    entries: &'a [u8],
}

impl<'a> RelocationBlock<'a> {
    /// The block's entries, padding ([`kind::ABSOLUTE`]) included.
    #[must_use]
    pub fn entries(&self) -> RelocationEntries<'a> {
        RelocationEntries {
            page_rva: self.page_rva,
            words: self.entries.chunks_exact(2),
        }
    }

    /// How many entries the block has, padding included.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.entries.len() / 2
    }

    /// Whether the block has no entries.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.entries.len() < 2
    }
}

/// One fix-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relocation {
    /// The kind ([`kind`]).
    pub kind: u8,
    /// The RVA of the field to fix.
    pub rva: u32,
}

impl Relocation {
    /// Whether this is a 64-bit fix-up.
    #[must_use]
    pub const fn is_dir64(&self) -> bool {
        self.kind == kind::DIR64
    }

    /// Whether this is padding.
    #[must_use]
    pub const fn is_padding(&self) -> bool {
        self.kind == kind::ABSOLUTE
    }
}

/// The entries of one block.
#[derive(Debug, Clone)]
pub struct RelocationEntries<'a> {
    page_rva: u32,
    words: core::slice::ChunksExact<'a, u8>,
}

impl Iterator for RelocationEntries<'_> {
    type Item = Relocation;

    fn next(&mut self) -> Option<Relocation> {
        let word = self.words.next()?;
        let word = u16::from_le_bytes(<[u8; 2]>::try_from(word).ok()?);
        let kind = u8::try_from(word >> 12).ok()?;
        // The block checked that `page_rva + 0xfff` does not overflow.
        let rva = self.page_rva.saturating_add(u32::from(word & 0xfff));
        Some(Relocation { kind, rva })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.words.size_hint()
    }
}

impl core::iter::FusedIterator for RelocationEntries<'_> {}
