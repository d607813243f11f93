// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The export table: the DLL name, the address table and the sorted name table.

use crate::{DataDirectory, Error, PeImage, Result, directory, to_usize, u16_in, u32_in};

/// `IMAGE_EXPORT_DIRECTORY`.
const DIRECTORY: usize = 40;

/// What an export resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportTarget<'a> {
    /// Code or data in the image at this RVA.
    Rva(u32),
    /// A forwarder string (`OTHERDLL.Name` or `OTHERDLL.#ordinal`): the address points into
    /// the export directory.
    Forwarder(&'a [u8]),
}

/// One named export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Export<'a> {
    /// The name.
    pub name: &'a [u8],
    /// Its ordinal (biased by the directory's `Base`).
    pub ordinal: u32,
    /// What it resolves to.
    pub target: ExportTarget<'a>,
}

/// A parsed export directory whose three tables were checked to lie in file data.
#[derive(Debug, Clone, Copy)]
pub struct Exports<'a> {
    image: PeImage<'a>,
    /// The export data directory (forwarders point inside it).
    pub directory: DataDirectory,
    /// The DLL name the directory records (`xen.sys`).
    pub dll: &'a [u8],
    /// The RVA of that name (`Name`).
    pub dll_rva: u32,
    /// `Base`: the ordinal of the first address-table entry.
    pub ordinal_base: u32,
    /// `TimeDateStamp`.
    pub time_date_stamp: u32,
    functions: u32,
    function_count: u32,
    names: u32,
    name_count: u32,
    ordinals: u32,
}

/// `count` entries of `size` bytes.
const fn table_len(count: u32, size: usize) -> Option<usize> {
    (count as usize).checked_mul(size)
}

impl<'a> Exports<'a> {
    pub(crate) fn new(image: PeImage<'a>) -> Result<Option<Self>> {
        let Some(dir) = image.data_directory(directory::EXPORT) else {
            return Ok(None);
        };
        let rva = dir.rva;
        let d = image.read(rva, DIRECTORY, "export directory")?;
        let field = |off, name| u32_in(d, off, rva, name);
        let name_rva = field(12, "export directory Name")?;
        let ordinal_base = field(16, "export directory Base")?;
        let function_count = field(20, "export directory NumberOfFunctions")?;
        let name_count = field(24, "export directory NumberOfNames")?;
        let functions = field(28, "export directory AddressOfFunctions")?;
        let names = field(32, "export directory AddressOfNames")?;
        let ordinals = field(36, "export directory AddressOfNameOrdinals")?;
        let dll = image.c_string(name_rva, "export DLL name")?;
        for (table, count, size, what) in [
            (functions, function_count, 4, "export address table"),
            (names, name_count, 4, "export name pointer table"),
            (ordinals, name_count, 2, "export ordinal table"),
        ] {
            if count == 0 {
                continue;
            }
            let len = table_len(count, size).ok_or(Error::UnmappedRva {
                field: what,
                rva: table,
                len: usize::MAX,
            })?;
            image.read(table, len, what)?;
        }
        Ok(Some(Self {
            image,
            directory: dir,
            dll,
            dll_rva: name_rva,
            ordinal_base,
            time_date_stamp: field(4, "export directory TimeDateStamp")?,
            functions,
            function_count,
            names,
            name_count,
            ordinals,
        }))
    }

    /// `NumberOfFunctions`: the size of the address table.
    #[must_use]
    pub const fn function_count(&self) -> u32 {
        self.function_count
    }

    /// `NumberOfNames`.
    #[must_use]
    pub const fn name_count(&self) -> u32 {
        self.name_count
    }

    /// What address-table entry `index` resolves to, or `None` for an unused (zero) entry.
    ///
    /// # Errors
    /// [`Error::BadEntry`] for an index past the table; a forwarder string that is unmapped or
    /// unterminated.
    pub fn function(&self, index: u32) -> Result<Option<ExportTarget<'a>>> {
        if index >= self.function_count {
            return Err(Error::BadEntry {
                field: "export ordinal (past the address table)",
                rva: self.functions,
                value: u64::from(index),
            });
        }
        let at = to_usize(index).saturating_mul(4);
        let table =
            self.image
                .read(self.functions, at.saturating_add(4), "export address table")?;
        let rva = u32_in(table, at, self.functions, "export address table")?;
        if rva == 0 {
            return Ok(None);
        }
        if self.directory.contains(rva) {
            return self
                .image
                .c_string(rva, "export forwarder")
                .map(|s| Some(ExportTarget::Forwarder(s)));
        }
        Ok(Some(ExportTarget::Rva(rva)))
    }

    /// What ordinal `ordinal` resolves to, or `None` when it is not exported.
    ///
    /// # Errors
    /// As [`Self::function`].
    pub fn by_ordinal(&self, ordinal: u32) -> Result<Option<ExportTarget<'a>>> {
        match ordinal.checked_sub(self.ordinal_base) {
            Some(index) if index < self.function_count => self.function(index),
            _ => Ok(None),
        }
    }

    /// What `name` resolves to, or `None` when it is not exported (a linear walk of the name
    /// table, which does not trust it to be sorted).
    ///
    /// # Errors
    /// The first error of [`Self::names`] met before `name`.
    pub fn by_name(&self, name: &[u8]) -> Result<Option<ExportTarget<'a>>> {
        for export in self.names() {
            let export = export?;
            if export.name == name {
                return Ok(Some(export.target));
            }
        }
        Ok(None)
    }

    /// The named exports, in name-table order.
    #[must_use]
    pub const fn names(&self) -> ExportNames<'a> {
        ExportNames {
            exports: *self,
            index: 0,
            done: false,
        }
    }

    fn named(&self, index: u32) -> Result<Export<'a>> {
        let at = to_usize(index);
        let names = self.image.read(
            self.names,
            at.saturating_add(1).saturating_mul(4),
            "export name pointer table",
        )?;
        let name_rva = u32_in(
            names,
            at.saturating_mul(4),
            self.names,
            "export name pointer",
        )?;
        let name = self.image.c_string(name_rva, "export name")?;
        let ordinals = self.image.read(
            self.ordinals,
            at.saturating_add(1).saturating_mul(2),
            "export ordinal table",
        )?;
        let slot = u16_in(
            ordinals,
            at.saturating_mul(2),
            self.ordinals,
            "export ordinal",
        )?;
        let bad = Error::BadEntry {
            field: "export ordinal (unused address-table entry)",
            rva: self.ordinals,
            value: u64::from(slot),
        };
        let target = self.function(u32::from(slot))?.ok_or(bad)?;
        let ordinal = self
            .ordinal_base
            .checked_add(u32::from(slot))
            .ok_or_else(|| Error::BadEntry {
                field: "export directory Base",
                rva: self.directory.rva,
                value: u64::from(self.ordinal_base),
            })?;
        Ok(Export {
            name,
            ordinal,
            target,
        })
    }
}

/// The named exports; stops after the first error.
#[derive(Debug, Clone)]
pub struct ExportNames<'a> {
    exports: Exports<'a>,
    index: u32,
    done: bool,
}

impl<'a> Iterator for ExportNames<'a> {
    type Item = Result<Export<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.index >= self.exports.name_count {
            return None;
        }
        let item = self.exports.named(self.index);
        self.index = self.index.saturating_add(1);
        self.done = item.is_err();
        Some(item)
    }
}

impl core::iter::FusedIterator for ExportNames<'_> {}
