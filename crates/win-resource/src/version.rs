// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `VS_VERSIONINFO`: the version resource's data.
//!
//! A tree of blocks (`wLength`, `wValueLength`, `wType`, a NUL-terminated UTF-16 key, padding
//! to a DWORD, the value, padding, the children), as Microsoft documents the `VS_VERSIONINFO`
//! structure:
//!
//! ```text
//! VS_VERSION_INFO            value: VS_FIXEDFILEINFO (52 bytes)
//!   StringFileInfo
//!     040904B0               one string table: language 0x0409, code page 1200 (UTF-16)
//!       CompanyName = ...    text values, wValueLength in characters with the NUL
//!   VarFileInfo
//!     Translation            value: (language, code page) pairs
//! ```

use crate::Error;

/// `VS_FIXEDFILEINFO.dwSignature`.
pub const FIXED_SIGNATURE: u32 = 0xfeef_04bd;
/// `VS_FIXEDFILEINFO.dwStrucVersion`: 1.0.
pub const FIXED_STRUCT_VERSION: u32 = 0x0001_0000;
/// `VS_FFI_FILEFLAGSMASK`.
pub const FILE_FLAGS_MASK: u32 = 0x3f;
/// `VS_FF_DEBUG`.
pub const VS_FF_DEBUG: u32 = 0x1;
/// `VOS_NT_WINDOWS32`.
pub const VOS_NT_WINDOWS32: u32 = 0x0004_0004;
/// `VFT_DRV`.
pub const VFT_DRV: u32 = 3;
/// `VFT2_DRV_SYSTEM`.
pub const VFT2_DRV_SYSTEM: u32 = 7;
/// The code page of the string table: 1200, UTF-16LE.
pub const CODE_PAGE_UNICODE: u16 = 1200;

/// `VS_FIXEDFILEINFO` (signature and structure version are implied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixed {
    /// File version: major, minor, micro, build.
    pub file_version: [u16; 4],
    /// Product version, likewise.
    pub product_version: [u16; 4],
    /// `dwFileFlagsMask`.
    pub file_flags_mask: u32,
    /// `dwFileFlags`.
    pub file_flags: u32,
    /// `dwFileOS`.
    pub file_os: u32,
    /// `dwFileType`.
    pub file_type: u32,
    /// `dwFileSubtype`.
    pub file_subtype: u32,
}

/// A whole version resource: the fixed part and one string table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// The fixed part.
    pub fixed: Fixed,
    /// The string table's language (e.g. 0x0409); its code page is [`CODE_PAGE_UNICODE`].
    pub language: u16,
    /// The strings, in order (`CompanyName`, `FileDescription`, ...).
    pub strings: Vec<(String, String)>,
}

/// Pads `out` with zeros to a DWORD boundary (offsets in a version resource are relative to
/// its start, which is DWORD-aligned).
fn pad(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

fn utf16z(text: &str, what: &str) -> Result<Vec<u8>, Error> {
    if text.contains('\0') {
        return Err(Error::EmbeddedNul { what: what.into() });
    }
    Ok(text
        .encode_utf16()
        .chain(core::iter::once(0))
        .flat_map(u16::to_le_bytes)
        .collect())
}

fn to_u16(len: usize, what: &str) -> Result<u16, Error> {
    u16::try_from(len).map_err(|_| Error::TooLong {
        what: what.into(),
        len,
    })
}

/// The value of a block.
enum Value<'a> {
    /// No value.
    None,
    /// Binary: `wType` 0, `wValueLength` in bytes.
    Binary(&'a [u8]),
    /// Text: `wType` 1, `wValueLength` in UTF-16 units with the NUL.
    Text(&'a str),
}

/// One block: header, key, value, then the already-encoded `children` (each DWORD-aligned).
/// Its `wLength` counts everything but the padding after its last byte.
fn block(key: &str, value: &Value<'_>, children: &[Vec<u8>]) -> Result<Vec<u8>, Error> {
    let mut out = vec![0u8; 6];
    out.extend_from_slice(&utf16z(key, key)?);
    pad(&mut out);
    let (value_length, text) = match value {
        Value::None => (0, true),
        Value::Binary(bytes) => {
            out.extend_from_slice(bytes);
            (to_u16(bytes.len(), key)?, false)
        }
        Value::Text(text) => {
            let encoded = utf16z(text, key)?;
            out.extend_from_slice(&encoded);
            (to_u16(encoded.len() / 2, key)?, true)
        }
    };
    for child in children {
        pad(&mut out);
        out.extend_from_slice(child);
    }
    let length = to_u16(out.len(), key)?;
    let header = [length, value_length, u16::from(text)];
    for (slot, value) in out
        .iter_mut()
        .zip(header.iter().flat_map(|v| v.to_le_bytes()))
    {
        *slot = value;
    }
    Ok(out)
}

const fn pair(high: u16, low: u16) -> u32 {
    ((high as u32) << 16) | low as u32
}

impl Fixed {
    /// The 52 bytes of `VS_FIXEDFILEINFO` (file date zero, as `rc.exe` writes it).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let [fa, fb, fc, fd] = self.file_version;
        let [pa, pb, pc, pd] = self.product_version;
        [
            FIXED_SIGNATURE,
            FIXED_STRUCT_VERSION,
            pair(fa, fb),
            pair(fc, fd),
            pair(pa, pb),
            pair(pc, pd),
            self.file_flags_mask,
            self.file_flags,
            self.file_os,
            self.file_type,
            self.file_subtype,
            0,
            0,
        ]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect()
    }
}

impl VersionInfo {
    /// The string table's key: language and code page as eight hex digits (`040904B0`).
    #[must_use]
    pub fn table_key(&self) -> String {
        format!("{:04X}{:04X}", self.language, CODE_PAGE_UNICODE)
    }

    /// The resource data.
    ///
    /// # Errors
    /// [`Error::TooLong`] when a block outgrows its 16-bit length; [`Error::EmbeddedNul`] when a
    /// key or value holds a NUL.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let strings = self
            .strings
            .iter()
            .map(|(k, v)| block(k, &Value::Text(v), &[]))
            .collect::<Result<Vec<_>, _>>()?;
        let table = block(&self.table_key(), &Value::None, &strings)?;
        let string_file_info = block("StringFileInfo", &Value::None, &[table])?;
        let translation: Vec<u8> = [self.language, CODE_PAGE_UNICODE]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let var = block("Translation", &Value::Binary(&translation), &[])?;
        let var_file_info = block("VarFileInfo", &Value::None, &[var])?;
        let fixed = self.fixed.to_bytes();
        block(
            "VS_VERSION_INFO",
            &Value::Binary(&fixed),
            &[string_file_info, var_file_info],
        )
    }
}
