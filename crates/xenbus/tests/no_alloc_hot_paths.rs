// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The hot paths over memory shared with Xen allocate nothing per call: grant Permit + Revoke
//! (entry cache, live entry in the table frame; and the same pair as a child driver calls it,
//! through the GNTTAB interface table and its entry handles) and event delivery (upcall flag,
//! 2-level and FIFO scans, port lookup, ack, callback), on the host simulator.
//!
//! A counting global allocator (this test binary's own) counts every allocation a thread makes
//! while that thread is in a measured section (a thread-local flag, so the other tests of this
//! binary, running in parallel, and the harness are not counted). Both paths run entirely on
//! the calling thread (Permit/Revoke through the per-CPU magazine and the table frame;
//! `Evtchn::deliver` is the ISR, calling the callbacks inline), so every allocation they could
//! make is seen. Each section runs after a warm-up that lets caches, magazines and tables reach
//! their steady state, then repeats the operation `ROUNDS` times and must count zero. For
//! delivery only `Evtchn::deliver` is measured: dom0 raising the events (the simulator playing
//! Xen) happens outside the section.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::missing_panics_doc,
    missing_docs
)]

include!("support/sim_platform.rs");
include!("support/child_gnttab.rs");

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

use platform_port::Memory;
use platform_port::std_impl::StdInterrupts;
use xen_headers::memory::XENMAPSPACE_SHARED_INFO;
use xenbus::cache::CacheContext;
use xenbus::evtchn::{AbiKind, Channel, Evtchn, EvtchnConfig, OpenKind};
use xenbus::gnttab::Gnttab;
use xenbus::shared_info::{ProcessorVcpu, SharedInfo};

/// Operations in each measured section.
const ROUNDS: u64 = 10_000;
/// Operations before it.
const WARM_UP: u64 = 1_000;

/// The system allocator, counting the allocations (and reallocations) of threads in a
/// measured section.
struct Counting;

