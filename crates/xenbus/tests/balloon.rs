// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! BALLOON on the host simulator: the OS's pages are simulator RAM frames, so
//! `decrease_reservation`/`populate_physmap` really unback and back them; the audit counts the
//! frames Xen holds. Injected hypercall failures leave every frame accounted for (in the OS, or
//! with Xen and in the range set) and the balloon thread retries until it reaches the target.

#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    clippy::must_use_candidate,
    clippy::expect_used,
    clippy::significant_drop_tightening,
    missing_docs
)]

include!("support/sim_platform.rs");

#[path = "support/fake_balloon.rs"]
mod fake_balloon;

use std::sync::atomic::Ordering;

use fake_balloon::{FakeMemory, FakeStore};
use platform_port::worker::Worker;
use platform_port::{Event, EventKind, Events};
use xen_headers::memory::{XENMEM_DECREASE_RESERVATION, XENMEM_POPULATE_PHYSMAP};
use xen_headers::xen::HYPERVISOR_MEMORY_OP;
use xen_sim::Fault;
use xenbus::balloon::{
    Balloon, BalloonError, BalloonMemory, BalloonPass, BalloonStore, BalloonThread,
};
use xenbus::mutex::EventMutex;

const PAGES: u64 = 12_000;

type SimBalloon = Balloon<StdPlatform, Direct<SimVcpu>, FakeMemory, FakeStore>;

struct Rig {
    world: SimWorld,
    memory: Arc<FakeMemory>,
    store: Arc<FakeStore>,
    balloon: Arc<SimBalloon>,
    first: u64,
}

fn rig() -> Rig {
    let world = sim_world(SimConfig::default());
    // The OS owns PAGES frames of simulator RAM.
    let (first, _) = world.sim.allocate(usize::try_from(PAGES).unwrap());
    let memory = Arc::new(FakeMemory::with_frames(first, PAGES));
    let store = Arc::new(FakeStore::default());
    let balloon = Arc::new(Balloon::new(
        world.platform.clone(),
        Arc::clone(&world.xen),
        Arc::clone(&memory),
        Arc::clone(&store),
    ));
    balloon.acquire().unwrap();
    Rig {
        world,
        memory,
        store,
        balloon,
        first,
    }
}

impl Rig {
    /// Xen and the balloon agree frame by frame; the OS has every other frame.
    fn audit(&self) {
        let os = self.memory.os.lock().unwrap().clone();
        let mut ballooned = 0u64;
        for pfn in self.first..self.first + PAGES {
            let populated = self.world.sim.is_populated(pfn);
            let in_os = os.contains(&pfn);
            assert_eq!(populated, in_os, "frame {pfn:x}");
            if !populated {
                ballooned += 1;
                self.balloon.with_ballooned(|set| {
                    assert!(set.unwrap().contains(i64::try_from(pfn).unwrap()));
                });
            }
        }
        assert_eq!(self.balloon.size(), ballooned);
        assert_eq!(
            self.world.sim.audit().unpopulated_gfns as u64,
            ballooned,
            "the simulator's audit"
        );
    }
}

#[test]
fn inflate_and_deflate_move_real_frames_between_the_os_and_xen() {
    let r = rig();
    r.balloon.adjust(10_000).unwrap();
    assert_eq!(r.world.sim.audit().unpopulated_gfns, 10_000);
    assert_eq!(
        r.world
            .sim
            .calls(HYPERVISOR_MEMORY_OP, XENMEM_DECREASE_RESERVATION),
        2
    );
    r.audit();
    r.balloon.adjust(2_500).unwrap();
    r.audit();
    r.balloon.adjust(0).unwrap();
    r.audit();
    assert!(r.world.sim.audit().is_clean());
    r.balloon.release();
}

#[test]
fn injected_decrease_failure_gives_the_chunk_back_and_a_retry_finishes() {
    let r = rig();
    // The second batch fails.
    r.world.sim.inject(
        Fault::new(HYPERVISOR_MEMORY_OP)
            .cmd(XENMEM_DECREASE_RESERVATION)
            .nth(2),
    );
    assert_eq!(r.balloon.adjust(10_000), Err(BalloonError::Retry));
    assert_eq!(r.balloon.size(), 8192);
    r.audit();
    r.balloon.adjust(10_000).unwrap();
    r.audit();
    r.balloon.adjust(0).unwrap();
    r.audit();
}

