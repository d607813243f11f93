// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Work items: `IoAllocateWorkItem`, `IoQueueWorkItem`, `IoFreeWorkItem`.
//!
//! An `IO_WORKITEM` is opaque to drivers; the stand-in's is a small zeroed block it records.
//! Queuing references the item's device object (as Windows does, so the device cannot go away
//! under the routine) and appends the item to one FIFO. Windows runs the routine in a system
//! worker thread at `PASSIVE_LEVEL`; the stand-in has no worker threads, so [`run_queued`] runs
//! the queue from the places where the kernel waits: the PnP manager's loop between IRPs and
//! its waits for a pending IRP ([`crate::nt::pnp::settle`]), and the scheduler's idle loop once
//! there is one. The routine is called with `(DeviceObject, Context)` at `PASSIVE_LEVEL` and
//! must return there; the device is dereferenced after it. An item may be freed (or queued
//! again) by its own routine.
//!
//! Checked: the IRQL (`DISPATCH_LEVEL` or below), an unknown or freed item, a deleted device,
//! queuing an item that is already queued, a routine that is not code, a queue type other than
//! `CriticalWorkQueue`, `DelayedWorkQueue` or `HyperCriticalWorkQueue`, freeing an item that is
//! still queued, and (at unload, [`outstanding`]) items a driver allocated and never freed.

use super::io::live_device;
use crate::nt::loader::Where;
use crate::nt::verifier::{self, Call, DISPATCH_LEVEL, PASSIVE_LEVEL};
use alloc::alloc::{Layout, alloc_zeroed};
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Bytes of the stand-in's `IO_WORKITEM` (Windows' is 0x58 on x64).
const ITEM_BYTES: usize = 0x60;
/// `HyperCriticalWorkQueue`, the largest queue a driver may name.
const MAX_QUEUE: i32 = 2;

#[derive(Debug, Clone, Copy)]
struct Item {
    device: usize,
    caller: u64,
    /// `(routine, context)` while queued.
    queued: Option<(usize, usize)>,
    freed: Option<u64>,
}

static ITEMS: spin::Mutex<BTreeMap<usize, Item>> = spin::Mutex::new(BTreeMap::new());
static QUEUE: spin::Mutex<VecDeque<usize>> = spin::Mutex::new(VecDeque::new());
/// Set while [`run_queued`] runs (a routine it runs must not start another run).
static RUNNING: AtomicBool = AtomicBool::new(false);
/// Routines run so far.
static RAN: AtomicU64 = AtomicU64::new(0);

/// The work-item routine: `VOID (PDEVICE_OBJECT, PVOID)` in the Microsoft x64 convention.
type Routine = unsafe extern "win64" fn(*mut c_void, *mut c_void);

fn live(call: &Call, item: *mut c_void) -> Item {
    call.require(!item.is_null(), format_args!("IoWorkItem is NULL"));
    let Some(i) = ITEMS.lock().get(&item.addr()).copied() else {
        call.fail(format_args!("{:#x} is not a work item", item.addr()));
    };
    if let Some(by) = i.freed {
        call.fail(format_args!(
            "the work item {:#x} was freed (from {})",
            item.addr(),
            Where(by)
        ));
    }
    i
}

/// `PIO_WORKITEM IoAllocateWorkItem(PDEVICE_OBJECT DeviceObject)`. <= DISPATCH_LEVEL.
pub extern "win64" fn io_allocate_work_item(device: *mut c_void) -> *mut c_void {
    let call = verifier::enter("IoAllocateWorkItem");
    call.at_most(DISPATCH_LEVEL);
    let _d = live_device(&call, device, "DeviceObject", false);
    let Ok(layout) = Layout::from_size_align(ITEM_BYTES, 16) else {
        return core::ptr::null_mut();
    };
    // SAFETY: a non-zero-size layout.
    let p = unsafe { alloc_zeroed(layout) };
    if p.is_null() {
        return p.cast();
    }
    ITEMS.lock().insert(
        p.addr(),
        Item {
            device: device.addr(),
            caller: call.caller,
            queued: None,
            freed: None,
        },
    );
    p.cast()
}

