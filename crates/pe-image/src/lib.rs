// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! A parser of PE images (the format of `xen.sys`, `xenbus.sys` and `xenfilt.sys`) over a byte
//! slice, for two users: `crates/image-check`, the host audit behind `scripts/check-images`, and
//! a stand-in kernel that maps these images in ring 0 and therefore cannot afford a parser that
//! panics, allocates or loops on a hostile file.
//!
//! * `no_std`, no dependencies, no allocation; every read goes through `get()` and checked
//!   arithmetic, and every malformed input ends in a typed [`Error`] naming the field and the
//!   file offset or RVA at fault (the crate denies `unwrap`, `expect`, `panic`, indexing and
//!   unchecked arithmetic outside its tests; it is meant to be fuzzed).
//! * [`PeImage::parse`] checks the DOS header, the NT signature, the COFF file header, the
//!   optional header (PE32+ and, for completeness, PE32) and that the section table lies in the
//!   file; everything else is read lazily: [`PeImage::sections`],
//!   [`PeImage::data_directory`], [`PeImage::rva_to_offset`], [`PeImage::imports`],
//!   [`PeImage::exports`], [`PeImage::base_relocations`], [`PeImage::runtime_functions`],
//!   [`PeImage::resources`] (with [`version::VersionInfo`] for the version resource) and
//!   the checksum ([`PeImage::computed_checksum`], the algorithm of
//!   `imagehlp!CheckSumMappedFile`).
//! * Tables are walked by iterators that yield `Result` items and stop after the first error,
//!   so a corrupt entry is reported once and never turns into an endless walk: each step moves
//!   forward through a table that must lie inside file data, and relocation blocks shorter than
//!   their header are rejected.
//!
//! RVAs are resolved against file data as a loader would map it: the headers (up to
//! `SizeOfHeaders`) and each section's raw data (up to the smaller of its virtual and raw
//! sizes). An RVA inside a section's zero-filled tail has no file data and reads as
//! [`Error::UnmappedRva`].
//!
//! Import tables from rustc's `raw-dylib` (how the drivers import kernel routines) are ordinary
//! tables written by the linker from rustc's short import objects: the DLL name is the
//! `#[link(name)]` string verbatim (so `HAL.dll` and `hal.dll` both occur; compare names
//! case-insensitively) and hints are usually 0. Delay-load imports are not parsed.
//!
//! [`load`] adds what a loader does with a parsed image: every header field the load depends on
//! checked, the image copied into memory laid out as mapped, `DIR64` relocations applied for a
//! new base, imports bound by name through a resolver (the stand-in kernel in
//! `crates/xen-pvh-test` uses it).
//!
//! With the `builder` feature (and in this crate's tests), `pe_image::builder` writes small
//! synthetic images for tests.

#![cfg_attr(not(test), no_std)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

#[cfg(any(test, feature = "builder"))]
extern crate alloc;

#[cfg(any(test, feature = "builder"))]
pub mod builder;
mod checksum;
mod error;
mod exports;
mod imports;
pub mod load;
mod relocs;
mod resource;
mod unwind;
pub mod version;
pub mod virtual_unwind;

#[cfg(test)]
mod resource_tests;
#[cfg(test)]
mod tests;

pub use checksum::pe_checksum;
pub use error::Error;
pub use exports::{Export, ExportNames, ExportTarget, Exports};
pub use imports::{Import, ImportDescriptor, ImportEntries, ImportEntry, Imports};
pub use relocs::{
    BaseRelocations, Relocation, RelocationBlock, RelocationEntries, kind as relocation_kind,
};
pub use resource::{
    RT_VERSION, ResourceData, ResourceDirectory, ResourceEntry, ResourceName, ResourceTarget,
    Resources,
};
pub use unwind::{RuntimeFunction, RuntimeFunctions};

/// A result of this crate.
pub type Result<T> = core::result::Result<T, Error>;

/// `IMAGE_FILE_MACHINE_*`: the COFF header's `Machine`.
pub mod machine {
    /// x86.
    pub const I386: u16 = 0x014c;
    /// x64 (`AMD64`).
    pub const AMD64: u16 = 0x8664;
    /// ARM64.
    pub const ARM64: u16 = 0xaa64;
}

