// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! CONSOLE scenarios: the ring against a backend, wakeups from the DPC, the LATE re-open with a
//! renumbered port, a hostile backend's indices, and every acquire failure leaving nothing open.

#![allow(clippy::unwrap_used, clippy::significant_drop_tightening)]

#[path = "support/fake_console.rs"]
mod fake_console;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use fake_console::{Backend, FakeEvtchn, FakeGnttab};
use ntstatus::{STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_PARAMETER, STATUS_UNSUCCESSFUL};
use platform_port::std_impl::StdPlatform;
use platform_port::{Deferred, LogLevel, Memory, Pages};
use xen_fake::FakeXen;
use xen_headers::hvm::params::HVM_PARAM_CONSOLE_EVTCHN;
use xenbus::console::{Console, ConsoleError};
use xenbus::store::WatchEvent;

type TestConsole = Console<StdPlatform, FakeXen, FakeEvtchn, FakeGnttab>;

struct Rig {
    p: StdPlatform,
    xen: Arc<FakeXen>,
    evtchn: Arc<FakeEvtchn>,
    gnttab: Arc<FakeGnttab>,
    console: Arc<TestConsole>,
    backend: Backend,
    pages: Pages,
}

fn rig() -> Rig {
    let p = StdPlatform::new(2);
    let pages = p.alloc_pages(1).unwrap();
    let xen = Arc::new(FakeXen::default());
    xen.set_param(HVM_PARAM_CONSOLE_EVTCHN, 7);
    let evtchn = Arc::new(FakeEvtchn::default());
    let gnttab = Arc::new(FakeGnttab::new(pages.pfn));
    let console = Console::new(
        p.clone(),
        Arc::clone(&xen),
        Arc::clone(&evtchn),
        Arc::clone(&gnttab),
    );
    Rig {
        backend: Backend {
            page: pages.address.as_ptr(),
        },
        p,
        xen,
        evtchn,
        gnttab,
        console,
        pages,
    }
}

impl Rig {
    fn assert_nothing_held(&self) {
        assert!(self.evtchn.open_ports().is_empty());
        assert_eq!(self.evtchn.references.load(Ordering::SeqCst), 0);
        assert_eq!(self.gnttab.references.load(Ordering::SeqCst), 0);
        assert_eq!(self.console.references(), 0);
    }
}

#[derive(Default)]
struct Counter(AtomicU32);

