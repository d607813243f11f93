// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Tests over images from [`crate::builder`], well-formed and deliberately broken.

use alloc::vec::Vec;

use crate::builder::{ChecksumSpec, ExportSpec, ImageBuilder, ImportDll, ImportSpec};
use crate::*;

fn patch_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn patch_u16(bytes: &mut [u8], at: usize, value: u16) {
    bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

fn dir_offset(bytes: &[u8], index: usize) -> usize {
    let image = PeImage::parse(bytes).unwrap();
    let dir = image.data_directory(index).unwrap();
    image.rva_to_offset(dir.rva).unwrap()
}

/// File offset of data directory entry `index` itself (in the optional header).
fn dir_entry_offset(bytes: &[u8], index: usize) -> usize {
    let image = PeImage::parse(bytes).unwrap();
    image.nt_headers_offset() + 4 + 20 + layout::OPTIONAL_PE32_PLUS + index * 8
}

fn kernel_image() -> ImageBuilder {
    ImageBuilder::driver()
        .import("ntoskrnl.exe", &["ExAllocatePoolWithTag", "KeBugCheckEx"])
        .import("HAL.dll", &["KeStallExecutionProcessor"])
        .export("xen.sys", &["XenTouch", "DllInitialize", "DllUnload"])
}

/// Reads every table, returning how many items and errors it met; must never panic.
fn walk(bytes: &[u8]) -> (usize, usize) {
    let Ok(image) = PeImage::parse(bytes) else {
        return (0, 1);
    };
    let (mut items, mut errors) = (0usize, 0usize);
    let mut count = |r: core::result::Result<(), Error>| match r {
        Ok(()) => items += 1,
        Err(_) => errors += 1,
    };
    for s in image.sections() {
        let _ = (s.name(), s.is_writable(), s.is_executable());
        count(image.rva_to_offset(s.virtual_address).map(drop));
    }
    for i in 0..20 {
        let _ = image.data_directory(i);
    }
    for d in image.imports() {
        match d {
            Ok(d) => {
                count(Ok(()));
                for e in d.entries() {
                    count(e.map(drop));
                }
            }
            Err(e) => count(Err(e)),
        }
    }
    match image.exports() {
        Ok(Some(exports)) => {
            for e in exports.names() {
                count(e.map(drop));
            }
            for i in 0..exports.function_count().min(4096) {
                count(exports.function(i).map(drop));
            }
            count(exports.by_name(b"XenTouch").map(drop));
            count(exports.by_ordinal(2).map(drop));
        }
        Ok(None) => {}
        Err(e) => count(Err(e)),
    }
    match image.base_relocations() {
        Ok(blocks) => {
            for b in blocks {
                match b {
                    Ok(b) => b.entries().for_each(|_| count(Ok(()))),
                    Err(e) => count(Err(e)),
                }
            }
        }
        Err(e) => count(Err(e)),
    }
    match image.runtime_functions() {
        Ok(f) => {
            for f in f {
                count(f.map(drop));
            }
        }
        Err(e) => count(Err(e)),
    }
    let _ = image.checksum_is_valid();
    (items, errors)
}

#[test]
fn driver_headers_and_sections() {
    let bytes = kernel_image().build();
    let image = PeImage::parse(&bytes).unwrap();
    assert_eq!(image.file_header().machine, machine::AMD64);
    assert!(image.is_pe32_plus());
    let oh = image.optional_header();
    assert_eq!(oh.subsystem, subsystem::NATIVE);
    assert_eq!(oh.dll_characteristics, 0x1c0);
    assert_eq!(oh.image_base, 0x1_4000_0000);
    assert_eq!(oh.section_alignment, 0x1000);
    assert_eq!(oh.entry_point, 0x1000);
    assert_eq!(oh.size_of_image, 0x6000);
    assert!(image.checksum_is_valid());
    assert_eq!(oh.checksum, image.computed_checksum());
    let names: Vec<Vec<u8>> = image.sections().map(|s| s.name().to_vec()).collect();
    assert_eq!(
        names,
        [&b".text"[..], b".data", b".rdata", b".pdata", b".reloc"]
    );
    let text = image.section_by_name(b".text").unwrap();
    assert!(text.is_executable() && !text.is_writable());
    let data = image.section_by_name(b".data").unwrap();
    assert!(data.is_writable() && !data.is_executable());
    assert_eq!(image.section_containing(0x2008), Some(data));
    assert_eq!(
        image.rva_to_offset(0x1000),
        Ok(text.pointer_to_raw_data as usize)
    );
    assert_eq!(
        image.rva_to_offset(0x1001),
        Ok(text.pointer_to_raw_data as usize + 1)
    );
    // Headers map to themselves.
    assert_eq!(image.rva_to_offset(0x3c), Ok(0x3c));
    for index in [
        directory::IMPORT,
        directory::EXPORT,
        directory::EXCEPTION,
        directory::BASERELOC,
    ] {
        assert!(image.data_directory(index).is_some(), "directory {index}");
    }
    assert_eq!(image.data_directory(directory::RESOURCE), None);
    assert_eq!(image.data_directory(99), None);
    assert_eq!(image.data_directory_count(), 16);
}

#[test]
fn imports_by_name_and_ordinal() {
    let mut b = kernel_image();
    b.imports.push(ImportDll {
        dll: "xen.sys".into(),
        symbols: alloc::vec![ImportSpec::Ordinal(7), ImportSpec::Name("LogPrintf".into())],
    });
    let bytes = b.build();
    let image = PeImage::parse(&bytes).unwrap();
    let dlls: Vec<_> = image.imports().map(Result::unwrap).collect();
    assert_eq!(dlls.len(), 3);
    assert_eq!(dlls[0].dll, b"ntoskrnl.exe");
    assert!(dlls[1].dll_is("hal.dll"));
    let nt: Vec<_> = dlls[0].entries().map(|e| e.unwrap().import).collect();
    assert_eq!(
        nt,
        [
            Import::Name {
                hint: 0,
                name: b"ExAllocatePoolWithTag"
            },
            Import::Name {
                hint: 0,
                name: b"KeBugCheckEx"
            }
        ]
    );
    let xen: Vec<_> = dlls[2].entries().map(Result::unwrap).collect();
    assert_eq!(xen[0].import, Import::Ordinal(7));
    assert_eq!(
        xen[1].import,
        Import::Name {
            hint: 0,
            name: b"LogPrintf"
        }
    );
    assert_eq!(xen[1].iat_rva, dlls[2].first_thunk + 8);
}

#[test]
fn pe32_images_parse_with_narrow_thunks() {
    let mut b = ImageBuilder::driver().import("kernel32.dll", &["ExitProcess"]);
    b.magic = magic::PE32;
    b.machine = machine::I386;
    b.image_base = 0x1000_0000;
    b.imports[0].symbols.push(ImportSpec::Ordinal(3));
    let bytes = b.build();
    let image = PeImage::parse(&bytes).unwrap();
    assert!(!image.is_pe32_plus());
    assert_eq!(image.optional_header().image_base, 0x1000_0000);
    assert!(image.checksum_is_valid());
    let d = image.imports().next().unwrap().unwrap();
    let e: Vec<_> = d.entries().map(|e| e.unwrap().import).collect();
    assert_eq!(
        e,
        [
            Import::Name {
                hint: 0,
                name: b"ExitProcess"
            },
            Import::Ordinal(3)
        ]
    );
    assert_eq!(walk(&bytes).1, 0);
}

#[test]
fn exports_names_forwarders_and_ordinals() {
    let mut b = ImageBuilder::driver();
    b.exports = Some(ExportSpec {
        dll: "xen.sys".into(),
        names: alloc::vec!["b".into(), "a".into()],
        forwarders: alloc::vec![("c".into(), "ntoskrnl.memcpy".into())],
        unnamed: 1,
    });
    let bytes = b.build();
    let image = PeImage::parse(&bytes).unwrap();
    let exports = image.exports().unwrap().unwrap();
    assert_eq!(exports.dll, b"xen.sys");
    assert_eq!(exports.ordinal_base, 1);
    assert_eq!(exports.function_count(), 4);
    assert_eq!(exports.name_count(), 3);
    let all: Vec<_> = exports.names().map(Result::unwrap).collect();
    assert_eq!(
        all,
        [
            Export {
                name: b"a",
                ordinal: 2,
                target: ExportTarget::Rva(0x1010)
            },
            Export {
                name: b"b",
                ordinal: 1,
                target: ExportTarget::Rva(0x1000)
            },
            Export {
                name: b"c",
                ordinal: 3,
                target: ExportTarget::Forwarder(b"ntoskrnl.memcpy")
            },
        ]
    );
    assert_eq!(exports.by_name(b"b"), Ok(Some(ExportTarget::Rva(0x1000))));
    assert_eq!(exports.by_name(b"zz"), Ok(None));
    assert_eq!(exports.by_ordinal(4), Ok(Some(ExportTarget::Rva(0x1030))));
    assert_eq!(exports.by_ordinal(0), Ok(None));
    assert_eq!(exports.by_ordinal(5), Ok(None));
    assert!(exports.function(4).is_err());
    // No export directory at all.
    let plain = ImageBuilder::driver().build();
    assert!(PeImage::parse(&plain).unwrap().exports().unwrap().is_none());
}

#[test]
fn relocations_group_by_page_with_padding() {
    let mut b = ImageBuilder::driver();
    b.sections[0].data = alloc::vec![0xc3; 0x1800];
    b.relocations = Some(alloc::vec![(0, 0x10), (0, 0x1008), (0, 0x8), (1, 0)]);
    let bytes = b.build();
    let image = PeImage::parse(&bytes).unwrap();
    let blocks: Vec<_> = image
        .base_relocations()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        blocks.iter().map(|b| b.page_rva).collect::<Vec<_>>(),
        [0x1000, 0x2000, 0x3000]
    );
    // Two entries need no padding; one entry is padded to a 4-byte block.
    assert_eq!(blocks[0].len(), 2);
    assert_eq!(blocks[1].len(), 2);
    let fixes: Vec<_> = blocks.iter().flat_map(RelocationBlock::entries).collect();
    assert_eq!(
        fixes
            .iter()
            .filter(|r| r.is_dir64())
            .map(|r| r.rva)
            .collect::<Vec<_>>(),
        [0x1008, 0x1010, 0x2008, 0x3000]
    );
    assert_eq!(fixes.iter().filter(|r| r.is_padding()).count(), 2);
    // No .reloc at all: an empty walk.
    b.relocations = None;
    let bytes = b.build();
    let image = PeImage::parse(&bytes).unwrap();
    assert_eq!(image.base_relocations().unwrap().count(), 0);
    assert!(image.section_by_name(b".reloc").is_none());
}