/// `IMAGE_FILE_*`: the COFF header's `Characteristics`.
pub mod file_characteristics {
    /// No base relocations: the image must load at its preferred base.
    pub const RELOCS_STRIPPED: u16 = 0x0001;
    /// A valid image (not an object file).
    pub const EXECUTABLE_IMAGE: u16 = 0x0002;
    /// The image can handle addresses above 2 GiB.
    pub const LARGE_ADDRESS_AWARE: u16 = 0x0020;
    /// A DLL (export driver images carry it, plain drivers need not).
    pub const DLL: u16 = 0x2000;
}

/// The optional header's `Magic`.
pub mod magic {
    /// PE32 (32-bit).
    pub const PE32: u16 = 0x010b;
    /// PE32+ (64-bit).
    pub const PE32_PLUS: u16 = 0x020b;
}

/// `IMAGE_SUBSYSTEM_*`: the optional header's `Subsystem`.
pub mod subsystem {
    /// A kernel-mode driver or native process.
    pub const NATIVE: u16 = 1;
    /// A Windows GUI program.
    pub const WINDOWS_GUI: u16 = 2;
    /// A Windows console program.
    pub const WINDOWS_CUI: u16 = 3;
}

/// `IMAGE_DLLCHARACTERISTICS_*`: the optional header's `DllCharacteristics`.
pub mod dll_characteristics {
    /// 64-bit ASLR.
    pub const HIGH_ENTROPY_VA: u16 = 0x0020;
    /// The image can be relocated (ASLR).
    pub const DYNAMIC_BASE: u16 = 0x0040;
    /// The loader checks the image's signature.
    pub const FORCE_INTEGRITY: u16 = 0x0080;
    /// Data is not executable (DEP).
    pub const NX_COMPAT: u16 = 0x0100;
    /// No structured exception handlers.
    pub const NO_SEH: u16 = 0x0400;
    /// Control Flow Guard.
    pub const GUARD_CF: u16 = 0x4000;
}

/// `IMAGE_SCN_*`: a section's `Characteristics`.
pub mod section_flags {
    /// Code.
    pub const CNT_CODE: u32 = 0x0000_0020;
    /// Initialized data.
    pub const CNT_INITIALIZED_DATA: u32 = 0x0000_0040;
    /// Uninitialized data.
    pub const CNT_UNINITIALIZED_DATA: u32 = 0x0000_0080;
    /// Discarded after load (`INIT`, `.reloc`).
    pub const MEM_DISCARDABLE: u32 = 0x0200_0000;
    /// Not pageable.
    pub const MEM_NOT_PAGED: u32 = 0x0800_0000;
    /// Executable.
    pub const MEM_EXECUTE: u32 = 0x2000_0000;
    /// Readable.
    pub const MEM_READ: u32 = 0x4000_0000;
    /// Writable.
    pub const MEM_WRITE: u32 = 0x8000_0000;
}

/// `IMAGE_DIRECTORY_ENTRY_*`: indices of the data directories.
pub mod directory {
    /// Export directory.
    pub const EXPORT: usize = 0;
    /// Import directory.
    pub const IMPORT: usize = 1;
    /// Resource directory.
    pub const RESOURCE: usize = 2;
    /// Exception directory (`.pdata`).
    pub const EXCEPTION: usize = 3;
    /// Certificate table (a file offset, not an RVA).
    pub const SECURITY: usize = 4;
    /// Base relocation table (`.reloc`).
    pub const BASERELOC: usize = 5;
    /// Debug directory.
    pub const DEBUG: usize = 6;
    /// Load configuration.
    pub const LOAD_CONFIG: usize = 10;
    /// Import address table.
    pub const IAT: usize = 12;
    /// Delay-load import descriptors.
    pub const DELAY_IMPORT: usize = 13;
    /// How many directories a full optional header has.
    pub const COUNT: usize = 16;
}