thread_local! {
    /// Whether this thread is in a measured section (const-initialized, no destructor: reading
    /// it never allocates).
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    /// Allocations this thread made in measured sections.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// Counts one allocation if this thread is measuring.
fn count() {
    // `try_with`: a thread being torn down may still free or allocate.
    let _ = COUNTING.try_with(|counting| {
        if counting.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every method forwards to `System` unchanged; the counters are const-initialized
// thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for `alloc`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as for `alloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations this thread made while `f` ran.
fn allocations_during(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    COUNTING.with(|counting| counting.set(true));
    f();
    COUNTING.with(|counting| counting.set(false));
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn the_counter_sees_allocations_and_only_this_threads() {
    let counted = allocations_during(|| {
        let boxed = std::hint::black_box(Box::new(7u64));
        let mut grown = Vec::<u8>::with_capacity(1);
        grown.extend_from_slice(&[1, 2, 3]);
        assert_eq!(std::hint::black_box(grown).len(), 3);
        drop(boxed);
    });
    assert_eq!(counted, 3, "two allocations and one reallocation");
    let counted = allocations_during(|| {
        std::thread::scope(|s| {
            s.spawn(|| std::hint::black_box(Box::new(1u8)));
        });
    });
    // Spawning allocates on this thread; the box on the other thread is not counted here.
    assert!(counted >= 1);
}

#[test]
fn grant_permit_and_revoke_allocate_nothing() {
    let w = sim_world(SimConfig {
        vcpus: 1,
        ..SimConfig::default()
    });
    let caches = Arc::new(CacheContext::with_monitor_period(&w.platform, None).unwrap());
    let gnttab = Gnttab::new(w.platform.clone(), Arc::clone(&w.xen), Arc::clone(&caches)).unwrap();
    gnttab.acquire().unwrap();
    let cache = gnttab
        .create_cache("no_alloc", 512, 0, Arc::new(|| {}), Arc::new(|| {}))
        .unwrap();
    let pages = w.platform.alloc_pages(1).unwrap();
    let pair = |read_only: bool| {
        let entry = gnttab
            .permit_foreign_access(&cache, false, 0, pages.pfn, read_only)
            .unwrap();
        gnttab
            .revoke_foreign_access(&cache, false, std::hint::black_box(entry))
            .map_err(|(e, _)| e)
            .unwrap();
    };
    for round in 0..WARM_UP {
        pair(round % 2 == 0);
    }
    let counted = allocations_during(|| {
        for round in 0..ROUNDS {
            pair(round % 2 == 0);
        }
    });
    assert_eq!(
        counted, 0,
        "{counted} allocations in {ROUNDS} Permit + Revoke pairs"
    );

    gnttab.destroy_cache(&cache).unwrap();
    gnttab.release();
    // SAFETY: allocated above from this platform; no grant of it is left.
    unsafe { w.platform.free_pages(pages) };
}

#[test]
fn a_childs_permit_and_revoke_through_the_interface_allocate_nothing() {
    let child = child::ChildGnttab::new(1, 512);
    // Up to 8 entries held at once, as a ring of requests does; the warm-up reaches the
    // high-water mark of the entry table and the cache's magazines.
    let burst = |round: u64| {
        let mut held = [std::ptr::null_mut(); 8];
        let count = usize::try_from(round % 8).unwrap() + 1;
        for slot in &mut held[..count] {
            *slot = child.permit(round.is_multiple_of(2));
        }
        for &entry in &held[..count] {
            child.revoke(std::hint::black_box(entry));
        }
    };
    for round in 0..WARM_UP {
        burst(round);
    }
    let counted = allocations_during(|| {
        for round in 0..ROUNDS {
            burst(round);
        }
    });
    assert_eq!(
        counted, 0,
        "{counted} allocations in {ROUNDS} bursts of Permit + Revoke through the interface"
    );
}

type Subject = Evtchn<StdPlatform, Direct<SimVcpu>, StdInterrupts>;

/// The delivery set-up of `benches/evtchn.rs`: one vCPU, `open` inter-domain channels bound
/// to dom0, every port unmasked, each callback counting.
struct Delivery {
    sim: Sim,
    dom0: xen_sim::Peer,
    evtchn: Arc<Subject>,
    remotes: Vec<u32>,
    channels: Vec<Arc<Channel>>,
    delivered: Arc<AtomicU64>,
}

impl Delivery {
    fn new(abi: AbiKind, open: usize) -> Self {
        let sim = Sim::new(SimConfig {
            vcpus: 1,
            max_evtchn_port: 8191,
            ..SimConfig::default()
        });
        let (platform, _pages) = sim.platform(1);
        let services = Arc::new(Direct::new(sim.vcpu(0), 1));
        let gfn = sim.hole(1);
        // SAFETY: the frame is a hole reserved for this mapping.
        unsafe { xen::memory::add_to_physmap(&sim.vcpu(0), gfn, XENMAPSPACE_SHARED_INFO, 0) }
            .unwrap();
        let page = NonNull::new(sim.host_ptr(gfn).unwrap()).unwrap();
        let cpus = [ProcessorVcpu {
            vcpu_id: Some(0),
            registered: None,
        }];
        // SAFETY: the simulator keeps the frame mapped for its life; only views reach it.
        let info = unsafe { SharedInfo::new(page, &cpus) }.unwrap();
        info.mask_all();
        let evtchn = Evtchn::new(
            platform.clone(),
            services,
            StdInterrupts::new(platform),
            Arc::new(info),
            EvtchnConfig {
                use_fifo_abi: abi == AbiKind::Fifo,
                use_upcall: true,
            },
        )
        .unwrap();
        evtchn.acquire().unwrap();
        assert_eq!(evtchn.abi_kind(), Some(abi));
        let dom0 = sim.dom0();
        let delivered = Arc::new(AtomicU64::new(0));
        let mut remotes = Vec::with_capacity(open);
        let mut channels = Vec::with_capacity(open);
        for _ in 0..open {
            let remote = dom0.allocate_unbound().unwrap();
            let counter = Arc::clone(&delivered);
            let channel = evtchn
                .open(
                    OpenKind::InterDomain {
                        remote_domain: dom0.domid(),
                        remote_port: remote,
                        auto_mask: false,
                    },
                    Arc::new(move || {
                        counter.fetch_add(1, Ordering::Relaxed);
                        true
                    }),
                    0,
                )
                .unwrap();
            evtchn.unmask(&channel, false, true);
            remotes.push(remote);
            channels.push(channel);
        }
        evtchn.deliver(0);
        Self {
            sim,
            dom0,
            evtchn,
            remotes,
            channels,
            delivered,
        }
    }

    /// dom0 notifies `pending` channels, starting at channel `first`, spread over the open
    /// ones.
    fn raise(&self, first: usize, pending: usize) {
        let stride = (self.remotes.len() / pending).max(1);
        for index in 0..pending {
            let channel = (first + index * stride) % self.remotes.len();
            self.dom0.send(self.remotes[channel]).unwrap();
        }
    }

    /// `rounds` upcalls of `pending` events each; only the deliveries are counted. Returns
    /// the allocations counted.
    fn run(&self, rounds: u64, pending: usize, measured: bool) -> u64 {
        let mut counted = 0;
        for round in 0..rounds {
            self.raise(usize::try_from(round).unwrap(), pending);
            let before = self.delivered.load(Ordering::Relaxed);
            if measured {
                counted += allocations_during(|| {
                    std::hint::black_box(self.evtchn.deliver(0));
                });
            } else {
                self.evtchn.deliver(0);
            }
            assert_eq!(
                self.delivered.load(Ordering::Relaxed) - before,
                pending as u64,
                "round {round}"
            );
        }
        counted
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        for channel in self.channels.drain(..) {
            self.evtchn.close(channel);
        }
        self.evtchn.release();
        let _ = &self.sim;
    }
}

fn delivery_allocates_nothing(abi: AbiKind) {
    for (open, pending) in [(64usize, 1usize), (512, 16)] {
        let delivery = Delivery::new(abi, open);
        delivery.run(WARM_UP, pending, false);
        let counted = delivery.run(ROUNDS, pending, true);
        assert_eq!(
            counted, 0,
            "{abi:?}: {counted} allocations in {ROUNDS} upcalls of {pending} events ({open} open)"
        );
    }
}

#[test]
fn two_level_event_delivery_allocates_nothing() {
    delivery_allocates_nothing(AbiKind::TwoLevel);
}

#[test]
fn fifo_event_delivery_allocates_nothing() {
    delivery_allocates_nothing(AbiKind::Fifo);
}
