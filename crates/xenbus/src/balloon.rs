// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! BALLOON: hands guest pages back to Xen (inflate) and takes them back (deflate) so the
//! domain's memory follows the toolstack's `memory/target`.
//!
//! Upstream (`balloon.c` + the FDO's balloon thread, spec §5.10, §5.9 and §1.11):
//! - [`Balloon::adjust`] reads the fault-injection knobs `FIST/balloon/inflation` and
//!   `FIST/balloon/deflation` (base-2 numbers; non-zero forbids that direction:
//!   `STATUS_UNSUCCESSFUL`, logged `"[FIST]"`), then inflates or deflates until the balloon holds
//!   the requested number of pages or a step fails.
//! - Inflate fails with `STATUS_NO_MEMORY` while the low-memory condition is signalled.
//!   Otherwise, in chunks of at most [`PFN_ARRAY_SIZE`] pages: allocate pages from the OS
//!   (hot-removed, `MmAllocatePagesForMdlEx`), sort their frame numbers, put each into the
//!   "balloon" range set and hand the batch to Xen (`XENMEM_decrease_reservation`, order 0).
//!   Frames Xen did not take leave the range set and go back to the OS
//!   (`MmAddPhysicalMemory`, contiguous runs). Fewer pages than asked, an allocation slower
//!   than [`MIN_PAGES_PER_SECOND`], or nothing released: `STATUS_RETRY` after this chunk.
//! - Deflate, in chunks of at most [`PFN_ARRAY_SIZE`]: pop frames (lowest first) from the
//!   range set, `XENMEM_populate_physmap` them, put the ones Xen did not populate back, give the
//!   populated ones to the OS; fewer than asked is `STATUS_RETRY`.
//! - The partial result always counts: the size grows or shrinks by what really moved.
//! - The FDO's balloon thread ([`BalloonThread`]) turns `memory/static-max`,
//!   `memory/videoram` and `memory/target` (KiB) into a balloon size, and brackets each
//!   adjustment with `control/balloon-active = 1 / 0` while holding the mutex it shares with
//!   the suspend thread (each side only *tries* to take it; the loser skips and is woken by the
//!   winner). A failed adjustment stays active and is retried every second.
//!
//! Decisions:
//! - **"STILL INFLATED"** (QUIRK A10): upstream bug-checks when the last reference is released
//!   with pages in the balloon, which entering S3/S4 reaches (the D3 path releases BALLOON
//!   without deflating). Here the last release keeps the inflated state (range set and size)
//!   and logs a warning; the next acquire continues with it, so no frame is forgotten and the
//!   balloon thread deflates or inflates from where it was.
//! - A frame the OS refuses to take back (`MmAddPhysicalMemory` failing) is counted as lost
//!   and logged; the remaining runs are still given back (upstream stops at the first failure
//!   and loses every later run too).
//! - Any non-zero FIST value forbids its direction (upstream casts the number to a `BOOLEAN`,
//!   so 256 would read as zero).
//! - The thread ignores a `memory/target` (or `static-max`) that is not a decimal number
//!   instead of reading it as 0 (which would inflate the balloon to the whole of static-max),
//!   and when the target matches the current size while an adjustment is "active" it ends the
//!   adjustment (upstream stayed active, holding the suspend mutex, until the size changed).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use ntstatus::{NtStatus, STATUS_NO_MEMORY, STATUS_RETRY, STATUS_UNSUCCESSFUL};
use platform_port::{Event, Events, IrqlLock, Platform, plog};
use xen_services::XenServices;

use crate::mutex::{EventMutex, OwnedEventMutexGuard};
use crate::range_set::RangeSet;
use crate::store::{Store, StoreError, Transport};

/// Most pages handled per batch (`XENBUS_BALLOON_PFN_ARRAY_SIZE`).
pub const PFN_ARRAY_SIZE: usize = 8192;

/// Allocation slower than this (pages per second) asks for a retry.
pub const MIN_PAGES_PER_SECOND: u64 = 1000;

