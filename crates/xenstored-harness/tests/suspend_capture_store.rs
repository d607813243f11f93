// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! SUSPEND with another processor in the middle of a store request, on the host simulator with
//! Debian's real xenstored serving the store (through the relay), the subsystems wired as the
//! active FDO wires them (`xenbus::subsystems`). The grant-map and channel-open cases are in
//! `crates/xenbus/tests/suspend_capture.rs`.
//!
//! A thread on CPU 1 makes the request; CPU 0 runs a whole suspend and resume. The capture is
//! modelled as on Windows (`StdPlatform`'s rendezvous): a processor is captured by a DPC, so
//! only while it runs below `DISPATCH_LEVEL`. Upstream's `StoreSubmitRequest` ("Make sure we
//! don't suspend") holds the store's spin lock at `DISPATCH_LEVEL` from the moment the request
//! is queued until its reply arrived, busy-waiting on the channel; ours does the same. So:
//!
//! - a request sent and waiting for its reply cannot be captured: the suspend waits until the
//!   reply arrived and the lock was released, captures the thread right there, and both
//!   complete (the read returns its value, the domain resumes);
//! - a request whose thread is captured before it takes the lock is sent after the resume, to
//!   the daemon serving the new domain, and succeeds (upstream: the request is only prepared,
//!   and `StoreSuspendCallbackLate` re-enables the ring before anyone runs again).
//!
//! Afterwards the store, the console, a child's channel and a grant work, and nothing leaks.
//! Without the daemon the tests are skipped loudly (`XENSTORED_REQUIRED=1` turns the skip into
//! a failure).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use platform_port::std_impl::{CapturePhase, StdPlatform, irql_violations};
use platform_port::{Deferred, Irql, IrqlLevel};
use xen_sim::{Sim, SimPages};
use xenbus::evtchn::OpenKind;
use xenbus::store::WaitLimits;
use xenbus::suspend::{SuspendOutcome, SuspendSystem};
use xenstored_harness::relay::Relay;
use xenstored_harness::{Daemon, Impl, unavailable};

const CPUS: u32 = 2;
/// Upper bound of every wait of the tests (they finish in well under a second).
const WAIT: Duration = Duration::from_secs(5);

mod support;

use support::World;

fn daemon(test: &str) -> Option<Daemon> {
    if let Some(why) = unavailable(Impl::C) {
        assert!(
            std::env::var_os("XENSTORED_REQUIRED").is_none(),
            "XENSTORED_REQUIRED is set but {why}"
        );
        eprintln!("SKIPPED {test}: {why}");
        return None;
    }
    Some(Daemon::start(Impl::C).expect("xenstored starts"))
}

/// A one-shot flag another thread waits for.
#[derive(Default)]
struct Signal {
    set: Mutex<bool>,
    changed: Condvar,
}

impl Signal {
    fn set(&self) {
        *self.set.lock().unwrap() = true;
        self.changed.notify_all();
    }

    fn wait(&self) {
        let (set, timeout) = self
            .changed
            .wait_timeout_while(self.set.lock().unwrap(), WAIT, |set| !*set)
            .unwrap();
        let came = *set && !timeout.timed_out();
        drop(set);
        assert!(came, "signal never came");
    }
}

/// xen.sys's EARLY work: `unplug_devices` runs on CPU 0 at `HIGH_LEVEL` right after the
/// suspend hypercall returned, every other processor still captured. The tests look at the
/// captured processor from there, and the toolstack introduces the new domain to xenstored
/// there (a real toolstack does so before the domain runs again).
#[derive(Default)]
struct System {
    at_resume: Mutex<Option<Arc<dyn Fn() + Send + Sync>>>,
}

impl SuspendSystem for System {
    fn register_vcpu_info(&self, _cpu: u32) {}

    fn unplug_devices(&self) {
        let hook = self.at_resume.lock().unwrap().clone();
        if let Some(hook) = hook {
            hook();
        }
    }
}

struct Rig {
    sim: Sim,
    pages: Arc<SimPages>,
    platform: StdPlatform,
    system: Arc<System>,
    world: Arc<World>,
    relay: Arc<Relay>,
}

fn rig(daemon: &Daemon) -> Rig {
    // A reply lost to a misordered suspend fails its request within 10 s.
    let limits = WaitLimits {
        max_timeouts: 2,
        ..WaitLimits::default()
    };
    let support::Rig {
        sim,
        pages,
        platform,
        world,
        system,
        relay,
    } = support::rig_with(daemon, CPUS, limits, Arc::new(System::default()));
    world.start().expect("start");
    Rig {
        sim,
        pages,
        platform,
        system,
        world,
        relay: Arc::new(relay),
    }
}