#[test]
fn runtime_functions_cover_code() {
    let bytes = ImageBuilder::driver().build();
    let image = PeImage::parse(&bytes).unwrap();
    let f: Vec<_> = image
        .runtime_functions()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].begin, f[0].end), (0x1000, 0x1100));
    assert!(image.exception_directory().is_some());
    let mut b = ImageBuilder::driver();
    b.pdata = false;
    let bytes = b.build();
    let image = PeImage::parse(&bytes).unwrap();
    assert!(image.exception_directory().is_none());
    assert_eq!(image.runtime_functions().unwrap().count(), 0);
}

#[test]
fn checksum_algorithm() {
    // Words 0x0201 + 0x0403, checksum field (bytes 4..8) ignored, odd byte 0x09, plus length 9.
    let file = [1u8, 2, 3, 4, 0xff, 0xff, 0xff, 0xff, 9];
    assert_eq!(pe_checksum(&file, 4), 0x0201 + 0x0403 + 9 + 9);
    // Carries fold back: 0xffff + 0x0002 = 0x1_0001 -> 0x0002, plus length 4.
    assert_eq!(pe_checksum(&[0xff, 0xff, 2, 0], 100), 2 + 4);
    // A checksum field at an odd offset is still read as zero.
    assert_eq!(pe_checksum(&[0, 5, 5, 5, 5, 0], 1), 6);
    assert_eq!(pe_checksum(&[], 0), 0);
    // Stored checksum: valid, zero, wrong.
    let mut b = ImageBuilder::driver();
    assert!(PeImage::parse(&b.build()).unwrap().checksum_is_valid());
    b.checksum = ChecksumSpec::Value(0);
    let bytes = b.build();
    let image = PeImage::parse(&bytes).unwrap();
    assert!(!image.checksum_is_valid());
    assert_ne!(image.computed_checksum(), 0);
    b.checksum = ChecksumSpec::Value(0x1234);
    assert!(!PeImage::parse(&b.build()).unwrap().checksum_is_valid());
    // Changing any byte outside the field invalidates it.
    let mut bytes = ImageBuilder::driver().build();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert!(!PeImage::parse(&bytes).unwrap().checksum_is_valid());
}

