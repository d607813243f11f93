// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Fault injection: make chosen hypercalls fail with an errno before the simulator executes
//! them (nothing changes, exactly as if Xen had refused at entry), and per-call counters.

use xen_headers::errno;

/// A planned failure of hypercall `op` (optionally only sub-command `cmd`).
///
/// Matching calls are counted from the moment the fault is injected; the `nth` matching call
/// (1-based) and the `times - 1` after it fail with `-errno`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// `HYPERVISOR_*` number.
    pub op: u32,
    /// Sub-command (the first argument), or any.
    pub cmd: Option<u32>,
    /// Which matching call fails first (1 = the next one).
    pub nth: u64,
    /// How many consecutive matching calls fail.
    pub times: u64,
    /// The positive errno returned (negated).
    pub errno: i32,
    /// For grant-table operations with per-entry statuses (map, unmap, copy, `setup_table`):
    /// the call succeeds and every entry fails with this `GNTST_*` status instead.
    pub grant_status: Option<i16>,
}

impl Fault {
    /// The next call of `op`, once, with `EIO`.
    #[must_use]
    pub const fn new(op: u32) -> Self {
        Self {
            op,
            cmd: None,
            nth: 1,
            times: 1,
            errno: errno::EIO,
            grant_status: None,
        }
    }

    /// Only sub-command `cmd`.
    #[must_use]
    pub const fn cmd(mut self, cmd: u32) -> Self {
        self.cmd = Some(cmd);
        self
    }

    /// Fail from the `nth` matching call (1-based).
    #[must_use]
    pub const fn nth(mut self, nth: u64) -> Self {
        self.nth = if nth == 0 { 1 } else { nth };
        self
    }

    /// Fail `times` consecutive matching calls.
    #[must_use]
    pub const fn times(mut self, times: u64) -> Self {
        self.times = times;
        self
    }

    /// The errno (positive, e.g. `ENOMEM`).
    #[must_use]
    pub const fn errno(mut self, errno: i32) -> Self {
        self.errno = errno;
        self
    }

    /// Fail the entries of a grant-table call with `status` (e.g. `GNTST_eagain`) rather than
    /// the hypercall.
    #[must_use]
    pub const fn grant_status(mut self, status: i16) -> Self {
        self.grant_status = Some(status);
        self
    }

    const fn matches(&self, op: u32, cmd: u32) -> bool {
        self.op == op
            && match self.cmd {
                Some(c) => c == cmd,
                None => true,
            }
    }
}

/// An injected fault and how many matching calls it has seen.
#[derive(Clone, Copy, Debug)]
pub struct Armed {
    fault: Fault,
    seen: u64,
}

/// Every injected fault.
#[derive(Debug, Default)]
pub struct Faults {
    armed: Vec<Armed>,
    fired: u64,
}

impl Faults {
    /// Arms `fault`.
    pub fn inject(&mut self, fault: Fault) {
        self.armed.push(Armed { fault, seen: 0 });
    }

    /// Counts a call against every armed fault; the first that fires.
    pub fn check(&mut self, op: u32, cmd: u32) -> Option<Fault> {
        let mut hit = None;
        for armed in &mut self.armed {
            if !armed.fault.matches(op, cmd) {
                continue;
            }
            armed.seen += 1;
            let first = armed.fault.nth;
            let last = first.saturating_add(armed.fault.times);
            if hit.is_none() && armed.seen >= first && armed.seen < last {
                hit = Some(armed.fault);
            }
        }
        self.armed
            .retain(|a| a.seen.saturating_add(1) < a.fault.nth.saturating_add(a.fault.times));
        if hit.is_some() {
            self.fired += 1;
        }
        hit
    }

    /// Faults that fired so far.
    #[must_use]
    pub const fn fired(&self) -> u64 {
        self.fired
    }
}
