// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The std platform's IRQL bookkeeping and its contract checks (what Driver Verifier does on
//! Windows, as panics a host test sees).
//!
//! Every thread carries an emulated IRQL, a processor index and a *context*: the unit that runs
//! on a processor until it returns (a thread, a DPC routine, a timer routine, a rendezvous
//! helper, or a [`super::StdPlatform::preempt`] closure that interrupts whatever runs on its
//! processor). Every check of an IRQL rule counts in [`irql_contracts_checked`]; every broken
//! rule counts in [`irql_violations`] and panics with a message starting with
//! [`VIOLATION_PREFIX`] that names the rule, the routine it stands for and the caller.
//!
//! Locks: every [`crate::IrqlLock`] reports its acquisitions and releases. A thread keeps the
//! list of the locks its contexts hold (for the release-order and context-exit checks), and each
//! platform keeps, per lock, who holds it: processor, thread, context, the IRQL it is held at
//! and where it was taken. A context that would spin on a lock held by a context it preempted on
//! the same processor (a DPC on a lock its processor's `PASSIVE_LEVEL` holder took, an interrupt
//! on a lock its processor's `DISPATCH_LEVEL` holder took) deadlocks on real hardware; here it
//! panics instead.
//!
//! Interrupts raised through [`super::StdPlatform::interrupt`] run as contexts preempting the
//! caller, or stay pending on the thread while its IRQL masks them.

use std::boxed::Box;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::panic::Location;
use std::string::String;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::ThreadId;
use std::time::Duration;
use std::vec::Vec;

use super::locked;
use crate::traits::IrqlLevel;

/// Every panic of a broken IRQL rule starts with this.
pub const VIOLATION_PREFIX: &str = "IRQL rule broken: ";

static CHECKED: AtomicU64 = AtomicU64::new(0);
static VIOLATIONS: AtomicU64 = AtomicU64::new(0);
static NEXT_CONTEXT: AtomicU64 = AtomicU64::new(1);

/// How many IRQL contract checks every std platform in this process made so far.
#[must_use]
pub fn irql_contracts_checked() -> u64 {
    CHECKED.load(Ordering::Relaxed)
}

/// How many of those checks found a broken rule (each one panicked, or was only printed on
/// stderr: under [`REPORT_ONLY_VARIABLE`], or while the thread was already unwinding).
#[must_use]
pub fn irql_violations() -> u64 {
    VIOLATIONS.load(Ordering::Relaxed)
}

/// The environment variable naming a directory where every test process records its counts
/// (see [`record_counts`]), so a test run can total them over the whole workspace.
pub const COUNTS_VARIABLE: &str = "XENBUS_IRQL_COUNTS";

/// Writes this process's counts to `$XENBUS_IRQL_COUNTS/<executable>-<pid>`.
///
/// The file holds `<checked> <violations>`, replacing what the process wrote before. Called whenever a
/// platform is dropped, so the file holds the totals up to the last platform a test used; a
/// process that never drops a platform made no checks worth recording.
pub fn record_counts() {
    let Some(dir) = std::env::var_os(COUNTS_VARIABLE) else {
        return;
    };
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| std::string::String::from("unknown"));
    let path = std::path::Path::new(&dir).join(std::format!("{exe}-{}", std::process::id()));
    let text = std::format!("{} {}\n", irql_contracts_checked(), irql_violations());
    // A counts file that cannot be written only loses the summary line, never a test.
    let _ = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(path, text));
}

std::thread_local! {
    static IRQL: Cell<IrqlLevel> = const { Cell::new(IrqlLevel::PASSIVE) };
    static CPU: Cell<u32> = const { Cell::new(0) };
    /// This thread's current context (0: not numbered yet).
    static CONTEXT: Cell<u64> = const { Cell::new(0) };
    /// The locks this thread's contexts hold, in acquisition order.
    static HELD: RefCell<Vec<Held>> = const { RefCell::new(Vec::new()) };
}

/// One lock held by one of this thread's contexts.
#[derive(Clone, Copy)]
struct Held {
    lock: usize,
    level: IrqlLevel,
    context: u64,
    cpu: u32,
    location: &'static Location<'static>,
}

