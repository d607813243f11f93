// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The stand-in's threads and dispatcher objects: a cooperative scheduler on CPU 0, with
//! interrupts off as everywhere else in the stand-in.
//!
//! * **Threads.** Thread 0 is the boot thread: the flow that loads drivers and calls their
//!   entry points (`DriverEntry`, dispatch routines) on the boot stack. `PsCreateSystemThread`
//!   adds threads with their own stack ([`switch`]: 32 KiB mapped at `0xFFFFF807'...` with an
//!   unmapped guard page below, so an overflow faults and is reported as one; Windows gives
//!   24 KiB) that start at `PASSIVE_LEVEL`. A thread runs until it waits, delays, terminates or
//!   returns from its start routine — it switches only inside one of those kernel routines,
//!   never in the middle of driver code — and then the next ready thread runs, round robin.
//!   Each thread keeps its own IRQL (`cr8` is saved and restored at a switch).
//! * **Dispatcher objects** live in the driver's memory with Windows' layouts (`KEVENT`,
//!   `KTIMER`, the `DISPATCHER_HEADER` at the start of a thread object): `Type`, `Size` and
//!   `SignalState` are kept in the object as Windows keeps them; the wait lists, armed timers
//!   and object references are kept here ([`Sched`]) and never linked through driver memory
//!   (`WaitListHead` stays an empty list). A satisfied wait consumes a synchronization event or
//!   timer (resets it); notification objects and threads stay signalled.
//! * **Time** ([`super::clock`]): with no clock interrupt, expired timers fire and wait
//!   timeouts end when the kernel next sees the time — at every routine entry below
//!   `CLOCK_LEVEL` ([`on_enter`]) and in the idle loop. Their DPCs are queued then and run by
//!   `routines::dpc` at the usual points.
//! * **Idle.** When no thread is ready, the blocked thread's own stack runs the idle loop: it
//!   fires timers, ends timeouts, runs DPCs and spins until the next due time. If nothing is
//!   ready and no timer, timeout or DPC could ever wake a thread, that is a deadlock: the run
//!   fails naming every waiting thread, what it waits on and from where; it never hangs.
//!
//! Why the switch keeps the drivers' registers (see [`switch`]): a driver enters the kernel
//! through an `extern "win64"` routine, whose compiled prologue saves every register the
//! Microsoft x64 convention makes callee-saved but System V does not (RDI, RSI, XMM6-XMM15) on
//! the thread's own stack before calling any System V code, and restores them in its epilogue.
//! The switch itself is a System V call, so it only has to save RBX, RBP, R12-R15 and RSP
//! (the System V callee-saved set); everything else is already on the stack it leaves, or dead
//! by the convention. MXCSR and the x87 control word are never changed by the stand-in or the
//! drivers, DF is clear at every call, IF stays clear.

pub mod objects;
pub mod switch;

use super::clock;
use super::loader::{self, Where};
use super::verifier::{self, Call};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;
use core::sync::atomic::AtomicU64;
use objects::header;

/// `KOBJECTS` type codes of the dispatcher objects modelled.
pub const EVENT_NOTIFICATION_OBJECT: u8 = 0;
/// `EventSynchronizationObject`.
pub const EVENT_SYNCHRONIZATION_OBJECT: u8 = 1;
/// `ThreadObject`.
pub const THREAD_OBJECT: u8 = 6;
/// `TimerNotificationObject`.
pub const TIMER_NOTIFICATION_OBJECT: u8 = 8;
/// `TimerSynchronizationObject`.
pub const TIMER_SYNCHRONIZATION_OBJECT: u8 = 9;

/// The IRQL of the clock interrupt: time is not processed at or above it.
const CLOCK_LEVEL: u8 = 13;
/// The first thread handle value: a kernel handle, apart from the registry's.
const HANDLE_BASE: u64 = 0xffff_ffff_8400_0000;

/// A thread's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// On the processor.
    Running,
    /// Waiting for the processor.
    Ready,
    /// Blocked in a wait or delay.
    Waiting,
    /// Exited.
    Terminated,
}

