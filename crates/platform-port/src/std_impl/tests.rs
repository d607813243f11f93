// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use std::vec;

use super::*;
use crate::traits::{Dpc as _, PAGE_SIZE, Timer as _};
use crate::{IrqlLock, worker::Worker};

#[test]
fn lock_raises_to_its_level_and_restores() {
    let p = StdPlatform::new(1);
    let lock = IrqlLock::high(p.clone(), 5_u32);
    assert_eq!(p.current_irql(), IrqlLevel::PASSIVE);
    {
        let mut guard = lock.lock();
        assert_eq!(p.current_irql(), IrqlLevel::HIGH);
        *guard += 1;
        assert!(lock.try_lock().is_none());
        assert_eq!(p.current_irql(), IrqlLevel::HIGH);
    }
    assert_eq!(p.current_irql(), IrqlLevel::PASSIVE);
    assert_eq!(*lock.lock(), 6);
}

#[test]
fn dpc_runs_once_per_insert_at_dispatch_on_its_target() {
    let p = StdPlatform::new(4);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let theirs = Arc::clone(&seen);
    let q = p.clone();
    let gate = Arc::new(Mutex::new(()));
    let held = locked(&gate);
    let gate2 = Arc::clone(&gate);
    let dpc = p.new_dpc(
        Some(3),
        Arc::new(move || {
            drop(locked(&gate2));
            locked(&theirs).push((q.current_irql(), q.current_processor()));
        }),
    );
    assert!(dpc.insert());
    p.stall(20_000);
    // The first run is blocked on the gate; the second insert queues it again.
    assert!(dpc.insert());
    assert!(!dpc.insert());
    drop(held);
    p.flush_dpcs();
    assert_eq!(
        *locked(&seen),
        vec![(IrqlLevel::DISPATCH, 3), (IrqlLevel::DISPATCH, 3)]
    );
}

#[test]
fn untargeted_dpc_runs_on_the_inserting_processor() {
    let p = StdPlatform::new(2);
    let cpu = Arc::new(AtomicU32::new(99));
    let theirs = Arc::clone(&cpu);
    let q = p.clone();
    let dpc = p.new_dpc(
        None,
        Arc::new(move || theirs.store(q.current_processor(), Ordering::SeqCst)),
    );
    p.as_processor(1, || assert!(dpc.insert()));
    p.flush_dpcs();
    assert_eq!(cpu.load(Ordering::SeqCst), 1);
}

#[test]
fn periodic_timer_fires_until_cancelled() {
    let p = StdPlatform::new(1);
    let count = Arc::new(AtomicU32::new(0));
    let theirs = Arc::clone(&count);
    let timer = p.new_timer(Arc::new(move || {
        theirs.fetch_add(1, Ordering::SeqCst);
    }));
    timer.set(Duration::from_millis(1), Some(Duration::from_millis(2)));
    while count.load(Ordering::SeqCst) < 3 {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(timer.cancel());
    std::thread::sleep(Duration::from_millis(10));
    let after = count.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(count.load(Ordering::SeqCst), after);
    assert!(!timer.cancel());
}

#[test]
fn synchronization_event_resets_on_wait_notification_does_not() {
    let p = StdPlatform::new(1);
    let sync = p.new_event(EventKind::Synchronization);
    sync.set();
    assert!(sync.wait(Some(Duration::ZERO)));
    assert!(!sync.wait(Some(Duration::from_millis(1))));
    let note = p.new_event(EventKind::Notification);
    note.set();
    assert!(note.wait(None));
    assert!(note.is_set());
}

#[test]
fn worker_wakes_and_stops() {
    let p = StdPlatform::new(1);
    let wakes = Arc::new(AtomicU32::new(0));
    let theirs = Arc::clone(&wakes);
    let worker = Worker::start(&p, "test", move |ctx| {
        loop {
            ctx.wait(None);
            if ctx.alerted() {
                return;
            }
            theirs.fetch_add(1, Ordering::SeqCst);
        }
    })
    .unwrap();
    worker.wake();
    while wakes.load(Ordering::SeqCst) == 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    worker.stop();
    assert_eq!(wakes.load(Ordering::SeqCst), 1);
}

#[test]
fn pages_are_aligned_zeroed_and_mappable_by_frame() {
    let p = StdPlatform::new(1);
    let pages = p.alloc_pages(3).unwrap();
    assert_eq!(pages.address.as_ptr() as usize % PAGE_SIZE, 0);
    let second = pages.frame(1).unwrap();
    // SAFETY: the frame belongs to `pages`, which stay allocated below.
    let mapped = unsafe { p.map_physical(second, 2) }.unwrap();
    // SAFETY: `mapped` is page 1 of the allocation, 4096 bytes in.
    unsafe { mapped.as_ptr().write(7) };
    // SAFETY: byte 4096 of the 3-page allocation.
    let later_page = unsafe { pages.address.as_ptr().add(PAGE_SIZE) };
    // SAFETY: `later_page` is inside the live allocation.
    assert_eq!(unsafe { later_page.read() }, 7);
    // SAFETY: probing past the allocation must be refused, not mapped.
    let beyond = unsafe { p.map_physical(second, 3) };
    assert_eq!(beyond, Err(PortError::InvalidParameter));
    assert_eq!(pages.frame(3), None);
    assert_eq!(p.alloc_pages(0), Err(PortError::InvalidParameter));
    // SAFETY: allocated above, no longer used.
    unsafe { p.free_pages(pages) };
}

#[test]
fn registry_is_case_insensitive_and_lists_subkeys() {
    let p = StdPlatform::new(1);
    p.write_value(r"SYSTEM\Xen\Unplug", "DISKS", RegValue::Dword(2))
        .unwrap();
    assert_eq!(p.read_dword(r"system\xen\unplug", "disks"), Ok(2));
    p.create_key(r"SYSTEM\Xen\Reboot\xenbus", true).unwrap();
    assert_eq!(
        p.subkeys(r"SYSTEM\Xen").unwrap(),
        vec![String::from("Reboot"), String::from("Unplug")]
    );
    assert_eq!(
        p.registry().is_volatile(r"SYSTEM\Xen\Reboot\xenbus"),
        Some(true)
    );
    assert_eq!(p.registry().is_volatile(r"SYSTEM\Xen\Reboot"), Some(false));
    p.write_value(r"SYSTEM\Xen\Unplug", "NICS", RegValue::Sz("x".into()))
        .unwrap();
    assert_eq!(
        p.read_dword(r"SYSTEM\Xen\Unplug", "NICS"),
        Err(PortError::WrongType)
    );
    p.delete_value(r"SYSTEM\Xen\Unplug", "Disks").unwrap();
    assert_eq!(
        p.read_dword(r"SYSTEM\Xen\Unplug", "DISKS"),
        Err(PortError::NotFound)
    );
}

#[test]
fn port_io_reads_from_the_reader_and_records_writes() {
    let p = StdPlatform::new(1);
    assert_eq!(p.inw(0x10), 0xFFFF);
    p.set_port_reader(Arc::new(|port, width| u32::from(port) + u32::from(width)));
    assert_eq!(p.inb(0x10), 0x11);
    p.outw(0x10, 0x49d2);
    assert_eq!(
        p.port_writes(),
        vec![PortWrite {
            port: 0x10,
            width: 2,
            value: 0x49d2
        }]
    );
}

#[test]
fn log_records_levels() {
    let p = StdPlatform::new(1);
    crate::plog!(p, Warning, "x={}", 3);
    assert_eq!(
        p.log_lines(),
        vec![(LogLevel::Warning, String::from("x=3"))]
    );
}
