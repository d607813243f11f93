// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The active FDO's xenstore protocol (`xenbus::pnp::toolstack`) as a guest of Debian's real
//! xenstored and oxenstored, with dom0 playing the toolstack: the class scan over a `device/`
//! tree the toolstack wrote, the `drivers/<N>` entry beside other drivers' entries, the
//! `control/feature-*` flags dom0 reads, and the suspend thread's handling of
//! `control/shutdown` (woken by its watch).
//!
//! Without the daemons the test is skipped loudly (CI sets `XENSTORED_REQUIRED=1`, which turns
//! the skip into a failure).

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use platform_port::std_impl::StdPlatform;
use xenbus::pdo_identity::Bus;
use xenbus::pnp::distribution::Version;
use xenbus::pnp::toolstack::{
    ScanSettings, SuspendPass, announce_features, clear_distribution, scan_classes,
    set_distribution, suspend_pass, withdraw_features,
};
use xenbus::store::{Store, Transport, WatchEvent};
use xenstored_harness::{Daemon, Impl, unavailable};

const DOMID: u16 = 7;

fn home(path: &str) -> Vec<u8> {
    format!("/local/domain/{DOMID}/{path}").into_bytes()
}

fn read<T: Transport>(store: &Store<StdPlatform, T>, path: &[u8]) -> Option<String> {
    store.read(None, None, path).ok().map(|buffer| {
        let text = String::from_utf8_lossy(buffer.as_bytes()).into_owned();
        store.free(buffer);
        text
    })
}

fn bus() -> Bus {
    Bus {
        vendor_prefix: "XP".into(),
        pci_device_id: 2,
    }
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_string()).collect()
}

#[derive(Default)]
struct Counter(AtomicU32);

