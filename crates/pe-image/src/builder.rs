// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! A writer of small synthetic PE images for tests (feature `builder`).
//!
//! An image has the headers, the caller's sections, and generated `.rdata` (import and export
//! tables, unwind information), `.pdata` and `.reloc` sections, laid out as a linker would
//! (`FileAlignment` 0x200, `SectionAlignment` 0x1000), with a valid checksum unless told
//! otherwise.
//!
//! [`ImageBuilder::driver`] starts from a well-formed x64 kernel driver; tests change one field
//! (or patch the built bytes) to get exactly the defect they want.

#![allow(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    reason = "test-image builder: its inputs are small test constants and a slip fails a test; \
              the parser, which reads untrusted input, does not use these"
)]

use alloc::string::String;
use alloc::vec::Vec;

use crate::{
    dll_characteristics, file_characteristics, layout, machine, magic, pe_checksum,
    relocation_kind, section_flags, subsystem,
};

/// Characteristics of a code section (`.text`).
pub const CODE: u32 =
    section_flags::CNT_CODE | section_flags::MEM_EXECUTE | section_flags::MEM_READ;
/// Characteristics of a read-only data section (`.rdata`).
pub const RDATA: u32 = section_flags::CNT_INITIALIZED_DATA | section_flags::MEM_READ;
/// Characteristics of a writable data section (`.data`).
pub const DATA: u32 =
    section_flags::CNT_INITIALIZED_DATA | section_flags::MEM_READ | section_flags::MEM_WRITE;
/// Characteristics of `.reloc`.
pub const RELOC: u32 =
    section_flags::CNT_INITIALIZED_DATA | section_flags::MEM_READ | section_flags::MEM_DISCARDABLE;

const FILE_ALIGNMENT: u32 = 0x200;
const SECTION_ALIGNMENT: u32 = 0x1000;
const NT_OFFSET: usize = 0x80;

/// One caller-supplied section.
#[derive(Debug, Clone)]
pub struct SectionSpec {
    /// Its name (at most 8 bytes).
    pub name: String,
    /// Its characteristics ([`section_flags`]).
    pub characteristics: u32,
    /// Its file data.
    pub data: Vec<u8>,
}

/// One imported symbol.
#[derive(Debug, Clone)]
pub enum ImportSpec {
    /// By name (hint 0).
    Name(String),
    /// By ordinal.
    Ordinal(u16),
}

/// The symbols imported from one DLL.
#[derive(Debug, Clone)]
pub struct ImportDll {
    /// The DLL name as written in the import table.
    pub dll: String,
    /// The symbols.
    pub symbols: Vec<ImportSpec>,
}

/// The export table.
#[derive(Debug, Clone, Default)]
pub struct ExportSpec {
    /// The DLL name the directory records.
    pub dll: String,
    /// Named exports, each resolving to its own 16 bytes of the first code section.
    pub names: Vec<String>,
    /// Named forwarders: (name, `DLL.Target`).
    pub forwarders: Vec<(String, String)>,
    /// How many ordinal-only exports follow the named ones.
    pub unnamed: u32,
}

/// What to store in `CheckSum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumSpec {
    /// The correct checksum.
    Valid,
    /// This value.
    Value(u32),
}

/// A synthetic image; every field is public so tests can break exactly one thing.
#[derive(Debug, Clone)]
pub struct ImageBuilder {
    /// Optional-header `Magic` ([`magic::PE32_PLUS`] or [`magic::PE32`]).
    pub magic: u16,
    /// `Machine`.
    pub machine: u16,
    /// `Subsystem`.
    pub subsystem: u16,
    /// `DllCharacteristics`.
    pub dll_characteristics: u16,
    /// COFF `Characteristics`.
    pub characteristics: u16,
    /// `ImageBase`.
    pub image_base: u64,
    /// `AddressOfEntryPoint`; `None`: the start of the first executable section (0 if none).
    pub entry_point: Option<u32>,
    /// `CheckSum`.
    pub checksum: ChecksumSpec,
    /// The caller's sections, laid out first and in order.
    pub sections: Vec<SectionSpec>,
    /// The import table (written to `.rdata`).
    pub imports: Vec<ImportDll>,
    /// The export table (written to `.rdata`).
    pub exports: Option<ExportSpec>,
    /// `Some`: a `.reloc` section with one `DIR64` fix-up per (section index, offset);
    /// `None`: no `.reloc` section and no base relocation directory.
    pub relocations: Option<Vec<(usize, u32)>>,
    /// A `.pdata` section with one `RUNTIME_FUNCTION` per executable section.
    pub pdata: bool,
    /// Resources (`.rsrc`), each (type, name, language, data) with ordinal type and name.
    pub resources: Vec<(u16, u16, u16, Vec<u8>)>,
}

