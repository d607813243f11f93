// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The checks: each image alone, then the imports between them.

use std::collections::BTreeSet;
use std::fmt;

use pe_image::{
    ExportTarget, Import, PeImage, dll_characteristics, machine, magic, relocation_kind, subsystem,
};

use crate::reference::{HAL, KernelExports, NTOSKRNL};

/// The export driver the other two import from.
pub const XEN: &str = "xen.sys";
/// The images checked, in order.
pub const IMAGES: [&str; 3] = [XEN, "xenbus.sys", "xenfilt.sys"];
/// The exports xen.sys has besides its `XEN_API` functions.
pub const PRIVATE_EXPORTS: [&str; 2] = ["DllInitialize", "DllUnload"];

/// One problem with one image.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// The image (`xenbus.sys`).
    pub image: String,
    /// What is wrong, naming the culprit.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.image, self.message)
    }
}

/// The info line of one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Summary {
    /// The image was read.
    Image {
        /// Its name.
        name: String,
        /// Its size in bytes.
        size: usize,
        /// Imported routines in all.
        imports: usize,
        /// ... from `ntoskrnl.exe`.
        ntoskrnl: usize,
        /// ... from `HAL.dll`.
        hal: usize,
        /// ... from `xen.sys`.
        xen: usize,
    },
    /// The image is not a PE image.
    Unreadable {
        /// Its name.
        name: String,
        /// Its size in bytes.
        size: usize,
        /// Why.
        error: String,
    },
    /// The image is not there.
    Missing {
        /// Its name.
        name: String,
    },
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Image {
                name,
                size,
                imports,
                ntoskrnl,
                hal,
                xen,
            } => write!(
                f,
                "{name}: {size} bytes, {imports} imports ({ntoskrnl} {NTOSKRNL}, {hal} {HAL}, \
                 {xen} {XEN})"
            ),
            Self::Unreadable { name, size, error } => {
                write!(f, "{name}: {size} bytes, not a PE image ({error})")
            }
            Self::Missing { name } => write!(f, "{name}: missing"),
        }
    }
}

/// What the checks expect of the images.
#[derive(Debug, Clone, Copy)]
pub struct Expectations<'a> {
    /// The real kernel's exports.
    pub kernel: &'a KernelExports,
    /// The `XEN_API` functions of `crates/xen/include/xen.h`.
    pub xen_api: &'a [String],
    /// The version resource every image must carry; `None`: not checked.
    pub version: Option<&'a crate::version::ExpectedVersion>,
}

/// One imported symbol, as the checks see it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Imported {
    Name(String),
    Ordinal(u16),
}

impl fmt::Display for Imported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(name) => f.write_str(name),
            Self::Ordinal(ordinal) => write!(f, "ordinal #{ordinal}"),
        }
    }
}

/// What one image holds, as far as it could be read.
struct Read<'a> {
    name: &'a str,
    image: PeImage<'a>,
    /// (DLL as written, symbols) per import descriptor.
    imports: Vec<(String, Vec<Imported>)>,
    /// The export table's DLL name, named exports and unnamed ordinals, if it has one.
    exports: Option<ExportTable>,
}

struct ExportTable {
    dll: String,
    names: Vec<(String, Option<String>)>, // (name, forwarder)
    unnamed: Vec<u32>,
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Collects problems for one image.
struct Problems<'p> {
    image: &'p str,
    list: &'p mut Vec<Problem>,
}

impl Problems<'_> {
    fn push(&mut self, message: impl Into<String>) {
        self.list.push(Problem {
            image: self.image.to_owned(),
            message: message.into(),
        });
    }
}

