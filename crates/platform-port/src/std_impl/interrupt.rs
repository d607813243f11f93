// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Interrupt objects for host tests: a lock per object, an emulated synchronize IRQL, a
//! vector per processor, an allocation audit and injectable allocation failures.
//!
//! The lock is re-entrant on one thread. On hardware an interrupt raised on a processor that
//! holds its lock stays pending in the APIC until the lock is dropped; a host simulator instead
//! runs the "interrupt" on the thread whose hypercall raised it, possibly while that thread is
//! inside `synchronize`. Letting that nested call in (rather than deadlocking the test) models
//! an ISR that finds its own work in progress; subsystems guard such re-entry themselves.
//!
//! IRQL: `synchronize` is called at `<= STD_DIRQL` (`KeAcquireInterruptSpinLock`), allocation
//! and release of an interrupt at `<= DISPATCH_LEVEL` (`FdoAllocateInterrupt`,
//! `FdoFreeInterrupt`: see [`crate::Interrupts::allocate_interrupt`]); all three are checked.

use core::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::ThreadId;
use std::vec::Vec;

use super::{StdPlatform, locked, require_at_most};
use crate::interrupt::{Interrupt, InterruptMode, Interrupts};
use crate::traits::{Irql, IrqlLevel};

/// The emulated synchronize IRQL of every std interrupt (a device IRQL).
pub const STD_DIRQL: IrqlLevel = IrqlLevel(8);
/// The first vector handed out: processor `n`'s latched interrupt gets `STD_FIRST_VECTOR + n`.
pub const STD_FIRST_VECTOR: u8 = 0x80;
/// The line every level-sensitive interrupt reports.
pub const STD_LINE: u32 = 28;

#[derive(Default)]
struct Audit {
    live: AtomicUsize,
    allocated: AtomicUsize,
    refuse_latched: AtomicBool,
    refuse_line: AtomicBool,
    modes: Mutex<Vec<(InterruptMode, u32)>>,
}

/// Hands out [`StdInterrupt`]s; clones share the audit.
#[derive(Clone)]
pub struct StdInterrupts {
    platform: StdPlatform,
    audit: Arc<Audit>,
}

impl core::fmt::Debug for StdInterrupts {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StdInterrupts")
            .field("live", &self.live())
            .finish_non_exhaustive()
    }
}

impl StdInterrupts {
    /// Interrupts whose locks raise `platform`'s emulated IRQL.
    #[must_use]
    pub fn new(platform: StdPlatform) -> Self {
        Self {
            platform,
            audit: Arc::new(Audit::default()),
        }
    }

    /// How many allocated interrupts are still alive.
    #[must_use]
    pub fn live(&self) -> usize {
        self.audit.live.load(Ordering::SeqCst)
    }

    /// How many interrupts were ever allocated.
    #[must_use]
    pub fn allocated(&self) -> usize {
        self.audit.allocated.load(Ordering::SeqCst)
    }

    /// Every allocation so far as `(mode, cpu)`.
    #[must_use]
    pub fn allocations(&self) -> Vec<(InterruptMode, u32)> {
        locked(&self.audit.modes).clone()
    }

    /// Makes later allocations of `mode` fail (`true`) or succeed again (`false`).
    pub fn refuse(&self, mode: InterruptMode, refuse: bool) {
        match mode {
            InterruptMode::Latched => self.audit.refuse_latched.store(refuse, Ordering::SeqCst),
            InterruptMode::LevelSensitive => {
                self.audit.refuse_line.store(refuse, Ordering::SeqCst);
            }
        }
    }
}

/// A std interrupt object.
pub struct StdInterrupt {
    platform: StdPlatform,
    mode: InterruptMode,
    cpu: u32,
    vector: u8,
    lock: ReentrantLock,
    audit: Arc<Audit>,
}

/// A lock one thread may take several times.
#[derive(Default)]
struct ReentrantLock {
    owner: Mutex<(Option<ThreadId>, usize)>,
    released: Condvar,
}

impl ReentrantLock {
    fn lock(&self) {
        let me = std::thread::current().id();
        let mut owner = locked(&self.owner);
        loop {
            match owner.0 {
                None => {
                    *owner = (Some(me), 1);
                    return;
                }
                Some(holder) if holder == me => {
                    owner.1 = owner.1.saturating_add(1);
                    return;
                }
                Some(_) => {
                    owner = self
                        .released
                        .wait(owner)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
            }
        }
    }

    fn unlock(&self) {
        let mut owner = locked(&self.owner);
        owner.1 = owner.1.saturating_sub(1);
        if owner.1 == 0 {
            owner.0 = None;
            self.released.notify_one();
        }
    }
}

impl core::fmt::Debug for StdInterrupt {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StdInterrupt")
            .field("mode", &self.mode)
            .field("cpu", &self.cpu)
            .field("vector", &self.vector)
            .finish_non_exhaustive()
    }
}

impl StdInterrupt {
    /// The processor it targets.
    #[must_use]
    pub const fn cpu(&self) -> u32 {
        self.cpu
    }

    /// Its mode.
    #[must_use]
    pub const fn mode(&self) -> InterruptMode {
        self.mode
    }
}

impl Interrupt for StdInterrupt {
    fn vector(&self) -> u8 {
        self.vector
    }

    fn line(&self) -> u32 {
        STD_LINE
    }

    #[track_caller]
    fn synchronize(&self, f: &mut dyn FnMut()) {
        require_at_most(
            "Interrupt::synchronize",
            "KeAcquireInterruptSpinLock (the interrupt's synchronize IRQL)",
            STD_DIRQL,
            Location::caller(),
        );
        let old = self.platform.raise_irql(STD_DIRQL);
        self.lock.lock();
        // Released even when `f` panics (a broken rule inside the ISR): a lock left held by
        // an unwound context would hang every later `synchronize` instead of failing.
        let release = Release(self);
        f();
        drop(release);
        self.platform.lower_irql(old);
    }
}

