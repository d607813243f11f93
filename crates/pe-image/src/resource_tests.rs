// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Tests of the resource directory and version resource readers: what `win-resource` writes
//! reads back exactly, and hostile trees and blocks end in errors, never in a panic or a loop.

use alloc::string::ToString;
use alloc::vec::Vec;

use crate::builder::ImageBuilder;
use crate::version::VersionInfo;
use crate::*;

fn sample() -> win_resource::version::VersionInfo {
    use win_resource::version as v;
    v::VersionInfo {
        fixed: v::Fixed {
            file_version: [9, 1, 0, 42],
            product_version: [9, 1, 0, 42],
            file_flags_mask: v::FILE_FLAGS_MASK,
            file_flags: 0,
            file_os: v::VOS_NT_WINDOWS32,
            file_type: v::VFT_DRV,
            file_subtype: v::VFT2_DRV_SYSTEM,
        },
        language: 0x0409,
        strings: [
            ("CompanyName", "Xen Project"),
            ("FileDescription", "XEN"),
            ("FileVersion", "9.1.0.42"),
            ("OriginalFilename", "XEN.SYS"),
        ]
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect(),
    }
}

fn blob() -> Vec<u8> {
    sample().to_bytes().unwrap()
}

fn image_with(resources: Vec<(u16, u16, u16, Vec<u8>)>) -> Vec<u8> {
    let mut b = ImageBuilder::driver();
    b.resources = resources;
    b.build()
}

fn rsrc_offset(bytes: &[u8]) -> usize {
    let image = PeImage::parse(bytes).unwrap();
    let dir = image.data_directory(directory::RESOURCE).unwrap();
    image.rva_to_offset(dir.rva).unwrap()
}

/// Walks everything the readers offer; must terminate without panicking.
fn walk(bytes: &[u8]) -> usize {
    let mut seen = 0;
    let Ok(image) = PeImage::parse(bytes) else {
        return 0;
    };
    let Ok(Some(res)) = image.resources() else {
        return 0;
    };
    if let Ok(root) = res.root() {
        for e in root.entries().flatten() {
            seen += 1;
            if let ResourceTarget::Directory(d) = e.target {
                seen += d.entries().count();
            }
        }
    }
    if let Ok(Some(data)) = res.version() {
        seen += walk_version(data);
    }
    seen
}

fn walk_version(data: &[u8]) -> usize {
    VersionInfo::parse(data).map_or(0, |v| {
        let _ = v.translation();
        let _ = v.string("CompanyName");
        v.strings().take(10_000).count()
    })
}

#[test]
fn version_resource_reads_back_what_was_written() {
    let image = image_with(alloc::vec![(RT_VERSION, 1, 0x0409, blob())]);
    let image = PeImage::parse(&image).unwrap();
    let data = image
        .resources()
        .unwrap()
        .unwrap()
        .version()
        .unwrap()
        .unwrap();
    assert_eq!(data, blob().as_slice());
    let v = VersionInfo::parse(data).unwrap();
    assert_eq!(v.fixed.file_version, [9, 1, 0, 42]);
    assert_eq!(v.fixed.product_version, [9, 1, 0, 42]);
    assert_eq!(v.fixed.struct_version, 0x0001_0000);
    assert_eq!((v.fixed.file_type, v.fixed.file_subtype), (3, 7));
    assert_eq!(v.fixed.file_os, 0x0004_0004);
    let strings: Vec<_> = v
        .strings()
        .map(|s| {
            let s = s.unwrap();
            (s.table.to_string(), s.key.to_string(), s.value.to_string())
        })
        .collect();
    let expected: Vec<_> = sample()
        .strings
        .iter()
        .map(|(k, v)| ("040904B0".to_string(), k.clone(), v.clone()))
        .collect();
    assert_eq!(strings, expected);
    assert_eq!(
        v.string("OriginalFilename").unwrap().unwrap().to_string(),
        "XEN.SYS"
    );
    assert_eq!(v.string("ProductName").unwrap(), None);
    assert_eq!(v.translation().unwrap(), Some((0x0409, 1200)));
}

#[test]
fn tree_levels_are_found_by_ordinal_and_first_entry() {
    let image = image_with(alloc::vec![
        (3, 7, 0x0409, alloc::vec![1, 2, 3]),
        (RT_VERSION, 1, 0x0407, blob()),
        (RT_VERSION, 1, 0x0409, alloc::vec![9; 8]),
    ]);
    let image = PeImage::parse(&image).unwrap();
    let res = image.resources().unwrap().unwrap();
    assert_eq!(res.root().unwrap().len(), 2);
    assert_eq!(res.find(3, Some(7)).unwrap().unwrap().bytes, &[1, 2, 3]);
    assert_eq!(res.find(3, Some(8)).unwrap(), None);
    assert_eq!(res.find(4, None).unwrap(), None);
    // The first language wins.
    assert_eq!(res.version().unwrap().unwrap(), blob().as_slice());
}