impl ImageBuilder {
    /// A well-formed x64 kernel driver: PE32+, AMD64, NATIVE, `NX_COMPAT | DYNAMIC_BASE |
    /// FORCE_INTEGRITY`, `.text` (RX) and `.data` (RW) with one relocation, `.pdata`, `.reloc`,
    /// no imports or exports, a valid checksum.
    #[must_use]
    pub fn driver() -> Self {
        Self {
            magic: magic::PE32_PLUS,
            machine: machine::AMD64,
            subsystem: subsystem::NATIVE,
            dll_characteristics: dll_characteristics::NX_COMPAT
                | dll_characteristics::DYNAMIC_BASE
                | dll_characteristics::FORCE_INTEGRITY,
            characteristics: file_characteristics::EXECUTABLE_IMAGE
                | file_characteristics::LARGE_ADDRESS_AWARE,
            image_base: 0x1_4000_0000,
            entry_point: None,
            checksum: ChecksumSpec::Valid,
            sections: alloc::vec![
                SectionSpec {
                    name: ".text".into(),
                    characteristics: CODE,
                    data: alloc::vec![0xc3; 0x100],
                },
                SectionSpec {
                    name: ".data".into(),
                    characteristics: DATA,
                    data: alloc::vec![0; 0x10],
                },
            ],
            imports: Vec::new(),
            exports: None,
            relocations: Some(alloc::vec![(1, 0)]),
            pdata: true,
            resources: Vec::new(),
        }
    }

    /// Adds imports by name from `dll`.
    #[must_use]
    pub fn import(mut self, dll: &str, names: &[&str]) -> Self {
        self.imports.push(ImportDll {
            dll: dll.into(),
            symbols: names.iter().map(|&n| ImportSpec::Name(n.into())).collect(),
        });
        self
    }

    /// Sets the export table: `dll` and the named exports `names`.
    #[must_use]
    pub fn export(mut self, dll: &str, names: &[&str]) -> Self {
        self.exports = Some(ExportSpec {
            dll: dll.into(),
            names: names.iter().map(|&n| n.into()).collect(),
            ..ExportSpec::default()
        });
        self
    }

    /// The image's bytes.
    #[must_use]
    pub fn build(&self) -> Vec<u8> {
        let wide = self.magic == magic::PE32_PLUS;
        let optional_size = if wide {
            layout::OPTIONAL_PE32_PLUS
        } else {
            layout::OPTIONAL_PE32
        } + 16 * layout::DATA_DIRECTORY;
        let laid = self.layout(wide);
        let headers_len =
            NT_OFFSET + 4 + layout::FILE_HEADER + optional_size + laid.sections.len() * 40;
        let size_of_headers = align(u32_of(headers_len), FILE_ALIGNMENT);
        let mut file = alloc::vec![0u8; size_of_headers as usize];
        let oh = self.write_headers(&mut file, &laid, optional_size);

        // Section table and raw data.
        let table = oh + optional_size;
        for (i, s) in laid.sections.iter().enumerate() {
            let raw_ptr = u32_of(file.len());
            let raw_size = align(u32_of(s.data.len()), FILE_ALIGNMENT);
            let at = table + i * layout::SECTION_HEADER;
            let name = s.name.as_bytes();
            put(&mut file, at, &name[..name.len().min(8)]);
            put(&mut file, at + 8, &u32_of(s.data.len()).to_le_bytes());
            put(&mut file, at + 12, &s.va.to_le_bytes());
            put(&mut file, at + 16, &raw_size.to_le_bytes());
            let raw_ptr_field = if raw_size == 0 { 0 } else { raw_ptr };
            put(&mut file, at + 20, &raw_ptr_field.to_le_bytes());
            put(&mut file, at + 36, &s.flags.to_le_bytes());
            file.extend_from_slice(&s.data);
            file.resize(raw_ptr as usize + raw_size as usize, 0);
        }
        let checksum = match self.checksum {
            ChecksumSpec::Valid => pe_checksum(&file, oh + layout::CHECKSUM),
            ChecksumSpec::Value(v) => v,
        };
        put(&mut file, oh + layout::CHECKSUM, &checksum.to_le_bytes());
        file
    }

