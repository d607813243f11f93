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
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
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

/// Processors the capture model supports (every std platform in the tests has far fewer).
pub const MAX_PROCESSORS: usize = 64;

#[derive(Default)]
struct Book {
    cpus: BTreeMap<u32, CaptureInfo>,
}

std::thread_local! {
    /// The raises from below `DISPATCH_LEVEL` this thread's contexts have not lowered yet:
    /// (the platform's captures, the context, the processor). Contexts nest on a thread, so
    /// the innermost is last.
    static RAISED: RefCell<Vec<(usize, u64, u32)>> = const { RefCell::new(Vec::new()) };
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
///
/// The raise and lower paths run on every IRQL change of every test, so they take no lock
/// unless a capture is under way: each processor has a count of its contexts raised from below
/// `DISPATCH_LEVEL` and a flag set while a capture wants it or holds it. A raise counts itself,
/// then reads the flag; a capture sets the flag, then reads the count (both sequentially
/// consistent), so at least one of them sees the other: either the raise backs off and is
/// preempted, or the capture waits for the count to drop.
pub struct Captures {
    book: Mutex<Book>,
    changed: Condvar,
    cpus: [Processor; MAX_PROCESSORS],
}

/// One processor's lock-free capture state.
struct Processor {
    /// Contexts raised from below `DISPATCH_LEVEL` and not lowered yet.
    raised: AtomicU32,
    /// A capture wants the processor or holds it.
    held: AtomicBool,
    /// The last raise, for the message of a capture that times out.
    last_raise: AtomicPtr<Location<'static>>,
}

impl Default for Captures {
    fn default() -> Self {
        Self {
            book: Mutex::default(),
            changed: Condvar::new(),
            cpus: core::array::from_fn(|_| Processor {
                raised: AtomicU32::new(0),
                held: AtomicBool::new(false),
                last_raise: AtomicPtr::new(core::ptr::null_mut()),
            }),
        }
    }
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

impl Captures {
    /// Processor `cpu`'s lock-free state.
    fn processor(&self, cpu: u32) -> &Processor {
        usize::try_from(cpu)
            .ok()
            .and_then(|index| self.cpus.get(index))
            .unwrap_or_else(|| {
                irql::misuse(&std::format!(
                    "processor {cpu} is beyond the {MAX_PROCESSORS} the std platform's capture \
                     model supports"
                ))
            })
    }

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
        let processor = self.processor(cpu);
        loop {
            processor.raised.fetch_add(1, Ordering::SeqCst);
            if !processor.held.load(Ordering::SeqCst) {
                break;
            }
            // A capture wants this processor: its DPC preempts the thread before the raise.
            processor.raised.fetch_sub(1, Ordering::SeqCst);
            let book = locked(&self.book);
            self.changed.notify_all();
            drop(self.freeze(book, cpu));
        }
        processor
            .last_raise
            .store(core::ptr::from_ref(location).cast_mut(), Ordering::Relaxed);
        let key = (self.key(), irql::context(), cpu);
        RAISED.with(|raised| raised.borrow_mut().push(key));
        RaiseToken(Some((self, cpu)))
    }

    /// This platform's identity in the per-thread records.
    fn key(&self) -> usize {
        core::ptr::from_ref(self).addr()
    }

    /// Forgets the calling context's raise on `cpu`, if it made one; true if it did.
    fn forget_raise(&self, cpu: u32) -> bool {
        let key = (self.key(), irql::context(), cpu);
        let forgotten = RAISED.with(|raised| {
            let mut raised = raised.borrow_mut();
            let found = raised.iter().rposition(|entry| *entry == key);
            found.map(|at| raised.remove(at)).is_some()
        });
        if forgotten {
            self.processor(cpu).raised.fetch_sub(1, Ordering::SeqCst);
        }
        forgotten
    }

    /// The calling context dropped from `DISPATCH_LEVEL` or above to below it, now on `cpu`:
    /// it no longer delays a capture, and a capture waiting for it preempts it here.
    pub fn lowered(&self, cpu: u32) {
        self.forget_raise(cpu);
        if self.processor(cpu).held.load(Ordering::SeqCst) {
            let book = locked(&self.book);
            self.changed.notify_all();
            drop(self.freeze(book, cpu));
        }
    }

    /// The rendezvous helper's capture of `cpu`: waits until no context on `cpu` runs raised
    /// from below `DISPATCH_LEVEL` (the capturing DPC cannot run before), then holds `cpu`
    /// until the returned guard is dropped.
    ///
    /// # Panics
    /// When `cpu` stays at or above `DISPATCH_LEVEL` for [`CAPTURE_TIMEOUT`] (a hang on
    /// Windows), naming where the contexts that keep it there raised.
    pub fn capture(&self, cpu: u32) -> Captured<'_> {
        let processor = self.processor(cpu);
        let mut book = locked(&self.book);
        book.cpu(cpu).phase = CapturePhase::Capturing;
        processor.held.store(true, Ordering::SeqCst);
        self.changed.notify_all();
        let deadline = deadline(CAPTURE_TIMEOUT);
        let (mut book, free) = self.wait(book, deadline, |_| {
            processor.raised.load(Ordering::SeqCst) == 0
        });
        if !free {
            let last = processor.last_raise.load(Ordering::Relaxed);
            // SAFETY: only ever stored from a `&'static Location`.
            let last = unsafe { last.as_ref() };
            book.cpu(cpu).phase = CapturePhase::Running;
            processor.held.store(false, Ordering::SeqCst);
            self.changed.notify_all();
            drop(book);
            irql::misuse(&std::format!(
                "the rendezvous could not capture CPU {cpu} within {} s: it stays at or above \
                 DISPATCH_LEVEL, last raised at {} (SyncCapture's DPC never runs there; Windows \
                 bug-checks with DPC_WATCHDOG_VIOLATION)",
                CAPTURE_TIMEOUT.as_secs(),
                last.map_or_else(
                    || std::string::String::from("?"),
                    std::string::ToString::to_string
                )
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
pub struct RaiseToken<'a>(Option<(&'a Captures, u32)>);

impl RaiseToken<'_> {
    /// The raise happened: keep the record.
    pub fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for RaiseToken<'_> {
    fn drop(&mut self) {
        if let Some((captures, cpu)) = self.0.take()
            && captures.forget_raise(cpu)
        {
            let _book = locked(&captures.book);
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
        self.captures
            .processor(self.cpu)
            .held
            .store(false, Ordering::SeqCst);
        info.releases = info.releases.saturating_add(1);
        drop(book);
        self.captures.changed.notify_all();
    }
}
