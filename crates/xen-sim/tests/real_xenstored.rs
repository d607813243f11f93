// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Real peer: Debian's xenstored (C) and oxenstored (OCaml), run by `crates/xenstored-harness`,
//! serve the simulated guest's store ring. The guest finds the ring and channel through
//! `HVM_PARAM_STORE_PFN`/`HVM_PARAM_STORE_EVTCHN` as a driver does; the ring frame is the
//! daemon's ring file ([`Sim::attach_store_page`]) and the store kick hook forwards the guest's
//! notifications to the daemon's event source.
//!
//! Without the daemons (or the shim) each test says so on stderr and checks nothing, unless
//! `XENSTORED_REQUIRED=1` (as CI sets it), which makes a missing peer a failure.

use std::fs::OpenOptions;
use std::io::Write;
use std::mem::offset_of;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::{Duration, Instant};
use xen_headers::hvm::params::{HVM_PARAM_STORE_EVTCHN, HVM_PARAM_STORE_PFN};
use xen_headers::io::xs_wire::{XENSTORE_RING_SIZE, XS_WRITE, XenstoreDomainInterface};
use xen_sim::{Sim, SimConfig};
use xenstored_harness::{Daemon, Impl, unavailable};

const fn index(ring: *mut u8, offset: usize) -> &'static AtomicU32 {
    // SAFETY: an index field of the shared ring page, aligned, accessed atomically by both
    // sides.
    unsafe { AtomicU32::from_ptr(ring.wrapping_add(offset).cast()) }
}

/// Puts one request in the request ring (the ring is empty and the request small).
fn put_request(ring: *mut u8, ty: u32, req_id: u32, payload: &[u8]) {
    let mut bytes = Vec::new();
    for word in [ty, req_id, 0, u32::try_from(payload.len()).unwrap()] {
        bytes.extend_from_slice(&word.to_ne_bytes());
    }
    bytes.extend_from_slice(payload);
    let prod_at = offset_of!(XenstoreDomainInterface, req_prod);
    let prod = index(ring, prod_at).load(SeqCst);
    for (i, b) in bytes.iter().enumerate() {
        let at = (prod as usize + i) % XENSTORE_RING_SIZE;
        // SAFETY: inside the request ring, which the guest owns between the indexes.
        unsafe { ring.wrapping_add(at).write_volatile(*b) };
    }
    index(ring, prod_at).store(prod + u32::try_from(bytes.len()).unwrap(), SeqCst);
}

/// Waits for one reply; returns (type, request id, payload).
fn take_reply(ring: *mut u8) -> Option<(u32, u32, Vec<u8>)> {
    let cons_at = offset_of!(XenstoreDomainInterface, rsp_cons);
    let prod_at = offset_of!(XenstoreDomainInterface, rsp_prod);
    let rsp = offset_of!(XenstoreDomainInterface, rsp);
    let start = Instant::now();
    let cons = index(ring, cons_at).load(SeqCst);
    let read = |from: u32, len: usize| -> Vec<u8> {
        (0..len)
            .map(|i| {
                let at = rsp + (from as usize + i) % XENSTORE_RING_SIZE;
                // SAFETY: inside the reply ring, between the daemon's indexes.
                unsafe { ring.wrapping_add(at).read_volatile() }
            })
            .collect()
    };
    loop {
        let prod = index(ring, prod_at).load(SeqCst);
        if prod.wrapping_sub(cons) >= 16 {
            let header = read(cons, 16);
            let word = |i: usize| u32::from_ne_bytes(header[i * 4..i * 4 + 4].try_into().unwrap());
            let len = word(3) as usize;
            if prod.wrapping_sub(cons) as usize >= 16 + len {
                let payload = read(cons + 16, len);
                index(ring, cons_at).store(cons + 16 + u32::try_from(len).unwrap(), SeqCst);
                return Some((word(0), word(1), payload));
            }
        }
        if start.elapsed() > Duration::from_secs(10) {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn store_ring_is_served(imp: Impl) {
    if let Some(why) = unavailable(imp) {
        let required = std::env::var("XENSTORED_REQUIRED").is_ok_and(|v| v == "1");
        assert!(!required, "XENSTORED_REQUIRED=1 but {why}");
        eprintln!("SKIPPED {}: real peer unavailable: {why}", imp.name());
        return;
    }
    let daemon = Daemon::start(imp).unwrap();
    let dom0 = daemon.dom0().unwrap();
    // Introduces domain 1 and gives it /local/domain/1; keeps its own mapping of the ring.
    let _introduced = daemon.guest(&dom0, 1).unwrap();
    let dir = daemon.dir().to_path_buf();
    let port: u32 = std::fs::read_to_string(dir.join("dom1.port"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.join("dom1.ring"))
        .unwrap();
    // SAFETY: mapping 4096 bytes of the daemon's ring file; checked below and never unmapped
    // (the simulator keeps using it).
    let addr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        )
    };
    assert_ne!(addr, libc::MAP_FAILED);
    let page = NonNull::new(addr.cast::<u8>()).unwrap();

    let sim = Sim::new(SimConfig::default());
    // SAFETY: the mapping is page-aligned, 4096 bytes, and lives for the rest of the process.
    unsafe { sim.attach_store_page(page) };
    let fifo = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(dir.join("evtchn"))
        .unwrap();
    sim.set_store_kick_hook(Arc::new(move || {
        let _ = (&fifo).write_all(&port.to_ne_bytes());
    }));

    // The guest's side, as a driver finds it.
    let hv = sim.vcpu(0);
    let gfn = xen::hvm::get_param(&hv, HVM_PARAM_STORE_PFN).unwrap();
    let evtchn = u32::try_from(xen::hvm::get_param(&hv, HVM_PARAM_STORE_EVTCHN).unwrap()).unwrap();
    let ring = sim.host_ptr(gfn).unwrap();
    assert_eq!(ring, page.as_ptr());
    put_request(ring, XS_WRITE, 7, b"/local/domain/1/sim\0hello");
    xen::event_channel::send(&hv, evtchn).unwrap();
    let reply = take_reply(ring).expect("a reply from the daemon");
    assert_eq!(reply, (XS_WRITE, 7, b"OK\0".to_vec()));
    assert_eq!(sim.take_store_kicks(), 1);
    let value = dom0.read(None, None, b"/local/domain/1/sim").unwrap();
    assert_eq!(value.as_bytes(), b"hello");
}

#[test]
fn real_xenstored_c_serves_the_simulated_store_ring() {
    store_ring_is_served(Impl::C);
}

#[test]
fn real_oxenstored_serves_the_simulated_store_ring() {
    store_ring_is_served(Impl::Ocaml);
}
