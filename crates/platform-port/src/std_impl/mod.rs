// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The std implementation of the platform port, for host tests and the simulator.
//!
//! Threads stand in for processors: every thread has an emulated IRQL and processor index
//! (thread-locals; [`StdPlatform::as_processor`] runs a closure "on" a processor). DPCs run
//! one at a time on a single executor thread at `DISPATCH_LEVEL` with the processor index they
//! target. Timers each own a thread. Pages come from a [`PageSource`]: by default host memory
//! whose "frame number" is its address >> 12; the simulator plugs in its guest memory instead.
//! Port I/O reads come from a closure and writes are recorded; the registry and the log are in
//! memory and can be inspected.
//!
//! # IRQL enforcement
//!
//! Every service checks the IRQL contract its trait documents (the Windows routine's), as
//! Driver Verifier would: a broken rule panics with a message starting with
//! [`VIOLATION_PREFIX`] that names the rule, the allowed levels, the Windows routine and the
//! caller (the methods are `#[track_caller]`, so under static dispatch the panic names the code
//! that called the service). [`irql_contracts_checked`] and [`irql_violations`] count the checks
//! and the broken ones over the whole process (`irql: N contracts checked, 0 violations`).
//! [`crate::IrqlLock`]s report to the platform, which tracks per processor which locks are
//! held by which context ([`StdPlatform::held_locks`]) and catches recursive acquisition, a
//! lock taken above its level, locks released out of order and a lock taken by a context that
//! preempted its holder on the same processor ([`StdPlatform::preempt`] provokes that
//! deterministically).
//!
//! The rendezvous ([`crate::Rendezvous`]) captures a processor as upstream's DPC does: only once
//! no thread there runs at or above `DISPATCH_LEVEL` (a spin lock holder delays it and is
//! preempted where it releases the lock); threads below `DISPATCH_LEVEL` there are frozen until
//! the processor is released. [`StdPlatform::capture_point`], [`StdPlatform::capture_info`] and
//! [`StdPlatform::await_capture`] let a test capture a thread where it wants and watch it.
//!
//! With `XENBUS_IRQL_VIOLATIONS=report` ([`REPORT_ONLY_VARIABLE`]) violations are only counted
//! and printed (once per thread and message), so one run lists all of them; the rules whose
//! breach would hang (recursive acquisition, acquisition across preemption) still panic.
//!
//! A violation inside a DPC routine is re-raised by the next [`Deferred::flush_dpcs`], one in a
//! thread body by [`Thread::join`], one in a timer routine by the next [`crate::Timer::cancel`]
//! (they run on other host threads; the counters see them at once). Any panic of such a
//! routine also stops the simulated machine, as a bug check stops Windows: from then on every
//! blocking service of that platform (an event wait, a DPC flush, a join, a stall) panics
//! with the original message instead of waiting for work the dead routine will never do.

// Host-test code: guards are held to the end of short functions on purpose (simpler to read).
#![allow(clippy::significant_drop_tightening)]

mod capture;
mod deferred;
mod interrupt;
mod irql;
mod memory;
mod registry;

use core::panic::Location;
use core::sync::atomic::{AtomicBool, Ordering};
use std::boxed::Box;
use std::string::{String, ToString};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use std::vec::Vec;

pub use capture::{CAPTURE_TIMEOUT, CaptureInfo, CapturePhase};
pub use deferred::{StdDpc, StdTimer};
pub use interrupt::{STD_DIRQL, STD_FIRST_VECTOR, STD_LINE, StdInterrupt, StdInterrupts};
pub use irql::{
    COUNTS_VARIABLE, HeldLock, REPORT_ONLY_VARIABLE, VIOLATION_PREFIX, irql_contracts_checked,
    irql_violations, record_counts,
};
pub use memory::{HostPages, PageSource};
pub use registry::MemoryRegistry;

pub(crate) use irql::{ContextScope, Machine, check_context_exit, require_at_most};

use crate::traits::{
    Clock, Deferred, Event, EventKind, Events, Irql, IrqlLevel, Log, LogLevel, Memory, Pages,
    PortError, PortIo, Processors, RegValue, Registry, Routine, Thread, Threads, Timers,
};