    /// Places the caller's sections, then generates `.rdata`, `.pdata` and `.reloc` after them.
    fn layout(&self, wide: bool) -> Layout {
        let mut laid = Layout {
            sections: Vec::new(),
            dirs: [(0, 0); 16],
            code_va: 0,
            size_of_image: SECTION_ALIGNMENT,
        };
        for s in &self.sections {
            laid.push(&s.name, s.characteristics, s.data.clone());
        }
        laid.code_va = laid
            .sections
            .iter()
            .find(|s| s.flags & section_flags::MEM_EXECUTE != 0)
            .map_or(0, |s| s.va);
        let mut unwind_rva = 0;
        if !self.imports.is_empty() || self.exports.is_some() || self.pdata {
            let mut rdata = Blob::new(laid.size_of_image);
            if !self.imports.is_empty() {
                laid.dirs[crate::directory::IMPORT] = self.write_imports(&mut rdata, wide);
            }
            if let Some(exports) = &self.exports {
                laid.dirs[crate::directory::EXPORT] =
                    write_exports(&mut rdata, exports, laid.code_va);
            }
            rdata.align(4);
            unwind_rva = rdata.rva();
            rdata.bytes(&[1, 0, 0, 0, 0, 0, 0, 0]);
            laid.push(".rdata", RDATA, rdata.data);
        }
        if self.pdata {
            let mut pdata = Blob::new(laid.size_of_image);
            for s in laid.sections.iter().take(self.sections.len()) {
                if s.flags & section_flags::MEM_EXECUTE != 0 {
                    pdata.u32(s.va);
                    pdata.u32(s.va + u32_of(s.data.len()));
                    pdata.u32(unwind_rva);
                }
            }
            laid.dirs[crate::directory::EXCEPTION] = (pdata.base, u32_of(pdata.data.len()));
            laid.push(".pdata", RDATA, pdata.data);
        }
        if !self.resources.is_empty() {
            let data = write_resources(laid.size_of_image, &self.resources);
            laid.dirs[crate::directory::RESOURCE] = (laid.size_of_image, u32_of(data.len()));
            laid.push(".rsrc", RDATA, data);
        }
        if let Some(relocations) = &self.relocations {
            let rvas = relocations
                .iter()
                .map(|&(index, offset)| laid.sections[index].va + offset)
                .collect();
            let reloc = relocation_blocks(laid.size_of_image, rvas);
            laid.dirs[crate::directory::BASERELOC] = (reloc.base, u32_of(reloc.data.len()));
            laid.push(".reloc", RELOC, reloc.data);
        }
        laid
    }

