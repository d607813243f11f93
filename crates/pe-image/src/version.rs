// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The version resource's data (`VS_VERSIONINFO`).
//!
//! A tree of blocks, each `wLength`,
//! `wValueLength`, `wType`, a NUL-terminated UTF-16 key, padding to a DWORD, the value,
//! padding, then child blocks, every one DWORD-aligned from the start of the resource. The
//! root's value is `VS_FIXEDFILEINFO`; its children are `StringFileInfo` (string tables of
//! `Key = Value` text pairs, one per language and code page) and `VarFileInfo`.
//!
//! Every block must lie inside its parent and be at least its own header long, so each step
//! of a walk moves forward and ends inside the resource; text is handed out as [`Utf16`]
//! views of the resource's bytes (no allocation).

use core::fmt;

use crate::{Error, Result};

/// `VS_FIXEDFILEINFO.dwSignature`.
pub const FIXED_SIGNATURE: u32 = 0xfeef_04bd;
/// The size of `VS_FIXEDFILEINFO`.
pub const FIXED_SIZE: usize = 52;

/// The block header: `wLength`, `wValueLength`, `wType`.
const HEADER: usize = 6;

/// `VS_FIXEDFILEINFO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedFileInfo {
    /// `dwStrucVersion`.
    pub struct_version: u32,
    /// `dwFileVersionMS`/`LS` as four parts (major, minor, micro, build).
    pub file_version: [u16; 4],
    /// `dwProductVersionMS`/`LS`, likewise.
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

/// UTF-16LE text inside the resource, without its terminating NUL.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Utf16<'a>(&'a [u8]);

impl<'a> Utf16<'a> {
    /// The raw UTF-16LE bytes.
    #[must_use]
    pub const fn bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The UTF-16 code units.
    pub fn units(&self) -> impl Iterator<Item = u16> + 'a {
        self.0.chunks_exact(2).map(|p| {
            u16::from_le_bytes([
                p.first().copied().unwrap_or(0),
                p.last().copied().unwrap_or(0),
            ])
        })
    }

    /// Whether the text equals `text`.
    #[must_use]
    pub fn eq_str(&self, text: &str) -> bool {
        self.units().eq(text.encode_utf16())
    }
}

impl fmt::Display for Utf16<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in char::decode_utf16(self.units()) {
            fmt::Write::write_char(f, c.unwrap_or(char::REPLACEMENT_CHARACTER))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Utf16<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// One block, located in the resource.
#[derive(Debug, Clone, Copy)]
struct Block<'a> {
    key: Utf16<'a>,
    /// `wType`: 1 for text.
    text: bool,
    /// The value's bytes (text without its NUL, trailing NULs trimmed).
    value: &'a [u8],
    /// Where the children start and where the block ends, as offsets in the resource.
    children: usize,
    end: usize,
}

const fn align4(x: usize) -> Option<usize> {
    match x.checked_add(3) {
        Some(v) => Some(v & !3),
        None => None,
    }
}

fn u16_at(data: &[u8], at: usize, field: &'static str) -> Result<u16> {
    crate::u16_at(data, at, field)
}