/// Checks the images: `images` holds each name of [`IMAGES`] with its bytes, `None` when it is
/// missing. Returns the info lines and the problems, in image order.
#[must_use]
pub fn check_images(
    images: &[(&str, Option<&[u8]>)],
    expect: &Expectations<'_>,
) -> (Vec<Summary>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut read = Vec::new();
    let mut summaries = Vec::new();
    for &(name, bytes) in images {
        let mut p = Problems {
            image: name,
            list: &mut problems,
        };
        let Some(bytes) = bytes else {
            p.push("missing");
            summaries.push(Summary::Missing { name: name.into() });
            continue;
        };
        match PeImage::parse(bytes) {
            Ok(image) => {
                check_headers(&image, &mut p);
                if let Some(expected) = expect.version {
                    for problem in crate::version::check_version(&image, name, expected).1 {
                        p.push(problem);
                    }
                }
                let r = read_tables(name, image, &mut p);
                summaries.push(summary_of(&r));
                read.push(r);
            }
            Err(e) => {
                p.push(format!("not a PE image: {e}"));
                summaries.push(Summary::Unreadable {
                    name: name.into(),
                    size: bytes.len(),
                    error: e.to_string(),
                });
            }
        }
    }
    // What xen.sys exports, when it could be read (imports from a missing xen.sys are not
    // checked: its absence is the problem).
    let xen_exports: Option<BTreeSet<&str>> = read
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(XEN))
        .map(|r| {
            r.exports.as_ref().map_or_else(BTreeSet::new, |e| {
                e.names.iter().map(|(n, _)| n.as_str()).collect()
            })
        });
    for r in &read {
        let mut p = Problems {
            image: r.name,
            list: &mut problems,
        };
        check_imports(r, expect.kernel, xen_exports.as_ref(), &mut p);
        if r.name.eq_ignore_ascii_case(XEN) {
            check_xen_exports(r, expect.xen_api, &mut p);
        } else {
            check_no_exports(r, &mut p);
        }
    }
    // Report in image order, each image's problems in the order found.
    let order = |name: &str| images.iter().position(|(n, _)| *n == name);
    problems.sort_by_key(|p| order(&p.image));
    (summaries, problems)
}

/// The info line of an image that was read.
fn summary_of(r: &Read<'_>) -> Summary {
    let count = |dll: &str| -> usize {
        r.imports
            .iter()
            .filter(|(d, _)| d.eq_ignore_ascii_case(dll))
            .map(|(_, s)| s.len())
            .sum()
    };
    Summary::Image {
        name: r.name.into(),
        size: r.image.data().len(),
        imports: r.imports.iter().map(|(_, s)| s.len()).sum(),
        ntoskrnl: count(NTOSKRNL),
        hal: count(HAL),
        xen: count(XEN),
    }
}

/// The info line of one image alone (`--summary`).
#[must_use]
pub fn summarize(name: &str, bytes: Option<&[u8]>) -> Summary {
    let Some(bytes) = bytes else {
        return Summary::Missing { name: name.into() };
    };
    match PeImage::parse(bytes) {
        Ok(image) => {
            let mut ignored = Vec::new();
            let mut p = Problems {
                image: name,
                list: &mut ignored,
            };
            summary_of(&read_tables(name, image, &mut p))
        }
        Err(e) => Summary::Unreadable {
            name: name.into(),
            size: bytes.len(),
            error: e.to_string(),
        },
    }
}

/// Headers, hardening, checksum, relocations, exception data and section permissions.
fn check_headers(image: &PeImage<'_>, p: &mut Problems<'_>) {
    let fh = image.file_header();
    let oh = image.optional_header();
    if oh.magic != magic::PE32_PLUS {
        p.push(format!(
            "not PE32+: optional header magic {:#x} (PE32+ is {:#x})",
            oh.magic,
            magic::PE32_PLUS
        ));
    }
    if fh.machine != machine::AMD64 {
        p.push(format!(
            "machine {:#06x}, not AMD64 ({:#06x})",
            fh.machine,
            machine::AMD64
        ));
    }
    if oh.subsystem != subsystem::NATIVE {
        p.push(format!(
            "subsystem {}, not NATIVE ({})",
            oh.subsystem,
            subsystem::NATIVE
        ));
    }
    if oh.entry_point == 0 {
        p.push("no entry point (AddressOfEntryPoint is 0)");
    } else if !image
        .section_containing(oh.entry_point)
        .is_some_and(|s| s.is_executable())
    {
        p.push(format!(
            "entry point {:#x} is not in an executable section",
            oh.entry_point
        ));
    }
    let computed = image.computed_checksum();
    if oh.checksum == 0 {
        p.push(format!(
            "checksum is 0, not set (should be {computed:#010x}; link with /RELEASE)"
        ));
    } else if oh.checksum != computed {
        p.push(format!(
            "checksum {:#010x} stored, {computed:#010x} computed",
            oh.checksum
        ));
    }
    check_relocations(image, p);
    if image.section_by_name(b".pdata").is_none() {
        p.push("no .pdata section");
    }
    if image.exception_directory().is_none() {
        p.push("no exception directory (unwind data)");
    } else if let Err(e) = image
        .runtime_functions()
        .and_then(|mut f| f.try_for_each(|f| f.map(drop)))
    {
        p.push(format!("exception directory: {e}"));
    }
    for (flag, name) in [
        (dll_characteristics::NX_COMPAT, "NX_COMPAT"),
        (dll_characteristics::DYNAMIC_BASE, "DYNAMIC_BASE"),
        (dll_characteristics::FORCE_INTEGRITY, "FORCE_INTEGRITY"),
    ] {
        if oh.dll_characteristics & flag == 0 {
            p.push(format!(
                "DllCharacteristics {:#06x} lacks {name} ({flag:#x})",
                oh.dll_characteristics
            ));
        }
    }
    for s in image.sections() {
        if s.is_writable() && s.is_executable() {
            p.push(format!(
                "section {} is both writable and executable",
                text(s.name())
            ));
        }
    }
}

