// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! [`FuzzPlatform`]: a single-threaded [`platform_port::Platform`] for the fuzz targets.
//!
//! The std platform of the host tests checks every IRQL contract with per-thread bookkeeping,
//! runs DPCs on a thread and keeps every log line; a fuzz target runs millions of inputs in one
//! process, so it needs a platform that costs nothing per input and keeps nothing. This one
//! checks the two IRQL rules a fuzz input could break (a raise below the current level, a lower
//! above it), runs DPCs only when [`Deferred::flush_dpcs`] is called, never blocks (a wait that
//! would block for ever panics: in one thread nobody could wake it), and drops log lines (set
//! `XENBUS_FUZZ_LOG` to print them).
//!
//! Memory: [`Memory::alloc_pages`] hands out zeroed, page-aligned host memory whose frame
//! number is its address shifted right by 12, so [`Memory::map_physical`] of a frame this
//! platform allocated is the same memory (what a grant frame placed in a hole page or a ring
//! page granted by the toolstack is); mapping any other frame fails.

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::collections::{BTreeMap, BTreeSet};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use platform_port::{
    Clock, Deferred, Dpc, Event, EventKind, Events, Irql, IrqlLevel, Log, LogLevel, Memory,
    PAGE_SHIFT, PAGE_SIZE, Pages, PortError, PortIo, Processors, RegValue, Registry, Routine,
    Thread, Threads, Timer, Timers,
};

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One allocation of [`Memory::alloc_pages`].
struct Allocation {
    address: usize,
    count: usize,
}

/// A registry key: whether it is volatile, and its values.
#[derive(Default)]
pub struct Key {
    /// Created volatile.
    pub volatile: bool,
    /// Values by name.
    pub values: BTreeMap<String, RegValue>,
}

struct Inner {
    processors: u32,
    cpu: AtomicU32,
    irql: AtomicU8,
    allocations: Mutex<BTreeMap<u64, Allocation>>,
    mappings: AtomicUsize,
    dpcs: Mutex<Vec<Arc<DpcInner>>>,
    registry: Mutex<BTreeMap<String, Key>>,
    time: AtomicI64,
    echo: bool,
    logged: AtomicUsize,
}

/// The fuzz platform. Clones share everything.
#[derive(Clone)]
pub struct FuzzPlatform {
    inner: Arc<Inner>,
}

impl FuzzPlatform {
    /// A platform with `processors` processors (at least one), at `PASSIVE_LEVEL` on CPU 0.
    #[must_use]
    pub fn new(processors: u32) -> Self {
        Self {
            inner: Arc::new(Inner {
                processors: processors.max(1),
                cpu: AtomicU32::new(0),
                irql: AtomicU8::new(0),
                allocations: Mutex::new(BTreeMap::new()),
                mappings: AtomicUsize::new(0),
                dpcs: Mutex::new(Vec::new()),
                registry: Mutex::new(BTreeMap::new()),
                time: AtomicI64::new(0),
                echo: std::env::var_os("XENBUS_FUZZ_LOG").is_some(),
                logged: AtomicUsize::new(0),
            }),
        }
    }

    /// Pages allocated and not freed.
    #[must_use]
    pub fn pages_outstanding(&self) -> usize {
        locked(&self.inner.allocations)
            .values()
            .map(|a| a.count)
            .sum()
    }

    /// Mappings made and not unmapped.
    #[must_use]
    pub fn mappings_outstanding(&self) -> usize {
        self.inner.mappings.load(Ordering::SeqCst)
    }

    /// Log lines written so far.
    #[must_use]
    pub fn logged(&self) -> usize {
        self.inner.logged.load(Ordering::Relaxed)
    }

    /// Runs `f` as processor `cpu`.
    pub fn as_processor<R>(&self, cpu: u32, f: impl FnOnce() -> R) -> R {
        let previous = self.inner.cpu.swap(cpu, Ordering::SeqCst);
        let result = f();
        self.inner.cpu.store(previous, Ordering::SeqCst);
        result
    }

    /// The memory of frame `pfn` if this platform allocated it, as the other side of the
    /// shared page sees it (no mapping is counted).
    #[must_use]
    pub fn frame(&self, pfn: u64) -> Option<NonNull<u8>> {
        let allocations = locked(&self.inner.allocations);
        let (&first, allocation) = allocations.range(..=pfn).next_back()?;
        let offset = usize::try_from(pfn - first).ok()?;
        (offset < allocation.count).then(|| {
            NonNull::new(std::ptr::with_exposed_provenance_mut::<u8>(
                allocation.address + offset * PAGE_SIZE,
            ))
        })?
    }

    /// The registry, for a target to set up values and check what was written.
    pub fn registry(&self) -> MutexGuard<'_, BTreeMap<String, Key>> {
        locked(&self.inner.registry)
    }
}

impl Irql for FuzzPlatform {
    fn current_irql(&self) -> IrqlLevel {
        IrqlLevel(self.inner.irql.load(Ordering::SeqCst))
    }