/// The block at offset `at`, which must end by `limit`.
fn block(data: &[u8], at: usize, limit: usize) -> Result<Block<'_>> {
    let length = usize::from(u16_at(data, at, "VS_VERSIONINFO wLength")?);
    let value_length = usize::from(u16_at(
        data,
        at.saturating_add(2),
        "VS_VERSIONINFO wValueLength",
    )?);
    let kind = u16_at(data, at.saturating_add(4), "VS_VERSIONINFO wType")?;
    let end = at
        .checked_add(length)
        .filter(|&e| e <= limit && length >= HEADER)
        .ok_or(Error::BadValue {
            field: "VS_VERSIONINFO wLength (outside its parent)",
            offset: at,
            value: length as u64,
        })?;
    let body = data.get(..end).ok_or(Error::Truncated {
        field: "VS_VERSIONINFO block",
        offset: at,
        len: length,
        file_len: data.len(),
    })?;
    // The key: UTF-16 up to its NUL, inside the block.
    let key_start = at.saturating_add(HEADER);
    let mut key_end = key_start;
    loop {
        let unit = u16_at(
            body,
            key_end,
            "VS_VERSIONINFO szKey (no NUL inside its block)",
        )?;
        if unit == 0 {
            break;
        }
        key_end = key_end.saturating_add(2);
    }
    let key = Utf16(body.get(key_start..key_end).unwrap_or_default());
    let value_start = align4(key_end.saturating_add(2))
        .unwrap_or(usize::MAX)
        .min(end);
    let text = kind == 1;
    let value_bytes = if text {
        value_length.saturating_mul(2)
    } else {
        value_length
    };
    let value_end = value_start.saturating_add(value_bytes);
    if value_end > end {
        return Err(Error::BadValue {
            field: "VS_VERSIONINFO wValueLength (past its block)",
            offset: at.saturating_add(2),
            value: value_length as u64,
        });
    }
    let mut value = body.get(value_start..value_end).unwrap_or_default();
    if text {
        while let [rest @ .., 0, 0] = value {
            value = rest;
        }
    }
    let children = align4(value_end).unwrap_or(usize::MAX).min(end);
    Ok(Block {
        key,
        text,
        value,
        children,
        end,
    })
}

/// The child blocks of a block, in order; stops after the first error.
#[derive(Clone)]
struct Children<'a> {
    data: &'a [u8],
    at: usize,
    end: usize,
    failed: bool,
}

impl<'a> Children<'a> {
    const fn of(data: &'a [u8], parent: &Block<'a>) -> Self {
        Self {
            data,
            at: parent.children,
            end: parent.end,
            failed: false,
        }
    }
}

impl<'a> Iterator for Children<'a> {
    type Item = Result<Block<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let at = align4(self.at)?;
        if self.failed || at >= self.end {
            return None;
        }
        let b = block(self.data, at, self.end);
        match &b {
            // wLength is at least the header, so each step moves forward.
            Ok(b) => self.at = b.end,
            Err(_) => self.failed = true,
        }
        Some(b)
    }
}

/// One string of a string table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionString<'a> {
    /// The table's key: language and code page as eight hex digits (`040904B0`).
    pub table: Utf16<'a>,
    /// The name (`CompanyName`).
    pub key: Utf16<'a>,
    /// The text.
    pub value: Utf16<'a>,
}

/// A parsed version resource.
#[derive(Debug, Clone, Copy)]
pub struct VersionInfo<'a> {
    data: &'a [u8],
    root: Block<'a>,
    /// Its `VS_FIXEDFILEINFO`.
    pub fixed: FixedFileInfo,
}