impl WatchEvent for Counter {
    fn signal(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn await_count<T: Transport>(store: &Store<StdPlatform, T>, counter: &Counter, at_least: u32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while counter.0.load(Ordering::SeqCst) < at_least {
        assert!(Instant::now() < deadline, "watch never fired");
        store.poll();
        std::thread::sleep(Duration::from_micros(200));
    }
}

type Dom0 = Store<StdPlatform, xenstored_harness::SocketTransport>;

fn run(imp: Impl) {
    let daemon = Daemon::start(imp).expect("daemon starts");
    let dom0 = daemon.dom0().expect("dom0");
    let guest = daemon.guest(&dom0, DOMID).expect("guest");
    scan(imp, &dom0, &guest);
    distribution(&dom0, &guest);
    features(&dom0, &guest);
    suspend(&dom0, &guest);
    assert_eq!(guest.outstanding().buffers, 0, "every buffer freed");
}

fn scan<T: Transport>(imp: Impl, dom0: &Dom0, guest: &Store<StdPlatform, T>) {
    // The toolstack's device tree (HVM: suspend, vbd, vkbd, vif, plus a console).
    for key in [
        "device/suspend/event-channel",
        "device/vbd/768/state",
        "device/vkbd/0/state",
        "device/vif/0/state",
        "device/vif/1/state",
        "device/console/0/state",
    ] {
        dom0.write(None, None, &home(key), b"1")
            .expect("toolstack write");
    }
    let settings = ScanSettings {
        synthetic: strings(&["IFACE", "CONS"]),
        supported: Some(strings(&["VIF", "VBD", "VKBD", "IFACE", "CONS"])),
    };
    let mut classes = scan_classes(guest, &bus(), &settings);
    // Store order is the daemon's; the synthetic classes always come last, in order.
    assert_eq!(
        classes.split_off(3),
        strings(&["IFACE", "CONS"]),
        "{}",
        imp.name()
    );
    classes.sort();
    assert_eq!(classes, strings(&["VBD", "VIF", "VKBD"]), "{}", imp.name());

    // No allow-list: no child at all. No device/ tree: only the synthetic classes.
    let none = ScanSettings {
        supported: None,
        ..settings.clone()
    };
    assert!(scan_classes(guest, &bus(), &none).is_empty());
    dom0.remove(None, None, &home("device"))
        .expect("remove device/");
    assert_eq!(
        scan_classes(guest, &bus(), &settings),
        strings(&["IFACE", "CONS"])
    );
}

fn distribution<T: Transport>(dom0: &Dom0, guest: &Store<StdPlatform, T>) {
    // drivers/<N>: two entries exist (another driver of ours, another vendor's bus driver).
    dom0.write(
        None,
        None,
        &home("drivers/0"),
        b"Xen_Project XENVIF 9.1.0.1 ",
    )
    .expect("drivers/0");
    dom0.write(None, None, &home("drivers/1"), b"Other XENBUS 8.0.0.0 ")
        .expect("drivers/1");
    let version = Version {
        major: 9,
        minor: 1,
        micro: 0,
        build: 42,
    };
    let index = set_distribution(guest, "Xen Project", version, false).expect("set");
    assert_eq!(index, 2);
    assert_eq!(
        read(dom0, &home("drivers/2")).as_deref(),
        Some("Xen_Project XENBUS 9.1.0.42 "),
        "the toolstack reads the entry with its trailing space"
    );
    assert_eq!(clear_distribution(guest, "Xen Project"), 1);
    assert_eq!(read(dom0, &home("drivers/2")), None);
    assert!(read(dom0, &home("drivers/0")).is_some());
    assert!(read(dom0, &home("drivers/1")).is_some());
}

fn features<T: Transport>(dom0: &Dom0, guest: &Store<StdPlatform, T>) {
    // The feature flags dom0 reads.
    assert_eq!(announce_features(guest, true), 2);
    assert_eq!(
        read(dom0, &home("control/feature-suspend")).as_deref(),
        Some("1")
    );
    assert_eq!(
        read(dom0, &home("control/feature-balloon")).as_deref(),
        Some("1")
    );
    withdraw_features(guest, true);
    assert_eq!(read(dom0, &home("control/feature-suspend")), None);
    assert_eq!(read(dom0, &home("control/feature-balloon")), None);
}

fn suspend<T: Transport>(dom0: &Dom0, guest: &Store<StdPlatform, T>) {
    // The suspend thread: woken by its watch, acts only on "suspend".
    let woken = Arc::new(Counter::default());
    let watch = guest
        .watch_add(None, b"control/shutdown", woken.clone(), 0x5000)
        .expect("watch control/shutdown");
    await_count(guest, &woken, 1);
    let suspends = Cell::new(0);
    let balloon_wakes = Cell::new(0);
    let pass = |in_d0: bool, balloon_free: bool| {
        suspend_pass(
            guest,
            in_d0,
            || balloon_free.then_some(()),
            || suspends.set(suspends.get() + 1),
            || balloon_wakes.set(balloon_wakes.get() + 1),
        )
    };
    assert_eq!(pass(true, true), SuspendPass::NotSuspend(None));
    dom0.write(None, None, &home("control/shutdown"), b"poweroff")
        .expect("poweroff");
    await_count(guest, &woken, 2);
    assert_eq!(
        pass(true, true),
        SuspendPass::NotSuspend(Some("poweroff".into()))
    );
    assert_eq!(
        read(dom0, &home("control/shutdown")).as_deref(),
        Some("poweroff")
    );
    dom0.write(None, None, &home("control/shutdown"), b"suspend")
        .expect("suspend");
    await_count(guest, &woken, 3);
    assert_eq!(pass(false, true), SuspendPass::NotInD0);
    assert_eq!(pass(true, false), SuspendPass::BalloonBusy);
    assert_eq!(
        read(dom0, &home("control/shutdown")).as_deref(),
        Some("suspend")
    );
    assert_eq!(suspends.get(), 0);
    assert_eq!(pass(true, true), SuspendPass::Suspended);
    assert_eq!((suspends.get(), balloon_wakes.get()), (1, 1));
    assert_eq!(
        read(dom0, &home("control/shutdown")).as_deref(),
        Some(""),
        "the toolstack sees the request acknowledged"
    );
    // The acknowledgement itself fires the watch; the next pass finds nothing to do.
    await_count(guest, &woken, 4);
    assert_eq!(
        pass(true, true),
        SuspendPass::NotSuspend(Some(String::new()))
    );
    guest.watch_remove(watch).expect("unwatch");
}

#[test]
fn the_fdo_toolstack_protocol_works_against_both_real_daemons() {
    for imp in Impl::ALL {
        if let Some(why) = unavailable(imp) {
            assert!(
                std::env::var_os("XENSTORED_REQUIRED").is_none(),
                "XENSTORED_REQUIRED is set but {why}"
            );
            eprintln!("SKIPPED toolstack protocol on {}: {why}", imp.name());
            continue;
        }
        run(imp);
    }
}