    #[track_caller]
    fn raise_irql(&self, to: IrqlLevel) -> IrqlLevel {
        let old = self.current_irql();
        assert!(
            to >= old && to <= IrqlLevel::HIGH,
            "IRQL rule broken: raise from {old} to {to}"
        );
        self.inner.irql.store(to.0, Ordering::SeqCst);
        old
    }

    #[track_caller]
    fn lower_irql(&self, old: IrqlLevel) {
        let current = self.current_irql();
        assert!(
            old <= current,
            "IRQL rule broken: lower from {current} to {old}"
        );
        self.inner.irql.store(old.0, Ordering::SeqCst);
    }
}

impl Processors for FuzzPlatform {
    fn current_processor(&self) -> u32 {
        self.inner.cpu.load(Ordering::SeqCst)
    }

    fn processor_count(&self) -> u32 {
        self.inner.processors
    }
}

/// An event that never blocks.
pub struct FuzzEvent {
    kind: EventKind,
    set: AtomicBool,
}

impl Event for FuzzEvent {
    fn set(&self) {
        self.set.store(true, Ordering::SeqCst);
    }

    fn reset(&self) {
        self.set.store(false, Ordering::SeqCst);
    }

    fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    fn wait(&self, timeout: Option<Duration>) -> bool {
        let was = match self.kind {
            EventKind::Synchronization => self.set.swap(false, Ordering::SeqCst),
            EventKind::Notification => self.set.load(Ordering::SeqCst),
        };
        assert!(
            was || timeout.is_some(),
            "an unbounded wait on an event nobody can set (single-threaded fuzz run)"
        );
        was
    }
}

impl Events for FuzzPlatform {
    type Event = FuzzEvent;

    fn new_event(&self, kind: EventKind) -> FuzzEvent {
        FuzzEvent {
            kind,
            set: AtomicBool::new(false),
        }
    }
}

struct DpcInner {
    routine: Routine,
    queued: AtomicBool,
}

/// A DPC, run by [`Deferred::flush_dpcs`].
pub struct FuzzDpc {
    inner: Arc<DpcInner>,
    platform: Weak<Inner>,
}

impl Dpc for FuzzDpc {
    fn insert(&self) -> bool {
        let Some(platform) = self.platform.upgrade() else {
            return false;
        };
        if self.inner.queued.swap(true, Ordering::SeqCst) {
            return false;
        }
        locked(&platform.dpcs).push(Arc::clone(&self.inner));
        true
    }

    fn remove(&self) -> bool {
        let Some(platform) = self.platform.upgrade() else {
            return false;
        };
        let mut queue = locked(&platform.dpcs);
        let before = queue.len();
        queue.retain(|d| !Arc::ptr_eq(d, &self.inner));
        let removed = queue.len() != before;
        if removed {
            self.inner.queued.store(false, Ordering::SeqCst);
        }
        removed
    }
}

impl Deferred for FuzzPlatform {
    type Dpc = FuzzDpc;

    fn new_dpc(&self, _cpu: Option<u32>, routine: Routine) -> FuzzDpc {
        FuzzDpc {
            inner: Arc::new(DpcInner {
                routine,
                queued: AtomicBool::new(false),
            }),
            platform: Arc::downgrade(&self.inner),
        }
    }

    fn flush_dpcs(&self) {
        // A routine may queue DPCs again; bound the rounds so a DPC that requeues itself for
        // ever is a failure, not a hang.
        for _ in 0..1000 {
            let batch = std::mem::take(&mut *locked(&self.inner.dpcs));
            if batch.is_empty() {
                return;
            }
            for dpc in batch {
                dpc.queued.store(false, Ordering::SeqCst);
                let old = self.raise_irql(IrqlLevel::DISPATCH);
                (dpc.routine)();
                assert_eq!(
                    self.current_irql(),
                    IrqlLevel::DISPATCH,
                    "a DPC routine returned at another IRQL"
                );
                self.lower_irql(old);
            }
        }
        panic!("DPCs kept requeueing themselves");
    }
}

/// A timer that never fires.
pub struct FuzzTimer {
    armed: AtomicBool,
}

impl Timer for FuzzTimer {
    fn set(&self, _due: Duration, _period: Option<Duration>) {
        self.armed.store(true, Ordering::SeqCst);
    }

    fn cancel(&self) -> bool {
        self.armed.swap(false, Ordering::SeqCst)
    }
}

impl Timers for FuzzPlatform {
    type Timer = FuzzTimer;

    fn new_timer(&self, _routine: Routine) -> FuzzTimer {
        FuzzTimer {
            armed: AtomicBool::new(false),
        }
    }
}

/// Threads are never started (a target drives thread bodies itself).
pub struct NoThread;

impl Thread for NoThread {
    fn join(self) {}
}

impl Threads for FuzzPlatform {
    type Thread = NoThread;

    fn spawn(
        &self,
        _name: &'static str,
        _body: Box<dyn FnOnce() + Send + 'static>,
    ) -> Result<NoThread, PortError> {
        Err(PortError::Insufficient)
    }
}

