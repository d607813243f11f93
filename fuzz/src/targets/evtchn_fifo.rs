// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `evtchn_fifo`: the FIFO event array walk (`xenbus::evtchn::fifo`, reached through the
//! `fuzzing` feature's `FifoSeam`) against a Xen (the fuzzer) that writes the control blocks
//! and event words, well-formed or not.
//!
//! Invariants:
//! * growth: `port_enable(p)` covers `p` (the limit is the next multiple of 1024 above it) and
//!   never shrinks, refuses ports at or above `EVTCHN_FIFO_NR_CHANNELS`, keeps the limit when
//!   Xen refuses a page, and every new word starts `MASKED`;
//! * any walk: every port reported is non-zero, inside the array, and was `PENDING` and not
//!   `MASKED` when reported; a walk reports at most `limit + 16` ports and takes at most that
//!   many steps, whatever cycles or wild links Xen wrote;
//! * a well-formed set of queues (Xen's own shape: distinct linked ports, heads set, ready
//!   bits set) is drained completely in one walk: queues lowest first, each in link order,
//!   exactly the pending unmasked words, every word of every queue unlinked, `ready` 0 and
//!   every cached head 0 afterwards;
//! * ack/mask/unmask change exactly their bit (unmask of a `BUSY` word falls back to
//!   `EVTCHNOP_unmask` and changes nothing); ports outside the array are ignored;
//! * release frees every page (no leak).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use xen_headers::event_channel::EVTCHN_FIFO_NR_CHANNELS;
use xenbus::evtchn::EvtchnError;
use xenbus::evtchn::fifo::seam::FifoSeam;

use crate::input::{Reader, Writer};
use crate::platform::FuzzPlatform;
use crate::xen::FuzzXen;

const PENDING: u32 = 1 << 31;
const MASKED: u32 = 1 << 30;
const LINKED: u32 = 1 << 29;
const BUSY: u32 = 1 << 28;
const LINK: u32 = (1 << 17) - 1;

type Seam = FifoSeam<FuzzPlatform, FuzzXen>;

fn port(r: &mut Reader<'_>, limit: u32) -> u32 {
    match r.below(8) {
        0 => r.u32(),
        1 => r.u32() & LINK,
        _ => u32::from(r.u16()) % limit.max(1),
    }
}

fn checked_walk(seam: &Seam, cpu: u32) -> Vec<u32> {
    let limit = seam.port_limit();
    let mut seen = Vec::new();
    seam.poll(cpu, &mut |p| {
        assert!(
            p != 0 && p < limit,
            "reported port {p} outside the array (limit {limit})"
        );
        let word = seam.word(p).expect("inside the array");
        assert!(
            word & PENDING != 0 && word & MASKED == 0,
            "reported port {p} with word {word:#x}"
        );
        seen.push(p);
        assert!(
            seen.len() as u64 <= u64::from(limit) + 16,
            "the walk does not end"
        );
        p % 2 == 0
    });
    seen
}

