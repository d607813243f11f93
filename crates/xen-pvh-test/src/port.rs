// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `platform_port::Platform` for this freestanding kernel, so the xenbus subsystems run on real
//! Xen in the domU (`xtk.mode=domu`). Small and deliberately simple; where it is weaker than
//! the Windows kernel it says so here:
//!
//! * **IRQL** is one counter (one vCPU runs the subsystems). Raising to `HIGH_LEVEL` clears the
//!   interrupt flag; lowering below it sets the flag again once [`go_live`] switched the kernel
//!   to live interrupts (before that the kernel's own suites keep interrupts off). Lowering
//!   below `DISPATCH_LEVEL` runs the queued DPCs, as the DPC software interrupt would.
//! * **Processors**: one, the boot vCPU (the domU has one vCPU).
//! * **Interrupts**: the per-vCPU upcall vector (`HVMOP_set_evtchn_upcall_vector`) is the
//!   latched interrupt; a PVH domain has no platform PCI device, so the level-sensitive
//!   "callback line" is line 0, which tells Xen "no callback via". The kernel's interrupt
//!   handler calls the installed ISR ([`set_isr`]) at `HIGH_LEVEL`.
//! * **DPCs** are a FIFO run whenever the IRQL drops below `DISPATCH_LEVEL` and on every wait.
//! * **Timers** are polled: their routines run from waits ([`idle`]), never from an interrupt.
//! * **Threads** are cooperative: each has its own stack and runs when the current context
//!   waits (an event wait, a join, a stall or [`idle`]); there is no preemption.
//! * **Events** are flags; waiting polls them while running DPCs, timers, an interrupt window
//!   and the other threads.
//! * **Memory**: pages from the kernel's allocator, whose frame numbers are their addresses
//!   (the boot page tables identity-map the first 4 GiB); `map_physical` is that identity map.
//!   The allocator never reuses memory; [`outstanding_pages`] counts what is not freed.
//! * **Registry** is an in-memory map; **Log** prints `XTK-LOG:` lines on the console.

use crate::{arch, events, kprintln};
use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::string::{String, ToString};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::alloc::Layout;
use core::arch::{asm, global_asm};
use core::fmt;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use core::time::Duration;
use platform_port::{
    Clock, Deferred, Dpc, Event, EventKind, Events, Interrupt, InterruptMode, Interrupts, Irql,
    IrqlLevel, Log, LogLevel, Memory, PAGE_SIZE, Pages, PortError, PortIo, Processors, RegValue,
    Registry, Routine, Thread, Threads, Timer, Timers,
};

/// The platform handle (all state is global: there is one kernel).
#[derive(Clone, Copy, Debug, Default)]
pub struct Kernel;

static IRQL: AtomicU8 = AtomicU8::new(0);
/// Set while the kernel runs with interrupts enabled below `HIGH_LEVEL`.
static LIVE: AtomicBool = AtomicBool::new(false);
/// Set while the installed ISR runs.
static IN_ISR: AtomicBool = AtomicBool::new(false);

/// Switches to live interrupts: from now on the interrupt flag follows the IRQL.
pub fn go_live() {
    LIVE.store(true, Ordering::SeqCst);
    if IRQL.load(Ordering::SeqCst) < IrqlLevel::HIGH.0 {
        arch::enable_interrupts();
    }
}

/// Back to the kernel's default: interrupts off outside explicit windows.
pub fn stop_live() {
    arch::disable_interrupts();
    LIVE.store(false, Ordering::SeqCst);
}

/// Runs `f` with interrupts off (restoring the previous state after).
fn masked<T>(f: impl FnOnce() -> T) -> T {
    let flags: u64;
    // SAFETY: reads RFLAGS and clears IF; restored below.
    unsafe { asm!("pushfq", "pop {0}", "cli", out(reg) flags, options(nomem)) };
    let value = f();
    if flags & (1 << 9) != 0 {
        arch::enable_interrupts();
    }
    value
}

impl Irql for Kernel {
    fn current_irql(&self) -> IrqlLevel {
        IrqlLevel(IRQL.load(Ordering::SeqCst))
    }

    fn raise_irql(&self, to: IrqlLevel) -> IrqlLevel {
        let old = IRQL.load(Ordering::SeqCst);
        if to.0 >= IrqlLevel::HIGH.0 {
            arch::disable_interrupts();
        }
        if to.0 > old {
            IRQL.store(to.0, Ordering::SeqCst);
        }
        IrqlLevel(old)
    }

