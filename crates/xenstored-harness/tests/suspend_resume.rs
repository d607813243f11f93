// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `suspend_resume_1000_cycles`: the xenbus subsystems, wired as the active FDO wires them, on
//! the host simulator with Debian's real xenstored serving the store ring (through a relay,
//! see `xenstored_harness::relay`), survive 1000 suspend/resume cycles exactly as upstream
//! specifies:
//!
//! - channels: every channel is invalidated by the suspend (`Send` is a silent no-op, closing
//!   it issues no hypercall); the store and console channels are re-opened by xenbus itself on
//!   the renumbered ports (a store request and a console line go through after each resume), and a child's channel re-opened by the child works both ways;
//! - grants: the grant frames are re-added at their frames; the new domain's table holds only
//!   the toolstack's seeded entries (Xen does not carry grant entries across a save/restore,
//!   so backends of the new host cannot map old grants), so the child revokes its old entry —
//!   which succeeds and returns the reference to its cache, nothing leaks — and grants the
//!   page again, and the backend maps it with the page's contents intact;
//! - watches: every watch is signalled once by the resume and never fires again (expired); a
//!   watch added afterwards fires;
//! - transactions: one left open across the suspend ends with `STATUS_RETRY` without asking
//!   the daemon;
//! - nothing is lost or leaked: ports, grants, pages and cache objects are counted every 100
//!   cycles and at the end.
//!
//! Without the daemon the test is skipped loudly (CI sets `XENSTORED_REQUIRED=1`, which turns
//! the skip into a failure).

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use platform_port::Deferred;
use platform_port::std_impl::StdPlatform;
use xen_sim::Sim;
use xenbus::evtchn::{Channel, OpenKind};
use xenbus::store::WatchEvent;
use xenbus::suspend::SuspendOutcome;
use xenstored_harness::{Daemon, Impl, unavailable};

const CYCLES: u32 = 1000;
const CPUS: u32 = 2;

mod support;

use support::{Rig, World, rig};

#[derive(Default)]
struct Counter(AtomicU32);

