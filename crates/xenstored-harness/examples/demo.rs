// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! A demo run of xenbus.sys's portable core on the host: the host simulator of Xen 4.17
//! (`crates/xen-sim`) plays the hypervisor and the toolstack, Debian's real xenstored serves
//! the store ring, and the active FDO's subsystems (`xenbus::subsystems`) start on it exactly
//! as the driver starts them. The run then shows what a child driver would see: the PDOs the
//! `device/` area yields, a console line reaching the backend, a suspend and resume, and the
//! dump Xen's debug key produces.
//!
//! `cargo run -p xenstored-harness --example demo` (needs xen-utils-4.17 and libxen-dev for the
//! daemon and its shim; `scripts/setup` installs them).

use std::sync::Arc;

use platform_port::Deferred;
use platform_port::std_impl::{STD_DIRQL, StdInterrupts, StdPlatform};
use xen::services::Direct;
use xen_headers::xen::VIRQ_DEBUG;
use xen_sim::{Sim, SimConfig};
use xenbus::evtchn::EvtchnConfig;
use xenbus::pdo_identity::{Bus, Id, IdType, query_id, select_classes};
use xenbus::store::StoreConfig;
use xenbus::subsystems::{Subsystems, SubsystemsConfig};
use xenbus::suspend::SuspendSystem;
use xenstored_harness::relay::{GuestRing, RelayHooks};
use xenstored_harness::{Daemon, Impl, unavailable};

struct NoSystem;

impl SuspendSystem for NoSystem {
    fn register_vcpu_info(&self, _cpu: u32) {}
    fn unplug_devices(&self) {}
}

fn main() -> Result<(), String> {
    if let Some(why) = unavailable(Impl::C) {
        return Err(format!("demo: needs the real xenstored: {why}"));
    }
    let daemon = Daemon::start(Impl::C)?;
    let sim = Sim::new(SimConfig {
        vcpus: 2,
        ..SimConfig::default()
    });
    let domid = sim.domid();
    let (platform, _pages) = sim.platform(2);
    let world = build(&sim, &platform)?;
    let (_, ring) = sim.store_ring();
    let (kick, generation) = (sim.clone(), sim.clone());
    let relay = daemon.relay(
        domid,
        // SAFETY: the simulator's store ring page outlives the relay (finished below).
        unsafe { GuestRing::new(std::ptr::NonNull::new(ring).ok_or("no store ring")?) },
        RelayHooks {
            kick: Arc::new(move || kick.notify_store()),
            generation: Arc::new(move || generation.suspends()),
        },
    )?;
    world.start().map_err(|s| format!("start: {s:#010x}"))?;
    println!(
        "demo: xenbus started on the simulator (domain {domid}, {} ABI, console {})",
        if world.evtchn.abi_kind().is_some() {
            "event-channel"
        } else {
            "no"
        },
        if world.console_acquired() {
            "connected"
        } else {
            "absent"
        }
    );

    // The toolstack (dom0) creates two PV devices for the guest.
    let dom0 = daemon.dom0()?;
    let create_devices = || -> Result<(), String> {
        for (node, value) in [("device/vif/0/state", "1"), ("device/vbd/768/state", "1")] {
            let path = format!("/local/domain/{domid}/{node}");
            dom0.write(None, None, path.as_bytes(), value.as_bytes())
                .map_err(|e| format!("dom0 write {path}: {e}"))?;
        }
        Ok(())
    };
    create_devices()?;
    let store = world.store.store().ok_or("store not connected")?;
    show_pdos(&store)?;

    // A console line reaches the console backend.
    world.console.write(b"hello from xenbus\n");
    let output = sim.console_output();
    println!(
        "demo: console backend received {:?}",
        String::from_utf8_lossy(&output)
    );

    // Suspend and resume: the new domain's toolstack binds the store and console channels on
    // other ports (and EVTCHN's FIFO reset binds them again); xenbus reconnects both.
    let outcome = world.suspend.trigger();
    // The new host's toolstack introduces the domain to its xenstored and writes the device
    // area again.
    if !relay.await_generation(sim.suspends(), std::time::Duration::from_secs(10)) {
        return Err("the domain was not introduced again".into());
    }
    create_devices()?;
    let value = store
        .read(None, None, b"device/vif/0/state")
        .map_err(|e| format!("read after resume: {e}"))?;
    println!(
        "demo: suspend {outcome:?}: store/console reconnected on ports {:?}, store answers {:?}",
        sim.toolstack_ports(),
        String::from_utf8_lossy(value.as_bytes())
    );
    store.free(value);

    show_debug_key(&sim, &platform);

    drop(store);
    world.stop();
    platform.flush_dpcs();
    relay.finish()?;
    let audit = sim.audit();
    println!(
        "demo: stopped; nothing left behind: {}",
        if audit.is_clean() { "yes" } else { "NO" }
    );
    if audit.is_clean() {
        Ok(())
    } else {
        Err(format!("leaked: {audit:?}"))
    }
}