    fn lower_irql(&self, old: IrqlLevel) {
        IRQL.store(old.0, Ordering::SeqCst);
        if IN_ISR.load(Ordering::SeqCst) {
            return;
        }
        if old.0 < IrqlLevel::HIGH.0 && LIVE.load(Ordering::SeqCst) {
            arch::enable_interrupts();
        }
        if old.0 < IrqlLevel::DISPATCH.0 {
            run_dpcs();
        }
    }
}

impl Processors for Kernel {
    fn current_processor(&self) -> u32 {
        u32::try_from(arch::cpu_id()).unwrap_or(0)
    }

    fn processor_count(&self) -> u32 {
        1
    }
}

/// The ISR the upcall vector calls, with the CPU index.
type Isr = Box<dyn Fn(u32) -> bool + Send + Sync>;
static ISR: spin::RwLock<Option<Isr>> = spin::RwLock::new(None);

/// Installs (or replaces) the routine the per-vCPU upcall vector runs (e.g.
/// `Evtchn::interrupt`).
pub fn set_isr(isr: Isr) {
    let old = masked(|| ISR.write().replace(isr));
    drop(old);
}

/// Called by the kernel's interrupt handler for the per-vCPU vector; returns whether an ISR is
/// installed (else the kernel's own scan runs).
pub fn upcall(cpu: usize) -> bool {
    // Never contended: the writer holds the lock with interrupts masked.
    let guard = ISR.read();
    let Some(isr) = guard.as_ref() else {
        return false;
    };
    let old = IRQL.swap(IrqlLevel::HIGH.0, Ordering::SeqCst);
    IN_ISR.store(true, Ordering::SeqCst);
    isr(u32::try_from(cpu).unwrap_or(0));
    IN_ISR.store(false, Ordering::SeqCst);
    IRQL.store(old, Ordering::SeqCst);
    true
}

/// Interrupt objects: the per-vCPU upcall vector, and line 0 for the callback via.
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelInterrupts;

/// One interrupt object.
#[derive(Debug)]
pub struct KernelInterrupt {
    vector: u8,
    line: u32,
}

impl Interrupt for KernelInterrupt {
    fn vector(&self) -> u8 {
        self.vector
    }

    fn line(&self) -> u32 {
        self.line
    }

    fn synchronize(&self, f: &mut dyn FnMut()) {
        let old = Kernel.raise_irql(IrqlLevel::HIGH);
        f();
        Kernel.lower_irql(old);
    }
}

impl Interrupts for KernelInterrupts {
    type Interrupt = KernelInterrupt;

    fn allocate_interrupt(&self, mode: InterruptMode, cpu: u32) -> Option<KernelInterrupt> {
        match mode {
            InterruptMode::Latched => {
                let cpu = u8::try_from(cpu)
                    .ok()
                    .filter(|&c| usize::from(c) < arch::MAX_CPUS)?;
                Some(KernelInterrupt {
                    vector: events::PER_VCPU_VECTOR.checked_add(cpu)?,
                    line: 0,
                })
            }
            InterruptMode::LevelSensitive => Some(KernelInterrupt {
                vector: events::CALLBACK_VECTOR,
                line: 0,
            }),
        }
    }
}

/// One pass of everything that stands in for other processors and interrupts: DPCs, expired
/// timers, an interrupt window (when interrupts are not live anyway) and the other threads.
pub fn idle() {
    if IRQL.load(Ordering::SeqCst) >= IrqlLevel::DISPATCH.0 || IN_ISR.load(Ordering::SeqCst) {
        arch::pause();
        return;
    }
    run_timers();
    run_dpcs();
    if !LIVE.load(Ordering::SeqCst) {
        arch::interrupt_window();
    }
    switch_thread();
    arch::pause();
}

// ---- events ----

/// A kernel event: a flag.
#[derive(Debug)]
pub struct KernelEvent {
    signalled: AtomicBool,
    kind: EventKind,
}

impl Event for KernelEvent {
    fn set(&self) {
        self.signalled.store(true, Ordering::SeqCst);
    }

    fn reset(&self) {
        self.signalled.store(false, Ordering::SeqCst);
    }