#[test]
fn bad_signatures_and_magic() {
    let good = ImageBuilder::driver().build();
    let mut bytes = good.clone();
    bytes[0] = b'X';
    assert!(matches!(
        PeImage::parse(&bytes),
        Err(Error::BadSignature {
            field: "DOS header e_magic",
            offset: 0,
            ..
        })
    ));
    let mut bytes = good.clone();
    bytes[0x80] = b'X';
    assert!(matches!(
        PeImage::parse(&bytes),
        Err(Error::BadSignature {
            field: "NT signature",
            offset: 0x80,
            ..
        })
    ));
    let mut bytes = good.clone();
    patch_u16(&mut bytes, 0x80 + 24, 0x107);
    assert!(matches!(
        PeImage::parse(&bytes),
        Err(Error::BadSignature {
            field: "optional header Magic",
            found: 0x107,
            ..
        })
    ));
    let mut bytes = good.clone();
    patch_u32(&mut bytes, layout::E_LFANEW, 0xffff_fff0);
    assert!(matches!(
        PeImage::parse(&bytes),
        Err(Error::Truncated {
            field: "NT signature",
            offset: 0xffff_fff0,
            ..
        })
    ));
    // An optional header too small for PE32+.
    let mut bytes = good;
    patch_u16(&mut bytes, 0x80 + 4 + 16, 100);
    assert!(matches!(
        PeImage::parse(&bytes),
        Err(Error::BadValue {
            field: "SizeOfOptionalHeader",
            value: 100,
            ..
        })
    ));
}