impl Memory for FuzzPlatform {
    fn alloc_pages(&self, count: usize) -> Result<Pages, PortError> {
        if count == 0 {
            return Err(PortError::InvalidParameter);
        }
        let size = count.checked_mul(PAGE_SIZE).ok_or(PortError::NoMemory)?;
        let layout = Layout::from_size_align(size, PAGE_SIZE).map_err(|_| PortError::NoMemory)?;
        // SAFETY: the layout has a non-zero size.
        let address = NonNull::new(unsafe { alloc_zeroed(layout) }).ok_or(PortError::NoMemory)?;
        let pfn = (address.as_ptr().expose_provenance() >> PAGE_SHIFT) as u64;
        locked(&self.inner.allocations).insert(
            pfn,
            Allocation {
                address: address.as_ptr().addr(),
                count,
            },
        );
        Ok(Pages {
            address,
            pfn,
            count,
        })
    }

    unsafe fn free_pages(&self, pages: Pages) {
        let allocation = locked(&self.inner.allocations).remove(&pages.pfn);
        let allocation = allocation.expect("free_pages of pages this platform did not allocate");
        assert_eq!(
            allocation.count, pages.count,
            "free_pages with another count"
        );
        assert_eq!(allocation.address, pages.address.as_ptr().addr());
        let layout = Layout::from_size_align(pages.count * PAGE_SIZE, PAGE_SIZE)
            .expect("the layout of an allocation");
        // SAFETY: allocated by `alloc_pages` with this layout, freed once (removed above).
        unsafe { dealloc(pages.address.as_ptr(), layout) };
    }

    unsafe fn map_physical(&self, pfn: u64, count: usize) -> Result<NonNull<u8>, PortError> {
        let allocations = locked(&self.inner.allocations);
        let (&first, allocation) = allocations
            .range(..=pfn)
            .next_back()
            .ok_or(PortError::InvalidParameter)?;
        let offset = usize::try_from(pfn - first).map_err(|_| PortError::InvalidParameter)?;
        if count == 0 || offset + count > allocation.count {
            return Err(PortError::InvalidParameter);
        }
        self.inner.mappings.fetch_add(1, Ordering::SeqCst);
        NonNull::new(std::ptr::with_exposed_provenance_mut::<u8>(
            allocation.address + offset * PAGE_SIZE,
        ))
        .ok_or(PortError::InvalidParameter)
    }

    unsafe fn unmap_physical(&self, _address: NonNull<u8>, _count: usize) {
        let before = self.inner.mappings.fetch_sub(1, Ordering::SeqCst);
        assert!(before > 0, "unmap_physical without a mapping");
    }
}

impl PortIo for FuzzPlatform {
    fn inb(&self, _port: u16) -> u8 {
        0xFF
    }

    fn inw(&self, _port: u16) -> u16 {
        0xFFFF
    }

    fn outb(&self, _port: u16, _value: u8) {}

    fn outw(&self, _port: u16, _value: u16) {}

    fn outl(&self, _port: u16, _value: u32) {}
}

impl Registry for FuzzPlatform {
    fn read_value(&self, key: &str, name: &str) -> Result<RegValue, PortError> {
        locked(&self.inner.registry)
            .get(key)
            .and_then(|k| k.values.get(name))
            .cloned()
            .ok_or(PortError::NotFound)
    }

    fn write_value(&self, key: &str, name: &str, value: RegValue) -> Result<(), PortError> {
        let mut registry = locked(&self.inner.registry);
        let key = registry.get_mut(key).ok_or(PortError::NotFound)?;
        key.values.insert(name.to_owned(), value);
        Ok(())
    }

    fn delete_value(&self, key: &str, name: &str) -> Result<(), PortError> {
        locked(&self.inner.registry)
            .get_mut(key)
            .and_then(|k| k.values.remove(name))
            .map(drop)
            .ok_or(PortError::NotFound)
    }

    fn create_key(&self, key: &str, volatile: bool) -> Result<(), PortError> {
        if key.is_empty() || key.contains('\0') {
            return Err(PortError::InvalidParameter);
        }
        locked(&self.inner.registry)
            .entry(key.to_owned())
            .or_insert_with(|| Key {
                volatile,
                values: BTreeMap::new(),
            });
        Ok(())
    }

    fn subkeys(&self, key: &str) -> Result<Vec<String>, PortError> {
        let registry = locked(&self.inner.registry);
        if !registry.contains_key(key) {
            return Err(PortError::NotFound);
        }
        let prefix = format!("{key}\\");
        let names: BTreeSet<String> = registry
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .map(|rest| rest.split('\\').next().unwrap_or_default().to_owned())
            .collect();
        Ok(names.into_iter().collect())
    }
}

impl Log for FuzzPlatform {
    fn log(&self, level: LogLevel, args: std::fmt::Arguments<'_>) {
        self.inner.logged.fetch_add(1, Ordering::Relaxed);
        if self.inner.echo {
            eprintln!("{level:?}: {args}");
        }
    }
}

impl Clock for FuzzPlatform {
    fn system_time(&self) -> i64 {
        self.inner.time.load(Ordering::SeqCst)
    }

    fn stall(&self, microseconds: u32) {
        self.inner
            .time
            .fetch_add(i64::from(microseconds) * 10, Ordering::SeqCst);
    }
}