impl WatchEvent for Counter {
    fn signal(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Counter {
    fn get(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

fn daemon() -> Option<Daemon> {
    if let Some(why) = unavailable(Impl::C) {
        assert!(
            std::env::var_os("XENSTORED_REQUIRED").is_none(),
            "XENSTORED_REQUIRED is set but {why}"
        );
        eprintln!("SKIPPED suspend_resume_1000_cycles: {why}");
        return None;
    }
    Some(Daemon::start(Impl::C).expect("xenstored starts"))
}

/// A child's event channel to dom0: opened UNBOUND, bound by the backend, counted.
struct ChildChannel {
    channel: Arc<Channel>,
    remote: u32,
    events: Arc<AtomicU32>,
}

fn open_child_channel(world: &World, sim: &Sim) -> ChildChannel {
    let events = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&events);
    let channel = world
        .evtchn
        .open(
            OpenKind::Unbound {
                remote_domain: 0,
                auto_mask: false,
            },
            Arc::new(move || {
                seen.fetch_add(1, Ordering::SeqCst);
                true
            }),
            0x1000,
        )
        .expect("open unbound");
    let dom0 = sim.dom0();
    let port = world.evtchn.get_port(&channel);
    let remote = dom0.bind_interdomain(port).expect("dom0 binds");
    world.evtchn.unmask(&channel, false, true);
    ChildChannel {
        channel,
        remote,
        events,
    }
}

/// After a resume, xenbus's own connections work again on their renumbered ports: a store
/// write and read through the real daemon, and a console line reaching the backend.
fn xenbus_connections_work(world: &World, sim: &Sim, cycle: u32) {
    let store = world.store.store().expect("store connected");
    // The store itself talks to the daemon on the new port.
    let value = format!("cycle {cycle}");
    store
        .write(None, None, b"data/cycle", value.as_bytes())
        .expect("write after resume");
    let read = store.read(None, None, b"data/cycle").expect("read back");
    assert_eq!(read.as_bytes(), value.as_bytes());
    store.free(read);
    // The console reconnected on its renumbered port: a line reaches the backend.
    let line = format!("resumed {cycle}\n");
    assert_eq!(world.console.write(line.as_bytes()), line.len());
    let output = sim.console_output();
    assert!(
        output.ends_with(line.as_bytes()),
        "cycle {cycle}: console backend saw {:?}",
        String::from_utf8_lossy(&output[output.len().saturating_sub(40)..])
    );
}

/// Grants after a resume: the old entry is gone from Xen's new table; revoking it gives the
/// reference back, and the page granted again maps with its contents.
fn regrant(
    world: &World,
    sim: &Sim,
    cache: &Arc<xenbus::gnttab::GnttabCache<StdPlatform>>,
    entry: xenbus::gnttab::GrantEntry,
    page_pfn: u64,
    cycle: u32,
) -> xenbus::gnttab::GrantEntry {
    assert!(
        sim.dom0().map_grant(entry.reference(), false).is_err(),
        "cycle {cycle}"
    );
    world
        .gnttab
        .revoke_foreign_access(cache, false, entry)
        .map_err(|(e, _)| e)
        .expect("revoke after resume");
    let entry = world
        .gnttab
        .permit_foreign_access(cache, false, 0, page_pfn, false)
        .expect("permit again");
    let mapping = sim
        .dom0()
        .map_grant(entry.reference(), false)
        .expect("dom0 maps");
    let mut first = [0u8; 4];
    mapping.read(0, &mut first).expect("read grant");
    assert_eq!(first, [0x5A; 4], "cycle {cycle}");
    sim.dom0().unmap_grant(mapping).expect("unmap");
    entry
}

/// The child closes its dead channel and opens a new one; events pass both ways.
fn reopen_child_channel(world: &World, sim: &Sim, old: &ChildChannel, cycle: u32) -> ChildChannel {
    world.evtchn.close(Arc::clone(&old.channel));
    let child = open_child_channel(world, sim);
    let before = child.events.load(Ordering::SeqCst);
    sim.dom0().send(child.remote).expect("dom0 kicks");
    // Usually delivered on this thread before `send` returns; when the relay thread is
    // polling vCPU 0 at that moment, that thread delivers it instead.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while child.events.load(Ordering::SeqCst) == before && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert!(
        child.events.load(Ordering::SeqCst) > before,
        "cycle {cycle}: dom0's event reached the child's callback"
    );
    world.evtchn.send(&child.channel);
    assert!(
        sim.dom0().take_events().contains(&child.remote),
        "cycle {cycle}: the child's event reached dom0"
    );
    child
}

#[test]
fn suspend_resume_1000_cycles() {
    let Some(daemon) = daemon() else { return };
    let Rig {
        sim,
        pages,
        world,
        system,
        relay,
        ..
    } = rig(&daemon, CPUS);
    world.start().expect("start");
    assert!(
        world.console_acquired(),
        "the simulator's toolstack provides a PV console"
    );
    let store = world.store.store().expect("store connected");

    // What a child holds across suspends.
    let mut child = open_child_channel(&world, &sim);
    let cache = world
        .gnttab
        .create_cache("child", 0, 0, Arc::new(|| {}), Arc::new(|| {}))
        .expect("grant cache");
    let (page_pfn, page_ptr) = sim.allocate(1);
    // SAFETY: a fresh guest RAM page of the simulator, 4096 bytes, used only here.
    unsafe { page_ptr.write_bytes(0x5A, 4096) };
    let mut entry = world
        .gnttab
        .permit_foreign_access(&cache, false, 0, page_pfn, false)
        .expect("permit");
    let mut watch_counter = Arc::new(Counter::default());
    let mut watch = store
        .watch_add(None, b"data/cycle", watch_counter.clone(), 0x2000)
        .expect("watch");
    let mut tx = store.transaction_start().expect("transaction");
    let baseline_pages = pages.outstanding();

    for cycle in 1..=CYCLES {
        let signals_before = watch_counter.get();
        assert_eq!(
            world.suspend.trigger(),
            SuspendOutcome::Resumed,
            "cycle {cycle}"
        );
        assert_eq!(world.suspend.count(), cycle);
        // The toolstack introduces the new domain to xenstored before it runs on.
        assert!(relay.await_generation(sim.suspends(), std::time::Duration::from_secs(10)));

        // Channels: the child's is dead; sending on it is a silent no-op.
        assert!(!child.channel.is_active(), "cycle {cycle}");
        world.evtchn.send(&child.channel);
        // Watches: signalled exactly once by the resume.
        assert_eq!(watch_counter.get(), signals_before + 1, "cycle {cycle}");
        // Transactions: the one in flight answers retry.
        let ended = store
            .transaction_end(tx, true)
            .expect_err("expired transaction");
        assert!(ended.is_retry(), "cycle {cycle}: {ended:?}");
        xenbus_connections_work(&world, &sim, cycle);
        // The expired watch never fires again.
        assert_eq!(watch_counter.get(), signals_before + 1, "cycle {cycle}");
        entry = regrant(&world, &sim, &cache, entry, page_pfn, cycle);

        // The child reconnects: new channel, new watch, new transaction.
        child = reopen_child_channel(&world, &sim, &child, cycle);
        store.watch_remove(watch).expect("remove expired watch");
        watch_counter = Arc::new(Counter::default());
        watch = store
            .watch_add(None, b"data/cycle", watch_counter.clone(), 0x2000)
            .expect("re-add watch");
        tx = store.transaction_start().expect("new transaction");

        if cycle % 100 == 0 {
            world.platform.flush_dpcs();
            let audit = sim.audit();
            // The child's port and xenbus's VIRQ_DEBUG.
            assert_eq!(audit.open_ports.len(), 2, "cycle {cycle}: {audit:?}");
            assert_eq!(audit.live_grants, vec![entry.reference()], "cycle {cycle}");
            assert_eq!(audit.dom0_mappings, 0);
            assert_eq!(pages.outstanding(), baseline_pages, "cycle {cycle}");
            assert_eq!(
                world.evtchn.channel_count(),
                4,
                "the store's, the console's, VIRQ_DEBUG's and the child's"
            );
        }
    }

    // Tear down everything the child holds, then the subsystems.
    store.transaction_end(tx, false).expect("abort");
    store.watch_remove(watch).expect("remove watch");
    world.evtchn.close(child.channel);
    world
        .gnttab
        .revoke_foreign_access(&cache, false, entry)
        .map_err(|(e, _)| e)
        .expect("revoke");
    world.gnttab.destroy_cache(&cache).expect("destroy cache");
    drop(store);
    world.stop();
    world.platform.flush_dpcs();
    let audit = sim.audit();
    assert!(audit.is_clean(), "{audit:?}");
    assert_eq!(pages.outstanding(), 0);
    assert_eq!(system.unplugs.load(Ordering::SeqCst), CYCLES);
    relay.finish().expect("relay ran cleanly");
    // Shown even though the test harness captures printing.
    let _ = writeln!(
        std::io::stderr().lock(),
        "suspend_resume_1000_cycles: {CYCLES} cycles passed (simulator, real xenstored-c)"
    );
}
