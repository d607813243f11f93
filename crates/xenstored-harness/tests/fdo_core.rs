// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The active FDO's running parts (`xenbus::pnp::core`) on the host simulator, with Debian's
//! real xenstored serving the store and dom0 playing the toolstack:
//!
//! - D0 announces the driver (`drivers/<N>`) and `control/feature-suspend`;
//! - the scan thread, woken by its watch on `device`, creates a PDO when the toolstack adds a
//!   device class and marks it missing when the class goes;
//! - the suspend thread, woken by its watch on `control/shutdown`, acknowledges `suspend`,
//!   suspends and resumes the domain; the LATE callback announces the driver again in the new
//!   domain, whose watches work (a class added afterwards gets its PDO);
//! - D3 withdraws everything; nothing is left registered;
//! - with `XEN:WATCHDOG` set, every processor's timer ticks and Xen's watchdog is armed and
//!   patted while in D0, and disarmed with the timers stopped in D3;
//! - with the balloon enabled, START waits for its first pass, which inflates the balloon to the
//!   toolstack's `memory/target`; a new target deflates it (the thread woken by its watch); a
//!   non-empty balloon vetoes a stop; `control/feature-balloon` comes and goes with D0.
//!
//! Without the daemon the test is skipped loudly (CI sets `XENSTORED_REQUIRED=1`, which turns
//! the skip into a failure).

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use platform_port::std_impl::StdPlatform;
use xenbus::balloon::{Balloon, BalloonMemory};
use xenbus::pdo_identity::Bus;
use xenbus::pnp::core::{BALLOON_TIMEOUT, BusGlue, FdoConfig, FdoCore, LinkedStore};
use xenbus::pnp::distribution::Version;
use xenbus::pnp::fdo::{Effect, Fdo};
use xenbus::pnp::log_mirror::LogMirror;
use xenbus::pnp::pdo::{PdoId, PdoSettings};
use xenbus::pnp::toolstack::ScanSettings;
use xenbus::store::{NtStatus, Store, Transport, status};
use xenstored_harness::{Daemon, Impl, unavailable};

use support::{Rig, rig};

#[derive(Default)]
struct Recorder {
    created: Mutex<Vec<(PdoId, String)>>,
    effects: Mutex<Vec<Effect>>,
    /// The log mirror registered, and how many times one was registered or removed.
    mirror: Mutex<(Option<LogMirror>, u32)>,
}

impl BusGlue for Recorder {
    fn create_pdo(&self, id: PdoId, class: &str) -> Option<PdoSettings> {
        self.created.lock().unwrap().push((id, class.to_string()));
        Some(PdoSettings::default())
    }

    fn apply(&self, effect: &Effect) {
        self.effects.lock().unwrap().push(effect.clone());
    }

    fn mirror_log(&self, mirror: Option<LogMirror>) {
        let mut slot = self.mirror.lock().unwrap();
        assert_ne!(
            slot.0.is_some(),
            mirror.is_some(),
            "a mirror registered twice or removed twice"
        );
        slot.0 = mirror;
        slot.1 += 1;
    }
}

impl Recorder {
    fn classes(&self) -> Vec<String> {
        self.created
            .lock()
            .unwrap()
            .iter()
            .map(|(_, class)| class.clone())
            .collect()
    }

    /// A line through the registered mirror, as xen.sys's log would send it.
    fn mirror_line(&self, text: &[u8]) {
        let mirror = self.mirror.lock().unwrap().0.clone();
        let mirror = mirror.expect("a mirror registered");
        assert_eq!(mirror.mask, MIRRORED_LEVELS);
        mirror.sink.line(text);
    }

    fn invalidations(&self) -> usize {
        self.effects
            .lock()
            .unwrap()
            .iter()
            .filter(|effect| **effect == Effect::InvalidateBusRelations)
            .count()
    }
}