/// How long the balloon thread waits before retrying an unfinished adjustment.
pub const RETRY_PERIOD: Duration = Duration::from_secs(1);

/// 100 ns units per millisecond.
const TICKS_PER_MS: i64 = 10_000;

/// The OS memory services BALLOON needs.
pub trait BalloonMemory: Send + Sync {
    /// `MmAllocatePagesForMdlEx(..., MM_DONT_ZERO_ALLOCATION | MM_ALLOCATE_PREFER_CONTIGUOUS |
    /// MM_ALLOCATE_AND_HOT_REMOVE)`: takes up to `pfns.len()` pages away from the OS, writes
    /// their frame numbers to the front of `pfns` and returns how many (0 when none).
    fn allocate(&self, pfns: &mut [u64]) -> usize;
    /// `MmAddPhysicalMemory`: gives `count` frames from `start` back to the OS.
    ///
    /// # Errors
    /// The OS's status; the frames were not taken.
    fn add_physical(&self, start: u64, count: u64) -> Result<(), NtStatus>;
    /// Whether `\KernelObjects\LowMemoryCondition` is signalled.
    fn low_memory(&self) -> bool;
    /// `KeQuerySystemTime` (100 ns units), to measure the allocation rate.
    fn system_time(&self) -> i64;
}

/// The xenstore access BALLOON and its thread need (paths are absolute, without a prefix).
pub trait BalloonStore: Send + Sync {
    /// Calls `value` with the bytes of `path` and returns what it returned.
    ///
    /// # Errors
    /// The store's status (`STATUS_OBJECT_NAME_NOT_FOUND` for a missing key).
    fn read<R>(&self, path: &str, value: impl FnOnce(&[u8]) -> R) -> Result<R, NtStatus>;
    /// Writes `value` to `path`.
    ///
    /// # Errors
    /// The store's status.
    fn write(&self, path: &str, value: &[u8]) -> Result<(), NtStatus>;
}

impl<P: platform_port::Irql + Clone + Send + Sync, T: Transport + Send> BalloonStore
    for Store<P, T>
{
    fn read<R>(&self, path: &str, value: impl FnOnce(&[u8]) -> R) -> Result<R, NtStatus> {
        let buffer = Self::read(self, None, None, path.as_bytes()).map_err(StoreError::ntstatus)?;
        let result = value(buffer.as_bytes());
        self.free(buffer);
        Ok(result)
    }

    fn write(&self, path: &str, value: &[u8]) -> Result<(), NtStatus> {
        Self::write(self, None, None, path.as_bytes(), value).map_err(StoreError::ntstatus)
    }
}

/// A BALLOON failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BalloonError {
    /// A FIST knob forbids this direction (`STATUS_UNSUCCESSFUL`).
    Fist,
    /// The low-memory condition is signalled (`STATUS_NO_MEMORY`).
    LowMemory,
    /// Partial progress; try again later (`STATUS_RETRY`).
    Retry,
    /// No memory for the balloon's own structures (`STATUS_NO_MEMORY`).
    NoMemory,
    /// Not acquired (`STATUS_UNSUCCESSFUL`).
    NotAcquired,
}

impl BalloonError {
    /// Upstream's status.
    #[must_use]
    pub const fn status(self) -> NtStatus {
        match self {
            Self::Fist | Self::NotAcquired => STATUS_UNSUCCESSFUL,
            Self::LowMemory | Self::NoMemory => STATUS_NO_MEMORY,
            Self::Retry => STATUS_RETRY,
        }
    }

    const fn tag(self) -> &'static str {
        match self {
            Self::Fist => " [FIST]",
            Self::Retry => " [RETRY]",
            Self::LowMemory => " [LOW_MEM]",
            Self::NoMemory | Self::NotAcquired => " [UNKNOWN]",
        }
    }
}

impl fmt::Display for BalloonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Fist => "forbidden by FIST",
            Self::LowMemory => "low memory",
            Self::Retry => "retry",
            Self::NoMemory => "no memory",
            Self::NotAcquired => "not acquired",
        })
    }
}

