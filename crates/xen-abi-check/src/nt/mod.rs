// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Proves the kernel bindings (`ntddk`) against mingw-w64's DDK headers for x64 Windows.
//!
//! One table ([`table::all`]) lists every size and alignment, every field offset and size,
//! every constant and every `NTSTATUS` the bindings define, each next to the C expression that
//! must give the same value. [`run`] compiles the table with `x86_64-w64-mingw32-gcc` against
//! `ntddk.h` to assembly ([`crate::cross`]; the probe targets Windows and is never run) and
//! compares.
//!
//! Two lists sit beside the checks, both printed by `check-nt-abi`:
//! - **exemptions** ([`Exemption`]): a value where mingw-w64 10's headers are older than
//!   Microsoft's current layout and the Rust side follows Microsoft's; each names the
//!   documented value, and the Rust value must equal it;
//! - **documented-only** ([`Documented`]): definitions mingw-w64's headers lack entirely
//!   (`ExAllocatePool2`, `POOL_FLAG_*`), written from Microsoft's documentation and not
//!   checked.
//!
//! The probe defines `NT_PROCESSOR_GROUPS`, selecting the processor-group-aware layouts
//! (`USHORT Level; USHORT Group;` in interrupt resources) every 64-bit Windows since 7 uses.

pub mod table;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::cross::{self, CrossCompiler};
use crate::probe::Prelude;
use crate::{Error, Item, Outcome, Report};

/// The cross compiler the check uses unless `NT_ABI_CC` names another.
pub const COMPILER: &str = "x86_64-w64-mingw32-gcc";

/// The Debian packages holding [`COMPILER`] and the DDK headers.
pub const DEBIAN_PACKAGES: &str = "gcc-mingw-w64-x86-64 mingw-w64-x86-64-dev";

/// The headers the probe includes, after [`PRELUDE`]'s defines.
pub const PRELUDE: Prelude<'static> = Prelude {
    defines: &["#define NT_PROCESSOR_GROUPS 1"],
    headers: &["ntddk.h"],
};

/// The summary line's name.
pub const NAME: &str = "nt-abi";

/// A value where the Rust bindings follow Microsoft's documented current layout rather than
/// mingw-w64's older headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exemption {
    /// The C expression (as the table would have checked it).
    pub c_expr: String,
    /// The value the Rust definitions give.
    pub rust: i128,
    /// The value Microsoft's documentation (or current WDK header) gives.
    pub documented: i128,
    /// Why mingw-w64's value is not the reference.
    pub reason: &'static str,
}

impl Exemption {
    /// Whether the Rust value is the documented one.
    #[must_use]
    pub const fn matches(&self) -> bool {
        self.rust == self.documented
    }
}

/// A definition mingw-w64's headers lack, written from Microsoft's documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Documented {
    /// The WDK name.
    pub name: &'static str,
    /// The Rust value or signature, as text.
    pub rust: String,
    /// Where it comes from.
    pub source: &'static str,
}

/// Everything one run found.
#[derive(Clone, Debug, Default)]
pub struct NtReport {
    /// The checks against the headers, and any uncovered macros.
    pub report: Report,
    /// Values checked against Microsoft's documentation instead of the headers.
    pub exemptions: Vec<Exemption>,
    /// Definitions not checked at all (the headers lack them).
    pub documented: Vec<Documented>,
}

impl NtReport {
    /// Checks against the headers.
    #[must_use]
    pub const fn checked(&self) -> usize {
        self.report.checked()
    }

    /// Header mismatches plus exemptions whose Rust value is not the documented one.
    #[must_use]
    pub fn mismatches(&self) -> usize {
        self.report.mismatches().count() + self.exemptions.iter().filter(|e| !e.matches()).count()
    }

    /// Whether everything matched and nothing was forgotten.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.mismatches() == 0 && self.report.uncovered.is_empty()
    }

    /// `nt-abi: N checked, M mismatches`.
    #[must_use]
    pub fn summary(&self) -> String {
        format!(
            "{NAME}: {} checked, {} mismatches",
            self.checked(),
            self.mismatches()
        )
    }
}

/// The error for a missing compiler.
fn compiler_missing(program: &Path) -> Error {
    Error::Missing(format!(
        "{} not found: the kernel-bindings check compiles its probe with mingw-w64's cross \
         compiler against mingw-w64's DDK headers (install the Debian packages {DEBIAN_PACKAGES}, \
         or set NT_ABI_CC to another x86_64-w64-mingw32 gcc)",
        program.display()
    ))
}

/// The error for missing headers.
fn headers_missing(searched: &[PathBuf]) -> Error {
    let dirs: Vec<String> = searched.iter().map(|d| d.display().to_string()).collect();
    Error::Missing(format!(
        "mingw-w64's DDK headers not found: no ddk/ntddk.h under the compiler's include \
         directories ({}) (install the Debian package mingw-w64-x86-64-dev, or set \
         NT_DDK_INCLUDE to a directory holding ntddk.h)",
        dirs.join(", ")
    ))
}