#[test]
fn every_truncation_is_an_error_or_parses_without_panic() {
    let good = kernel_image().build();
    let image = PeImage::parse(&good).unwrap();
    let headers_end = image
        .section(image.section_count() - 1)
        .map(|_| 0x80 + 4 + 20 + 240 + 5 * 40)
        .unwrap();
    for len in 0..good.len() {
        let cut = &good[..len];
        let parsed = PeImage::parse(cut);
        if len < headers_end {
            assert!(
                matches!(
                    parsed,
                    Err(Error::Truncated { .. } | Error::BadSignature { .. })
                ),
                "len {len}"
            );
        }
        walk(cut);
    }
    // Truncated just after the headers: the tables are unmapped, reported, never panicking.
    let cut = &good[..0x400];
    let image = PeImage::parse(cut).unwrap();
    assert!(matches!(
        image.imports().next(),
        Some(Err(Error::UnmappedRva { .. }))
    ));
    assert!(image.exports().is_err());
}

#[test]
fn section_table_past_the_end() {
    let mut bytes = ImageBuilder::driver().build();
    patch_u16(&mut bytes, 0x80 + 6, 0xffff);
    assert!(matches!(
        PeImage::parse(&bytes),
        Err(Error::Truncated {
            field: "section table",
            ..
        })
    ));
}

#[test]
fn out_of_range_rvas() {
    let bytes = kernel_image().build();
    let image = PeImage::parse(&bytes).unwrap();
    for rva in [0x10_0000, u32::MAX, image.optional_header().size_of_image] {
        assert_eq!(
            image.rva_to_offset(rva),
            Err(Error::UnmappedRva {
                field: "RVA",
                rva,
                len: 1
            })
        );
    }
    // Reading across the end of a section.
    let text = image.section_by_name(b".text").unwrap();
    assert!(image.read(text.virtual_address, 0x100, "x").is_ok());
    assert!(image.read(text.virtual_address, 0x101, "x").is_err());
    assert!(image.read(u32::MAX - 1, 8, "x").is_err());

    // The import directory points nowhere.
    let mut bad = bytes.clone();
    patch_u32(
        &mut bad,
        dir_entry_offset(&bytes, directory::IMPORT),
        0x0fff_0000,
    );
    let image = PeImage::parse(&bad).unwrap();
    let mut it = image.imports();
    assert_eq!(
        it.next().unwrap().unwrap_err(),
        Error::UnmappedRva {
            field: "import descriptor",
            rva: 0x0fff_0000,
            len: 20
        }
    );
    assert!(it.next().is_none());

    // The export directory's name table points nowhere.
    let mut bad = bytes.clone();
    let at = dir_offset(&bytes, directory::EXPORT);
    patch_u32(&mut bad, at + 32, 0x7000_0000);
    let image = PeImage::parse(&bad).unwrap();
    assert!(matches!(
        image.exports(),
        Err(Error::UnmappedRva {
            field: "export name pointer table",
            rva: 0x7000_0000,
            ..
        })
    ));
    // A huge NumberOfNames cannot make the tables fit.
    let mut bad = bytes.clone();
    patch_u32(&mut bad, at + 24, u32::MAX);
    assert!(PeImage::parse(&bad).unwrap().exports().is_err());

    // A relocation directory larger than its section.
    let mut bad = bytes.clone();
    patch_u32(
        &mut bad,
        dir_entry_offset(&bytes, directory::BASERELOC) + 4,
        0x10_0000,
    );
    assert!(matches!(
        PeImage::parse(&bad).unwrap().base_relocations(),
        Err(Error::UnmappedRva {
            field: "base relocation directory",
            ..
        })
    ));
}