    /// Writes the DOS, COFF and optional headers; returns the optional header's offset.
    fn write_headers(&self, file: &mut [u8], laid: &Layout, optional_size: usize) -> usize {
        let wide = self.magic == magic::PE32_PLUS;
        put(file, 0, &layout::DOS_MAGIC.to_le_bytes());
        put(file, layout::E_LFANEW, &u32_of(NT_OFFSET).to_le_bytes());
        put(file, NT_OFFSET, &layout::NT_SIGNATURE.to_le_bytes());
        let fh = NT_OFFSET + 4;
        put(file, fh, &self.machine.to_le_bytes());
        put(
            file,
            fh + 2,
            &u16_of(u32_of(laid.sections.len())).to_le_bytes(),
        );
        put(file, fh + 16, &u16_of(u32_of(optional_size)).to_le_bytes());
        put(file, fh + 18, &self.characteristics.to_le_bytes());
        let oh = fh + layout::FILE_HEADER;
        put(file, oh, &self.magic.to_le_bytes());
        put(file, oh + 2, &[14, 0]);
        let entry = self.entry_point.unwrap_or(laid.code_va);
        put(file, oh + 16, &entry.to_le_bytes());
        put(file, oh + 20, &laid.code_va.to_le_bytes());
        let (count_at, dirs_at) = if wide {
            put(file, oh + 24, &self.image_base.to_le_bytes());
            put(file, oh + 72, &0x4_0000u64.to_le_bytes());
            put(file, oh + 80, &0x1000u64.to_le_bytes());
            (108, layout::OPTIONAL_PE32_PLUS)
        } else {
            let base = u32::try_from(self.image_base).unwrap_or(0x40_0000);
            put(file, oh + 28, &base.to_le_bytes());
            put(file, oh + 72, &0x4_0000u32.to_le_bytes());
            put(file, oh + 76, &0x1000u32.to_le_bytes());
            (92, layout::OPTIONAL_PE32)
        };
        put(file, oh + 32, &SECTION_ALIGNMENT.to_le_bytes());
        put(file, oh + 36, &FILE_ALIGNMENT.to_le_bytes());
        for (at, v) in [(40, 10u16), (48, 10)] {
            put(file, oh + at, &v.to_le_bytes());
        }
        put(file, oh + 56, &laid.size_of_image.to_le_bytes());
        put(file, oh + 60, &u32_of(file.len()).to_le_bytes());
        put(file, oh + 68, &self.subsystem.to_le_bytes());
        put(file, oh + 70, &self.dll_characteristics.to_le_bytes());
        put(file, oh + count_at, &16u32.to_le_bytes());
        for (i, (rva, size)) in laid.dirs.iter().enumerate() {
            let at = oh + dirs_at + i * layout::DATA_DIRECTORY;
            put(file, at, &rva.to_le_bytes());
            put(file, at + 4, &size.to_le_bytes());
        }
        oh
    }

    /// Writes the import descriptors, lookup and address tables and names; returns the import
    /// directory.
    fn write_imports(&self, rdata: &mut Blob, wide: bool) -> (u32, u32) {
        let thunk = if wide { 8 } else { 4 };
        let descriptors = rdata.data.len();
        let dir = (rdata.rva(), u32_of((self.imports.len() + 1) * 20));
        rdata.zeros((self.imports.len() + 1) * 20);
        for (i, dll) in self.imports.iter().enumerate() {
            let name_rva = rdata.rva();
            rdata.c_str(&dll.dll);
            rdata.align(8);
            let table_len = (dll.symbols.len() + 1) * thunk;
            let ilt = rdata.data.len();
            rdata.zeros(table_len);
            let iat = rdata.data.len();
            rdata.zeros(table_len);
            for (j, symbol) in dll.symbols.iter().enumerate() {
                let value: u64 = match symbol {
                    ImportSpec::Ordinal(ordinal) => {
                        (if wide { 1u64 << 63 } else { 1u64 << 31 }) | u64::from(*ordinal)
                    }
                    ImportSpec::Name(name) => {
                        rdata.align(2);
                        let at = rdata.rva();
                        rdata.u16(0);
                        rdata.c_str(name);
                        u64::from(at)
                    }
                };
                for table in [ilt, iat] {
                    let at = table + j * thunk;
                    rdata.data[at..at + thunk].copy_from_slice(&value.to_le_bytes()[..thunk]);
                }
            }
            let desc = descriptors + i * 20;
            let lookup_table = rdata.base + u32_of(ilt);
            let address_table = rdata.base + u32_of(iat);
            rdata.put_u32(desc, lookup_table);
            rdata.put_u32(desc + 12, name_rva);
            rdata.put_u32(desc + 16, address_table);
        }
        dir
    }
}

