// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Dispatcher-object semantics: signal states, satisfying waits, timers expiring, and the
//! wait and delay the routines block in.

use super::switch::schedule;
use super::{Kind, Sched, State, Wait, with};
use crate::nt::clock;
use crate::nt::routines::{DriverObject, dpc};
use core::mem::offset_of;
use ntddk::{DISPATCHER_HEADER, KTIMER, KWAIT_BLOCK};

/// `STATUS_WAIT_0` and `STATUS_TIMEOUT`.
pub const STATUS_WAIT_0: i32 = 0;
/// `STATUS_TIMEOUT`.
pub const STATUS_TIMEOUT: i32 = 0x102;
/// `KWAIT_BLOCK_STATE`: `WaitBlockActive`, `WaitBlockInactive`.
const WAIT_BLOCK_ACTIVE: u8 = 4;
const WAIT_BLOCK_INACTIVE: u8 = 5;

/// The `DISPATCHER_HEADER` at `address`.
pub const fn header(address: usize) -> DriverObject {
    // SAFETY: only called for addresses of dispatcher objects a routine's contract hands the
    // kernel (initialised events and timers in the driver's resident memory, or thread objects
    // the stand-in allocated), which stay valid while they are initialised, waited on or
    // queued.
    unsafe { DriverObject::new(address, size_of::<DISPATCHER_HEADER>()) }
}

/// Writes a dispatcher header: `Type`, `Size` (in 32-bit words), `SignalState`, and an empty
/// `WaitListHead` (pointing to itself).
pub fn init_header(address: usize, code: u8, size: usize, signalled: bool) {
    let h = header(address);
    h.set(0, code);
    h.set(1, 0u8);
    h.set(2, u8::try_from(size / 4).unwrap_or(0));
    h.set(3, 0u8);
    h.set(
        offset_of!(DISPATCHER_HEADER, SignalState),
        i32::from(signalled),
    );
    let list = address + offset_of!(DISPATCHER_HEADER, WaitListHead);
    h.set(offset_of!(DISPATCHER_HEADER, WaitListHead), [list, list]);
}

/// The object's `SignalState`.
pub fn signal_state(address: usize) -> i32 {
    header(address)
        .get(offset_of!(DISPATCHER_HEADER, SignalState))
        .unwrap_or(0)
}

/// Sets the object's `SignalState`.
pub fn set_signal_state(address: usize, state: i32) {
    header(address).set(offset_of!(DISPATCHER_HEADER, SignalState), state);
}

/// The caller's `KWAIT_BLOCK` array of `count` blocks at `blocks`.
const fn wait_blocks(blocks: usize, count: usize) -> DriverObject {
    // SAFETY: `KeWaitForMultipleObjects`' contract: the array holds a block per object and is
    // the kernel's for the length of the wait.
    unsafe { DriverObject::new(blocks, count.saturating_mul(size_of::<KWAIT_BLOCK>())) }
}

/// Sets the `BlockState` of every block of the wait's caller array.
fn mark_blocks(wait: &Wait, state: u8) {
    if wait.blocks == 0 {
        return;
    }
    let b = wait_blocks(wait.blocks, wait.objects.len());
    for i in 0..wait.objects.len() {
        b.set(
            i * size_of::<KWAIT_BLOCK>() + offset_of!(KWAIT_BLOCK, BlockState),
            state,
        );
    }
}

/// Fills the caller's wait blocks as Windows does for the wait: each names the thread, the
/// object, its index and the wait type (its list entry left unlinked).
fn fill_blocks(wait: &Wait, thread: usize) {
    if wait.blocks == 0 {
        return;
    }
    let b = wait_blocks(wait.blocks, wait.objects.len());
    for (i, &object) in wait.objects.iter().enumerate() {
        let at = i * size_of::<KWAIT_BLOCK>();
        let link = wait.blocks + at;
        b.set(at + offset_of!(KWAIT_BLOCK, WaitListEntry), [link, link]);
        b.set(at + offset_of!(KWAIT_BLOCK, WaitType), u8::from(!wait.all));
        b.set(at + offset_of!(KWAIT_BLOCK, BlockState), WAIT_BLOCK_ACTIVE);
        b.set(
            at + offset_of!(KWAIT_BLOCK, WaitKey),
            u16::try_from(i).unwrap_or(u16::MAX),
        );
        b.set(at + offset_of!(KWAIT_BLOCK, Thread), thread);
        b.set(at + offset_of!(KWAIT_BLOCK, Object), object);
    }
}

impl Sched {
    fn is_signalled(address: usize) -> bool {
        signal_state(address) > 0
    }

    /// A satisfied wait's effect on one object: synchronization events and timers reset.
    fn consume(&self, address: usize) {
        if let Some(o) = self.objects.get(&address)
            && matches!(
                o.kind,
                Kind::Event { sync: true } | Kind::Timer { sync: true }
            )
        {
            set_signal_state(address, 0);
        }
    }

    /// The status `wait` would end with now, consuming what it takes; `None` if it cannot be
    /// satisfied yet.
    pub fn satisfy(&self, wait: &Wait) -> Option<i32> {
        if wait.all {
            if wait.objects.is_empty() || !wait.objects.iter().all(|&o| Self::is_signalled(o)) {
                return None;
            }
            for &o in &wait.objects {
                self.consume(o);
            }
            Some(STATUS_WAIT_0)
        } else {
            let index = wait.objects.iter().position(|&o| Self::is_signalled(o))?;
            if let Some(&o) = wait.objects.get(index) {
                self.consume(o);
            }
            Some(STATUS_WAIT_0 + i32::try_from(index).unwrap_or(0))
        }
    }