/// The PDOs the `device/` area yields (one per class, plus the synthetic IFACE).
fn show_pdos<T: xenbus::store::Transport>(
    store: &xenbus::store::Store<StdPlatform, T>,
) -> Result<(), String> {
    let listing = store
        .directory(None, None, b"device")
        .map_err(|e| format!("directory device: {e}"))?;
    let found: Vec<String> = listing
        .entries()
        .map(|e| String::from_utf8_lossy(e).into_owned())
        .collect();
    store.free(listing);
    let names: Vec<&str> = found.iter().map(String::as_str).collect();
    let bus = Bus {
        vendor_prefix: "XP".into(),
        pci_device_id: 0x0002,
    };
    let supported = ["VIF", "VBD", "IFACE", "CONS"];
    for class in select_classes(&bus, Some(&names), &["IFACE"], Some(&supported)) {
        if let Ok(Id::Single(device)) = query_id(&bus, &class, IdType::DeviceId) {
            println!("demo: PDO {class:<6} {device}");
        }
    }

    Ok(())
}

/// Xen's debug key: every subsystem dumps to the log.
fn show_debug_key(sim: &Sim, platform: &platform_port::std_impl::StdPlatform) {
    let _ = sim.raise_virq(VIRQ_DEBUG, 0);
    platform.flush_dpcs();
    let dumped = platform
        .log_lines()
        .into_iter()
        .filter(|(_, l)| l.starts_with("xenbus|"))
        .count();
    println!("demo: the debug key dumped {dumped} lines, e.g.:");
    for (_, line) in platform
        .log_lines()
        .iter()
        .filter(|(_, l)| l.starts_with("xenbus|EVTCHN") || l.starts_with("xenbus|STORE"))
        .take(6)
    {
        println!("demo:   {line}");
    }
}

/// The active FDO's subsystems on the simulator, with vCPU upcalls delivered to EVTCHN.
fn build(sim: &Sim, platform: &platform_port::std_impl::StdPlatform) -> Result<Arc<World>, String> {
    let world = Subsystems::new(
        platform.clone(),
        Arc::new(Direct::new(sim.vcpu(0), 2)),
        StdInterrupts::new(platform.clone()),
        SubsystemsConfig {
            evtchn: EvtchnConfig::default(),
            store: StoreConfig::default(),
            system: Arc::new(NoSystem),
            lookup: None,
        },
    )
    .map_err(|s| format!("subsystems: {s:#010x}"))?;
    for cpu in 0..2 {
        let weak = Arc::downgrade(&world);
        let p = platform.clone();
        sim.set_upcall_handler(
            cpu,
            // Delivered as the hardware would: at DIRQL on that CPU.
            Arc::new(move || {
                let weak = weak.clone();
                p.interrupt(cpu, STD_DIRQL, move || {
                    if let Some(w) = weak.upgrade() {
                        w.evtchn.deliver(cpu);
                    }
                });
            }),
        );
    }
    Ok(world)
}

type World =
    Subsystems<platform_port::std_impl::StdPlatform, Direct<xen_sim::SimVcpu>, StdInterrupts>;
