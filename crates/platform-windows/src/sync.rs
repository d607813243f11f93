// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Upstream's `sync.c` protocol, which [`platform_port::Rendezvous`] stands for.
//!
//! Every processor is captured by a DPC, raised to `HIGH_LEVEL` with interrupts disabled, runs
//! the plan's phases, then is released. The owner and the captured processors (the
//! *participants*) talk through one
//! [`SyncContext`]: a request word the owner writes and a completion count everyone
//! increments, both sequentially consistent atomics.
//!
//! The steps, each ended by the owner waiting for the count to reach the processor count:
//!
//! 1. capture: the owner (at `DISPATCH_LEVEL`) queues a DPC on every other processor
//!    (`SyncCapture`); each participant checks in;
//! 2. interrupts off (`SyncDisableInterrupts`): everyone raises to `HIGH_LEVEL` and checks in,
//!    waits up to 1000 spins for the others, and backs off (checks out, drops back to
//!    `DISPATCH_LEVEL`, tries again) when they do not all arrive: a processor still waiting for
//!    an IPI to one that already masked interrupts could never arrive otherwise. Once everyone
//!    is in, nobody backs off, and each disables interrupts;
//! 3. the owner's verdict ([`RendezvousPlan::owner_high`]);
//! 4. early (`SyncRunEarly`): [`RendezvousPlan::each_high`] on the owner, then on the others;
//! 5. interrupts on (`SyncEnableInterrupts`): everyone enables interrupts and drops to
//!    `DISPATCH_LEVEL`, the owner first;
//! 6. late (`SyncRunLate`): [`RendezvousPlan::each_dispatch`] on the owner, then the others;
//! 7. release (`SyncRelease`): the participants return from their DPCs.
//!
//! Phases 4 and 6 run only when the verdict said so. The processor operations (IRQL, `cli`,
//! `sti`) come through [`Cpu`], so the host tests run the protocol on threads.

use core::hint::spin_loop;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::SeqCst};

use platform_port::{Irql, IrqlLevel, RendezvousPlan};

/// What the protocol needs from the processor it runs on.
pub trait Cpu: Irql {
    /// Masks interrupts on this processor (`_disable`, `cli`).
    fn disable_interrupts(&self);
    /// Unmasks them (`_enable`, `sti`).
    fn enable_interrupts(&self);
}

/// How many spins a processor at `HIGH_LEVEL` waits for the others before backing off.
pub const DISABLE_ATTEMPT_SPINS: u32 = 1000;

/// The owner's requests (upstream's `SYNC_REQUEST`).
mod request {
    pub const NONE: u32 = 0;
    pub const DISABLE_INTERRUPTS: u32 = 1;
    pub const RUN_EARLY: u32 = 2;
    pub const ENABLE_INTERRUPTS: u32 = 3;
    pub const RUN_LATE: u32 = 4;
    pub const EXIT: u32 = 5;
}

/// The state one rendezvous shares (upstream's `SYNC_CONTEXT`).
///
/// Upstream's completion count is here one word with a generation above it (the high 32
/// bits), which the owner bumps whenever it resets the count for a new step. A processor that
/// checked in to get to `HIGH_LEVEL` and then backs off decrements the count only if the
/// generation is still the one it checked in with: without it, a processor preempted between
/// seeing everyone in and checking the count again could find the count of the *next* step
/// and take itself out of that one.
#[derive(Debug)]
pub struct SyncContext {
    request: AtomicU32,
    completion: AtomicU64,
    processors: AtomicU32,
    run: AtomicBool,
    retries: AtomicU32,
    patience: u32,
}

impl Default for SyncContext {
    fn default() -> Self {
        Self::new()
    }
}

impl SyncContext {
    /// A context for no rendezvous yet, with upstream's patience ([`DISABLE_ATTEMPT_SPINS`]).
    #[must_use]
    pub const fn new() -> Self {
        Self::with_patience(DISABLE_ATTEMPT_SPINS)
    }

    /// A context whose processors wait `spins` spins at `HIGH_LEVEL` for the others before
    /// backing off (host tests, where threads outnumber the processors running them, need
    /// more than real processors do).
    #[must_use]
    pub const fn with_patience(spins: u32) -> Self {
        Self {
            request: AtomicU32::new(request::NONE),
            completion: AtomicU64::new(0),
            processors: AtomicU32::new(0),
            run: AtomicBool::new(false),
            retries: AtomicU32::new(0),
            patience: spins,
        }
    }

