// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Remove locks: `IoInitializeRemoveLockEx`, `IoAcquireRemoveLockEx`, `IoReleaseRemoveLockEx`,
//! `IoReleaseRemoveLockAndWaitEx` (what the WDK's `IoInitializeRemoveLock`,
//! `IoAcquireRemoveLock`, `IoReleaseRemoveLock` and `IoReleaseRemoveLockAndWait` macros call).
//!
//! The `IO_REMOVE_LOCK` is the driver's (a device extension's), laid out as Windows lays it out:
//! the common block (`Removed`, `IoCount`, `RemoveEvent`), followed in a checked build's
//! variant by the debug block, which the driver's `RemlockSize` announces — 32 bytes (the
//! common block, a free build's `IO_REMOVE_LOCK`) or 120 (with `IO_REMOVE_LOCK_DBG_BLOCK`),
//! the two sizes Windows accepts. Initialising sets `Removed` to FALSE, `IoCount` to 1 and
//! makes `RemoveEvent` a synchronization event, not signalled, registered with the scheduler
//! as `KeInitializeEvent` registers one; the debug block is left as it is (the stand-in keeps
//! the tracking it would hold in its own table). An acquisition adds one to `IoCount` and
//! returns `STATUS_SUCCESS`, or `STATUS_DELETE_PENDING` without counting once `Removed` is set;
//! a release takes one off and signals `RemoveEvent` when the count reaches 0 (only possible
//! after the removal). `IoReleaseRemoveLockAndWaitEx` sets `Removed`, drops the initial count
//! and the caller's acquisition, and, while others still hold the lock, waits on `RemoveEvent`
//! as `KeWaitForSingleObject` waits (other threads, DPCs and time run; a wait nothing can end
//! is reported as a deadlock naming this routine).
//!
//! Checked, as Driver Verifier's remove-lock checks do, against a table of the initialised
//! locks and the acquisitions each one holds by `Tag`: the IRQL (`PASSIVE_LEVEL` to initialise
//! and to release-and-wait, `DISPATCH_LEVEL` or below to acquire and release); a NULL lock; a
//! `RemlockSize` that is neither size, or differs from the one the lock was initialised with;
//! a `HighWatermark` of `MAXLONG` or more (Windows asserts it); using a lock
//! `IoInitializeRemoveLockEx` never initialised; initialising a lock again while acquisitions
//! are outstanding; a release with a `Tag` that holds no acquisition (one that only got
//! `STATUS_DELETE_PENDING` included); a release that would take `IoCount` below zero;
//! `IoReleaseRemoveLockAndWaitEx` without holding the lock (Windows requires an acquisition
//! first) or twice; a lock whose `Removed`, `IoCount` or `RemoveEvent` were changed outside
//! these routines (copied, overwritten, or freed and reused without initialising). At unload,
//! [`outstanding`] lists the acquisitions an image still holds.

use super::DriverObject;
use crate::nt::loader::{self, Where};
use crate::nt::sched::{self, EVENT_SYNCHRONIZATION_OBJECT, Kind, Wait, objects};
use crate::nt::verifier::{self, Call, DISPATCH_LEVEL, PASSIVE_LEVEL};
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::{c_char, c_void};
use core::fmt::Write as _;
use core::mem::offset_of;
use ntddk::{IO_REMOVE_LOCK_COMMON_BLOCK, KEVENT, STATUS_SUCCESS};
use ntstatus::NtStatus;

/// `STATUS_DELETE_PENDING`: what an acquisition gets once the lock was released-and-waited.
pub const STATUS_DELETE_PENDING: NtStatus = 0xC000_0056_u32.cast_signed();

/// `IO_REMOVE_LOCK_DBG_BLOCK` (x64): what a checked build's `IO_REMOVE_LOCK` adds after the
/// common block.
#[repr(C)]
#[allow(dead_code)] // Only the layout matters: the stand-in keeps the tracking in `LOCKS`.
struct IoRemoveLockDbgBlock {
    signature: i32,
    high_watermark: u32,
    max_locked_ticks: i64,
    allocate_tag: i32,
    lock_list: [usize; 2],
    spin: usize,
    low_memory_count: i32,
    reserved1: [u32; 4],
    reserved2: usize,
    blocks: usize,
}

/// `RemlockSize` of a free build's `IO_REMOVE_LOCK` (the common block).
pub const FREE_SIZE: u32 = 32;
/// `RemlockSize` of a checked build's (the common block and the debug block).
pub const DEBUG_SIZE: u32 = 120;
const _: () = assert!(size_of::<IO_REMOVE_LOCK_COMMON_BLOCK>() == FREE_SIZE as usize);
const _: () = assert!(
    size_of::<IO_REMOVE_LOCK_COMMON_BLOCK>() + size_of::<IoRemoveLockDbgBlock>()
        == DEBUG_SIZE as usize
);