/// Locks a std mutex, ignoring poisoning (a test that panicked already failed).
pub(crate) fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reads from emulated I/O ports: `(port, width in bytes) -> value`.
pub type PortReader = Arc<dyn Fn(u16, u8) -> u32 + Send + Sync>;

/// One recorded port write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortWrite {
    /// The port.
    pub port: u16,
    /// Width in bytes (1, 2 or 4).
    pub width: u8,
    /// The value written.
    pub value: u32,
}

struct Inner {
    processors: u32,
    pages: Arc<dyn PageSource>,
    ports: Mutex<Option<PortReader>>,
    port_writes: Mutex<Vec<PortWrite>>,
    registry: MemoryRegistry,
    log: Mutex<Vec<(LogLevel, String)>>,
    echo_log: bool,
    dpcs: deferred::Executor,
    locks: irql::LockBook,
    captures: capture::Captures,
    machine: Arc<Machine>,
    /// Set by [`StdPlatform::disable_checks_for_benchmark`].
    unchecked: AtomicBool,
}

impl Drop for Inner {
    fn drop(&mut self) {
        irql::record_counts();
    }
}

/// The std platform. Clones share everything.
#[derive(Clone)]
pub struct StdPlatform {
    inner: Arc<Inner>,
}

impl core::fmt::Debug for StdPlatform {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StdPlatform")
            .field("processors", &self.inner.processors)
            .finish_non_exhaustive()
    }
}

impl StdPlatform {
    /// A platform with `processors` processors and host-memory pages.
    #[must_use]
    pub fn new(processors: u32) -> Self {
        Self::with_pages(processors, Arc::new(HostPages::default()))
    }

    /// A platform whose pages come from `pages` (e.g. the simulator's guest memory).
    #[must_use]
    pub fn with_pages(processors: u32, pages: Arc<dyn PageSource>) -> Self {
        let machine = Arc::new(Machine::default());
        Self {
            inner: Arc::new(Inner {
                processors: processors.max(1),
                pages,
                ports: Mutex::new(None),
                port_writes: Mutex::new(Vec::new()),
                registry: MemoryRegistry::default(),
                log: Mutex::new(Vec::new()),
                echo_log: std::env::var_os("XENBUS_TEST_LOG").is_some(),
                dpcs: deferred::Executor::new(Arc::clone(&machine)),
                locks: irql::LockBook::default(),
                captures: capture::Captures::default(),
                machine,
                unchecked: AtomicBool::new(false),
            }),
        }
    }

    /// For benchmarks only: from now on this platform (and every clone) changes the IRQL as the
    /// kernel does and nothing more: no contract is checked or counted, no lock recorded, no
    /// capture modelled. A benchmark then measures the code under test instead of the checker
    /// (whose bookkeeping costs several times what the kernel's `KeRaiseIrql` and spin locks
    /// cost). Tests never call this: a platform in this mode catches nothing.
    pub fn disable_checks_for_benchmark(&self) {
        self.inner.unchecked.store(true, Ordering::Relaxed);
    }

    /// Whether [`StdPlatform::disable_checks_for_benchmark`] was called.
    fn unchecked(&self) -> bool {
        self.inner.unchecked.load(Ordering::Relaxed)
    }

    /// Runs `f` as if on processor `cpu` (restoring the previous identity afterwards). The
    /// caller's context and IRQL stay as they are: this moves the caller, it does not
    /// interrupt anyone (see [`StdPlatform::preempt`] for that).
    pub fn as_processor<R>(&self, cpu: u32, f: impl FnOnce() -> R) -> R {
        struct Back(u32);
        impl Drop for Back {
            fn drop(&mut self) {
                irql::replace_cpu(self.0);
            }
        }
        let _back = Back(irql::replace_cpu(cpu));
        f()
    }