    fn is_set(&self) -> bool {
        self.signalled.load(Ordering::SeqCst)
    }

    fn wait(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.map(|t| {
            events::now_ns().saturating_add(u64::try_from(t.as_nanos()).unwrap_or(u64::MAX))
        });
        loop {
            let taken = match self.kind {
                EventKind::Synchronization => self.signalled.swap(false, Ordering::SeqCst),
                EventKind::Notification => self.signalled.load(Ordering::SeqCst),
            };
            if taken {
                return true;
            }
            if deadline.is_some_and(|d| events::now_ns() >= d) {
                return false;
            }
            idle();
        }
    }
}

impl Events for Kernel {
    type Event = KernelEvent;

    fn new_event(&self, kind: EventKind) -> KernelEvent {
        KernelEvent {
            signalled: AtomicBool::new(false),
            kind,
        }
    }
}

// ---- DPCs ----

struct DpcInner {
    queued: AtomicBool,
    routine: Routine,
}

/// A DPC (every DPC runs on the one processor).
pub struct KernelDpc(Arc<DpcInner>);

static DPC_QUEUE: spin::Mutex<VecDeque<Arc<DpcInner>>> = spin::Mutex::new(VecDeque::new());
static DPC_RUNNING: AtomicBool = AtomicBool::new(false);

impl Dpc for KernelDpc {
    fn insert(&self) -> bool {
        if self.0.queued.swap(true, Ordering::SeqCst) {
            return false;
        }
        masked(|| DPC_QUEUE.lock().push_back(Arc::clone(&self.0)));
        if IRQL.load(Ordering::SeqCst) < IrqlLevel::DISPATCH.0 && !IN_ISR.load(Ordering::SeqCst) {
            run_dpcs();
        }
        true
    }

    fn remove(&self) -> bool {
        if !self.0.queued.swap(false, Ordering::SeqCst) {
            return false;
        }
        masked(|| DPC_QUEUE.lock().retain(|d| !Arc::ptr_eq(d, &self.0)));
        true
    }
}

/// Runs the queued DPCs at `DISPATCH_LEVEL` (not re-entered).
fn run_dpcs() {
    if DPC_RUNNING.swap(true, Ordering::SeqCst) {
        return;
    }
    while let Some(dpc) = masked(|| DPC_QUEUE.lock().pop_front()) {
        if dpc.queued.swap(false, Ordering::SeqCst) {
            let old = Kernel.raise_irql(IrqlLevel::DISPATCH);
            (dpc.routine)();
            IRQL.store(old.0, Ordering::SeqCst);
        }
    }
    DPC_RUNNING.store(false, Ordering::SeqCst);
}

impl Deferred for Kernel {
    type Dpc = KernelDpc;

    fn new_dpc(&self, _cpu: Option<u32>, routine: Routine) -> KernelDpc {
        KernelDpc(Arc::new(DpcInner {
            queued: AtomicBool::new(false),
            routine,
        }))
    }

    fn flush_dpcs(&self) {
        run_dpcs();
    }
}

// ---- timers ----

struct TimerInner {
    /// Absolute Xen system time of the next expiry; 0 while disarmed.
    due: AtomicU64,
    /// Period in ns; 0 for one-shot.
    period: AtomicU64,
    routine: Routine,
}

/// A polled timer.
pub struct KernelTimer(Arc<TimerInner>);

static TIMERS: spin::Mutex<Vec<Weak<TimerInner>>> = spin::Mutex::new(Vec::new());

fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Timer for KernelTimer {
    fn set(&self, due: Duration, period: Option<Duration>) {
        self.0.period.store(period.map_or(0, ns), Ordering::SeqCst);
        let at = events::now_ns().saturating_add(ns(due)).max(1);
        self.0.due.store(at, Ordering::SeqCst);
    }

    fn cancel(&self) -> bool {
        self.0.due.swap(0, Ordering::SeqCst) != 0
    }
}

fn run_timers() {
    let now = events::now_ns();
    let expired: Vec<Arc<TimerInner>> = masked(|| {
        let mut timers = TIMERS.lock();
        timers.retain(|t| t.strong_count() > 0);
        timers
            .iter()
            .filter_map(Weak::upgrade)
            .filter(|t| {
                let due = t.due.load(Ordering::SeqCst);
                due != 0 && due <= now
            })
            .collect()
    });
    for timer in expired {
        let period = timer.period.load(Ordering::SeqCst);
        let next = if period == 0 {
            0
        } else {
            now.saturating_add(period)
        };
        timer.due.store(next, Ordering::SeqCst);
        let old = Kernel.raise_irql(IrqlLevel::DISPATCH);
        (timer.routine)();
        IRQL.store(old.0, Ordering::SeqCst);
    }
}