/// `VOID IoQueueWorkItem(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE WorkerRoutine,
/// WORK_QUEUE_TYPE QueueType, PVOID Context)`. <= DISPATCH_LEVEL.
pub extern "win64" fn io_queue_work_item(
    item: *mut c_void,
    routine: usize,
    queue: i32,
    context: *mut c_void,
) {
    let call = verifier::enter("IoQueueWorkItem");
    call.at_most(DISPATCH_LEVEL);
    let i = live(&call, item);
    call.require(
        i.queued.is_none(),
        format_args!("the work item {:#x} is already queued", item.addr()),
    );
    call.require(
        (0..=MAX_QUEUE).contains(&queue),
        format_args!("QueueType {queue} is not a WORK_QUEUE_TYPE a driver may use"),
    );
    call.require(
        crate::nt::is_driver_code(routine as u64),
        format_args!("WorkerRoutine {} is not code", Where(routine as u64)),
    );
    let _d = live_device(
        &call,
        core::ptr::with_exposed_provenance_mut(i.device),
        "the work item's device object",
        false,
    );
    let _ = super::io::reference_device(&call, i.device, 1);
    if let Some(r) = ITEMS.lock().get_mut(&item.addr()) {
        r.queued = Some((routine, context.addr()));
    }
    QUEUE.lock().push_back(item.addr());
}

/// `VOID IoFreeWorkItem(PIO_WORKITEM IoWorkItem)`. <= DISPATCH_LEVEL.
pub extern "win64" fn io_free_work_item(item: *mut c_void) {
    let call = verifier::enter("IoFreeWorkItem");
    call.at_most(DISPATCH_LEVEL);
    let i = live(&call, item);
    call.require(
        i.queued.is_none(),
        format_args!(
            "the work item {:#x} is freed while still queued",
            item.addr()
        ),
    );
    if let Some(r) = ITEMS.lock().get_mut(&item.addr()) {
        r.freed = Some(call.caller);
    }
    let p = item.cast::<u8>();
    // SAFETY: the item's block, which nothing may use after the free (never reused).
    unsafe { p.write_bytes(0xdf, ITEM_BYTES) };
}

/// Runs every queued work item's routine at `PASSIVE_LEVEL`, oldest first (also those queued
/// meanwhile); does nothing above `PASSIVE_LEVEL` or when called from a routine it runs.
/// Returns how many ran.
pub fn run_queued() -> usize {
    if verifier::irql() != PASSIVE_LEVEL || RUNNING.swap(true, Ordering::SeqCst) {
        return 0;
    }
    let mut ran = 0;
    loop {
        let Some(item) = QUEUE.lock().pop_front() else {
            break;
        };
        let Some((device, routine, context)) = ITEMS.lock().get_mut(&item).and_then(|i| {
            let (routine, context) = i.queued.take()?;
            Some((i.device, routine, context))
        }) else {
            continue;
        };
        // SAFETY: `routine` was checked to be code when the item was queued; work-item routines
        // take (DeviceObject, Context) in the Microsoft x64 convention.
        let f = unsafe { core::mem::transmute::<usize, Routine>(routine) };
        crate::nt::call_driver("work-item routine", || {
            // SAFETY: the device is referenced until the routine returned; the context is the
            // driver's.
            unsafe {
                f(
                    core::ptr::with_exposed_provenance_mut(device),
                    core::ptr::with_exposed_provenance_mut(context),
                );
            }
        });
        let kernel = Call {
            routine: "work-item completion",
            caller: routine as u64,
            irql: PASSIVE_LEVEL,
        };
        let _ = super::io::reference_device(&kernel, device, -1);
        ran += 1;
        RAN.fetch_add(1, Ordering::SeqCst);
    }
    RUNNING.store(false, Ordering::SeqCst);
    ran
}

/// Whether work is queued.
pub fn pending() -> bool {
    !QUEUE.lock().is_empty()
}

/// Routines run so far.
pub fn ran() -> u64 {
    RAN.load(Ordering::SeqCst)
}

/// The items allocated by code of image `index` and not freed: `(item, caller)`.
pub fn outstanding(index: usize) -> Vec<(usize, u64)> {
    ITEMS
        .lock()
        .iter()
        .filter(|(_, i)| {
            i.freed.is_none() && crate::nt::loader::containing(i.caller) == Some(index)
        })
        .map(|(&a, i)| (a, i.caller))
        .collect()
}

/// Every item not freed: `(item, caller)`.
pub fn all_outstanding() -> Vec<(usize, u64)> {
    ITEMS
        .lock()
        .iter()
        .filter(|(_, i)| i.freed.is_none())
        .map(|(&a, i)| (a, i.caller))
        .collect()
}
