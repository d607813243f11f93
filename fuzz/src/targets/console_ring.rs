// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `console_ring`: the PV console ring (`xenbus::console::Console`) against a console backend
//! (the fuzzer) that writes the ring page's indices and bytes as it likes.
//!
//! Invariants (a byte-exact model of both rings):
//! * `read` copies exactly `min(len, in_prod - in_cons)` bytes, from the masked positions,
//!   advances `in_cons` by that much and notifies the backend iff it moved anything;
//! * `write` copies exactly `min(len, 2048 - (out_prod - out_cons))` bytes to the masked
//!   positions, advances `out_prod` by that much and notifies iff it moved anything;
//! * a ring whose `prod - cons` exceeds its size is corrupt: nothing moves, no index changes,
//!   nothing is written; `can_read`/`can_write` agree with the model;
//! * no call touches a byte of the page other than the ones the model names; disabled (not
//!   acquired, or the channel not re-opened after a resume) the console moves nothing;
//! * every event queues one DPC that signals every wakeup; releasing the last reference closes
//!   the channel and unmaps the page (nothing held afterwards).

use std::collections::BTreeMap;
use std::mem::offset_of;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use ntstatus::{NtStatus, STATUS_UNSUCCESSFUL};
use platform_port::{Deferred, Memory};
use xen_headers::hvm::params::HVM_PARAM_CONSOLE_EVTCHN;
use xen_headers::io::console::XenconsInterface;
use xenbus::console::{Console, ConsoleEvtchn, ConsoleGnttab};
use xenbus::store::WatchEvent;

use crate::input::{Reader, Writer};
use crate::platform::FuzzPlatform;
use crate::xen::FuzzXen;

const IN: usize = offset_of!(XenconsInterface, in_);
const OUT: usize = offset_of!(XenconsInterface, out);
const IN_CONS: usize = offset_of!(XenconsInterface, in_cons);
const IN_PROD: usize = offset_of!(XenconsInterface, in_prod);
const OUT_CONS: usize = offset_of!(XenconsInterface, out_cons);
const OUT_PROD: usize = offset_of!(XenconsInterface, out_prod);

type Handler = Arc<dyn Fn() + Send + Sync>;

#[derive(Default)]
struct Evtchn {
    references: AtomicI32,
    open: Mutex<BTreeMap<u32, Handler>>,
    sends: AtomicU32,
}