impl Timers for Kernel {
    type Timer = KernelTimer;

    fn new_timer(&self, routine: Routine) -> KernelTimer {
        let inner = Arc::new(TimerInner {
            due: AtomicU64::new(0),
            period: AtomicU64::new(0),
            routine,
        });
        masked(|| TIMERS.lock().push(Arc::downgrade(&inner)));
        KernelTimer(inner)
    }
}

// ---- cooperative threads ----

global_asm!(
    // In its own text section: the section left current by other assembly may be anything.
    ".pushsection .text.xtk_switch_stack, \"ax\", @progbits",
    ".global xtk_switch_stack",
    "xtk_switch_stack:",
    "push rbp",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "mov [rdi], rsp",
    "mov rsp, rsi",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    "ret",
    ".popsection",
);

// SAFETY: `xtk_switch_stack` above saves the callee-saved registers on the current stack,
// stores the stack pointer at `save`, loads `load` and returns into the context saved there.
unsafe extern "C" {
    fn xtk_switch_stack(save: *mut u64, load: u64);
}

const STACK_BYTES: usize = 64 * 1024;

struct ThreadInner {
    /// The saved stack pointer while it does not run.
    sp: AtomicU64,
    done: AtomicBool,
    body: spin::Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

/// Every context that ever ran; index 0 is the boot context. Finished threads keep their slot.
static THREADS: spin::Mutex<Vec<Arc<ThreadInner>>> = spin::Mutex::new(Vec::new());
static CURRENT: AtomicUsize = AtomicUsize::new(0);
/// Context switches so far.
static SWITCHES: AtomicUsize = AtomicUsize::new(0);

/// Context switches so far.
pub fn switches() -> usize {
    SWITCHES.load(Ordering::SeqCst)
}

/// Switches to the next runnable context, round robin (only below `DISPATCH_LEVEL`).
fn switch_thread() {
    let next = masked(|| {
        let threads = THREADS.lock();
        let current = CURRENT.load(Ordering::SeqCst);
        let count = threads.len();
        (1..count)
            .map(|step| (current + step) % count)
            .find(|&i| {
                threads
                    .get(i)
                    .is_some_and(|t| !t.done.load(Ordering::SeqCst))
            })
            .and_then(|i| Some((i, threads.get(current)?.clone(), threads.get(i)?.clone())))
    });
    let Some((index, from, to)) = next else {
        return;
    };
    CURRENT.store(index, Ordering::SeqCst);
    SWITCHES.fetch_add(1, Ordering::SeqCst);
    // SAFETY: `to` is a context saved by this function (or prepared by `spawn`); `from` is
    // the running one, whose stack pointer is stored before the switch. Both live in
    // `THREADS` forever.
    unsafe { xtk_switch_stack(from.sp.as_ptr(), to.sp.load(Ordering::SeqCst)) };
}

/// The first code of every thread.
extern "C" fn thread_main() -> ! {
    let me = masked(|| THREADS.lock().get(CURRENT.load(Ordering::SeqCst)).cloned());
    if let Some(me) = me {
        if let Some(body) = me.body.lock().take() {
            // Threads start at PASSIVE_LEVEL.
            IRQL.store(0, Ordering::SeqCst);
            body();
        }
        me.done.store(true, Ordering::SeqCst);
    }
    loop {
        switch_thread();
    }
}

/// Threads started and threads whose body returned.
pub fn thread_counts() -> (usize, usize) {
    masked(|| {
        let threads = THREADS.lock();
        let started = threads.len().saturating_sub(1);
        let finished = threads
            .iter()
            .skip(1)
            .filter(|t| t.done.load(Ordering::SeqCst))
            .count();
        (started, finished)
    })
}

/// A cooperative thread.
pub struct KernelThread(Arc<ThreadInner>);

impl Thread for KernelThread {
    fn join(self) {
        while !self.0.done.load(Ordering::SeqCst) {
            idle();
        }
    }
}

impl Threads for Kernel {
    type Thread = KernelThread;

