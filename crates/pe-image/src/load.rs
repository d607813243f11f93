// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Loading an image: what a kernel loader checks and does between reading a driver file and
//! calling its entry point, over caller-owned memory.
//!
//! The stand-in kernel (`crates/xen-pvh-test`, `xtk.mode=nt`) treats the image as untrusted, so
//! every header field the load depends on is checked here first ([`check_loadable`]), and each
//! step only writes inside the destination slice the caller hands in, with checked arithmetic:
//!
//! 1. [`check_loadable`]: PE32+, AMD64, an executable image that keeps its relocations, the
//!    native subsystem, a valid checksum, power-of-two alignments, a `SizeOfImage` and
//!    `SizeOfHeaders` that agree with the file and the section table, sections in ascending,
//!    non-overlapping, aligned order inside the image with their raw data inside the file, no
//!    section both writable and executable, an entry point in an executable section, and the
//!    import, export and relocation directories inside the image. The result ([`LoadInfo`])
//!    carries the numbers the caller needs (how much memory, which pages get which rights).
//! 2. [`copy_to`]: the headers and each section's file data into the destination (the
//!    `SizeOfImage` bytes the image will occupy), everything else zeroed.
//! 3. [`relocate`]: every `IMAGE_REL_BASED_DIR64` fix-up moved by the difference between the
//!    new base and `ImageBase`; any other kind except padding is refused, as is a fix-up that
//!    is not wholly inside one section.
//! 4. [`bind_imports`]: every import address table slot written with what the caller's
//!    resolver returns for (DLL, name); an import by ordinal, or one the resolver does not know,
//!    ends the bind with an error naming it ([`BindError`]).
//!
//! Mapping the result with the section rights, calling the entry points and resolving an export
//! driver's exports ([`crate::Exports::by_name`]) are the caller's part. Nothing here allocates.

use crate::{
    Error, PeImage, Result, Section, directory, file_characteristics, machine, magic,
    relocation_kind, section_flags, subsystem, to_usize,
};

/// The page size a section alignment must be a multiple of.
pub const PAGE_SIZE: u32 = 0x1000;

/// The largest image this loader accepts (`SizeOfImage`), 64 MiB: far more than a driver needs,
/// small enough that a hostile header cannot ask for the whole address space.
pub const MAX_IMAGE_SIZE: u32 = 64 << 20;

/// The most sections a PE image may have (the Windows loader's limit).
pub const MAX_SECTIONS: usize = 96;

/// What a checked image needs from its loader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadInfo {
    /// `SizeOfImage`: how many bytes to reserve (a multiple of `section_alignment`).
    pub size_of_image: u32,
    /// `SizeOfHeaders`.
    pub size_of_headers: u32,
    /// `SectionAlignment` (a power of two, at least [`PAGE_SIZE`]).
    pub section_alignment: u32,
    /// `ImageBase`: the base the image was linked for.
    pub image_base: u64,
    /// `AddressOfEntryPoint` (0: none).
    pub entry_point: u32,
    /// How many fix-ups [`relocate`] will apply.
    pub dir64_relocations: usize,
}

/// Why an import could not be bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindError<'a> {
    /// The image's import table is malformed.
    Image(Error),
    /// `dll` is imported by ordinal (`ordinal`): kernel images import by name.
    ByOrdinal {
        /// The DLL.
        dll: &'a [u8],
        /// The ordinal.
        ordinal: u16,
    },
    /// The resolver knows no `name` in `dll` (neither the kernel's routine table nor a loaded
    /// driver's exports have it).
    Unresolved {
        /// The DLL.
        dll: &'a [u8],
        /// The routine or variable.
        name: &'a [u8],
    },
}

impl From<Error> for BindError<'_> {
    fn from(e: Error) -> Self {
        Self::Image(e)
    }
}

impl core::fmt::Display for BindError<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Self::Image(e) => write!(f, "{e}"),
            Self::ByOrdinal { dll, ordinal } => write!(
                f,
                "imports ordinal {ordinal} of {}: only imports by name are supported",
                text(dll)
            ),
            Self::Unresolved { dll, name } => write!(
                f,
                "imports {}!{}, which neither the kernel nor a loaded driver provides",
                text(dll),
                text(name)
            ),
        }
    }
}

