// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Divergences already diagnosed as simulator bugs and not fixed yet.
//!
//! Each has its entry in docs/sim-vs-xen.md. They are printed on every run and counted in the
//! summary; the golden test fails when one appears that is not listed here and when a listed
//! (deterministic) one is gone, so the list only shrinks as the simulator is fixed.
//! `sim-vs-xen --strict` fails on these too.

use crate::Divergence;

/// One diagnosed divergence: the record, the call, what differs, and the bug's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Known {
    /// The simulator's value is uninitialised memory, which may happen to equal Xen's: the
    /// golden test cannot demand that it still shows.
    pub uninitialised: bool,
    /// Record index in the Xen 4.17 suite transcript.
    pub seq: u32,
    /// The call, as [`crate::names::call`] spells it.
    pub call: &'static str,
    /// The start of [`Divergence::what`].
    pub what: &'static str,
    /// The bug's id in docs/sim-vs-xen.md.
    pub bug: &'static str,
}

/// The open simulator bugs.
pub const KNOWN: &[Known] = &[
    bug(18, "event_channel_op(status)", "argument", "SIM-1", true),
    bug(27, "event_channel_op(status)", "argument", "SIM-1", true),
    bug(31, "event_channel_op(status)", "argument", "SIM-1", true),
    bug(44, "event_channel_op(status)", "argument", "SIM-1", true),
    bug(71, "sched_op(watchdog)", "return", "SIM-2", false),
    bug(
        94,
        "grant_table_op(set_version)",
        "argument",
        "SIM-3",
        false,
    ),
    bug(
        114,
        "hvm_op(set_evtchn_upcall_vector)",
        "argument",
        "SIM-5",
        true,
    ),
];

const fn bug(
    seq: u32,
    call: &'static str,
    what: &'static str,
    bug: &'static str,
    uninitialised: bool,
) -> Known {
    Known {
        uninitialised,
        seq,
        call,
        what,
        bug,
    }
}

/// The known bug `d` is an instance of, if any.
#[must_use]
pub fn known(d: &Divergence) -> Option<&'static Known> {
    KNOWN
        .iter()
        .find(|k| k.seq == d.seq && k.call == d.call && d.what.starts_with(k.what))
}