    fn spawn(
        &self,
        _name: &'static str,
        body: Box<dyn FnOnce() + Send + 'static>,
    ) -> Result<KernelThread, PortError> {
        let layout = Layout::from_size_align(STACK_BYTES, 16).map_err(|_| PortError::Failed)?;
        // SAFETY: the layout has a non-zero size.
        let stack = unsafe { alloc::alloc::alloc_zeroed(layout) };
        if stack.is_null() {
            return Err(PortError::Insufficient);
        }
        // Initial frame: six callee-saved registers (zero), then `thread_main` as the return
        // address, then a dummy return address so `thread_main` starts with the stack
        // misaligned by 8 as after a call.
        #[expect(
            clippy::cast_ptr_alignment,
            reason = "the stack is allocated 16-aligned and its size is a multiple of 16"
        )]
        let top = stack.wrapping_add(STACK_BYTES).cast::<u64>();
        let entry = thread_main as extern "C" fn() -> ! as usize as u64;
        // SAFETY: both slots are inside the fresh, 16-aligned stack.
        unsafe { top.wrapping_sub(1).write(0) };
        // SAFETY: as above.
        unsafe { top.wrapping_sub(2).write(entry) };
        let sp = top.wrapping_sub(8).addr() as u64;
        let thread = Arc::new(ThreadInner {
            sp: AtomicU64::new(sp),
            done: AtomicBool::new(false),
            body: spin::Mutex::new(Some(body)),
        });
        masked(|| {
            let mut threads = THREADS.lock();
            if threads.is_empty() {
                threads.push(Arc::new(ThreadInner {
                    sp: AtomicU64::new(0),
                    done: AtomicBool::new(false),
                    body: spin::Mutex::new(None),
                }));
            }
            threads.push(Arc::clone(&thread));
        });
        Ok(KernelThread(thread))
    }
}

// ---- memory ----

static OUTSTANDING_PAGES: AtomicUsize = AtomicUsize::new(0);

/// Pages allocated through the port and not freed.
pub fn outstanding_pages() -> usize {
    OUTSTANDING_PAGES.load(Ordering::SeqCst)
}

/// The first frame the identity map does not cover.
const IDENTITY_FRAMES: u64 = 1 << 20;

impl Memory for Kernel {
    fn alloc_pages(&self, count: usize) -> Result<Pages, PortError> {
        if count == 0 {
            return Err(PortError::InvalidParameter);
        }
        let bytes = count.checked_mul(PAGE_SIZE).ok_or(PortError::NoMemory)?;
        let layout = Layout::from_size_align(bytes, PAGE_SIZE).map_err(|_| PortError::NoMemory)?;
        // SAFETY: the layout has a non-zero size.
        let address = NonNull::new(unsafe { alloc::alloc::alloc_zeroed(layout) })
            .ok_or(PortError::NoMemory)?;
        OUTSTANDING_PAGES.fetch_add(count, Ordering::SeqCst);
        Ok(Pages {
            pfn: (address.as_ptr().addr() as u64) >> 12,
            address,
            count,
        })
    }

    unsafe fn free_pages(&self, pages: Pages) {
        OUTSTANDING_PAGES.fetch_sub(pages.count, Ordering::SeqCst);
        if let Ok(layout) = Layout::from_size_align(pages.count * PAGE_SIZE, PAGE_SIZE) {
            // SAFETY: the caller's contract: these pages came from `alloc_pages` with this
            // layout.
            unsafe { alloc::alloc::dealloc(pages.address.as_ptr(), layout) };
        }
    }

    unsafe fn map_physical(&self, pfn: u64, count: usize) -> Result<NonNull<u8>, PortError> {
        let end = pfn
            .checked_add(u64::try_from(count).map_err(|_| PortError::InvalidParameter)?)
            .ok_or(PortError::InvalidParameter)?;
        if end > IDENTITY_FRAMES {
            return Err(PortError::Insufficient);
        }
        let address = usize::try_from(pfn << 12).map_err(|_| PortError::Insufficient)?;
        NonNull::new(core::ptr::with_exposed_provenance_mut::<u8>(address))
            .ok_or(PortError::InvalidParameter)
    }

    unsafe fn unmap_physical(&self, _address: NonNull<u8>, _count: usize) {}
}

// ---- port I/O ----