/// A `.reloc` section and a non-empty, well-formed base relocation directory of `DIR64`
/// fix-ups (the only kind an x64 image needs).
fn check_relocations(image: &PeImage<'_>, p: &mut Problems<'_>) {
    if image.section_by_name(b".reloc").is_none() {
        p.push("no .reloc section");
    }
    let blocks = match image.base_relocations() {
        Ok(blocks) => blocks,
        Err(e) => {
            p.push(format!("base relocations: {e}"));
            return;
        }
    };
    let mut fixups = 0usize;
    let mut other_kinds = BTreeSet::new();
    for block in blocks {
        match block {
            Ok(block) => {
                for r in block.entries().filter(|r| !r.is_padding()) {
                    fixups = fixups.saturating_add(1);
                    if r.kind != relocation_kind::DIR64 {
                        other_kinds.insert(r.kind);
                    }
                }
            }
            Err(e) => {
                p.push(format!("base relocations: {e}"));
                return;
            }
        }
    }
    if fixups == 0 {
        p.push("base relocation directory is missing or empty");
    }
    for kind in other_kinds {
        p.push(format!("base relocations of kind {kind}, not DIR64"));
    }
}

/// Reads the import and export tables, reporting a table that cannot be read.
fn read_tables<'a>(name: &'a str, image: PeImage<'a>, p: &mut Problems<'_>) -> Read<'a> {
    let mut imports = Vec::new();
    'descriptors: for descriptor in image.imports() {
        let descriptor = match descriptor {
            Ok(d) => d,
            Err(e) => {
                p.push(format!("import table: {e}"));
                break;
            }
        };
        let mut symbols = Vec::new();
        for entry in descriptor.entries() {
            match entry {
                Ok(entry) => symbols.push(match entry.import {
                    Import::Name { name, .. } => Imported::Name(text(name)),
                    Import::Ordinal(ordinal) => Imported::Ordinal(ordinal),
                }),
                Err(e) => {
                    p.push(format!("import table of {}: {e}", text(descriptor.dll)));
                    imports.push((text(descriptor.dll), symbols));
                    break 'descriptors;
                }
            }
        }
        imports.push((text(descriptor.dll), symbols));
    }
    let exports = match image.exports() {
        Ok(None) => None,
        Ok(Some(table)) => Some(read_exports(&table, p)),
        Err(e) => {
            p.push(format!("export table: {e}"));
            None
        }
    };
    Read {
        name,
        image,
        imports,
        exports,
    }
}

fn read_exports(table: &pe_image::Exports<'_>, p: &mut Problems<'_>) -> ExportTable {
    let mut names = Vec::new();
    let mut named_ordinals = BTreeSet::new();
    for export in table.names() {
        match export {
            Ok(export) => {
                named_ordinals.insert(export.ordinal);
                let forwarder = match export.target {
                    ExportTarget::Rva(_) => None,
                    ExportTarget::Forwarder(to) => Some(text(to)),
                };
                names.push((text(export.name), forwarder));
            }
            Err(e) => {
                p.push(format!("export table: {e}"));
                break;
            }
        }
    }
    let mut unnamed = Vec::new();
    for index in 0..table.function_count() {
        let Some(ordinal) = table.ordinal_base.checked_add(index) else {
            break;
        };
        match table.function(index) {
            Ok(Some(_)) if !named_ordinals.contains(&ordinal) => unnamed.push(ordinal),
            Ok(_) => {}
            Err(e) => {
                p.push(format!("export table: {e}"));
                break;
            }
        }
    }
    ExportTable {
        dll: text(table.dll),
        names,
        unnamed,
    }
}