    /// Runs `f` as a new context on processor `cpu` at `level`, as if an interrupt (`level`
    /// above `DISPATCH_LEVEL`) or a DPC (`DISPATCH_LEVEL`) arrived there and interrupted
    /// whatever runs on `cpu` (the caller's own code when the caller runs on `cpu`). `f` must
    /// return at `level` holding no lock it took, as a DPC routine or an ISR must.
    ///
    /// When `f` takes an [`crate::IrqlLock`] that a context it preempted on `cpu` holds (this
    /// thread's own code, or another thread on `cpu` at a lower IRQL), the platform panics with
    /// `lock held across preemption on CPU n` instead of spinning for ever, so a test can
    /// provoke the deadlock deterministically:
    ///
    /// ```
    /// # use platform_port::{IrqlLevel, IrqlLock, std_impl::StdPlatform};
    /// let p = StdPlatform::new(1);
    /// let lock = IrqlLock::dispatch(p.clone(), 0_u32);
    /// let _held = lock.lock();
    /// // An interrupt on CPU 0 must not take a DISPATCH_LEVEL lock its processor holds:
    /// let broken = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     p.preempt(0, IrqlLevel::HIGH, || drop(lock.lock()))
    /// }));
    /// assert!(broken.is_err());
    /// ```
    ///
    /// # Panics
    /// When `cpu` is not a processor of this platform, or when the caller runs on `cpu` at
    /// `level` or above (nothing at `level` can interrupt it there); and on any rule `f`
    /// breaks.
    #[track_caller]
    pub fn preempt<R>(&self, cpu: u32, level: IrqlLevel, f: impl FnOnce() -> R) -> R {
        let location = Location::caller();
        if cpu >= self.inner.processors {
            irql::misuse(&std::format!(
                "preempt on CPU {cpu} of a {}-processor platform, at {location}",
                self.inner.processors
            ));
        }
        let current = irql::current_irql();
        if irql::current_cpu() == cpu && level <= current {
            irql::misuse(&std::format!(
                "preempt at {level} cannot interrupt CPU {cpu} running at {current}, at                  {location}"
            ));
        }
        let scope = ContextScope::enter(level, Some(cpu));
        let result = f();
        check_context_exit(
            &std::format!("a context preempting CPU {cpu} at {level}"),
            level,
            Some(location),
        );
        drop(scope);
        result
    }

    /// Raises an interrupt on processor `cpu` whose service routine `isr` runs at `level` (a
    /// DIRQL such as [`STD_DIRQL`], or `HIGH_LEVEL`), as the APIC would deliver it.
    ///
    /// When the caller runs on `cpu` at `level` or above, the interrupt is masked: it stays
    /// pending on this thread and runs as soon as the IRQL drops below `level` (an
    /// [`Irql::lower_irql`], a guard released, a context returning). Otherwise it runs now, as
    /// a new context on `cpu` at `level` that preempts the caller ([`StdPlatform::preempt`]), so
    /// an ISR that takes a lock the interrupted code holds on that processor fails with `lock
    /// held across preemption`. A simulator's upcall handler should deliver through this rather
    /// than call the ISR directly: the hypercall that raised the upcall may run at
    /// `HIGH_LEVEL`, where no interrupt is delivered.
    ///
    /// Limitation: a thread stands for one processor at a time, so an interrupt for another
    /// processor also runs on the calling thread, now (the other processor's IRQL is not
    /// known here).
    ///
    /// # Panics
    /// When `cpu` is not a processor of this platform; and on any rule `isr` breaks (it must
    /// return at `level` holding no lock it took).
    #[track_caller]
    pub fn interrupt(&self, cpu: u32, level: IrqlLevel, isr: impl FnOnce() + 'static) {
        if cpu >= self.inner.processors {
            irql::misuse(&std::format!(
                "interrupt on CPU {cpu} of a {}-processor platform, at {}",
                self.inner.processors,
                Location::caller()
            ));
        }
        irql::interrupt(cpu, level, Box::new(isr));
    }

    /// The instrumented locks held on processor `cpu` now, by whom, in context order.
    #[must_use]
    pub fn held_locks(&self, cpu: u32) -> Vec<HeldLock> {
        self.inner.locks.held_on(cpu)
    }

