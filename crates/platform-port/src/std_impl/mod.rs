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

// Host-test code: guards are held to the end of short functions on purpose (simpler to read).
#![allow(clippy::significant_drop_tightening)]

mod deferred;
mod interrupt;
mod memory;
mod registry;

use std::boxed::Box;
use std::cell::Cell;
use std::string::{String, ToString};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use std::vec::Vec;

pub use deferred::{StdDpc, StdTimer};
pub use interrupt::{STD_DIRQL, STD_FIRST_VECTOR, STD_LINE, StdInterrupt, StdInterrupts};
pub use memory::{HostPages, PageSource};
pub use registry::MemoryRegistry;

use crate::traits::{
    Clock, Deferred, Event, EventKind, Events, Irql, IrqlLevel, Log, LogLevel, Memory, Pages,
    PortError, PortIo, Processors, RegValue, Registry, Routine, Thread, Threads, Timers,
};

std::thread_local! {
    static IRQL: Cell<IrqlLevel> = const { Cell::new(IrqlLevel::PASSIVE) };
    static CPU: Cell<u32> = const { Cell::new(0) };
}

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
        Self {
            inner: Arc::new(Inner {
                processors: processors.max(1),
                pages,
                ports: Mutex::new(None),
                port_writes: Mutex::new(Vec::new()),
                registry: MemoryRegistry::default(),
                log: Mutex::new(Vec::new()),
                echo_log: std::env::var_os("XENBUS_TEST_LOG").is_some(),
                dpcs: deferred::Executor::default(),
            }),
        }
    }

    /// Runs `f` as if on processor `cpu` (restoring the previous identity afterwards).
    pub fn as_processor<R>(&self, cpu: u32, f: impl FnOnce() -> R) -> R {
        let previous = CPU.with(|c| c.replace(cpu));
        let result = f();
        CPU.with(|c| c.set(previous));
        result
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
        IRQL.with(Cell::get)
    }

    fn raise_irql(&self, to: IrqlLevel) -> IrqlLevel {
        IRQL.with(|irql| {
            let old = irql.get();
            if to > old {
                irql.set(to);
            }
            old
        })
    }

    fn lower_irql(&self, old: IrqlLevel) {
        IRQL.with(|irql| irql.set(old));
    }
}

impl Processors for StdPlatform {
    fn current_processor(&self) -> u32 {
        CPU.with(Cell::get)
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
}

impl Event for StdEvent {
    fn set(&self) {
        *locked(&self.state) = true;
        self.changed.notify_all();
    }

    fn reset(&self) {
        *locked(&self.state) = false;
    }

    fn is_set(&self) -> bool {
        *locked(&self.state)
    }

    fn wait(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut state = locked(&self.state);
        loop {
            if *state {
                if self.kind == EventKind::Synchronization {
                    *state = false;
                }
                return true;
            }
            match deadline {
                None => {
                    state = self
                        .changed
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    state = self
                        .changed
                        .wait_timeout(state, deadline.duration_since(now))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        }
    }
}

impl Events for StdPlatform {
    type Event = StdEvent;

    fn new_event(&self, kind: EventKind) -> StdEvent {
        StdEvent {
            kind,
            state: Mutex::new(false),
            changed: Condvar::new(),
        }
    }
}

impl Deferred for StdPlatform {
    type Dpc = StdDpc;

    fn new_dpc(&self, cpu: Option<u32>, routine: Routine) -> StdDpc {
        self.inner.dpcs.new_dpc(cpu, routine)
    }

    fn flush_dpcs(&self) {
        self.inner.dpcs.flush();
    }
}

impl Timers for StdPlatform {
    type Timer = StdTimer;

    fn new_timer(&self, routine: Routine) -> StdTimer {
        StdTimer::new(routine)
    }
}

/// A std system thread.
#[derive(Debug)]
pub struct StdThread(std::thread::JoinHandle<()>);

impl Thread for StdThread {
    fn join(self) {
        // A panicking body already failed its test; joining must not panic again.
        let _ = self.0.join();
    }
}

impl Threads for StdPlatform {
    type Thread = StdThread;

    fn spawn(
        &self,
        name: &'static str,
        body: Box<dyn FnOnce() + Send + 'static>,
    ) -> Result<StdThread, PortError> {
        std::thread::Builder::new()
            .name(name.to_string())
            .spawn(body)
            .map(StdThread)
            .map_err(|_| PortError::Insufficient)
    }
}

impl Memory for StdPlatform {
    fn alloc_pages(&self, count: usize) -> Result<Pages, PortError> {
        if count == 0 {
            return Err(PortError::InvalidParameter);
        }
        self.inner.pages.alloc(count)
    }

    unsafe fn free_pages(&self, pages: Pages) {
        // SAFETY: the caller's guarantee that `pages` came from `alloc_pages` and is unused.
        unsafe { self.inner.pages.free(pages) };
    }

    unsafe fn map_physical(
        &self,
        pfn: u64,
        count: usize,
    ) -> Result<core::ptr::NonNull<u8>, PortError> {
        self.inner.pages.map(pfn, count)
    }

    unsafe fn unmap_physical(&self, _address: core::ptr::NonNull<u8>, _count: usize) {}
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
    fn read_value(&self, key: &str, name: &str) -> Result<RegValue, PortError> {
        self.inner.registry.read_value(key, name)
    }

    fn write_value(&self, key: &str, name: &str, value: RegValue) -> Result<(), PortError> {
        self.inner.registry.write_value(key, name, value)
    }

    fn delete_value(&self, key: &str, name: &str) -> Result<(), PortError> {
        self.inner.registry.delete_value(key, name)
    }

    fn create_key(&self, key: &str, volatile: bool) -> Result<(), PortError> {
        self.inner.registry.create_key(key, volatile)
    }

    fn subkeys(&self, key: &str) -> Result<Vec<String>, PortError> {
        self.inner.registry.subkeys(key)
    }
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
        std::thread::sleep(Duration::from_micros(microseconds.into()));
    }
}

/// Sets this thread's emulated IRQL and processor (used by the DPC executor and timers).
pub(crate) fn enter(irql: IrqlLevel, cpu: Option<u32>) -> (IrqlLevel, u32) {
    let old_irql = IRQL.with(|c| c.replace(irql));
    let old_cpu = cpu.map_or_else(|| CPU.with(Cell::get), |cpu| CPU.with(|c| c.replace(cpu)));
    (old_irql, old_cpu)
}

/// Undoes [`enter`].
pub(crate) fn leave((irql, cpu): (IrqlLevel, u32)) {
    IRQL.with(|c| c.set(irql));
    CPU.with(|c| c.set(cpu));
}

#[cfg(test)]
mod tests;