impl PortIo for Kernel {
    fn inb(&self, port: u16) -> u8 {
        let value: u8;
        // SAFETY: port input has no memory effect.
        unsafe { asm!("in al, dx", in("dx") port, out("al") value, options(nomem, nostack)) };
        value
    }

    fn inw(&self, port: u16) -> u16 {
        let value: u16;
        // SAFETY: as above.
        unsafe { asm!("in ax, dx", in("dx") port, out("ax") value, options(nomem, nostack)) };
        value
    }

    fn outb(&self, port: u16, value: u8) {
        // SAFETY: the callers name ports of devices they drive.
        unsafe { asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack)) };
    }

    fn outw(&self, port: u16, value: u16) {
        // SAFETY: as above.
        unsafe { asm!("out dx, ax", in("dx") port, in("ax") value, options(nomem, nostack)) };
    }

    fn outl(&self, port: u16, value: u32) {
        // SAFETY: as above.
        unsafe { asm!("out dx, eax", in("dx") port, in("eax") value, options(nomem, nostack)) };
    }
}

// ---- registry ----

struct Hive {
    keys: BTreeSet<String>,
    values: BTreeMap<(String, String), RegValue>,
}

static HIVE: spin::Mutex<Hive> = spin::Mutex::new(Hive {
    keys: BTreeSet::new(),
    values: BTreeMap::new(),
});

fn fold(text: &str) -> String {
    text.to_ascii_lowercase()
}

impl Registry for Kernel {
    fn read_value(&self, key: &str, name: &str) -> Result<RegValue, PortError> {
        masked(|| HIVE.lock().values.get(&(fold(key), fold(name))).cloned())
            .ok_or(PortError::NotFound)
    }

    fn write_value(&self, key: &str, name: &str, value: RegValue) -> Result<(), PortError> {
        self.create_key(key, false)?;
        masked(|| HIVE.lock().values.insert((fold(key), fold(name)), value));
        Ok(())
    }

    fn delete_value(&self, key: &str, name: &str) -> Result<(), PortError> {
        masked(|| HIVE.lock().values.remove(&(fold(key), fold(name))))
            .map(|_| ())
            .ok_or(PortError::NotFound)
    }

    fn create_key(&self, key: &str, _volatile: bool) -> Result<(), PortError> {
        if key.contains('\0') {
            return Err(PortError::InvalidParameter);
        }
        let mut path = String::new();
        masked(|| {
            let mut hive = HIVE.lock();
            for part in key.split('\\') {
                if !path.is_empty() {
                    path.push('\\');
                }
                path.push_str(&fold(part));
                hive.keys.insert(path.clone());
            }
        });
        Ok(())
    }

    fn subkeys(&self, key: &str) -> Result<Vec<String>, PortError> {
        let key = fold(key);
        masked(|| {
            let hive = HIVE.lock();
            if !hive.keys.contains(&key) {
                return Err(PortError::NotFound);
            }
            let prefix = alloc::format!("{key}\\");
            Ok(hive
                .keys
                .iter()
                .filter_map(|k| k.strip_prefix(prefix.as_str()))
                .filter(|rest| !rest.contains('\\'))
                .map(ToString::to_string)
                .collect())
        })
    }
}

// ---- log and clock ----

impl Log for Kernel {
    fn log(&self, level: LogLevel, args: fmt::Arguments<'_>) {
        if level == LogLevel::Trace {
            return;
        }
        if IN_ISR.load(Ordering::SeqCst) {
            crate::console::println_unlocked(format_args!("XTK-LOG: {level:?}: {args}"));
        } else {
            masked(|| kprintln!("XTK-LOG: {level:?}: {args}"));
        }
    }
}

/// `KeQuerySystemTime` at Xen system time 0: 2026-01-01 in 100 ns units since 1601 (the
/// kernel has no wall clock it trusts; only differences matter to the subsystems).
const EPOCH_100NS: i64 = 134_117_856_000_000_000;

impl Clock for Kernel {
    fn system_time(&self) -> i64 {
        let ticks = i64::try_from(events::now_ns() / 100).unwrap_or(i64::MAX);
        EPOCH_100NS.saturating_add(ticks)
    }

    fn stall(&self, microseconds: u32) {
        let end = events::now_ns().saturating_add(u64::from(microseconds) * 1000);
        while events::now_ns() < end {
            arch::pause();
        }
    }
}
