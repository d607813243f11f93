// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The resource directory (`.rsrc`): a tree of `IMAGE_RESOURCE_DIRECTORY` tables (type, then
//! name, then language) whose leaves are `IMAGE_RESOURCE_DATA_ENTRY` records pointing at the
//! data by RVA. Offsets inside the tree are relative to the directory's start and must stay
//! inside it; the walk never follows more than the three levels a lookup needs, so a tree that
//! points back at itself cannot make it loop.

use crate::{Error, PeImage, Result, directory, to_usize, u16_in, u32_in};

/// `IMAGE_RESOURCE_DIRECTORY`.
const DIRECTORY: usize = 16;
/// `IMAGE_RESOURCE_DIRECTORY_ENTRY`.
const ENTRY: usize = 8;
/// `IMAGE_RESOURCE_DATA_ENTRY`.
const DATA_ENTRY: usize = 16;
/// The high bit of an entry's name (a string) or target (a subdirectory).
const HIGH_BIT: u32 = 0x8000_0000;

/// `RT_VERSION`: the type of the version resource.
pub const RT_VERSION: u16 = 16;

/// The resource directory of an image.
#[derive(Debug, Clone, Copy)]
pub struct Resources<'a> {
    image: PeImage<'a>,
    /// The whole directory (tables, strings and data entries).
    tree: &'a [u8],
    rva: u32,
}

/// An entry's name: an ordinal or a counted UTF-16LE string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceName<'a> {
    /// An ordinal.
    Id(u16),
    /// A string (its UTF-16LE bytes, without the count).
    Name(&'a [u8]),
}

/// One leaf: the data of one resource in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceData<'a> {
    /// `OffsetToData`: the data's RVA.
    pub rva: u32,
    /// `CodePage`.
    pub code_page: u32,
    /// The data (`Size` bytes).
    pub bytes: &'a [u8],
}

/// What an entry leads to.
#[derive(Debug, Clone, Copy)]
pub enum ResourceTarget<'a> {
    /// A table one level down.
    Directory(ResourceDirectory<'a>),
    /// A leaf.
    Data(ResourceData<'a>),
}

/// One entry of a table.
#[derive(Debug, Clone, Copy)]
pub struct ResourceEntry<'a> {
    /// Its name.
    pub name: ResourceName<'a>,
    /// Its target.
    pub target: ResourceTarget<'a>,
}

/// One `IMAGE_RESOURCE_DIRECTORY` table.
#[derive(Debug, Clone, Copy)]
pub struct ResourceDirectory<'a> {
    resources: Resources<'a>,
    /// Its offset in the tree.
    offset: usize,
    /// How many entries it has (named and ordinal).
    count: usize,
}

impl<'a> Resources<'a> {
    pub(crate) fn new(image: PeImage<'a>) -> Result<Option<Self>> {
        let Some(dir) = image.data_directory(directory::RESOURCE) else {
            return Ok(None);
        };
        let tree = image.read(dir.rva, to_usize(dir.size), "resource directory")?;
        Ok(Some(Self {
            image,
            tree,
            rva: dir.rva,
        }))
    }

    /// The RVA of `offset` in the tree, for error reports.
    fn rva_of(&self, offset: usize) -> u32 {
        PeImage::rva_add(self.rva, offset, "resource directory").unwrap_or(self.rva)
    }

    fn u32_at(&self, offset: usize, field: &'static str) -> Result<u32> {
        u32_in(self.tree, offset, self.rva_of(offset), field)
    }

    fn u16_at(&self, offset: usize, field: &'static str) -> Result<u16> {
        u16_in(self.tree, offset, self.rva_of(offset), field)
    }