/// The fault-injection knobs, read at every adjustment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Fist {
    inflation: bool,
    deflation: bool,
}

/// `strtol(text, NULL, 2) != 0`: leading whitespace, an optional sign, then binary digits up
/// to the first other character.
fn fist_value(text: &[u8]) -> bool {
    let text = text.trim_ascii_start();
    let digits = match text.first() {
        Some(b'+' | b'-') => text.get(1..).unwrap_or_default(),
        _ => text,
    };
    digits
        .iter()
        .take_while(|&&b| b == b'0' || b == b'1')
        .any(|&b| b == b'1')
}

/// A decimal number (`_strtoui64(text, NULL, 10)` when the text is one); `None` when the text
/// does not start with a digit or overflows.
fn decimal(text: &[u8]) -> Option<u64> {
    let text = text.trim_ascii();
    let digits: &[u8] = {
        let end = text
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(text.len());
        text.get(..end).unwrap_or_default()
    };
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?
            .checked_add(u64::from(d.wrapping_sub(b'0')))
    })
}

/// What an adjustment works on (only the adjusting thread touches it).
struct State {
    range_set: RangeSet,
    pfns: Vec<u64>,
    fist: Fist,
}

/// The BALLOON context.
pub struct Balloon<P: Platform, S: XenServices, M: BalloonMemory, K: BalloonStore> {
    platform: P,
    xen: Arc<S>,
    memory: Arc<M>,
    store: Arc<K>,
    references: IrqlLock<P, u32>,
    adjusting: EventMutex<<P as Events>::Event>,
    state: spin::Mutex<Option<State>>,
    size: AtomicU64,
    lost: AtomicU64,
}

impl<P: Platform, S: XenServices, M: BalloonMemory, K: BalloonStore> Balloon<P, S, M, K> {
    /// A context (not acquired).
    pub fn new(platform: P, xen: Arc<S>, memory: Arc<M>, store: Arc<K>) -> Self {
        Self {
            references: IrqlLock::dispatch(platform.clone(), 0),
            adjusting: EventMutex::new(&platform),
            state: spin::Mutex::new(None),
            size: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            platform,
            xen,
            memory,
            store,
        }
    }

    /// `BalloonAcquire`: the first reference creates the "balloon" range set and the frame
    /// array (or keeps the ones an earlier release left inflated).
    ///
    /// # Errors
    /// [`BalloonError::NoMemory`]; the count stays 0.
    pub fn acquire(&self) -> Result<(), BalloonError> {
        let mut references = self.references.lock();
        // A busy state means an adjustment holds it, so it exists; never spin for it here (at
        // DISPATCH_LEVEL, over an adjustment running below it on this processor).
        if *references == 0
            && let Some(mut state) = self.state.try_lock()
            && state.is_none()
        {
            let range_set = RangeSet::new(b"balloon").map_err(|_| BalloonError::NoMemory)?;
            let mut pfns = Vec::new();
            pfns.try_reserve_exact(PFN_ARRAY_SIZE)
                .map_err(|_| BalloonError::NoMemory)?;
            pfns.resize(PFN_ARRAY_SIZE, 0);
            *state = Some(State {
                range_set,
                pfns,
                fist: Fist::default(),
            });
        }
        *references = references.saturating_add(1);
        Ok(())
    }

    /// `BalloonRelease`: the last reference frees the range set, unless the balloon is still
    /// inflated (see the module's decision on "STILL INFLATED").
    pub fn release(&self) {
        let mut references = self.references.lock();
        match *references {
            0 => return,
            1 => {}
            _ => {
                *references = references.saturating_sub(1);
                return;
            }
        }
        *references = 0;
        let size = self.size();
        if size != 0 {
            plog!(
                self.platform,
                Warning,
                "BALLOON: STILL INFLATED ({size} page(s)); keeping the balloon for the next acquire"
            );
            return;
        }
        // An adjustment still running (the FDO stops the thread first, so only a misuse gets
        // here) keeps the state; it is freed by a later release or with the context.
        let old = self.state.try_lock().and_then(|mut state| state.take());
        drop(references);
        drop(old);
    }