/// A name from the image as text (names are ASCII in a well-formed image).
fn text(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).unwrap_or("(not UTF-8)")
}

/// A refusal: `what` (the field and the rule) with the value found.
const fn refused(what: &'static str, value: u64) -> Error {
    Error::Refused { what, value }
}

/// `value` rounded up to `align` (a power of two), or `None` on overflow.
const fn align_up(value: u32, align: u32) -> Option<u32> {
    match value.checked_add(align.wrapping_sub(1)) {
        Some(v) => Some(v & !align.wrapping_sub(1)),
        None => None,
    }
}

/// Whether `address` is a canonical x86-64 address (bits 63..47 all equal).
const fn is_canonical(address: u64) -> bool {
    let top = address >> 47;
    top == 0 || top == 0x1_ffff
}

/// Checks every header field the load depends on (see the module docs).
///
/// # Errors
/// [`Error::Refused`] naming the field and the rule it breaks, or the parser's error for a
/// table it cannot read.
pub fn check_loadable(image: &PeImage<'_>) -> Result<LoadInfo> {
    check_format(image)?;
    let oh = image.optional_header();
    let sa = oh.section_alignment;
    if !sa.is_power_of_two() || sa < PAGE_SIZE {
        return Err(refused(
            "SectionAlignment (not a power of two of at least a page)",
            u64::from(sa),
        ));
    }
    let fa = oh.file_alignment;
    let power_of_two = fa.is_power_of_two();
    let in_range = (512..=0x1_0000).contains(&fa);
    if !(power_of_two && in_range && fa <= sa) {
        return Err(refused(
            "FileAlignment (not a power of two in 512..=64K, at most SectionAlignment)",
            u64::from(fa),
        ));
    }
    let size = oh.size_of_image;
    if size == 0 || size > MAX_IMAGE_SIZE || !size.is_multiple_of(sa) {
        return Err(refused(
            "SizeOfImage (zero, over 64 MiB or not a multiple of SectionAlignment)",
            u64::from(size),
        ));
    }
    if !oh.image_base.is_multiple_of(0x1_0000)
        || !is_canonical(oh.image_base)
        || oh
            .image_base
            .checked_add(u64::from(size))
            .is_none_or(|end| !is_canonical(end.saturating_sub(1)))
    {
        return Err(refused(
            "ImageBase (not 64K-aligned, or the image is not canonical there)",
            oh.image_base,
        ));
    }
    let headers = oh.size_of_headers;
    let table_end = image
        .section_count()
        .checked_mul(crate::layout::SECTION_HEADER)
        .and_then(|len| image.section_table_offset().checked_add(len))
        .ok_or_else(|| refused("section table (end overflows)", 0))?;
    if headers == 0
        || headers > size
        || to_usize(headers) > image.data().len()
        || to_usize(headers) < table_end
        || !headers.is_multiple_of(fa)
    {
        return Err(refused(
            "SizeOfHeaders (zero, past the image or the file, before the section table's end, \
             or not a multiple of FileAlignment)",
            u64::from(headers),
        ));
    }
    check_sections(image, sa, fa, headers, size)?;
    let entry = oh.entry_point;
    if entry != 0
        && !image
            .sections()
            .any(|s| s.is_executable() && s.contains_rva(entry))
    {
        return Err(refused(
            "AddressOfEntryPoint (not in an executable section)",
            u64::from(entry),
        ));
    }
    for (index, what) in [
        (directory::IMPORT, "import directory (outside SizeOfImage)"),
        (directory::EXPORT, "export directory (outside SizeOfImage)"),
        (
            directory::BASERELOC,
            "base relocation directory (outside SizeOfImage)",
        ),
        (
            directory::IAT,
            "import address table directory (outside SizeOfImage)",
        ),
    ] {
        if let Some(d) = image.data_directory(index)
            && d.rva.checked_add(d.size).is_none_or(|end| end > size)
        {
            return Err(refused(what, u64::from(d.rva)));
        }
    }
    let dir64_relocations = count_relocations(image)?;
    Ok(LoadInfo {
        size_of_image: size,
        size_of_headers: headers,
        section_alignment: sa,
        image_base: oh.image_base,
        entry_point: entry,
        dir64_relocations,
    })
}