fn well_formed(r: &mut Reader<'_>, seam: &Seam, cpu: u32) {
    let limit = seam.port_limit();
    if limit < 2 || !seam.is_processor_enabled(cpu) {
        return;
    }
    // Drain whatever a previous step left, so the queues start empty.
    seam.set_ready(cpu, 0);
    for q in 0..16 {
        seam.set_head(cpu, q, 0);
    }
    checked_walk(seam, cpu);
    let mut used = std::collections::BTreeSet::new();
    let mut queues: Vec<(usize, Vec<u32>)> = Vec::new();
    for _ in 0..r.below(4) {
        let q = usize::from(r.below(16));
        // A queue the guest is part-way through (a bounded walk stopped in it) continues from
        // its cached head, as it must: only queues the guest has finished are rebuilt.
        if queues.iter().any(|(x, _)| *x == q) || seam.cached_head(cpu, q) != Some(0) {
            continue;
        }
        let mut list = Vec::new();
        for _ in 0..r.below(12) {
            let p = 1 + u32::from(r.u16()) % (limit - 1);
            if used.insert(p) {
                list.push(p);
            }
        }
        if list.is_empty() {
            continue;
        }
        for (i, &p) in list.iter().enumerate() {
            let next = list.get(i + 1).copied().unwrap_or(0);
            let flags = match r.below(4) {
                0 => MASKED | PENDING,
                1 => 0,
                _ => PENDING,
            };
            seam.set_word(p, flags | LINKED | next);
        }
        seam.set_head(cpu, q, list[0]);
        seam.set_ready(cpu, seam.ready(cpu).expect("a block") | 1 << q);
        queues.push((q, list));
    }
    queues.sort_by_key(|(q, _)| *q);
    let expected: Vec<u32> = queues
        .iter()
        .flat_map(|(_, list)| list.iter().copied())
        .filter(|&p| {
            seam.word(p)
                .is_some_and(|w| w & PENDING != 0 && w & MASKED == 0)
        })
        .collect();
    let seen = checked_walk(seam, cpu);
    assert_eq!(seen, expected, "a well-formed set of queues");
    for (q, list) in &queues {
        assert_eq!(seam.cached_head(cpu, *q), Some(0));
        for &p in list {
            assert_eq!(
                seam.word(p).expect("listed") & (LINKED | LINK),
                0,
                "port {p} still linked"
            );
        }
    }
    assert_eq!(seam.ready(cpu), Some(0));
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut r = Reader::new(data);
    let cpus = 1 + u32::from(r.below(3));
    let platform = FuzzPlatform::new(cpus);
    let xen = Arc::new(FuzzXen::default());
    let seam = Seam::acquire(&platform, &xen).expect("acquire");
    assert_eq!(seam.port_limit(), 0);
    let mut ops = 0;
    while !r.is_empty() && ops < 96 {
        ops += 1;
        let limit = seam.port_limit();
        match r.below(10) {
            0 => {
                // The top of the array is 128 pages to allocate and mask: keep it rare.
                let p = match r.below(64) {
                    0 => r.u32(),
                    1 => EVTCHN_FIFO_NR_CHANNELS - 1 - u32::from(r.u8()),
                    _ => u32::from(r.u16() % 4096),
                };
                let fault = r.below(8) == 0;
                if fault {
                    *xen.expand_fault.lock().expect("lock") = Some(ntstatus::STATUS_NO_MEMORY);
                }
                let result = seam.port_enable(p);
                let needed = (p / 1024 + 1).saturating_mul(1024);
                if p >= EVTCHN_FIFO_NR_CHANNELS {
                    assert_eq!(result, Err(EvtchnError::InvalidParameter));
                    assert_eq!(seam.port_limit(), limit);
                } else if fault && needed > limit {
                    assert_eq!(result, Err(EvtchnError::Xen(ntstatus::STATUS_NO_MEMORY)));
                    assert_eq!(seam.port_limit(), limit);
                } else {
                    assert_eq!(result, Ok(()));
                    assert_eq!(seam.port_limit(), limit.max(needed));
                    for new in (limit..seam.port_limit()).step_by(97) {
                        assert_eq!(seam.word(new), Some(MASKED), "a new word not masked");
                    }
                }
                *xen.expand_fault.lock().expect("lock") = None;
            }
            1 | 2 => {
                // Xen writes a word.
                let p = port(&mut r, limit);
                let value = match r.below(4) {
                    0 => r.u32(),
                    1 => PENDING | LINKED | (r.u32() & LINK),
                    2 => PENDING | LINKED | (u32::from(r.u16()) % limit.max(1)),
                    _ => PENDING | (r.u32() & (MASKED | BUSY)),
                };
                assert_eq!(seam.set_word(p, value), p < limit);
            }
            3 => {
                let cpu = u32::from(r.below(4));
                let q = usize::from(r.below(18));
                let head = port(&mut r, limit);
                let set = seam.set_head(cpu, q, head);
                assert_eq!(set, cpu < cpus && q < 16);
                if r.bool() {
                    seam.set_ready(cpu, if r.bool() { r.u32() } else { 1 << (q % 16) });
                }
            }
            4 | 5 => {
                let cpu = u32::from(r.below(4));
                let seen = checked_walk(&seam, cpu);
                if cpu >= cpus {
                    assert!(seen.is_empty());
                }
            }
            6 => {
                let cpu = u32::from(r.below(3)) % cpus;
                well_formed(&mut r, &seam, cpu);
            }
            _ => {
                let p = port(&mut r, limit);
                let before = seam.word(p);
                let unmasks = xen.unmasks.load(Ordering::Relaxed);
                match r.below(3) {
                    0 => {
                        seam.port_ack(p);
                        assert_eq!(seam.word(p), before.map(|w| w & !PENDING));
                    }
                    1 => {
                        seam.port_mask(p);
                        assert_eq!(seam.word(p), before.map(|w| w | MASKED));
                    }
                    _ => {
                        // A BUSY word spins 65536 times before the hypercall: keep that rare.
                        if before.is_some_and(|w| w & BUSY != 0) && r.below(16) != 0 {
                            continue;
                        }
                        let pending = seam.port_unmask(p);
                        match before {
                            None => assert!(!pending),
                            Some(w) if w & BUSY != 0 => {
                                assert!(!pending);
                                assert_eq!(seam.word(p), Some(w));
                                assert_eq!(xen.unmasks.load(Ordering::Relaxed), unmasks + 1);
                            }
                            Some(w) => {
                                assert_eq!(seam.word(p), Some(w & !MASKED));
                                assert_eq!(pending, w & PENDING != 0);
                            }
                        }
                    }
                }
            }
        }
    }
    seam.release();
    assert_eq!(platform.pages_outstanding(), 0, "pages leaked");
}

