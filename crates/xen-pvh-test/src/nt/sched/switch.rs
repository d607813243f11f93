// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Stacks, the context switch, and the choice of the next thread (with the idle loop).
//!
//! `nt_switch_stack(save, to)` is a System V call: it pushes RBP, RBX, R12-R15 (the System V
//! callee-saved registers), stores RSP at `*save`, loads `to` and pops the same registers of
//! the thread it resumes, returning into that thread's own call of it. A new thread's stack is
//! prepared as if it had called it from `nt_thread_entry`, which calls [`thread_main`]. See the
//! parent module for why nothing else needs saving.

use super::{Kind, Object, Sched, State, Thread, describe, objects, with};
use crate::arch;
use crate::nt::routines::dpc;
use crate::nt::verifier::{self, PASSIVE_LEVEL};
use crate::nt::{clock, vm};
use alloc::alloc::{Layout, alloc, alloc_zeroed};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::sync::atomic::{AtomicU64, Ordering};

/// Where thread stacks are mapped: slot `n` at `STACK_REGION + n * SLOT`, its first page the
/// unmapped guard page.
const STACK_REGION: u64 = 0xffff_f807_0000_0000;
/// Stack pages (32 KiB) and the slot they take with the guard page.
const STACK_PAGES: u64 = 8;
const SLOT: u64 = (STACK_PAGES + 1) * 4096;
/// Bytes of a thread object (Windows' `ETHREAD` is larger; drivers only pass it around).
const THREAD_OBJECT_BYTES: usize = 0x400;

core::arch::global_asm!(
    ".pushsection .text.nt_sched, \"ax\"",
    ".p2align 4",
    ".globl nt_switch_stack",
    ".hidden nt_switch_stack",
    "nt_switch_stack:",
    "push rbp",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "mov qword ptr [rdi], rsp",
    "mov rsp, rsi",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    "ret",
    ".p2align 4",
    ".globl nt_thread_entry",
    ".hidden nt_thread_entry",
    "nt_thread_entry:",
    // Reached by `ret` with RSP 16-byte aligned, so the call below enters `thread_main` with
    // the alignment the ABI promises a callee.
    "call {main}",
    "ud2",
    ".popsection",
    main = sym thread_main,
);

// SAFETY: defined by the assembly above: `nt_switch_stack(save: *mut u64, to: u64)` saves the
// System V callee-saved registers and RSP and resumes the stack `to`; `nt_thread_entry` is a
// label (never called from Rust, only its address is taken).
unsafe extern "C" {
    fn nt_switch_stack(save: *mut u64, to: u64);
    safe fn nt_thread_entry();
}

/// A thread stack.
#[derive(Debug, Clone, Copy)]
pub struct Stack {
    /// Its unmapped guard page.
    pub guard: u64,
    /// One past its highest byte.
    pub top: u64,
}

/// Allocates and maps a stack in slot `slot`.
fn new_stack(slot: u64) -> Option<Stack> {
    let bytes = usize::try_from(STACK_PAGES * 4096).ok()?;
    let layout = Layout::from_size_align(bytes, 4096).ok()?;
    // SAFETY: a non-zero-size layout.
    let frames = unsafe { alloc(layout) };
    if frames.is_null() {
        return None;
    }
    let guard = STACK_REGION.checked_add(slot.checked_mul(SLOT)?)?;
    let base = guard + 4096;
    let rights = vm::Rights {
        write: true,
        execute: false,
    };
    vm::map(base, frames.expose_provenance() as u64, STACK_PAGES, rights).then_some(Stack {
        guard,
        top: base + STACK_PAGES * 4096,
    })
}

/// A zeroed thread object with its dispatcher header: `ThreadObject`, not signalled, an empty
/// wait list.
pub fn thread_object() -> Option<usize> {
    let layout = Layout::from_size_align(THREAD_OBJECT_BYTES, 16).ok()?;
    // SAFETY: a non-zero-size layout.
    let p = unsafe { alloc_zeroed(layout) };
    if p.is_null() {
        return None;
    }
    let object = p.expose_provenance();
    objects::init_header(object, super::THREAD_OBJECT, 0, false);
    Some(object)
}