/// This thread's emulated IRQL.
pub fn current_irql() -> IrqlLevel {
    IRQL.with(Cell::get)
}

/// Sets this thread's emulated IRQL (after the checks).
pub fn set_irql(irql: IrqlLevel) {
    IRQL.with(|c| c.set(irql));
}

/// This thread's emulated processor.
pub fn current_cpu() -> u32 {
    CPU.with(Cell::get)
}

/// Sets this thread's emulated processor, returning the previous one.
pub fn replace_cpu(cpu: u32) -> u32 {
    CPU.with(|c| c.replace(cpu))
}

/// This thread's current context.
pub(super) fn context() -> u64 {
    CONTEXT.with(|c| {
        if c.get() == 0 {
            c.set(NEXT_CONTEXT.fetch_add(1, Ordering::Relaxed));
        }
        c.get()
    })
}

/// Panics with a broken rule. The one place the std platform panics on purpose.
#[allow(clippy::panic)] // Test support: a broken IRQL rule must fail the test that broke it.
#[cold]
fn violation(rule: &str, location: Option<&Location<'_>>) -> ! {
    let caller = location
        .map(|location| std::format!(", called from {location}"))
        .unwrap_or_default();
    panic!("{VIOLATION_PREFIX}{rule}{caller}")
}

/// Panics on a misuse of the std platform's test API (not an IRQL rule of the code under test).
#[allow(clippy::panic)] // Test support: a test that cannot be simulated must say so.
#[cold]
pub fn misuse(message: &str) -> ! {
    panic!("StdPlatform misuse: {message}")
}

/// The environment variable that turns violations into reports.
///
/// With `XENBUS_IRQL_VIOLATIONS=report`, a broken rule is counted and printed on stderr (once per
/// thread and distinct message) and the code goes on, so one run lists every violation a test
/// suite reaches instead of stopping each test at its first. Rules whose breach would hang the test
/// (a lock taken recursively or across preemption) still panic.
pub const REPORT_ONLY_VARIABLE: &str = "XENBUS_IRQL_VIOLATIONS";

fn report_only() -> bool {
    static MODE: OnceLock<bool> = OnceLock::new();
    *MODE.get_or_init(|| {
        std::env::var_os(REPORT_ONLY_VARIABLE).is_some_and(|value| value == "report")
    })
}

/// Counts a broken rule and panics, unless the thread is already unwinding (a second panic
/// would abort the whole test binary) or the run only reports (a rule that cannot deadlock,
/// under [`REPORT_ONLY_VARIABLE`]): then the rule is printed on stderr.
fn broken(rule: &str, location: Option<&Location<'_>>, deadlocks: bool) {
    VIOLATIONS.fetch_add(1, Ordering::Relaxed);
    if std::thread::panicking() {
        std::eprintln!("{VIOLATION_PREFIX}{rule} (while unwinding; not raised again)");
        return;
    }
    if report_only() && !deadlocks {
        // Once per thread and message: libtest runs each test on its own thread, so every
        // test that reaches a violation reports it.
        std::thread_local! {
            static SEEN: RefCell<BTreeSet<String>> = const { RefCell::new(BTreeSet::new()) };
        }
        let caller = location
            .map(|location| std::format!(", called from {location}"))
            .unwrap_or_default();
        let message = std::format!("{VIOLATION_PREFIX}{rule}{caller}");
        let thread = std::thread::current();
        if SEEN.with(|seen| seen.borrow_mut().insert(message.clone())) {
            std::eprintln!(
                "{message} [reported only, thread '{}']",
                thread.name().unwrap_or("<unnamed>")
            );
        }
        return;
    }
    violation(rule, location);
}

/// Counts one check; `rule` describes the broken rule when `ok` is false.
fn check(ok: bool, location: Option<&Location<'_>>, rule: impl FnOnce() -> String) {
    count_check(ok, location, false, rule);
}

/// As [`check`], for a rule whose breach would spin for ever: it panics even when reporting.
fn check_deadlock(ok: bool, location: Option<&Location<'_>>, rule: impl FnOnce() -> String) {
    count_check(ok, location, true, rule);
}

