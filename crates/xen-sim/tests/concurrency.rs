// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The delivery rule under concurrency: vCPU threads and a dom0 thread send at once, each
//! vCPU's handler follows the 2-level protocol (clear `evtchn_upcall_pending`, take the
//! selector, clear and count pending bits), and no event is left pending without an upcall,
//! nor does anything deadlock.

mod common;

use common::Guest;
use std::mem::offset_of;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering::SeqCst};
use xen::event_channel as evtchn;
use xen_headers::xen::{DOMID_SELF, SharedInfo, VcpuInfo};
use xen_sim::SimConfig;

/// Sends per sending thread.
const ROUNDS: usize = 2000;

/// The 2-level upcall handler of `vcpu` over the mapped `shared_info` at `si`; counts each
/// port it sees in `seen`.
fn handler(si: usize, vcpu: usize, seen: Arc<Vec<AtomicU64>>) -> Arc<dyn Fn() + Send + Sync> {
    Arc::new(move || {
        let at = |offset: usize| std::ptr::with_exposed_provenance_mut::<u8>(si + offset);
        let info = vcpu * size_of::<VcpuInfo>();
        // SAFETY: vCPU `vcpu`'s legacy vcpu_info in the mapped page, accessed atomically.
        let upcall = unsafe { AtomicU8::from_ptr(at(info)) };
        // SAFETY: as above, the selector word.
        let sel = unsafe {
            AtomicU64::from_ptr(at(info + offset_of!(VcpuInfo, evtchn_pending_sel)).cast())
        };
        upcall.store(0, SeqCst);
        let mut words = sel.swap(0, SeqCst);
        while words != 0 {
            let w = words.trailing_zeros() as usize;
            words &= words - 1;
            let pending = at(offset_of!(SharedInfo, evtchn_pending) + w * 8);
            let mask = at(offset_of!(SharedInfo, evtchn_mask) + w * 8);
            // SAFETY: the pending word `w`, accessed atomically.
            let pending = unsafe { AtomicU64::from_ptr(pending.cast()) };
            // SAFETY: the mask word `w`, accessed atomically.
            let mask = unsafe { AtomicU64::from_ptr(mask.cast()) };
            let mut bits = pending.load(SeqCst) & !mask.load(SeqCst);
            while bits != 0 {
                let b = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if pending.fetch_and(!(1 << b), SeqCst) & (1 << b) != 0
                    && let Some(count) = seen.get(w * 64 + b)
                {
                    count.fetch_add(1, SeqCst);
                }
            }
        }
    })
}

#[test]
fn concurrent_senders_leave_no_event_undelivered() {
    let g = Guest::new(SimConfig {
        vcpus: 2,
        ..SimConfig::default()
    });
    let si = g.sim.host_ptr(g.shared_info_gfn).unwrap().addr();
    let seen: Arc<Vec<AtomicU64>> = Arc::new((0..256).map(|_| AtomicU64::new(0)).collect());
    for v in 0..2 {
        g.sim
            .set_upcall_handler(v, handler(si, v as usize, Arc::clone(&seen)));
    }
    // Two loopback pairs, one delivered on each vCPU, and one channel from dom0.
    let pairs: Vec<(u32, u32)> = (0..2)
        .map(|v| {
            let a = evtchn::allocate_unbound(&g.hv, DOMID_SELF).unwrap();
            let b = evtchn::bind_inter_domain(&g.hv, DOMID_SELF, a).unwrap();
            evtchn::bind_virtual_cpu(&g.hv, b, v).unwrap();
            (a, b)
        })
        .collect();
    let dom0 = g.sim.dom0();
    let back = dom0.allocate_unbound().unwrap();
    let front = evtchn::bind_inter_domain(&g.hv, 0, back).unwrap();
    evtchn::bind_virtual_cpu(&g.hv, front, 1).unwrap();

    let mut threads = Vec::new();
    for (v, &(a, _)) in pairs.iter().enumerate() {
        let hv = g.sim.vcpu(u32::try_from(v).unwrap());
        threads.push(std::thread::spawn(move || {
            for _ in 0..ROUNDS {
                evtchn::send(&hv, a).unwrap();
            }
        }));
    }
    threads.push(std::thread::spawn(move || {
        for _ in 0..ROUNDS {
            dom0.send(back).unwrap();
        }
    }));
    for t in threads {
        t.join().unwrap();
    }
    // Every port ended up seen, and nothing is left pending.
    for port in [pairs[0].1, pairs[1].1, front] {
        assert!(
            seen[port as usize].load(SeqCst) > 0,
            "port {port} never seen"
        );
        assert!(!g.pending(port), "port {port} left pending");
    }
    assert!(!g.upcall_pending(0) && !g.upcall_pending(1));
    // Coalescing: at most one handler pass per send, at least one per vCPU.
    let upcalls = g.sim.upcalls(0) + g.sim.upcalls(1);
    assert!(
        upcalls >= 2 && upcalls <= 3 * ROUNDS as u64 + 10,
        "{upcalls} upcalls"
    );
}