    /// How many times the owner had to back off before every processor reached `HIGH_LEVEL`
    /// in the last rendezvous (upstream logs `SYNC: RE-TRY` each time).
    #[must_use]
    pub fn retries(&self) -> u32 {
        self.retries.load(SeqCst)
    }

    /// Checks in; returns the word as it was.
    fn check_in(&self) -> u64 {
        self.completion.fetch_add(1, SeqCst)
    }

    /// The count of the current step.
    fn count(word: u64) -> u32 {
        // The low half of the word.
        u32::try_from(word & u64::from(u32::MAX)).unwrap_or(u32::MAX)
    }

    /// Whether everyone checked in to the step of `word`.
    fn all_in(&self, word: u64) -> bool {
        Self::count(word) == self.processors.load(SeqCst)
    }

    /// Spins until every processor checked in (`__SyncWait`).
    fn wait_all(&self) {
        while !self.all_in(self.completion.load(SeqCst)) {
            spin_loop();
        }
    }

    /// Starts a step (only the owner): the next generation, count zero; then the request.
    fn reset(&self) {
        let generation = self.completion.load(SeqCst) >> 32;
        self.completion
            .store(generation.wrapping_add(1) << 32, SeqCst);
    }

    /// One attempt to get this processor to `HIGH_LEVEL` with interrupts disabled together with
    /// everyone else (`__SyncProcessorDisableInterrupts`): the level to restore on success,
    /// `None` after backing off to the level it was called at.
    fn disable_attempt<C: Cpu + ?Sized>(&self, cpu: &C) -> Option<IrqlLevel> {
        let old = cpu.raise_irql(IrqlLevel::HIGH);
        let generation = self.check_in() >> 32;
        // Everyone is in once the count is full, or once the owner moved on to the next step
        // (which it only does after seeing the count full).
        let made_it = |word: u64| word >> 32 != generation || self.all_in(word);
        for _ in 0..self.patience {
            if made_it(self.completion.load(SeqCst)) {
                break;
            }
            spin_loop();
        }
        loop {
            let seen = self.completion.load(SeqCst);
            if made_it(seen) {
                break;
            }
            // Not everyone: check out (the count is at least our own check-in).
            if self
                .completion
                .compare_exchange(seen, seen.saturating_sub(1), SeqCst, SeqCst)
                .is_ok()
            {
                cpu.lower_irql(old);
                return None;
            }
        }
        cpu.disable_interrupts();
        Some(old)
    }

    /// The owner's whole rendezvous (`SyncCapture` ... `SyncRelease`), from `DISPATCH_LEVEL`
    /// on processor `me` of `processors` (all of them, the owner included). `capture` queues the
    /// participants' DPCs on every other processor; each must call
    /// [`SyncContext::participant`]. Returns at `DISPATCH_LEVEL` once every participant left.
    ///
    /// Only one owner may use a context at a time.
    pub fn owner<C: Cpu + ?Sized>(
        &self,
        cpu: &C,
        me: u32,
        processors: u32,
        plan: &dyn RendezvousPlan,
        capture: impl FnOnce(),
    ) {
        // SyncCapture.
        self.request.store(request::NONE, SeqCst);
        self.run.store(false, SeqCst);
        self.retries.store(0, SeqCst);
        self.reset();
        self.processors.store(processors.max(1), SeqCst);
        capture();
        self.check_in();
        self.wait_all();

        // SyncDisableInterrupts.
        self.reset();
        self.request.store(request::DISABLE_INTERRUPTS, SeqCst);
        let high = loop {
            if let Some(old) = self.disable_attempt(cpu) {
                break old;
            }
            self.retries.fetch_add(1, SeqCst);
        };

        let run = plan.owner_high();
        self.run.store(run, SeqCst);

        // SyncRunEarly.
        self.reset();
        if run {
            plan.each_high(me);
        }
        self.check_in();
        self.request.store(request::RUN_EARLY, SeqCst);
        self.wait_all();

        // SyncEnableInterrupts.
        self.reset();
        cpu.enable_interrupts();
        cpu.lower_irql(high);
        self.check_in();
        self.request.store(request::ENABLE_INTERRUPTS, SeqCst);
        self.wait_all();

        // SyncRunLate.
        self.reset();
        if run {
            plan.each_dispatch(me);
        }
        self.check_in();
        self.request.store(request::RUN_LATE, SeqCst);
        self.wait_all();

        // SyncRelease.
        self.reset();
        self.check_in();
        self.request.store(request::EXIT, SeqCst);
        self.wait_all();
    }