/// Finds the compiler (`NT_ABI_CC`, else [`COMPILER`] on `PATH`) and the directory holding
/// `ntddk.h` (`NT_DDK_INCLUDE`, else `ddk/` under one of the compiler's include directories).
///
/// # Errors
///
/// [`Error::Missing`] naming the Debian packages when either is absent.
pub fn compiler() -> Result<CrossCompiler, Error> {
    let requested =
        std::env::var_os("NT_ABI_CC").map_or_else(|| PathBuf::from(COMPILER), PathBuf::from);
    let program = cross::find_program(&requested).ok_or_else(|| compiler_missing(&requested))?;
    let ddk = if let Some(dir) = std::env::var_os("NT_DDK_INCLUDE") {
        let dir = PathBuf::from(dir);
        if !dir.join("ntddk.h").is_file() {
            return Err(Error::Missing(format!(
                "NT_DDK_INCLUDE={} holds no ntddk.h (point it at mingw-w64's include/ddk, from \
                 the Debian package mingw-w64-x86-64-dev)",
                dir.display()
            )));
        }
        dir
    } else {
        let searched = cross::system_include_dirs(&program)?;
        searched
            .iter()
            .map(|dir| dir.join("ddk"))
            .find(|ddk| ddk.join("ntddk.h").is_file())
            .ok_or_else(|| headers_missing(&searched))?
    };
    Ok(CrossCompiler {
        program,
        args: vec![OsString::from("-I"), ddk.into_os_string()],
    })
}

/// Runs every check of the table, lists the exemptions and documented-only definitions, and
/// looks for macros under [`table::COVERED_PREFIXES`] the table forgot.
///
/// # Errors
///
/// [`Error::Missing`] without the compiler or headers, [`Error::Probe`] when the probe cannot be
/// built or read back.
pub fn run() -> Result<NtReport, Error> {
    let compiler = compiler()?;
    let table = table::all();
    let uncovered = uncovered(&compiler, &table.items)?;
    let mut report = run_items(&compiler, table.items)?;
    report.uncovered = uncovered;
    Ok(NtReport {
        report,
        exemptions: table.exemptions,
        documented: table.documented,
    })
}

/// Runs the given checks with `compiler` (see [`run`]).
///
/// # Errors
///
/// [`Error::Probe`].
pub fn run_items(compiler: &CrossCompiler, items: Vec<Item>) -> Result<Report, Error> {
    let values = cross::evaluate(compiler, &PRELUDE, &items)?;
    Ok(Report {
        outcomes: items
            .into_iter()
            .zip(values)
            .map(|(item, c)| Outcome { item, c })
            .collect(),
        uncovered: Vec::new(),
    })
}

/// The identifiers an item's C expression mentions.
fn identifiers(expr: &str) -> impl Iterator<Item = &str> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
}

/// Whether an exemption pattern (an exact name, or a stem ending in `*`) covers `name`.
fn exempts(pattern: &str, name: &str) -> bool {
    pattern
        .strip_suffix('*')
        .map_or(pattern == name, |stem| name.starts_with(stem))
}

/// The macros the headers define under [`table::COVERED_PREFIXES`] that no item mentions and
/// [`table::UNCHECKED_MACROS`] does not excuse, sorted.
///
/// # Errors
///
/// [`Error::Probe`] when the preprocessor fails.
pub fn uncovered(compiler: &CrossCompiler, items: &[Item]) -> Result<Vec<String>, Error> {
    let mentioned: BTreeSet<&str> = items
        .iter()
        .flat_map(|item| identifiers(&item.c_expr))
        .collect();
    let mut missing: Vec<String> = cross::defined_macros(compiler, &PRELUDE)?
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| table::COVERED_PREFIXES.iter().any(|p| name.starts_with(p)))
        .filter(|name| !mentioned.contains(name.as_str()))
        .filter(|name| {
            !table::UNCHECKED_MACROS
                .iter()
                .any(|(pattern, _)| exempts(pattern, name))
        })
        .collect();
    missing.sort();
    missing.dedup();
    Ok(missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_whole_words() {
        let ids: Vec<&str> =
            identifiers("offsetof(IRP, Tail.Overlay.Thread) + (CSHORT)MDL_X1 + 0x10").collect();
        assert_eq!(
            ids,
            [
                "offsetof", "IRP", "Tail", "Overlay", "Thread", "CSHORT", "MDL_X1"
            ]
        );
    }

    #[test]
    fn exemption_patterns_match_exactly_or_by_stem() {
        assert!(exempts("CONTEXT_EX_*", "CONTEXT_EX_LENGTH"));
        assert!(!exempts("CONTEXT_EX_*", "CONTEXT_FULL"));
        assert!(exempts("IRP_MN_LOCK", "IRP_MN_LOCK"));
        assert!(!exempts("IRP_MN_LOCK", "IRP_MN_LOCKED"));
    }

    #[test]
    fn exemptions_count_as_mismatches_when_rust_departs_from_the_documentation() {
        let mut report = NtReport {
            exemptions: vec![Exemption {
                c_expr: "sizeof(X)".into(),
                rust: 8,
                documented: 8,
                reason: "r",
            }],
            ..NtReport::default()
        };
        assert!(report.passed());
        assert_eq!(report.summary(), "nt-abi: 0 checked, 0 mismatches");
        report.exemptions[0].rust = 4;
        assert!(!report.passed());
        assert_eq!(report.summary(), "nt-abi: 0 checked, 1 mismatches");
    }
}