/// Creates a ready thread that will run `start(context)` (a `KSTART_ROUTINE`); returns its id
/// and object, or `None` when out of memory.
pub fn create(start: u64, context: usize, creator: u64) -> Option<(usize, usize)> {
    let object = thread_object()?;
    let stack = with(|s| {
        // Stacks of exited threads (other than the one running) are free again.
        let cur = s.current;
        for (i, t) in s.threads.iter_mut().enumerate() {
            if i != cur
                && t.state == State::Terminated
                && let Some(st) = t.stack.take()
            {
                s.free_stacks.push(st);
            }
        }
        s.free_stacks.pop().ok_or_else(|| {
            let slot = s.next_slot;
            s.next_slot += 1;
            slot
        })
    })?;
    let stack = match stack {
        Ok(st) => st,
        Err(slot) => new_stack(slot)?,
    };
    // The frame `nt_switch_stack` pops: R15, R14, R13, R12, RBX, RBP, then the return address
    // (`nt_thread_entry`); above it 16 bytes, so RSP is 16-byte aligned after the return.
    let ret_at = stack.top - 16 - 8;
    let rsp = ret_at - 6 * 8;
    let entry = (nt_thread_entry as *const ()).addr() as u64;
    for (i, value) in [0u64, 0, 0, 0, 0, 0, entry, 0, 0].into_iter().enumerate() {
        let p = core::ptr::with_exposed_provenance_mut::<u64>(
            usize::try_from(rsp + 8 * i as u64).unwrap_or(0),
        );
        // SAFETY: inside the stack just mapped (or taken from a thread that exited), which
        // only this thread will use.
        unsafe { p.write(value) };
    }
    with(|s| {
        let id = s.threads.len();
        s.threads.push(Thread {
            state: State::Ready,
            object,
            start,
            context,
            creator,
            saved: Box::new(AtomicU64::new(rsp)),
            stack: Some(stack),
            irql: PASSIVE_LEVEL,
            wait: None,
            result: 0,
            wait_next: None,
            exit_status: 0,
        });
        s.objects.insert(
            object,
            Object {
                kind: Kind::Thread(id),
                by: creator,
                refs: Vec::new(),
                handles: 0,
                deleted: false,
            },
        );
        s.stats.created += 1;
        (id, object)
    })
}

/// A system thread's first code: runs the start routine at `PASSIVE_LEVEL`, then exits.
extern "C" fn thread_main() -> ! {
    let (start, context) = with(|s| {
        s.threads
            .get(s.current)
            .map_or((0, 0), |t| (t.start, t.context))
    })
    .unwrap_or((0, 0));
    verifier::set_irql(PASSIVE_LEVEL);
    let Ok(address) = usize::try_from(start) else {
        exit_current(0);
    };
    // SAFETY: `PsCreateSystemThread` checked that the start routine lies in a loaded image's
    // code; a `KSTART_ROUTINE` takes its context in the Microsoft x64 convention.
    let f =
        unsafe { core::mem::transmute::<usize, unsafe extern "win64" fn(*mut c_void)>(address) };
    // SAFETY: as above; the context is the driver's, passed through.
    unsafe { f(core::ptr::with_exposed_provenance_mut(context)) };
    let irql = verifier::irql();
    if irql != PASSIVE_LEVEL {
        verifier::violation(
            "system thread",
            start,
            format_args!("the start routine returned at IRQL {irql}, not PASSIVE_LEVEL"),
        );
    }
    exit_current(0)
}