    /// The table at `offset`.
    ///
    /// # Errors
    /// When its header or its entries leave the tree.
    fn directory(&self, offset: usize) -> Result<ResourceDirectory<'a>> {
        let named = self.u16_at(offset.saturating_add(12), "resource NumberOfNamedEntries")?;
        let ids = self.u16_at(offset.saturating_add(14), "resource NumberOfIdEntries")?;
        let count = usize::from(named).saturating_add(usize::from(ids));
        let end = count
            .checked_mul(ENTRY)
            .and_then(|n| n.checked_add(DIRECTORY))
            .and_then(|n| n.checked_add(offset));
        if end.is_none_or(|end| end > self.tree.len()) {
            return Err(Error::BadEntry {
                field: "resource directory entries (past the directory's end)",
                rva: self.rva_of(offset),
                value: count as u64,
            });
        }
        Ok(ResourceDirectory {
            resources: *self,
            offset,
            count,
        })
    }

    /// The root table.
    ///
    /// # Errors
    /// When its header or its entries leave the directory.
    pub fn root(&self) -> Result<ResourceDirectory<'a>> {
        self.directory(0)
    }

    fn data(&self, offset: usize) -> Result<ResourceData<'a>> {
        let rva = self.u32_at(offset, "resource data OffsetToData")?;
        let size = self.u32_at(offset.saturating_add(4), "resource data Size")?;
        let code_page = self.u32_at(offset.saturating_add(8), "resource data CodePage")?;
        if offset.saturating_add(DATA_ENTRY) > self.tree.len() {
            return Err(Error::BadEntry {
                field: "resource data entry (past the directory's end)",
                rva: self.rva_of(offset),
                value: offset as u64,
            });
        }
        let bytes = self.image.read(rva, to_usize(size), "resource data")?;
        Ok(ResourceData {
            rva,
            code_page,
            bytes,
        })
    }

    fn name(&self, offset: usize) -> Result<&'a [u8]> {
        let units = self.u16_at(offset, "resource name Length")?;
        let start = offset.saturating_add(2);
        let len = usize::from(units).saturating_mul(2);
        start
            .checked_add(len)
            .and_then(|end| self.tree.get(start..end))
            .ok_or_else(|| Error::BadEntry {
                field: "resource name (past the directory's end)",
                rva: self.rva_of(offset),
                value: u64::from(units),
            })
    }

    /// The first resource of type `type_id` and name `name_id` (any name when `None`), in its
    /// first language; `None` when there is none.
    ///
    /// # Errors
    /// When a table on the way is malformed, or the entry found is a leaf where a table must
    /// be (or the reverse).
    pub fn find(&self, type_id: u16, name_id: Option<u16>) -> Result<Option<ResourceData<'a>>> {
        let Some(by_type) = self.root()?.find(Some(type_id))? else {
            return Ok(None);
        };
        let Some(by_name) = by_type.subdirectory("resource type entry")?.find(name_id)? else {
            return Ok(None);
        };
        let Some(by_language) = by_name.subdirectory("resource name entry")?.find(None)? else {
            return Ok(None);
        };
        match by_language.target {
            ResourceTarget::Data(data) => Ok(Some(data)),
            ResourceTarget::Directory(d) => Err(Error::BadEntry {
                field: "resource language entry (a directory, not data)",
                rva: self.rva_of(d.offset),
                value: d.offset as u64,
            }),
        }
    }

    /// The version resource's data (`RT_VERSION`, first name, first language), which
    /// [`crate::version::VersionInfo::parse`] reads.
    ///
    /// # Errors
    /// As [`Self::find`].
    pub fn version(&self) -> Result<Option<&'a [u8]>> {
        Ok(self.find(RT_VERSION, None)?.map(|d| d.bytes))
    }
}

impl<'a> ResourceEntry<'a> {
    /// The table this entry leads to.
    ///
    /// # Errors
    /// [`Error::BadEntry`] naming `field` when the entry is a leaf.
    pub const fn subdirectory(&self, field: &'static str) -> Result<ResourceDirectory<'a>> {
        match self.target {
            ResourceTarget::Directory(d) => Ok(d),
            ResourceTarget::Data(data) => Err(Error::BadEntry {
                field,
                rva: data.rva,
                value: 0,
            }),
        }
    }
}

impl<'a> ResourceDirectory<'a> {
    /// How many entries the table has.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.count
    }

    /// Whether the table is empty.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Entry `index`.
    ///
    /// # Errors
    /// When `index` is past the table, or its name or target leaves the directory.
    pub fn entry(&self, index: usize) -> Result<ResourceEntry<'a>> {
        let res = &self.resources;
        let at = index
            .checked_mul(ENTRY)
            .and_then(|n| n.checked_add(DIRECTORY))
            .and_then(|n| n.checked_add(self.offset))
            .filter(|_| index < self.count)
            .ok_or_else(|| Error::BadEntry {
                field: "resource directory entry index",
                rva: res.rva_of(self.offset),
                value: index as u64,
            })?;
        let name = res.u32_at(at, "resource entry Name")?;
        let target = res.u32_at(at.saturating_add(4), "resource entry OffsetToData")?;
        let name = if name & HIGH_BIT == 0 {
            let id = u16::try_from(name).map_err(|_| Error::BadEntry {
                field: "resource entry Id (above 0xFFFF)",
                rva: res.rva_of(at),
                value: u64::from(name),
            })?;
            ResourceName::Id(id)
        } else {
            ResourceName::Name(res.name(to_usize(name & !HIGH_BIT))?)
        };
        let offset = to_usize(target & !HIGH_BIT);
        let target = if target & HIGH_BIT == 0 {
            ResourceTarget::Data(res.data(offset)?)
        } else {
            ResourceTarget::Directory(res.directory(offset)?)
        };
        Ok(ResourceEntry { name, target })
    }

    /// The entries in table order; stops after the first error.
    pub fn entries(&self) -> impl Iterator<Item = Result<ResourceEntry<'a>>> + '_ {
        let mut failed = false;
        (0..self.count).map_while(move |i| {
            if failed {
                return None;
            }
            let e = self.entry(i);
            failed = e.is_err();
            Some(e)
        })
    }

    /// The first entry with ordinal `id` (the first entry at all when `None`).
    ///
    /// # Errors
    /// The first malformed entry met on the way.
    pub fn find(&self, id: Option<u16>) -> Result<Option<ResourceEntry<'a>>> {
        for e in self.entries() {
            let e = e?;
            match (id, e.name) {
                (None, _) => return Ok(Some(e)),
                (Some(want), ResourceName::Id(have)) if want == have => return Ok(Some(e)),
                _ => {}
            }
        }
        Ok(None)
    }
}

impl<'a> PeImage<'a> {
    /// The resource directory ([`directory::RESOURCE`]), or `None` when the image has none.
    ///
    /// # Errors
    /// When the directory is not in file data.
    pub fn resources(&self) -> Result<Option<Resources<'a>>> {
        Resources::new(*self)
    }
}