#[test]
fn zero_filled_tail_has_no_file_data() {
    let mut b = ImageBuilder::driver();
    b.sections[1].data = alloc::vec![0; 0x10];
    let mut bytes = b.build();
    let image = PeImage::parse(&bytes).unwrap();
    let data = image.section_by_name(b".data").unwrap();
    // Grow .data's VirtualSize beyond its raw data: the tail is memory only.
    let header = 0x80 + 4 + 20 + 240 + 40;
    patch_u32(&mut bytes, header + 8, 0x800);
    let image = PeImage::parse(&bytes).unwrap();
    assert!(image.rva_to_offset(data.virtual_address + 0x1ff).is_ok());
    assert!(image.rva_to_offset(data.virtual_address + 0x200).is_err());
    assert!(
        image
            .section_containing(data.virtual_address + 0x7ff)
            .is_some()
    );
}

#[test]
fn import_name_pointer_past_the_end() {
    let bytes = kernel_image().build();
    let image = PeImage::parse(&bytes).unwrap();
    let d = image.imports().next().unwrap().unwrap();
    let ilt = image.rva_to_offset(d.original_first_thunk).unwrap();
    for (value, expected) in [
        (
            0x7fff_fff0u64,
            Error::UnmappedRva {
                field: "import hint",
                rva: 0x7fff_fff0,
                len: 2,
            },
        ),
        // Bits between the RVA and the ordinal flag must be zero.
        (
            0x0000_0001_0000_1000,
            Error::BadEntry {
                field: "import lookup entry",
                rva: d.original_first_thunk,
                value: 0x0000_0001_0000_1000,
            },
        ),
        (
            (1 << 63) | 0x1_0000,
            Error::BadEntry {
                field: "import lookup entry",
                rva: d.original_first_thunk,
                value: (1 << 63) | 0x1_0000,
            },
        ),
    ] {
        let mut bad = bytes.clone();
        bad[ilt..ilt + 8].copy_from_slice(&value.to_le_bytes());
        let image = PeImage::parse(&bad).unwrap();
        let d = image.imports().next().unwrap().unwrap();
        let mut entries = d.entries();
        assert_eq!(entries.next(), Some(Err(expected)));
        assert_eq!(entries.next(), None, "the walk stops after an error");
    }
    // A hint/name entry whose name runs to the end of the section without a NUL.
    let Import::Name { .. } = d.entries().next().unwrap().unwrap().import else {
        panic!("by name")
    };
    let rdata = image.section_by_name(b".rdata").unwrap();
    let end = rdata.virtual_address + rdata.file_backed_size();
    let mut bad = bytes.clone();
    let last = image.rva_to_offset(end - 1).unwrap();
    bad[last - 3..=last].copy_from_slice(b"\0\0ab");
    bad[ilt..ilt + 8].copy_from_slice(&u64::from(end - 4).to_le_bytes());
    let image = PeImage::parse(&bad).unwrap();
    let d = image.imports().next().unwrap().unwrap();
    assert_eq!(
        d.entries().next(),
        Some(Err(Error::UnterminatedString {
            field: "import name",
            rva: end - 2
        }))
    );
    // A DLL name pointer past the end.
    let mut bad = bytes.clone();
    let desc = dir_offset(&bytes, directory::IMPORT);
    patch_u32(&mut bad, desc + 12, 0x00ff_0000);
    let image = PeImage::parse(&bad).unwrap();
    assert!(matches!(
        image.imports().next(),
        Some(Err(Error::UnmappedRva {
            field: "import DLL name",
            rva: 0x00ff_0000,
            len: 1
        }))
    ));
}

