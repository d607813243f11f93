// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! xenbus.sys on the stand-in (`xtk.mode=nt-xenbus`, the HVM guest of
//! `scripts/nt-xen-hvm-test`): the real image as the function driver of qemu-xen's Xen platform
//! device, over the real xen.sys image, against dom0's real xenstored.
//!
//! The PnP manager brings it up as Windows does (`DriverEntry`, `AddDevice` on the platform
//! device's PDO, the start sequence); its scan thread reads xenstore `device/` and the PnP
//! manager enumerates the PDOs it reports. Then, per PDO: its IDs against the portable
//! `pdo_identity` answers, its capabilities, and `IRP_MN_QUERY_INTERFACE` for every version of
//! every XENBUS interface (plus an unknown version and a short buffer); STORE is used end to
//! end (Acquire, Read of the domain's `name`, Free, Release) through the table the PDO filled,
//! in the Microsoft x64 convention. Then the devices are removed, the driver unloaded, and
//! nothing it allocated may remain.

use crate::harness::check;
use crate::nt::pnp::{self, State};
use crate::nt::{clock, loader, pci_bus, routines};
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::mem::offset_of;
use ntddk::{IO_STACK_LOCATION, IO_STACK_LOCATION_QUERY_INTERFACE, IRP_MN_QUERY_INTERFACE};
use xen_pvh_test::pci::Function;
use xenbus::pdo_identity::{self, Bus, Id, IdType};
use xenbus_interface::{Guid, InterfaceHeader};

/// The classes the scenario's registry lists (the INF's `SupportedClasses` and
/// `SyntheticClasses`, as the boot hive sets them).
pub const SUPPORTED_CLASSES: &[&str] = &["VIF", "VBD", "VKBD", "IFACE", "CONS"];
/// As above.
pub const SYNTHETIC_CLASSES: &[&str] = &["IFACE", "CONS"];

/// The C child driver's service (`xenchild.sys`, crates/child-driver): bound to the VIF PDO
/// as xenvif is, it queries every interface through `IRP_MN_QUERY_INTERFACE` IRPs sent down
/// its stack and prints its checks.
pub const CHILD_SERVICE: &str = "xenchild";
/// The classes whose PDOs the child driver binds to: VIF (as xenvif does) and VKBD (whose
/// `device/` entry dom0 removes and writes back, so each new VKBD PDO runs the checks again).
const CHILD_CLASSES: [&str; 2] = ["VIF", "VKBD"];
/// The prefix of the child driver's lines.
const CHILD_PREFIX: &str = "xenchild: ";

/// The child driver once loaded: its image and driver object.
#[derive(Clone, Copy)]
pub(super) struct Child {
    index: usize,
    driver: usize,
}

/// How long the scan thread may take to report the PDOs (100 ns units: 60 s; it waits for
/// dom0's xenstored through the event channel's interrupt).
const ENUMERATION_LIMIT: u64 = 600_000_000;

/// Every XENBUS interface a PDO serves: name, GUID, versions.
const INTERFACES: &[(&str, Guid, u16, u16)] = {
    use xenbus_interface as x;
    &[
        (
            "SUSPEND",
            x::suspend::GUID_XENBUS_SUSPEND_INTERFACE,
            x::suspend::XENBUS_SUSPEND_INTERFACE_VERSION_MIN,
            x::suspend::XENBUS_SUSPEND_INTERFACE_VERSION_MAX,
        ),
        (
            "SHARED_INFO",
            x::shared_info::GUID_XENBUS_SHARED_INFO_INTERFACE,
            x::shared_info::XENBUS_SHARED_INFO_INTERFACE_VERSION_MIN,
            x::shared_info::XENBUS_SHARED_INFO_INTERFACE_VERSION_MAX,
        ),
        (
            "EVTCHN",
            x::evtchn::GUID_XENBUS_EVTCHN_INTERFACE,
            x::evtchn::XENBUS_EVTCHN_INTERFACE_VERSION_MIN,
            x::evtchn::XENBUS_EVTCHN_INTERFACE_VERSION_MAX,
        ),
        (
            "DEBUG",
            x::debug::GUID_XENBUS_DEBUG_INTERFACE,
            x::debug::XENBUS_DEBUG_INTERFACE_VERSION_MIN,
            x::debug::XENBUS_DEBUG_INTERFACE_VERSION_MAX,
        ),
        (
            "STORE",
            x::store::GUID_XENBUS_STORE_INTERFACE,
            x::store::XENBUS_STORE_INTERFACE_VERSION_MIN,
            x::store::XENBUS_STORE_INTERFACE_VERSION_MAX,
        ),
        (
            "RANGE_SET",
            x::range_set::GUID_XENBUS_RANGE_SET_INTERFACE,
            x::range_set::XENBUS_RANGE_SET_INTERFACE_VERSION_MIN,
            x::range_set::XENBUS_RANGE_SET_INTERFACE_VERSION_MAX,
        ),
        (
            "CACHE",
            x::cache::GUID_XENBUS_CACHE_INTERFACE,
            x::cache::XENBUS_CACHE_INTERFACE_VERSION_MIN,
            x::cache::XENBUS_CACHE_INTERFACE_VERSION_MAX,
        ),
        (
            "GNTTAB",
            x::gnttab::GUID_XENBUS_GNTTAB_INTERFACE,
            x::gnttab::XENBUS_GNTTAB_INTERFACE_VERSION_MIN,
            x::gnttab::XENBUS_GNTTAB_INTERFACE_VERSION_MAX,
        ),
        (
            "UNPLUG",
            x::unplug::GUID_XENBUS_UNPLUG_INTERFACE,
            x::unplug::XENBUS_UNPLUG_INTERFACE_VERSION_MIN,
            x::unplug::XENBUS_UNPLUG_INTERFACE_VERSION_MAX,
        ),
        (
            "CONSOLE",
            x::console::GUID_XENBUS_CONSOLE_INTERFACE,
            x::console::XENBUS_CONSOLE_INTERFACE_VERSION_MIN,
            x::console::XENBUS_CONSOLE_INTERFACE_VERSION_MAX,
        ),
    ]
};

/// A buffer larger than any interface table.
const TABLE_BUFFER: usize = 512;
/// [`TABLE_BUFFER`] as `IO_STACK_LOCATION`'s `Size`.
const TABLE_SIZE: u16 = 512;
const _: () = assert!(TABLE_BUFFER == TABLE_SIZE as usize);