/// Field offsets of the common block.
const REMOVED: usize = offset_of!(IO_REMOVE_LOCK_COMMON_BLOCK, Removed);
const IO_COUNT: usize = offset_of!(IO_REMOVE_LOCK_COMMON_BLOCK, IoCount);
const REMOVE_EVENT: usize = offset_of!(IO_REMOVE_LOCK_COMMON_BLOCK, RemoveEvent);

/// One acquisition not released yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hold {
    /// The `Tag` it was acquired with.
    pub tag: usize,
    /// Who acquired it.
    pub caller: u64,
}

/// One initialised lock.
#[derive(Debug, Clone)]
struct Lock {
    /// `RemlockSize` at initialisation.
    size: u32,
    /// Who initialised it.
    by: u64,
    /// The acquisitions held, oldest first.
    held: Vec<Hold>,
    /// Who released it and waited (`IoReleaseRemoveLockAndWaitEx`), once someone did.
    removed: Option<u64>,
}

impl Lock {
    /// What `IoCount` must hold: the initial count until the removal, and one per acquisition.
    fn count(&self) -> usize {
        self.held.len() + usize::from(self.removed.is_none())
    }

    /// The tags held, for a message.
    fn describe(&self) -> String {
        let mut out = format!("{} acquisition(s) held", self.held.len());
        for h in self.held.iter().take(4) {
            let _ = write!(out, "; Tag {:#x} from {}", h.tag, Where(h.caller));
        }
        out
    }
}

/// The initialised locks, by address.
static LOCKS: spin::Mutex<BTreeMap<usize, Lock>> = spin::Mutex::new(BTreeMap::new());

/// The common block of the lock at `address`.
const fn common(address: usize) -> DriverObject {
    // SAFETY: only called for a lock a routine was passed, which its contract makes resident
    // memory of the driver of at least the common block (`RemlockSize`, one of the two sizes,
    // both at least that), the kernel's to read and write while the lock is in use.
    unsafe { DriverObject::new(address, FREE_SIZE as usize) }
}

/// Checks that the lock's memory still says what the table says: `Removed`, `IoCount`, and a
/// `RemoveEvent` that is still the synchronization event initialised there.
fn memory_matches(address: usize, lock: &Lock) -> Result<(), String> {
    let c = common(address);
    let removed: u8 = c.get(REMOVED).unwrap_or(0);
    let count: i32 = c.get(IO_COUNT).unwrap_or(0);
    let event = address.wrapping_add(REMOVE_EVENT);
    let is_event =
        sched::with(|s| s.kind(event) == Some(Kind::Event { sync: true })).unwrap_or(false);
    let want = lock.count();
    if removed == u8::from(lock.removed.is_some())
        && usize::try_from(count).is_ok_and(|c| c == want)
        && is_event
    {
        return Ok(());
    }
    Err(format!(
        "the remove lock {address:#x} (initialised from {}) was changed outside the \
         remove-lock routines: Removed {removed}, IoCount {count}, RemoveEvent {}, where the \
         kernel counts {want} (a copy, an overwrite, or its memory freed and reused without \
         IoInitializeRemoveLockEx)",
        Where(lock.by),
        if is_event {
            "intact"
        } else {
            "no longer an initialised event"
        }
    ))
}

/// Runs `f` on the record of the initialised lock `lock` under the table's lock, after checking
/// that the lock was initialised, with `size`, and that its memory matches the record; a rule
/// `f` (or those checks) reports broken fails the call, outside the table's lock.
fn with_lock<T>(
    call: &Call,
    lock: *mut c_void,
    size: u32,
    f: impl FnOnce(usize, &mut Lock) -> Result<T, String>,
) -> T {
    call.require(!lock.is_null(), format_args!("Lock is NULL"));
    let address = lock.addr();
    let result = {
        let mut locks = LOCKS.lock();
        match locks.get_mut(&address) {
            None => Err(format!(
                "{address:#x} is not a remove lock IoInitializeRemoveLockEx initialised"
            )),
            Some(r) if r.size != size => Err(format!(
                "RemlockSize {size} differs from the {} the remove lock {address:#x} was \
                 initialised with (from {})",
                r.size,
                Where(r.by)
            )),
            Some(r) => memory_matches(address, r).and_then(|()| f(address, r)),
        }
    };
    match result {
        Ok(value) => value,
        Err(text) => call.fail(format_args!("{text}")),
    }
}

/// Signals the lock's `RemoveEvent` (its count reached 0) and satisfies the wait on it, as
/// `KeSetEvent(RemoveEvent, IO_NO_INCREMENT, FALSE)` does.
fn signal(address: usize) {
    let event = address.wrapping_add(REMOVE_EVENT);
    sched::with(|s| {
        objects::set_signal_state(event, 1);
        s.signal(event);
    });
}

