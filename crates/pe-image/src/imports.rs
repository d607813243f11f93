// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The import table: one descriptor per DLL, each with its lookup and address tables.

use crate::{Error, PeImage, Result, directory, u16_in};

/// `IMAGE_IMPORT_DESCRIPTOR`.
const DESCRIPTOR: usize = 20;

/// The import descriptors, in table order. The walk ends at the first descriptor whose `Name`
/// or `FirstThunk` is zero (where the Windows loader stops), or after the first error.
#[derive(Debug, Clone)]
pub struct Imports<'a> {
    image: PeImage<'a>,
    next: Option<u32>,
}

impl<'a> Imports<'a> {
    pub(crate) fn new(image: PeImage<'a>) -> Self {
        let next = image.data_directory(directory::IMPORT).map(|d| d.rva);
        Self { image, next }
    }
}

impl<'a> Iterator for Imports<'a> {
    type Item = Result<ImportDescriptor<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let rva = self.next.take()?;
        let d = match self.image.read(rva, DESCRIPTOR, "import descriptor") {
            Ok(d) => d,
            Err(e) => return Some(Err(e)),
        };
        let mut fields = [0u32; 5];
        for (i, slot) in fields.iter_mut().enumerate() {
            match crate::u32_in(d, i.saturating_mul(4), rva, "import descriptor") {
                Ok(value) => *slot = value,
                Err(e) => return Some(Err(e)),
            }
        }
        let [
            original_first_thunk,
            time_date_stamp,
            forwarder_chain,
            name_rva,
            first_thunk,
        ] = fields;
        if name_rva == 0 || first_thunk == 0 {
            return None;
        }
        let dll = match self.image.c_string(name_rva, "import DLL name") {
            Ok(name) => name,
            Err(e) => return Some(Err(e)),
        };
        self.next = PeImage::rva_add(rva, DESCRIPTOR, "import descriptor").ok();
        Some(Ok(ImportDescriptor {
            image: self.image,
            rva,
            dll,
            original_first_thunk,
            time_date_stamp,
            forwarder_chain,
            first_thunk,
        }))
    }
}

impl core::iter::FusedIterator for Imports<'_> {}

/// One DLL's import descriptor (`IMAGE_IMPORT_DESCRIPTOR`).
#[derive(Debug, Clone, Copy)]
pub struct ImportDescriptor<'a> {
    image: PeImage<'a>,
    /// The descriptor's RVA.
    pub rva: u32,
    /// The DLL name, as written (e.g. `ntoskrnl.exe`, `HAL.dll`).
    pub dll: &'a [u8],
    /// `OriginalFirstThunk`: the import lookup table (0 when only the address table exists).
    pub original_first_thunk: u32,
    /// `TimeDateStamp`.
    pub time_date_stamp: u32,
    /// `ForwarderChain`.
    pub forwarder_chain: u32,
    /// `FirstThunk`: the import address table the loader fills.
    pub first_thunk: u32,
}

impl<'a> ImportDescriptor<'a> {
    /// The imported symbols, read from the lookup table (or the address table when there is no
    /// lookup table), up to its zero terminator or the first error.
    #[must_use]
    pub const fn entries(&self) -> ImportEntries<'a> {
        let lookup = if self.original_first_thunk == 0 {
            self.first_thunk
        } else {
            self.original_first_thunk
        };
        ImportEntries {
            image: self.image,
            lookup,
            iat: self.first_thunk,
            index: 0,
            done: false,
        }
    }

    /// Whether the DLL name equals `name`, ignoring ASCII case (as the loader compares).
    #[must_use]
    pub const fn dll_is(&self, name: &str) -> bool {
        self.dll.eq_ignore_ascii_case(name.as_bytes())
    }
}

/// How one symbol is imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Import<'a> {
    /// By name, with the linker's hint into the DLL's export name table.
    Name {
        /// The hint.
        hint: u16,
        /// The name.
        name: &'a [u8],
    },
    /// By ordinal.
    Ordinal(u16),
}

/// One imported symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportEntry<'a> {
    /// The RVA of its import address table slot (where the loader writes the address).
    pub iat_rva: u32,
    /// What is imported.
    pub import: Import<'a>,
}

/// The symbols one descriptor imports.
#[derive(Debug, Clone)]
pub struct ImportEntries<'a> {
    image: PeImage<'a>,
    lookup: u32,
    iat: u32,
    index: usize,
    done: bool,
}

impl<'a> ImportEntries<'a> {
    fn entry(&self) -> Result<Option<ImportEntry<'a>>> {
        let wide = self.image.is_pe32_plus();
        let size: usize = if wide { 8 } else { 4 };
        let offset = self.index.checked_mul(size).ok_or(Error::UnmappedRva {
            field: "import lookup table",
            rva: self.lookup,
            len: usize::MAX,
        })?;
        let rva = PeImage::rva_add(self.lookup, offset, "import lookup table")?;
        let iat_rva = PeImage::rva_add(self.iat, offset, "import address table")?;
        let raw = self.image.read(rva, size, "import lookup entry")?;
        let value = if wide {
            <[u8; 8]>::try_from(raw).map(u64::from_le_bytes)
        } else {
            <[u8; 4]>::try_from(raw).map(|b| u64::from(u32::from_le_bytes(b)))
        }
        .map_err(|_| Error::UnmappedRva {
            field: "import lookup entry",
            rva,
            len: size,
        })?;
        if value == 0 {
            return Ok(None);
        }
        let ordinal_flag = if wide { 1u64 << 63 } else { 1u64 << 31 };
        let bad = Error::BadEntry {
            field: "import lookup entry",
            rva,
            value,
        };
        let import = if value & ordinal_flag != 0 {
            // Bits 16.. below the flag must be zero.
            if value & !ordinal_flag > 0xffff {
                return Err(bad);
            }
            Import::Ordinal(u16::try_from(value & 0xffff).map_err(|_| bad)?)
        } else {
            // A 31-bit RVA of the hint/name entry; the bits above must be zero.
            let hint_rva = u32::try_from(value)
                .ok()
                .filter(|v| v >> 31 == 0)
                .ok_or(bad)?;
            let hint_bytes = self.image.read(hint_rva, 2, "import hint")?;
            let hint = u16_in(hint_bytes, 0, hint_rva, "import hint")?;
            let name_rva = PeImage::rva_add(hint_rva, 2, "import name")?;
            let name = self.image.c_string(name_rva, "import name")?;
            Import::Name { hint, name }
        };
        Ok(Some(ImportEntry { iat_rva, import }))
    }
}

impl<'a> Iterator for ImportEntries<'a> {
    type Item = Result<ImportEntry<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.entry() {
            Ok(Some(entry)) => {
                self.index = self.index.saturating_add(1);
                Some(Ok(entry))
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl core::iter::FusedIterator for ImportEntries<'_> {}