/// The scenario (see the module docs). `functions` is the HVM guest's PCI bus, `images` the
/// boot module's images.
pub fn run(functions: &[Function], images: &[(String, &'static [u8])]) {
    let Some(&(_, bytes)) = images.iter().find(|(name, _)| name == "xenbus.sys") else {
        check(
            "nt.xenbus.image",
            false,
            format_args!("no xenbus.sys in the boot module"),
        );
        return;
    };
    let index = match loader::load("xenbus.sys", bytes) {
        Ok(index) => index,
        Err(refused) => {
            check("nt.xenbus.load", false, format_args!("refused: {refused}"));
            return;
        }
    };
    check(
        "nt.xenbus.load",
        true,
        format_args!(
            "{} bytes, its xen.sys imports bound to xen.sys's exports",
            bytes.len()
        ),
    );
    let Some(platform) = functions.iter().find(|f| f.is_xen_platform()) else {
        check(
            "nt.xenbus.platform_device",
            false,
            format_args!("no Xen platform device on the bus"),
        );
        return;
    };
    let bus = Bus {
        vendor_prefix: String::from("XP"),
        pci_device_id: platform.device,
    };
    let child = load_child(&bus, images);
    let pdo = pci_bus::report(platform, true);
    let driver = match pnp::bring_up(index, "xenbus", pdo) {
        Ok(driver) => driver,
        Err(step) => {
            check("nt.xenbus.bring_up", false, format_args!("{step}"));
            return;
        }
    };
    check(
        "nt.xenbus.bring_up",
        true,
        format_args!(
            "DriverEntry, AddDevice and the start sequence on {}",
            platform.bdf
        ),
    );
    let children = enumerated(pdo);
    let mut classes: Vec<String> = Vec::new();
    for &child in &children {
        if let Some(class) = class_of(child) {
            classes.push(class.clone());
            identity(&bus, child, &class);
            interfaces(child, &class);
        }
    }
    pdos_are(classes);
    // STORE through a PDO the hot-plug round leaves in place.
    let store = children
        .iter()
        .find(|&&c| class_of(c).as_deref() != Some(HOTPLUG_CLASS))
        .and_then(|&c| store_end_to_end(c));
    if let Some(c) = &child {
        child_ran(c, &children);
        // This boot's xenbus.sys intercepts its children's DMA adapters (`InterceptDmaAdapter`
        // = 1 in the hive).
        dma_adapter_asked(pdo, c, &children, true);
    }
    if let Some(mut store) = store {
        toolstack_rounds(&mut store, pdo);
    }
    match pnp::tear_down(driver) {
        Ok(removal) => {
            check(
                "nt.xenbus.removed",
                removal.failed.is_empty() && removal.removed.len() == children.len() + 1,
                format_args!(
                    "{} nodes removed, {} failures",
                    removal.removed.len(),
                    removal.failed.len()
                ),
            );
        }
        Err(refusal) => {
            check("nt.xenbus.removed", false, format_args!("{refusal}"));
        }
    }
    loader::unload(index);
    super::leaks(index);
    if let Some(c) = child {
        unload_child(c);
    }
}

/// Loads the child driver from the boot module (`DriverEntry`) and binds it to the newest
/// hardware ID of the [`CHILD_CLASS`] PDO, as its INF would.
pub(super) fn load_child(bus: &Bus, images: &[(String, &'static [u8])]) -> Option<Child> {
    let Some(&(_, bytes)) = images.iter().find(|(name, _)| name == "xenchild.sys") else {
        check(
            "nt.xenbus.child.image",
            false,
            format_args!("no xenchild.sys in the boot module"),
        );
        return None;
    };
    routines::debug::keep(CHILD_PREFIX);
    let index = match loader::load("xenchild.sys", bytes) {
        Ok(index) => index,
        Err(refused) => {
            check(
                "nt.xenbus.child.load",
                false,
                format_args!("refused: {refused}"),
            );
            return None;
        }
    };
    let driver = match pnp::load_driver(index, CHILD_SERVICE) {
        Ok(driver) => driver,
        Err(status) => {
            check(
                "nt.xenbus.child.load",
                false,
                format_args!("DriverEntry: {:#010x}", status.cast_unsigned()),
            );
            loader::unload(index);
            return None;
        }
    };
    let ids: Vec<String> = CHILD_CLASSES
        .iter()
        .filter_map(
            |class| match pdo_identity::query_id(bus, class, IdType::HardwareIds) {
                Ok(Id::Multi(list)) => list.into_iter().next(),
                _ => None,
            },
        )
        .collect();
    check(
        "nt.xenbus.child.load",
        ids.len() == CHILD_CLASSES.len(),
        format_args!("{} bytes, DriverEntry done, bound to {ids:?}", bytes.len()),
    );
    for id in &ids {
        pnp::bind(id, driver);
    }
    Some(Child { index, driver })
}

/// The child driver's run on its PDO: attached, its checks all passed, STORE held.
pub(super) fn child_ran(c: &Child, children: &[usize]) {
    for class in CHILD_CLASSES {
        let bound = children.iter().find(|&&p| {
            class_of(p).as_deref() == Some(class)
                && routines::io::device(routines::io::attached_top(p)).map(|d| d.driver)
                    == Some(c.driver)
        });
        check(
            &alloc::format!("nt.xenbus.child.attached_{class}"),
            bound.is_some(),
            format_args!("xenchild's FDO on top of the {class} PDO's stack"),
        );
    }
    let (calls, claimed, unclaimed) = routines::interrupt::counts();
    check(
        "nt.xenbus.interrupts_delivered",
        claimed > 0,
        format_args!(
            "the platform device's line: {calls} service calls, {claimed} claimed, {unclaimed} \
             unclaimed"
        ),
    );
    child_again("nt.xenbus.child.checks", 0);
    let lines = routines::debug::kept();
    check(
        "nt.xenbus.child.holds_store",
        lines.iter().any(|l| l == "xenchild: holding STORE"),
        format_args!("STORE acquired after the checks, held while started"),
    );
}

/// The child's `GetDmaAdapter` through its PDO's `BUS_INTERFACE_STANDARD` reached the
/// platform device's bus (PCI's `pdo`) with the description's interface type set to `PCIBus`
/// (the child asked for `Internal`), as upstream's `DmaGetAdapter` sets it; then what the
/// child's DMA section did with the adapters ([`dma_used`]).
pub(super) fn dma_adapter_asked(pdo: usize, c: &Child, children: &[usize], intercept: bool) {
    let asked = pci_bus::dma_requests(pdo);
    check(
        "nt.xenbus.child.dma_adapter_for_pci_bus",
        !asked.is_empty() && asked.iter().all(|&t| t == ntddk::PCIBus),
        format_args!(
            "GetDmaAdapter reached the platform device's bus {} time(s), interface types \
             {asked:?} (PCIBus = {})",
            asked.len(),
            ntddk::PCIBus
        ),
    );
    dma_used(pdo, c, children, intercept);
}

/// The stand-in's records of the adapters PCI PDO `pdo` made (`crate::nt::dma`), after the
/// child's DMA section ran on each of its PDOs. `intercept`: xenbus.sys runs with
/// `InterceptDmaAdapter` non-zero, so the lower routines must get the platform device's PDO
/// (`pdo`) and the adapter's `DmaOperations` must be xenbus.sys's table; otherwise the child's
/// own FDO and the stand-in's table.
pub(super) fn dma_used(pdo: usize, c: &Child, children: &[usize], intercept: bool) {
    use crate::nt::dma;
    let adapters = dma::adapters_of(pdo);
    let fdos: Vec<usize> = children
        .iter()
        .map(|&p| routines::io::attached_top(p))
        .filter(|&top| routines::io::device(top).map(|d| d.driver) == Some(c.driver))
        .collect();
    let versions: Vec<u32> = adapters.iter().map(|a| a.version).collect();
    check(
        "nt.xenbus.child.dma_adapter_versions",
        [1, 2, 3].iter().all(|v| versions.contains(v)) && adapters.iter().all(|a| a.put),
        format_args!(
            "{} adapters (hex) {:x?}, table versions {versions:?}, put: {}",
            adapters.len(),
            adapters.iter().map(|a| a.address).collect::<Vec<_>>(),
            adapters.iter().filter(|a| a.put).count()
        ),
    );
    let uses: Vec<(&'static str, usize, usize, usize)> = adapters
        .iter()
        .flat_map(|a| {
            a.uses
                .iter()
                .map(move |u| (u.routine, u.device, u.table, a.table))
        })
        .collect();
    let routines_used = [
        "DMA_OPERATIONS.AllocateAdapterChannel",
        "DMA_OPERATIONS.GetScatterGatherList",
        "DMA_OPERATIONS.AllocateAdapterChannelEx",
        "DMA_OPERATIONS.GetScatterGatherListEx",
    ];
    let expected = |device: usize| {
        if intercept {
            device == pdo
        } else {
            fdos.contains(&device)
        }
    };
    check(
        "nt.xenbus.child.dma_device_objects",
        !fdos.is_empty()
            && routines_used.iter().all(|r| uses.iter().any(|u| u.0 == *r))
            && uses.iter().all(|u| expected(u.1)),
        format_args!(
            "{} calls with a DeviceObject, each with {} ({pdo:#x} is the platform PDO, the \
             child's FDOs {fdos:x?}; hex): {:x?}",
            uses.len(),
            if intercept {
                "the platform device's PDO (InterceptDmaAdapter = 1)"
            } else {
                "the child's own FDO (InterceptDmaAdapter = 0)"
            },
            uses.iter().map(|u| (u.0, u.1)).collect::<Vec<_>>()
        ),
    );
    check(
        "nt.xenbus.child.dma_operations_table",
        !uses.is_empty()
            && uses
                .iter()
                .all(|u| if intercept { u.2 != u.3 } else { u.2 == u.3 }),
        format_args!(
            "the adapter's DmaOperations while the child used it: {} (tables seen, hex, and the stand-in's: {:x?})",
            if intercept {
                "xenbus.sys's, not the stand-in's"
            } else {
                "the stand-in's own"
            },
            uses.iter().map(|u| (u.2, u.3)).collect::<Vec<_>>()
        ),
    );
    dma_executions(pdo, c, &fdos, &adapters, intercept);
    let left = dma::outstanding();
    check(
        "nt.xenbus.child.dma_nothing_outstanding",
        left.is_empty(),
        format_args!("{} left: {left:?}", left.len()),
    );
}

/// The execution routines the stand-in's adapters called (see [`dma_used`]).
fn dma_executions(
    pdo: usize,
    c: &Child,
    fdos: &[usize],
    adapters: &[crate::nt::dma::Summary],
    intercept: bool,
) {
    let executions: Vec<crate::nt::dma::Execution> = adapters
        .iter()
        .flat_map(|a| a.executions.iter().copied())
        .collect();
    let in_child = |f: usize| loader::containing(f as u64) == Some(c.index);
    check(
        "nt.xenbus.child.dma_execution_routines",
        !executions.is_empty()
            && executions.iter().all(|e| {
                if intercept {
                    e.device == pdo && !in_child(e.function)
                } else {
                    fdos.contains(&e.device) && in_child(e.function) && e.irp != 0
                }
            }),
        format_args!(
            "{} execution routine calls, each {} (hex): {:x?}",
            executions.len(),
            if intercept {
                "xenbus.sys's wrapper with the platform device's PDO"
            } else {
                "the child's own routine with its FDO and that FDO's CurrentIrp"
            },
            executions
                .iter()
                .map(|e| (e.routine, e.function, e.device, e.irp, e.action))
                .collect::<Vec<_>>()
        ),
    );
}

/// The child driver's runs of its checks so far (one per PDO it started on), the checks they
/// passed and failed (their summary lines), and the PASS lines printed.
fn child_totals() -> (usize, u64, u64, usize) {
    let lines = routines::debug::kept();
    let summaries: Vec<(u64, u64)> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("xenchild: interfaces: "))
        .filter_map(|s| {
            let (passed, rest) = s.split_once(" passed, ")?;
            let failed = rest.strip_suffix(" failed")?;
            Some((passed.parse().ok()?, failed.parse().ok()?))
        })
        .collect();
    let pass_lines = lines
        .iter()
        .filter(|l| l.starts_with("xenchild: PASS "))
        .count();
    (
        summaries.len(),
        summaries.iter().map(|&(p, _)| p).sum(),
        summaries.iter().map(|&(_, f)| f).sum(),
        pass_lines,
    )
}

/// Check `name`: the child driver ran its checks again since it had run `runs_before` times,
/// none failed, and its PASS lines agree with its summaries.
fn child_again(name: &str, runs_before: usize) {
    let (runs, passed, failed, pass_lines) = child_totals();
    check(
        name,
        runs > runs_before
            && failed == 0
            && passed > 0
            && usize::try_from(passed) == Ok(pass_lines),
        format_args!(
            "{runs} runs of the checks ({runs_before} before): {passed} passed, {failed} \
             failed, {pass_lines} PASS lines"
        ),
    );
}

/// After the PDOs are gone: the child driver released STORE and deleted its FDO in
/// `IRP_MN_REMOVE_DEVICE`; then its `DriverUnload`, and nothing of it may remain.
pub(super) fn unload_child(c: Child) {
    let lines = routines::debug::kept();
    check(
        "nt.xenbus.child.removed",
        lines.iter().any(|l| l == "xenchild: released STORE")
            && lines.iter().any(|l| l == "xenchild: removed"),
        format_args!("STORE released and the FDO deleted at removal"),
    );
    pnp::unbind(c.driver);
    let unloaded = pnp::unload_driver(c.driver);
    check(
        "nt.xenbus.child.unloaded",
        unloaded
            && routines::debug::kept()
                .iter()
                .any(|l| l == "xenchild: Unload"),
        format_args!("DriverUnload ran"),
    );
    loader::unload(c.index);
    super::leaks(c.index);
}

/// The domain's shutdown code set to reboot through xen.sys's `SchedShutdownCode` (the export
/// xenbus.sys imports it from): the stand-in ends the run with a poweroff, which Xen then
/// reports to the toolstack as a reboot (`scripts/nt-xen-hvm-test` checks `xl`'s reason code).
pub fn reboot_code(e: &crate::nt::xen_sys::Exports) {
    // SAFETY: no pointers; PASSIVE_LEVEL, between DllInitialize and DllUnload.
    let s = super::drv(|| unsafe { (e.sched_shutdown_code)(xen_headers::sched::SHUTDOWN_REBOOT) });
    super::status("nt.xenbus.shutdown_code", s, 0);
}

/// The classes of the PDOs enumerated: what xl gives an HVM guest (vbd, vif and vkbd) and the
/// synthetic IFACE and CONS.
fn pdos_are(mut classes: Vec<String>) {
    classes.sort();
    let mut expected: Vec<String> = ["CONS", "IFACE", "VBD", "VIF", "VKBD"]
        .iter()
        .map(|c| String::from(*c))
        .collect();
    expected.sort();
    check(
        "nt.xenbus.pdos",
        classes == expected,
        format_args!("{classes:?} (device/ lists vbd, vif and vkbd; IFACE and CONS are synthetic)"),
    );
}

/// Runs the PnP manager's loop and the interrupt polls until `done` holds or `limit` (100 ns
/// units) passed: whether it held, and the time waited.
fn wait_until(limit: u64, mut done: impl FnMut() -> bool) -> (bool, u64) {
    let start = clock::interrupt_time();
    loop {
        pnp::settle();
        let waited = clock::interrupt_time().saturating_sub(start);
        if done() {
            return (true, waited);
        }
        if waited > limit {
            return (false, waited);
        }
        routines::interrupt::poll();
        let until = clock::interrupt_time().saturating_add(10_000);
        while clock::interrupt_time() < until {
            crate::arch::pause();
        }
        clock::update();
    }
}

/// The started children of `pdo`.
fn started_children(pdo: usize) -> Vec<usize> {
    pnp::node(pdo)
        .map(|n| n.children)
        .unwrap_or_default()
        .into_iter()
        .filter(|&c| pnp::node(c).is_some_and(|n| n.state == State::Started))
        .collect()
}

/// The platform device's children once the scan reported them (waiting up to
/// [`ENUMERATION_LIMIT`] for five).
pub(super) fn enumerated(pdo: usize) -> Vec<usize> {
    let (_, waited) = wait_until(ENUMERATION_LIMIT, || started_children(pdo).len() >= 5);
    let children = pnp::node(pdo).map(|n| n.children).unwrap_or_default();
    let started = started_children(pdo).len();
    check(
        "nt.xenbus.enumerated",
        started >= 5,
        format_args!(
            "{} PDOs reported, {started} started, after {} ms",
            children.len(),
            waited / 10_000
        ),
    );
    children
}

/// The class whose `device/` entry dom0 removes and adds back.
const HOTPLUG_CLASS: &str = "VKBD";
/// The nodes dom0 creates in our `data/` (owned by us) before the domain runs; removing one
/// asks dom0 to remove `device/vkbd`, then to write it back (`scripts/nt-xen-hvm-test`).
const HOTPLUG_REMOVE: &str = "data/xtk-go-remove-vkbd";
/// As above.
const HOTPLUG_ADD: &str = "data/xtk-go-add-vkbd";
/// How long xenbus.sys's scan and the PnP manager may take to follow dom0's change (60 s).
const HOTPLUG_LIMIT: u64 = 600_000_000;

/// The rounds dom0 drives while xenbus.sys runs on the platform device's PDO `pdo`, each asked
/// for through `store`: a `device/` change, the balloon, a checkpoint, a save and restore, a
/// migration, the `device/` change again in the migrated domain (with the child driver's checks
/// on the new PDO), and hostile values.
fn toolstack_rounds(store: &mut Store, pdo: usize) {
    hotplug(store, pdo, "");
    sleep_and_wake(store, pdo);
    rebalance(store, pdo);
    balloon(store);
    checkpoint(store);
    child_round(store, pdo, "-c", "checkpoint");
    hibernate(store, pdo);
    resumed_elsewhere(store, pdo, "save");
    child_round(store, pdo, "-s", "save");
    resumed_elsewhere(store, pdo, "migrate");
    child_round(store, pdo, "-2", "migrate");
    hostile(store, pdo);
}

/// After a suspend: `device/vkbd` removed and written back ([`hotplug`] round `round`), so the
/// child driver runs its checks again on the new PDO, the round with dom0's peer included.
fn child_round(store: &mut Store, pdo: usize, round: &str, after: &str) {
    let runs = child_totals().0;
    hotplug(store, pdo, round);
    child_again(
        &alloc::format!("nt.xenbus.{after}.child_checks_again"),
        runs,
    );
}

/// `PowerSystemWorking`, `PowerSystemSleeping3`.
const POWER_SYSTEM_WORKING: i32 = ntddk::PowerSystemWorking;
const POWER_SYSTEM_SLEEPING3: i32 = ntddk::PowerSystemSleeping3;
/// `PowerDeviceD0`, `PowerDeviceD3` as the power manager records them.
const POWER_DEVICE_D0: u32 = 1;
const POWER_DEVICE_D3: u32 = 4;

/// A system power IRP of `minor` to `state` sent to the top of the stack of `pdo`, as the power
/// manager sends it: its status.
pub(super) fn system_power_irp(pdo: usize, minor: u8, state: i32) -> i32 {
    let reply = pnp::send_major(
        pdo,
        ntddk::IRP_MJ_POWER,
        minor,
        ntddk::STATUS_NOT_SUPPORTED,
        0,
        |l| {
            l.set(
                offset_of!(IO_STACK_LOCATION, Parameters),
                ntddk::IO_STACK_LOCATION_POWER {
                    SystemContext: 0,
                    Padding0: 0,
                    Type: ntddk::SystemPowerState,
                    Padding1: 0,
                    State: ntddk::POWER_STATE { SystemState: state },
                    Padding2: 0,
                    ShutdownType: 0,
                },
            );
        },
    );
    reply.status
}

/// What one sleep round did ([`power_round`]).
struct PowerRound {
    /// The child stacks a function driver owns.
    children: usize,
    /// Every system power IRP: what, to which PDO, its status.
    answers: Vec<(&'static str, usize, i32)>,
    /// The FDO's device state asleep and after the wake.
    asleep: u32,
    awake: u32,
    /// Child drivers that gave STORE back going to D3, and took it again in D0.
    released: usize,
    again: usize,
}

/// One sleep to system state `state` and back to S0, as the power manager drives a machine
/// with xenbus.sys's children: the query to every child stack a function driver owns (the C
/// child driver) and to the platform device's, then the set-power to the children first and
/// the platform device last; each child's driver, its stack's power policy owner, requests D3
/// and gives STORE back, and so does this check's own STORE user (`store`, acquired again by
/// the caller). Then S0 to the platform device first, the children after, which request D0 and
/// acquire STORE again.
fn power_round(store: &mut Store, pdo: usize, state: i32) -> PowerRound {
    let fdo = routines::io::attached_top(pdo);
    let device_state = || routines::io::device(fdo).map_or(0, |d| d.power.1);
    let children: Vec<usize> = started_children(pdo)
        .into_iter()
        .filter(|&c| routines::io::attached_top(c) != c)
        .collect();
    let lines = |text: &str| {
        routines::debug::kept()
            .iter()
            .filter(|l| l.as_str() == text)
            .count()
    };
    let (released, again) = (
        lines("xenchild: released STORE"),
        lines("xenchild: holding STORE again"),
    );
    let (query, set) = (ntddk::IRP_MN_QUERY_POWER, ntddk::IRP_MN_SET_POWER);
    store.give_back();
    let mut answers: Vec<(&'static str, usize, i32)> = Vec::new();
    for &c in &children {
        answers.push(("child query", c, system_power_irp(c, query, state)));
    }
    answers.push(("query", pdo, system_power_irp(pdo, query, state)));
    for &c in &children {
        answers.push(("child set", c, system_power_irp(c, set, state)));
    }
    answers.push(("set", pdo, system_power_irp(pdo, set, state)));
    let asleep = device_state();
    answers.push((
        "set S0",
        pdo,
        system_power_irp(pdo, set, POWER_SYSTEM_WORKING),
    ));
    let awake = device_state();
    for &c in &children {
        answers.push((
            "child set S0",
            c,
            system_power_irp(c, set, POWER_SYSTEM_WORKING),
        ));
    }
    PowerRound {
        children: children.len(),
        answers,
        asleep,
        awake,
        released: lines("xenchild: released STORE").saturating_sub(released),
        again: lines("xenchild: holding STORE again").saturating_sub(again),
    }
}

impl PowerRound {
    /// Checks `<prefix>.entered_and_left` and `<prefix>.children_slept`.
    fn check(&self, prefix: &str, state: &str) {
        let refused: Vec<&(&str, usize, i32)> = self.answers.iter().filter(|a| a.2 != 0).collect();
        check(
            &alloc::format!("{prefix}.entered_and_left"),
            self.children > 0
                && refused.is_empty()
                && self.asleep == POWER_DEVICE_D3
                && self.awake == POWER_DEVICE_D0,
            format_args!(
                "{} system power IRPs ({state} and S0) to {} child stacks and the platform \
                 device, refused: {refused:x?}; the FDO in device state {} in {state}, {} after",
                self.answers.len(),
                self.children,
                self.asleep,
                self.awake
            ),
        );
        check(
            &alloc::format!("{prefix}.children_slept"),
            self.released == self.children && self.again == self.children,
            format_args!(
                "of {} child drivers, {} gave STORE back going to D3 and {} took it again in D0",
                self.children, self.released, self.again
            ),
        );
    }
}

/// The machine sleeps (S3) and wakes (S0) ([`power_round`]): xenbus.sys answers the platform
/// device's system IRPs through device power IRPs it requests from its own stack (D3 before the
/// lower stack sleeps, D0 after it woke), the child drivers request theirs (D3, then D0), and
/// everything works after.
fn sleep_and_wake(store: &mut Store, pdo: usize) {
    let (requested, _) = routines::po::requests();
    let round = power_round(store, pdo, POWER_SYSTEM_SLEEPING3);
    round.check("nt.xenbus.power.sleep", "S3");
    let (after, completed) = routines::po::requests();
    let expected = round.children.saturating_mul(2).saturating_add(3);
    check(
        "nt.xenbus.power.device_irps_requested",
        after.saturating_sub(requested) == u64::try_from(expected).unwrap_or(u64::MAX)
            && completed >= after,
        format_args!(
            "{} device power IRPs requested for the system IRPs, {expected} expected (xenbus.sys: \
             query D3, set D3, set D0; each of {} child drivers: D3, D0), {completed} of {after} \
             completed",
            after.saturating_sub(requested),
            round.children
        ),
    );
    let taken = store.take_again();
    let (_, claimed_before, _) = routines::interrupt::counts();
    let (status, name) = store.read("name");
    let (_, claimed_after, _) = routines::interrupt::counts();
    check(
        "nt.xenbus.power.store_after",
        taken == 0 && status == 0 && name == "xtk-hvm" && claimed_after > claimed_before,
        format_args!(
            "STORE acquired again ({taken:#x}), name = {name:?} (status {status:#x}), {} \
             interrupts claimed, after the wake",
            claimed_after.saturating_sub(claimed_before)
        ),
    );
}

/// Hibernation (S4) and the return from it ([`power_round`]): with the children in D3 and
/// STORE given back, xenbus.sys finds no interface still referenced entering S4 (upstream's
/// `FdoS3ToS4`, which stops the machine otherwise); its return from S4 unplugs the emulated
/// devices again (upstream's `FdoS4ToS3`: the NIC leaves the bus) before the children come
/// back. STORE and interrupt-delivered events work after. Run after the checkpoint, whose check
/// needs the NIC still on the bus.
fn hibernate(store: &mut Store, pdo: usize) {
    let nic_before = crate::hvm::scan().iter().any(Function::is_network);
    let round = power_round(store, pdo, ntddk::PowerSystemHibernate);
    round.check("nt.xenbus.hibernate", "S4");
    // Back from S4 the device model is a fresh one as far as Windows knows: xenbus.sys unplugs
    // the emulated devices again (here the NIC this boot asked for, still on the bus since
    // nothing in this domain had unplugged it).
    let nic_after = crate::hvm::scan().iter().any(Function::is_network);
    check(
        "nt.xenbus.hibernate.nic_unplugged_on_return",
        nic_before && !nic_after,
        format_args!(
            "the emulated NIC on the bus before S4: {nic_before}, after the return to S0: \
             {nic_after}"
        ),
    );
    let taken = store.take_again();
    let (_, claimed_before, _) = routines::interrupt::counts();
    let (status, name) = store.read("name");
    let (_, claimed_after, _) = routines::interrupt::counts();
    check(
        "nt.xenbus.hibernate.store_after",
        taken == 0 && status == 0 && name == "xtk-hvm" && claimed_after > claimed_before,
        format_args!(
            "STORE acquired again ({taken:#x}), name = {name:?} (status {status:#x}), {} \
             interrupts claimed",
            claimed_after.saturating_sub(claimed_before)
        ),
    );
}

/// A resource rebalance of the platform device while the C child driver holds STORE: the PnP
/// manager's `QUERY_STOP` is vetoed (a stop would disconnect the interrupts EVTCHN delivers the
/// child's events on; upstream lets it through and then asserts, or loses the interrupt), so
/// no `STOP` follows, the PnP manager cancels, and the FDO stays in D0 with every child
/// started and the store answering through the interrupt.
fn rebalance(store: &mut Store, pdo: usize) {
    let fdo = routines::io::attached_top(pdo);
    let device_state = || routines::io::device(fdo).map_or(0, |d| d.power.1);
    let children_before = started_children(pdo);
    let stops_before = pnp::sent()
        .get(&ntddk::IRP_MN_STOP_DEVICE)
        .copied()
        .unwrap_or(0);
    let r = pnp::rebalance(pdo);
    let stops = pnp::sent()
        .get(&ntddk::IRP_MN_STOP_DEVICE)
        .copied()
        .unwrap_or(0)
        .saturating_sub(stops_before);
    let powered = device_state();
    check(
        "nt.xenbus.rebalance.vetoed_while_a_child_holds_store",
        r.query_stop.status == ntstatus::STATUS_UNSUCCESSFUL
            && r.stop.is_none()
            && r.start.is_none()
            && stops == 0
            && powered == POWER_DEVICE_D0,
        format_args!(
            "QUERY_STOP {:#x} (want STATUS_UNSUCCESSFUL), {stops} STOP sent, the FDO in \
             device state {powered} (D0 is {POWER_DEVICE_D0})",
            r.query_stop.status.cast_unsigned()
        ),
    );
    let (_, claimed_before, _) = routines::interrupt::counts();
    let (status, name) = store.read("name");
    let (_, claimed_after, _) = routines::interrupt::counts();
    let children_after = started_children(pdo);
    check(
        "nt.xenbus.rebalance.working_after",
        status == 0
            && name == "xtk-hvm"
            && claimed_after > claimed_before
            && children_after == children_before,
        format_args!(
            "name = {name:?} (status {status:#x}), {} interrupts claimed; started children \
             {children_after:x?}, before {children_before:x?}",
            claimed_after.saturating_sub(claimed_before)
        ),
    );
}

/// How long the balloon must hold back while memory is low (5 s: five of its retries).
const LOW_MEMORY_HOLD: u64 = 50_000_000;

/// Pages the toolstack's `xl mem-set xtk-hvm 62` (from 64 MiB) asks the balloon for.
const BALLOON_PAGES: u64 = 512;
/// How long the balloon may take to follow a target (60 s).
const BALLOON_LIMIT: u64 = 600_000_000;

/// Pages the domain has, as Xen counts them (`XENMEM_current_reservation`).
fn reservation() -> u64 {
    xen::memory::current_reservation(crate::suite::hv(), xen_headers::xen::DOMID_SELF).unwrap_or(0)
}

/// The toolstack moves `memory/target` (`xl mem-set`, from dom0): down by 2 MiB, then back.
/// xenbus.sys's balloon thread follows each: it takes pages from the kernel
/// (`MmAllocatePagesForMdlEx`, hot removed) and gives them to Xen, then gets them back from
/// Xen and returns them (`MmAddPhysicalMemory`, which the stand-in accepts only for frames the
/// domain has again). Both sides are counted: the kernel's hot-removed pages and Xen's
/// reservation.
fn balloon(store: &mut Store) {
    let before = reservation();
    let (removed_before, added_before) = routines::mm::hot_removed_total();
    // Memory is low when the toolstack asks: the balloon holds back (retrying every second)
    // until the memory manager clears the condition.
    routines::event::set_low_memory(true);
    let (_, target_before) = store.read("memory/target");
    let status = ask_dom0(store, "data/xtk-go-balloon-down");
    check(
        "nt.xenbus.balloon.down_asked",
        status == 0,
        format_args!("data/xtk-go-balloon-down removed through STORE (status {status:#x})"),
    );
    let mut target = target_before.clone();
    let (lowered, _) = wait_until(BALLOON_LIMIT, || {
        target = store.read("memory/target").1;
        target != target_before
    });
    let (moved, _) = wait_until(LOW_MEMORY_HOLD, || routines::mm::hot_removed() != 0);
    let held_back = routines::mm::hot_removed();
    check(
        "nt.xenbus.balloon.held_back_while_memory_is_low",
        lowered && !moved && held_back == 0,
        format_args!(
            "memory/target {target_before:?} -> {target:?} with \
             \\KernelObjects\\LowMemoryCondition signalled: {held_back} pages taken in {} s",
            LOW_MEMORY_HOLD / 10_000_000
        ),
    );
    routines::event::set_low_memory(false);
    let (inflated, waited) = wait_until(BALLOON_LIMIT, || {
        u64::try_from(routines::mm::hot_removed()).unwrap_or(0) >= BALLOON_PAGES
    });
    let held = routines::mm::hot_removed();
    let down = reservation();
    check(
        "nt.xenbus.balloon.inflated",
        inflated
            && u64::try_from(held) == Ok(BALLOON_PAGES)
            && before.saturating_sub(down) == BALLOON_PAGES,
        format_args!(
            "memory/target 2 MiB lower: {held} pages hot-removed from the kernel, Xen's \
             reservation {before} -> {down} pages, after {} ms",
            waited / 10_000
        ),
    );
    let status = ask_dom0(store, "data/xtk-go-balloon-up");
    check(
        "nt.xenbus.balloon.up_asked",
        status == 0,
        format_args!("data/xtk-go-balloon-up removed through STORE (status {status:#x})"),
    );
    let (deflated, waited) = wait_until(BALLOON_LIMIT, || routines::mm::hot_removed() == 0);
    let up = reservation();
    let (removed, added) = routines::mm::hot_removed_total();
    check(
        "nt.xenbus.balloon.deflated",
        deflated
            && up == before
            && removed.saturating_sub(removed_before) == BALLOON_PAGES
            && added.saturating_sub(added_before) == BALLOON_PAGES,
        format_args!(
            "memory/target back: every page populated again and added back to the kernel \
             ({} hot-removed, {} added), Xen's reservation {up} pages, after {} ms",
            removed.saturating_sub(removed_before),
            added.saturating_sub(added_before),
            waited / 10_000
        ),
    );
}

/// The node whose removal asks dom0 for a checkpoint (`xl save -c`).
const CHECKPOINT_NODE: &str = "data/xtk-go-checkpoint";
/// How long the checkpoint may take: the toolstack's request, the suspend thread, the save of
/// 64 MiB under nested emulation, the resume (180 s).
const CHECKPOINT_LIMIT: u64 = 1_800_000_000;
/// What the suspend hypercall returns when the toolstack resumes the domain it saved (a
/// checkpoint): xen.sys's `SchedShutdown` status for "cancelled".
const STATUS_CANCELLED: i32 = ntstatus::STATUS_CANCELLED;

/// A checkpoint started by dom0 (`xl save -c`): the toolstack writes `control/shutdown =
/// suspend`, xenbus.sys's suspend thread acknowledges it and suspends the domain, the toolstack
/// saves it and resumes it with the suspend cancelled (the same domain continues, no callback
/// runs). Then STORE and event delivery must work as before.
fn checkpoint(store: &mut Store) {
    let status = ask_dom0(store, CHECKPOINT_NODE);
    check(
        "nt.xenbus.checkpoint.asked",
        status == 0,
        format_args!("{CHECKPOINT_NODE} removed through STORE (status {status:#x})"),
    );
    let (before, _) = loader::suspends();
    let (done, waited) = wait_until(CHECKPOINT_LIMIT, || loader::suspends().0 > before);
    let (after, status) = loader::suspends();
    check(
        "nt.xenbus.checkpoint.suspended_and_cancelled",
        done && after == before + 1 && status == STATUS_CANCELLED,
        format_args!(
            "xenbus.sys's suspend thread suspended the domain (SchedShutdown(SHUTDOWN_suspend), \
             {} call(s)) and the toolstack resumed it cancelled (status {:#010x}) after {} ms",
            after.saturating_sub(before),
            status.cast_unsigned(),
            waited / 10_000
        ),
    );
    if !done {
        return;
    }
    // A cancelled suspend runs no callback: nothing unplugs the NIC xen.sys was asked to (this
    // boot has no xenfilt to do it at boot).
    check(
        "nt.xenbus.checkpoint.nic_still_there",
        crate::hvm::scan().iter().any(Function::is_network),
        format_args!("the emulated NIC is on the bus after the cancelled suspend"),
    );
    // The suspend thread acknowledged the request before it suspended.
    let (status, value) = store.read("control/shutdown");
    check(
        "nt.xenbus.checkpoint.acknowledged",
        status == 0 && value.is_empty(),
        format_args!("control/shutdown = {value:?} (status {status:#x})"),
    );
    let (_, claimed_before, _) = routines::interrupt::counts();
    let (status, name) = store.read("name");
    let (_, claimed_after, _) = routines::interrupt::counts();
    check(
        "nt.xenbus.checkpoint.store_after",
        status == 0 && name == "xtk-hvm",
        format_args!("name = {name:?} (status {status:#x}) after the checkpoint"),
    );
    check(
        "nt.xenbus.checkpoint.events_after",
        claimed_after > claimed_before,
        format_args!(
            "the reply came by interrupt: {} service calls claimed during the read",
            claimed_after.saturating_sub(claimed_before)
        ),
    );
}

/// The `control/shutdown` value dom0 writes in the hostile step: not exactly `suspend`, so
/// xenbus.sys's suspend thread must leave it alone.
const HOSTILE_SHUTDOWN: &str = "suspend-please";

/// dom0 writes what xenbus.sys must shrug off (`scripts/nt-xen-hvm-test`, step `hostile`):
/// `device/` classes no INF supports (an 80-character name, a non-ASCII one), an instance
/// that is not a number, a `control/shutdown` request that is not exactly `suspend`, and a
/// `memory/target` beyond the domain's memory followed by one that is not a number. No PDO
/// may appear or go, no suspend may start, the request stays unacknowledged, the balloon stays
/// empty (a target above static-max asks for nothing; a non-number is ignored), STORE still
/// works.
fn hostile(store: &mut Store, pdo: usize) {
    let classes = |pdo| {
        let mut c: Vec<String> = started_children(pdo)
            .into_iter()
            .filter_map(class_of)
            .collect();
        c.sort();
        c
    };
    let before = classes(pdo);
    let (suspends, _) = loader::suspends();
    let status = ask_dom0(store, "data/xtk-go-hostile");
    check(
        "nt.xenbus.hostile.asked",
        status == 0,
        format_args!("data/xtk-go-hostile removed through STORE (status {status:#x})"),
    );
    let reserved = reservation();
    let (seen, _) = wait_until(HOTPLUG_LIMIT, || {
        store.read("control/shutdown").1 == HOSTILE_SHUTDOWN
            && store.read("memory/target").1 == "lots"
    });
    // Time for the scan and suspend threads to act on what their watches reported (2 s).
    let _ = wait_until(20_000_000, || false);
    let (status, value) = store.read("control/shutdown");
    check(
        "nt.xenbus.hostile.shutdown_request_ignored",
        seen && status == 0 && value == HOSTILE_SHUTDOWN && loader::suspends().0 == suspends,
        format_args!(
            "control/shutdown = {value:?} left unacknowledged, {} suspend(s) started",
            loader::suspends().0.saturating_sub(suspends)
        ),
    );
    let held = routines::mm::hot_removed();
    let now = reservation();
    check(
        "nt.xenbus.hostile.memory_target_ignored",
        seen && held == 0 && now == reserved,
        format_args!(
            "memory/target 4 TiB then \"lots\": {held} pages hot-removed, Xen's reservation \
             {reserved} -> {now} pages"
        ),
    );
    let after = classes(pdo);
    check(
        "nt.xenbus.hostile.device_tree",
        after == before,
        format_args!("PDOs {after:?} (before: {before:?})"),
    );
    let (status, name) = store.read("name");
    check(
        "nt.xenbus.hostile.store_after",
        status == 0 && name == "xtk-hvm",
        format_args!("name = {name:?} (status {status:#x})"),
    );
}

/// Suspends completed (resumed in a new domain) so far.
static RESUMED: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

/// SUSPEND v1's `GetCount` through the table of a started child of the platform device's PDO
/// `pdo` (acquired and released around the call).
fn suspend_count(pdo: usize) -> Option<u32> {
    type Acquire = unsafe extern "win64" fn(*mut c_void) -> i32;
    type Release = unsafe extern "win64" fn(*mut c_void);
    type GetCount = unsafe extern "win64" fn(*mut c_void) -> u32;
    use xenbus_interface::suspend as s;
    let child = *started_children(pdo).first()?;
    let mut table = [0u8; TABLE_BUFFER];
    let status = query(
        child,
        &s::GUID_XENBUS_SUSPEND_INTERFACE,
        1,
        TABLE_SIZE,
        table.as_mut_ptr(),
    );
    let slot = |offset| method_at(&table[..], offset);
    let methods = [
        slot(offset_of!(s::XenbusSuspendInterfaceV1, acquire)),
        slot(offset_of!(s::XenbusSuspendInterfaceV1, release)),
        slot(offset_of!(s::XenbusSuspendInterfaceV1, get_count)),
    ];
    if status != 0 || !methods.iter().all(|&a| crate::nt::is_driver_code(a as u64)) {
        return None;
    }
    let [acquire, release, get_count] = methods;
    // SAFETY: each address is code of xenbus.sys (checked above), the table's method of that
    // type in the Microsoft x64 convention (so for the two below).
    let acquire = unsafe { core::mem::transmute::<usize, Acquire>(acquire) };
    // SAFETY: as above.
    let release = unsafe { core::mem::transmute::<usize, Release>(release) };
    // SAFETY: as above.
    let get_count = unsafe { core::mem::transmute::<usize, GetCount>(get_count) };
    let interface = table.as_mut_ptr().cast::<c_void>();
    // SAFETY: PASSIVE_LEVEL; the table the PDO filled, as a child passes it.
    if crate::nt::call_driver("SuspendAcquire", || unsafe { acquire(interface) }) != 0 {
        return None;
    }
    // SAFETY: as above, acquired.
    let count = crate::nt::call_driver("SuspendGetCount", || unsafe { get_count(interface) });
    // SAFETY: the Acquire above, released once.
    crate::nt::call_driver("SuspendRelease", || unsafe { release(interface) });
    Some(count)
}

/// How long dom0 may take to create a node after the domain changed (60 s).
const ASK_LIMIT: u64 = 600_000_000;

/// Asks dom0 for the next step: removes our `node` (dom0 created it, owned by us) through
/// STORE, once it exists (after a restore or a migration dom0 creates the remaining nodes in
/// the new domain). The status of the removal.
fn ask_dom0(store: &mut Store, node: &str) -> i32 {
    let _ = wait_until(ASK_LIMIT, || store.read(node).0 == 0);
    store.remove(node)
}

/// A save and restore (`what` = `save`: `xl save`, `xl restore`) or a local live migration
/// (`migrate`: `xl migrate`) started by dom0: the toolstack asks through `control/shutdown`,
/// xenbus.sys suspends the domain, and the domain resumes as a new one, where the suspend
/// hypercall returns success: xenbus.sys's resume runs (the count advances, the EARLY and LATE
/// callbacks re-establish `shared_info`, the event channels, the grant table and the store
/// ring). Then STORE and event delivery must work in the new domain. The step is asked for by
/// removing `data/xtk-go-<what>`.
fn resumed_elsewhere(store: &mut Store, pdo: usize, what: &str) {
    let (status, old_domid) = store.read("domid");
    check(
        &alloc::format!("nt.xenbus.{what}.domid_before"),
        status == 0 && !old_domid.is_empty(),
        format_args!("domid = {old_domid:?} (status {status:#x})"),
    );
    let node = alloc::format!("data/xtk-go-{what}");
    let (before, _) = loader::suspends();
    let status = ask_dom0(store, &node);
    check(
        &alloc::format!("nt.xenbus.{what}.asked"),
        status == 0,
        format_args!("{node} removed through STORE (status {status:#x})"),
    );
    let (done, waited) = wait_until(CHECKPOINT_LIMIT, || loader::suspends().0 > before);
    let (after, status) = loader::suspends();
    check(
        &alloc::format!("nt.xenbus.{what}.suspended_and_resumed"),
        done && after == before + 1 && status == 0,
        format_args!(
            "xenbus.sys's suspend thread suspended the domain and it resumed as a new domain \
             (SchedShutdown status {:#010x}) after {} ms",
            status.cast_unsigned(),
            waited / 10_000
        ),
    );
    if !done {
        return;
    }
    // The new domain's device model has every emulated device of the configuration again;
    // xenbus.sys's early resume callback unplugged the NIC once more.
    check(
        &alloc::format!("nt.xenbus.{what}.nic_unplugged_again"),
        !crate::hvm::scan().iter().any(Function::is_network),
        format_args!("no network function on the new domain's bus after the resume"),
    );
    let resumed = RESUMED.fetch_add(1, core::sync::atomic::Ordering::SeqCst) + 1;
    let count = suspend_count(pdo);
    check(
        &alloc::format!("nt.xenbus.{what}.suspend_count"),
        count == Some(resumed),
        format_args!(
            "SUSPEND GetCount through a PDO's table: {count:?}, {resumed} suspend(s) completed \
             (a cancelled one does not count)"
        ),
    );
    let (status, domid) = store.read("domid");
    check(
        &alloc::format!("nt.xenbus.{what}.new_domain"),
        status == 0 && !domid.is_empty() && domid != old_domid,
        format_args!("domid {old_domid:?} before, {domid:?} after (status {status:#x})"),
    );
    let (_, claimed_before, _) = routines::interrupt::counts();
    let (status, name) = store.read("name");
    let (_, claimed_after, _) = routines::interrupt::counts();
    check(
        &alloc::format!("nt.xenbus.{what}.store_after"),
        status == 0 && name == "xtk-hvm",
        format_args!("name = {name:?} (status {status:#x}) in the new domain"),
    );
    check(
        &alloc::format!("nt.xenbus.{what}.events_after"),
        claimed_after > claimed_before,
        format_args!(
            "the reply came by interrupt: {} service calls claimed during the read",
            claimed_after.saturating_sub(claimed_before)
        ),
    );
}

/// The started child of `pdo` of class `class`.
fn started_of(pdo: usize, class: &str) -> Option<usize> {
    started_children(pdo)
        .into_iter()
        .find(|&c| class_of(c).as_deref() == Some(class))
}

/// dom0 changes our `device/` tree while xenbus.sys runs: it removes `device/vkbd` (the scan
/// thread's watch fires; the VKBD PDO leaves the bus relations and the PnP manager
/// surprise-removes and removes it), then writes it back (a new VKBD PDO is enumerated and
/// started). Each step is asked for through STORE (see [`HOTPLUG_REMOVE`]).
fn hotplug(store: &mut Store, pdo: usize, round: &str) {
    let Some(old) = started_of(pdo, HOTPLUG_CLASS) else {
        check(
            &alloc::format!("nt.xenbus.hotplug{round}.present"),
            false,
            format_args!("no started {HOTPLUG_CLASS} PDO"),
        );
        return;
    };
    let surprise_count = || {
        pnp::sent()
            .get(&ntddk::IRP_MN_SURPRISE_REMOVAL)
            .copied()
            .unwrap_or(0)
    };
    let before = surprise_count();
    let remove_node = alloc::format!("{HOTPLUG_REMOVE}{round}");
    let status = ask_dom0(store, &remove_node);
    check(
        &alloc::format!("nt.xenbus.hotplug{round}.remove_asked"),
        status == 0,
        format_args!("{remove_node} removed through STORE (status {status:#x})"),
    );
    let (gone, waited) = wait_until(HOTPLUG_LIMIT, || {
        pnp::node(old).is_some_and(|n| n.state == State::Removed)
    });
    let surprised = surprise_count().saturating_sub(before);
    check(
        &alloc::format!("nt.xenbus.hotplug{round}.pdo_removed"),
        gone && surprised >= 1 && started_of(pdo, HOTPLUG_CLASS).is_none(),
        format_args!(
            "dom0 removed device/vkbd: the {HOTPLUG_CLASS} PDO left the relations, {surprised} \
             surprise removal(s), removed after {} ms",
            waited / 10_000
        ),
    );
    let add_node = alloc::format!("{HOTPLUG_ADD}{round}");
    let status = ask_dom0(store, &add_node);
    check(
        &alloc::format!("nt.xenbus.hotplug{round}.add_asked"),
        status == 0,
        format_args!("{add_node} removed through STORE (status {status:#x})"),
    );
    let (added, waited) = wait_until(HOTPLUG_LIMIT, || {
        started_of(pdo, HOTPLUG_CLASS).is_some_and(|p| p != old)
    });
    let id = started_of(pdo, HOTPLUG_CLASS)
        .and_then(pnp::node)
        .map(|n| n.identity.device_id)
        .unwrap_or_default();
    check(
        &alloc::format!("nt.xenbus.hotplug{round}.pdo_added"),
        added && id == alloc::format!(r"XENBUS\VEN_XP&DEV_{HOTPLUG_CLASS}"),
        format_args!(
            "dom0 wrote device/vkbd back: a new PDO {id:?} enumerated and started after {} ms",
            waited / 10_000
        ),
    );
}

/// The class a PDO's device ID names (`XENBUS\VEN_XP&DEV_<CLASS>`).
pub(super) fn class_of(pdo: usize) -> Option<String> {
    let node = pnp::node(pdo)?;
    let class = node.identity.device_id.rsplit("&DEV_").next()?;
    Some(String::from(class))
}

/// A PDO's IDs, text and capabilities against the portable answers.
fn identity(bus: &Bus, pdo: usize, class: &str) {
    let Some(node) = pnp::node(pdo) else {
        return;
    };
    let id = &node.identity;
    let single = |kind| match pdo_identity::query_id(bus, class, kind) {
        Ok(Id::Single(s)) => s,
        _ => String::new(),
    };
    let multi = |kind| match pdo_identity::query_id(bus, class, kind) {
        Ok(Id::Multi(list)) => list,
        _ => Vec::new(),
    };
    check(
        &alloc::format!("nt.xenbus.{class}.device_id"),
        id.device_id == single(IdType::DeviceId)
            && id.device_id == alloc::format!(r"XENBUS\VEN_XP&DEV_{class}"),
        format_args!("{}", id.device_id),
    );
    check(
        &alloc::format!("nt.xenbus.{class}.instance_id"),
        id.instance_id == "_",
        format_args!("{:?}", id.instance_id),
    );
    let hardware = multi(IdType::HardwareIds);
    check(
        &alloc::format!("nt.xenbus.{class}.hardware_ids"),
        id.hardware_ids == hardware
            && id.hardware_ids.last().map(String::as_str) == Some("XENCLASS")
            && id.hardware_ids.first().is_some_and(|first| {
                first.starts_with(&alloc::format!(
                    r"XENBUS\VEN_XP{:04X}&DEV_{class}&REV_",
                    bus.pci_device_id
                ))
            }),
        format_args!(
            "{} IDs, newest {:?}",
            id.hardware_ids.len(),
            id.hardware_ids.first()
        ),
    );
    check(
        &alloc::format!("nt.xenbus.{class}.capabilities"),
        id.capabilities.is_some_and(|c| {
            c.get(ntddk::DEVICE_CAPABILITIES::UniqueID)
                && c.get(ntddk::DEVICE_CAPABILITIES::SilentInstall)
                && c.Address == u32::MAX
                && c.UINumber == u32::MAX
        }),
        format_args!("UniqueID, SilentInstall, no address"),
    );
    check(
        &alloc::format!("nt.xenbus.{class}.description"),
        !id.description.is_empty(),
        format_args!("{:?}", id.description),
    );
}

/// `IRP_MN_QUERY_INTERFACE` to `pdo` for `guid` version `version` into `buffer` (`size`
/// bytes offered): the status.
pub(super) fn query(pdo: usize, guid: &Guid, version: u16, size: u16, buffer: *mut u8) -> i32 {
    let base = offset_of!(IO_STACK_LOCATION, Parameters);
    let reply = pnp::send(pdo, IRP_MN_QUERY_INTERFACE, 0, |l| {
        l.set(
            base + offset_of!(IO_STACK_LOCATION_QUERY_INTERFACE, InterfaceType),
            core::ptr::from_ref(guid).addr(),
        );
        l.set(
            base + offset_of!(IO_STACK_LOCATION_QUERY_INTERFACE, Size),
            size,
        );
        l.set(
            base + offset_of!(IO_STACK_LOCATION_QUERY_INTERFACE, Version),
            version,
        );
        l.set(
            base + offset_of!(IO_STACK_LOCATION_QUERY_INTERFACE, Interface),
            buffer.addr(),
        );
    });
    reply.status
}

/// Every version of every interface from `pdo`, an unknown version and a short buffer.
fn interfaces(pdo: usize, class: &str) {
    let mut served = 0;
    let mut wrong = Vec::new();
    for &(name, guid, min, max) in INTERFACES {
        for version in min..=max {
            let mut buffer = [0u8; TABLE_BUFFER];
            let status = query(pdo, &guid, version, TABLE_SIZE, buffer.as_mut_ptr());
            // SAFETY: the buffer holds at least a header; read unaligned.
            let header = unsafe { buffer.as_ptr().cast::<InterfaceHeader>().read_unaligned() };
            if status == 0
                && header.version == version
                && header.size != 0
                && !header.context.is_null()
            {
                served += 1;
            } else {
                wrong.push(alloc::format!("{name} v{version}: {status:#x}"));
            }
        }
        let mut buffer = [0u8; TABLE_BUFFER];
        let unknown = query(pdo, &guid, max + 1, TABLE_SIZE, buffer.as_mut_ptr());
        if unknown != ntstatus::STATUS_NOT_SUPPORTED {
            wrong.push(alloc::format!("{name} v{}: {unknown:#x}", max + 1));
        }
        let short = query(pdo, &guid, max, 8, buffer.as_mut_ptr());
        if short != ntstatus::STATUS_BUFFER_OVERFLOW {
            wrong.push(alloc::format!("{name} short: {short:#x}"));
        }
    }
    check(
        &alloc::format!("nt.xenbus.{class}.interfaces"),
        wrong.is_empty(),
        format_args!("{served} tables served; wrong: {wrong:?}"),
    );
}

/// The method address at byte `offset` of an interface table a PDO filled (0 outside it).
pub(super) fn method_at(table: &[u8], offset: usize) -> usize {
    table
        .get(offset..offset.saturating_add(8))
        .and_then(|b| b.try_into().ok())
        .map_or(0, usize::from_le_bytes)
}

/// A STORE v2 table a PDO filled, acquired, with its methods in the Microsoft x64 convention
/// (each checked to be code of xenbus.sys); released when dropped.
struct Store {
    /// The table (boxed: it stays where Acquire saw it).
    table: alloc::boxed::Box<[u8; TABLE_BUFFER]>,
    /// Whether the reference is held ([`Store::give_back`], [`Store::take_again`]).
    held: bool,
    acquire: StoreAcquire,
    release: StoreRelease,
    read: StoreRead,
    free: StoreFree,
    remove: StoreRemove,
}

/// `StoreAcquire` in the Microsoft x64 convention.
type StoreAcquire = unsafe extern "win64" fn(*mut c_void) -> i32;
/// `StoreRelease`.
type StoreRelease = unsafe extern "win64" fn(*mut c_void);
/// `StoreRead`.
type StoreRead =
    unsafe extern "win64" fn(*mut c_void, *mut c_void, *mut u8, *mut u8, *mut *mut u8) -> i32;
/// `StoreFree`.
type StoreFree = unsafe extern "win64" fn(*mut c_void, *mut u8);
/// `StoreRemove`.
type StoreRemove = unsafe extern "win64" fn(*mut c_void, *mut c_void, *mut u8, *mut u8) -> i32;

impl Store {
    /// STORE v2 from `pdo`'s `IRP_MN_QUERY_INTERFACE`, acquired (`nt.xenbus.store.table` and
    /// `nt.xenbus.store.acquire`).
    fn acquire(pdo: usize) -> Option<Self> {
        use xenbus_interface::store as s;
        let mut table = alloc::boxed::Box::new([0u8; TABLE_BUFFER]);
        let status = query(
            pdo,
            &s::GUID_XENBUS_STORE_INTERFACE,
            s::XENBUS_STORE_INTERFACE_VERSION_MAX,
            TABLE_SIZE,
            table.as_mut_ptr(),
        );
        let slot = |offset| method_at(&table[..], offset);
        let methods = [
            slot(offset_of!(s::XenbusStoreInterfaceV2, store_acquire)),
            slot(offset_of!(s::XenbusStoreInterfaceV2, store_release)),
            slot(offset_of!(s::XenbusStoreInterfaceV2, store_read)),
            slot(offset_of!(s::XenbusStoreInterfaceV2, store_free)),
            slot(offset_of!(s::XenbusStoreInterfaceV2, store_remove)),
        ];
        let [acquire, release, read, free, remove] = methods;
        if !check(
            "nt.xenbus.store.table",
            status == 0 && methods.iter().all(|&a| crate::nt::is_driver_code(a as u64)),
            format_args!("status {status:#x}, methods in xenbus.sys's code"),
        ) {
            return None;
        }
        // SAFETY: each address is code of xenbus.sys (checked above), the table's method of
        // that type in the Microsoft x64 convention (so for the four below).
        let acquire = unsafe { core::mem::transmute::<usize, StoreAcquire>(acquire) };
        let interface = table.as_mut_ptr().cast::<c_void>();
        // SAFETY: PASSIVE_LEVEL; the table the PDO filled, as a child passes it.
        let acquired = crate::nt::call_driver("StoreAcquire", || unsafe { acquire(interface) });
        if !check(
            "nt.xenbus.store.acquire",
            acquired == 0,
            format_args!("status {acquired:#x}"),
        ) {
            return None;
        }
        // SAFETY: as above.
        let release = unsafe { core::mem::transmute::<usize, StoreRelease>(release) };
        // SAFETY: as above.
        let read = unsafe { core::mem::transmute::<usize, StoreRead>(read) };
        // SAFETY: as above.
        let free = unsafe { core::mem::transmute::<usize, StoreFree>(free) };
        // SAFETY: as above.
        let remove = unsafe { core::mem::transmute::<usize, StoreRemove>(remove) };
        Some(Self {
            table,
            held: true,
            acquire,
            release,
            read,
            free,
            remove,
        })
    }

    fn interface(&mut self) -> *mut c_void {
        self.table.as_mut_ptr().cast()
    }

    /// `StoreRelease`, keeping the table for [`Store::take_again`] (a child that sleeps).
    fn give_back(&mut self) {
        if !core::mem::replace(&mut self.held, false) {
            return;
        }
        let (interface, release) = (self.interface(), self.release);
        // SAFETY: the Acquire this value holds, released once.
        crate::nt::call_driver("StoreRelease", || unsafe { release(interface) });
    }

    /// `StoreAcquire` again after [`Store::give_back`]: its status.
    fn take_again(&mut self) -> i32 {
        if self.held {
            return 0;
        }
        let (interface, acquire) = (self.interface(), self.acquire);
        // SAFETY: PASSIVE_LEVEL; the table the PDO filled, as a child passes it again.
        let status = crate::nt::call_driver("StoreAcquire", || unsafe { acquire(interface) });
        self.held = status == 0;
        status
    }

    /// `StoreRead` of `node` (relative to the domain's home): the status and the value.
    fn read(&mut self, node: &str) -> (i32, String) {
        let mut name: Vec<u8> = node.bytes().chain(core::iter::once(0)).collect();
        let mut value: *mut u8 = core::ptr::null_mut();
        let (interface, read) = (self.interface(), self.read);
        // SAFETY: the acquired table; no transaction, no prefix, a NUL-terminated node, a
        // writable out.
        let status = crate::nt::call_driver("StoreRead", || unsafe {
            read(
                interface,
                core::ptr::null_mut(),
                core::ptr::null_mut(),
                name.as_mut_ptr(),
                &raw mut value,
            )
        });
        // The value is a pool block xenbus.sys allocated: read it within the block.
        let text = match routines::pool::block(value.addr()) {
            Some(block) if status == 0 => {
                let bytes: Vec<u8> = (0..block.size.min(128))
                    // SAFETY: within the live pool block StoreRead returned.
                    .map(|i| unsafe { value.wrapping_add(i).read_volatile() })
                    .take_while(|&b| b != 0)
                    .collect();
                String::from_utf8_lossy(&bytes).into_owned()
            }
            _ => String::new(),
        };
        if !value.is_null() {
            let free = self.free;
            // SAFETY: the buffer StoreRead returned, freed once.
            crate::nt::call_driver("StoreFree", || unsafe { free(interface, value) });
        }
        (status, text)
    }

    /// `StoreRemove` of `node` (relative to the domain's home): the status.
    fn remove(&mut self, node: &str) -> i32 {
        let mut name: Vec<u8> = node.bytes().chain(core::iter::once(0)).collect();
        let (interface, remove) = (self.interface(), self.remove);
        // SAFETY: the acquired table; no transaction, no prefix, a NUL-terminated node.
        crate::nt::call_driver("StoreRemove", || unsafe {
            remove(
                interface,
                core::ptr::null_mut(),
                core::ptr::null_mut(),
                name.as_mut_ptr(),
            )
        })
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.give_back();
    }
}

/// STORE end to end through `pdo`'s table: Acquire, Read of the domain's `name`, Free, and
/// (at the end) Release.
fn store_end_to_end(pdo: usize) -> Option<Store> {
    let mut store = Store::acquire(pdo)?;
    let (status, text) = store.read("name");
    check(
        "nt.xenbus.store.read",
        status == 0 && !text.is_empty(),
        format_args!("name = {text:?} (status {status:#x})"),
    );
    Some(store)
}