#[test]
fn injected_populate_failure_keeps_the_frames_ballooned() {
    let r = rig();
    r.balloon.adjust(3_000).unwrap();
    r.world
        .sim
        .inject(Fault::new(HYPERVISOR_MEMORY_OP).cmd(XENMEM_POPULATE_PHYSMAP));
    assert_eq!(r.balloon.adjust(0), Err(BalloonError::Retry));
    assert_eq!(r.balloon.size(), 3_000);
    r.audit();
    r.balloon.adjust(0).unwrap();
    r.audit();
    assert!(r.world.sim.audit().is_clean());
}

fn store_for(r: &Rig, target_pages: u64) {
    r.store.set("memory/static-max", &format!("{}", PAGES * 4));
    r.store
        .set("memory/target", &format!("{}", target_pages * 4));
}

#[test]
fn balloon_thread_retries_every_second_until_the_target_is_reached() {
    let r = rig();
    store_for(&r, PAGES - 9_000);
    // Two failed batches: the first pass and the first retry end short.
    r.world.sim.inject(
        Fault::new(HYPERVISOR_MEMORY_OP)
            .cmd(XENMEM_DECREASE_RESERVATION)
            .nth(2)
            .times(2),
    );
    let mutex = Arc::new(EventMutex::new(&r.world.platform));
    let suspend_wakes = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let w = Arc::clone(&suspend_wakes);
    let thread = BalloonThread::new(
        Arc::clone(&r.balloon),
        Arc::clone(&mutex),
        Arc::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        }),
    );
    let done = Arc::new(r.world.platform.new_event(EventKind::Notification));
    let theirs = Arc::clone(&done);
    let worker = Worker::start(&r.world.platform, "balloon", move |context| {
        thread.run(context, || true, || theirs.set());
    })
    .unwrap();
    let start = std::time::Instant::now();
    worker.wake();
    assert!(done.wait(Some(std::time::Duration::from_secs(20))));
    // Two retries at 1 s each.
    assert!(start.elapsed() >= std::time::Duration::from_millis(1900));
    assert_eq!(r.balloon.size(), 9_000);
    assert_eq!(r.store.writes_to("control/balloon-active"), ["1", "0"]);
    assert_eq!(suspend_wakes.load(Ordering::SeqCst), 1);
    assert!(!mutex.is_locked());
    r.audit();
    // The toolstack asks for all memory back.
    done.reset();
    store_for(&r, PAGES);
    worker.wake();
    assert!(done.wait(Some(std::time::Duration::from_secs(20))));
    assert_eq!(r.balloon.size(), 0);
    worker.stop();
    r.audit();
    assert!(r.world.sim.audit().is_clean());
}

#[test]
fn suspend_thread_and_balloon_thread_exclude_each_other() {
    let r = rig();
    store_for(&r, PAGES - 100);
    let mutex = Arc::new(EventMutex::new(&r.world.platform));
    let mut thread =
        BalloonThread::new(Arc::clone(&r.balloon), Arc::clone(&mutex), Arc::new(|| {}));
    // A suspend in progress: the balloon skips.
    let suspending = mutex.try_lock().unwrap();
    assert_eq!(thread.pass(true), BalloonPass::SuspendRunning);
    assert_eq!(r.world.sim.audit().unpopulated_gfns, 0);
    drop(suspending);
    // A balloon operation in progress (the first batch falls short): the suspend skips.
    r.world
        .sim
        .inject(Fault::new(HYPERVISOR_MEMORY_OP).cmd(XENMEM_DECREASE_RESERVATION));
    assert_eq!(thread.pass(true), BalloonPass::Failed(BalloonError::Retry));
    assert!(mutex.try_lock().is_none());
    assert_eq!(thread.pass(true), BalloonPass::Adjusted);
    assert!(mutex.try_lock().is_some());
    r.audit();
    r.balloon.adjust(0).unwrap();
}