/// Ends the running thread with `status`: its object is signalled, and it never runs again.
pub fn exit_current(status: i32) -> ! {
    let (owed, stale) = with(|s| {
        let cur = s.current;
        let thread = s.threads.get_mut(cur)?;
        thread.state = State::Terminated;
        thread.exit_status = status;
        let object = thread.object;
        let owed = thread.wait_next.take();
        let stack = thread.stack.map(|st| st.guard + 4096..st.top);
        let start = thread.start;
        objects::set_signal_state(object, 1);
        s.signal(object);
        s.collect(object);
        // Objects on the dead stack are gone; one another thread still waits on is a wait
        // that can never be satisfied correctly (the stack will be reused).
        let mut stale = None;
        if let Some(range) = stack {
            let on_stack = |a: usize| range.contains(&(a as u64));
            stale = s
                .objects
                .keys()
                .copied()
                .filter(|&o| on_stack(o))
                .find_map(|o| s.waiter_of(o).map(|t| (o, t, start)));
            s.objects
                .retain(|&o, obj| !on_stack(o) || matches!(obj.kind, Kind::Thread(_)));
        }
        Some((owed, stale))
    })
    .flatten()
    .unwrap_or((None, None));
    if let Some(w) = owed {
        verifier::violation(
            "KeSetEvent",
            w.caller,
            format_args!("Wait = TRUE was followed by the thread's exit, not by a wait"),
        );
    }
    if let Some((o, t, start)) = stale {
        verifier::violation(
            "thread exit",
            start,
            format_args!(
                "the exiting thread's stack holds the object {o:#x} that thread {t} still waits \
                 on"
            ),
        );
    }
    loop {
        schedule();
    }
}

/// Lets the other ready threads run before the running one continues.
pub fn yield_now() {
    with(|s| {
        let cur = s.current;
        if let Some(t) = s.threads.get_mut(cur) {
            t.state = State::Ready;
        }
    });
    schedule();
}

/// The outcome of choosing the next thread.
enum Pick {
    /// The running thread goes on.
    Current,
    /// Switch: save into the first, resume the second.
    Switch(*mut u64, u64),
    /// Nothing is ready.
    Idle,
}

impl Sched {
    /// Chooses the next ready thread, round robin after the running one (which comes last).
    fn pick(&mut self) -> Pick {
        let n = self.threads.len();
        let cur = self.current;
        let Some(next) = (1..=n)
            .map(|k| (cur + k) % n)
            .find(|&t| self.threads.get(t).is_some_and(|t| t.state == State::Ready))
        else {
            return Pick::Idle;
        };
        if next == cur {
            if let Some(t) = self.threads.get_mut(cur) {
                t.state = State::Running;
            }
            return Pick::Current;
        }
        let irql = verifier::irql();
        let save = self.threads.get_mut(cur).map(|t| {
            t.irql = irql;
            t.saved.as_ptr()
        });
        let to = self.threads.get_mut(next).map(|t| {
            t.state = State::Running;
            t.saved.load(Ordering::SeqCst)
        });
        let (Some(save), Some(to)) = (save, to) else {
            return Pick::Idle;
        };
        self.current = next;
        self.stats.switches += 1;
        Pick::Switch(save, to)
    }

    /// Whether anything could still wake a thread: a ready thread, an armed timer, a wait
    /// with a timeout; and the earliest due time.
    fn outlook(&self) -> (bool, Option<u64>) {
        let ready = self.threads.iter().any(|t| t.state == State::Ready);
        let timers = self.timers.values().map(|a| a.due);
        let deadlines = self
            .threads
            .iter()
            .filter(|t| t.state == State::Waiting)
            .filter_map(|t| t.wait.as_ref().and_then(|w| w.deadline));
        (ready, timers.chain(deadlines).min())
    }
}

/// Runs the next ready thread; returns when the running thread is chosen again (at once if it
/// is ready itself, or after it was switched out and back in).
pub fn schedule() {
    loop {
        match with(Sched::pick).unwrap_or(Pick::Current) {
            Pick::Current => return,
            Pick::Switch(save, to) => {
                // SAFETY: `save` is the running thread's boxed save slot (the box lives as long
                // as the thread table, which never drops threads) and `to` the stack pointer a
                // switched-out or new thread saved or was prepared with; nothing holds the
                // scheduler's lock across the switch.
                unsafe { nt_switch_stack(save, to) };
                // Resumed: this thread's IRQL again.
                let irql = with(|s| s.threads.get(s.current).map_or(0, |t| t.irql)).unwrap_or(0);
                verifier::set_irql(irql);
                return;
            }
            Pick::Idle => idle(),
        }
    }
}

/// How long the idle loop waits for an interrupt when nothing else can wake a thread, before it
/// calls the wait a deadlock (100 ns units: 60 s).
const EXTERNAL_WAIT_LIMIT: u64 = 600_000_000;