#[test]
fn image_without_resources_has_none() {
    let image = ImageBuilder::driver().build();
    assert!(
        PeImage::parse(&image)
            .unwrap()
            .resources()
            .unwrap()
            .is_none()
    );
}

#[test]
fn entry_count_past_the_directory_is_an_error() {
    let mut bytes = image_with(alloc::vec![(RT_VERSION, 1, 0x0409, blob())]);
    let at = rsrc_offset(&bytes);
    bytes[at + 14..at + 16].copy_from_slice(&0xffffu16.to_le_bytes());
    let image = PeImage::parse(&bytes).unwrap();
    let err = image.resources().unwrap().unwrap().version().unwrap_err();
    assert_eq!(
        err.field(),
        "resource directory entries (past the directory's end)"
    );
}

#[test]
fn a_tree_pointing_back_at_its_root_ends_in_an_error() {
    let mut bytes = image_with(alloc::vec![(RT_VERSION, 1, 0x0409, blob())]);
    let at = rsrc_offset(&bytes);
    // The type entry's subdirectory is the root itself: every level finds the same entry,
    // and the language level must be data.
    bytes[at + 20..at + 24].copy_from_slice(&0x8000_0000u32.to_le_bytes());
    let image = PeImage::parse(&bytes).unwrap();
    let err = image.resources().unwrap().unwrap().version().unwrap_err();
    assert_eq!(
        err.field(),
        "resource language entry (a directory, not data)"
    );
}

#[test]
fn data_past_its_section_is_an_error() {
    let mut bytes = image_with(alloc::vec![(RT_VERSION, 1, 0x0409, blob())]);
    let image = PeImage::parse(&bytes).unwrap();
    let res = image.resources().unwrap().unwrap();
    let data = res.version().unwrap().unwrap();
    let data_rva = res.find(RT_VERSION, None).unwrap().unwrap().rva;
    let entry = (0..bytes.len() - 8)
        .find(|&i| {
            bytes[i..i + 4] == data_rva.to_le_bytes()
                && bytes[i + 4..i + 8] == u32::try_from(data.len()).unwrap().to_le_bytes()
        })
        .unwrap();
    bytes[entry + 4..entry + 8].copy_from_slice(&0x10_0000u32.to_le_bytes());
    let image = PeImage::parse(&bytes).unwrap();
    let err = image.resources().unwrap().unwrap().version().unwrap_err();
    assert_eq!(err.field(), "resource data");
}

#[test]
fn version_blocks_must_stay_inside_their_parent() {
    let good = blob();
    // Root length past the data.
    let mut b = good.clone();
    b[0..2].copy_from_slice(&u16::try_from(good.len() + 4).unwrap().to_le_bytes());
    assert_eq!(
        VersionInfo::parse(&b).unwrap_err().field(),
        "VS_VERSIONINFO wLength (outside its parent)"
    );
    // A zero length.
    let mut b = good.clone();
    b[0..2].copy_from_slice(&0u16.to_le_bytes());
    assert!(VersionInfo::parse(&b).is_err());
    // Not VS_VERSION_INFO.
    let mut b = good.clone();
    b[6] = b'W';
    assert_eq!(
        VersionInfo::parse(&b).unwrap_err().field(),
        "VS_VERSIONINFO szKey (not VS_VERSION_INFO)"
    );
    // A bad signature.
    let mut b = good.clone();
    let sig = b
        .windows(4)
        .position(|w| w == 0xfeef_04bdu32.to_le_bytes())
        .unwrap();
    b[sig] ^= 1;
    assert_eq!(
        VersionInfo::parse(&b).unwrap_err().field(),
        "VS_FIXEDFILEINFO dwSignature"
    );
    // A child shorter than a block header.
    let mut b = good.clone();
    let child = 40 + 52; // header and "VS_VERSION_INFO\0" padded to a DWORD, the fixed info
    b[child..child + 2].copy_from_slice(&2u16.to_le_bytes());
    let v = VersionInfo::parse(&b).unwrap();
    assert_eq!(
        v.strings().next().unwrap().unwrap_err().field(),
        "VS_VERSIONINFO wLength (outside its parent)"
    );
    assert!(
        v.strings().nth(1).is_none(),
        "the walk stops after an error"
    );
    // Truncated data.
    for len in [0, 1, 5, 6, 40, 90] {
        assert!(VersionInfo::parse(&good[..len]).is_err(), "length {len}");
    }
}

#[test]
fn every_single_byte_corruption_of_the_resource_terminates() {
    let good = image_with(alloc::vec![(RT_VERSION, 1, 0x0409, blob())]);
    let at = rsrc_offset(&good);
    let len = 0x60 + blob().len();
    for i in at..at + len {
        for v in [0x00, 0x01, 0x7f, 0x80, 0xff] {
            let mut b = good.clone();
            b[i] = v;
            let _ = walk(&b);
        }
    }
    let data = blob();
    for i in 0..data.len() {
        for v in [0x00, 0x02, 0x7f, 0xff] {
            let mut b = data.clone();
            b[i] = v;
            let _ = walk_version(&b);
        }
    }
}