/// The format rules of [`check_loadable`]: a PE32+ AMD64 native executable image that keeps
/// its relocations, with a valid checksum.
fn check_format(image: &PeImage<'_>) -> Result<()> {
    let fh = image.file_header();
    let oh = image.optional_header();
    if oh.magic != magic::PE32_PLUS {
        return Err(refused(
            "optional header Magic (not PE32+)",
            u64::from(oh.magic),
        ));
    }
    if fh.machine != machine::AMD64 {
        return Err(refused("Machine (not AMD64)", u64::from(fh.machine)));
    }
    if fh.characteristics & file_characteristics::EXECUTABLE_IMAGE == 0 {
        return Err(refused(
            "Characteristics (not an executable image)",
            u64::from(fh.characteristics),
        ));
    }
    if fh.characteristics & file_characteristics::RELOCS_STRIPPED != 0 {
        return Err(refused(
            "Characteristics (relocations stripped: the image cannot move)",
            u64::from(fh.characteristics),
        ));
    }
    if oh.subsystem != subsystem::NATIVE {
        return Err(refused(
            "Subsystem (not NATIVE: not a kernel image)",
            u64::from(oh.subsystem),
        ));
    }
    if !image.checksum_is_valid() {
        return Err(refused(
            "CheckSum (zero or not the file's checksum)",
            u64::from(oh.checksum),
        ));
    }
    Ok(())
}

/// The section rules of [`check_loadable`].
fn check_sections(image: &PeImage<'_>, sa: u32, fa: u32, headers: u32, size: u32) -> Result<()> {
    let count = image.section_count();
    if count == 0 || count > MAX_SECTIONS {
        return Err(refused(
            "NumberOfSections (none, or more than 96)",
            u64::try_from(count).unwrap_or(u64::MAX),
        ));
    }
    let mut next_free =
        align_up(headers, sa).ok_or_else(|| refused("SizeOfHeaders (overflows)", 0))?;
    for index in 0..count {
        let s = image
            .section(index)
            .ok_or_else(|| refused("section header (unreadable)", 0))?;
        let va = s.virtual_address;
        if !va.is_multiple_of(sa) || va < next_free {
            return Err(refused(
                "section VirtualAddress (unaligned, overlapping the headers or the previous \
                 section, or out of order)",
                u64::from(va),
            ));
        }
        let end = align_up(s.memory_size(), sa)
            .and_then(|len| va.checked_add(len))
            .filter(|&end| end <= size)
            .ok_or_else(|| {
                refused(
                    "section VirtualSize (the section runs past SizeOfImage)",
                    u64::from(s.memory_size()),
                )
            })?;
        next_free = end;
        check_raw_data(image, &s, fa)?;
        let rwx = section_flags::MEM_WRITE | section_flags::MEM_EXECUTE;
        if s.characteristics & rwx == rwx {
            return Err(refused(
                "section Characteristics (both writable and executable)",
                u64::from(s.characteristics),
            ));
        }
    }
    Ok(())
}

/// A section's raw data must be aligned and inside the file.
fn check_raw_data(image: &PeImage<'_>, s: &Section, fa: u32) -> Result<()> {
    if s.size_of_raw_data == 0 {
        return Ok(());
    }
    let start = s.pointer_to_raw_data;
    let inside = start
        .checked_add(s.file_backed_size())
        .is_some_and(|end| to_usize(end) <= image.data().len());
    if !start.is_multiple_of(fa) || !inside {
        return Err(refused(
            "section PointerToRawData (unaligned, or the raw data runs past the file)",
            u64::from(start),
        ));
    }
    Ok(())
}