    /// Where the capture of processor `cpu` by a rendezvous stands (see
    /// [`crate::Rendezvous`]'s std implementation): its phase, how many rendezvous released it,
    /// and how many threads on it are frozen.
    #[must_use]
    pub fn capture_info(&self, cpu: u32) -> CaptureInfo {
        self.inner.captures.info(cpu)
    }

    /// Waits until `until` holds for processor `cpu`'s [`CaptureInfo`] (checked again on every
    /// change, no polling), or `timeout` passes; returns whether it held. Lets a test wait for
    /// a rendezvous to be capturing `cpu`, to hold it, or for a thread to be frozen there.
    pub fn await_capture(
        &self,
        cpu: u32,
        timeout: Duration,
        until: impl FnMut(&CaptureInfo) -> bool,
    ) -> bool {
        self.inner.captures.await_info(cpu, timeout, until)
    }

    /// A capture point: the calling thread is preempted here by the next rendezvous that
    /// captures its processor, and runs on only once that rendezvous released the processor
    /// (every phase on it done). `armed` runs first, with the thread already counted in
    /// [`CaptureInfo::frozen`] (e.g. to tell another thread to start the suspend).
    ///
    /// Only an instruction below `DISPATCH_LEVEL`, with no spin lock held, can be a capture
    /// point (upstream's `SyncCapture` captures a processor with a DPC).
    ///
    /// # Panics
    /// When the caller runs at `DISPATCH_LEVEL` or above or holds an [`crate::IrqlLock`] of
    /// `DISPATCH_LEVEL` or above, or when no rendezvous captures and releases its processor
    /// within [`CAPTURE_TIMEOUT`].
    #[track_caller]
    pub fn capture_point(&self, armed: impl FnOnce()) {
        let location = Location::caller();
        let (cpu, current) = (irql::current_cpu(), irql::current_irql());
        if current >= IrqlLevel::DISPATCH {
            irql::misuse(&std::format!(
                "capture point at {current} on CPU {cpu}, at {location}: a processor is only \
                 captured below DISPATCH_LEVEL"
            ));
        }
        let me = std::thread::current().id();
        if let Some(held) = self
            .held_locks(cpu)
            .into_iter()
            .find(|h| h.thread == me && h.level >= IrqlLevel::DISPATCH)
        {
            irql::misuse(&std::format!(
                "capture point on CPU {cpu} at {location} while holding the {} lock taken at {}",
                held.level,
                held.location
            ));
        }
        self.inner.captures.capture_point(cpu, armed);
    }

    /// The processors' capture book (the std rendezvous captures through it).
    pub(crate) fn captures(&self) -> &capture::Captures {
        &self.inner.captures
    }

    /// Answers port reads with `reader` from now on.
    pub fn set_port_reader(&self, reader: PortReader) {
        *locked(&self.inner.ports) = Some(reader);
    }

    /// Every port write so far.
    #[must_use]
    pub fn port_writes(&self) -> Vec<PortWrite> {
        locked(&self.inner.port_writes).clone()
    }

    /// The in-memory registry.
    #[must_use]
    pub fn registry(&self) -> &MemoryRegistry {
        &self.inner.registry
    }

    /// Every message logged so far.
    #[must_use]
    pub fn log_lines(&self) -> Vec<(LogLevel, String)> {
        locked(&self.inner.log).clone()
    }

    fn port_read(&self, port: u16, width: u8) -> u32 {
        let reader = locked(&self.inner.ports).clone();
        reader.map_or(u32::MAX, |read| read(port, width))
    }

    fn port_write(&self, port: u16, width: u8, value: u32) {
        locked(&self.inner.port_writes).push(PortWrite { port, width, value });
    }
}

impl Irql for StdPlatform {
    fn current_irql(&self) -> IrqlLevel {
        irql::current_irql()
    }

    #[track_caller]
    fn raise_irql(&self, to: IrqlLevel) -> IrqlLevel {
        if self.unchecked() {
            return irql::raise_unchecked(to);
        }
        let location = Location::caller();
        let current = irql::current_irql();
        if current < IrqlLevel::DISPATCH && to >= IrqlLevel::DISPATCH {
            // A capture of this processor preempts the thread before it gets there, and one
            // requested from now on waits until it drops below DISPATCH_LEVEL again.
            let token = self.inner.captures.raising(irql::current_cpu(), location);
            let old = irql::raise(to, location);
            token.keep();
            return old;
        }
        irql::raise(to, location)
    }