/// The message for a `Tag` that holds no acquisition of `lock`.
fn unheld(address: usize, lock: &Lock, tag: usize, rule: &str) -> String {
    let mut text = format!(
        "Tag {tag:#x} holds no acquisition of the remove lock {address:#x}: {rule} ({})",
        lock.describe()
    );
    if let Some(by) = lock.removed {
        let _ = write!(
            text,
            "; the lock was released and waited for from {}: acquisitions after that got \
             STATUS_DELETE_PENDING and hold nothing",
            Where(by)
        );
    }
    text
}

/// `VOID IoInitializeRemoveLockEx(PIO_REMOVE_LOCK Lock, ULONG AllocateTag, ULONG
/// MaxLockedMinutes, ULONG HighWatermark, ULONG RemlockSize)`. PASSIVE_LEVEL.
///
/// # Safety
/// Called by driver code: `lock` is NULL (checked) or `RemlockSize` bytes of the driver's
/// resident memory, the kernel's from now until the lock is no longer used.
pub unsafe extern "win64" fn io_initialize_remove_lock_ex(
    lock: *mut c_void,
    _allocate_tag: u32,
    _max_locked_minutes: u32,
    high_watermark: u32,
    size: u32,
) {
    let call = verifier::enter("IoInitializeRemoveLockEx");
    call.at_most(PASSIVE_LEVEL);
    call.require(!lock.is_null(), format_args!("Lock is NULL"));
    call.require(
        size == FREE_SIZE || size == DEBUG_SIZE,
        format_args!(
            "RemlockSize {size} is neither sizeof(IO_REMOVE_LOCK_COMMON_BLOCK) ({FREE_SIZE}, a \
             free build's IO_REMOVE_LOCK) nor that with IO_REMOVE_LOCK_DBG_BLOCK ({DEBUG_SIZE}, \
             a checked build's)"
        ),
    );
    call.require(
        i32::try_from(high_watermark).is_ok_and(|w| w < i32::MAX),
        format_args!("HighWatermark {high_watermark:#x} is not below MAXLONG"),
    );
    let address = lock.addr();
    let busy = LOCKS
        .lock()
        .get(&address)
        .filter(|r| !r.held.is_empty())
        .map(Lock::describe);
    if let Some(held) = busy {
        call.fail(format_args!(
            "initialising the remove lock {address:#x} again while it is in use ({held})"
        ));
    }
    let event = address.wrapping_add(REMOVE_EVENT);
    if let Some(t) = sched::with(|s| s.waiter_of(event)).flatten() {
        call.fail(format_args!(
            "initialising the remove lock {address:#x} while thread {t} waits on its \
             RemoveEvent"
        ));
    }
    let c = common(address);
    c.set(REMOVED, 0u8);
    c.set(IO_COUNT, 1i32);
    objects::init_header(
        event,
        EVENT_SYNCHRONIZATION_OBJECT,
        size_of::<KEVENT>(),
        false,
    );
    sched::with(|s| {
        s.objects.insert(
            event,
            sched::Object {
                kind: Kind::Event { sync: true },
                by: call.caller,
                refs: Vec::new(),
                handles: 0,
                deleted: false,
            },
        );
    });
    LOCKS.lock().insert(
        address,
        Lock {
            size,
            by: call.caller,
            held: Vec::new(),
            removed: None,
        },
    );
}

/// `NTSTATUS IoAcquireRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, PCSTR File, ULONG
/// Line, ULONG RemlockSize)`: `STATUS_SUCCESS`, or `STATUS_DELETE_PENDING` (nothing held) once
/// the lock was released-and-waited. <= DISPATCH_LEVEL. `File` and `Line` are only read by a
/// checked kernel.
///
/// # Safety
/// Called by driver code: `lock` is an initialised remove lock (checked against the table).
pub unsafe extern "win64" fn io_acquire_remove_lock_ex(
    lock: *mut c_void,
    tag: *mut c_void,
    _file: *const c_char,
    _line: u32,
    size: u32,
) -> NtStatus {
    let call = verifier::enter("IoAcquireRemoveLockEx");
    call.at_most(DISPATCH_LEVEL);
    with_lock(&call, lock, size, |address, r| {
        if r.removed.is_some() {
            return Ok(STATUS_DELETE_PENDING);
        }
        let count = r
            .count()
            .checked_add(1)
            .and_then(|c| i32::try_from(c).ok())
            .ok_or_else(|| format!("the IoCount of the remove lock {address:#x} overflows"))?;
        r.held.push(Hold {
            tag: tag.addr(),
            caller: call.caller,
        });
        common(address).set(IO_COUNT, count);
        Ok(STATUS_SUCCESS)
    })
}