/// Counts the `DIR64` fix-ups, refusing any other kind but padding and any fix-up not wholly
/// inside one section.
fn count_relocations(image: &PeImage<'_>) -> Result<usize> {
    let mut count = 0usize;
    for block in image.base_relocations()? {
        for r in block?.entries() {
            match r.kind {
                relocation_kind::ABSOLUTE => {}
                relocation_kind::DIR64 => {
                    let last = r.rva.checked_add(7).ok_or_else(|| {
                        refused("base relocation (offset overflows)", u64::from(r.rva))
                    })?;
                    let in_one = image
                        .sections()
                        .any(|s| s.contains_rva(r.rva) && s.contains_rva(last));
                    if !in_one {
                        return Err(refused(
                            "base relocation (the 8 bytes it fixes are not inside one section)",
                            u64::from(r.rva),
                        ));
                    }
                    count = count.saturating_add(1);
                }
                other => {
                    return Err(refused(
                        "base relocation type (only DIR64 and padding in an x64 image)",
                        u64::from(other),
                    ));
                }
            }
        }
    }
    Ok(count)
}

/// The `len` bytes at `rva` of `dest`, or a refusal naming `what`.
fn window<'d>(
    dest: &'d mut [u8],
    rva: u32,
    len: usize,
    what: &'static str,
) -> Result<&'d mut [u8]> {
    let start = to_usize(rva);
    start
        .checked_add(len)
        .and_then(|end| dest.get_mut(start..end))
        .ok_or_else(|| refused(what, u64::from(rva)))
}

/// Writes the image as it is laid out in memory into `dest`: the headers, each section's file
/// data at its `VirtualAddress`, zeros everywhere else.
///
/// # Errors
/// [`Error::Refused`] when `dest` is not exactly `SizeOfImage` bytes or a section's data does not
/// fit (run [`check_loadable`] first: then only the size can be wrong).
pub fn copy_to(image: &PeImage<'_>, dest: &mut [u8]) -> Result<()> {
    let oh = image.optional_header();
    if dest.len() != to_usize(oh.size_of_image) {
        return Err(refused(
            "destination (not SizeOfImage bytes)",
            u64::try_from(dest.len()).unwrap_or(u64::MAX),
        ));
    }
    dest.fill(0);
    let headers = to_usize(oh.size_of_headers);
    let source = image.data().get(..headers).ok_or_else(|| {
        refused(
            "SizeOfHeaders (past the file)",
            u64::from(oh.size_of_headers),
        )
    })?;
    window(dest, 0, headers, "SizeOfHeaders (past the image)")?.copy_from_slice(source);
    for s in image.sections() {
        let len = to_usize(s.file_backed_size());
        if len == 0 {
            continue;
        }
        let start = to_usize(s.pointer_to_raw_data);
        let source = start
            .checked_add(len)
            .and_then(|end| image.data().get(start..end))
            .ok_or_else(|| {
                refused(
                    "section raw data (past the file)",
                    u64::from(s.pointer_to_raw_data),
                )
            })?;
        window(dest, s.virtual_address, len, "section (past the image)")?.copy_from_slice(source);
    }
    Ok(())
}

/// Applies every `DIR64` fix-up for an image placed at `new_base`, in `dest` (as [`copy_to`]
/// left it). Returns how many were applied.
///
/// # Errors
/// As [`check_loadable`]'s relocation rules, or a fix-up outside `dest`.
pub fn relocate(image: &PeImage<'_>, dest: &mut [u8], new_base: u64) -> Result<usize> {
    let delta = new_base.wrapping_sub(image.optional_header().image_base);
    let mut applied = 0usize;
    for block in image.base_relocations()? {
        for r in block?.entries() {
            match r.kind {
                relocation_kind::ABSOLUTE => {}
                relocation_kind::DIR64 => {
                    let field = window(dest, r.rva, 8, "base relocation (outside the image)")?;
                    let mut bytes = [0u8; 8];
                    bytes.copy_from_slice(field);
                    let value = u64::from_le_bytes(bytes).wrapping_add(delta);
                    field.copy_from_slice(&value.to_le_bytes());
                    applied = applied.saturating_add(1);
                }
                other => {
                    return Err(refused(
                        "base relocation type (only DIR64 and padding in an x64 image)",
                        u64::from(other),
                    ));
                }
            }
        }
    }
    Ok(applied)
}