    /// The current reference count.
    pub fn references(&self) -> u32 {
        *self.references.lock()
    }

    /// `BalloonGetSize`: pages in the balloon.
    pub fn size(&self) -> u64 {
        self.size.load(Ordering::Acquire)
    }

    /// Frames the OS refused to take back.
    pub fn lost(&self) -> u64 {
        self.lost.load(Ordering::Acquire)
    }

    /// Runs `f` over the ballooned frames (the range set) — for audits and the debug dump.
    pub fn with_ballooned<R>(&self, f: impl FnOnce(Option<&RangeSet>) -> R) -> R {
        let _adjusting = self.adjusting.lock();
        let state = self.state.lock();
        f(state.as_ref().map(|s| &s.range_set))
    }

    /// `BalloonAdjust` (below `DISPATCH_LEVEL`): inflates or deflates until the balloon holds
    /// `target` pages.
    ///
    /// # Errors
    /// [`BalloonError::Fist`], [`BalloonError::LowMemory`], [`BalloonError::Retry`] (partial
    /// progress, already counted in [`Balloon::size`]), [`BalloonError::NotAcquired`].
    pub fn adjust(&self, target: u64) -> Result<(), BalloonError> {
        let _adjusting = self.adjusting.lock();
        let mut guard = self.state.lock();
        let Some(state) = guard.as_mut() else {
            return Err(BalloonError::NotAcquired);
        };
        plog!(
            self.platform,
            Info,
            "BALLOON: ====> ({} page(s))",
            self.size()
        );
        state.fist = self.read_fist();
        let mut result = Ok(());
        while result.is_ok() {
            let size = self.size();
            result = match target.cmp(&size) {
                core::cmp::Ordering::Greater => self.inflate(state, target.saturating_sub(size)),
                core::cmp::Ordering::Less => self.deflate(state, size.saturating_sub(target)),
                core::cmp::Ordering::Equal => break,
            };
        }
        plog!(
            self.platform,
            Info,
            "BALLOON: <==== ({} page(s)){}",
            self.size(),
            result.err().map_or("", BalloonError::tag)
        );
        result
    }

    fn read_fist(&self) -> Fist {
        let read = |path| self.store.read(path, fist_value).unwrap_or(false);
        let fist = Fist {
            inflation: read("FIST/balloon/inflation"),
            deflation: read("FIST/balloon/deflation"),
        };
        if fist.inflation {
            plog!(self.platform, Warning, "BALLOON: inflation disallowed");
        }
        if fist.deflation {
            plog!(self.platform, Warning, "BALLOON: deflation disallowed");
        }
        fist
    }

    fn inflate(&self, state: &mut State, requested: u64) -> Result<(), BalloonError> {
        if state.fist.inflation {
            return Err(BalloonError::Fist);
        }
        if self.memory.low_memory() {
            return Err(BalloonError::LowMemory);
        }
        plog!(
            self.platform,
            Info,
            "BALLOON: inflate ====> {requested} page(s)"
        );
        let start = self.memory.system_time();
        let mut count = 0u64;
        let mut result = Ok(());
        while count < requested && result.is_ok() {
            let this = chunk(requested.saturating_sub(count));
            let (allocated, slow) = self.allocate(state, this);
            if allocated < this || slow {
                result = Err(BalloonError::Retry);
            }
            let released = self.release_pfns(state, allocated);
            if released < allocated {
                let rest = state.pfns.get(released..allocated).unwrap_or_default();
                self.give_to_os(rest);
            }
            if released == 0 {
                result = Err(BalloonError::Retry);
            }
            count = count.saturating_add(released as u64);
            self.size.fetch_add(released as u64, Ordering::AcqRel);
        }
        let ms = self.memory.system_time().saturating_sub(start) / TICKS_PER_MS;
        plog!(
            self.platform,
            Info,
            "BALLOON: inflate <==== {count} page(s) in {ms}ms"
        );
        result
    }