    #[track_caller]
    fn lower_irql(&self, old: IrqlLevel) {
        if self.unchecked() {
            irql::lower_unchecked(old);
            return;
        }
        let current = irql::current_irql();
        irql::lower(old, Location::caller());
        if current >= IrqlLevel::DISPATCH && old < IrqlLevel::DISPATCH {
            // A capture waiting for this processor preempts the thread here (KeLowerIrql
            // runs the pending DPC).
            self.inner.captures.lowered(irql::current_cpu());
        }
    }

    #[track_caller]
    fn lock_acquiring(&self, lock: *const (), level: IrqlLevel, spins: bool) {
        if self.unchecked() {
            return;
        }
        self.inner
            .locks
            .acquiring(lock, level, spins, Location::caller());
    }

    #[track_caller]
    fn lock_acquired(&self, lock: *const (), level: IrqlLevel, from: IrqlLevel) {
        if self.unchecked() {
            return;
        }
        self.inner
            .locks
            .acquired(lock, level, from, Location::caller());
    }

    fn lock_released(&self, lock: *const (), restores: IrqlLevel) {
        if self.unchecked() {
            return;
        }
        self.inner.locks.released(lock, restores);
    }
}

impl Processors for StdPlatform {
    fn current_processor(&self) -> u32 {
        irql::current_cpu()
    }

    fn processor_count(&self) -> u32 {
        self.inner.processors
    }
}

/// A std event.
#[derive(Debug)]
pub struct StdEvent {
    kind: EventKind,
    state: Mutex<bool>,
    changed: Condvar,
    machine: Arc<Machine>,
}

/// How long a blocked wait sleeps before it looks whether the machine bug-checked.
const CRASH_POLL: Duration = Duration::from_millis(20);

#[cfg(test)]
impl StdEvent {
    /// A clear notification event made without a platform (and without the IRQL check).
    pub(crate) fn for_tests() -> Self {
        Self {
            kind: EventKind::Notification,
            state: Mutex::new(false),
            changed: Condvar::new(),
            machine: Arc::default(),
        }
    }
}

impl Event for StdEvent {
    #[track_caller]
    fn set(&self) {
        require_at_most(
            "Event::set",
            "KeSetEvent",
            IrqlLevel::DISPATCH,
            Location::caller(),
        );
        *locked(&self.state) = true;
        self.changed.notify_all();
    }

    #[track_caller]
    fn reset(&self) {
        require_at_most(
            "Event::reset",
            "KeClearEvent",
            IrqlLevel::DISPATCH,
            Location::caller(),
        );
        *locked(&self.state) = false;
    }

    #[track_caller]
    fn is_set(&self) -> bool {
        require_at_most(
            "Event::is_set",
            "KeReadStateEvent",
            IrqlLevel::DISPATCH,
            Location::caller(),
        );
        *locked(&self.state)
    }

    #[track_caller]
    fn wait(&self, timeout: Option<Duration>) -> bool {
        irql::require_wait("Event::wait", timeout, Location::caller());
        self.machine.check();
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut state = locked(&self.state);
        loop {
            if *state {
                if self.kind == EventKind::Synchronization {
                    *state = false;
                }
                return true;
            }
            let now = Instant::now();
            let slice = match deadline {
                None => CRASH_POLL,
                Some(deadline) if now >= deadline => return false,
                Some(deadline) => deadline.duration_since(now).min(CRASH_POLL),
            };
            state = self
                .changed
                .wait_timeout(state, slice)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            if !*state {
                self.machine.check();
            }
        }
    }
}

impl Events for StdPlatform {
    type Event = StdEvent;

