// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Fakes of the EVTCHN and GNTTAB services CONSOLE depends on, with reference and open-channel
//! counters for leak checks and injectable failures, plus a console backend over the ring page.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    clippy::significant_drop_in_scrutinee,
    clippy::significant_drop_tightening
)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::vec::Vec;

use ntstatus::NtStatus;
use xenbus::console::{ConsoleEvtchn, ConsoleGnttab};

type Handler = Arc<dyn Fn() + Send + Sync>;

/// A fake EVTCHN: ports open/closed, sends, unmasks.
#[derive(Default)]
pub struct FakeEvtchn {
    pub references: AtomicI32,
    pub open: Mutex<BTreeMap<u32, Handler>>,
    pub opened: Mutex<Vec<u32>>,
    pub sends: Mutex<Vec<u32>>,
    pub unmasks: Mutex<Vec<u32>>,
    pub fail_acquire: Mutex<Option<NtStatus>>,
    pub fail_open: Mutex<Option<NtStatus>>,
}

impl FakeEvtchn {
    /// Raises an event on `port` (runs its callback, as the upcall would).
    pub fn fire(&self, port: u32) -> bool {
        let handler = self.open.lock().unwrap().get(&port).cloned();
        handler.is_some_and(|h| {
            h();
            true
        })
    }

    /// Ports open now.
    pub fn open_ports(&self) -> Vec<u32> {
        self.open.lock().unwrap().keys().copied().collect()
    }
}

impl ConsoleEvtchn for FakeEvtchn {
    type Channel = u32;

    fn acquire(&self) -> Result<(), NtStatus> {
        if let Some(status) = self.fail_acquire.lock().unwrap().take() {
            return Err(status);
        }
        self.references.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn release(&self) {
        self.references.fetch_sub(1, Ordering::SeqCst);
    }
    fn open_fixed(&self, port: u32, callback: Handler) -> Result<u32, NtStatus> {
        assert!(
            self.references.load(Ordering::SeqCst) > 0,
            "open before acquire"
        );
        if let Some(status) = self.fail_open.lock().unwrap().take() {
            return Err(status);
        }
        let previous = self.open.lock().unwrap().insert(port, callback);
        assert!(previous.is_none(), "port {port} opened twice");
        self.opened.lock().unwrap().push(port);
        Ok(port)
    }
    fn unmask(&self, channel: &u32) {
        self.unmasks.lock().unwrap().push(*channel);
    }
    fn send(&self, channel: &u32) {
        self.sends.lock().unwrap().push(*channel);
    }
    fn close(&self, channel: u32) {
        assert!(self.open.lock().unwrap().remove(&channel).is_some());
    }
}

/// A fake GNTTAB that only knows the console reference.
pub struct FakeGnttab {
    pub references: AtomicI32,
    pub console_frame: Mutex<Result<u64, NtStatus>>,
    pub fail_acquire: Mutex<Option<NtStatus>>,
    pub queries: AtomicU32,
}

impl FakeGnttab {
    pub const fn new(frame: u64) -> Self {
        Self {
            references: AtomicI32::new(0),
            console_frame: Mutex::new(Ok(frame)),
            fail_acquire: Mutex::new(None),
            queries: AtomicU32::new(0),
        }
    }
}

impl ConsoleGnttab for FakeGnttab {
    fn acquire(&self) -> Result<(), NtStatus> {
        if let Some(status) = self.fail_acquire.lock().unwrap().take() {
            return Err(status);
        }
        self.references.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn release(&self) {
        self.references.fetch_sub(1, Ordering::SeqCst);
    }
    fn query_reference(&self, reference: u32) -> Result<u64, NtStatus> {
        assert_eq!(reference, 0);
        self.queries.fetch_add(1, Ordering::SeqCst);
        *self.console_frame.lock().unwrap()
    }
}

/// The backend's view of a `xencons_interface` page (volatile accesses only).
pub struct Backend {
    pub page: *mut u8,
}

// SAFETY: test-only; the page outlives the backend and accesses are volatile.
unsafe impl Send for Backend {}
// SAFETY: as above.
unsafe impl Sync for Backend {}

const IN_CONS: usize = 3072;
const IN_PROD: usize = 3076;
const OUT_CONS: usize = 3080;
const OUT_PROD: usize = 3084;

impl Backend {
    const fn word(&self, offset: usize) -> &std::sync::atomic::AtomicU32 {
        // SAFETY: an index field inside the test page.
        let word = unsafe { self.page.add(offset) };
        // SAFETY: the field is 4-byte aligned and the page outlives the backend.
        unsafe { std::sync::atomic::AtomicU32::from_ptr(word.cast()) }
    }

    fn byte(&self, offset: usize) -> *mut u8 {
        assert!(offset < 3072);
        // SAFETY: inside the test page's rings.
        unsafe { self.page.add(offset) }
    }

    pub fn indices(&self) -> [u32; 4] {
        [IN_CONS, IN_PROD, OUT_CONS, OUT_PROD].map(|o| self.word(o).load(Ordering::SeqCst))
    }

    pub fn set(&self, in_cons: u32, in_prod: u32, out_cons: u32, out_prod: u32) {
        for (o, v) in [
            (IN_CONS, in_cons),
            (IN_PROD, in_prod),
            (OUT_CONS, out_cons),
            (OUT_PROD, out_prod),
        ] {
            self.word(o).store(v, Ordering::SeqCst);
        }
    }

    /// Puts `data` into the `in` ring (as much as fits) and returns how much went in.
    pub fn input(&self, data: &[u8]) -> usize {
        let cons = self.word(IN_CONS).load(Ordering::SeqCst);
        let mut prod = self.word(IN_PROD).load(Ordering::SeqCst);
        let mut n = 0;
        for &b in data {
            if prod.wrapping_sub(cons) == 1024 {
                break;
            }
            let slot = self.byte((prod & 1023) as usize);
            // SAFETY: a byte of the in ring.
            unsafe { slot.write_volatile(b) };
            prod = prod.wrapping_add(1);
            n += 1;
        }
        self.word(IN_PROD).store(prod, Ordering::SeqCst);
        n
    }

    /// Consumes everything in the `out` ring.
    pub fn output(&self) -> Vec<u8> {
        let mut cons = self.word(OUT_CONS).load(Ordering::SeqCst);
        let prod = self.word(OUT_PROD).load(Ordering::SeqCst);
        let mut out = Vec::new();
        while cons != prod {
            let slot = self.byte(1024 + (cons & 2047) as usize);
            // SAFETY: a byte of the out ring.
            out.push(unsafe { slot.read_volatile() });
            cons = cons.wrapping_add(1);
        }
        self.word(OUT_CONS).store(cons, Ordering::SeqCst);
        out
    }
}