    /// A captured processor's part (`SyncWorker`), run by its DPC at `DISPATCH_LEVEL` on
    /// processor `index`. Returns at `DISPATCH_LEVEL` when the owner releases it; its last
    /// access to the context is its final check-in.
    pub fn participant<C: Cpu + ?Sized>(&self, cpu: &C, index: u32, plan: &dyn RendezvousPlan) {
        self.check_in();
        let mut handled = request::NONE;
        let mut high = None;
        loop {
            let current = self.request.load(SeqCst);
            if current == request::EXIT {
                break;
            }
            if current == handled {
                spin_loop();
                continue;
            }
            let done = match current {
                request::DISABLE_INTERRUPTS => {
                    high = self.disable_attempt(cpu);
                    high.is_some()
                }
                request::RUN_EARLY => {
                    if self.run.load(SeqCst) {
                        plan.each_high(index);
                    }
                    self.check_in();
                    true
                }
                request::ENABLE_INTERRUPTS => {
                    cpu.enable_interrupts();
                    if let Some(old) = high.take() {
                        cpu.lower_irql(old);
                    }
                    self.check_in();
                    true
                }
                request::RUN_LATE => {
                    if self.run.load(SeqCst) {
                        plan.each_dispatch(index);
                    }
                    self.check_in();
                    true
                }
                _ => true,
            };
            if done {
                handled = current;
            }
        }
        self.check_in();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::sync::Mutex;
    use std::vec::Vec;

    std::thread_local! {
        static LEVEL: Cell<u8> = const { Cell::new(0) };
        static MASKED: Cell<bool> = const { Cell::new(false) };
    }

    /// A processor as a thread: its IRQL and interrupt flag are thread-local.
    struct ThreadCpu;

    impl Irql for ThreadCpu {
        fn current_irql(&self) -> IrqlLevel {
            IrqlLevel(LEVEL.get())
        }
        fn raise_irql(&self, to: IrqlLevel) -> IrqlLevel {
            let old = LEVEL.replace(to.0);
            assert!(old <= to.0, "raise to a lower IRQL");
            IrqlLevel(old)
        }
        fn lower_irql(&self, old: IrqlLevel) {
            assert!(old.0 <= LEVEL.get(), "lower to a higher IRQL");
            LEVEL.set(old.0);
        }
    }

    impl Cpu for ThreadCpu {
        fn disable_interrupts(&self) {
            MASKED.set(true);
        }
        fn enable_interrupts(&self) {
            MASKED.set(false);
        }
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Phase {
        Owner,
        High,
        Dispatch,
    }

    struct Recorder {
        run: bool,
        seen: Mutex<Vec<(Phase, u32, u8, bool)>>,
    }

    impl Recorder {
        fn note(&self, phase: Phase, cpu: u32) {
            self.seen
                .lock()
                .unwrap()
                .push((phase, cpu, LEVEL.get(), MASKED.get()));
        }
    }

    impl RendezvousPlan for Recorder {
        fn owner_high(&self) -> bool {
            self.note(Phase::Owner, u32::MAX);
            self.run
        }
        fn each_high(&self, cpu: u32) {
            self.note(Phase::High, cpu);
        }
        fn each_dispatch(&self, cpu: u32) {
            self.note(Phase::Dispatch, cpu);
        }
    }

    /// Runs a rendezvous owned by processor `me` of `processors` threads.
    fn rendezvous(processors: u32, me: u32, plan: &Recorder) -> u32 {
        let context = SyncContext::with_patience(u32::MAX);
        std::thread::scope(|scope| {
            LEVEL.set(IrqlLevel::DISPATCH.0);
            context.owner(&ThreadCpu, me, processors, plan, || {
                for index in (0..processors).filter(|&i| i != me) {
                    let context = &context;
                    scope.spawn(move || {
                        // The DPC runs at DISPATCH_LEVEL and must return there, unmasked.
                        LEVEL.set(IrqlLevel::DISPATCH.0);
                        context.participant(&ThreadCpu, index, plan);
                        assert_eq!(LEVEL.get(), IrqlLevel::DISPATCH.0);
                        assert!(!MASKED.get());
                    });
                }
            });
            assert_eq!(LEVEL.get(), IrqlLevel::DISPATCH.0);
            assert!(!MASKED.get());
        });
        context.retries()
    }

    #[test]
    fn every_phase_runs_on_every_processor_owner_first_at_its_level() {
        for processors in [1, 2, 3] {
            let plan = Recorder {
                run: true,
                seen: Mutex::new(Vec::new()),
            };
            let me = processors / 2;
            rendezvous(processors, me, &plan);
            let seen = plan.seen.into_inner().unwrap();
            let n = usize::try_from(processors).unwrap();
            assert_eq!(seen.len(), 1 + 2 * n);
            assert_eq!(seen[0], (Phase::Owner, u32::MAX, IrqlLevel::HIGH.0, true));
            // Early: the owner first, then everyone else, all at HIGH_LEVEL, masked.
            assert_eq!(seen[1], (Phase::High, me, IrqlLevel::HIGH.0, true));
            let mut high: Vec<u32> = seen[1..=n].iter().map(|s| s.1).collect();
            assert!(
                seen[1..=n]
                    .iter()
                    .all(|s| s.0 == Phase::High && s.2 == 15 && s.3)
            );
            high.sort_unstable();
            assert_eq!(high, (0..processors).collect::<Vec<_>>());
            // Late: the owner first, everyone at DISPATCH_LEVEL, unmasked.
            assert_eq!(
                seen[n + 1],
                (Phase::Dispatch, me, IrqlLevel::DISPATCH.0, false)
            );
            let mut late: Vec<u32> = seen[n + 1..].iter().map(|s| s.1).collect();
            assert!(
                seen[n + 1..]
                    .iter()
                    .all(|s| s.0 == Phase::Dispatch && s.2 == 2 && !s.3)
            );
            late.sort_unstable();
            assert_eq!(late, (0..processors).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_refused_verdict_runs_only_the_owner_phase() {
        let plan = Recorder {
            run: false,
            seen: Mutex::new(Vec::new()),
        };
        rendezvous(3, 0, &plan);
        let seen = plan.seen.into_inner().unwrap();
        assert_eq!(seen, [(Phase::Owner, u32::MAX, IrqlLevel::HIGH.0, true)]);
    }

    #[test]
    fn a_processor_alone_at_high_level_backs_off_to_where_it_was() {
        let context = SyncContext::new();
        context.processors.store(2, SeqCst);
        LEVEL.set(IrqlLevel::DISPATCH.0);
        assert_eq!(context.disable_attempt(&ThreadCpu), None);
        assert_eq!(SyncContext::count(context.completion.load(SeqCst)), 0);
        assert_eq!(LEVEL.get(), IrqlLevel::DISPATCH.0);
        assert!(!MASKED.get());
    }

    /// A processor that is late to raise to `HIGH_LEVEL` the first time (held up, as by an IPI
    /// it waits for).
    struct LateCpu(Cell<bool>);

    impl Irql for LateCpu {
        fn current_irql(&self) -> IrqlLevel {
            ThreadCpu.current_irql()
        }
        fn raise_irql(&self, to: IrqlLevel) -> IrqlLevel {
            if to == IrqlLevel::HIGH && !self.0.replace(true) {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            ThreadCpu.raise_irql(to)
        }
        fn lower_irql(&self, old: IrqlLevel) {
            ThreadCpu.lower_irql(old);
        }
    }

    impl Cpu for LateCpu {
        fn disable_interrupts(&self) {
            ThreadCpu.disable_interrupts();
        }
        fn enable_interrupts(&self) {
            ThreadCpu.enable_interrupts();
        }
    }

    #[test]
    fn a_late_processor_makes_the_owner_back_off_and_the_rendezvous_still_completes() {
        let plan = Recorder {
            run: true,
            seen: Mutex::new(Vec::new()),
        };
        let context = SyncContext::with_patience(100_000);
        std::thread::scope(|scope| {
            LEVEL.set(IrqlLevel::DISPATCH.0);
            context.owner(&ThreadCpu, 0, 2, &plan, || {
                let (context, plan) = (&context, &plan);
                scope.spawn(move || {
                    LEVEL.set(IrqlLevel::DISPATCH.0);
                    context.participant(&LateCpu(Cell::new(false)), 1, plan);
                });
            });
        });
        assert!(context.retries() > 0);
        assert_eq!(plan.seen.into_inner().unwrap().len(), 5);
    }
}