/// Writes the export directory and its tables; returns the export directory.
fn write_exports(rdata: &mut Blob, exports: &ExportSpec, code_va: u32) -> (u32, u32) {
    rdata.align(4);
    let dir_at = rdata.data.len();
    let dir_rva = rdata.rva();
    rdata.zeros(40);
    let named = exports.names.len() + exports.forwarders.len();
    let functions = named + exports.unnamed as usize;
    let functions_at = rdata.data.len();
    rdata.zeros(functions * 4);
    let names_at = rdata.data.len();
    rdata.zeros(named * 4);
    let ordinals_at = rdata.data.len();
    rdata.zeros(named * 2);
    let dll_rva = rdata.rva();
    rdata.c_str(&exports.dll);
    // Function index of every name: plain names first, then forwarders.
    let mut all: Vec<(&str, usize)> = exports
        .names
        .iter()
        .map(String::as_str)
        .chain(exports.forwarders.iter().map(|(n, _)| n.as_str()))
        .enumerate()
        .map(|(i, n)| (n, i))
        .collect();
    all.sort_unstable();
    for (slot, (name, index)) in all.iter().enumerate() {
        let name_rva = rdata.rva();
        rdata.c_str(name);
        rdata.put_u32(names_at + slot * 4, name_rva);
        let ordinal = u16_of(u32_of(*index));
        rdata.data[ordinals_at + slot * 2..ordinals_at + slot * 2 + 2]
            .copy_from_slice(&ordinal.to_le_bytes());
    }
    for index in 0..functions {
        let target = if let Some((_, to)) = index
            .checked_sub(exports.names.len())
            .and_then(|j| exports.forwarders.get(j))
        {
            let at = rdata.rva();
            rdata.c_str(to);
            at
        } else {
            code_va + u32_of(index * 16)
        };
        rdata.put_u32(functions_at + index * 4, target);
    }
    for (at, v) in [
        (12, dll_rva),
        (16, 1),
        (20, u32_of(functions)),
        (24, u32_of(named)),
        (28, rdata.base + u32_of(functions_at)),
        (32, rdata.base + u32_of(names_at)),
        (36, rdata.base + u32_of(ordinals_at)),
    ] {
        rdata.put_u32(dir_at + at, v);
    }
    (dir_rva, rdata.rva() - dir_rva)
}

/// A placed section.
struct Placed {
    name: String,
    flags: u32,
    data: Vec<u8>,
    va: u32,
}

/// Where everything went.
struct Layout {
    sections: Vec<Placed>,
    dirs: [(u32, u32); 16],
    code_va: u32,
    /// The next free RVA (the image's size once every section is placed).
    size_of_image: u32,
}

impl Layout {
    fn push(&mut self, name: &str, flags: u32, data: Vec<u8>) {
        let va = self.size_of_image;
        self.size_of_image += align(u32_of(data.len()).max(1), SECTION_ALIGNMENT);
        self.sections.push(Placed {
            name: name.into(),
            flags,
            data,
            va,
        });
    }
}