fn count_check(
    ok: bool,
    location: Option<&Location<'_>>,
    deadlocks: bool,
    rule: impl FnOnce() -> String,
) {
    CHECKED.fetch_add(1, Ordering::Relaxed);
    #[cfg(test)]
    THIS_THREAD.with(|c| {
        let (checked, broken) = c.get();
        c.set((checked + 1, broken + u64::from(!ok)));
    });
    if !ok {
        broken(&rule(), location, deadlocks);
    }
}

#[cfg(test)]
std::thread_local! {
    /// Checks and violations of this thread alone (the global counters see every test).
    static THIS_THREAD: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// `(checks, violations)` made on this thread so far (unit tests run concurrently, so the
/// global counters cannot be compared exactly).
#[cfg(test)]
pub fn this_thread_counts() -> (u64, u64) {
    THIS_THREAD.with(Cell::get)
}

/// The simulated machine's bug-check state. A routine the platform runs on a host thread of
/// its own (a DPC, a timer routine, a system thread) that panics, on a broken IRQL rule or
/// otherwise, stops the machine as a bug check stops Windows: from then on every blocking
/// service of that platform (an event wait, `flush_dpcs`, a join, a stall) panics with the
/// original message instead of waiting for work the dead context will never do.
#[derive(Debug, Default)]
pub struct Machine {
    crashed: Mutex<Option<String>>,
}

impl Machine {
    /// Records the first panic of a routine the platform ran (`what`) on this thread.
    pub fn crash(&self, what: &str, payload: &(dyn std::any::Any + Send)) {
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("(a panic without a message)");
        let thread = std::thread::current();
        let thread = thread.name().unwrap_or("<unnamed>");
        let text = if is_violation(payload) {
            std::format!(
                "{message} [in {what} on thread '{thread}': the simulated machine stopped there, \
                 as a bug check stops Windows]"
            )
        } else {
            std::format!("StdPlatform bug check: {what} panicked on thread '{thread}': {message}")
        };
        locked(&self.crashed).get_or_insert(text);
    }

    /// Panics with the recorded crash, if any (not while this thread is already unwinding).
    pub fn check(&self) {
        if std::thread::panicking() {
            return;
        }
        let crashed = locked(&self.crashed).clone();
        if let Some(text) = crashed {
            bug_check(&text);
        }
    }
}

/// Re-raises a crash recorded on another thread of the simulated machine.
#[allow(clippy::panic)] // Test support: a machine that bug-checked fails every test that uses it.
#[cold]
fn bug_check(text: &str) -> ! {
    panic!("{text}")
}

/// Whether a panic payload is a broken IRQL rule.
pub fn is_violation(payload: &(dyn std::any::Any + Send)) -> bool {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .is_some_and(|message| message.starts_with(VIOLATION_PREFIX))
}

/// Checks that the caller runs at `max` or below: `what` is the port method, `routine` the
/// Windows routine whose documented IRQL it inherits.
pub fn require_at_most(what: &str, routine: &str, max: IrqlLevel, location: &Location<'_>) {
    let current = current_irql();
    check(current <= max, Some(location), || {
        if max == IrqlLevel::PASSIVE {
            std::format!("{what} at {current} (allowed: PASSIVE_LEVEL) [{routine}]")
        } else {
            std::format!("{what} at {current} (allowed: <= {max}) [{routine}]")
        }
    });
}

/// `KeWaitForSingleObject`: `<= APC_LEVEL`, or `<= DISPATCH_LEVEL` with a zero timeout.
pub fn require_wait(what: &str, timeout: Option<Duration>, location: &Location<'_>) {
    let current = current_irql();
    let poll = timeout == Some(Duration::ZERO);
    let ok = current <= IrqlLevel::APC || (poll && current <= IrqlLevel::DISPATCH);
    check(ok, Some(location), || {
        std::format!(
            "{what} at {current} (allowed: <= APC_LEVEL, or <= DISPATCH_LEVEL with a zero \
             timeout) [KeWaitForSingleObject]"
        )
    });
}

/// `KeRaiseIrql`: the new level is at least the current one, at most `HIGH_LEVEL`; then raises.
pub fn raise(to: IrqlLevel, location: &Location<'_>) -> IrqlLevel {
    let current = current_irql();
    check(
        current <= to && to <= IrqlLevel::HIGH,
        Some(location),
        || {
            std::format!(
                "Irql::raise_irql to {to} at {current} (allowed: new >= current, <= HIGH_LEVEL) \
                 [KeRaiseIrql]"
            )
        },
    );
    if to > current {
        set_irql(to);
    }
    current
}

/// [`raise`] without its check (a platform in benchmark mode).
pub fn raise_unchecked(to: IrqlLevel) -> IrqlLevel {
    let current = current_irql();
    if to > current {
        set_irql(to);
    }
    current
}

/// [`lower`] without its checks (a platform in benchmark mode); pending interrupts still run.
pub fn lower_unchecked(to: IrqlLevel) {
    set_irql(to);
    run_pending_interrupts();
}

/// `KeLowerIrql`: the new level is at most the current one, and not below a lock this context
/// still holds; then lowers.
pub fn lower(to: IrqlLevel, location: &Location<'_>) {
    let current = current_irql();
    check(to <= current, Some(location), || {
        std::format!(
            "Irql::lower_irql to {to} at {current} (allowed: new <= current) [KeLowerIrql]"
        )
    });
    let above = held_above(to, None);
    check(above.is_none(), Some(location), || {
        let held = above.map_or_else(String::new, |h| {
            std::format!("the {} lock taken at {}", h.level, h.location)
        });
        std::format!(
            "Irql::lower_irql to {to} while {held} is still held (locks released out of order)"
        )
    });
    set_irql(to);
    run_pending_interrupts();
}

/// An interrupt raised on this thread's processor while it ran at or above the interrupt's
/// level: it stays pending, as in the APIC, until the IRQL drops below that level.
struct Pending {
    cpu: u32,
    level: IrqlLevel,
    isr: Box<dyn FnOnce()>,
}

std::thread_local! {
    static PENDING: RefCell<Vec<Pending>> = const { RefCell::new(Vec::new()) };
    /// Whether `PENDING` may hold anything: every IRQL change looks here first.
    static ANY_PENDING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `isr` now as an interrupt on `cpu` at `level` (a new context preempting this thread),
/// or, when this thread runs on `cpu` at `level` or above, leaves it pending until the IRQL
/// drops below `level`.
pub fn interrupt(cpu: u32, level: IrqlLevel, isr: Box<dyn FnOnce()>) {
    PENDING.with(|pending| pending.borrow_mut().push(Pending { cpu, level, isr }));
    ANY_PENDING.with(|any| any.set(true));
    run_pending_interrupts();
}

/// Runs every pending interrupt the current IRQL (and processor) no longer masks.
fn run_pending_interrupts() {
    if !ANY_PENDING.with(Cell::get) || std::thread::panicking() {
        return;
    }
    loop {
        let (irql, cpu) = (current_irql(), current_cpu());
        let next = PENDING.with(|pending| {
            let mut pending = pending.borrow_mut();
            let index = pending.iter().position(|p| p.cpu != cpu || p.level > irql);
            let next = index.map(|index| pending.remove(index));
            if pending.is_empty() {
                ANY_PENDING.with(|any| any.set(false));
            }
            next
        });
        let Some(interrupt) = next else {
            return;
        };
        let scope = ContextScope::enter(interrupt.level, Some(interrupt.cpu));
        (interrupt.isr)();
        check_context_exit(
            &std::format!(
                "an interrupt service routine on CPU {} at {}",
                interrupt.cpu,
                interrupt.level
            ),
            interrupt.level,
            None,
        );
        drop(scope);
    }
}

/// The first lock this context holds that raised above `level`, other than `except`.
fn held_above(level: IrqlLevel, except: Option<usize>) -> Option<Held> {
    let me = context();
    HELD.with(|held| {
        held.borrow()
            .iter()
            .find(|h| h.context == me && h.level > level && Some(h.lock) != except)
            .copied()
    })
}

/// Who holds a lock, as a platform records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeldLock {
    /// The lock's address (its identity).
    pub lock: usize,
    /// The IRQL the lock raises to (and the holder runs at while holding it).
    pub level: IrqlLevel,
    /// The holder's IRQL when it took the lock.
    pub from: IrqlLevel,
    /// The processor the holder runs on.
    pub cpu: u32,
    /// The holder's thread.
    pub thread: ThreadId,
    /// The holder's context (see the module documentation).
    pub context: u64,
    /// Where the lock was taken.
    pub location: &'static Location<'static>,
}

/// One platform's record of which instrumented locks are held, by whom.
#[derive(Debug, Default)]
pub struct LockBook {
    holders: Mutex<HashMap<usize, HeldLock>>,
}

impl LockBook {
    /// The locks held on processor `cpu`.
    pub(super) fn held_on(&self, cpu: u32) -> Vec<HeldLock> {
        let mut held: Vec<HeldLock> = locked(&self.holders)
            .values()
            .filter(|h| h.cpu == cpu)
            .copied()
            .collect();
        held.sort_by_key(|h| h.context);
        held
    }

    /// Checks a lock about to be taken (before the raise): its level, and for a spinning
    /// acquisition, whether the holder is this very context or a context it preempted.
    pub(super) fn acquiring(
        &self,
        lock: *const (),
        level: IrqlLevel,
        spins: bool,
        location: &'static Location<'static>,
    ) {
        let id = lock.addr();
        let current = current_irql();
        let cpu = current_cpu();
        if spins {
            self.check_holder(id, current, cpu, location);
        }
        check(current <= level, Some(location), || {
            let (what, routine) = match (spins, level) {
                (false, _) => ("IrqlLock::try_lock", "KeTryToAcquireSpinLockAtDpcLevel"),
                (true, IrqlLevel::DISPATCH) => ("IrqlLock::lock", "KeAcquireSpinLock"),
                (true, _) => ("IrqlLock::lock", "KeRaiseIrql + spin (HIGH_LOCK)"),
            };
            std::format!(
                "{what} of a {level} lock at {current} (allowed: <= {level}; a lock is never \
                 taken above the level it raises to) [{routine}]"
            )
        });
    }

    fn check_holder(
        &self,
        id: usize,
        current: IrqlLevel,
        cpu: u32,
        location: &'static Location<'static>,
    ) {
        let me = context();
        let mine = HELD.with(|held| held.borrow().iter().rev().find(|h| h.lock == id).copied());
        if let Some(holder) = mine {
            if holder.context != me && holder.cpu != cpu {
                misuse(&std::format!(
                    "a context on CPU {cpu} would spin for ever on a lock its own thread holds \
                     on CPU {} (taken at {}); run the preempting context on the holder's CPU",
                    holder.cpu,
                    holder.location
                ));
            }
            let rule = if holder.context == me {
                std::format!(
                    "recursive acquisition of a spin lock on CPU {cpu}: this context already \
                     holds the {} lock it took at {}",
                    holder.level,
                    holder.location
                )
            } else {
                preempted_message(cpu, current, holder.level, holder.location)
            };
            check_deadlock(false, Some(location), || rule);
            return;
        }
        let other = locked(&self.holders).get(&id).copied();
        let deadlock = other.filter(|h| {
            h.thread != std::thread::current().id() && h.cpu == cpu && current > h.level
        });
        check_deadlock(deadlock.is_none(), Some(location), || {
            deadlock.map_or_else(String::new, |h| {
                preempted_message(cpu, current, h.level, h.location)
            })
        });
    }

    /// Records a lock just taken.
    pub(super) fn acquired(
        &self,
        lock: *const (),
        level: IrqlLevel,
        from: IrqlLevel,
        location: &'static Location<'static>,
    ) {
        let held = HeldLock {
            lock: lock.addr(),
            level,
            from,
            cpu: current_cpu(),
            thread: std::thread::current().id(),
            context: context(),
            location,
        };
        HELD.with(|mine| {
            mine.borrow_mut().push(Held {
                lock: held.lock,
                level,
                context: held.context,
                cpu: held.cpu,
                location,
            });
        });
        locked(&self.holders).insert(held.lock, held);
    }

    /// Forgets a lock about to be released, then checks that lowering to `restores` leaves no
    /// other lock of this context held above its level.
    pub(super) fn released(&self, lock: *const (), restores: IrqlLevel) {
        let id = lock.addr();
        let me = context();
        let released = HELD.with(|held| {
            let mut held = held.borrow_mut();
            let index = held.iter().rposition(|h| h.lock == id && h.context == me)?;
            Some(held.remove(index))
        });
        locked(&self.holders).remove(&id);
        let above = held_above(restores, Some(id));
        check(above.is_none(), None, || {
            let mut rule = String::from("locks released out of order: ");
            if let Some(released) = released {
                let _ = write!(
                    rule,
                    "releasing the {} lock taken at {} ",
                    released.level, released.location
                );
            }
            if let Some(h) = above {
                let _ = write!(
                    rule,
                    "lowers the IRQL to {restores} while the {} lock taken at {} is still held",
                    h.level, h.location
                );
            }
            rule
        });
    }
}

fn preempted_message(
    cpu: u32,
    current: IrqlLevel,
    held_at: IrqlLevel,
    holder: &Location<'_>,
) -> String {
    std::format!(
        "lock held across preemption on CPU {cpu}: taken at {current} while held at {held_at} by \
         {holder} (a context spinning on a lock its own processor's preempted holder took never \
         gets it)"
    )
}

/// A thread's state before it entered a new context.
#[derive(Debug)]
pub struct Saved {
    irql: IrqlLevel,
    cpu: u32,
    context: u64,
    entered: u64,
}

/// Starts a new context on this thread at `irql` (on `cpu`, or the current processor).
pub fn enter_context(irql: IrqlLevel, cpu: Option<u32>) -> Saved {
    let saved_context = context();
    let entered = NEXT_CONTEXT.fetch_add(1, Ordering::Relaxed);
    CONTEXT.with(|c| c.set(entered));
    let saved_irql = IRQL.with(|c| c.replace(irql));
    let saved_cpu = cpu.map_or_else(current_cpu, replace_cpu);
    Saved {
        irql: saved_irql,
        cpu: saved_cpu,
        context: saved_context,
        entered,
    }
}

/// Checks that the context `what` returns at `entered` holding no lock it took.
pub fn check_context_exit(what: &str, entered: IrqlLevel, location: Option<&Location<'_>>) {
    let current = current_irql();
    check(current == entered, location, || {
        std::format!(
            "{what} returned at {current} (it runs at {entered} and must return at the IRQL it \
             was called at)"
        )
    });
    let me = context();
    let still = HELD.with(|held| held.borrow().iter().find(|h| h.context == me).copied());
    check(still.is_none(), location, || {
        still.map_or_else(String::new, |h| {
            std::format!(
                "{what} returned holding the {} lock it took at {}",
                h.level,
                h.location
            )
        })
    });
}

/// Ends the context [`enter_context`] started: forgets what it still held (after a panic) and
/// restores the thread's previous IRQL, processor and context.
#[allow(clippy::needless_pass_by_value)] // Consumed on purpose: a context is left once.
pub fn leave_context(saved: Saved) {
    HELD.with(|held| held.borrow_mut().retain(|h| h.context != saved.entered));
    CONTEXT.with(|c| c.set(saved.context));
    set_irql(saved.irql);
    CPU.with(|c| c.set(saved.cpu));
}

/// Leaves a context when dropped (also while unwinding).
pub struct ContextScope(Option<Saved>);

impl ContextScope {
    /// Enters a new context until the scope is dropped.
    pub fn enter(irql: IrqlLevel, cpu: Option<u32>) -> Self {
        Self(Some(enter_context(irql, cpu)))
    }
}

impl Drop for ContextScope {
    fn drop(&mut self) {
        if let Some(saved) = self.0.take() {
            leave_context(saved);
            // Back to what the context interrupted: interrupts it masked may run now.
            run_pending_interrupts();
        }
    }
}
