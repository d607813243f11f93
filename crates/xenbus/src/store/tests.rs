// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Store tests over a real ring page with an in-process peer: a small well-behaved responder
//! (fragmentation, matching, watches, transactions, suspend) and a hostile one that writes
//! arbitrary indices, lengths and bytes (errors only, never a panic, never a write outside the
//! client's part of the page, never an endless loop).
//!
//! Under the address sanitizer (nightly):
//! `RUSTFLAGS=-Zsanitizer=address CARGO_TARGET_DIR=/tmp/asan-target cargo +nightly test -p xenbus
//! --lib --target x86_64-unknown-linux-gnu store`.

// The peers juggle ring indices and random numbers with C-like casts on purpose, on a page the
// test allocates 4096-aligned; they run on the test's one thread.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_ptr_alignment,
    clippy::non_send_fields_in_send_ty
)]

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};
use std::cell::RefCell;
use std::rc::Rc;

use platform_port::std_impl::StdPlatform;

use super::ring::{EventChannel, RingTransport};
use super::wire::*;
use super::*;

const REQ_CONS: usize = 2048;
const REQ_PROD: usize = 2052;
const RSP_CONS: usize = 2056;
const RSP_PROD: usize = 2060;

#[repr(C, align(4096))]
struct Page([u8; 4096]);

/// The peer's raw view of the page (the test's stand-in for another domain).
#[derive(Clone, Copy)]
struct Raw(*mut u8);

impl Raw {
    fn get32(self, off: usize) -> u32 {
        // SAFETY: off + 4 <= 4096 in every caller; the page outlives the test.
        unsafe { self.0.wrapping_add(off).cast::<u32>().read_volatile() }
    }
    fn set32(self, off: usize, v: u32) {
        // SAFETY: as in get32.
        unsafe { self.0.wrapping_add(off).cast::<u32>().write_volatile(v) }
    }
    fn get8(self, off: usize) -> u8 {
        // SAFETY: off < 4096 in every caller.
        unsafe { self.0.wrapping_add(off).read_volatile() }
    }
    fn set8(self, off: usize, v: u8) {
        // SAFETY: off < 4096 in every caller.
        unsafe { self.0.wrapping_add(off).write_volatile(v) }
    }
}

fn new_page() -> (Box<Page>, Raw) {
    let mut page = Box::new(Page([0; 4096]));
    let raw = Raw(page.0.as_mut_ptr());
    (page, raw)
}

// ------------------------------------------------------------------ honest peer