/// A wait in progress.
#[derive(Debug, Clone)]
pub struct Wait {
    /// The objects waited on, in the caller's order.
    pub objects: Vec<usize>,
    /// `WaitAll` (otherwise `WaitAny`; a delay is `WaitAny` on nothing).
    pub all: bool,
    /// Interrupt time at which the wait times out; `None`: never.
    pub deadline: Option<u64>,
    /// The caller's `KWAIT_BLOCK` array (0: the thread's own blocks, not in driver memory).
    pub blocks: usize,
    /// The routine waiting and its caller.
    pub routine: &'static str,
    /// The driver's return address.
    pub caller: u64,
    /// Order of the wait among all waits (waiters are satisfied first come, first served).
    pub seq: u64,
}

/// A `KeSetEvent(..., Wait = TRUE)` that the thread's next call must follow with a wait.
#[derive(Debug, Clone, Copy)]
pub struct WaitNext {
    /// Who called `KeSetEvent`.
    pub caller: u64,
    /// The IRQL it was called at (restored by the wait).
    pub irql: u8,
}

/// One thread.
#[derive(Debug)]
pub struct Thread {
    /// Its state.
    pub state: State,
    /// Its thread object (a `DISPATCHER_HEADER` first), signalled when it exits.
    pub object: usize,
    /// Its start routine (0 for the boot thread) and context.
    pub start: u64,
    context: usize,
    /// Who created it.
    pub creator: u64,
    /// The stack pointer saved while it is switched out (boxed: the switch writes it through a
    /// pointer while the table may grow).
    saved: Box<AtomicU64>,
    stack: Option<switch::Stack>,
    /// Its IRQL while switched out.
    irql: u8,
    /// The wait it is blocked in.
    pub wait: Option<Wait>,
    /// How its last wait ended (`STATUS_WAIT_n`, `STATUS_TIMEOUT`).
    result: i32,
    /// A pending `KeSetEvent(Wait = TRUE)`.
    pub wait_next: Option<WaitNext>,
    /// Its exit status.
    pub exit_status: i32,
}

/// What kind of dispatcher object lives at an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A `KEVENT` (`sync`: a synchronization event).
    Event {
        /// Synchronization (auto-reset) rather than notification.
        sync: bool,
    },
    /// A `KTIMER`.
    Timer {
        /// Synchronization rather than notification.
        sync: bool,
    },
    /// Thread `n`'s object.
    Thread(usize),
}

impl Kind {
    /// The `Type` byte Windows stores in the object's header.
    pub const fn type_code(self) -> u8 {
        match self {
            Self::Event { sync: false } => EVENT_NOTIFICATION_OBJECT,
            Self::Event { sync: true } => EVENT_SYNCHRONIZATION_OBJECT,
            Self::Timer { sync: false } => TIMER_NOTIFICATION_OBJECT,
            Self::Timer { sync: true } => TIMER_SYNCHRONIZATION_OBJECT,
            Self::Thread(_) => THREAD_OBJECT,
        }
    }
}

/// A dispatcher object the stand-in initialised (or, for threads, created).
#[derive(Debug, Clone)]
pub struct Object {
    /// What it is.
    pub kind: Kind,
    /// Who initialised or created it.
    pub by: u64,
    /// References taken on it (`ObReferenceObjectByHandle`, `ObfReferenceObject`), by taker.
    pub refs: Vec<u64>,
    /// Open handles to it.
    pub handles: usize,
    /// Thread objects: no reference, handle or running thread keeps it any more.
    pub deleted: bool,
}

/// An open thread handle.
#[derive(Debug, Clone, Copy)]
pub struct Handle {
    /// The thread object.
    pub object: usize,
    /// The access granted.
    pub access: u32,
    /// Who opened it.
    pub caller: u64,
}

/// An armed timer.
#[derive(Debug, Clone, Copy)]
pub struct Armed {
    /// Interrupt time it expires at.
    pub due: u64,
    /// Its period (100 ns units; 0: one-shot).
    pub period: u64,
    /// The DPC to queue at expiry (0: none).
    pub dpc: usize,
    /// Who set it.
    pub caller: u64,
}

