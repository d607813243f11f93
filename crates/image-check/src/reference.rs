// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The reference list of real kernel exports that imports from `ntoskrnl.exe` and `HAL.dll`
//! are checked against, and the `XEN_API` list of `crates/xen/include/xen.h`.
//!
//! Kernel exports come from mingw-w64's import libraries (Debian package
//! `mingw-w64-x86-64-dev`), whose symbol lists are generated from the export tables of the real
//! `ntoskrnl.exe` and `hal.dll`, plus a checked-in supplement for routines newer than mingw's
//! list (`kernel-exports-extra.txt`; each line names a routine and cites its source).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use crate::archive;

/// The two kernel DLLs a driver may import from, as the checks spell them.
pub const NTOSKRNL: &str = "ntoskrnl.exe";
/// See [`NTOSKRNL`].
pub const HAL: &str = "HAL.dll";

/// The Debian package that ships the import libraries.
pub const MINGW_PACKAGE: &str = "mingw-w64-x86-64-dev";
/// Where that package puts them.
pub const MINGW_LIB_DIR: &str = "/usr/x86_64-w64-mingw32/lib";

/// Where part of the reference came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The file read.
    pub path: String,
    /// What it contributes to (`ntoskrnl.exe`, `HAL.dll`, or both for the supplement).
    pub what: String,
    /// How many names it contributed.
    pub names: usize,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} {} names", self.path, self.names, self.what)
    }
}

/// The routines (and data) the real kernel exports, per DLL.
#[derive(Debug, Clone, Default)]
pub struct KernelExports {
    /// Lower-case DLL name to exported names.
    names: BTreeMap<String, BTreeSet<String>>,
    /// Where they came from, in reading order.
    pub sources: Vec<Source>,
}

impl KernelExports {
    /// An empty reference (tests add names with [`Self::add`]).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `names` as exports of `dll`.
    pub fn add<I, S>(&mut self, dll: &str, names: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.names
            .entry(dll.to_ascii_lowercase())
            .or_default()
            .extend(names.into_iter().map(Into::into));
    }

    /// Whether `dll` (any case) exports `name`.
    #[must_use]
    pub fn exports(&self, dll: &str, name: &str) -> bool {
        self.names
            .get(&dll.to_ascii_lowercase())
            .is_some_and(|set| set.contains(name))
    }

    /// How many names the reference holds for `dll`.
    #[must_use]
    pub fn count(&self, dll: &str) -> usize {
        self.names
            .get(&dll.to_ascii_lowercase())
            .map_or(0, BTreeSet::len)
    }

    /// Reads mingw-w64's `libntoskrnl.a` and `libhal.a` from `lib_dir` and the supplement at
    /// `extra` (shown as `extra_display`).
    ///
    /// # Errors
    /// A missing library (the message names the Debian package), an unreadable or malformed
    /// archive, an archive that does not name its DLL, or a bad supplement line.
    pub fn load(lib_dir: &Path, extra: &Path, extra_display: &str) -> Result<Self, String> {
        let mut reference = Self::new();
        for (file, dll) in [("libntoskrnl.a", NTOSKRNL), ("libhal.a", HAL)] {
            let path = lib_dir.join(file);
            let bytes = std::fs::read(&path).map_err(|e| {
                format!(
                    "{}: {e}: the kernel export reference needs mingw-w64's import libraries \
                     (Debian package {MINGW_PACKAGE})",
                    path.display()
                )
            })?;
            let names =
                archive::imported_names(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            if names.is_empty() || !archive::contains_ignore_case(&bytes, dll) {
                return Err(format!(
                    "{}: not an import library of {dll} ({} names)",
                    path.display(),
                    names.len()
                ));
            }
            reference.sources.push(Source {
                path: path.display().to_string(),
                what: dll.to_owned(),
                names: names.len(),
            });
            reference.add(dll, names);
        }
        let text =
            std::fs::read_to_string(extra).map_err(|e| format!("{}: {e}", extra.display()))?;
        let extras = parse_extra(&text).map_err(|e| format!("{extra_display}: {e}"))?;
        reference.sources.push(Source {
            path: extra_display.to_owned(),
            what: "supplementary".to_owned(),
            names: extras.len(),
        });
        for (dll, name) in extras {
            reference.add(&dll, [name]);
        }
        Ok(reference)
    }
}

/// The default directory of mingw-w64's import libraries (`MINGW_LIB_DIR` in the environment
/// overrides it).
#[must_use]
pub fn mingw_lib_dir() -> PathBuf {
    std::env::var_os("MINGW_LIB_DIR").map_or_else(|| PathBuf::from(MINGW_LIB_DIR), PathBuf::from)
}

/// The supplement's entries as (DLL, name).
///
/// A line is `Name  # source: <where it is documented>` or `HAL.dll!Name  # source: ...` (a
/// bare name is an `ntoskrnl.exe` export); blank lines and lines starting with `#` are ignored.
///
/// # Errors
/// A line without a `# source:` citation, with a malformed name, or naming another DLL.
pub fn parse_extra(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut entries = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = number.saturating_add(1);
        let (entry, comment) = line.split_once('#').unwrap_or((line, ""));
        let source = comment.trim().strip_prefix("source:").map(str::trim);
        if source.is_none_or(str::is_empty) {
            return Err(format!("line {at}: no `# source: ...` citation"));
        }
        let entry = entry.trim();
        let (dll, name) = entry.split_once('!').unwrap_or((NTOSKRNL, entry));
        let dll = if dll.eq_ignore_ascii_case(NTOSKRNL) {
            NTOSKRNL
        } else if dll.eq_ignore_ascii_case(HAL) {
            HAL
        } else {
            return Err(format!("line {at}: {dll} is neither {NTOSKRNL} nor {HAL}"));
        };
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'@');
        if !valid {
            return Err(format!("line {at}: `{name}` is not a routine name"));
        }
        entries.push((dll.to_owned(), name.to_owned()));
    }
    Ok(entries)
}