    #[track_caller]
    fn new_event(&self, kind: EventKind) -> StdEvent {
        require_at_most(
            "Events::new_event",
            "KeInitializeEvent on nonpaged pool (ExAllocatePool2)",
            IrqlLevel::DISPATCH,
            Location::caller(),
        );
        StdEvent {
            kind,
            state: Mutex::new(false),
            changed: Condvar::new(),
            machine: Arc::clone(&self.inner.machine),
        }
    }
}

impl Deferred for StdPlatform {
    type Dpc = StdDpc;

    #[track_caller]
    fn new_dpc(&self, cpu: Option<u32>, routine: Routine) -> StdDpc {
        require_at_most(
            "Deferred::new_dpc",
            "KeInitializeDpc on nonpaged pool (ExAllocatePool2)",
            IrqlLevel::DISPATCH,
            Location::caller(),
        );
        self.inner.dpcs.new_dpc(cpu, routine)
    }

    #[track_caller]
    fn flush_dpcs(&self) {
        require_at_most(
            "Deferred::flush_dpcs",
            "KeFlushQueuedDpcs",
            IrqlLevel::PASSIVE,
            Location::caller(),
        );
        self.inner.dpcs.flush();
        self.inner.machine.check();
    }
}

impl Timers for StdPlatform {
    type Timer = StdTimer;

    #[track_caller]
    fn new_timer(&self, routine: Routine) -> StdTimer {
        require_at_most(
            "Timers::new_timer",
            "KeInitializeTimerEx",
            IrqlLevel::DISPATCH,
            Location::caller(),
        );
        StdTimer::new(routine, Arc::clone(&self.inner.machine))
    }
}

/// A std system thread.
#[derive(Debug)]
pub struct StdThread(std::thread::JoinHandle<()>);

impl Thread for StdThread {
    #[track_caller]
    fn join(self) {
        require_at_most(
            "Thread::join",
            "KeWaitForSingleObject on the thread",
            IrqlLevel::APC,
            Location::caller(),
        );
        // A body that broke an IRQL rule fails the test that joins it; any other panic
        // already failed its test, and joining while unwinding must not panic again.
        if let Err(payload) = self.0.join()
            && !std::thread::panicking()
            && irql::is_violation(&*payload)
        {
            std::panic::resume_unwind(payload);
        }
    }
}

impl Threads for StdPlatform {
    type Thread = StdThread;

    #[track_caller]
    fn spawn(
        &self,
        name: &'static str,
        body: Box<dyn FnOnce() + Send + 'static>,
    ) -> Result<StdThread, PortError> {
        require_at_most(
            "Threads::spawn",
            "PsCreateSystemThread",
            IrqlLevel::PASSIVE,
            Location::caller(),
        );
        let machine = Arc::clone(&self.inner.machine);
        let body = move || {
            if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
                machine.crash("a system thread", &*payload);
                std::panic::resume_unwind(payload);
            }
        };
        std::thread::Builder::new()
            .name(name.to_string())
            .spawn(body)
            .map(StdThread)
            .map_err(|_| PortError::Insufficient)
    }
}

impl Memory for StdPlatform {
    #[track_caller]
    fn alloc_pages(&self, count: usize) -> Result<Pages, PortError> {
        require_at_most(
            "Memory::alloc_pages",
            "MmAllocateContiguousMemory",
            IrqlLevel::DISPATCH,
            Location::caller(),
        );
        if count == 0 {
            return Err(PortError::InvalidParameter);
        }
        self.inner.pages.alloc(count)
    }

    #[track_caller]
    unsafe fn free_pages(&self, pages: Pages) {
        require_at_most(
            "Memory::free_pages",
            "MmFreeContiguousMemory",
            IrqlLevel::DISPATCH,
            Location::caller(),
        );
        // SAFETY: the caller's guarantee that `pages` came from `alloc_pages` and is unused.
        unsafe { self.inner.pages.free(pages) };
    }

    #[track_caller]
    unsafe fn map_physical(
        &self,
        pfn: u64,
        count: usize,
    ) -> Result<core::ptr::NonNull<u8>, PortError> {
        require_at_most(
            "Memory::map_physical",
            "MmMapIoSpace",
            IrqlLevel::DISPATCH,
            Location::caller(),
        );
        self.inner.pages.map(pfn, count)
    }