    /// Takes up to `this` pages from the OS into `state.pfns[..n]`, sorted; returns `n` and
    /// whether the allocation was slower than [`MIN_PAGES_PER_SECOND`].
    fn allocate(&self, state: &mut State, this: usize) -> (usize, bool) {
        let start = self.memory.system_time();
        let buffer = state.pfns.get_mut(..this).unwrap_or_default();
        let allocated = self.memory.allocate(buffer).min(buffer.len());
        if let Some(pfns) = buffer.get_mut(..allocated) {
            pfns.sort_unstable();
        }
        let ms = (self.memory.system_time().saturating_sub(start) / TICKS_PER_MS).max(1);
        let ms = u64::try_from(ms).unwrap_or(1);
        let rate = (allocated as u64)
            .saturating_mul(1000)
            .checked_div(ms)
            .unwrap_or(0);
        (allocated, rate < MIN_PAGES_PER_SECOND)
    }

    /// Puts `state.pfns[..n]` into the range set and hands them to Xen. Returns how many Xen
    /// took (the first ones); the others are out of the range set again.
    fn release_pfns(&self, state: &mut State, n: usize) -> usize {
        let State {
            range_set, pfns, ..
        } = state;
        let batch = pfns.get_mut(..n).unwrap_or_default();
        let mut tracked = 0usize;
        for &pfn in batch.iter() {
            let Ok(item) = i64::try_from(pfn) else { break };
            if range_set.put(item, 1).is_err() {
                break;
            }
            tracked = tracked.saturating_add(1);
        }
        let batch = batch.get_mut(..tracked).unwrap_or_default();
        let released = if batch.is_empty() {
            0
        } else {
            // SAFETY: these frames were just taken from the OS (hot-removed) and nothing maps
            // them; they stay untouched until populated again.
            let result = unsafe { self.xen.memory_decrease_reservation(0, batch) };
            match result {
                Ok(done) => done.min(batch.len()),
                Err(status) => {
                    plog!(
                        self.platform,
                        Warning,
                        "BALLOON: decrease_reservation failed ({status:08x})"
                    );
                    0
                }
            }
        };
        for &pfn in batch.get(released..).unwrap_or_default() {
            if let Ok(item) = i64::try_from(pfn) {
                // Just put: always present.
                let _ = range_set.get(item, 1);
            }
        }
        released
    }

    fn deflate(&self, state: &mut State, requested: u64) -> Result<(), BalloonError> {
        if state.fist.deflation {
            return Err(BalloonError::Fist);
        }
        plog!(
            self.platform,
            Info,
            "BALLOON: deflate ====> {requested} page(s)"
        );
        let start = self.memory.system_time();
        let mut count = 0u64;
        let mut result = Ok(());
        while count < requested && result.is_ok() {
            let this = chunk(requested.saturating_sub(count));
            let populated = self.populate_pfns(state, this);
            if populated < this {
                result = Err(BalloonError::Retry);
            }
            self.give_to_os(state.pfns.get(..populated).unwrap_or_default());
            count = count.saturating_add(populated as u64);
            self.size
                .fetch_sub((populated as u64).min(self.size()), Ordering::AcqRel);
        }
        let ms = self.memory.system_time().saturating_sub(start) / TICKS_PER_MS;
        plog!(
            self.platform,
            Info,
            "BALLOON: deflate <==== {count} page(s) in {ms}ms"
        );
        result
    }

