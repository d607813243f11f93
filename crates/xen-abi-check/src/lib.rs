// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Proves `xen-headers` against Xen's own C headers.
//!
//! One table ([`table::all`]) lists every structure size and alignment, every field offset and
//! size, every constant and every string the Rust ABI defines, each next to the C expression
//! that must produce the same value. [`run`] turns the table into a C probe, compiles it with the
//! system C compiler (found through the `cc` crate) against a directory of Xen public headers,
//! runs it and compares what it prints with the Rust values.
//!
//! This crate is a host tool (it uses `std`); it sits beside the layering, not in it. The
//! command-line front end is `check-xen-abi` (`scripts/check-xen-abi`).
//!
//! The same items, table style and report also prove the kernel bindings (`ntddk`) against
//! mingw-w64's DDK headers for x64 Windows ([`nt`], `check-nt-abi`, `scripts/check-nt-abi`).
//! That target cannot run here, so its probe is compiled to assembly and read back
//! ([`cross`]).

pub mod c_program;
pub mod cross;
pub mod nt;
pub mod probe;
pub mod table;

use std::fmt;
use std::path::{Path, PathBuf};

/// The Xen release the Rust ABI follows.
pub const XEN_RELEASE: &str = "4.17";

/// Where the headers are looked for when `XEN_INCLUDE` is not set: Debian's libxen-dev.
pub const DEFAULT_INCLUDE: &str = "/usr/include";

/// A value on either side of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// An integer (sizes, offsets and constants; wide enough for any C integer type).
    Int(i128),
    /// A string constant.
    Str(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int(v) if *v < 0 => write!(f, "{v}"),
            Self::Int(v) => write!(f, "{v} ({v:#x})"),
            Self::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// One check: a C expression and the value the Rust definitions give for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The C expression the probe evaluates, e.g. `offsetof(struct vcpu_info, time)`.
    pub c_expr: String,
    /// The value the Rust definitions give.
    pub rust: Value,
}

/// The outcome of one check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The check.
    pub item: Item,
    /// What the C probe printed for it.
    pub c: Value,
}

impl Outcome {
    /// Whether C and Rust agree.
    #[must_use]
    pub fn matches(&self) -> bool {
        self.c == self.item.rust
    }
}

/// Everything one run found.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// One outcome per table item, in table order.
    pub outcomes: Vec<Outcome>,
    /// Macros the C headers define under a covered prefix that the table neither checks nor
    /// exempts (see [`table::COVERED_PREFIXES`]): each one is a definition we forgot.
    pub uncovered: Vec<String>,
}

impl Report {
    /// Number of checks made.
    #[must_use]
    pub const fn checked(&self) -> usize {
        self.outcomes.len()
    }

    /// The checks where C and Rust disagree.
    pub fn mismatches(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes.iter().filter(|o| !o.matches())
    }

    /// Whether everything matched and nothing was forgotten.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.mismatches().next().is_none() && self.uncovered.is_empty()
    }

    /// The summary line scripts and CI look for.
    #[must_use]
    pub fn summary(&self) -> String {
        self.summary_for("xen-abi")
    }

    /// The summary line under another check's name: `<name>: N checked, M mismatches`.
    #[must_use]
    pub fn summary_for(&self, name: &str) -> String {
        format!(
            "{name}: {} checked, {} mismatches",
            self.checked(),
            self.mismatches().count()
        )
    }
}

/// Why a run could not produce a report.
#[derive(Debug)]
pub enum Error {
    /// The Xen public headers are not in the include directory.
    HeadersMissing(PathBuf),
    /// The probe did not compile, run or print what was expected.
    Probe(String),
    /// A tool or header set the check needs is not installed; the message says which and how
    /// to install it.
    Missing(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HeadersMissing(dir) => write!(
                f,
                "Xen public headers not found: no xen/xen.h or xen.h under {} (install Debian's \
                 libxen-dev, or point XEN_INCLUDE at a directory holding xen/xen.h or at a Xen \
                 tree's xen/include/public)",
                dir.display()
            ),
            Self::Probe(msg) => write!(f, "C probe failed: {msg}"),
            Self::Missing(msg) => write!(f, "{msg}"),
        }
    }
}

impl std::error::Error for Error {}

/// The include directory to check against: `XEN_INCLUDE` if set, else [`DEFAULT_INCLUDE`].
#[must_use]
pub fn include_dir_from_env() -> PathBuf {
    std::env::var_os("XEN_INCLUDE").map_or_else(|| PathBuf::from(DEFAULT_INCLUDE), PathBuf::from)
}

/// Runs every check in the table against the headers in `include`.
///
/// `include` is either a directory holding `xen/xen.h` (like `/usr/include`) or Xen's
/// `xen/include/public` itself (holding `xen.h`).
///
/// # Errors
///
/// [`Error::HeadersMissing`] when no Xen headers are there, [`Error::Probe`] when the probe
/// cannot be built, run or understood.
pub fn run(include: &Path) -> Result<Report, Error> {
    let items = table::all();
    let uncovered = uncovered(include, &items)?;
    let mut report = run_items(include, items)?;
    report.uncovered = uncovered;
    Ok(report)
}

/// Whether an [`table::EXEMPT`] pattern (an exact name, or a stem ending in `*`) covers `name`.
fn exempts(pattern: &str, name: &str) -> bool {
    pattern
        .strip_suffix('*')
        .map_or(pattern == name, |stem| name.starts_with(stem))
}

/// The macros the headers define under [`table::COVERED_PREFIXES`] that `items` does not check
/// and [`table::EXEMPT`] does not excuse, sorted.
///
/// # Errors
///
/// As for [`run`].
pub fn uncovered(include: &Path, items: &[Item]) -> Result<Vec<String>, Error> {
    let checked: std::collections::BTreeSet<&str> =
        items.iter().map(|item| item.c_expr.as_str()).collect();
    let mut missing: Vec<String> = probe::defined_macros(include)?
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| table::COVERED_PREFIXES.iter().any(|p| name.starts_with(p)))
        .filter(|name| !checked.contains(name.as_str()))
        .filter(|name| {
            !table::EXEMPT
                .iter()
                .any(|(exempt, _)| exempts(exempt, name))
        })
        .collect();
    missing.sort();
    missing.dedup();
    Ok(missing)
}

/// Runs the given checks against the headers in `include` (see [`run`]).
///
/// # Errors
///
/// As for [`run`].
pub fn run_items(include: &Path, items: Vec<Item>) -> Result<Report, Error> {
    let c_values = probe::evaluate(include, &items)?;
    let outcomes = items
        .into_iter()
        .zip(c_values)
        .map(|(item, c)| Outcome { item, c })
        .collect();
    Ok(Report {
        outcomes,
        uncovered: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::exempts;

    #[test]
    fn exemption_patterns_match_exactly_or_by_stem() {
        assert!(exempts("VIRQ_ARCH_*", "VIRQ_ARCH_3"));
        assert!(!exempts("VIRQ_ARCH_*", "VIRQ_TIMER"));
        assert!(exempts("DOMID_COW", "DOMID_COW"));
        assert!(!exempts("DOMID_COW", "DOMID_COWX"));
    }
}