/// `VOID IoReleaseRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize)`: one
/// acquisition with `Tag` ends; the last one after the removal signals `RemoveEvent`.
/// <= DISPATCH_LEVEL.
///
/// # Safety
/// Called by driver code: `lock` is an initialised remove lock (checked against the table).
pub unsafe extern "win64" fn io_release_remove_lock_ex(
    lock: *mut c_void,
    tag: *mut c_void,
    size: u32,
) {
    let call = verifier::enter("IoReleaseRemoveLockEx");
    call.at_most(DISPATCH_LEVEL);
    let last = with_lock(&call, lock, size, |address, r| {
        let Some(count) = r.count().checked_sub(1) else {
            return Err(format!(
                "the IoCount of the remove lock {address:#x} is 0: this release would take it \
                 below zero ({}{})",
                r.describe(),
                r.removed.map_or_else(String::new, |by| format!(
                    "; released and waited for from {}",
                    Where(by)
                ))
            ));
        };
        let Some(at) = r.held.iter().rposition(|h| h.tag == tag.addr()) else {
            return Err(unheld(
                address,
                r,
                tag.addr(),
                "IoReleaseRemoveLock must name the Tag of an IoAcquireRemoveLock that succeeded \
                 and was not released yet",
            ));
        };
        r.held.remove(at);
        common(address).set(IO_COUNT, i32::try_from(count).unwrap_or(i32::MAX));
        Ok((count == 0).then_some(address))
    });
    if let Some(address) = last {
        signal(address);
    }
}

/// `VOID IoReleaseRemoveLockAndWaitEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG
/// RemlockSize)`: sets `Removed` (every later acquisition gets `STATUS_DELETE_PENDING`),
/// releases the initial count and the caller's acquisition with `Tag`, and waits until every
/// other acquisition is released. PASSIVE_LEVEL.
///
/// # Safety
/// Called by driver code: `lock` is an initialised remove lock (checked against the table).
pub unsafe extern "win64" fn io_release_remove_lock_and_wait_ex(
    lock: *mut c_void,
    tag: *mut c_void,
    size: u32,
) {
    let call = verifier::enter("IoReleaseRemoveLockAndWaitEx");
    call.at_most(PASSIVE_LEVEL);
    let (address, others) = with_lock(&call, lock, size, |address, r| {
        if let Some(by) = r.removed {
            return Err(format!(
                "the remove lock {address:#x} was already released and waited for (from {}): \
                 IoReleaseRemoveLockAndWait is called once, for the removal",
                Where(by)
            ));
        }
        let Some(at) = r.held.iter().rposition(|h| h.tag == tag.addr()) else {
            return Err(unheld(
                address,
                r,
                tag.addr(),
                "the caller must hold the lock (IoAcquireRemoveLock with this Tag) before \
                 IoReleaseRemoveLockAndWait",
            ));
        };
        r.held.remove(at);
        r.removed = Some(call.caller);
        let others = r.count();
        let c = common(address);
        c.set(REMOVED, 1u8);
        c.set(IO_COUNT, i32::try_from(others).unwrap_or(i32::MAX));
        Ok((address, others))
    });
    if others == 0 {
        return;
    }
    let wait = Wait {
        objects: alloc::vec![address.wrapping_add(REMOVE_EVENT)],
        all: false,
        deadline: None,
        blocks: 0,
        routine: call.routine,
        caller: call.caller,
        seq: 0,
    };
    let _satisfied = objects::wait(wait, false);
}

/// The acquisitions still held on locks that image `index` initialised or acquired:
/// `(lock, acquirer)`.
pub fn outstanding(index: usize) -> Vec<(usize, u64)> {
    let of = |a: u64| loader::containing(a) == Some(index);
    LOCKS
        .lock()
        .iter()
        .flat_map(|(&a, r)| {
            let mine = of(r.by);
            r.held
                .iter()
                .filter(move |h| mine || of(h.caller))
                .map(move |h| (a, h.caller))
        })
        .collect()
}

/// Every acquisition still held, by anyone: `(lock, acquisition)`.
pub fn all_outstanding() -> Vec<(usize, Hold)> {
    LOCKS
        .lock()
        .iter()
        .flat_map(|(&a, r)| r.held.iter().map(move |&h| (a, h)))
        .collect()
}

/// The acquisitions the lock at `address` holds, oldest first, and whether it was
/// released-and-waited; `None` if `IoInitializeRemoveLockEx` never initialised it.
pub fn state(address: usize) -> Option<(Vec<Hold>, bool)> {
    LOCKS
        .lock()
        .get(&address)
        .map(|r| (r.held.clone(), r.removed.is_some()))
}