fn read<T: Transport>(store: &Store<StdPlatform, T>, path: &str) -> Option<String> {
    store.read(None, None, path.as_bytes()).ok().map(|buffer| {
        let text = String::from_utf8_lossy(buffer.as_bytes()).into_owned();
        store.free(buffer);
        text
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

const VERSION: Version = Version {
    major: 9,
    minor: 1,
    micro: 0,
    build: 7,
};
const ENTRY: &str = "Xen_Project XENBUS 9.1.0.7 ";
/// `ConsoleLogLevel` = WARNING and ERROR (xen.sys's `LOG_LEVEL` bits).
const MIRRORED_LEVELS: u32 = (1 << 2) | (1 << 3);

fn core(world: &Arc<support::World>, recorder: &Arc<Recorder>, watchdog: u32) -> Arc<Core> {
    FdoCore::new(
        Arc::clone(world),
        Fdo::new(
            Bus {
                vendor_prefix: "XP".into(),
                pci_device_id: 2,
            },
            true,
        ),
        FdoConfig {
            vendor: "Xen Project".into(),
            version: VERSION,
            debug: false,
            scan: ScanSettings {
                synthetic: Vec::new(),
                supported: Some(vec!["VIF".into(), "VBD".into()]),
            },
            enumerate: true,
            watchdog,
            console_log_level: MIRRORED_LEVELS,
        },
        recorder.clone(),
    )
}

type Services = xen::services::Direct<xen_sim::SimVcpu>;
type Interrupts = platform_port::std_impl::StdInterrupts;
type Core = FdoCore<StdPlatform, Services, Interrupts>;
type Linked = LinkedStore<StdPlatform, Services, Interrupts>;

/// The OS's memory as the balloon sees it: frames of the simulator's RAM the OS owns.
struct OsMemory {
    frames: Mutex<BTreeSet<u64>>,
    start: Instant,
}

impl BalloonMemory for OsMemory {
    fn allocate(&self, pfns: &mut [u64]) -> usize {
        let mut frames = self.frames.lock().unwrap();
        let mut taken = 0;
        for slot in pfns.iter_mut() {
            let Some(pfn) = frames.pop_last() else { break };
            *slot = pfn;
            taken += 1;
        }
        drop(frames);
        taken
    }

    fn add_physical(&self, start: u64, count: u64) -> Result<(), NtStatus> {
        let mut frames = self.frames.lock().unwrap();
        for pfn in start..start + count {
            assert!(frames.insert(pfn), "frame {pfn:#x} given back twice");
        }
        drop(frames);
        Ok(())
    }

    fn low_memory(&self) -> bool {
        false
    }

    fn system_time(&self) -> i64 {
        i64::try_from(self.start.elapsed().as_nanos() / 100).unwrap()
    }
}

/// The real xenstored and the simulator rig with 2 vCPUs, or `None` (said loudly) when the
/// daemon cannot run here and `XENSTORED_REQUIRED` is not set.
fn daemon_and_rig(scenario: &str) -> Option<(Daemon, Rig)> {
    if let Some(why) = unavailable(Impl::C) {
        assert!(
            std::env::var_os("XENSTORED_REQUIRED").is_none(),
            "XENSTORED_REQUIRED is set but {why}"
        );
        eprintln!("SKIPPED {scenario}: {why}");
        return None;
    }
    let daemon = Daemon::start(Impl::C).expect("xenstored starts");
    let rig = rig(&daemon, 2);
    Some((daemon, rig))
}

#[test]
fn the_active_fdo_runs_its_threads_against_the_real_toolstack_protocol() {
    let Some((
        daemon,
        Rig {
            sim, world, relay, ..
        },
    )) = daemon_and_rig("fdo_core")
    else {
        return;
    };
    let dom0 = daemon.dom0().expect("dom0");
    let home = |sim: &xen_sim::Sim, path: &str| format!("/local/domain/{}/{path}", sim.domid());

    let recorder = Arc::new(Recorder::default());
    let core = core(&world, &recorder, 0);

    // START: threads, D0, Started, first scan.
    core.start_threads::<OsMemory, Linked>(None)
        .expect("threads");
    core.d3_to_d0().expect("D0");
    assert!(core.fdo.lock().start_succeeded());
    core.wake_scan_and_wait();
    assert!(recorder.classes().is_empty(), "no device/ yet");
    assert_eq!(
        read(&dom0, &home(&sim, "drivers/0")).as_deref(),
        Some(ENTRY)
    );
    assert_eq!(
        read(&dom0, &home(&sim, "control/feature-suspend")).as_deref(),
        Some("1")
    );
    // The console log mirror: registered with the configured levels; a line reaches the
    // console backend with `\r\n` line ends.
    recorder.mirror_line(b"xenbus|FDO: mirrored\nsecond\n");
    eventually("the mirrored line on the console", || {
        contains(&sim.console_output(), b"xenbus|FDO: mirrored\r\nsecond\r\n")
    });

    // The toolstack adds a NIC: the watch wakes the scan thread, which makes a VIF PDO.
    dom0.write(
        None,
        None,
        home(&sim, "device/vif/0/state").as_bytes(),
        b"1",
    )
    .expect("toolstack adds vif");
    eventually("a VIF PDO", || recorder.classes() == ["VIF"]);
    eventually("relations invalidated", || recorder.invalidations() >= 1);
    let vif = recorder.created.lock().unwrap()[0].0;
    assert_eq!(core.fdo.lock().bus_relations(), vec![vif]);

    // The NIC goes away: the reported PDO goes missing and the PnP manager is told.
    let before = recorder.invalidations();
    dom0.remove(None, None, home(&sim, "device/vif").as_bytes())
        .expect("toolstack removes vif");
    eventually("the VIF PDO missing", || {
        core.fdo
            .lock()
            .pdo(vif)
            .and_then(xenbus::pnp::pdo::Pdo::missing)
            .is_some()
    });
    eventually("relations invalidated again", || {
        recorder.invalidations() > before
    });
    assert!(core.fdo.lock().bus_relations().is_empty());

    // The toolstack asks for a suspend: acknowledged, suspended, resumed.
    dom0.write(
        None,
        None,
        home(&sim, "control/shutdown").as_bytes(),
        b"suspend",
    )
    .expect("toolstack asks for suspend");
    eventually("the suspend", || world.suspend.count() == 1);
    assert!(relay.await_generation(sim.suspends(), Duration::from_secs(10)));
    // The daemon dropped the old domain's nodes when the toolstack introduced the new one
    // (the acknowledgement itself is checked in tests/toolstack.rs); the request is gone.
    assert_ne!(
        read(&dom0, &home(&sim, "control/shutdown")).as_deref(),
        Some("suspend")
    );
    // The LATE callback announced the driver again, once.
    eventually("the entry in the new domain", || {
        read(&dom0, &home(&sim, "drivers/0")).as_deref() == Some(ENTRY)
    });
    assert_eq!(read(&dom0, &home(&sim, "drivers/1")), None);
    // The new watches work: a disk added now gets its PDO.
    dom0.write(
        None,
        None,
        home(&sim, "device/vbd/768/state").as_bytes(),
        b"1",
    )
    .expect("toolstack adds vbd");
    eventually("a VBD PDO", || recorder.classes() == ["VIF", "VBD"]);
    // The mirror stayed registered through the suspend and writes to the new domain's
    // console ring.
    recorder.mirror_line(b"after resume\n");
    eventually("the mirrored line after the resume", || {
        contains(&sim.console_output(), b"after resume\r\n")
    });

    // D3: everything withdrawn (the mirror too); the threads stop.
    core.d0_to_d3();
    assert!(
        recorder.mirror.lock().unwrap().0.is_none(),
        "mirror removed"
    );
    assert_eq!(
        recorder.mirror.lock().unwrap().1,
        2,
        "added once, removed once"
    );
    assert_eq!(read(&dom0, &home(&sim, "drivers/0")), None);
    assert_eq!(read(&dom0, &home(&sim, "control/feature-suspend")), None);
    core.stop_threads();
    assert!(!world.is_started());
    relay.finish().expect("relay finishes");
}

/// Pages the OS owns in the balloon scenario, and how many the toolstack takes back.
const OS_PAGES: u64 = 2048;
const BALLOONED: u64 = 100;

#[test]
fn the_balloon_thread_follows_the_toolstack_target_from_start_to_d3() {
    let Some((
        daemon,
        Rig {
            sim, world, relay, ..
        },
    )) = daemon_and_rig("fdo_core balloon")
    else {
        return;
    };
    let dom0 = daemon.dom0().expect("dom0");
    let home = |path: &str| format!("/local/domain/{}/{path}", sim.domid());
    let kib = |pages: u64| (pages * 4).to_string();
    dom0.write(
        None,
        None,
        home("memory/static-max").as_bytes(),
        kib(OS_PAGES).as_bytes(),
    )
    .expect("static-max");
    dom0.write(
        None,
        None,
        home("memory/target").as_bytes(),
        kib(OS_PAGES - BALLOONED).as_bytes(),
    )
    .expect("target");

    let (first, _) = sim.allocate(usize::try_from(OS_PAGES).unwrap());
    let memory = Arc::new(OsMemory {
        frames: Mutex::new((first..first + OS_PAGES).collect()),
        start: Instant::now(),
    });
    let balloon = Arc::new(Balloon::new(
        world.platform.clone(),
        Arc::clone(&world.services),
        Arc::clone(&memory),
        Arc::new(LinkedStore(Arc::clone(&world.store))),
    ));
    let recorder = Arc::new(Recorder::default());
    let core = core(&world, &recorder, 0);

    // START: threads, D0, the first balloon pass waited for, Started.
    core.start_threads(Some(Arc::clone(&balloon)))
        .expect("threads");
    core.d3_to_d0().expect("D0");
    let mut warnings = 0;
    assert!(core.wait_balloon(BALLOON_TIMEOUT, |_| warnings += 1));
    assert_eq!(warnings, 0, "the first pass took more than 10 s");
    assert!(core.fdo.lock().start_succeeded());
    assert_eq!(balloon.size(), BALLOONED);
    assert_eq!(
        memory.frames.lock().unwrap().len() as u64,
        OS_PAGES - BALLOONED
    );
    assert_eq!(
        read(&dom0, &home("control/feature-balloon")).as_deref(),
        Some("1")
    );
    assert_eq!(
        read(&dom0, &home("control/balloon-active")).as_deref(),
        Some("0")
    );
    // A full balloon vetoes a stop.
    assert_eq!(
        core.fdo
            .lock()
            .query_stop_or_remove(false, core.balloon_size(), None),
        xenbus::pnp::fdo::FdoCompletion::Complete(status::UNSUCCESSFUL)
    );

    // The toolstack gives the memory back: the watch wakes the thread, which deflates.
    dom0.write(
        None,
        None,
        home("memory/target").as_bytes(),
        kib(OS_PAGES).as_bytes(),
    )
    .expect("target back");
    eventually("the balloon empty", || balloon.size() == 0);
    eventually("every frame back with the OS", || {
        memory.frames.lock().unwrap().len() as u64 == OS_PAGES
    });

    // D3: the feature goes, the balloon is released; the threads stop.
    core.d0_to_d3();
    assert_eq!(read(&dom0, &home("control/feature-balloon")), None);
    assert_eq!(balloon.references(), 0);
    core.stop_threads();
    relay.finish().expect("relay finishes");
}

#[test]
fn the_domain_watchdog_is_patted_while_every_processor_ticks() {
    use xen_headers::sched::SCHEDOP_WATCHDOG;
    use xen_headers::xen::HYPERVISOR_SCHED_OP;
    // The daemon serves the store ring through the relay until the end of the test.
    let Some((
        _daemon,
        Rig {
            sim, world, relay, ..
        },
    )) = daemon_and_rig("fdo_core watchdog")
    else {
        return;
    };
    let recorder = Arc::new(Recorder::default());
    // 2 s: a tick every second on each of the two processors.
    let core = core(&world, &recorder, 2);
    core.start_threads::<OsMemory, Linked>(None)
        .expect("threads");
    let ports_before = sim.audit().open_ports.len();
    core.d3_to_d0().expect("D0");
    assert_eq!(sim.audit().watchdogs, 1, "armed");
    assert_eq!(
        sim.audit().open_ports.len(),
        ports_before + 3,
        "VIRQ_DEBUG and a timer per processor"
    );
    let armed = sim.calls(HYPERVISOR_SCHED_OP, SCHEDOP_WATCHDOG);
    // Three rounds of ticks on both processors: each round pats once.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sim.calls(HYPERVISOR_SCHED_OP, SCHEDOP_WATCHDOG) < armed + 3 {
        assert!(Instant::now() < deadline, "the watchdog was never patted");
        sim.tick();
        std::thread::sleep(Duration::from_millis(20));
    }
    // The `xenbus|FDO` debug dump lists the VIRQs with their counts, as upstream's.
    world.debug.trigger(None);
    let lines: Vec<String> = world
        .platform
        .log_lines()
        .into_iter()
        .map(|(_, line)| line)
        .filter(|line| line.starts_with("xenbus|FDO: "))
        .collect();
    assert_eq!(
        lines.first().map(String::as_str),
        Some("xenbus|FDO: VIRQS:")
    );
    assert!(lines.contains(&"xenbus|FDO: - DEBUG: (0:0) Count = 0".to_string()));
    for cpu in 0..2 {
        let prefix = format!("xenbus|FDO: - TIMER: (0:{cpu}) Count = ");
        let count: u32 = lines
            .iter()
            .find_map(|line| line.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no TIMER line for processor {cpu}: {lines:?}"))
            .parse()
            .expect("a count");
        assert!(count >= 3, "processor {cpu} ticked {count} times");
    }
    core.d0_to_d3();
    let before = world.platform.log_lines().len();
    world.debug.trigger(None);
    assert!(
        !world.platform.log_lines()[before..]
            .iter()
            .any(|(_, line)| line.starts_with("xenbus|FDO")),
        "the dump is deregistered in D3"
    );
    let audit = sim.audit();
    assert_eq!(audit.watchdogs, 0, "disarmed in D3");
    assert_eq!(
        audit.open_ports.len(),
        ports_before,
        "timer channels closed"
    );
    core.stop_threads();
    relay.finish().expect("relay finishes");
}
