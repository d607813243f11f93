// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The symbols an import library (an `ar` archive such as mingw-w64's `libntoskrnl.a`) makes
//! importable.
//!
//! Both kinds of import library are understood: binutils' `dlltool` (what Debian's
//! mingw-w64-x86-64-dev ships) writes one small COFF object per routine, and LLVM and
//! Microsoft tools write short import objects (`Sig1 = 0`, `Sig2 = 0xFFFF`, then the symbol and
//! DLL names). Either way the archive's symbol index lists `__imp_<Name>` for every imported
//! routine or data export (the import address table slot), which is what is read here; short
//! import objects are read as well, so an archive without an index still works.

use std::collections::BTreeSet;

/// The names an import library imports: every `__imp_<Name>` of its symbol index, and the
/// symbol of every short import object, without the `__imp_` prefix.
///
/// # Errors
/// When `bytes` is not an `ar` archive or a member header is malformed.
pub fn imported_names(bytes: &[u8]) -> Result<BTreeSet<String>, String> {
    let mut rest = bytes
        .strip_prefix(b"!<arch>\n")
        .ok_or("not an ar archive (no !<arch> signature)")?;
    let mut names = BTreeSet::new();
    let mut offset = 8usize;
    let mut seen_index = false;
    while !rest.is_empty() {
        let header = rest
            .get(..60)
            .ok_or_else(|| format!("member header at offset {offset} is truncated"))?;
        if header.get(58..60) != Some(b"`\n") {
            return Err(format!(
                "member header at offset {offset} has no `\\n terminator"
            ));
        }
        let name = String::from_utf8_lossy(header.get(..16).unwrap_or_default());
        let name = name.trim_end();
        let size = std::str::from_utf8(header.get(48..58).unwrap_or_default())
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .ok_or_else(|| format!("member at offset {offset} has a bad size field"))?;
        let data = rest
            .get(60..)
            .and_then(|d| d.get(..size))
            .ok_or_else(|| format!("member at offset {offset} runs past the end"))?;
        match name {
            // The first `/` is the GNU/System V index (big-endian 32-bit offsets); a second one
            // is Microsoft's little-endian index, which lists the same symbols.
            "/" if !seen_index => {
                index_symbols(data, 4, &mut names)?;
                seen_index = true;
            }
            "/SYM64/" => {
                index_symbols(data, 8, &mut names)?;
                seen_index = true;
            }
            _ => {
                if let Some(symbol) = short_import_symbol(data) {
                    names.insert(symbol);
                }
            }
        }
        let advance = 60usize
            .checked_add(size)
            .and_then(|n| n.checked_add(size % 2))
            .ok_or("archive member size overflows")?;
        rest = rest.get(advance..).unwrap_or_default();
        offset = offset.saturating_add(advance);
    }
    Ok(names)
}

/// The `__imp_` symbols of a GNU symbol index whose count and offsets are `width` bytes each.
fn index_symbols(data: &[u8], width: usize, names: &mut BTreeSet<String>) -> Result<(), String> {
    let read = |at: usize| -> Option<usize> {
        let b = data.get(at..at.checked_add(width)?)?;
        let v = b.iter().fold(0u64, |v, &byte| v << 8 | u64::from(byte));
        usize::try_from(v).ok()
    };
    let count = read(0).ok_or("symbol index is truncated")?;
    let strings_at = count
        .checked_add(1)
        .and_then(|n| n.checked_mul(width))
        .filter(|&at| at <= data.len())
        .ok_or("symbol index count exceeds its member")?;
    let strings = data.get(strings_at..).unwrap_or_default();
    for symbol in strings.split(|&b| b == 0).take(count) {
        if let Some(name) = symbol.strip_prefix(b"__imp_") {
            names.insert(String::from_utf8_lossy(name).into_owned());
        }
    }
    Ok(())
}

/// The symbol of a short import object (`IMPORT_OBJECT_HEADER`: `Sig1` 0, `Sig2` 0xFFFF, 20
/// bytes, then the symbol name and the DLL name, NUL-terminated), without `__imp_`.
fn short_import_symbol(data: &[u8]) -> Option<String> {
    if data.get(..4)? != [0, 0, 0xff, 0xff] {
        return None;
    }
    let names = data.get(20..)?;
    let symbol = names.split(|&b| b == 0).next()?;
    let symbol = symbol.strip_prefix(b"__imp_").unwrap_or(symbol);
    (!symbol.is_empty()).then(|| String::from_utf8_lossy(symbol).into_owned())
}

/// Whether `bytes` contains `needle`, ignoring ASCII case (the DLL name a `dlltool` import
/// library stores in its `.idata$7` member).
#[must_use]
pub fn contains_ignore_case(bytes: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    !needle.is_empty()
        && bytes
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, data: &[u8]) -> Vec<u8> {
        let mut m = format!(
            "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            0,
            0,
            0,
            644,
            data.len()
        )
        .into_bytes();
        m.extend_from_slice(data);
        if data.len() % 2 == 1 {
            m.push(b'\n');
        }
        m
    }

    fn short_import(symbol: &str, dll: &str) -> Vec<u8> {
        let mut d = vec![0, 0, 0xff, 0xff, 0, 0, 0x64, 0x86];
        d.extend_from_slice(&[0; 12]);
        d.extend_from_slice(symbol.as_bytes());
        d.push(0);
        d.extend_from_slice(dll.as_bytes());
        d.push(0);
        d
    }

    #[test]
    fn gnu_index_and_short_import_objects() {
        let symbols = [
            "__imp_KeBugCheckEx",
            "KeBugCheckEx",
            "__imp_KeTickCount",
            "_head_x",
        ];
        let mut index = u32::try_from(symbols.len()).unwrap().to_be_bytes().to_vec();
        for _ in symbols {
            index.extend_from_slice(&0u32.to_be_bytes());
        }
        for s in symbols {
            index.extend_from_slice(s.as_bytes());
            index.push(0);
        }
        let mut ar = b"!<arch>\n".to_vec();
        ar.extend(member("/", &index));
        ar.extend(member("ntoskrnl.o/", b"ntoskrnl.exe\0"));
        ar.extend(member(
            "x.obj/",
            &short_import("RtlZeroMemory", "ntoskrnl.exe"),
        ));
        let names = imported_names(&ar).unwrap();
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            ["KeBugCheckEx", "KeTickCount", "RtlZeroMemory"]
        );
        assert!(contains_ignore_case(&ar, "NTOSKRNL.EXE"));
        assert!(!contains_ignore_case(&ar, "hal.dll"));
    }

    #[test]
    fn malformed_archives_are_errors() {
        assert!(imported_names(b"not an archive").is_err());
        let mut ar = b"!<arch>\n".to_vec();
        ar.extend(member("x.o/", b"abcd"));
        ar.truncate(ar.len() - 2);
        assert!(
            imported_names(&ar)
                .unwrap_err()
                .contains("runs past the end")
        );
        let mut ar = b"!<arch>\n".to_vec();
        ar.extend(member("/", &u32::MAX.to_be_bytes()));
        assert!(imported_names(&ar).unwrap_err().contains("count"));
        assert!(imported_names(b"!<arch>\nshort").is_err());
    }
}