impl Rig {
    /// Runs `look` at the resume (CPU 0, `HIGH_LEVEL`, CPU 1 captured), then lets the
    /// toolstack introduce the new domain to xenstored before anything runs again.
    fn on_resume(&self, look: impl Fn() + Send + Sync + 'static) {
        let (relay, sim) = (Arc::clone(&self.relay), self.sim.clone());
        *self.system.at_resume.lock().unwrap() = Some(Arc::new(move || {
            look();
            assert!(
                relay.await_generation(sim.suspends(), WAIT),
                "xenstored never served the new domain"
            );
        }));
    }

    /// Waits, yielding, until `done` (the relay has no event to wait on).
    fn until(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + WAIT;
        while !done() {
            assert!(Instant::now() < deadline, "never: {what}");
            std::thread::yield_now();
        }
    }

    /// After the resume: the store, the console, a child's channel and a grant work, and the
    /// guest holds what it held before (ports, grants, pages).
    fn everything_works(&self, baseline_pages: usize) {
        let audit = self.sim.audit();
        assert_eq!(audit.open_ports.len(), 1, "VIRQ_DEBUG only: {audit:?}");
        assert!(audit.live_grants.is_empty(), "{audit:?}");
        assert_eq!(self.pages.outstanding(), baseline_pages);

        let store = self.world.store.store().expect("store connected");
        store
            .write(None, None, b"data/afterwards", b"works")
            .expect("write after resume");
        let read = store
            .read(None, None, b"data/afterwards")
            .expect("read back");
        assert_eq!(read.as_bytes(), b"works");
        store.free(read);

        let line = b"resumed\n";
        assert_eq!(self.world.console.write(line), line.len());
        assert!(self.sim.console_output().ends_with(line));

        let events = Arc::new(AtomicU32::new(0));
        let seen = Arc::clone(&events);
        let channel = self
            .world
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
            .expect("open");
        let remote = self
            .sim
            .dom0()
            .bind_interdomain(self.world.evtchn.get_port(&channel))
            .expect("dom0 binds");
        self.world.evtchn.unmask(&channel, false, true);
        self.sim.dom0().send(remote).expect("dom0 kicks");
        // Usually delivered on this thread; when the relay thread polls vCPU 0 at that moment,
        // that thread delivers it.
        Self::until("dom0's event reached the child", || {
            events.load(Ordering::SeqCst) == 1
        });
        self.world.evtchn.send(&channel);
        assert!(self.sim.dom0().take_events().contains(&remote));
        self.world.evtchn.close(channel);

        let cache = self
            .world
            .gnttab
            .create_cache("child", 0, 0, Arc::new(|| {}), Arc::new(|| {}))
            .expect("grant cache");
        let (pfn, page) = self.sim.allocate(1);
        // SAFETY: a fresh guest RAM page of the simulator, 4096 bytes, used only here.
        unsafe { page.write_bytes(0x5A, 4096) };
        let entry = self
            .world
            .gnttab
            .permit_foreign_access(&cache, false, 0, pfn, false)
            .expect("permit");
        let mapping = self
            .sim
            .dom0()
            .map_grant(entry.reference(), false)
            .expect("dom0 maps");
        let mut first = [0u8; 4];
        mapping.read(0, &mut first).unwrap();
        assert_eq!(first, [0x5A; 4]);
        self.sim.dom0().unmap_grant(mapping).unwrap();
        self.world
            .gnttab
            .revoke_foreign_access(&cache, false, entry)
            .map_err(|(e, _)| e)
            .expect("revoke");
        self.world.gnttab.destroy_cache(&cache).expect("destroy");
        self.platform.flush_dpcs();
    }

    fn finish(self) {
        *self.system.at_resume.lock().unwrap() = None;
        self.world.stop();
        self.platform.flush_dpcs();
        assert_eq!(self.world.evtchn.channel_count(), 0);
        let audit = self.sim.audit();
        assert!(audit.is_clean(), "{audit:?}");
        assert_eq!(self.pages.outstanding(), 0);
        let relay = Arc::try_unwrap(self.relay)
            .ok()
            .expect("relay no longer shared");
        relay.finish().expect("relay ran cleanly");
        assert_eq!(irql_violations(), 0, "an IRQL rule was broken");
    }
}