impl WatchEvent for Counter {
    fn signal(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn write_reaches_the_backend_and_notifies_it() {
    let r = rig();
    r.console.acquire().unwrap();
    assert_eq!(r.evtchn.open_ports(), [7]);
    assert_eq!(*r.evtchn.unmasks.lock().unwrap(), [7]);
    assert!(r.console.can_write());
    assert_eq!(r.console.write(b"hello\r\n"), 7);
    assert_eq!(r.backend.output(), b"hello\r\n");
    assert_eq!(*r.evtchn.sends.lock().unwrap(), [7]);
    // Nothing written: no event.
    assert_eq!(r.console.write(b""), 0);
    assert_eq!(r.evtchn.sends.lock().unwrap().len(), 1);
    r.console.release();
    r.assert_nothing_held();
}

#[test]
fn write_copies_only_what_fits_and_wraps_the_out_ring() {
    let r = rig();
    // Start near the 2^32 wrap of the free-running indices.
    r.backend.set(0, 0, u32::MAX - 99, u32::MAX - 99);
    r.console.acquire().unwrap();
    let data: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(r.console.write(&data), 2048);
    assert!(!r.console.can_write());
    assert_eq!(r.console.write(&data[2048..]), 0);
    assert_eq!(r.backend.output(), &data[..2048]);
    assert!(r.console.can_write());
    assert_eq!(r.console.write(&data[2048..]), 952);
    assert_eq!(r.backend.output(), &data[2048..]);
    r.console.release();
}

#[test]
fn read_returns_backend_input_and_notifies() {
    let r = rig();
    r.console.acquire().unwrap();
    assert!(!r.console.can_read());
    let mut buf = [0u8; 16];
    assert_eq!(r.console.read(&mut buf), 0);
    assert!(r.evtchn.sends.lock().unwrap().is_empty());
    assert_eq!(r.backend.input(b"ls -l\n"), 6);
    assert!(r.console.can_read());
    assert_eq!(r.console.read(&mut buf[..4]), 4);
    assert_eq!(&buf[..4], b"ls -");
    assert_eq!(r.console.read(&mut buf), 2);
    assert_eq!(&buf[..2], b"l\n");
    assert_eq!(r.evtchn.sends.lock().unwrap().len(), 2);
    let [in_cons, in_prod, ..] = r.backend.indices();
    assert_eq!((in_cons, in_prod), (6, 6));
    r.console.release();
}

#[test]
fn hostile_indices_move_nothing_and_lose_nothing() {
    let r = rig();
    r.console.acquire().unwrap();
    // The backend claims to have consumed output that was never produced.
    r.backend.set(0, 0, 5000, 0);
    assert!(!r.console.can_write());
    assert_eq!(r.console.write(b"keep me"), 0);
    // ... and to have produced more input than the ring holds.
    r.backend.set(0, 4096, 0, 0);
    assert!(!r.console.can_read());
    let mut buf = [0u8; 8];
    assert_eq!(r.console.read(&mut buf), 0);
    assert_eq!(r.backend.indices(), [0, 4096, 0, 0]);
    assert!(r.evtchn.sends.lock().unwrap().is_empty());
    let corrupt =
        r.p.log_lines()
            .iter()
            .filter(|(l, t)| *l == LogLevel::Error && t.contains("CORRUPT RING"))
            .count();
    assert_eq!(corrupt, 1, "logged once per enable");
    // A sane backend again: the caller's data goes through intact.
    r.backend.set(0, 0, 0, 0);
    assert_eq!(r.console.write(b"keep me"), 7);
    assert_eq!(r.backend.output(), b"keep me");
    r.console.release();
}

#[test]
fn events_set_every_wakeup_from_a_dpc() {
    let r = rig();
    r.console.acquire().unwrap();
    r.p.flush_dpcs();
    let (a, b) = (Arc::new(Counter::default()), Arc::new(Counter::default()));
    let wa = r.console.wakeup_add(a.clone(), 0x1234).unwrap();
    let wb = r.console.wakeup_add(b.clone(), 0x5678).unwrap();
    assert!(r.evtchn.fire(7));
    r.p.flush_dpcs();
    assert_eq!(a.0.load(Ordering::SeqCst), 1);
    assert_eq!(b.0.load(Ordering::SeqCst), 1);
    r.console.wakeup_remove(&wa).unwrap();
    assert_eq!(
        r.console.wakeup_remove(&wa),
        Err(ConsoleError::InvalidParameter)
    );
    assert!(r.evtchn.fire(7));
    r.p.flush_dpcs();
    assert_eq!(a.0.load(Ordering::SeqCst), 1);
    assert_eq!(b.0.load(Ordering::SeqCst), 2);
    let (events, dpcs) = r.console.counters();
    assert_eq!(events, 2);
    assert!(dpcs >= 2);
    let mut dump = String::new();
    r.console.debug_dump(&mut dump, false).unwrap();
    assert!(dump.contains("Events = 2"));
    assert!(dump.contains("WAKEUPS:\n- 0000000000005678\n"));
    r.console.wakeup_remove(&wb).unwrap();
    r.console.release();
}

#[test]
fn suspend_late_reopens_the_renumbered_channel() {
    let r = rig();
    r.console.acquire().unwrap();
    r.console.write(b"before");
    r.backend.output();
    // The new domain's console port.
    r.xen.set_param(HVM_PARAM_CONSOLE_EVTCHN, 11);
    r.console.suspend_late();
    assert_eq!(r.evtchn.open_ports(), [11]);
    assert_eq!(r.console.write(b"after"), 5);
    assert_eq!(r.backend.output(), b"after");
    assert_eq!(r.evtchn.sends.lock().unwrap().last(), Some(&11));
    r.console.release();
    r.assert_nothing_held();
}

#[test]
fn suspend_late_without_the_param_leaves_the_console_disabled() {
    let r = rig();
    r.console.acquire().unwrap();
    r.xen.clear_param(HVM_PARAM_CONSOLE_EVTCHN);
    r.console.suspend_late();
    assert!(r.evtchn.open_ports().is_empty());
    assert_eq!(r.console.write(b"x"), 0);
    r.console.release();
    r.assert_nothing_held();
}

#[test]
fn acquire_fails_without_the_console_param_and_holds_nothing() {
    let r = rig();
    r.xen.clear_param(HVM_PARAM_CONSOLE_EVTCHN);
    assert_eq!(
        r.console.acquire(),
        Err(ConsoleError::Dependency(STATUS_INVALID_PARAMETER))
    );
    r.assert_nothing_held();
    assert_eq!(r.console.write(b"x"), 0);
    assert!(!r.console.can_write());
    // Once the toolstack provides one, acquire works.
    r.xen.set_param(HVM_PARAM_CONSOLE_EVTCHN, 3);
    r.console.acquire().unwrap();
    assert_eq!(r.evtchn.open_ports(), [3]);
    r.console.release();
    r.assert_nothing_held();
}

#[test]
fn every_acquire_failure_undoes_what_was_done() {
    let r = rig();
    *r.gnttab.fail_acquire.lock().unwrap() = Some(STATUS_UNSUCCESSFUL);
    assert!(r.console.acquire().is_err());
    r.assert_nothing_held();

    *r.gnttab.console_frame.lock().unwrap() = Err(STATUS_INVALID_PARAMETER);
    assert!(r.console.acquire().is_err());
    r.assert_nothing_held();
    // A frame nobody mapped: the mapping fails.
    *r.gnttab.console_frame.lock().unwrap() = Ok(1);
    assert_eq!(r.console.acquire(), Err(ConsoleError::Map));
    r.assert_nothing_held();
    *r.gnttab.console_frame.lock().unwrap() = Ok(r.pages.pfn);

    *r.evtchn.fail_acquire.lock().unwrap() = Some(STATUS_INSUFFICIENT_RESOURCES);
    assert!(r.console.acquire().is_err());
    r.assert_nothing_held();

    *r.evtchn.fail_open.lock().unwrap() = Some(STATUS_INSUFFICIENT_RESOURCES);
    assert_eq!(
        r.console.acquire(),
        Err(ConsoleError::Dependency(STATUS_INSUFFICIENT_RESOURCES))
    );
    r.assert_nothing_held();

    r.console.acquire().unwrap();
    r.console.acquire().unwrap();
    r.console.release();
    assert_eq!(r.evtchn.open_ports(), [7]);
    r.console.release();
    r.assert_nothing_held();
}

#[test]
fn release_with_wakeups_outstanding_logs_an_error() {
    let r = rig();
    r.console.acquire().unwrap();
    let w = r
        .console
        .wakeup_add(Arc::new(Counter::default()), 0)
        .unwrap();
    r.console.release();
    assert!(
        r.p.log_lines()
            .iter()
            .any(|(l, t)| *l == LogLevel::Error && t.contains("OUTSTANDING WAKEUPS (1)"))
    );
    r.assert_nothing_held();
    r.console.wakeup_remove(&w).unwrap();
}

#[test]
fn concurrent_writers_never_interleave_within_a_write() {
    let r = rig();
    r.console.acquire().unwrap();
    let threads: Vec<_> = (0..4u8)
        .map(|t| {
            let console = Arc::clone(&r.console);
            std::thread::spawn(move || {
                for _ in 0..50 {
                    while console.write(&[b'a' + t; 8]) == 0 {}
                }
            })
        })
        .collect();
    let mut seen = Vec::new();
    while threads.iter().any(|t| !t.is_finished()) {
        seen.extend(r.backend.output());
    }
    for t in threads {
        t.join().unwrap();
    }
    seen.extend(r.backend.output());
    assert_eq!(seen.len(), 4 * 50 * 8);
    // Every write either went in whole or not at all, so letters come in runs of 8.
    for chunk in seen.chunks(8) {
        assert!(chunk.iter().all(|&c| c == chunk[0]), "{chunk:?}");
    }
    r.console.release();
}