/// A resource tree at RVA `base`: one table per level (type, name, language), ordinal entries
/// in the order given, every data entry and the data after the tables.
fn write_resources(base: u32, resources: &[(u16, u16, u16, Vec<u8>)]) -> Vec<u8> {
    use alloc::collections::BTreeMap;
    let mut tree: BTreeMap<u16, BTreeMap<u16, Vec<(u16, usize)>>> = BTreeMap::new();
    for (i, (t, n, l, _)) in resources.iter().enumerate() {
        tree.entry(*t)
            .or_default()
            .entry(*n)
            .or_default()
            .push((*l, i));
    }
    let table = |count: usize| 16 + 8 * count;
    // Sizes of the tables: root, one per type, one per (type, name).
    let mut size = table(tree.len());
    for names in tree.values() {
        size += table(names.len());
        for langs in names.values() {
            size += table(langs.len());
        }
    }
    let entries_at = size;
    let data_at = entries_at + 16 * resources.len();
    let mut data_offsets = Vec::new();
    let mut data_len = 0;
    for (.., d) in resources {
        data_offsets.push(data_at + data_len);
        data_len += d.len().next_multiple_of(4);
    }
    let mut out = alloc::vec![0u8; data_at + data_len];
    let header = |out: &mut Vec<u8>, at: usize, ids: usize| {
        put(out, at + 14, &u16_of(u32_of(ids)).to_le_bytes());
    };
    let entry = |out: &mut Vec<u8>, at: usize, id: u16, target: u32| {
        put(out, at, &u32::from(id).to_le_bytes());
        put(out, at + 4, &target.to_le_bytes());
    };
    header(&mut out, 0, tree.len());
    let mut next = table(tree.len());
    for (ti, (t, names)) in tree.iter().enumerate() {
        let type_at = next;
        entry(&mut out, 16 + 8 * ti, *t, 0x8000_0000 | u32_of(type_at));
        header(&mut out, type_at, names.len());
        next += table(names.len());
        for (ni, (n, langs)) in names.iter().enumerate() {
            let name_at = next;
            entry(
                &mut out,
                type_at + 16 + 8 * ni,
                *n,
                0x8000_0000 | u32_of(name_at),
            );
            header(&mut out, name_at, langs.len());
            next += table(langs.len());
            for (li, (l, index)) in langs.iter().enumerate() {
                let data_entry = entries_at + 16 * index;
                entry(&mut out, name_at + 16 + 8 * li, *l, u32_of(data_entry));
                let bytes = &resources[*index].3;
                put(
                    &mut out,
                    data_entry,
                    &(base + u32_of(data_offsets[*index])).to_le_bytes(),
                );
                put(&mut out, data_entry + 4, &u32_of(bytes.len()).to_le_bytes());
                put(&mut out, data_offsets[*index], bytes);
            }
        }
    }
    out
}

/// A `.reloc` section at `va` with one `DIR64` fix-up per RVA.
fn relocation_blocks(va: u32, mut rvas: Vec<u32>) -> Blob {
    rvas.sort_unstable();
    let mut reloc = Blob::new(va);
    let mut i = 0;
    while i < rvas.len() {
        let page = rvas[i] & !0xfff;
        let start = reloc.data.len();
        reloc.u32(page);
        reloc.u32(0);
        while i < rvas.len() && rvas[i] & !0xfff == page {
            reloc.u16(u16::from(relocation_kind::DIR64) << 12 | u16_of(rvas[i] & 0xfff));
            i += 1;
        }
        if !(reloc.data.len() - start).is_multiple_of(4) {
            reloc.u16(0);
        }
        let size = u32_of(reloc.data.len() - start);
        reloc.put_u32(start + 4, size);
    }
    reloc
}

/// A section being generated, at RVA `base`.
struct Blob {
    base: u32,
    data: Vec<u8>,
}

impl Blob {
    const fn new(base: u32) -> Self {
        Self {
            base,
            data: Vec::new(),
        }
    }
    fn rva(&self) -> u32 {
        self.base + u32_of(self.data.len())
    }
    fn zeros(&mut self, n: usize) {
        self.data.resize(self.data.len() + n, 0);
    }
    fn align(&mut self, to: usize) {
        while !self.data.len().is_multiple_of(to) {
            self.data.push(0);
        }
    }
    fn bytes(&mut self, b: &[u8]) {
        self.data.extend_from_slice(b);
    }
    fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
    fn c_str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
        self.data.push(0);
    }
    fn put_u32(&mut self, at: usize, v: u32) {
        put(&mut self.data, at, &v.to_le_bytes());
    }
}

fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    buf[at..at + bytes.len()].copy_from_slice(bytes);
}

const fn align(x: u32, to: u32) -> u32 {
    x.div_ceil(to) * to
}

fn u32_of(x: usize) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}

fn u16_of(x: u32) -> u16 {
    u16::try_from(x).unwrap_or(u16::MAX)
}