#[derive(Default)]
struct Model {
    nodes: BTreeMap<Vec<u8>, Vec<u8>>,
    inbox: Vec<u8>,
    outbox: Vec<u8>,
    /// Bytes the peer moves per step (fragmentation).
    chunk: usize,
    conflict_next_commit: bool,
    requests: Vec<(u32, u32)>,
    watches: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Model {
    fn reply(&mut self, ty: u32, req_id: u32, tx_id: u32, payload: &[u8]) {
        let h = Header::new(ty, req_id, tx_id, u32::try_from(payload.len()).unwrap());
        self.outbox.extend_from_slice(&h.to_bytes());
        self.outbox.extend_from_slice(payload);
    }

    fn fire(&mut self, path: &[u8]) {
        let hits: Vec<(Vec<u8>, Vec<u8>)> = self
            .watches
            .iter()
            .filter(|(w, _)| path.starts_with(w))
            .cloned()
            .collect();
        for (_, token) in hits {
            let mut p = path.to_vec();
            p.push(0);
            p.extend_from_slice(&token);
            p.push(0);
            self.reply(XS_WATCH_EVENT, 0, 0, &p);
        }
    }

    fn handle(&mut self, h: Header, body: &[u8]) {
        self.requests.push((h.type_, h.tx_id));
        let mut parts = body.split(|&b| b == 0);
        let first = parts.next().unwrap_or_default().to_vec();
        match h.type_ {
            XS_READ => match self.nodes.get(&first).cloned() {
                Some(v) => self.reply(XS_READ, h.req_id, h.tx_id, &v),
                None => self.reply(XS_ERROR, h.req_id, h.tx_id, b"ENOENT\0"),
            },
            XS_WRITE => {
                let value = body[first.len() + 1..].to_vec();
                self.nodes.insert(first.clone(), value);
                self.reply(XS_WRITE, h.req_id, h.tx_id, b"OK\0");
                self.fire(&first);
            }
            XS_DIRECTORY if first == b"/huge" => {
                // As oxenstored does for a long list: a reply over XENSTORE_PAYLOAD_MAX.
                self.reply(XS_DIRECTORY, h.req_id, h.tx_id, &[b'n'; 6000]);
            }
            XS_DIRECTORY => {
                let mut out = Vec::new();
                for k in self.nodes.keys() {
                    if k.len() > first.len() + 1 && k.starts_with(&first) && k[first.len()] == b'/'
                    {
                        out.extend_from_slice(&k[first.len() + 1..]);
                        out.push(0);
                    }
                }
                self.reply(XS_DIRECTORY, h.req_id, h.tx_id, &out);
            }
            XS_WATCH => {
                let token = parts.next().unwrap_or_default().to_vec();
                self.watches.push((first.clone(), token));
                self.reply(XS_WATCH, h.req_id, 0, b"OK\0");
                self.fire(&first);
            }
            XS_UNWATCH => {
                let token = parts.next().unwrap_or_default().to_vec();
                let before = self.watches.len();
                self.watches.retain(|(p, t)| !(p == &first && t == &token));
                if self.watches.len() == before {
                    self.reply(XS_ERROR, h.req_id, 0, b"ENOENT\0");
                } else {
                    self.reply(XS_UNWATCH, h.req_id, 0, b"OK\0");
                }
            }
            XS_TRANSACTION_START => self.reply(XS_TRANSACTION_START, h.req_id, 0, b"42\0"),
            XS_TRANSACTION_END => {
                if std::mem::take(&mut self.conflict_next_commit) && body == b"T\0" {
                    self.reply(XS_ERROR, h.req_id, h.tx_id, b"EAGAIN\0");
                } else {
                    self.reply(XS_TRANSACTION_END, h.req_id, h.tx_id, b"OK\0");
                }
            }
            _ => self.reply(XS_ERROR, h.req_id, h.tx_id, b"ENOSYS\0"),
        }
    }

    /// One step of the peer: consume requests, produce replies, `chunk` bytes at a time.
    fn step(&mut self, raw: Raw) {
        let chunk = self.chunk.max(1);
        // Consume.
        let (cons, prod) = (raw.get32(REQ_CONS), raw.get32(REQ_PROD));
        let n = (prod.wrapping_sub(cons) as usize).min(chunk);
        for i in 0..n {
            let pos = (cons.wrapping_add(i as u32) & 1023) as usize;
            self.inbox.push(raw.get8(pos));
        }
        raw.set32(REQ_CONS, cons.wrapping_add(n as u32));
        while self.inbox.len() >= HEADER_LEN {
            let h = Header::from_bytes(self.inbox[..HEADER_LEN].try_into().unwrap());
            let total = HEADER_LEN + h.len as usize;
            if self.inbox.len() < total {
                break;
            }
            let body: Vec<u8> = self.inbox[HEADER_LEN..total].to_vec();
            self.inbox.drain(..total);
            self.handle(h, &body);
        }
        // Produce.
        let (cons, prod) = (raw.get32(RSP_CONS), raw.get32(RSP_PROD));
        let space = 1024 - prod.wrapping_sub(cons) as usize;
        let n = space.min(chunk).min(self.outbox.len());
        for (i, b) in self.outbox.drain(..n).enumerate() {
            let pos = 1024 + (prod.wrapping_add(i as u32) & 1023) as usize;
            raw.set8(pos, b);
        }
        raw.set32(RSP_PROD, prod.wrapping_add(n as u32));
    }
}

struct HonestEvtchn {
    raw: Raw,
    model: Rc<RefCell<Model>>,
    notifies: Rc<AtomicU32>,
}

impl EventChannel for HonestEvtchn {
    fn notify(&mut self) {
        self.notifies.fetch_add(1, Ordering::Relaxed);
    }
    fn wait(&mut self) -> Wait {
        self.model.borrow_mut().step(self.raw);
        Wait::Signalled
    }
}

// SAFETY: test only: the store and its peer live on the test's one thread; `Send` is needed only
// because `Store` is `Sync` when its transport is `Send`.
unsafe impl Send for HonestEvtchn {}

struct Counter(AtomicU32);

impl WatchEvent for Counter {
    fn signal(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counter() -> Arc<Counter> {
    Arc::new(Counter(AtomicU32::new(0)))
}

type HonestStore = Store<StdPlatform, RingTransport<HonestEvtchn>>;

fn honest(chunk: usize) -> (Box<Page>, HonestStore, Rc<RefCell<Model>>, Rc<AtomicU32>) {
    let (page, raw) = new_page();
    let model = Rc::new(RefCell::new(Model {
        chunk,
        ..Model::default()
    }));
    let notifies = Rc::new(AtomicU32::new(0));
    let evtchn = HonestEvtchn {
        raw,
        model: model.clone(),
        notifies: notifies.clone(),
    };
    // SAFETY: the page is 4096 bytes, 4096-aligned, and outlives the store (returned together,
    // dropped after it in every test).
    let transport = unsafe { RingTransport::new(NonNull::new(raw.0).unwrap(), evtchn) };
    let store = Store::new(
        StdPlatform::new(1),
        transport,
        StoreConfig {
            request_id_seed: 0xFFFE,
            watch_id_seed: 0xFFFF,
            limits: WaitLimits {
                max_timeouts: 3,
                max_waits: 100_000,
            },
        },
    );
    (page, store, model, notifies)
}

#[test]
fn write_then_read_through_the_ring_in_one_byte_pieces() {
    let (_page, store, _model, notifies) = honest(1);
    let long = vec![b'v'; 3000];
    store.write(None, Some(b"/a"), b"b", &long).unwrap();
    let value = store.read(None, None, b"/a/b").unwrap();
    assert_eq!(value.as_bytes(), &long[..]);
    assert_eq!(value.as_c_bytes().len(), long.len() + 2);
    assert!(value.as_c_bytes().ends_with(&[0, 0]));
    store.free(value);
    assert!(
        notifies.load(Ordering::Relaxed) > 0,
        "the peer was never kicked"
    );
    assert_eq!(store.outstanding(), Outstanding::default());
}

#[test]
fn request_ids_wrap_and_the_ring_indices_run_free() {
    let (_page, store, _model, _) = honest(700);
    for i in 0..40u32 {
        store
            .printf(None, None, b"/n", format_args!("{i}"))
            .unwrap();
        let v = store.read(None, None, b"/n").unwrap();
        assert_eq!(v.as_bytes(), alloc::format!("{i}").as_bytes());
        store.free(v);
    }
    let (_, _, _, rsp_prod) = store.with_transport(|t| t.indices());
    assert!(rsp_prod > 1024, "indices should have passed the ring size");
}

#[test]
fn read_of_a_missing_node_maps_enoent() {
    let (_page, store, _, _) = honest(64);
    let e = store.read(None, None, b"/nope").unwrap_err();
    assert_eq!(e, StoreError::Daemon(XsErrno::Enoent));
    assert_eq!(e.ntstatus(), status::OBJECT_NAME_NOT_FOUND);
}

#[test]
fn empty_directory_is_path_not_found() {
    let (_page, store, _, _) = honest(64);
    store.write(None, None, b"/d/x", b"1").unwrap();
    store.write(None, None, b"/d/y", b"2").unwrap();
    let list = store.directory(None, None, b"/d").unwrap();
    assert_eq!(list.entries().collect::<Vec<_>>(), [&b"x"[..], b"y"]);
    store.free(list);
    assert_eq!(
        store.directory(None, None, b"/d/x").unwrap_err().ntstatus(),
        status::OBJECT_PATH_NOT_FOUND
    );
}

#[test]
fn an_oversized_reply_fails_its_request_and_the_stream_stays_framed() {
    let (_page, store, _, _) = honest(300);
    store.write(None, None, b"/after", b"ok").unwrap();
    let e = store.directory(None, None, b"/huge").unwrap_err();
    assert_eq!(e, StoreError::ReplyTooLarge);
    assert_eq!(e.ntstatus(), status::UNSUCCESSFUL);
    let v = store.read(None, None, b"/after").unwrap();
    assert_eq!(v.as_bytes(), b"ok");
    store.free(v);
}

#[test]
fn printf_c_uses_the_msvc_engine_and_its_limit() {
    use kprintf::{Arg, SliceArgs};
    let (_page, store, model, _) = honest(256);
    let args = [Arg::Int(7), Arg::Int(0xABC)];
    store
        .printf_c(None, None, b"/p", b"%04u:%p", &mut SliceArgs::new(&args))
        .unwrap();
    assert_eq!(
        model.borrow().nodes.get(&b"/p"[..]).unwrap(),
        b"0007:0000000000000ABC"
    );
    let wide = [Arg::Int(1)];
    assert_eq!(
        store.printf_c(None, None, b"/p", b"%1024d", &mut SliceArgs::new(&wide)),
        Err(StoreError::InvalidBufferSize)
    );
    assert_eq!(
        store.printf_c(None, None, b"/p", b"%d %d", &mut SliceArgs::new(&wide)),
        Err(StoreError::InvalidParameter)
    );
    let text = "x".repeat(PRINTF_MAX);
    store
        .printf(None, None, b"/p", format_args!("{text}"))
        .unwrap();
    assert_eq!(
        store.printf(None, None, b"/p", format_args!("{text}y")),
        Err(StoreError::InvalidBufferSize)
    );
}

#[test]
fn watches_fire_on_add_and_on_change_and_stop_after_remove() {
    let (_page, store, _, _) = honest(128);
    let ev = counter();
    let w = store
        .watch_add(Some(b"/w"), b"x", ev.clone(), 0x1234)
        .unwrap();
    store.poll();
    assert_eq!(ev.0.load(Ordering::SeqCst), 1, "initial event");
    store.write(None, None, b"/w/x/child", b"1").unwrap();
    store.poll();
    assert_eq!(ev.0.load(Ordering::SeqCst), 2, "child event");
    store.watch_remove(w).unwrap();
    store.write(None, None, b"/w/x/child", b"2").unwrap();
    store.poll();
    assert_eq!(ev.0.load(Ordering::SeqCst), 2);
    assert_eq!(store.watch_remove(w), Err(StoreError::InvalidHandle));
}

/// Fuzz finding `store_ring-4-signals-for-2-events`: a peer that rewinds `rsp_cons` (the
/// guest's own index, but on the shared page) makes the guest read the same bytes again, events
/// included. The store cannot tell a replay from new events (neither can upstream's or Linux's
/// client): each replayed event signals again, the replayed replies match no request and are
/// dropped, and the store keeps working.
#[test]
fn store_ring_4_signals_for_2_events_a_rewound_rsp_cons_replays() {
    let (mut page, store, model, _) = honest(4096);
    let raw = Raw(core::ptr::addr_of_mut!(page.0).cast::<u8>());
    let ev = counter();
    let _w = store
        .watch_add(Some(b"/w"), b"x", ev.clone(), 0x1234)
        .unwrap();
    store.write(None, None, b"/w/x", b"1").unwrap();
    store.poll();
    assert_eq!(
        ev.0.load(Ordering::SeqCst),
        2,
        "the initial event and the write's"
    );
    let consumed = raw.get32(RSP_CONS);
    assert_eq!(consumed, raw.get32(RSP_PROD), "everything read");
    // Rewind: both events and both replies are read again.
    raw.set32(RSP_CONS, 0);
    store.poll();
    assert_eq!(
        ev.0.load(Ordering::SeqCst),
        4,
        "each replayed event signals again"
    );
    assert_eq!(raw.get32(RSP_CONS), consumed);
    model
        .borrow_mut()
        .nodes
        .insert(b"/w/y".to_vec(), b"v".to_vec());
    let value = store.read(None, Some(b"/w"), b"y").unwrap();
    assert_eq!(
        value.as_bytes(),
        b"v",
        "the replayed replies matched no request"
    );
    store.free(value);
}

#[test]
fn conflicting_commit_is_retry_and_frees_the_transaction() {
    let (_page, store, model, _) = honest(128);
    let tx = store.transaction_start().unwrap();
    store.write(Some(tx), None, b"/t", b"1").unwrap();
    assert_eq!(model.borrow().requests.last(), Some(&(XS_WRITE, 42)));
    model.borrow_mut().conflict_next_commit = true;
    let e = store.transaction_end(tx, true).unwrap_err();
    assert_eq!(e.ntstatus(), status::RETRY);
    assert_eq!(store.outstanding().transactions, 0);
    assert_eq!(
        store.transaction_end(tx, true),
        Err(StoreError::InvalidHandle)
    );
}

#[test]
fn suspend_expires_watches_and_transactions() {
    let (_page, store, model, _) = honest(128);
    let ev = counter();
    let w = store.watch_add(None, b"/s", ev.clone(), 1).unwrap();
    store.poll();
    let tx = store.transaction_start().unwrap();
    assert_eq!(ev.0.load(Ordering::SeqCst), 1);

    store.suspend_early();
    store.resume(|_| {});
    assert_eq!(ev.0.load(Ordering::SeqCst), 2, "signalled once on resume");

    // An expired watch never fires again, even if the daemon still sends its token.
    store.write(None, None, b"/s/x", b"1").unwrap();
    store.poll();
    assert_eq!(ev.0.load(Ordering::SeqCst), 2);

    // Using the transaction fails locally; ending it is RETRY without a request.
    let sent = model.borrow().requests.len();
    assert_eq!(
        store.read(Some(tx), None, b"/s/x").unwrap_err().ntstatus(),
        status::UNSUCCESSFUL
    );
    assert_eq!(
        store.transaction_end(tx, true).unwrap_err().ntstatus(),
        status::RETRY
    );
    // Removing the expired watch sends nothing either.
    store.watch_remove(w).unwrap();
    assert_eq!(model.borrow().requests.len(), sent);
    assert_eq!(store.outstanding(), Outstanding::default());
}

#[test]
fn pipelined_reads_all_complete_in_order() {
    let (_page, store, model, _) = honest(4096);
    for i in 0..50 {
        store
            .write(
                None,
                None,
                alloc::format!("/m/{i}").as_bytes(),
                &[b'a' + (i % 26) as u8; 30],
            )
            .unwrap();
    }
    let keys: Vec<Vec<u8>> = (0..60)
        .map(|i| alloc::format!("/m/{i}").into_bytes())
        .collect();
    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    let before = model.borrow().requests.len();
    let results = store.read_many(&refs);
    assert_eq!(model.borrow().requests.len() - before, 60);
    for (i, r) in results.into_iter().enumerate() {
        if i < 50 {
            let b = r.unwrap();
            assert_eq!(b.as_bytes(), &[b'a' + (i % 26) as u8; 30]);
            store.free(b);
        } else {
            assert_eq!(r.unwrap_err(), StoreError::Daemon(XsErrno::Enoent));
        }
    }
}

#[test]
fn a_peer_that_never_answers_times_out() {
    struct Deaf;
    impl EventChannel for Deaf {
        fn notify(&mut self) {}
        fn wait(&mut self) -> Wait {
            Wait::TimedOut
        }
    }
    let (_page, raw) = new_page();
    // SAFETY: as in `honest`.
    let t = unsafe { RingTransport::new(NonNull::new(raw.0).unwrap(), Deaf) };
    let store = Store::new(
        StdPlatform::new(1),
        t,
        StoreConfig {
            limits: WaitLimits {
                max_timeouts: 2,
                max_waits: 10,
            },
            ..StoreConfig::default()
        },
    );
    assert_eq!(
        store.read(None, None, b"/x").unwrap_err(),
        StoreError::TimedOut
    );
    assert_eq!(store.stats().0.timeouts, 2);
    // The request left the queue: the next one is new, and times out too.
    assert_eq!(
        store.read(None, None, b"/y").unwrap_err().ntstatus(),
        status::IO_TIMEOUT
    );
}

#[test]
fn bad_permission_masks_are_invalid_parameter() {
    let (_page, store, model, _) = honest(128);
    let perms = [XenbusStorePermission { domain: 0, mask: 4 }];
    assert_eq!(
        store.permissions_set(None, None, b"/x", &perms),
        Err(StoreError::InvalidParameter)
    );
    assert!(model.borrow().requests.is_empty());
}

// ---------------------------------------------------------------- hostile peer

/// xorshift64*: small, deterministic, good enough to explore.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What the hostile peer last wrote into the parts of the page the client must never write.
struct Shadow {
    rsp: [u8; 1024],
    req_cons: u32,
    rsp_prod: u32,
    tail: [u8; 4096 - 2064],
}

struct HostileEvtchn {
    raw: Raw,
    rng: Rng,
    shadow: Rc<RefCell<Shadow>>,
}

// SAFETY: test only: single-threaded use, as for `HonestEvtchn`.
unsafe impl Send for HostileEvtchn {}

impl HostileEvtchn {
    fn check_and_act(&mut self) {
        let raw = self.raw;
        {
            let shadow = self.shadow.borrow();
            for (i, &b) in shadow.rsp.iter().enumerate() {
                assert_eq!(raw.get8(1024 + i), b, "client wrote into rsp[{i}]");
            }
            assert_eq!(
                raw.get32(REQ_CONS),
                shadow.req_cons,
                "client wrote req_cons"
            );
            assert_eq!(
                raw.get32(RSP_PROD),
                shadow.rsp_prod,
                "client wrote rsp_prod"
            );
            for (i, &b) in shadow.tail.iter().enumerate() {
                assert_eq!(raw.get8(2064 + i), b, "client wrote beyond the indices");
            }
        }
        let mut shadow = self.shadow.borrow_mut();
        match self.rng.below(8) {
            // Arbitrary indices.
            0 => {
                let v = self.rng.next() as u32;
                raw.set32(REQ_CONS, v);
                shadow.req_cons = v;
                let v = self.rng.next() as u32;
                raw.set32(RSP_PROD, v);
                shadow.rsp_prod = v;
            }
            // Plausible indices: consume everything, publish a little.
            1 | 2 => {
                let v = raw.get32(REQ_PROD);
                raw.set32(REQ_CONS, v);
                shadow.req_cons = v;
                let v = raw
                    .get32(RSP_CONS)
                    .wrapping_add(self.rng.below(1025) as u32);
                raw.set32(RSP_PROD, v);
                shadow.rsp_prod = v;
            }
            // A header with a random type, small req_id and any length.
            3 | 4 => {
                let len = match self.rng.below(4) {
                    0 => self.rng.next() as u32,
                    1 => 4096 + self.rng.below(8) as u32,
                    _ => self.rng.below(64) as u32,
                };
                let h = Header::new(self.rng.below(24) as u32, self.rng.below(8) as u32, 0, len);
                let base = raw.get32(RSP_CONS);
                for (i, b) in h.to_bytes().iter().enumerate() {
                    let pos = (base.wrapping_add(i as u32) & 1023) as usize;
                    raw.set8(1024 + pos, *b);
                    shadow.rsp[pos] = *b;
                }
                let v = base.wrapping_add(16 + self.rng.below(64) as u32);
                raw.set32(RSP_PROD, v);
                shadow.rsp_prod = v;
            }
            // Garbage bytes.
            5 => {
                for _ in 0..self.rng.below(200) {
                    let pos = self.rng.below(1024) as usize;
                    let b = self.rng.next() as u8;
                    raw.set8(1024 + pos, b);
                    shadow.rsp[pos] = b;
                }
            }
            // Garbage in the fields after the indices, which the client must ignore.
            6 => {
                let pos = self.rng.below(shadow.tail.len() as u64) as usize;
                let b = self.rng.next() as u8;
                raw.set8(2064 + pos, b);
                shadow.tail[pos] = b;
            }
            _ => {}
        }
    }
}

impl EventChannel for HostileEvtchn {
    fn notify(&mut self) {
        self.check_and_act();
    }
    fn wait(&mut self) -> Wait {
        self.check_and_act();
        if self.rng.below(3) == 0 {
            Wait::TimedOut
        } else {
            Wait::Signalled
        }
    }
}

#[test]
fn a_hostile_peer_only_ever_causes_errors() {
    let mut seen: BTreeMap<&'static str, u32> = BTreeMap::new();
    for seed in 1..=1000u64 {
        let (_page, raw) = new_page();
        let shadow = Rc::new(RefCell::new(Shadow {
            rsp: [0; 1024],
            req_cons: 0,
            rsp_prod: 0,
            tail: [0; 4096 - 2064],
        }));
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let evtchn = HostileEvtchn {
            raw,
            rng: Rng(rng.next() | 1),
            shadow: shadow.clone(),
        };
        // SAFETY: as in `honest`.
        let t = unsafe { RingTransport::new(NonNull::new(raw.0).unwrap(), evtchn) };
        let store = Store::new(
            StdPlatform::new(1),
            t,
            StoreConfig {
                request_id_seed: 0,
                watch_id_seed: 0,
                limits: WaitLimits {
                    max_timeouts: 3,
                    max_waits: 64,
                },
            },
        );
        let ev = counter();
        for step in 0..40 {
            let r: Result<(), StoreError> = match rng.below(9) {
                0 => store.read(None, None, b"/a").map(|b| store.free(b)),
                1 => store.write(None, None, b"/a", &vec![b'x'; rng.below(3000) as usize]),
                2 => store.directory(None, None, b"/").map(|b| store.free(b)),
                3 => store
                    .transaction_start()
                    .and_then(|tx| store.transaction_end(tx, rng.below(2) == 0)),
                4 => store
                    .watch_add(None, b"/w", ev.clone(), step)
                    .and_then(|w| store.watch_remove(w)),
                5 => {
                    store.poll();
                    Ok(())
                }
                6 => {
                    store.suspend_early();
                    store.resume(|_| {});
                    Ok(())
                }
                7 => store
                    .read_many(&[b"/a", b"/b", b"/c"])
                    .into_iter()
                    .try_for_each(|r| r.map(|b| store.free(b))),
                _ => store.remove(None, None, b"/a"),
            };
            let kind = match r {
                Ok(()) => "ok",
                Err(StoreError::Protocol) => "protocol",
                Err(StoreError::TimedOut) => "timeout",
                Err(StoreError::Daemon(_)) => "daemon",
                Err(_) => "other",
            };
            *seen.entry(kind).or_default() += 1;
        }
    }
    // Reaching here without a panic, a hang or a write outside the client's fields is the
    // property; the tally shows the peer reached the protocol checks and the timeouts.
    std::eprintln!("hostile peer outcomes: {seen:?}");
    assert!(seen.get("protocol").copied().unwrap_or(0) > 100, "{seen:?}");
    assert!(seen.get("timeout").copied().unwrap_or(0) > 10, "{seen:?}");
}

// ------------------------------------------------------------------ watchdog and debug dump

#[test]
fn watchdog_kicks_and_polls_a_ring_with_unconsumed_responses() {
    let (page, store, _model, notifies) = honest(4096);
    store
        .write(None, None, b"data/x", b"1")
        .expect("write through the honest peer");
    let mut dog = watchdog::Watchdog::new();
    // Everything produced was consumed: the first look (against zeros) sees both sides move.
    let first = store.with_transport(|t| t.ring_indices()).unwrap();
    assert!(!store.watchdog_check(&mut dog), "{first:?}");
    let before = notifies.load(Ordering::Relaxed);
    // The daemon "produces" 4 response bytes behind the client's back (a lost interrupt).
    let raw = store.with_transport(|t| t.ring_indices()).unwrap();
    let (page_raw, prod) = (
        Raw(page.0.as_ptr().cast_mut()),
        raw.rsp_prod.wrapping_add(4),
    );
    page_raw.set32(RSP_PROD, prod);
    assert!(store.watchdog_check(&mut dog));
    // The kick, then the poll's own notify after it consumed the 4 bytes.
    assert_eq!(notifies.load(Ordering::Relaxed), before + 2);
    // The poll consumed what was there (a partial header), so the next period is healthy.
    assert!(!store.watchdog_check(&mut dog));
}

#[test]
fn debug_dump_lists_ring_watches_and_transactions() {
    let (_page, store, _model, _notifies) = honest(4096);
    let watch = store
        .watch_add(None, b"data/w", counter(), 0x1234)
        .expect("watch");
    let tx = store.transaction_start().expect("transaction");
    let mut text = std::string::String::new();
    store.debug_dump(&mut text, false).unwrap();
    assert!(text.contains("RING: req_cons="), "{text}");
    assert!(text.contains("data/w (caller 0x1234) ACTIVE"), "{text}");
    assert!(text.contains("TRANSACTION 1:"), "{text}");
    store.suspend_early();
    let mut after = std::string::String::new();
    store.debug_dump(&mut after, false).unwrap();
    assert!(after.contains("data/w (caller 0x1234) EXPIRED"), "{after}");
    assert!(after.contains("SUSPENDS: 1"), "{after}");
    let mut crashing = std::string::String::new();
    store.debug_dump(&mut crashing, true).unwrap();
    assert!(
        !crashing.contains("RING:") && !crashing.contains("WATCH"),
        "crashing dumps touch neither the ring nor the lock: {crashing}"
    );
    assert!(crashing.contains("SUSPENDS: 1"), "{crashing}");
    assert!(store.transaction_end(tx, true).unwrap_err().is_retry());
    store.watch_remove(watch).unwrap();
}

#[test]
fn suspend_early_and_dumps_at_high_level_take_no_lock() {
    use platform_port::{Irql, IrqlLevel};
    let (_page, store, _model, _notifies) = honest(4096);
    let watch = store
        .watch_add(None, b"data/h", counter(), 0x1)
        .expect("watch");
    let cpu = StdPlatform::new(1);
    // The EARLY suspend callback and the DEBUG trigger run at HIGH_LEVEL, where the store's
    // DISPATCH_LEVEL lock must not be taken: hold it from "another processor" meanwhile.
    let held = store.inner.lock();
    let old = cpu.raise_irql(IrqlLevel::HIGH);
    store.suspend_early();
    let mut text = std::string::String::new();
    store.debug_dump(&mut text, false).unwrap();
    cpu.lower_irql(old);
    drop(held);
    assert!(text.contains("RING: req_cons="), "{text}");
    assert!(
        text.contains("SUSPENDS: 1") && !text.contains("WATCH"),
        "{text}"
    );
    store.watch_remove(watch).unwrap();
    assert_eq!(store.outstanding().watches, 0);
}
