// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! [`WindowsPlatform`]: every [`platform_port::Platform`] service and
//! [`platform_port::Rendezvous`], each forwarded to the module that makes the kernel calls.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::ptr::NonNull;

use platform_port::{
    Clock, Deferred, EventKind, Events, Irql, IrqlLevel, Log, LogLevel, Memory, Pages, PortError,
    PortIo, Processors, RegValue, Registry, Rendezvous, RendezvousPlan, Routine, Threads, Timers,
};

use crate::convert::{LogLine, debugger_level};
use crate::deferred::{self, WindowsDpc, WindowsTimer};
use crate::event::WindowsEvent;
use crate::kernel::{Kernel, require_at_most};
use crate::thread::WindowsThread;
use crate::{memory, registry, rendezvous};

/// Where log lines go: a function given the level and one line (ending with a newline and
/// followed by a NUL, see [`LogLine::c_text`]). Called at any IRQL: it may not allocate or wait.
pub type LogSink = fn(LogLevel, &LogLine);

/// The default [`LogSink`]: the kernel debugger (`DbgPrintEx` for the IHV component, at the
/// level's `DPFLTR_*_LEVEL`).
pub fn debugger_sink(level: LogLevel, line: &LogLine) {
    ntddk::runtime::print(debugger_level(level), line.text());
}

/// The platform of a Windows driver image: a handle with no state but its log sink (xenbus.sys
/// logs through xen.sys's `LogPrintf`, which it imports; xen.sys itself through its own log).
#[derive(Clone, Copy)]
pub struct WindowsPlatform {
    sink: LogSink,
}

impl fmt::Debug for WindowsPlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WindowsPlatform").finish_non_exhaustive()
    }
}

impl Default for WindowsPlatform {
    fn default() -> Self {
        Self::new(debugger_sink)
    }
}

impl WindowsPlatform {
    /// A platform logging through `sink`.
    #[must_use]
    pub const fn new(sink: LogSink) -> Self {
        Self { sink }
    }
}

impl Irql for WindowsPlatform {
    fn current_irql(&self) -> IrqlLevel {
        Kernel.current_irql()
    }
    fn raise_irql(&self, to: IrqlLevel) -> IrqlLevel {
        Kernel.raise_irql(to)
    }
    fn lower_irql(&self, old: IrqlLevel) {
        Kernel.lower_irql(old);
    }
}

impl Processors for WindowsPlatform {
    fn current_processor(&self) -> u32 {
        Kernel.current_processor()
    }
    fn processor_count(&self) -> u32 {
        Kernel.processor_count()
    }
}

impl PortIo for WindowsPlatform {
    fn inb(&self, port: u16) -> u8 {
        Kernel.inb(port)
    }
    fn inw(&self, port: u16) -> u16 {
        Kernel.inw(port)
    }
    fn outb(&self, port: u16, value: u8) {
        Kernel.outb(port, value);
    }
    fn outw(&self, port: u16, value: u16) {
        Kernel.outw(port, value);
    }
    fn outl(&self, port: u16, value: u32) {
        Kernel.outl(port, value);
    }
}

impl Clock for WindowsPlatform {
    fn system_time(&self) -> i64 {
        Kernel.system_time()
    }
    fn stall(&self, microseconds: u32) {
        Kernel.stall(microseconds);
    }
}

impl Events for WindowsPlatform {
    type Event = WindowsEvent;

    fn new_event(&self, kind: EventKind) -> WindowsEvent {
        WindowsEvent::new(kind)
    }
}

impl Deferred for WindowsPlatform {
    type Dpc = WindowsDpc;

    fn new_dpc(&self, cpu: Option<u32>, routine: Routine) -> WindowsDpc {
        WindowsDpc::new(cpu, routine)
    }

    fn flush_dpcs(&self) {
        deferred::flush();
    }
}

impl Timers for WindowsPlatform {
    type Timer = WindowsTimer;

    fn new_timer(&self, routine: Routine) -> WindowsTimer {
        WindowsTimer::new(routine)
    }
}

impl Threads for WindowsPlatform {
    type Thread = WindowsThread;

    fn spawn(
        &self,
        name: &'static str,
        body: Box<dyn FnOnce() + Send + 'static>,
    ) -> Result<WindowsThread, PortError> {
        WindowsThread::spawn(name, body)
    }
}

impl Memory for WindowsPlatform {
    fn alloc_pages(&self, count: usize) -> Result<Pages, PortError> {
        memory::alloc_pages(count)
    }

    unsafe fn free_pages(&self, pages: Pages) {
        // SAFETY: the caller's contract, passed on.
        unsafe { memory::free_pages(&pages) };
    }

    unsafe fn map_physical(&self, pfn: u64, count: usize) -> Result<NonNull<u8>, PortError> {
        // SAFETY: the caller's contract, passed on.
        unsafe { memory::map_physical(pfn, count) }
    }

    unsafe fn unmap_physical(&self, address: NonNull<u8>, count: usize) {
        // SAFETY: the caller's contract, passed on.
        unsafe { memory::unmap_physical(address, count) };
    }
}

impl Registry for WindowsPlatform {
    fn read_value(&self, key: &str, name: &str) -> Result<RegValue, PortError> {
        registry::read_value(key, name)
    }
    fn write_value(&self, key: &str, name: &str, value: RegValue) -> Result<(), PortError> {
        registry::write_value(key, name, &value)
    }
    fn delete_value(&self, key: &str, name: &str) -> Result<(), PortError> {
        registry::delete_value(key, name)
    }
    fn create_key(&self, key: &str, volatile: bool) -> Result<(), PortError> {
        registry::create_key(key, volatile)
    }
    fn subkeys(&self, key: &str) -> Result<Vec<String>, PortError> {
        registry::subkeys(key)
    }
}

impl Log for WindowsPlatform {
    fn log(&self, level: LogLevel, args: fmt::Arguments<'_>) {
        (self.sink)(level, &LogLine::format(args));
    }
}

impl Rendezvous for WindowsPlatform {
    fn rendezvous(&self, plan: &dyn RendezvousPlan) {
        require_at_most(IrqlLevel::DISPATCH, c"SyncCapture above DISPATCH_LEVEL");
        rendezvous::rendezvous(plan);
    }
}
