// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Capturing a processor for the std rendezvous, as upstream's `sync.c` captures it on Windows.
//!
//! `SyncCapture` queues a DPC on every other processor and spins until each runs it. A DPC runs
//! on a processor only while that processor is below `DISPATCH_LEVEL`: a thread holding a
//! `DISPATCH_LEVEL` spin lock (or raised to `DISPATCH_LEVEL` without one) delays the capture of
//! its processor until it drops below `DISPATCH_LEVEL`, and it is preempted right there, in
//! `KeLowerIrql`, when the pending DPC runs. A thread below `DISPATCH_LEVEL` is preempted
//! wherever it is, and does not run again until the rendezvous releases its processor.
//!
//! Threads stand in for processors here, so a platform keeps, per processor, the capture's
//! phase ([`CapturePhase`]) and the contexts that raised themselves from below `DISPATCH_LEVEL`
//! to `DISPATCH_LEVEL` or above through [`crate::Irql::raise_irql`] (directly or by taking an
//! [`crate::IrqlLock`]). The rendezvous helper of a processor waits until none is left
//! ([`Captures::capture`]). A thread below `DISPATCH_LEVEL` on a processor being captured or
//! captured is *frozen*: it blocks in the next raise to `DISPATCH_LEVEL` it attempts (it was
//! preempted just before), or in the lower below `DISPATCH_LEVEL` that let the capture in
//! (it was preempted there), until the processor is released. A test freezes a thread at a
//! point of its own choosing with [`super::StdPlatform::capture_point`].
//!
//! Not modelled: DPC routines and timer routines the std platform runs on its own threads
//! (they enter `DISPATCH_LEVEL` without raising, so a capture neither waits for them nor stops
//! them), interrupts, and the rendezvous owner's own processor (threads on it are not stopped).

use core::panic::Location;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::ThreadId;
use std::time::{Duration, Instant};
use std::vec::Vec;

use super::irql;
use super::locked;

/// How long a capture waits for its processor, and a frozen thread for the release.
///
/// A capture waits for its processor to drop below `DISPATCH_LEVEL`, and a frozen thread for its
/// processor's release, this long before the platform declares a hang (on Windows the owner
/// spins at `DISPATCH_LEVEL` until the DPC watchdog bug-checks the machine).
pub const CAPTURE_TIMEOUT: Duration = Duration::from_secs(20);

/// Where a processor's capture by a rendezvous stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CapturePhase {
    /// Not captured: threads run on it.
    #[default]
    Running,
    /// A rendezvous's capturing DPC is queued for it and waits for it to drop below
    /// `DISPATCH_LEVEL`.
    Capturing,
    /// The rendezvous holds it (its helper runs there at `DISPATCH_LEVEL` or `HIGH_LEVEL`).
    Captured,
}

/// A processor's capture state, as [`super::StdPlatform::capture_info`] reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureInfo {
    /// The phase.
    pub phase: CapturePhase,
    /// How many rendezvous released it so far.
    pub releases: u64,
    /// Threads on it waiting for a rendezvous to release it: preempted by its capture (below
    /// `DISPATCH_LEVEL`), or at a [`super::StdPlatform::capture_point`].
    pub frozen: usize,
}

/// A context raised from below `DISPATCH_LEVEL`.
#[derive(Clone, Copy, Debug)]
struct Raised {
    cpu: u32,
    location: &'static Location<'static>,
}

#[derive(Default)]
struct Book {
    cpus: BTreeMap<u32, CaptureInfo>,
    raised: HashMap<(ThreadId, u64), Raised>,
}

impl Book {
    fn info(&self, cpu: u32) -> CaptureInfo {
        self.cpus.get(&cpu).copied().unwrap_or_default()
    }

    fn cpu(&mut self, cpu: u32) -> &mut CaptureInfo {
        self.cpus.entry(cpu).or_default()
    }
}

/// One platform's captures.
#[derive(Default)]
pub struct Captures {
    book: Mutex<Book>,
    changed: Condvar,
}

impl core::fmt::Debug for Captures {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Captures").finish_non_exhaustive()
    }
}

/// `timeout` from now.
fn deadline(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout).unwrap_or(now)
}

/// The key of the calling context.
fn me() -> (ThreadId, u64) {
    (std::thread::current().id(), irql::context())
}