/// Imports only from the kernel and xen.sys, kernel imports the real kernel exports, xen.sys
/// imports xen.sys exports.
fn check_imports(
    r: &Read<'_>,
    kernel: &KernelExports,
    xen_exports: Option<&BTreeSet<&str>>,
    p: &mut Problems<'_>,
) {
    let is_xen = r.name.eq_ignore_ascii_case(XEN);
    for (dll, symbols) in &r.imports {
        let kernel_dll = dll.eq_ignore_ascii_case(NTOSKRNL) || dll.eq_ignore_ascii_case(HAL);
        if dll.eq_ignore_ascii_case(XEN) {
            if is_xen {
                p.push(format!("imports from itself ({dll})"));
                continue;
            }
            for symbol in symbols {
                match symbol {
                    Imported::Name(name) => {
                        if xen_exports.is_some_and(|e| !e.contains(name.as_str())) {
                            p.push(format!(
                                "imports {name} from {dll}, which {XEN} does not export"
                            ));
                        }
                    }
                    Imported::Ordinal(_) => {
                        p.push(format!("imports {symbol} from {dll} (not by name)"));
                    }
                }
            }
        } else if kernel_dll {
            for symbol in symbols {
                match symbol {
                    Imported::Name(name) if kernel.exports(dll, name) => {}
                    Imported::Name(name) => p.push(format!(
                        "imports {name} from {dll}, which is not in the kernel export reference"
                    )),
                    Imported::Ordinal(_) => {
                        p.push(format!("imports {symbol} from {dll} (not by name)"));
                    }
                }
            }
        } else {
            let n = symbols.len();
            let routines = if n == 1 { "routine" } else { "routines" };
            p.push(format!(
                "imports from {dll} ({n} {routines}); only {NTOSKRNL}, {HAL} and {XEN} are allowed"
            ));
        }
    }
}

/// xen.sys names itself and exports exactly `DllInitialize`, `DllUnload` and the `XEN_API`
/// functions.
fn check_xen_exports(r: &Read<'_>, xen_api: &[String], p: &mut Problems<'_>) {
    let Some(exports) = &r.exports else {
        p.push("no export table");
        return;
    };
    if !exports.dll.eq_ignore_ascii_case(XEN) {
        p.push(format!("export table names {}, not {XEN}", exports.dll));
    }
    let exported: BTreeSet<&str> = exports.names.iter().map(|(n, _)| n.as_str()).collect();
    for name in PRIVATE_EXPORTS {
        if !exported.contains(name) {
            p.push(format!("does not export {name}"));
        }
    }
    for name in xen_api {
        if !exported.contains(name.as_str()) {
            p.push(format!(
                "does not export {name} (XEN_API in crates/xen/include/xen.h)"
            ));
        }
    }
    for (name, forwarder) in &exports.names {
        let expected =
            PRIVATE_EXPORTS.contains(&name.as_str()) || xen_api.iter().any(|a| a == name);
        if !expected {
            p.push(format!(
                "exports {name}, which is neither a XEN_API function nor DllInitialize/\
                 DllUnload (leaked symbol)"
            ));
        }
        if let Some(to) = forwarder {
            p.push(format!("export {name} forwards to {to}"));
        }
    }
    for ordinal in &exports.unnamed {
        p.push(format!(
            "exports ordinal #{ordinal} without a name (leaked symbol)"
        ));
    }
}

/// A plain driver exports nothing.
fn check_no_exports(r: &Read<'_>, p: &mut Problems<'_>) {
    let Some(exports) = &r.exports else {
        return;
    };
    for (name, _) in &exports.names {
        p.push(format!(
            "exports {name} (leaked symbol: a driver exports nothing)"
        ));
    }
    for ordinal in &exports.unnamed {
        p.push(format!(
            "exports ordinal #{ordinal} (leaked symbol: a driver exports nothing)"
        ));
    }
}