    /// Pops up to `this` frames (lowest first) into `state.pfns` and populates them. Returns
    /// how many Xen populated (the first ones); the others are back in the range set.
    fn populate_pfns(&self, state: &mut State, this: usize) -> usize {
        let State {
            range_set, pfns, ..
        } = state;
        let mut popped = 0usize;
        for slot in pfns.iter_mut().take(this) {
            let Ok(item) = range_set.pop(1) else { break };
            *slot = u64::try_from(item).unwrap_or_default();
            popped = popped.saturating_add(1);
        }
        let batch = pfns.get_mut(..popped).unwrap_or_default();
        let populated = if batch.is_empty() {
            0
        } else {
            // SAFETY: these frames are ours (in the balloon, unused by anyone).
            let result = unsafe { self.xen.memory_populate_physmap(0, batch) };
            match result {
                Ok(done) => done.min(batch.len()),
                Err(status) => {
                    plog!(
                        self.platform,
                        Warning,
                        "BALLOON: populate_physmap failed ({status:08x})"
                    );
                    0
                }
            }
        };
        for &pfn in batch.get(populated..).unwrap_or_default() {
            let put = i64::try_from(pfn)
                .map_err(|_| ())
                .and_then(|item| range_set.put(item, 1).map_err(|_| ()));
            if put.is_err() {
                // The frame is neither populated nor tracked any more.
                self.lost.fetch_add(1, Ordering::AcqRel);
                plog!(
                    self.platform,
                    Error,
                    "BALLOON: frame {pfn:x} could not be put back in the balloon"
                );
            }
        }
        populated
    }

    /// Gives frames (sorted) back to the OS in contiguous runs.
    fn give_to_os(&self, pfns: &[u64]) {
        let mut rest = pfns;
        while let Some((&first, _)) = rest.split_first() {
            let run = rest
                .iter()
                .zip(first..)
                .take_while(|&(&pfn, expected)| pfn == expected)
                .count()
                .max(1);
            let count = run as u64;
            if let Err(status) = self.memory.add_physical(first, count) {
                self.lost.fetch_add(count, Ordering::AcqRel);
                plog!(
                    self.platform,
                    Error,
                    "BALLOON: MmAddPhysicalMemory failed: {status:08x} (PFN {first:x} + {count:x} pages)"
                );
            }
            rest = rest.get(run..).unwrap_or_default();
        }
    }

    /// The balloon's debug content: size, frames lost, and the range set.
    ///
    /// # Errors
    /// The writer's.
    pub fn debug_dump(&self, out: &mut dyn fmt::Write, crashing: bool) -> fmt::Result {
        writeln!(out, "Size = {} Lost = {}", self.size(), self.lost())?;
        if crashing {
            return Ok(());
        }
        match self.state.try_lock() {
            Some(state) => state
                .as_ref()
                .map_or(Ok(()), |state| state.range_set.dump(&mut FmtAdapter(out))),
            None => writeln!(out, "(adjusting)"),
        }
    }
}

struct FmtAdapter<'a>(&'a mut dyn fmt::Write);

impl fmt::Write for FmtAdapter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write_str(s)
    }
}

fn chunk(remaining: u64) -> usize {
    usize::try_from(remaining)
        .unwrap_or(PFN_ARRAY_SIZE)
        .min(PFN_ARRAY_SIZE)
}

/// What one pass of the balloon thread did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BalloonPass {
    /// Not in D0: nothing done (an active adjustment was ended).
    NotD0,
    /// `memory/static-max` (or `memory/target`) is missing or unusable: nothing done.
    NoTarget,
    /// The balloon already has the size the target asks for.
    Idle,
    /// The suspend thread holds the mutex: skipped (it wakes us when done).
    SuspendRunning,
    /// The balloon reached the size (the adjustment ended).
    Adjusted,
    /// The adjustment failed with this error; still active, retried after [`RETRY_PERIOD`].
    Failed(BalloonError),
}

/// The FDO's balloon thread logic (`FdoBalloon`), one [`BalloonThread::pass`] per wake.
pub struct BalloonThread<P: Platform, S: XenServices, M: BalloonMemory, K: BalloonStore> {
    balloon: Arc<Balloon<P, S, M, K>>,
    mutex: Arc<EventMutex<<P as Events>::Event>>,
    wake_suspend: Arc<dyn Fn() + Send + Sync>,
    static_max: Option<u64>,
    active: Option<OwnedEventMutexGuard<<P as Events>::Event>>,
}