/// Seeds: the unit tests' queues (link order, masked and idle words, a link outside the array,
/// a cycle) and a well-formed multi-queue drain; then the `peer-xen-*` seeds, one per FIFO
/// state real Xen 4.17 left in the recording guest's memory (`peer_xen_seeds`).
#[must_use]
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let enable = |w: &mut Writer, p: u16| {
        w.u8(0).u8(2).u16(p).u8(1);
    };
    let set_word = |w: &mut Writer, p: u16, value: u32| {
        w.u8(1).u8(2).u16(p).u8(0).u32(value);
    };
    let mut queue = Writer::new();
    queue.u8(0);
    enable(&mut queue, 1023);
    set_word(&mut queue, 5, PENDING | LINKED | 9);
    set_word(&mut queue, 9, PENDING | LINKED | 3);
    set_word(&mut queue, 3, PENDING | LINKED);
    queue.u8(3).u8(0).u8(7).u8(2).u16(5).u8(1).u8(0).u8(4).u8(0);
    set_word(&mut queue, 6, PENDING | LINKED | MASKED | 7);
    set_word(&mut queue, 7, PENDING | LINKED | 4000);
    queue.u8(3).u8(0).u8(2).u8(2).u16(6).u8(1).u8(0).u8(4).u8(0);
    set_word(&mut queue, 11, PENDING | LINKED | 12);
    set_word(&mut queue, 12, PENDING | LINKED | 11);
    queue
        .u8(3)
        .u8(0)
        .u8(15)
        .u8(2)
        .u16(11)
        .u8(1)
        .u8(1)
        .u32(0xFFFF_FFFF)
        .u8(4)
        .u8(0)
        .u8(5)
        .u8(0);
    let mut drain = Writer::new();
    drain.u8(1);
    enable(&mut drain, 3000);
    drain.u8(6).u8(1).u8(3);
    for (q, ports) in [
        (7u8, [17u16, 2900, 4, 1000]),
        (0, [1, 2, 3, 6]),
        (15, [2047, 2048, 2049, 5]),
    ] {
        drain.u8(q).u8(4);
        for p in ports {
            drain.u16(p);
        }
        for _ in ports {
            drain.u8(2);
        }
    }
    let mut busy = Writer::new();
    busy.u8(0);
    enable(&mut busy, 10);
    set_word(&mut busy, 8, PENDING | MASKED);
    busy.u8(7).u8(2).u16(8).u8(2);
    busy.u8(7).u8(2).u16(8).u8(0);
    busy.u8(0).u8(0).u32(EVTCHN_FIFO_NR_CHANNELS).u8(1);
    busy.u8(0).u8(2).u16(2000).u8(0);
    let mut out = vec![
        ("queues", queue.finish()),
        ("drain", drain.finish()),
        ("ops", busy.finish()),
    ];
    out.extend(peer_xen_seeds());
    out
}

/// One seed per `fifo` state of the real-Xen transcripts (`evtchn_2l`'s `xen_states`): one
/// processor per vCPU that had a control block; the array grown to its first page (1024 ports,
/// as the kernel's one `EVTCHNOP_expand_array`); the recorded event words of ports 0 to 15
/// written as Xen left them (the rest of the page keeps the driver's `MASKED`, as the recorder
/// did not keep it); each control block's 16 heads and `ready` written as recorded; then each
/// processor walks its queues.
fn peer_xen_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let le = |bytes: &[u8], at: usize| {
        u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
    };
    let mut out = Vec::new();
    for state in super::evtchn_2l::xen_states("fifo") {
        let words = state.bytes("words").expect("words");
        let blocks: Vec<Vec<u8>> = (0..)
            .map_while(|v| state.bytes(&format!("control{v}")))
            .collect();
        assert!((1..=3).contains(&blocks.len()), "{}: vCPUs", state.seed);
        assert_eq!(words.len() % 4, 0, "{}", state.seed);
        let ports = (words.len() / 4) as u16;
        assert!((1..=1024).contains(&ports), "{}", state.seed);
        let mut w = Writer::new();
        w.u8(blocks.len() as u8 - 1);
        w.u8(0).u8(2).u16(ports - 1).u8(1);
        for port in 0..ports {
            w.u8(1)
                .u8(2)
                .u16(port)
                .u8(0)
                .u32(le(&words, usize::from(port) * 4));
        }
        for (cpu, block) in blocks.iter().enumerate() {
            assert_eq!(block.len(), 72, "{}", state.seed);
            assert_eq!(le(block, 4), 0, "{}: the reserved word", state.seed);
            for q in 0..16u8 {
                let head = le(block, 8 + usize::from(q) * 4);
                assert!(head < 1024, "{}: head {head}", state.seed);
                w.u8(3).u8(cpu as u8).u8(q).u8(2).u16(head as u16);
                if q == 15 {
                    w.u8(1).u8(1).u32(le(block, 0));
                } else {
                    w.u8(0);
                }
            }
        }
        for cpu in 0..blocks.len() as u8 {
            w.u8(4).u8(cpu);
        }
        out.push((state.seed, w.finish()));
    }
    out
}
