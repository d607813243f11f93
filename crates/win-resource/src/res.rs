// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The `.res` file format, what `rc.exe` writes and `cvtres`/`lld-link` read.
//!
//! A sequence of `RESOURCEHEADER` + data records, each DWORD-aligned, opened by an empty record that marks
//! the file as 32-bit. Types and names are written as ordinals (`0xFFFF`, id), the only form
//! the version resource needs.

use crate::Error;

/// `RT_VERSION`.
pub const RT_VERSION: u16 = 16;
/// `VS_VERSION_INFO`: the name (ordinal) of the version resource.
pub const VS_VERSION_INFO: u16 = 1;
/// `MAKELANGID(LANG_ENGLISH, SUBLANG_ENGLISH_US)`.
pub const LANG_EN_US: u16 = 0x0409;
/// `MOVEABLE | PURE`, the memory flags `rc.exe` gives a version resource.
pub const MEMORY_MOVEABLE_PURE: u16 = 0x0030;

/// The size of a header whose type and name are both ordinals.
const HEADER_SIZE: u32 = 32;

/// One resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// Its type (an ordinal, e.g. [`RT_VERSION`]).
    pub type_id: u16,
    /// Its name (an ordinal, e.g. [`VS_VERSION_INFO`]).
    pub name_id: u16,
    /// Its language (e.g. [`LANG_EN_US`]).
    pub language: u16,
    /// Its memory flags (e.g. [`MEMORY_MOVEABLE_PURE`]).
    pub memory_flags: u16,
    /// Its data.
    pub data: Vec<u8>,
}

fn header(out: &mut Vec<u8>, data_size: u32, r: Option<&Resource>) {
    let (type_id, name_id, flags, language) = r.map_or((0, 0, 0, 0), |r| {
        (r.type_id, r.name_id, r.memory_flags, r.language)
    });
    out.extend_from_slice(&data_size.to_le_bytes());
    out.extend_from_slice(&HEADER_SIZE.to_le_bytes());
    for ordinal in [type_id, name_id] {
        out.extend_from_slice(&0xffffu16.to_le_bytes());
        out.extend_from_slice(&ordinal.to_le_bytes());
    }
    out.extend_from_slice(&0u32.to_le_bytes()); // DataVersion
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&language.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // Version
    out.extend_from_slice(&0u32.to_le_bytes()); // Characteristics
}

/// The `.res` file holding `resources`, in order.
///
/// # Errors
/// [`Error::TooLong`] when a resource's data does not fit the 32-bit size field.
pub fn res_file(resources: &[Resource]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    header(&mut out, 0, None);
    for r in resources {
        let size = u32::try_from(r.data.len()).map_err(|_| Error::TooLong {
            what: format!("resource {}/{}", r.type_id, r.name_id),
            len: r.data.len(),
        })?;
        header(&mut out, size, Some(r));
        out.extend_from_slice(&r.data);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn file_opens_with_the_empty_32_bit_marker_record() {
        let file = res_file(&[]).unwrap();
        assert_eq!(
            file,
            [
                0, 0, 0, 0, 0x20, 0, 0, 0, 0xff, 0xff, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0, 0, 0, 0, 0, 0, 0
            ]
        );
    }

    #[test]
    fn record_carries_ordinals_flags_language_and_padded_data() {
        let file = res_file(&[Resource {
            type_id: RT_VERSION,
            name_id: VS_VERSION_INFO,
            language: LANG_EN_US,
            memory_flags: MEMORY_MOVEABLE_PURE,
            data: vec![1, 2, 3, 4, 5],
        }])
        .unwrap();
        let r = &file[32..];
        assert_eq!(u32_at(r, 0), 5, "DataSize");
        assert_eq!(u32_at(r, 4), 32, "HeaderSize");
        assert_eq!(&r[8..16], &[0xff, 0xff, 16, 0, 0xff, 0xff, 1, 0]);
        assert_eq!(&r[20..22], &[0x30, 0], "MemoryFlags");
        assert_eq!(&r[22..24], &[0x09, 0x04], "LanguageId");
        assert_eq!(&r[32..37], &[1, 2, 3, 4, 5]);
        assert_eq!(r.len(), 40, "data padded to a DWORD");
    }
}