/// Sizes and offsets of the fixed structures.
pub(crate) mod layout {
    /// `e_lfanew` in the DOS header.
    pub const E_LFANEW: usize = 0x3c;
    /// The DOS header.
    pub const DOS_HEADER: usize = 0x40;
    /// `PE\0\0`.
    pub const NT_SIGNATURE: u32 = 0x0000_4550;
    /// `MZ`.
    pub const DOS_MAGIC: u16 = 0x5a4d;
    /// The COFF file header.
    pub const FILE_HEADER: usize = 20;
    /// The PE32+ optional header up to its data directories.
    pub const OPTIONAL_PE32_PLUS: usize = 112;
    /// The PE32 optional header up to its data directories.
    pub const OPTIONAL_PE32: usize = 96;
    /// `CheckSum` within the optional header (both formats).
    pub const CHECKSUM: usize = 64;
    /// One section header.
    pub const SECTION_HEADER: usize = 40;
    /// One data directory.
    pub const DATA_DIRECTORY: usize = 8;
}

/// The COFF file header (`IMAGE_FILE_HEADER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileHeader {
    /// `Machine` ([`machine`]).
    pub machine: u16,
    /// `NumberOfSections`.
    pub number_of_sections: u16,
    /// `TimeDateStamp`.
    pub time_date_stamp: u32,
    /// `SizeOfOptionalHeader`.
    pub size_of_optional_header: u16,
    /// `Characteristics` ([`file_characteristics`]).
    pub characteristics: u16,
}

/// The fields of the optional header an auditor or loader needs (`IMAGE_OPTIONAL_HEADER64`;
/// PE32 images widen their 32-bit fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalHeader {
    /// `Magic` ([`magic`]).
    pub magic: u16,
    /// `AddressOfEntryPoint` (an RVA; 0 for none).
    pub entry_point: u32,
    /// `ImageBase`.
    pub image_base: u64,
    /// `SectionAlignment`.
    pub section_alignment: u32,
    /// `FileAlignment`.
    pub file_alignment: u32,
    /// `MajorSubsystemVersion`, `MinorSubsystemVersion`.
    pub subsystem_version: (u16, u16),
    /// `SizeOfImage`.
    pub size_of_image: u32,
    /// `SizeOfHeaders`.
    pub size_of_headers: u32,
    /// `CheckSum` as stored.
    pub checksum: u32,
    /// `Subsystem` ([`subsystem`]).
    pub subsystem: u16,
    /// `DllCharacteristics` ([`dll_characteristics`]).
    pub dll_characteristics: u16,
    /// `SizeOfStackReserve`.
    pub size_of_stack_reserve: u64,
    /// `NumberOfRvaAndSizes` as stored (see [`PeImage::data_directory_count`]).
    pub number_of_rva_and_sizes: u32,
}

/// A data directory (`IMAGE_DATA_DIRECTORY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DataDirectory {
    /// `VirtualAddress` (a file offset for [`directory::SECURITY`]).
    pub rva: u32,
    /// `Size`.
    pub size: u32,
}

impl DataDirectory {
    /// Whether the directory is absent (zero address or zero size).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.rva == 0 || self.size == 0
    }

    /// Whether `rva` lies inside the directory.
    #[must_use]
    pub const fn contains(&self, rva: u32) -> bool {
        match rva.checked_sub(self.rva) {
            Some(delta) => delta < self.size,
            None => false,
        }
    }
}

/// A section header (`IMAGE_SECTION_HEADER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    /// `Name`, NUL-padded.
    pub raw_name: [u8; 8],
    /// `VirtualSize`.
    pub virtual_size: u32,
    /// `VirtualAddress`.
    pub virtual_address: u32,
    /// `SizeOfRawData`.
    pub size_of_raw_data: u32,
    /// `PointerToRawData`.
    pub pointer_to_raw_data: u32,
    /// `Characteristics` ([`section_flags`]).
    pub characteristics: u32,
}