/// Releases an interrupt's lock when dropped.
struct Release<'a>(&'a StdInterrupt);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.lock.unlock();
    }
}

impl Drop for StdInterrupt {
    fn drop(&mut self) {
        require_at_most(
            "dropping an Interrupt",
            "FdoFreeInterrupt",
            IrqlLevel::DISPATCH,
            Location::caller(),
        );
        self.audit.live.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Interrupts for StdInterrupts {
    type Interrupt = StdInterrupt;

    #[track_caller]
    fn allocate_interrupt(&self, mode: InterruptMode, cpu: u32) -> Option<StdInterrupt> {
        require_at_most(
            "Interrupts::allocate_interrupt",
            "FdoAllocateInterrupt",
            IrqlLevel::DISPATCH,
            Location::caller(),
        );
        let refused = match mode {
            InterruptMode::Latched => &self.audit.refuse_latched,
            InterruptMode::LevelSensitive => &self.audit.refuse_line,
        };
        if refused.load(Ordering::SeqCst) {
            return None;
        }
        let vector = match mode {
            InterruptMode::Latched => {
                STD_FIRST_VECTOR.saturating_add(u8::try_from(cpu).unwrap_or(u8::MAX))
            }
            InterruptMode::LevelSensitive => 0x50,
        };
        self.audit.live.fetch_add(1, Ordering::SeqCst);
        self.audit.allocated.fetch_add(1, Ordering::SeqCst);
        locked(&self.audit.modes).push((mode, cpu));
        Some(StdInterrupt {
            platform: self.platform.clone(),
            mode,
            cpu,
            vector,
            lock: ReentrantLock::default(),
            audit: Arc::clone(&self.audit),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synchronize_raises_to_the_device_irql_and_excludes_other_holders() {
        let p = StdPlatform::new(2);
        let interrupts = StdInterrupts::new(p.clone());
        let irq = Arc::new(
            interrupts
                .allocate_interrupt(InterruptMode::Latched, 1)
                .unwrap(),
        );
        assert_eq!(irq.vector(), STD_FIRST_VECTOR + 1);
        let mut seen = IrqlLevel::PASSIVE;
        irq.synchronize(&mut || seen = p.current_irql());
        assert_eq!(seen, STD_DIRQL);
        assert_eq!(p.current_irql(), IrqlLevel::PASSIVE);

        // While one thread holds the lock, another cannot enter.
        let inside = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (irq2, inside2) = (Arc::clone(&irq), Arc::clone(&inside));
        let holder = std::thread::spawn(move || {
            irq2.synchronize(&mut || {
                inside2.store(true, Ordering::SeqCst);
                rx.recv().unwrap();
                inside2.store(false, Ordering::SeqCst);
            });
        });
        while !inside.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        let mut saw_inside = true;
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            tx.send(()).unwrap();
        });
        irq.synchronize(&mut || saw_inside = inside.load(Ordering::SeqCst));
        assert!(!saw_inside);
        holder.join().unwrap();
        release.join().unwrap();
    }

    #[test]
    fn synchronize_is_reentrant_on_one_thread() {
        let p = StdPlatform::new(1);
        let interrupts = StdInterrupts::new(p);
        let irq = interrupts
            .allocate_interrupt(InterruptMode::LevelSensitive, 0)
            .unwrap();
        let mut depth = 0;
        irq.synchronize(&mut || irq.synchronize(&mut || depth += 1));
        assert_eq!(depth, 1);
        // Fully released afterwards: another thread can take it.
        let irq = Arc::new(irq);
        let other = Arc::clone(&irq);
        std::thread::spawn(move || other.synchronize(&mut || {}))
            .join()
            .unwrap();
    }

    #[test]
    fn a_panic_inside_synchronize_releases_the_lock() {
        let p = StdPlatform::new(1);
        let interrupts = StdInterrupts::new(p.clone());
        let irq = Arc::new(
            interrupts
                .allocate_interrupt(InterruptMode::Latched, 0)
                .unwrap(),
        );
        let theirs = Arc::clone(&irq);
        let broken = std::thread::spawn(move || theirs.synchronize(&mut || panic!("in the ISR")));
        assert!(broken.join().is_err());
        let mut ran = false;
        irq.synchronize(&mut || ran = true);
        assert!(ran);
        assert_eq!(p.current_irql(), IrqlLevel::PASSIVE);
    }

    #[test]
    fn allocations_are_audited_and_can_be_refused() {
        let p = StdPlatform::new(2);
        let interrupts = StdInterrupts::new(p);
        let line = interrupts
            .allocate_interrupt(InterruptMode::LevelSensitive, 0)
            .unwrap();
        assert_eq!(line.line(), STD_LINE);
        assert_eq!(interrupts.live(), 1);
        interrupts.refuse(InterruptMode::Latched, true);
        assert!(
            interrupts
                .allocate_interrupt(InterruptMode::Latched, 0)
                .is_none()
        );
        interrupts.refuse(InterruptMode::Latched, false);
        let msi = interrupts.allocate_interrupt(InterruptMode::Latched, 0);
        assert!(msi.is_some());
        assert_eq!(interrupts.live(), 2);
        drop(line);
        drop(msi);
        assert_eq!(interrupts.live(), 0);
        assert_eq!(interrupts.allocated(), 2);
        assert_eq!(
            interrupts.allocations(),
            [
                (InterruptMode::LevelSensitive, 0),
                (InterruptMode::Latched, 0)
            ]
        );
    }
}