/// The functions a C header declares with `XEN_API`: lines starting `XEN_API <type> <Name>(`,
/// in order.
///
/// Read independently of the build's own copy of this rule, so the audit does not inherit a
/// mistake of the build.
#[must_use]
pub fn xen_api_names(header: &str) -> Vec<String> {
    header
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("XEN_API ")?;
            let (before, _) = rest.split_once('(')?;
            let mut words = before.split_whitespace();
            let name = words.next_back()?.trim_start_matches('*');
            // A type and a name.
            words.next()?;
            (!name.is_empty()).then(|| name.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_lines_need_a_source() {
        let text = "# comment\n\nExAllocatePool2  # source: ExAllocatePool2 function (wdm.h), \
                    Windows 10 version 2004\nhal.dll!HalFoo # source: x\n";
        assert_eq!(
            parse_extra(text).unwrap(),
            [
                (NTOSKRNL.to_owned(), "ExAllocatePool2".to_owned()),
                (HAL.to_owned(), "HalFoo".to_owned())
            ]
        );
        assert!(parse_extra("Foo\n").unwrap_err().contains("line 1"));
        assert!(parse_extra("Foo # source:\n").is_err());
        assert!(parse_extra("Foo # seen somewhere\n").is_err());
        assert!(
            parse_extra("kernel32.dll!Foo # source: x\n")
                .unwrap_err()
                .contains("kernel32")
        );
        assert!(parse_extra("Foo Bar # source: x\n").is_err());
        assert!(parse_extra("").unwrap().is_empty());
    }

    #[test]
    fn xen_api_from_declarations_only() {
        let h = "#ifndef XEN_API\n#define XEN_API __declspec(dllimport)\n#endif\n\
                 XEN_API NTSTATUS XenTouch(PCSTR Name,\n    ULONG Major);\n\
                 XEN_API VOID SchedYield(VOID);\n\
                 XEN_API PHYSICAL_ADDRESS\n\
                 VOID NotExported(VOID);\n\
                 XEN_API PVOID *Weird(VOID);\n\
                 \x20   XEN_API VOID Indented(VOID);\n\
                 XEN_API Nameless(VOID);\n";
        assert_eq!(xen_api_names(h), ["XenTouch", "SchedYield", "Weird"]);
    }

    #[test]
    fn lookups_ignore_dll_case() {
        let mut r = KernelExports::new();
        r.add(HAL, ["KeStallExecutionProcessor"]);
        assert!(r.exports("hal.dll", "KeStallExecutionProcessor"));
        assert!(!r.exports("hal.dll", "kestallexecutionprocessor"));
        assert!(!r.exports(NTOSKRNL, "KeStallExecutionProcessor"));
        assert_eq!(r.count("HAL.DLL"), 1);
    }

    /// The real import libraries, when this machine has them (scripts/setup installs the
    /// package; CI always has it).
    #[test]
    fn mingw_import_libraries() {
        let dir = mingw_lib_dir();
        if !dir.join("libntoskrnl.a").exists() {
            eprintln!(
                "skipped: {} has no libntoskrnl.a ({MINGW_PACKAGE})",
                dir.display()
            );
            return;
        }
        let extra = Path::new(env!("CARGO_MANIFEST_DIR")).join("kernel-exports-extra.txt");
        let r = KernelExports::load(&dir, &extra, "kernel-exports-extra.txt").unwrap();
        assert!(r.count(NTOSKRNL) > 1500, "{}", r.count(NTOSKRNL));
        assert!(r.count(HAL) > 50, "{}", r.count(HAL));
        for name in [
            "ExAllocatePoolWithTag",
            "KeBugCheckEx",
            "IofCompleteRequest",
            "memcpy",
        ] {
            assert!(r.exports(NTOSKRNL, name), "{name}");
        }
        assert!(r.exports(HAL, "KeStallExecutionProcessor"));
        assert!(!r.exports(NTOSKRNL, "KeStallExecutionProcessor"));
        assert_eq!(r.sources.len(), 3);
        let nowhere = Path::new(env!("CARGO_MANIFEST_DIR")).join("no-such-dir");
        let missing = KernelExports::load(&nowhere, &extra, "x").unwrap_err();
        assert!(missing.contains(MINGW_PACKAGE), "{missing}");
    }
}
