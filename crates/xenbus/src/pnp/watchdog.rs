// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The domain watchdog driven by per-processor timer VIRQs (`XEN:WATCHDOG=<seconds>`).
//!
//! Every processor gets a periodic timer at half the watchdog period. Each tick on a processor
//! re-arms Xen's watchdog only once every processor has ticked at least as often, so one
//! processor that stops taking interrupts stops the patting and Xen restarts the domain.
//!
//! The glue keeps one [`Rounds`] behind a `HIGH_LEVEL` lock (the ticks arrive in interrupt
//! handlers) and calls `SCHEDOP_watchdog` when [`Rounds::tick`] says so.

use alloc::vec::Vec;

/// Tick counts per processor that has a timer VIRQ.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rounds {
    counts: Vec<Option<u32>>,
}

impl Rounds {
    /// No timers and no room for any.
    #[must_use]
    pub const fn new() -> Self {
        Self { counts: Vec::new() }
    }

    /// Room for timers on processors `0..processors`, none added yet. The only allocation:
    /// the glue makes it before taking the `HIGH_LEVEL` lock the ticks use.
    #[must_use]
    pub fn for_processors(processors: usize) -> Self {
        Self {
            counts: alloc::vec![None; processors],
        }
    }

    /// A timer VIRQ was opened on `cpu`. Never allocates (it runs under the ticks'
    /// `HIGH_LEVEL` lock): false for a processor without room ([`Rounds::for_processors`]).
    pub fn add_timer(&mut self, cpu: usize) -> bool {
        self.counts.get_mut(cpu).is_some_and(|slot| {
            *slot = Some(0);
            true
        })
    }

    /// `(processor, ticks)` of every processor with a timer VIRQ (the debug dump's counts).
    pub fn counts(&self) -> impl Iterator<Item = (usize, u32)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter_map(|(cpu, count)| count.map(|count| (cpu, count)))
    }

    /// A tick on `cpu`: whether to pat the watchdog now. A tick on a processor without a timer
    /// (a stray event) pats nothing.
    pub fn tick(&mut self, cpu: usize) -> bool {
        let Some(Some(count)) = self.counts.get_mut(cpu) else {
            return false;
        };
        let before = *count;
        *count = before.wrapping_add(1);
        if *count == 0 {
            // This processor's counter wrapped: the others' cannot be compared with it.
            return true;
        }
        self.counts
            .iter()
            .enumerate()
            .filter(|(other, _)| *other != cpu)
            .filter_map(|(_, count)| *count)
            .all(|other| other > before)
    }
}

/// The periodic timer for a watchdog of `seconds`: half of it, in nanoseconds.
#[must_use]
pub fn timer_period_ns(seconds: u32) -> u64 {
    u64::from(seconds / 2).saturating_mul(1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_processor_pats_on_every_tick() {
        let mut rounds = Rounds::for_processors(1);
        assert!(rounds.add_timer(0));
        assert!((0..10).all(|_| rounds.tick(0)));
    }

    #[test]
    fn the_pat_comes_when_the_slowest_processor_catches_up() {
        let mut rounds = Rounds::for_processors(3);
        for cpu in 0..3 {
            assert!(rounds.add_timer(cpu));
        }
        assert!(!rounds.tick(0));
        assert!(!rounds.tick(1));
        assert!(
            rounds.tick(2),
            "every other processor has ticked more than 2 had"
        );
        assert!(!rounds.tick(0));
        assert!(!rounds.tick(0));
    }

    #[test]
    fn a_stalled_processor_stops_the_patting() {
        let mut rounds = Rounds::for_processors(2);
        rounds.add_timer(0);
        rounds.add_timer(1);
        rounds.tick(1);
        assert!(rounds.tick(0));
        // CPU 1 stops.
        assert!((0..1000).all(|_| !rounds.tick(0)));
    }

    #[test]
    fn a_stray_tick_pats_nothing() {
        let mut rounds = Rounds::for_processors(2);
        rounds.add_timer(1);
        assert!(!rounds.tick(0));
        assert!(!rounds.tick(usize::MAX));
    }

    #[test]
    fn a_wrapped_counter_pats() {
        let mut rounds = Rounds::for_processors(2);
        rounds.add_timer(0);
        rounds.add_timer(1);
        rounds.counts[0] = Some(u32::MAX);
        assert!(rounds.tick(0));
    }

    #[test]
    fn a_timer_beyond_the_room_made_is_refused_without_growing() {
        let mut rounds = Rounds::for_processors(1);
        assert!(!rounds.add_timer(1));
        assert!(!Rounds::new().add_timer(0));
        assert_eq!(rounds.counts.capacity(), 1, "nothing allocated");
        assert_eq!(rounds.counts().count(), 0);
    }

    #[test]
    fn the_timer_runs_at_half_the_period() {
        assert_eq!(timer_period_ns(10), 5_000_000_000);
        assert_eq!(timer_period_ns(11), 5_000_000_000);
        assert_eq!(timer_period_ns(0), 0);
    }
}
