// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The store watchdog's decision (upstream's 15-second `StoreWatchdog` thread).
//!
//! Every period the thread samples the four ring indices. If, since the previous sample, the
//! peer produced responses we did not consume, or we produced requests the peer did not consume,
//! the ring is considered stuck: the owner triggers the STORE debug callback, kicks the event
//! channel and polls ([`super::Store::watchdog_check`] does the kick and poll under the store
//! lock). The first comparison is against all-zero indices, as upstream starts from zeros.

/// The seconds between two samples (`XENBUS_STORE_WATCHDOG_PERIOD`).
pub const PERIOD_SECONDS: u64 = 15;

/// The ring indices, as the shared page holds them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingIndices {
    /// Requests the daemon consumed.
    pub req_cons: u32,
    /// Requests we produced.
    pub req_prod: u32,
    /// Responses we consumed.
    pub rsp_cons: u32,
    /// Responses the daemon produced.
    pub rsp_prod: u32,
}

/// The watchdog's memory between samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Watchdog {
    previous: RingIndices,
}

impl Watchdog {
    /// A watchdog whose first comparison is against zeros.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            previous: RingIndices {
                req_cons: 0,
                req_prod: 0,
                rsp_cons: 0,
                rsp_prod: 0,
            },
        }
    }

    /// Records `now` and returns whether the ring looks stuck compared with the last sample.
    pub const fn sample(&mut self, now: RingIndices) -> bool {
        let before = self.previous;
        let responses_stuck = now.rsp_prod != before.rsp_prod && now.rsp_cons == before.rsp_cons;
        let requests_stuck = now.req_prod != before.req_prod && now.req_cons == before.req_cons;
        self.previous = now;
        responses_stuck || requests_stuck
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn at(req_cons: u32, req_prod: u32, rsp_cons: u32, rsp_prod: u32) -> RingIndices {
        RingIndices {
            req_cons,
            req_prod,
            rsp_cons,
            rsp_prod,
        }
    }

    #[test]
    fn an_idle_ring_is_never_stuck() {
        let mut dog = Watchdog::new();
        assert!(!dog.sample(at(0, 0, 0, 0)));
        assert!(!dog.sample(at(0, 0, 0, 0)));
    }

    #[test]
    fn progress_on_both_sides_is_healthy() {
        let mut dog = Watchdog::new();
        assert!(!dog.sample(at(10, 10, 20, 20)));
        assert!(!dog.sample(at(30, 30, 45, 45)));
    }

    #[test]
    fn unconsumed_responses_are_stuck() {
        let mut dog = Watchdog::new();
        assert!(!dog.sample(at(4, 4, 8, 8)));
        assert!(dog.sample(at(4, 4, 8, 12)));
        // Once recorded, the same picture is no longer a change.
        assert!(!dog.sample(at(4, 4, 8, 12)));
    }

    #[test]
    fn unconsumed_requests_are_stuck() {
        let mut dog = Watchdog::new();
        assert!(!dog.sample(at(4, 4, 8, 8)));
        assert!(dog.sample(at(4, 9, 8, 8)));
    }

    #[test]
    fn first_sample_compares_with_zeros_as_upstream() {
        // A ring whose daemon produced responses before the first sample while we consumed
        // none counts as stuck on the very first look.
        let mut dog = Watchdog::new();
        assert!(dog.sample(at(0, 0, 0, 16)));
    }

    #[test]
    fn indices_wrap_without_false_alarms() {
        let mut dog = Watchdog::new();
        assert!(!dog.sample(at(u32::MAX, u32::MAX, u32::MAX - 1, u32::MAX - 1)));
        assert!(!dog.sample(at(3, 3, 5, 5)));
    }
}