impl<P: Platform, S: XenServices, M: BalloonMemory, K: BalloonStore> BalloonThread<P, S, M, K> {
    /// The thread state; `mutex` is the one the suspend thread shares, `wake_suspend` wakes the
    /// suspend thread.
    pub fn new(
        balloon: Arc<Balloon<P, S, M, K>>,
        mutex: Arc<EventMutex<<P as Events>::Event>>,
        wake_suspend: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        Self {
            balloon,
            mutex,
            wake_suspend,
            static_max: None,
            active: None,
        }
    }

    /// Whether an adjustment is unfinished (the thread then waits at most [`RETRY_PERIOD`]).
    #[must_use]
    pub const fn is_active(&self) -> bool {
        self.active.is_some()
    }

    /// How long the thread may wait for its next wake.
    #[must_use]
    pub const fn timeout(&self) -> Option<Duration> {
        if self.is_active() {
            Some(RETRY_PERIOD)
        } else {
            None
        }
    }

    /// `StaticMax` in pages once known.
    #[must_use]
    pub const fn static_max(&self) -> Option<u64> {
        self.static_max
    }

    fn set_active(&mut self) -> bool {
        let Some(guard) = self.mutex.try_lock_owned() else {
            return false;
        };
        let _ = self.balloon.store.write("control/balloon-active", b"1");
        self.active = Some(guard);
        true
    }

    fn clear_active(&mut self) {
        if let Some(guard) = self.active.take() {
            let _ = self.balloon.store.write("control/balloon-active", b"0");
            drop(guard);
            // A suspend may have been skipped while we held the mutex.
            (self.wake_suspend)();
        }
    }

    fn read_static_max(&self) -> Option<u64> {
        let store = &self.balloon.store;
        let static_max = store
            .read("memory/static-max", decimal)
            .ok()
            .flatten()
            .filter(|&kib| kib != 0)?;
        let videoram = match store.read("memory/videoram", decimal) {
            Ok(value) => value?,
            Err(_) => 0,
        };
        let kib = static_max.checked_sub(videoram)?;
        Some(kib / 4)
    }

    /// One pass: `in_d0` is whether the FDO is in D0.
    pub fn pass(&mut self, in_d0: bool) -> BalloonPass {
        if !in_d0 {
            self.clear_active();
            return BalloonPass::NotD0;
        }
        if self.static_max.is_none() {
            self.static_max = self.read_static_max();
        }
        let Some(static_max) = self.static_max else {
            return BalloonPass::NoTarget;
        };
        let target = self.balloon.store.read("memory/target", decimal);
        let Ok(Some(target_kib)) = target else {
            if target == Ok(None) {
                plog!(
                    self.balloon.platform,
                    Warning,
                    "BALLOON: memory/target is not a number; ignored"
                );
            }
            return BalloonPass::NoTarget;
        };
        let target = (target_kib / 4).min(static_max);
        let size = static_max.saturating_sub(target);
        if self.balloon.size() == size {
            self.clear_active();
            return BalloonPass::Idle;
        }
        if !self.is_active() && !self.set_active() {
            return BalloonPass::SuspendRunning;
        }
        match self.balloon.adjust(size) {
            Ok(()) => {
                self.clear_active();
                BalloonPass::Adjusted
            }
            Err(error) => BalloonPass::Failed(error),
        }
    }

    /// The thread body: waits for a wake (at most [`RETRY_PERIOD`] while active), runs a pass,
    /// and calls `done` (upstream's `BalloonEvent`) after every pass that ends inactive, until
    /// alerted. On exit any active adjustment is ended.
    pub fn run<E: Event>(
        mut self,
        context: &platform_port::worker::WorkerContext<E>,
        in_d0: impl Fn() -> bool,
        done: impl Fn(),
    ) {
        loop {
            context.wait(self.timeout());
            if context.alerted() {
                break;
            }
            self.pass(in_d0());
            if !self.is_active() {
                done();
            }
        }
        self.clear_active();
        done();
    }
}

#[cfg(test)]
mod tests;
