// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Divergences already diagnosed as simulator bugs and not fixed yet.
//!
//! Each has its entry in docs/sim-vs-xen.md. They are printed on every run and counted in the
//! summary; the golden tests and `sim-vs-xen` fail on any divergence not listed here
//! (`sim-vs-xen --strict` on these too). An entry is removed, with its line in the document,
//! once the simulator is fixed.

use crate::Divergence;

/// One diagnosed bug: the call and what differs (any record: the suite may grow and shift the
/// indices), and the bug's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Known {
    /// The call, as [`crate::names::call`] spells it.
    pub call: &'static str,
    /// The start of [`Divergence::what`].
    pub what: &'static str,
    /// The start of [`Divergence::expected`] (for structures: the offset of the first
    /// difference), so that another divergence of the same call is not taken for this one.
    pub expected: &'static str,
    /// The bug's id in docs/sim-vs-xen.md.
    pub bug: &'static str,
    /// The simulator's value is uninitialised memory, which may happen to equal Xen's (so the
    /// divergence need not show on every run).
    pub uninitialised: bool,
}

/// The open simulator bugs: none. SIM-1..SIM-6 of docs/sim-vs-xen.md are fixed; a new
/// diagnosed one goes here (with its line in the document) only while its fix is pending.
pub const KNOWN: &[Known] = &[];

/// The known bug `d` is an instance of, if any.
#[must_use]
pub fn known(d: &Divergence) -> Option<&'static Known> {
    KNOWN.iter().find(|k| {
        k.call == d.call && d.what.starts_with(k.what) && d.expected.starts_with(k.expected)
    })
}