/// What the run did, for the summary.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    /// Threads created.
    pub created: u64,
    /// Context switches.
    pub switches: u64,
    /// Waits that blocked.
    pub blocked: u64,
    /// Timer expirations.
    pub fired: u64,
}

/// The scheduler's state.
#[derive(Debug)]
pub struct Sched {
    /// Every thread ever created; the index is the thread id, 0 the boot thread.
    pub threads: Vec<Thread>,
    /// The running thread.
    pub current: usize,
    /// Initialised dispatcher objects by address.
    pub objects: BTreeMap<usize, Object>,
    /// Open thread handles.
    pub handles: BTreeMap<u64, Handle>,
    next_handle: u64,
    /// Armed timers by address.
    pub timers: BTreeMap<usize, Armed>,
    free_stacks: Vec<switch::Stack>,
    next_slot: u64,
    seq: u64,
    /// Counters.
    pub stats: Stats,
}

static SCHED: spin::Mutex<Option<Sched>> = spin::Mutex::new(None);

/// Runs `f` on the scheduler's state (`None` before [`init`]). `f` must not call back into
/// anything that takes the lock (a routine, the DPC delivery, a switch).
pub fn with<T>(f: impl FnOnce(&mut Sched) -> T) -> Option<T> {
    SCHED.lock().as_mut().map(f)
}

/// Creates the boot thread (the flow running now, on the boot stack). Called once, before the
/// first driver loads.
pub fn init() {
    let Some(object) = switch::thread_object() else {
        crate::harness::fatal(format_args!("no memory for the boot thread's object"));
    };
    let mut s = Sched {
        threads: Vec::new(),
        current: 0,
        objects: BTreeMap::new(),
        handles: BTreeMap::new(),
        next_handle: 0,
        timers: BTreeMap::new(),
        free_stacks: Vec::new(),
        next_slot: 0,
        seq: 0,
        stats: Stats::default(),
    };
    s.threads.push(Thread {
        state: State::Running,
        object,
        start: 0,
        context: 0,
        creator: 0,
        saved: Box::new(AtomicU64::new(0)),
        stack: None,
        irql: verifier::irql(),
        wait: None,
        result: 0,
        wait_next: None,
        exit_status: 0,
    });
    s.objects.insert(
        object,
        Object {
            kind: Kind::Thread(0),
            by: 0,
            refs: Vec::new(),
            handles: 0,
            deleted: false,
        },
    );
    *SCHED.lock() = Some(s);
}

/// The running thread's id (0 before [`init`]).
pub fn current() -> usize {
    with(|s| s.current).unwrap_or(0)
}

/// The running thread's object.
pub fn current_object() -> usize {
    with(|s| s.threads.get(s.current).map_or(0, |t| t.object)).unwrap_or(0)
}

impl Sched {
    /// The object at `address` if it is an initialised one of a kind `accept` takes and its
    /// `Type` byte still says so (memory reused for something else is not the object any
    /// more).
    pub fn kind(&self, address: usize) -> Option<Kind> {
        let kind = self.objects.get(&address)?.kind;
        let code: Option<u8> = header(address).get(0);
        (code == Some(kind.type_code())).then_some(kind)
    }

    /// The thread waiting on the object at `address`, if any.
    pub fn waiter_of(&self, address: usize) -> Option<usize> {
        self.threads.iter().position(|t| {
            t.state == State::Waiting
                && t.wait
                    .as_ref()
                    .is_some_and(|w| w.objects.contains(&address))
        })
    }

    const fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Opens a handle to thread object `object`.
    pub fn open_handle(&mut self, object: usize, access: u32, caller: u64) -> u64 {
        let value = HANDLE_BASE + self.next_handle * 4;
        self.next_handle += 1;
        if let Some(o) = self.objects.get_mut(&object) {
            o.handles += 1;
        }
        self.handles.insert(
            value,
            Handle {
                object,
                access,
                caller,
            },
        );
        value
    }