impl<'a> VersionInfo<'a> {
    /// Parses the root block: key `VS_VERSION_INFO`, a binary `VS_FIXEDFILEINFO` value with
    /// its signature. Children are read lazily.
    ///
    /// # Errors
    /// When the root block leaves the data, its key is not `VS_VERSION_INFO`, or its value is
    /// not a `VS_FIXEDFILEINFO`.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        let root = block(data, 0, data.len())?;
        if !root.key.eq_str("VS_VERSION_INFO") {
            return Err(Error::BadValue {
                field: "VS_VERSIONINFO szKey (not VS_VERSION_INFO)",
                offset: HEADER,
                value: 0,
            });
        }
        if root.text || root.value.len() != FIXED_SIZE {
            return Err(Error::BadValue {
                field: "VS_VERSIONINFO Value (not a VS_FIXEDFILEINFO)",
                offset: 2,
                value: root.value.len() as u64,
            });
        }
        let value = root.value;
        let word = |i: usize| crate::u32_at(value, i.saturating_mul(4), "VS_FIXEDFILEINFO");
        let signature = word(0)?;
        if signature != FIXED_SIGNATURE {
            return Err(Error::BadSignature {
                field: "VS_FIXEDFILEINFO dwSignature",
                offset: 0,
                found: signature,
            });
        }
        let split = |ms: u32, ls: u32| {
            [ms >> 16, ms & 0xffff, ls >> 16, ls & 0xffff]
                .map(|part| u16::try_from(part).unwrap_or(u16::MAX))
        };
        let fixed = FixedFileInfo {
            struct_version: word(1)?,
            file_version: split(word(2)?, word(3)?),
            product_version: split(word(4)?, word(5)?),
            file_flags_mask: word(6)?,
            file_flags: word(7)?,
            file_os: word(8)?,
            file_type: word(9)?,
            file_subtype: word(10)?,
        };
        Ok(Self { data, root, fixed })
    }

    /// Every string of every string table under `StringFileInfo`, in order; stops after the
    /// first malformed block.
    #[must_use]
    pub const fn strings(&self) -> VersionStrings<'a> {
        VersionStrings {
            data: self.data,
            top: Children::of(self.data, &self.root),
            tables: None,
            table: Utf16(&[]),
            strings: None,
            failed: false,
        }
    }

    /// The first string called `key` in any string table.
    ///
    /// # Errors
    /// The first malformed block met before it.
    pub fn string(&self, key: &str) -> Result<Option<Utf16<'a>>> {
        for s in self.strings() {
            let s = s?;
            if s.key.eq_str(key) {
                return Ok(Some(s.value));
            }
        }
        Ok(None)
    }

    /// The first (language, code page) pair of `VarFileInfo\Translation`.
    ///
    /// # Errors
    /// The first malformed block met before it.
    pub fn translation(&self) -> Result<Option<(u16, u16)>> {
        for top in Children::of(self.data, &self.root) {
            let top = top?;
            if !top.key.eq_str("VarFileInfo") {
                continue;
            }
            for var in Children::of(self.data, &top) {
                let var = var?;
                if var.key.eq_str("Translation") {
                    let language = crate::u16_at(var.value, 0, "Translation language");
                    let code_page = crate::u16_at(var.value, 2, "Translation code page");
                    return Ok(language.ok().zip(code_page.ok()));
                }
            }
        }
        Ok(None)
    }
}

/// The strings of a version resource ([`VersionInfo::strings`]).
#[derive(Clone)]
pub struct VersionStrings<'a> {
    data: &'a [u8],
    /// The root's children (`StringFileInfo`, `VarFileInfo`).
    top: Children<'a>,
    /// The current `StringFileInfo`'s tables.
    tables: Option<Children<'a>>,
    /// The current table's key.
    table: Utf16<'a>,
    /// The current table's strings.
    strings: Option<Children<'a>>,
    failed: bool,
}

impl<'a> Iterator for VersionStrings<'a> {
    type Item = Result<VersionString<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        // Each turn advances one of the three walks, and each walk only moves forward.
        loop {
            if self.failed {
                return None;
            }
            if let Some(strings) = &mut self.strings {
                match strings.next() {
                    Some(Ok(b)) => {
                        return Some(Ok(VersionString {
                            table: self.table,
                            key: b.key,
                            value: Utf16(b.value),
                        }));
                    }
                    Some(Err(e)) => {
                        self.failed = true;
                        return Some(Err(e));
                    }
                    None => self.strings = None,
                }
                continue;
            }
            if let Some(tables) = &mut self.tables {
                match tables.next() {
                    Some(Ok(b)) => {
                        self.table = b.key;
                        self.strings = Some(Children::of(self.data, &b));
                    }
                    Some(Err(e)) => {
                        self.failed = true;
                        return Some(Err(e));
                    }
                    None => self.tables = None,
                }
                continue;
            }
            match self.top.next()? {
                Ok(b) => {
                    if b.key.eq_str("StringFileInfo") {
                        self.tables = Some(Children::of(self.data, &b));
                    }
                }
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

impl core::iter::FusedIterator for VersionStrings<'_> {}