    /// Ends thread `t`'s wait with `status` and makes it ready.
    fn wake(&mut self, t: usize, status: i32) {
        if let Some(thread) = self.threads.get_mut(t) {
            if let Some(w) = thread.wait.take() {
                mark_blocks(&w, WAIT_BLOCK_INACTIVE);
            }
            thread.state = State::Ready;
            thread.result = status;
        }
    }

    /// The object at `address` became signalled: satisfies the waits on it, first come first
    /// served, while it stays signalled.
    pub fn signal(&mut self, address: usize) {
        let mut waiters: alloc::vec::Vec<(u64, usize)> = self
            .threads
            .iter()
            .enumerate()
            .filter(|(_, t)| t.state == State::Waiting)
            .filter_map(|(i, t)| {
                let w = t.wait.as_ref()?;
                w.objects.contains(&address).then_some((w.seq, i))
            })
            .collect();
        waiters.sort_unstable();
        for (_, t) in waiters {
            if !Self::is_signalled(address) {
                break;
            }
            let status = self
                .threads
                .get(t)
                .and_then(|thread| thread.wait.as_ref())
                .and_then(|w| self.satisfy(w));
            if let Some(status) = status {
                self.wake(t, status);
            }
        }
    }

    /// Fires the timers due at `now` and ends the waits timed out; returns the DPCs to queue
    /// (DPC, `SystemArgument1`, `SystemArgument2`: the expiry's interrupt time, low and high).
    fn expire(&mut self, now: u64) -> alloc::vec::Vec<(usize, usize, usize)> {
        let mut dpcs = alloc::vec::Vec::new();
        while let Some((&timer, &armed)) = self
            .timers
            .iter()
            .filter(|(_, a)| a.due <= now)
            .min_by_key(|(_, a)| a.due)
        {
            self.timers.remove(&timer);
            self.stats.fired += 1;
            set_signal_state(timer, 1);
            self.signal(timer);
            if armed.dpc != 0 {
                let [l0, l1, l2, l3, h0, h1, h2, h3] = now.to_le_bytes();
                dpcs.push((
                    armed.dpc,
                    u32::from_le_bytes([l0, l1, l2, l3]) as usize,
                    u32::from_le_bytes([h0, h1, h2, h3]) as usize,
                ));
            }
            if armed.period > 0 {
                let mut next = armed.due.saturating_add(armed.period);
                if next <= now {
                    next = now.saturating_add(armed.period);
                }
                timer_object(timer).set(offset_of!(KTIMER, DueTime), next);
                self.timers
                    .insert(timer, super::Armed { due: next, ..armed });
            }
        }
        let timed_out: alloc::vec::Vec<usize> = self
            .threads
            .iter()
            .enumerate()
            .filter(|(_, t)| {
                t.state == State::Waiting
                    && t.wait
                        .as_ref()
                        .and_then(|w| w.deadline)
                        .is_some_and(|d| d <= now)
            })
            .map(|(i, _)| i)
            .collect();
        for t in timed_out {
            self.wake(t, STATUS_TIMEOUT);
        }
        dpcs
    }
}

/// The `KTIMER` at `address`.
pub const fn timer_object(address: usize) -> DriverObject {
    // SAFETY: as `header`: an initialised timer in the driver's resident memory.
    unsafe { DriverObject::new(address, size_of::<KTIMER>()) }
}

/// Lets time pass as far as the kernel can see it: expired timers fire (their DPCs are
/// queued) and timed-out waits end.
pub fn process_time() {
    let now = clock::interrupt_time();
    let dpcs = with(|s| s.expire(now)).unwrap_or_default();
    for (d, a1, a2) in dpcs {
        dpc::queue(d, a1, a2);
    }
}

/// Converts a wait's or timer's due time (100 ns units: negative relative, otherwise absolute
/// system time) to interrupt time.
pub fn due_time(due: i64) -> u64 {
    let now = clock::interrupt_time();
    if due < 0 {
        now.saturating_add(due.unsigned_abs())
    } else {
        let target = due.unsigned_abs();
        now.saturating_add(target.saturating_sub(clock::system_time()))
    }
}

/// Blocks the running thread in `wait` unless it can be satisfied now; `poll` (a zero
/// timeout) never blocks. Returns `STATUS_WAIT_n` or `STATUS_TIMEOUT`.
pub fn wait(mut wait: Wait, poll: bool) -> i32 {
    let now = clock::interrupt_time();
    let immediate = with(|s| {
        if let Some(status) = s.satisfy(&wait) {
            return Some(status);
        }
        if poll || wait.deadline.is_some_and(|d| d <= now) {
            return Some(STATUS_TIMEOUT);
        }
        let cur = s.current;
        wait.seq = s.next_seq();
        let object = s.threads.get(cur).map_or(0, |t| t.object);
        fill_blocks(&wait, object);
        if let Some(t) = s.threads.get_mut(cur) {
            t.state = State::Waiting;
            t.wait = Some(wait);
        }
        s.stats.blocked += 1;
        None
    })
    .flatten();
    if let Some(status) = immediate {
        return status;
    }
    schedule();
    with(|s| {
        s.threads
            .get(s.current)
            .map_or(STATUS_TIMEOUT, |t| t.result)
    })
    .unwrap_or(0)
}