    /// Whether thread object `object` is still live, and the pointer count Windows would
    /// report (references, handles, and one while the thread runs).
    pub fn pointer_count(&self, object: usize) -> isize {
        let Some(o) = self.objects.get(&object) else {
            return 0;
        };
        let running = match o.kind {
            Kind::Thread(t) => self
                .threads
                .get(t)
                .is_some_and(|t| t.state != State::Terminated),
            _ => false,
        };
        isize::try_from(o.refs.len() + o.handles + usize::from(running)).unwrap_or(isize::MAX)
    }

    /// Marks a thread object deleted once nothing keeps it.
    pub fn collect(&mut self, object: usize) {
        if self.pointer_count(object) == 0
            && let Some(o) = self.objects.get_mut(&object)
            && matches!(o.kind, Kind::Thread(_))
        {
            o.deleted = true;
        }
    }
}

/// Closes the thread handle `value`; false if it is not one.
pub fn close_handle(value: u64) -> bool {
    with(|s| {
        let Some(h) = s.handles.remove(&value) else {
            return false;
        };
        if let Some(o) = s.objects.get_mut(&h.object) {
            o.handles = o.handles.saturating_sub(1);
        }
        s.collect(h.object);
        true
    })
    .unwrap_or(false)
}

/// What every routine does on entry (from `verifier::enter`): a pending
/// `KeSetEvent(Wait = TRUE)` must be followed by a wait; the shared data page's time is
/// refreshed; below `CLOCK_LEVEL`, expired timers fire and wait timeouts end.
pub fn on_enter(routine: &'static str, irql: u8) {
    let owed = with(|s| s.threads.get(s.current).and_then(|t| t.wait_next)).flatten();
    if let Some(w) = owed
        && !matches!(
            routine,
            "KeWaitForSingleObject" | "KeWaitForMultipleObjects"
        )
    {
        verifier::violation(
            "KeSetEvent",
            w.caller,
            format_args!(
                "Wait = TRUE was not followed by KeWaitForSingleObject or \
                 KeWaitForMultipleObjects: the thread's next call was {routine}"
            ),
        );
    }
    clock::update();
    if irql < CLOCK_LEVEL {
        objects::process_time();
    }
}

/// Checks that freeing `len` bytes at `base` (pool or contiguous memory) leaves no armed timer
/// and no object a thread waits on inside, and forgets the objects there.
pub fn freeing(call: &Call, base: usize, len: usize) {
    let end = base.saturating_add(len);
    let inside = |a: usize| a >= base && a < end;
    let problem = with(|s| {
        if let Some((&t, a)) = s.timers.iter().find(|&(&t, _)| inside(t)) {
            return Some(alloc::format!(
                "frees {base:#x} (+{len:#x}), which holds the timer {t:#x} still queued (set \
                 from {})",
                Where(a.caller)
            ));
        }
        let waited = s
            .objects
            .iter()
            .filter(|&(&o, _)| inside(o))
            .find_map(|(&o, obj)| s.waiter_of(o).map(|t| (o, obj.by, t)));
        if let Some((o, by, t)) = waited {
            return Some(alloc::format!(
                "frees {base:#x} (+{len:#x}), which holds the object {o:#x} (initialised from \
                 {}) thread {t} waits on",
                Where(by)
            ));
        }
        s.objects
            .retain(|&o, obj| !inside(o) || matches!(obj.kind, Kind::Thread(_)));
        None
    })
    .flatten();
    if let Some(text) = problem {
        call.fail(format_args!("{text}"));
    }
}

/// What is still alive of the threads, handles, references and timers (the boot thread not
/// counted): for the stand-in's own checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Live {
    /// Threads not terminated.
    pub threads: usize,
    /// Open thread handles.
    pub handles: usize,
    /// References held.
    pub references: usize,
    /// Armed timers.
    pub timers: usize,
}