/// Fills every import address table slot in `dest` with `resolve(dll, name)`. Returns how many
/// slots were bound.
///
/// # Errors
/// The first import that is by ordinal or that `resolve` does not know, or a malformed table.
pub fn bind_imports<'a>(
    image: &PeImage<'a>,
    dest: &mut [u8],
    mut resolve: impl FnMut(&'a [u8], &'a [u8]) -> Option<u64>,
) -> core::result::Result<usize, BindError<'a>> {
    let mut bound = 0usize;
    for descriptor in image.imports() {
        let descriptor = descriptor?;
        for entry in descriptor.entries() {
            let entry = entry?;
            let name = match entry.import {
                crate::Import::Name { name, .. } => name,
                crate::Import::Ordinal(ordinal) => {
                    return Err(BindError::ByOrdinal {
                        dll: descriptor.dll,
                        ordinal,
                    });
                }
            };
            let address = resolve(descriptor.dll, name).ok_or(BindError::Unresolved {
                dll: descriptor.dll,
                name,
            })?;
            window(
                dest,
                entry.iat_rva,
                8,
                "import address table slot (outside the image)",
            )?
            .copy_from_slice(&address.to_le_bytes());
            bound = bound.saturating_add(1);
        }
    }
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::{ChecksumSpec, ImageBuilder, ImportDll, ImportSpec};
    use alloc::vec::Vec;

    fn driver() -> ImageBuilder {
        ImageBuilder::driver()
            .import("ntoskrnl.exe", &["ExAllocatePoolWithTag", "KeBugCheckEx"])
            .import("HAL.dll", &["KeStallExecutionProcessor"])
            .export("xen.sys", &["XenTouch", "DllInitialize", "DllUnload"])
    }

    /// The fix-up the builder places: the 8 bytes at the start of `.data` (RVA 0x2000) hold
    /// `ImageBase + 0x1000` once patched in by the test.
    fn with_pointer(bytes: &mut [u8]) {
        let image = PeImage::parse(bytes).unwrap();
        let at = image.rva_to_offset(0x2000).unwrap();
        let value = image.optional_header().image_base + 0x1000;
        // The checksum is recomputed after the patch.
        patch_and_resum(bytes, at, &value.to_le_bytes());
    }

    fn refusal(bytes: &[u8]) -> &'static str {
        let image = PeImage::parse(bytes).unwrap();
        match check_loadable(&image) {
            Err(Error::Refused { what, .. }) => what,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn patch_and_resum(bytes: &mut [u8], at: usize, value: &[u8]) {
        bytes[at..at + value.len()].copy_from_slice(value);
        let image = PeImage::parse(bytes).unwrap();
        let sum_at = image.checksum_offset();
        let sum = crate::pe_checksum(bytes, sum_at);
        bytes[sum_at..sum_at + 4].copy_from_slice(&sum.to_le_bytes());
    }

    /// File offset of the optional header.
    fn oh(bytes: &[u8]) -> usize {
        PeImage::parse(bytes).unwrap().checksum_offset() - crate::layout::CHECKSUM
    }

    #[test]
    fn a_well_formed_driver_loads_relocates_and_binds() {
        let mut bytes = driver().build();
        with_pointer(&mut bytes);
        let image = PeImage::parse(&bytes).unwrap();
        let info = check_loadable(&image).unwrap();
        assert_eq!(info.size_of_image, 0x6000);
        assert_eq!(info.section_alignment, 0x1000);
        assert_eq!(info.image_base, 0x1_4000_0000);
        assert_eq!(info.entry_point, 0x1000);
        assert_eq!(info.dir64_relocations, 1);

        let mut memory = alloc::vec![0xaau8; info.size_of_image as usize];
        copy_to(&image, &mut memory).unwrap();
        assert_eq!(&memory[..2], b"MZ");
        assert_eq!(memory[0x1000], 0xc3, "the code lands at its RVA");
        assert!(
            memory[0x1100..0x2000].iter().all(|&b| b == 0),
            "tail zeroed"
        );

        let base = 0xffff_f806_1000_0000u64;
        assert_eq!(relocate(&image, &mut memory, base).unwrap(), 1);
        let fixed = u64::from_le_bytes(memory[0x2000..0x2008].try_into().unwrap());
        assert_eq!(fixed, base + 0x1000);

        let mut seen = Vec::new();
        let bound = bind_imports(&image, &mut memory, |dll, name| {
            seen.push((dll.to_vec(), name.to_vec()));
            Some(0x1234_0000 + seen.len() as u64)
        })
        .unwrap();
        assert_eq!(bound, 3);
        assert_eq!(
            seen[2],
            (b"HAL.dll".to_vec(), b"KeStallExecutionProcessor".to_vec())
        );
        let descriptor = image.imports().next().unwrap().unwrap();
        let slot = descriptor.entries().next().unwrap().unwrap().iat_rva as usize;
        let value = u64::from_le_bytes(memory[slot..slot + 8].try_into().unwrap());
        assert_eq!(value, 0x1234_0001);
    }

    #[test]
    fn an_unknown_import_is_refused_by_name() {
        let bytes = driver().build();
        let image = PeImage::parse(&bytes).unwrap();
        let mut memory = alloc::vec![0u8; 0x6000];
        copy_to(&image, &mut memory).unwrap();
        let err = bind_imports(&image, &mut memory, |_, name| {
            (name != b"KeBugCheckEx").then_some(1)
        })
        .unwrap_err();
        assert_eq!(
            err,
            BindError::Unresolved {
                dll: b"ntoskrnl.exe",
                name: b"KeBugCheckEx"
            }
        );
        assert_eq!(
            alloc::format!("{err}"),
            "imports ntoskrnl.exe!KeBugCheckEx, which neither the kernel nor a loaded driver provides"
        );
    }

    #[test]
    fn an_import_by_ordinal_is_refused() {
        let mut b = driver();
        b.imports.push(ImportDll {
            dll: "xen.sys".into(),
            symbols: alloc::vec![ImportSpec::Ordinal(7)],
        });
        let bytes = b.build();
        let image = PeImage::parse(&bytes).unwrap();
        let mut memory = alloc::vec![0u8; check_loadable(&image).unwrap().size_of_image as usize];
        let err = bind_imports(&image, &mut memory, |_, _| Some(1)).unwrap_err();
        assert_eq!(
            err,
            BindError::ByOrdinal {
                dll: b"xen.sys",
                ordinal: 7
            }
        );
    }

    #[test]
    fn header_rules_are_enforced() {
        let mut b = driver();
        b.magic = magic::PE32;
        assert!(refusal(&b.build()).starts_with("optional header Magic"));

        let mut b = driver();
        b.machine = machine::ARM64;
        assert!(refusal(&b.build()).starts_with("Machine"));

        let mut b = driver();
        b.subsystem = subsystem::WINDOWS_GUI;
        assert!(refusal(&b.build()).starts_with("Subsystem"));

        let mut b = driver();
        b.characteristics |= file_characteristics::RELOCS_STRIPPED;
        assert!(refusal(&b.build()).contains("relocations stripped"));

        let mut b = driver();
        b.characteristics &= !file_characteristics::EXECUTABLE_IMAGE;
        assert!(refusal(&b.build()).contains("not an executable image"));

        let mut b = driver();
        b.checksum = ChecksumSpec::Value(0x1234);
        assert!(refusal(&b.build()).starts_with("CheckSum"));

        let mut b = driver();
        b.image_base = 0x1_4000_1000;
        assert!(refusal(&b.build()).starts_with("ImageBase"));

        let mut b = driver();
        b.entry_point = Some(0x2000);
        assert!(refusal(&b.build()).starts_with("AddressOfEntryPoint"));

        let mut b = driver();
        b.sections[1].characteristics |= section_flags::MEM_EXECUTE;
        assert!(refusal(&b.build()).contains("both writable and executable"));
    }

    #[test]
    fn layout_rules_are_enforced() {
        let good = driver().build();
        let at = oh(&good);

        let mut bytes = good.clone();
        patch_and_resum(&mut bytes, at + 32, &0x800u32.to_le_bytes());
        assert!(refusal(&bytes).starts_with("SectionAlignment"));

        let mut bytes = good.clone();
        patch_and_resum(&mut bytes, at + 36, &0x300u32.to_le_bytes());
        assert!(refusal(&bytes).starts_with("FileAlignment"));

        let mut bytes = good.clone();
        patch_and_resum(&mut bytes, at + 56, &0x6800u32.to_le_bytes());
        assert!(refusal(&bytes).starts_with("SizeOfImage"));

        // The image ends before its last section does.
        let mut bytes = good.clone();
        patch_and_resum(&mut bytes, at + 56, &0x5000u32.to_le_bytes());
        assert!(refusal(&bytes).starts_with("section VirtualSize"));

        let mut bytes = good.clone();
        patch_and_resum(&mut bytes, at + 60, &0x100u32.to_le_bytes());
        assert!(refusal(&bytes).starts_with("SizeOfHeaders"));

        // Second section moved onto the first.
        let table = PeImage::parse(&good).unwrap().section_table_offset();
        let mut bytes = good.clone();
        patch_and_resum(&mut bytes, table + 40 + 12, &0x1000u32.to_le_bytes());
        assert!(refusal(&bytes).starts_with("section VirtualAddress"));

        // Raw data past the end of the file.
        let mut bytes = good;
        patch_and_resum(&mut bytes, table + 20, &0x10_0000u32.to_le_bytes());
        assert!(refusal(&bytes).starts_with("section PointerToRawData"));
    }

    #[test]
    fn only_dir64_relocations_inside_a_section_are_accepted() {
        let mut b = driver();
        // A fix-up whose 8 bytes straddle the end of `.data`'s memory image (16 bytes long).
        b.relocations = Some(alloc::vec![(1, 12)]);
        assert!(refusal(&b.build()).contains("not inside one section"));

        // A HIGHLOW entry instead of DIR64.
        let good = driver().build();
        let image = PeImage::parse(&good).unwrap();
        let dir = image.data_directory(directory::BASERELOC).unwrap();
        let entry = image.rva_to_offset(dir.rva).unwrap() + 8;
        let mut bytes = good.clone();
        let word = u16::from_le_bytes([bytes[entry], bytes[entry + 1]]);
        let highlow = (word & 0x0fff) | (u16::from(relocation_kind::HIGHLOW) << 12);
        patch_and_resum(&mut bytes, entry, &highlow.to_le_bytes());
        assert!(refusal(&bytes).starts_with("base relocation type"));
        let image = PeImage::parse(&bytes).unwrap();
        let mut memory = alloc::vec![0u8; 0x6000];
        copy_to(&image, &mut memory).unwrap();
        assert!(matches!(
            relocate(&image, &mut memory, 0),
            Err(Error::Refused { .. })
        ));
    }

    #[test]
    fn copy_needs_exactly_size_of_image() {
        let bytes = driver().build();
        let image = PeImage::parse(&bytes).unwrap();
        let mut small = alloc::vec![0u8; 0x5000];
        assert!(matches!(
            copy_to(&image, &mut small),
            Err(Error::Refused { .. })
        ));
    }

    /// A small deterministic fuzz over the whole load path: whatever the bytes, no panic, and a
    /// load that passes the checks writes only inside the destination.
    #[test]
    fn mutated_images_never_panic_the_loader() {
        let good = driver().build();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut loaded = 0;
        for _ in 0..3000 {
            let mut bytes = good.clone();
            for _ in 0..=next() % 6 {
                let at = usize::try_from(next() % good.len() as u64).unwrap();
                bytes[at] = match next() % 4 {
                    0 => 0,
                    1 => 0xff,
                    2 => 0x80,
                    _ => next().to_le_bytes()[2],
                };
            }
            let Ok(image) = PeImage::parse(&bytes) else {
                continue;
            };
            let Ok(info) = check_loadable(&image) else {
                continue;
            };
            let mut memory = alloc::vec![0u8; info.size_of_image as usize];
            if copy_to(&image, &mut memory).is_ok() && relocate(&image, &mut memory, 0).is_ok() {
                let _ = bind_imports(&image, &mut memory, |_, _| Some(0));
                loaded += 1;
            }
        }
        // Mutations that miss the checked fields (code and data bytes) still load.
        assert!(loaded > 0);
    }
}