#[test]
fn a_store_request_waiting_for_its_reply_holds_off_the_suspend_and_both_complete() {
    let Some(daemon) = daemon("a_store_request_waiting_for_its_reply_holds_off_the_suspend") else {
        return;
    };
    let rig = rig(&daemon);
    let store = rig.world.store.store().expect("store connected");
    store
        .write(None, None, b"data/in-flight", b"the reply")
        .expect("write");
    let baseline_pages = rig.pages.outstanding();

    let at_resume = Arc::new(Mutex::new(None));
    {
        let (platform, at_resume) = (rig.platform.clone(), Arc::clone(&at_resume));
        rig.on_resume(move || {
            *at_resume.lock().unwrap() =
                Some((platform.capture_info(1), platform.held_locks(1).len()));
        });
    }

    // CPU 1 sends a read and waits for the reply, which xenstored has but the relay holds.
    rig.relay.hold_responses(true);
    let sent = rig.relay.stats().requests.load(Ordering::SeqCst);
    let (platform, sim, reader_store) = (rig.platform.clone(), rig.sim.clone(), Arc::clone(&store));
    let reader = std::thread::spawn(move || {
        platform.as_processor(1, || {
            assert_eq!(platform.current_irql(), IrqlLevel::PASSIVE);
            let read = reader_store.read(None, None, b"data/in-flight");
            (read, sim.suspends())
        })
    });
    Rig::until(
        "the request reached xenstored with the store lock held on CPU 1",
        || {
            rig.relay.stats().requests.load(Ordering::SeqCst) > sent
                && rig
                    .platform
                    .held_locks(1)
                    .iter()
                    .any(|h| h.level == IrqlLevel::DISPATCH)
        },
    );

    // CPU 0 starts the suspend: its capturing DPC for CPU 1 waits behind the lock.
    let (platform, world) = (rig.platform.clone(), Arc::clone(&rig.world));
    let suspender =
        std::thread::spawn(move || platform.as_processor(0, || world.suspend.trigger()));
    let capturing = rig
        .platform
        .await_capture(1, WAIT, |i| i.phase == CapturePhase::Capturing);
    let suspends_while_capturing = rig.sim.suspends();
    let reader_done_while_capturing = reader.is_finished();
    // The reply arrives: the read completes, the lock is released, the capture goes in.
    rig.relay.hold_responses(false);
    let outcome = suspender.join().unwrap();
    let (read, suspends_seen_by_reader) = reader.join().unwrap();

    assert!(
        capturing,
        "the capture did not wait for the store lock holder"
    );
    assert_eq!(
        suspends_while_capturing, 0,
        "suspended under the store lock"
    );
    assert!(!reader_done_while_capturing);
    assert_eq!(outcome, SuspendOutcome::Resumed);
    let read = read.expect("the read completes");
    assert_eq!(read.as_bytes(), b"the reply");
    store.free(read);
    // The reader was captured where it released the lock, reply in hand, and returned only
    // after the resume.
    let (info, locks) = at_resume.lock().unwrap().expect("EARLY ran");
    assert_eq!(info.frozen, 1, "the reader was frozen during the suspend");
    assert_eq!(locks, 0, "no lock held on CPU 1 at the suspend");
    assert_eq!(suspends_seen_by_reader, 1);

    drop(store);
    rig.everything_works(baseline_pages);
    rig.finish();
}

#[test]
fn a_store_request_captured_before_it_takes_the_lock_is_sent_to_the_new_domain() {
    let Some(daemon) = daemon("a_store_request_captured_before_it_takes_the_lock") else {
        return;
    };
    let rig = rig(&daemon);
    let store = rig.world.store.store().expect("store connected");
    let baseline_pages = rig.pages.outstanding();

    // While CPU 1 is captured its thread starts a write: preempted before it raises to take
    // the store lock, frozen there until the resume.
    let go = Arc::new(Signal::default());
    let at_resume = Arc::new(Mutex::new(None));
    {
        let (platform, go, at_resume) = (
            rig.platform.clone(),
            Arc::clone(&go),
            Arc::clone(&at_resume),
        );
        rig.on_resume(move || {
            go.set();
            let frozen = platform.await_capture(1, WAIT, |i| i.frozen == 1);
            *at_resume.lock().unwrap() = Some((frozen, platform.held_locks(1).len()));
        });
    }
    let sent = rig.relay.stats().requests.load(Ordering::SeqCst);
    let (platform, sim, writer_store, writer_go) = (
        rig.platform.clone(),
        rig.sim.clone(),
        Arc::clone(&store),
        Arc::clone(&go),
    );
    let writer = std::thread::spawn(move || {
        platform.as_processor(1, || {
            writer_go.wait();
            assert_eq!(platform.current_irql(), IrqlLevel::PASSIVE);
            let written = writer_store.write(None, None, b"data/captured", b"after the resume");
            (written, sim.suspends())
        })
    });
    assert_eq!(
        rig.platform.as_processor(0, || rig.world.suspend.trigger()),
        SuspendOutcome::Resumed
    );
    let (written, suspends_seen_by_writer) = writer.join().unwrap();

    let (frozen, locks) = at_resume.lock().unwrap().expect("EARLY ran");
    assert!(frozen, "the writer was not frozen before the store lock");
    assert_eq!(locks, 0);
    written.expect("the write is sent after the resume and succeeds");
    assert_eq!(suspends_seen_by_writer, 1);
    assert!(rig.relay.stats().requests.load(Ordering::SeqCst) > sent);
    // It reached the daemon serving the new domain (which removed the old domain's nodes).
    let read = store.read(None, None, b"data/captured").expect("read back");
    assert_eq!(read.as_bytes(), b"after the resume");
    store.free(read);

    drop(store);
    rig.everything_works(baseline_pages);
    rig.finish();
}