impl Captures {
    fn wait<'a>(
        &self,
        book: MutexGuard<'a, Book>,
        deadline: Instant,
        mut done: impl FnMut(&Book) -> bool,
    ) -> (MutexGuard<'a, Book>, bool) {
        let mut book = book;
        loop {
            if done(&book) {
                return (book, true);
            }
            let now = Instant::now();
            if now >= deadline {
                return (book, false);
            }
            book = self
                .changed
                .wait_timeout(book, deadline.duration_since(now))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Blocks the calling thread (below `DISPATCH_LEVEL` on `cpu`) while `cpu` is being
    /// captured or captured, counted as frozen.
    fn freeze<'a>(&'a self, book: MutexGuard<'a, Book>, cpu: u32) -> MutexGuard<'a, Book> {
        // A thread unwinding from a failed test is not held up.
        if book.info(cpu).phase == CapturePhase::Running || std::thread::panicking() {
            return book;
        }
        let mut book = book;
        let info = book.cpu(cpu);
        info.frozen = info.frozen.saturating_add(1);
        self.changed.notify_all();
        let deadline = deadline(CAPTURE_TIMEOUT);
        let (mut book, released) = self.wait(book, deadline, |b| {
            b.info(cpu).phase == CapturePhase::Running
        });
        let info = book.cpu(cpu);
        info.frozen = info.frozen.saturating_sub(1);
        self.changed.notify_all();
        if !released {
            drop(book);
            irql::misuse(&std::format!(
                "a thread frozen by the capture of CPU {cpu} was not released within {} s",
                CAPTURE_TIMEOUT.as_secs()
            ));
        }
        book
    }

    /// The calling context, below `DISPATCH_LEVEL` on `cpu`, is about to raise to
    /// `DISPATCH_LEVEL` or above at `location`: it waits while `cpu` is being captured or
    /// captured (the capture preempted it first), then counts as raised until [`Self::lowered`].
    /// The returned token forgets the record if the raise itself fails.
    pub fn raising(&self, cpu: u32, location: &'static Location<'static>) -> RaiseToken<'_> {
        let book = self.freeze(locked(&self.book), cpu);
        let mut book = book;
        book.raised.insert(me(), Raised { cpu, location });
        RaiseToken(Some(self))
    }

    /// The calling context dropped from `DISPATCH_LEVEL` or above to below it, now on `cpu`:
    /// it no longer delays a capture, and a capture waiting for it preempts it here.
    pub fn lowered(&self, cpu: u32) {
        let mut book = locked(&self.book);
        if book.raised.remove(&me()).is_some() {
            self.changed.notify_all();
        }
        drop(self.freeze(book, cpu));
    }

    /// The rendezvous helper's capture of `cpu`: waits until no context on `cpu` runs raised
    /// from below `DISPATCH_LEVEL` (the capturing DPC cannot run before), then holds `cpu`
    /// until the returned guard is dropped.
    ///
    /// # Panics
    /// When `cpu` stays at or above `DISPATCH_LEVEL` for [`CAPTURE_TIMEOUT`] (a hang on
    /// Windows), naming where the contexts that keep it there raised.
    pub fn capture(&self, cpu: u32) -> Captured<'_> {
        let mut book = locked(&self.book);
        book.cpu(cpu).phase = CapturePhase::Capturing;
        self.changed.notify_all();
        let deadline = deadline(CAPTURE_TIMEOUT);
        let (mut book, free) =
            self.wait(book, deadline, |b| !b.raised.values().any(|r| r.cpu == cpu));
        if !free {
            let holders: Vec<std::string::String> = book
                .raised
                .values()
                .filter(|r| r.cpu == cpu)
                .map(|r| std::format!("{}", r.location))
                .collect();
            book.cpu(cpu).phase = CapturePhase::Running;
            self.changed.notify_all();
            drop(book);
            irql::misuse(&std::format!(
                "the rendezvous could not capture CPU {cpu} within {} s: it stays at or above \
                 DISPATCH_LEVEL, raised at {} (SyncCapture's DPC never runs there; Windows \
                 bug-checks with DPC_WATCHDOG_VIOLATION)",
                CAPTURE_TIMEOUT.as_secs(),
                holders.join(", ")
            ));
        }
        book.cpu(cpu).phase = CapturePhase::Captured;
        self.changed.notify_all();
        Captured {
            captures: self,
            cpu,
        }
    }

    /// `cpu`'s capture state now.
    pub fn info(&self, cpu: u32) -> CaptureInfo {
        locked(&self.book).info(cpu)
    }

    /// Waits until `until` holds for `cpu`'s capture state, or `timeout` passes; returns
    /// whether it held.
    pub fn await_info(
        &self,
        cpu: u32,
        timeout: Duration,
        mut until: impl FnMut(&CaptureInfo) -> bool,
    ) -> bool {
        let deadline = deadline(timeout);
        self.wait(locked(&self.book), deadline, |b| until(&b.info(cpu)))
            .1
    }

    /// Freezes the calling thread (below `DISPATCH_LEVEL` on `cpu`) until a rendezvous has
    /// captured and released `cpu`; `armed` runs first, once the thread counts as frozen.
    pub fn capture_point(&self, cpu: u32, armed: impl FnOnce()) {
        let mut book = locked(&self.book);
        let releases = book.info(cpu).releases;
        let info = book.cpu(cpu);
        info.frozen = info.frozen.saturating_add(1);
        self.changed.notify_all();
        drop(book);
        armed();
        let deadline = deadline(CAPTURE_TIMEOUT);
        let (mut book, thawed) = self.wait(locked(&self.book), deadline, |b| {
            b.info(cpu).releases > releases
        });
        let info = book.cpu(cpu);
        info.frozen = info.frozen.saturating_sub(1);
        self.changed.notify_all();
        drop(book);
        if !thawed {
            irql::misuse(&std::format!(
                "no rendezvous captured and released CPU {cpu} within {} s of its capture point",
                CAPTURE_TIMEOUT.as_secs()
            ));
        }
    }
}

/// A raise being recorded: forgets the record unless [`RaiseToken::keep`] is called.
pub struct RaiseToken<'a>(Option<&'a Captures>);

impl RaiseToken<'_> {
    /// The raise happened: keep the record.
    pub fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for RaiseToken<'_> {
    fn drop(&mut self) {
        if let Some(captures) = self.0.take() {
            locked(&captures.book).raised.remove(&me());
            captures.changed.notify_all();
        }
    }
}

/// A processor held by a rendezvous; dropping it releases the processor and thaws its frozen
/// threads.
pub struct Captured<'a> {
    captures: &'a Captures,
    cpu: u32,
}

impl Drop for Captured<'_> {
    fn drop(&mut self) {
        let mut book = locked(&self.captures.book);
        let info = book.cpu(self.cpu);
        info.phase = CapturePhase::Running;
        info.releases = info.releases.saturating_add(1);
        drop(book);
        self.captures.changed.notify_all();
    }
}