/// See [`Live`].
pub fn live() -> Live {
    with(|s| Live {
        threads: s
            .threads
            .iter()
            .skip(1)
            .filter(|t| t.state != State::Terminated)
            .count(),
        handles: s.handles.len(),
        references: s.objects.values().map(|o| o.refs.len()).sum(),
        timers: s.timers.len(),
    })
    .unwrap_or_default()
}

/// Leftovers of image `index` at its unload, one line each: threads it created that still
/// run, handles it opened, references it took, timers it set or that lie in it.
pub fn leftovers_in(index: usize) -> [(&'static str, Vec<String>); 4] {
    let of = |a: u64| loader::containing(a) == Some(index);
    let found = with(|s| {
        let threads = s
            .threads
            .iter()
            .enumerate()
            .filter(|(_, t)| t.state != State::Terminated && (of(t.creator) || of(t.start)))
            .map(|(i, t)| alloc::format!("thread {i} (start {})", Where(t.start)))
            .collect();
        let handles = s
            .handles
            .iter()
            .filter(|(_, h)| of(h.caller))
            .map(|(v, h)| alloc::format!("{v:#x} from {}", Where(h.caller)))
            .collect();
        let references = s
            .objects
            .iter()
            .flat_map(|(&o, obj)| obj.refs.iter().map(move |&r| (o, r)))
            .filter(|&(_, r)| of(r))
            .map(|(o, r)| alloc::format!("{o:#x} from {}", Where(r)))
            .collect();
        let timers = s
            .timers
            .iter()
            .filter(|&(&t, a)| of(t as u64) || of(a.dpc as u64) || of(a.caller))
            .map(|(t, a)| alloc::format!("{t:#x} set from {}", Where(a.caller)))
            .collect();
        (threads, handles, references, timers)
    })
    .unwrap_or_default();
    [
        ("threads still running", found.0),
        ("thread handles open", found.1),
        ("object references held", found.2),
        ("timers queued", found.3),
    ]
}

/// The thread whose stack guard page holds `address` (a page fault there is an overflow).
pub fn overflowed(address: u64) -> Option<usize> {
    let s = SCHED.try_lock()?;
    s.as_ref()?.threads.iter().position(|t| {
        t.stack
            .as_ref()
            .is_some_and(|st| address >= st.guard && address < st.guard + 4096)
    })
}

/// Thread `t`'s stack: its guard page and the end of its stack (`None` for the boot thread).
pub fn stack_of(t: usize) -> Option<(u64, u64)> {
    with(|s| {
        s.threads
            .get(t)
            .and_then(|th| th.stack.as_ref())
            .map(|st| (st.guard, st.top))
    })
    .flatten()
}

/// A one-line description of every thread that is not done, for a deadlock report.
fn describe(s: &Sched) -> String {
    let mut out = String::new();
    for (i, t) in s.threads.iter().enumerate() {
        if t.state == State::Terminated {
            continue;
        }
        let _ = write!(out, "; thread {i}");
        if t.start != 0 {
            let _ = write!(out, " (start {})", Where(t.start));
        } else {
            let _ = write!(out, " (boot)");
        }
        match &t.wait {
            Some(w) => {
                let _ = write!(
                    out,
                    " waits in {} from {} on {:x?}{}",
                    w.routine,
                    Where(w.caller),
                    w.objects,
                    if w.all { " (all)" } else { "" }
                );
            }
            None => {
                let _ = write!(out, " is {:?}", t.state);
            }
        }
    }
    out
}

/// Counters for the run's summary.
pub fn stats() -> Stats {
    with(|s| s.stats).unwrap_or_default()
}

/// Runs the other ready threads until every one of them waits (the boot thread's way of
/// letting the threads a driver started get going, as a PnP manager does between calls).
pub fn settle() {
    loop {
        objects::process_time();
        let others = with(|s| {
            let cur = s.current;
            s.threads
                .iter()
                .enumerate()
                .any(|(i, t)| i != cur && t.state == State::Ready)
        })
        .unwrap_or(false);
        if !others {
            return;
        }
        switch::yield_now();
    }
}