impl Section {
    /// The name without its NUL padding (`.text`); a `/nnn` long name is returned as is.
    #[must_use]
    pub fn name(&self) -> &[u8] {
        let end = self
            .raw_name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.raw_name.len());
        self.raw_name.get(..end).unwrap_or(&self.raw_name)
    }

    /// Whether the section is mapped writable.
    #[must_use]
    pub const fn is_writable(&self) -> bool {
        self.characteristics & section_flags::MEM_WRITE != 0
    }

    /// Whether the section is mapped executable.
    #[must_use]
    pub const fn is_executable(&self) -> bool {
        self.characteristics & section_flags::MEM_EXECUTE != 0
    }

    /// The size the section occupies in memory (`VirtualSize`, or `SizeOfRawData` when the
    /// linker left `VirtualSize` zero).
    #[must_use]
    pub const fn memory_size(&self) -> u32 {
        if self.virtual_size == 0 {
            self.size_of_raw_data
        } else {
            self.virtual_size
        }
    }

    /// How many bytes from the section's start have file data.
    #[must_use]
    pub const fn file_backed_size(&self) -> u32 {
        let memory = self.memory_size();
        if memory < self.size_of_raw_data {
            memory
        } else {
            self.size_of_raw_data
        }
    }

    /// Whether `rva` lies inside the section's memory image.
    #[must_use]
    pub const fn contains_rva(&self, rva: u32) -> bool {
        match rva.checked_sub(self.virtual_address) {
            Some(delta) => delta < self.memory_size(),
            None => false,
        }
    }
}

/// A parsed PE image borrowing its file bytes.
#[derive(Debug, Clone, Copy)]
pub struct PeImage<'a> {
    data: &'a [u8],
    nt_offset: usize,
    file_header: FileHeader,
    optional_offset: usize,
    optional: OptionalHeader,
    directories_offset: usize,
    directory_count: usize,
    section_table_offset: usize,
}

/// `x as usize` for the `u32` fields of the format, which fit `usize` on every target this crate
/// builds for (saturating elsewhere, so a bounds check fails instead of wrapping).
pub(crate) fn to_usize(x: u32) -> usize {
    usize::try_from(x).unwrap_or(usize::MAX)
}

/// `len` bytes of `field` at file offset `offset`.
pub(crate) fn bytes<'a>(
    data: &'a [u8],
    offset: usize,
    len: usize,
    field: &'static str,
) -> Result<&'a [u8]> {
    offset
        .checked_add(len)
        .and_then(|end| data.get(offset..end))
        .ok_or(Error::Truncated {
            field,
            offset,
            len,
            file_len: data.len(),
        })
}

/// An `N`-byte array of `field` at `offset` in `data`.
pub(crate) fn array<const N: usize>(
    data: &[u8],
    offset: usize,
    field: &'static str,
) -> Result<[u8; N]> {
    let b = bytes(data, offset, N, field)?;
    <[u8; N]>::try_from(b).map_err(|_| Error::Truncated {
        field,
        offset,
        len: N,
        file_len: data.len(),
    })
}

/// A little-endian `u16` of `field` at `offset`.
pub(crate) fn u16_at(data: &[u8], offset: usize, field: &'static str) -> Result<u16> {
    array(data, offset, field).map(u16::from_le_bytes)
}

/// A little-endian `u32` of `field` at `offset`.
pub(crate) fn u32_at(data: &[u8], offset: usize, field: &'static str) -> Result<u32> {
    array(data, offset, field).map(u32::from_le_bytes)
}

/// A little-endian `u64` of `field` at `offset`.
pub(crate) fn u64_at(data: &[u8], offset: usize, field: &'static str) -> Result<u64> {
    array(data, offset, field).map(u64::from_le_bytes)
}

/// `base + delta`, or [`Error::Truncated`] naming `field` when it overflows.
pub(crate) fn offset_add(
    data: &[u8],
    base: usize,
    delta: usize,
    field: &'static str,
) -> Result<usize> {
    base.checked_add(delta).ok_or(Error::Truncated {
        field,
        offset: base,
        len: delta,
        file_len: data.len(),
    })
}

