// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! FIFO linking against a concurrent consumer: sender threads raise events on three queues
//! while the upcall handler consumes them as a guest does (Linux's `consume_one_event`:
//! take `ready`, walk each queue from its head, unlink with a compare-exchange, handle pending
//! unmasked events). Xen's side links behind the tail or restarts the queue at its head; no
//! event may be left pending without being seen.

mod common;

use common::{Guest, word32};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use xen::event_channel as evtchn;
use xen_headers::event_channel::{
    EVTCHN_FIFO_LINK_MASK, EVTCHN_FIFO_LINKED, EVTCHN_FIFO_MASKED, EVTCHN_FIFO_PENDING,
};
use xen_headers::xen::DOMID_SELF;
use xen_sim::SimConfig;

/// Sends per sending thread.
const ROUNDS: usize = 2000;

/// The guest's FIFO consumer state for vCPU 0.
struct Consumer {
    control: usize,
    array: usize,
    /// Per queue: where the guest's walk continues (`q->head` in Linux).
    heads: Mutex<[u32; 16]>,
    seen: Vec<AtomicU64>,
}

impl Consumer {
    const fn word(&self, port: u32) -> &'static AtomicU32 {
        word32(
            std::ptr::with_exposed_provenance_mut(self.array),
            port as usize,
        )
    }

    const fn control(&self, index: usize) -> &'static AtomicU32 {
        word32(std::ptr::with_exposed_provenance_mut(self.control), index)
    }

    /// `clear_linked`: unlink, returning the next port.
    fn clear_linked(&self, port: u32) -> u32 {
        let word = self.word(port);
        let mut w = word.load(SeqCst);
        loop {
            let new = w & !((1 << EVTCHN_FIFO_LINKED) | EVTCHN_FIFO_LINK_MASK);
            match word.compare_exchange(w, new, SeqCst, SeqCst) {
                Ok(old) => return old & EVTCHN_FIFO_LINK_MASK,
                Err(seen) => w = seen,
            }
        }
    }

    fn handle(&self) {
        // The handler is never re-entered for a vCPU (the delivery rule), so the walk state
        // can be taken and put back.
        let mut heads = *self.heads.lock().unwrap();
        let mut ready = self.control(0).swap(0, SeqCst);
        while ready != 0 {
            let q = ready.trailing_zeros() as usize;
            let mut head = heads[q];
            if head == 0 {
                head = self.control(2 + q).load(SeqCst);
            }
            let port = head;
            let next = self.clear_linked(port);
            if next == 0 {
                ready &= !(1 << q);
            }
            let w = self.word(port).load(SeqCst);
            if w & (1 << EVTCHN_FIFO_PENDING) != 0 && w & (1 << EVTCHN_FIFO_MASKED) == 0 {
                self.word(port)
                    .fetch_and(!(1 << EVTCHN_FIFO_PENDING), SeqCst);
                self.seen[port as usize].fetch_add(1, SeqCst);
            }
            heads[q] = next;
            if ready == 0 {
                ready |= self.control(0).swap(0, SeqCst);
            }
        }
        *self.heads.lock().unwrap() = heads;
    }
}

#[test]
fn concurrent_fifo_events_are_all_consumed() {
    let g = Guest::new(SimConfig::default());
    let (control_gfn, control) = g.sim.allocate(1);
    let (array_gfn, array) = g.sim.allocate(1);
    // SAFETY: pages dedicated to Xen's FIFO structures, touched only atomically.
    unsafe { evtchn::init_control(&g.hv, control_gfn, 0) }.unwrap();
    // SAFETY: as above.
    unsafe { evtchn::expand_array(&g.hv, array_gfn) }.unwrap();
    let consumer = Arc::new(Consumer {
        control: control.addr(),
        array: array.addr(),
        heads: Mutex::new([0; 16]),
        seen: (0..1024).map(|_| AtomicU64::new(0)).collect(),
    });
    let c = Arc::clone(&consumer);
    let upcall = g.sim.shared_info_ptr().addr();
    g.sim.set_upcall_handler(
        0,
        Arc::new(move || {
            // SAFETY: vCPU 0's evtchn_upcall_pending in the shared_info page.
            unsafe {
                std::sync::atomic::AtomicU8::from_ptr(std::ptr::with_exposed_provenance_mut(upcall))
            }
            .store(0, SeqCst);
            c.handle();
        }),
    );
    // Drain what the FIFO switch left (the toolstack ports are quiet).
    consumer.handle();
    let pairs: Vec<(u32, u32)> = [2_u32, 7, 12]
        .iter()
        .map(|&priority| {
            let a = evtchn::allocate_unbound(&g.hv, DOMID_SELF).unwrap();
            let b = evtchn::bind_inter_domain(&g.hv, DOMID_SELF, a).unwrap();
            evtchn::set_priority(&g.hv, b, priority).unwrap();
            (a, b)
        })
        .collect();
    let threads: Vec<_> = pairs
        .iter()
        .map(|&(a, _)| {
            let hv = g.sim.vcpu(0);
            std::thread::spawn(move || {
                for _ in 0..ROUNDS {
                    evtchn::send(&hv, a).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    consumer.handle();
    for &(_, b) in &pairs {
        let w = consumer.word(b).load(SeqCst);
        assert!(
            consumer.seen[b as usize].load(SeqCst) > 0,
            "port {b} never seen"
        );
        assert_eq!(
            w & (1 << EVTCHN_FIFO_PENDING),
            0,
            "port {b} left pending: {w:#x}"
        );
        assert_eq!(
            w & (1 << EVTCHN_FIFO_LINKED),
            0,
            "port {b} left linked: {w:#x}"
        );
    }
}