impl ConsoleEvtchn for Evtchn {
    type Channel = u32;
    fn acquire(&self) -> Result<(), NtStatus> {
        self.references.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn release(&self) {
        assert!(
            self.references.fetch_sub(1, Ordering::SeqCst) > 0,
            "EVTCHN released too often"
        );
    }
    fn open_fixed(&self, port: u32, callback: Handler) -> Result<u32, NtStatus> {
        assert!(
            self.references.load(Ordering::SeqCst) > 0,
            "open before acquire"
        );
        let previous = self.open.lock().expect("lock").insert(port, callback);
        assert!(previous.is_none(), "port {port} opened twice");
        Ok(port)
    }
    fn unmask(&self, _channel: &u32) {}
    fn send(&self, _channel: &u32) {
        self.sends.fetch_add(1, Ordering::SeqCst);
    }
    fn close(&self, channel: u32) {
        assert!(
            self.open.lock().expect("lock").remove(&channel).is_some(),
            "close of a closed port"
        );
    }
}

struct Gnttab {
    references: AtomicI32,
    frame: u64,
}

impl ConsoleGnttab for Gnttab {
    fn acquire(&self) -> Result<(), NtStatus> {
        self.references.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn release(&self) {
        assert!(
            self.references.fetch_sub(1, Ordering::SeqCst) > 0,
            "GNTTAB released too often"
        );
    }
    fn query_reference(&self, reference: u32) -> Result<u64, NtStatus> {
        if reference == 0 {
            Ok(self.frame)
        } else {
            Err(STATUS_UNSUCCESSFUL)
        }
    }
}

#[derive(Default)]
struct Counter(AtomicU32);

impl WatchEvent for Counter {
    fn signal(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// The page as plain bytes, to compare with what the console left.
fn page_bytes(base: *const u8) -> Vec<u8> {
    let mut out = vec![0u8; 4096];
    // SAFETY: `base` is the live 4 KiB page this run allocated; nothing writes it meanwhile.
    unsafe { std::ptr::copy_nonoverlapping(base, out.as_mut_ptr(), 4096) };
    out
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4"))
}

fn poke(base: *mut u8, at: usize, bytes: &[u8]) {
    for (i, &b) in bytes.iter().enumerate() {
        if at + i < 4096 {
            // SAFETY: inside the run's page; the console is not running meanwhile.
            unsafe { base.add(at + i).write_volatile(b) };
        }
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut r = Reader::new(data);
    let platform = FuzzPlatform::new(1);
    let pages = platform.alloc_pages(1).expect("a page");
    let base = pages.address.as_ptr();
    let xen = Arc::new(FuzzXen::default());
    let port = 1 + u32::from(r.u8());
    xen.params
        .lock()
        .expect("lock")
        .insert(HVM_PARAM_CONSOLE_EVTCHN, u64::from(port));
    let evtchn = Arc::new(Evtchn::default());
    let gnttab = Arc::new(Gnttab {
        references: AtomicI32::new(0),
        frame: pages.pfn,
    });
    let console = Console::new(
        platform.clone(),
        Arc::clone(&xen),
        Arc::clone(&evtchn),
        Arc::clone(&gnttab),
    );
    console.acquire().expect("acquire");
    let mut enabled = true;
    let mut port = port;
    let wakeup = Arc::new(Counter::default());
    let mut wakeups: Vec<Arc<xenbus::console::ConsoleWakeup>> = Vec::new();
    let mut ops = 0;
    while !r.is_empty() && ops < 128 {
        ops += 1;
        match r.below(10) {
            0 => {
                // The backend writes indices.
                let field = r.choose(&[IN_CONS, IN_PROD, OUT_CONS, OUT_PROD]);
                let value = match r.below(4) {
                    0 => r.u32(),
                    1 => u32_at(&page_bytes(base), field).wrapping_add(u32::from(r.u16())),
                    2 => u32_at(&page_bytes(base), field).wrapping_sub(u32::from(r.u16() % 64)),
                    _ => u32::MAX - u32::from(r.u8()),
                };
                poke(base, field, &value.to_le_bytes());
            }
            1 => {
                // The backend produces input: bytes into the in ring, then in_prod.
                let bytes = r.short_bytes(255);
                let before = page_bytes(base);
                let prod = u32_at(&before, IN_PROD);
                for (i, &b) in bytes.iter().enumerate() {
                    poke(
                        base,
                        IN + (prod.wrapping_add(i as u32) & 1023) as usize,
                        &[b],
                    );
                }
                poke(
                    base,
                    IN_PROD,
                    &prod.wrapping_add(bytes.len() as u32).to_le_bytes(),
                );
            }
            2 => {
                // The backend consumes output.
                let before = page_bytes(base);
                let cons = u32_at(&before, OUT_CONS).wrapping_add(u32::from(r.u16() % 2100));
                poke(base, OUT_CONS, &cons.to_le_bytes());
            }
            3 | 4 => {
                let len = usize::from(r.u16() % 1200);
                let before = page_bytes(base);
                let sends = evtchn.sends.load(Ordering::SeqCst);
                let (cons, prod) = (u32_at(&before, IN_CONS), u32_at(&before, IN_PROD));
                let available = prod.wrapping_sub(cons);
                let expect = if !enabled || available > 1024 {
                    0
                } else {
                    len.min(available as usize)
                };
                assert_eq!(
                    console.can_read(),
                    enabled_page(&console) && available <= 1024 && available != 0
                );
                let mut buf = vec![0u8; len];
                let n = console.read(&mut buf);
                assert_eq!(
                    n, expect,
                    "read of {len} with cons {cons:#x} prod {prod:#x}"
                );
                for (i, &b) in buf[..n].iter().enumerate() {
                    assert_eq!(
                        b,
                        before[IN + (cons.wrapping_add(i as u32) & 1023) as usize]
                    );
                }
                let mut after = page_bytes(base);
                assert_eq!(u32_at(&after, IN_CONS), cons.wrapping_add(n as u32));
                after[IN_CONS..IN_CONS + 4].copy_from_slice(&before[IN_CONS..IN_CONS + 4]);
                assert!(after == before, "read wrote the page");
                assert_eq!(
                    evtchn.sends.load(Ordering::SeqCst),
                    sends + u32::from(n != 0)
                );
            }
            5 | 6 => {
                let data = r.long_bytes(2300).to_vec();
                let before = page_bytes(base);
                let sends = evtchn.sends.load(Ordering::SeqCst);
                let (cons, prod) = (u32_at(&before, OUT_CONS), u32_at(&before, OUT_PROD));
                let used = prod.wrapping_sub(cons);
                let expect = if !enabled || used > 2048 {
                    0
                } else {
                    data.len().min((2048 - used) as usize)
                };
                assert_eq!(console.can_write(), enabled_page(&console) && used < 2048);
                let n = console.write(&data);
                assert_eq!(
                    n,
                    expect,
                    "write of {} with cons {cons:#x} prod {prod:#x}",
                    data.len()
                );
                let mut model = before.clone();
                for (i, &b) in data[..n].iter().enumerate() {
                    model[OUT + (prod.wrapping_add(i as u32) & 2047) as usize] = b;
                }
                model[OUT_PROD..OUT_PROD + 4]
                    .copy_from_slice(&prod.wrapping_add(n as u32).to_le_bytes());
                assert!(
                    page_bytes(base) == model,
                    "write left the page unlike the model"
                );
                assert_eq!(
                    evtchn.sends.load(Ordering::SeqCst),
                    sends + u32::from(n != 0)
                );
            }
            7 => {
                // An event from the backend, and the DPC.
                let before = wakeup.0.load(Ordering::SeqCst);
                let handler = evtchn.open.lock().expect("lock").get(&port).cloned();
                if let Some(handler) = handler {
                    handler();
                }
                platform.flush_dpcs();
                let signals = wakeup.0.load(Ordering::SeqCst) - before;
                assert!(signals as usize <= wakeups.len());
            }
            8 => {
                if r.bool() || wakeups.is_empty() {
                    wakeups.push(console.wakeup_add(wakeup.clone(), 0x1234).expect("wakeup"));
                } else {
                    let w = wakeups.remove(usize::from(r.u8()) % wakeups.len());
                    assert!(console.wakeup_remove(&w).is_ok());
                    assert!(console.wakeup_remove(&w).is_err());
                }
            }
            _ => {
                // A resume: the channel may be renumbered or gone.
                let new_port = match r.below(4) {
                    0 => None,
                    _ => Some(1 + u32::from(r.u8())),
                };
                match new_port {
                    Some(p) => {
                        xen.params
                            .lock()
                            .expect("lock")
                            .insert(HVM_PARAM_CONSOLE_EVTCHN, u64::from(p));
                    }
                    None => {
                        xen.params
                            .lock()
                            .expect("lock")
                            .remove(&HVM_PARAM_CONSOLE_EVTCHN);
                    }
                }
                console.suspend_late();
                enabled = new_port.is_some();
                if let Some(p) = new_port {
                    port = p;
                }
                let open: Vec<u32> = evtchn.open.lock().expect("lock").keys().copied().collect();
                assert_eq!(open, new_port.into_iter().collect::<Vec<_>>());
            }
        }
    }
    let mut out = String::new();
    console.debug_dump(&mut out, false).expect("dump");
    for w in &wakeups {
        console.wakeup_remove(w).expect("added");
    }
    console.release();
    platform.flush_dpcs();
    assert_eq!(console.references(), 0);
    assert!(
        evtchn.open.lock().expect("lock").is_empty(),
        "channel left open"
    );
    assert_eq!(evtchn.references.load(Ordering::SeqCst), 0);
    assert_eq!(gnttab.references.load(Ordering::SeqCst), 0);
    assert_eq!(platform.mappings_outstanding(), 0, "page left mapped");
    // SAFETY: allocated above; the console no longer maps it.
    unsafe { platform.free_pages(pages) };
}

/// Whether the console holds its page (it does from acquire to release).
fn enabled_page<P, S, E, G>(console: &Console<P, S, E, G>) -> bool
where
    P: platform_port::Platform,
    S: xen_services::XenServices + 'static,
    E: ConsoleEvtchn + 'static,
    G: ConsoleGnttab + 'static,
{
    console.references() != 0
}

/// Seeds: the unit tests' exchanges (a line out, input read in pieces, indices near the 2^32
/// wrap, a hostile consumer index).
#[must_use]
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut hello = Writer::new();
    hello
        .u8(7)
        .u8(5)
        .long_bytes(b"hello\r\n")
        .u8(1)
        .short_bytes(b"ls -l\n")
        .u8(3)
        .u16(4)
        .u8(3)
        .u16(16)
        .u8(8)
        .u8(1)
        .u8(7)
        .u8(2)
        .u16(7);
    let mut wrap = Writer::new();
    wrap.u8(1);
    for field in [2u8, 3] {
        wrap.u8(0).u8(field).u8(3).u8(99);
    }
    wrap.u8(5)
        .long_bytes(&[b'x'; 2100])
        .u8(2)
        .u16(1000)
        .u8(6)
        .long_bytes(&[b'y'; 1200]);
    let mut hostile = Writer::new();
    hostile
        .u8(1)
        .u8(0)
        .u8(2)
        .u8(0)
        .u32(5000)
        .u8(5)
        .long_bytes(b"lost?")
        .u8(0)
        .u8(1)
        .u8(0)
        .u32(2000)
        .u8(3)
        .u16(10)
        .u8(9)
        .u8(1)
        .u8(9)
        .u8(5)
        .long_bytes(b"after resume");
    vec![
        ("hello", hello.finish()),
        ("wrap", wrap.finish()),
        ("hostile", hostile.finish()),
    ]
}