#[test]
fn tables_without_terminators_end_at_the_section() {
    let bytes = kernel_image().build();
    let image = PeImage::parse(&bytes).unwrap();
    let rdata = image.section_by_name(b".rdata").unwrap();
    let rdata_at = rdata.pointer_to_raw_data as usize;
    let rdata_len = rdata.file_backed_size() as usize;
    // Fill everything after the descriptors' start with 0x01: no terminating descriptor, no
    // terminating thunk, no NUL; every walk must end with an error, not loop or panic.
    let mut bad = bytes.clone();
    let desc = dir_offset(&bytes, directory::IMPORT);
    for b in &mut bad[desc..rdata_at + rdata_len] {
        *b = 0x01;
    }
    let image = PeImage::parse(&bad).unwrap();
    let results: Vec<_> = image.imports().collect();
    assert_eq!(results.len(), 1);
    assert!(results[0].is_err());
    // An import descriptor whose lookup table points at itself (each thunk is the same RVA
    // pattern): bounded by the section.
    let mut bad = bytes.clone();
    let d = image.data_directory(directory::IMPORT).unwrap();
    patch_u32(&mut bad, desc, d.rva);
    let image = PeImage::parse(&bad).unwrap();
    let d = image.imports().next().unwrap().unwrap();
    assert!(d.entries().count() < 1000);
    // Relocation blocks of size 0 and 4 would repeat forever in a naive walker.
    for size in [0u32, 4, 9] {
        let mut bad = bytes.clone();
        let at = dir_offset(&bytes, directory::BASERELOC);
        patch_u32(&mut bad, at + 4, size);
        let image = PeImage::parse(&bad).unwrap();
        let blocks: Vec<_> = image.base_relocations().unwrap().collect();
        assert_eq!(blocks.len(), 1, "size {size}");
        assert!(
            matches!(blocks[0], Err(Error::BadEntry { field, .. }) if field.contains("SizeOfBlock"))
        );
    }
    // A block larger than the directory.
    let mut bad = bytes.clone();
    let at = dir_offset(&bytes, directory::BASERELOC);
    patch_u32(&mut bad, at + 4, 0x1000);
    let blocks: Vec<_> = PeImage::parse(&bad)
        .unwrap()
        .base_relocations()
        .unwrap()
        .collect();
    assert!(matches!(blocks[..], [Err(Error::BadEntry { .. })]));
    // An export ordinal that indexes past the address table.
    let mut bad = bytes;
    let image = PeImage::parse(&bad).unwrap();
    let ordinals = image
        .rva_to_offset(
            image
                .u32_at_rva(image.data_directory(0).unwrap().rva + 36, "t")
                .unwrap(),
        )
        .unwrap();
    patch_u16(&mut bad, ordinals, 0x7fff);
    let image = PeImage::parse(&bad).unwrap();
    let exports = image.exports().unwrap().unwrap();
    let mut names = exports.names();
    assert!(matches!(
        names.next(),
        Some(Err(Error::BadEntry { value: 0x7fff, .. }))
    ));
    assert!(names.next().is_none());
}

#[test]
fn runtime_function_end_before_begin() {
    let bytes = ImageBuilder::driver().build();
    let mut bad = bytes.clone();
    let at = dir_offset(&bytes, directory::EXCEPTION);
    patch_u32(&mut bad, at + 4, 0x10);
    let image = PeImage::parse(&bad).unwrap();
    let f: Vec<_> = image.runtime_functions().unwrap().collect();
    assert!(matches!(f[..], [Err(Error::BadEntry { .. })]));
}

#[test]
fn error_messages_name_the_field_and_place() {
    let e = Error::UnmappedRva {
        field: "import name",
        rva: 0x1234,
        len: 1,
    };
    assert_eq!(
        alloc::format!("{e}"),
        "import name: 1 bytes at RVA 0x1234 are not in the file's mapped data"
    );
    assert_eq!(e.field(), "import name");
    let e = Error::Truncated {
        field: "NT signature",
        offset: 0x80,
        len: 4,
        file_len: 0x40,
    };
    assert_eq!(
        alloc::format!("{e}"),
        "NT signature: 4 bytes at file offset 0x80 run past the end (0x40 bytes)"
    );
}

/// A small deterministic fuzz: flip bytes of a rich image all over and walk every table.
#[test]
fn mutations_never_panic() {
    let mut b = kernel_image();
    b.imports.push(ImportDll {
        dll: "xen.sys".into(),
        symbols: alloc::vec![ImportSpec::Ordinal(1), ImportSpec::Name("LogPrintf".into())],
    });
    let good = b.build();
    assert_eq!(walk(&good).1, 0);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3000 {
        let mut bytes = good.clone();
        for _ in 0..=next() % 8 {
            let at = usize::try_from(next() % good.len() as u64).unwrap();
            let value = next();
            // Bias towards interesting values.
            bytes[at] = match value % 4 {
                0 => 0,
                1 => 0xff,
                2 => 0x80,
                _ => value.to_le_bytes()[1],
            };
        }
        walk(&bytes);
    }
}