    #[track_caller]
    unsafe fn unmap_physical(&self, _address: core::ptr::NonNull<u8>, _count: usize) {
        require_at_most(
            "Memory::unmap_physical",
            "MmUnmapIoSpace",
            IrqlLevel::DISPATCH,
            Location::caller(),
        );
    }
}

impl PortIo for StdPlatform {
    fn inb(&self, port: u16) -> u8 {
        u8::try_from(self.port_read(port, 1) & 0xFF).unwrap_or(u8::MAX)
    }

    fn inw(&self, port: u16) -> u16 {
        u16::try_from(self.port_read(port, 2) & 0xFFFF).unwrap_or(u16::MAX)
    }

    fn outb(&self, port: u16, value: u8) {
        self.port_write(port, 1, value.into());
    }

    fn outw(&self, port: u16, value: u16) {
        self.port_write(port, 2, value.into());
    }

    fn outl(&self, port: u16, value: u32) {
        self.port_write(port, 4, value);
    }
}

impl Registry for StdPlatform {
    #[track_caller]
    fn read_value(&self, key: &str, name: &str) -> Result<RegValue, PortError> {
        require_registry("Registry::read_value", "ZwQueryValueKey");
        self.inner.registry.read_value(key, name)
    }

    #[track_caller]
    fn write_value(&self, key: &str, name: &str, value: RegValue) -> Result<(), PortError> {
        require_registry("Registry::write_value", "ZwSetValueKey");
        self.inner.registry.write_value(key, name, value)
    }

    #[track_caller]
    fn delete_value(&self, key: &str, name: &str) -> Result<(), PortError> {
        require_registry("Registry::delete_value", "ZwDeleteValueKey");
        self.inner.registry.delete_value(key, name)
    }

    #[track_caller]
    fn create_key(&self, key: &str, volatile: bool) -> Result<(), PortError> {
        require_registry("Registry::create_key", "ZwCreateKey");
        self.inner.registry.create_key(key, volatile)
    }

    #[track_caller]
    fn subkeys(&self, key: &str) -> Result<Vec<String>, PortError> {
        require_registry("Registry::subkeys", "ZwEnumerateKey");
        self.inner.registry.subkeys(key)
    }

    #[track_caller]
    fn read_dword(&self, key: &str, name: &str) -> Result<u32, PortError> {
        match self.read_value(key, name)? {
            RegValue::Dword(value) => Ok(value),
            _ => Err(PortError::WrongType),
        }
    }
}

/// The `Zw*` registry routines' rule: `PASSIVE_LEVEL` only.
#[track_caller]
fn require_registry(what: &str, routine: &str) {
    require_at_most(what, routine, IrqlLevel::PASSIVE, Location::caller());
}

impl Log for StdPlatform {
    fn log(&self, level: LogLevel, args: core::fmt::Arguments<'_>) {
        let line = std::format!("{args}");
        if self.inner.echo_log {
            std::eprintln!("{level:?}: {line}");
        }
        locked(&self.inner.log).push((level, line));
    }
}

/// 100 ns intervals between 1601-01-01 and 1970-01-01.
const EPOCH_1601_TO_1970: i64 = 116_444_736_000_000_000;

impl Clock for StdPlatform {
    fn system_time(&self) -> i64 {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let ticks = i64::try_from(since.as_nanos() / 100).unwrap_or(i64::MAX);
        ticks.saturating_add(EPOCH_1601_TO_1970)
    }

    fn stall(&self, microseconds: u32) {
        self.inner.machine.check();
        std::thread::sleep(Duration::from_micros(microseconds.into()));
    }
}

/// Sets this thread's emulated IRQL without a check (the rendezvous, after a phase panicked
/// and before it re-raises the panic).
pub(crate) fn force_irql(irql: IrqlLevel) {
    irql::set_irql(irql);
}

/// This thread's emulated processor (for the DPC executor: an untargeted DPC runs where it
/// was queued).
pub(crate) fn current_cpu() -> u32 {
    irql::current_cpu()
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod irql_tests;