/// A little-endian `u32` at `offset` in a slice already read from RVA `rva`.
pub(crate) fn u32_in(slice: &[u8], offset: usize, rva: u32, field: &'static str) -> Result<u32> {
    offset
        .checked_add(4)
        .and_then(|end| slice.get(offset..end))
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_le_bytes)
        .ok_or(Error::UnmappedRva { field, rva, len: 4 })
}

/// A little-endian `u16` at `offset` in a slice already read from RVA `rva`.
pub(crate) fn u16_in(slice: &[u8], offset: usize, rva: u32, field: &'static str) -> Result<u16> {
    offset
        .checked_add(2)
        .and_then(|end| slice.get(offset..end))
        .and_then(|b| <[u8; 2]>::try_from(b).ok())
        .map(u16::from_le_bytes)
        .ok_or(Error::UnmappedRva { field, rva, len: 2 })
}

impl<'a> PeImage<'a> {
    /// Parses the headers of the image in `data` and checks that the section table lies in the
    /// file.
    ///
    /// # Errors
    /// A truncated header, a bad `MZ`/`PE` signature, an optional-header magic other than PE32
    /// or PE32+, or an optional header too small for its format.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        if u32::try_from(data.len()).is_err() {
            return Err(Error::BadValue {
                field: "file size (more than 4 GiB)",
                offset: 0,
                value: u64::try_from(data.len()).unwrap_or(u64::MAX),
            });
        }
        let mz = u16_at(data, 0, "DOS header e_magic")?;
        if mz != layout::DOS_MAGIC {
            return Err(Error::BadSignature {
                field: "DOS header e_magic",
                offset: 0,
                found: u32::from(mz),
            });
        }
        bytes(data, 0, layout::DOS_HEADER, "DOS header")?;
        let nt_offset = to_usize(u32_at(data, layout::E_LFANEW, "DOS header e_lfanew")?);
        let signature = u32_at(data, nt_offset, "NT signature")?;
        if signature != layout::NT_SIGNATURE {
            return Err(Error::BadSignature {
                field: "NT signature",
                offset: nt_offset,
                found: signature,
            });
        }
        let fh = offset_add(data, nt_offset, 4, "COFF file header")?;
        bytes(data, fh, layout::FILE_HEADER, "COFF file header")?;
        let field_at = |delta: usize, field| offset_add(data, fh, delta, field);
        let file_header = FileHeader {
            machine: u16_at(data, field_at(0, "Machine")?, "Machine")?,
            number_of_sections: u16_at(data, field_at(2, "NumberOfSections")?, "NumberOfSections")?,
            time_date_stamp: u32_at(data, field_at(4, "TimeDateStamp")?, "TimeDateStamp")?,
            size_of_optional_header: u16_at(
                data,
                field_at(16, "SizeOfOptionalHeader")?,
                "SizeOfOptionalHeader",
            )?,
            characteristics: u16_at(data, field_at(18, "Characteristics")?, "Characteristics")?,
        };
        let optional_offset = offset_add(data, fh, layout::FILE_HEADER, "optional header")?;
        let optional_size = usize::from(file_header.size_of_optional_header);
        let optional_bytes = bytes(data, optional_offset, optional_size, "optional header")?;
        let (optional, fixed) = Self::parse_optional_header(optional_bytes, optional_offset)?;
        let directories_offset = offset_add(
            data,
            optional_offset,
            fixed,
            "optional header DataDirectory",
        )?;
        let room = optional_size.saturating_sub(fixed) / layout::DATA_DIRECTORY;
        let directory_count = to_usize(optional.number_of_rva_and_sizes)
            .min(room)
            .min(directory::COUNT);
        let section_table_offset =
            offset_add(data, optional_offset, optional_size, "section table")?;
        let table_len =
            usize::from(file_header.number_of_sections).saturating_mul(layout::SECTION_HEADER);
        bytes(data, section_table_offset, table_len, "section table")?;
        Ok(Self {
            data,
            nt_offset,
            file_header,
            optional_offset,
            optional,
            directories_offset,
            directory_count,
            section_table_offset,
        })
    }

    /// The optional header's fields and the size of its fixed part, from its bytes `o` at file
    /// offset `at`.
    fn parse_optional_header(o: &[u8], at: usize) -> Result<(OptionalHeader, usize)> {
        let magic = u16_at(o, 0, "optional header Magic").map_err(|e| e.rebase(at))?;
        let (fixed, wide) = match magic {
            magic::PE32_PLUS => (layout::OPTIONAL_PE32_PLUS, true),
            magic::PE32 => (layout::OPTIONAL_PE32, false),
            found => {
                return Err(Error::BadSignature {
                    field: "optional header Magic",
                    offset: at,
                    found: u32::from(found),
                });
            }
        };
        if o.len() < fixed {
            return Err(Error::BadValue {
                field: "SizeOfOptionalHeader",
                offset: at,
                value: u64::try_from(o.len()).unwrap_or(u64::MAX),
            });
        }
        let r = |off, field| u32_at(o, off, field).map_err(|e| e.rebase(at));
        let h = |off, field| u16_at(o, off, field).map_err(|e| e.rebase(at));
        let q = |off, field| u64_at(o, off, field).map_err(|e| e.rebase(at));
        let (image_base, stack, count_at) = if wide {
            (q(24, "ImageBase")?, q(72, "SizeOfStackReserve")?, 108)
        } else {
            (
                u64::from(r(28, "ImageBase")?),
                u64::from(r(72, "SizeOfStackReserve")?),
                92,
            )
        };
        let header = OptionalHeader {
            magic,
            entry_point: r(16, "AddressOfEntryPoint")?,
            image_base,
            section_alignment: r(32, "SectionAlignment")?,
            file_alignment: r(36, "FileAlignment")?,
            subsystem_version: (
                h(48, "MajorSubsystemVersion")?,
                h(50, "MinorSubsystemVersion")?,
            ),
            size_of_image: r(56, "SizeOfImage")?,
            size_of_headers: r(60, "SizeOfHeaders")?,
            checksum: r(layout::CHECKSUM, "CheckSum")?,
            subsystem: h(68, "Subsystem")?,
            dll_characteristics: h(70, "DllCharacteristics")?,
            size_of_stack_reserve: stack,
            number_of_rva_and_sizes: r(count_at, "NumberOfRvaAndSizes")?,
        };
        Ok((header, fixed))
    }

    /// The file bytes.
    #[must_use]
    pub const fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The file offset of the `PE\0\0` signature (`e_lfanew`).
    #[must_use]
    pub const fn nt_headers_offset(&self) -> usize {
        self.nt_offset
    }

    /// The COFF file header.
    #[must_use]
    pub const fn file_header(&self) -> &FileHeader {
        &self.file_header
    }

    /// The optional header.
    #[must_use]
    pub const fn optional_header(&self) -> &OptionalHeader {
        &self.optional
    }

    /// Whether the image is PE32+.
    #[must_use]
    pub const fn is_pe32_plus(&self) -> bool {
        self.optional.magic == magic::PE32_PLUS
    }

    /// The file offset of the optional header's `CheckSum` field.
    #[must_use]
    pub const fn checksum_offset(&self) -> usize {
        // `parse` read the whole fixed optional header, so this cannot overflow.
        self.optional_offset.saturating_add(layout::CHECKSUM)
    }

    /// The checksum `imagehlp!CheckSumMappedFile` computes for this file (see [`pe_checksum`]).
    #[must_use]
    pub fn computed_checksum(&self) -> u32 {
        pe_checksum(self.data, self.checksum_offset())
    }

    /// Whether the stored checksum is non-zero and equals [`Self::computed_checksum`].
    #[must_use]
    pub fn checksum_is_valid(&self) -> bool {
        self.optional.checksum != 0 && self.optional.checksum == self.computed_checksum()
    }

    /// How many data directories the image has: `NumberOfRvaAndSizes`, limited to what
    /// `SizeOfOptionalHeader` leaves room for and to 16.
    #[must_use]
    pub const fn data_directory_count(&self) -> usize {
        self.directory_count
    }

    /// The file offset of data directory entry `index` itself (its `VirtualAddress` field; the
    /// Authenticode digest skips the [`directory::SECURITY`] entry), or `None` when the image
    /// has fewer directories.
    #[must_use]
    pub fn data_directory_entry_offset(&self, index: usize) -> Option<usize> {
        if index >= self.directory_count {
            return None;
        }
        index
            .checked_mul(layout::DATA_DIRECTORY)
            .and_then(|d| self.directories_offset.checked_add(d))
    }

    /// Data directory `index` ([`directory`]), or `None` when the image has fewer directories
    /// or the entry is empty.
    #[must_use]
    pub fn data_directory(&self, index: usize) -> Option<DataDirectory> {
        if index >= self.directory_count {
            return None;
        }
        let at = index
            .checked_mul(layout::DATA_DIRECTORY)
            .and_then(|d| self.directories_offset.checked_add(d))?;
        let rva = u32_at(self.data, at, "DataDirectory VirtualAddress").ok()?;
        let size = u32_at(self.data, at.checked_add(4)?, "DataDirectory Size").ok()?;
        let d = DataDirectory { rva, size };
        (!d.is_empty()).then_some(d)
    }

    /// The file offset of the section table.
    #[must_use]
    pub const fn section_table_offset(&self) -> usize {
        self.section_table_offset
    }

    /// The number of sections.
    #[must_use]
    pub const fn section_count(&self) -> usize {
        self.file_header.number_of_sections as usize
    }

    /// Section `index`, or `None` past the last one.
    #[must_use]
    pub fn section(&self, index: usize) -> Option<Section> {
        if index >= self.section_count() {
            return None;
        }
        let at = index
            .checked_mul(layout::SECTION_HEADER)
            .and_then(|d| self.section_table_offset.checked_add(d))?;
        let h = bytes(self.data, at, layout::SECTION_HEADER, "section header").ok()?;
        let r = |off| u32_in(h, off, 0, "section header").ok();
        Some(Section {
            raw_name: array(h, 0, "section Name").ok()?,
            virtual_size: r(8)?,
            virtual_address: r(12)?,
            size_of_raw_data: r(16)?,
            pointer_to_raw_data: r(20)?,
            characteristics: r(36)?,
        })
    }

    /// The sections in table order.
    pub fn sections(&self) -> impl Iterator<Item = Section> + '_ {
        (0..self.section_count()).filter_map(|i| self.section(i))
    }

    /// The first section called `name` (e.g. `b".reloc"`).
    #[must_use]
    pub fn section_by_name(&self, name: &[u8]) -> Option<Section> {
        self.sections().find(|s| s.name() == name)
    }

    /// The section whose memory image contains `rva`.
    #[must_use]
    pub fn section_containing(&self, rva: u32) -> Option<Section> {
        self.sections().find(|s| s.contains_rva(rva))
    }

    /// The file offset of `rva` and how many file bytes follow it in the same mapping (the
    /// headers, or one section's file-backed part, clipped to the file).
    fn map(&self, rva: u32) -> Option<(usize, usize)> {
        let file_len = self.data.len();
        let headers = to_usize(self.optional.size_of_headers).min(file_len);
        let at = to_usize(rva);
        if at < headers {
            return Some((at, headers.checked_sub(at)?));
        }
        for s in self.sections() {
            let Some(delta) = rva.checked_sub(s.virtual_address) else {
                continue;
            };
            if delta >= s.file_backed_size() {
                continue;
            }
            let start = to_usize(s.pointer_to_raw_data);
            let end = start
                .checked_add(to_usize(s.file_backed_size()))?
                .min(file_len);
            let offset = start.checked_add(to_usize(delta))?;
            return (offset < end).then(|| (offset, end.saturating_sub(offset)));
        }
        None
    }

    /// The file offset of `rva`.
    ///
    /// # Errors
    /// [`Error::UnmappedRva`] when `rva` has no file data (outside the headers and every
    /// section's file-backed part, or past the end of the file).
    pub fn rva_to_offset(&self, rva: u32) -> Result<usize> {
        self.map(rva)
            .map(|(offset, _)| offset)
            .ok_or(Error::UnmappedRva {
                field: "RVA",
                rva,
                len: 1,
            })
    }

    /// The `len` bytes of `field` at `rva`, which must lie in one mapping.
    ///
    /// # Errors
    /// [`Error::UnmappedRva`] naming `field`.
    pub fn read(&self, rva: u32, len: usize, field: &'static str) -> Result<&'a [u8]> {
        let err = Error::UnmappedRva { field, rva, len };
        let (offset, avail) = self.map(rva).ok_or(err)?;
        if len > avail {
            return Err(err);
        }
        offset
            .checked_add(len)
            .and_then(|end| self.data.get(offset..end))
            .ok_or(err)
    }

    /// The bytes from `rva` to the end of its mapping.
    ///
    /// # Errors
    /// [`Error::UnmappedRva`] naming `field`.
    pub fn read_to_end(&self, rva: u32, field: &'static str) -> Result<&'a [u8]> {
        let err = Error::UnmappedRva { field, rva, len: 1 };
        let (offset, avail) = self.map(rva).ok_or(err)?;
        offset
            .checked_add(avail)
            .and_then(|end| self.data.get(offset..end))
            .filter(|b| !b.is_empty())
            .ok_or(err)
    }

    /// The NUL-terminated string `field` at `rva`, without its NUL.
    ///
    /// # Errors
    /// [`Error::UnmappedRva`], or [`Error::UnterminatedString`] when no NUL follows before the
    /// end of the mapping.
    pub fn c_string(&self, rva: u32, field: &'static str) -> Result<&'a [u8]> {
        let tail = self.read_to_end(rva, field)?;
        let end = tail
            .iter()
            .position(|&b| b == 0)
            .ok_or(Error::UnterminatedString { field, rva })?;
        tail.get(..end)
            .ok_or(Error::UnterminatedString { field, rva })
    }

    /// A little-endian `u32` of `field` at `rva`.
    ///
    /// # Errors
    /// [`Error::UnmappedRva`] naming `field`.
    pub fn u32_at_rva(&self, rva: u32, field: &'static str) -> Result<u32> {
        let b = self.read(rva, 4, field)?;
        u32_in(b, 0, rva, field)
    }

    /// `rva + delta` for a table entry of `field`, or [`Error::UnmappedRva`] on overflow.
    pub(crate) const fn rva_add(rva: u32, delta: usize, field: &'static str) -> Result<u32> {
        let err = Error::UnmappedRva {
            field,
            rva,
            len: delta,
        };
        if delta > u32::MAX as usize {
            return Err(err);
        }
        #[allow(
            clippy::cast_possible_truncation,
            reason = "delta was checked to fit u32 just above"
        )]
        match rva.checked_add(delta as u32) {
            Some(sum) => Ok(sum),
            None => Err(err),
        }
    }

    /// The import table ([`directory::IMPORT`]); empty when the image has none.
    #[must_use]
    pub fn imports(&self) -> Imports<'a> {
        Imports::new(*self)
    }

    /// The export table ([`directory::EXPORT`]), or `None` when the image has none.
    ///
    /// # Errors
    /// When the export directory, its DLL name or one of its tables is not in file data.
    pub fn exports(&self) -> Result<Option<Exports<'a>>> {
        Exports::new(*self)
    }

    /// The base relocation blocks ([`directory::BASERELOC`]); empty when the image has none.
    ///
    /// # Errors
    /// When the directory is not in file data.
    pub fn base_relocations(&self) -> Result<BaseRelocations<'a>> {
        BaseRelocations::new(*self)
    }

    /// The exception directory ([`directory::EXCEPTION`], the `.pdata` table), if present.
    #[must_use]
    pub fn exception_directory(&self) -> Option<DataDirectory> {
        self.data_directory(directory::EXCEPTION)
    }

    /// The `RUNTIME_FUNCTION` entries of the exception directory; empty when there is none.
    ///
    /// # Errors
    /// When the directory is not in file data.
    pub fn runtime_functions(&self) -> Result<RuntimeFunctions<'a>> {
        RuntimeFunctions::new(*self)
    }
}