/// When the idle loop started waiting only for an interrupt (0: it is not).
static WAITING_SINCE: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Whether the idle loop already reported a long wait for an interrupt.
static REPORTED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// One round of the idle loop, on the stack of the thread that blocked: time passes, timers
/// fire, timeouts end, DPCs run, connected interrupts are polled (Xen's events arrive there)
/// and queued work items run; with nothing left that could wake a thread, the run ends as a
/// deadlock, unless an interrupt is connected, which is waited for up to
/// [`EXTERNAL_WAIT_LIMIT`].
fn idle() {
    use core::sync::atomic::Ordering;
    objects::process_time();
    if dpc::pending() {
        dpc::run_due();
        return;
    }
    if crate::nt::routines::interrupt::poll() != 0 || crate::nt::routines::work::run_queued() != 0 {
        WAITING_SINCE.store(0, Ordering::Relaxed);
        return;
    }
    let Some((ready, next)) = with(|s| s.outlook()) else {
        return;
    };
    if ready {
        WAITING_SINCE.store(0, Ordering::Relaxed);
        return;
    }
    let now = clock::interrupt_time();
    report_long_idle(now);
    let due = match next {
        Some(due) => {
            WAITING_SINCE.store(0, Ordering::Relaxed);
            due
        }
        // Another processor's DPC may still signal what a thread waits for.
        None if dpc::pending_elsewhere() => {
            WAITING_SINCE.store(0, Ordering::Relaxed);
            now.saturating_add(1_000)
        }
        None if crate::nt::routines::interrupt::any_connected() => {
            let since = WAITING_SINCE.load(Ordering::Relaxed);
            if since == 0 {
                WAITING_SINCE.store(now, Ordering::Relaxed);
            } else if now.saturating_sub(since) > EXTERNAL_WAIT_LIMIT {
                deadlock();
            } else if now.saturating_sub(since) > 50_000_000
                && !REPORTED.swap(true, Ordering::Relaxed)
            {
                // Five seconds with nothing but an interrupt to wait for: say what the
                // interrupt source looks like (once per run).
                crate::kprintln!(
                    "NT-IDLE: 5 s waiting for an interrupt: {}",
                    crate::nt::routines::interrupt::describe()
                );
            }
            now.saturating_add(1_000)
        }
        None => deadlock(),
    };
    // Spin towards the next due time, a millisecond at most per round.
    let until = due.min(now.saturating_add(10_000));
    while clock::interrupt_time() < until {
        arch::pause();
    }
    clock::update();
}

/// When the idle loop last reported, and how many reports it made.
static LAST_REPORT: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
static REPORTS: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

/// Every 10 s spent idle (five times at most per run): what each thread waits for and what the
/// interrupt source looks like, so a run that waits for ever says on what.
fn report_long_idle(now: u64) {
    use core::sync::atomic::Ordering;
    let last = LAST_REPORT.load(Ordering::Relaxed);
    if last == 0 {
        LAST_REPORT.store(now, Ordering::Relaxed);
        return;
    }
    if now.saturating_sub(last) < 100_000_000 || REPORTS.fetch_add(1, Ordering::Relaxed) >= 5 {
        return;
    }
    LAST_REPORT.store(now, Ordering::Relaxed);
    let threads = with(|s| describe(s)).unwrap_or_default();
    crate::kprintln!(
        "NT-IDLE: {} s: {threads}; {}",
        now / 10_000_000,
        crate::nt::routines::interrupt::describe()
    );
}

/// Every thread waits and nothing can wake one.
fn deadlock() -> ! {
    let (routine, caller, text) = with(|s| {
        let (routine, caller) = s
            .threads
            .get(s.current)
            .and_then(|t| t.wait.as_ref())
            .map_or(("thread exit", 0), |w| (w.routine, w.caller));
        (routine, caller, describe(s))
    })
    .unwrap_or(("scheduler", 0, alloc::string::String::new()));
    verifier::violation(
        routine,
        caller,
        format_args!(
            "deadlock: every thread waits and no timer, timeout or DPC can wake one{text}"
        ),
    )
}
