// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! xenfilt.sys on the stand-in (`xtk.mode=nt-xenfilt`, the HVM guest of
//! `scripts/nt-xen-hvm-test`): the real image as the class upper filter of the System and HDC
//! classes, over qemu-xen's real emulated devices, on the boot after a PV network driver asked
//! for the emulated NICs to be unplugged (`Services\XEN\Unplug\NICS` = 1, a `VIF` device under
//! `Enum\XENBUS`, and the active platform device xenbus.sys recorded under xenfilt's
//! `Parameters`, as an earlier boot leaves them; see `nt::xenfilt_keys`).
//!
//! The PnP manager builds the device tree as Windows does: ACPI's PDO for the PCI root bus, the
//! PCI driver's FDO and xenfilt's bus filter on it ([`crate::nt::buses`]). xenfilt hides the
//! bus's children until it has seen them once, then asks xen.sys to unplug (QEMU removes the
//! NIC from the bus), then reports what is left, each child with its own child filter; the
//! platform device gets xenbus.sys (and the C child driver its VIF and VKBD PDOs), the IDE
//! controller the stand-in's pciide, its channels atapi with xenfilt's bus filter again, and
//! the primary master disk its child filter. Checked: where xenfilt attached and where not, the
//! active device's instance and location replaced, the NIC never exposed and gone from
//! configuration space, the disk kept, and every `XENFILT_EMULATED` version answered through a
//! xenbus.sys PDO (which delegates it down the platform device's stack, as xenvbd and xenvif
//! reach it) with upstream's answers, hostile IDs included. Then the tree is removed, the
//! drivers unloaded, and nothing they allocated may remain.

use super::xenbus::{self as xb, Child};
use crate::harness::check;
use crate::nt::pnp::{self, Node, State};
use crate::nt::routines::{self, DriverObject, io};
use crate::nt::{buses, loader, pci_bus};
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::mem::offset_of;
use ntddk::DEVICE_OBJECT;
use xen_pvh_test::pci::{self, Function};
use xenbus::pdo_identity::Bus;
use xenbus_interface::InterfaceHeader;
use xenbus_interface::emulated::{
    self as em, GUID_XENFILT_EMULATED_INTERFACE, XenfiltEmulatedInterfaceV1,
    XenfiltEmulatedInterfaceV2, XenfiltEmulatedInterfaceV3,
};

/// xenfilt.sys's service.
pub const SERVICE: &str = "xenfilt";
/// The instance ID xenbus.sys recorded for the active platform device on an earlier boot
/// (`ActiveInstanceID`): what xenfilt answers for the device instead of the PCI driver's.
pub const ACTIVE_INSTANCE_ID: &str = "3&267a616a&0&10";
/// The location recorded with it (`ActiveLocationInformation`): another slot than today's.
pub const ACTIVE_LOCATION: &str = "PCI bus 0, device 31, function 0";
/// The prefix of xenfilt.sys's debug lines.
const PREFIX: &str = "xenfilt|";

/// A loaded driver image: its loader index and driver object.
#[derive(Clone, Copy)]
struct Loaded {
    index: usize,
    driver: usize,
}

/// Loads image `name` from the boot module as service `service` (`DriverEntry`).
fn load(images: &[(String, &'static [u8])], name: &str, service: &str) -> Option<Loaded> {
    let check_name = alloc::format!("nt.xenfilt.load_{service}");
    let Some(&(_, bytes)) = images.iter().find(|(n, _)| n == name) else {
        check(
            &check_name,
            false,
            format_args!("no {name} in the boot module"),
        );
        return None;
    };
    let index = match loader::load(name, bytes) {
        Ok(index) => index,
        Err(refused) => {
            check(&check_name, false, format_args!("refused: {refused}"));
            return None;
        }
    };
    match pnp::load_driver(index, service) {
        Ok(driver) => {
            check(
                &check_name,
                true,
                format_args!("{} bytes, DriverEntry succeeded", bytes.len()),
            );
            Some(Loaded { index, driver })
        }
        Err(status) => {
            check(
                &check_name,
                false,
                format_args!("DriverEntry: {:#010x}", status.cast_unsigned()),
            );
            loader::unload(index);
            None
        }
    }
}

/// The driver object of the device directly above `device` in its stack (0: none).
fn driver_above(device: usize) -> usize {
    let above: usize = io::device_object(device)
        .get(offset_of!(DEVICE_OBJECT, AttachedDevice))
        .unwrap_or(0);
    io::device(above).map_or(0, |d| d.driver)
}

/// The driver object of the top of `pdo`'s stack.
fn top_driver(pdo: usize) -> usize {
    io::device(io::attached_top(pdo)).map_or(0, |d| d.driver)
}

/// The live node under `parent` whose device ID is `device_id`.
fn child_with_id(parent: usize, device_id: &str) -> Option<Node> {
    pnp::nodes().into_iter().find(|n| {
        n.parent == Some(parent)
            && n.state != State::Removed
            && n.identity.device_id.eq_ignore_ascii_case(device_id)
    })
}

/// Whether the `Unplug\NICS` request the boot hive set is gone (xen.sys's `DllInitialize`
/// consumes it).
fn unplug_request_left() -> bool {
    routines::registry::with(|r| {
        let key = r
            .hive
            .find(&alloc::format!(r"{}\Unplug", crate::nt::SERVICE_KEY))?;
        r.hive
            .value(key, &crate::nt::hive::wide("NICS"))
            .map(|_| ())
    })
    .flatten()
    .is_some()
}

/// The scenario (see the module docs). `functions` is the HVM guest's PCI bus before any
/// driver ran, `images` the boot module's images.
pub fn run(functions: &[Function], images: &[(String, &'static [u8])]) {
    check(
        "nt.xenfilt.unplug_request_consumed",
        !unplug_request_left(),
        format_args!("Services\\XEN\\Unplug\\NICS read and deleted by xen.sys's DllInitialize"),
    );
    let (Some(platform), Some(ide), Some(nic)) = (
        functions.iter().find(|f| f.is_xen_platform()),
        functions.iter().find(|f| f.is_ide()),
        functions.iter().find(|f| f.is_network()),
    ) else {
        check(
            "nt.xenfilt.devices",
            false,
            format_args!("the platform device, the IDE controller and the NIC must be on the bus"),
        );
        return;
    };
    routines::debug::keep(PREFIX);
    let Some(filter) = load(images, "xenfilt.sys", SERVICE) else {
        return;
    };
    let Some(xenbus) = load(images, "xenbus.sys", "xenbus") else {
        return;
    };
    let platform_record = pci::Pdo::for_function(platform);
    let ide_record = pci::Pdo::for_function(ide);
    let nic_record = pci::Pdo::for_function(nic);
    // What the INFs install: xenbus.sys for the platform device (System class), the inbox
    // IDE drivers (HDC class), xenfilt as both classes' upper filter.
    let vendor_device = |r: &pci::Pdo| r.compatible_ids.get(1).cloned().unwrap_or_default();
    pnp::bind_in_class(&vendor_device(&platform_record), xenbus.driver, "System");
    pnp::bind_in_class(&vendor_device(&ide_record), buses::pciide(), "HDC");
    pnp::bind_in_class("Internal_IDE_Channel", buses::atapi(), "HDC");
    let before = class_filters();
    for (class, names) in &before {
        if names.iter().any(|n| n.eq_ignore_ascii_case(SERVICE)) {
            pnp::add_class_filter(class, filter.driver);
        }
    }
    check(
        "nt.xenfilt.class_upper_filters",
        before.iter().all(|(_, names)| names.len() == 1),
        format_args!("the classes' UpperFilters the PnP manager loads: {before:?}"),
    );
    let bus = Bus {
        vendor_prefix: String::from("XP"),
        pci_device_id: platform.device,
    };
    let child = xb::load_child(&bus, images);
    let root = buses::pci_root();
    let status = pnp::add_stack(root, pci_bus::driver(), "System");
    let started = status >= 0 && pnp::start(root).ok();
    pnp::settle();
    check(
        "nt.xenfilt.root_started",
        started,
        format_args!(
            "AddDevice {:#010x}, then the start sequence",
            status.cast_unsigned()
        ),
    );
    tree(
        root,
        filter,
        xenbus,
        &platform_record,
        &ide_record,
        &nic_record,
    );
    if let Some(p) = child_with_id(root, &platform_record.device_id) {
        over_platform(
            root,
            p.pdo,
            filter,
            child.as_ref(),
            [&platform_record, &ide_record, &nic_record],
        );
    }
    let after = class_filters();
    check(
        "nt.xenfilt.filters_installed_once",
        after == before,
        format_args!("after xenbus.sys's AddDevice ran FiltersInstall again: {after:?}"),
    );
    tear_down(root, filter, xenbus, child);
}

/// Above the platform device (node `platform`): xenbus.sys's PDOs, `XENFILT_EMULATED` through
/// them, the child driver's run, the hostile IRPs. `records`: the platform device's, the IDE
/// controller's and the NIC's PCI records.
fn over_platform(
    root: usize,
    platform: usize,
    filter: Loaded,
    child: Option<&Child>,
    records: [&pci::Pdo; 3],
) {
    let [platform_record, ide_record, nic_record] = records;
    let children = xb::enumerated(platform);
    if let Some(&pdo) = children.iter().find(|&&c| xb::class_of(c).is_some()) {
        emulated(pdo, filter, platform_record, ide_record, nic_record);
    }
    if let Some(&vbd) = children
        .iter()
        .find(|&&c| xb::class_of(c).as_deref() == Some("VBD"))
    {
        hostile_irps(root, platform, vbd);
    }
    if let Some(c) = child {
        xb::child_ran(c, &children);
        // This boot's xenbus.sys leaves its children's DMA adapters alone
        // (`InterceptDmaAdapter` = 0 in the hive).
        xb::dma_adapter_asked(platform, c, &children, false);
        let lines = routines::debug::kept();
        let answers: Vec<&String> = lines
            .iter()
            .filter(|l| l.starts_with("xenchild: EMULATED disks:"))
            .collect();
        check(
            "nt.xenfilt.child_image_emulated",
            !answers.is_empty()
                && answers
                    .iter()
                    .all(|l| l.trim_end() == "xenchild: EMULATED disks: 1 0 0 0"),
            format_args!(
                "the C child driver's own XENFILT_EMULATED v3 through its PDO: {answers:?}"
            ),
        );
    }
}

/// The setup classes xenfilt filters, by the name the bindings use, and the `UpperFilters`
/// their class keys list (what xen.sys's `FiltersInstall` wrote).
fn class_filters() -> Vec<(&'static str, Vec<String>)> {
    xen::filters::INSTALL_ORDER
        .iter()
        .map(|&class| {
            let name = match class {
                xen::filters::DeviceClass::System => "System",
                xen::filters::DeviceClass::Hdc => "HDC",
            };
            let path = alloc::format!(r"{}\{}", xen::filters::CLASS_PATH, class.key_name());
            let data = routines::registry::with(|r| {
                let key = r.hive.find(&path)?;
                let value = r
                    .hive
                    .value(key, &crate::nt::hive::wide(xen::filters::UPPER_FILTERS))?;
                (value.kind == crate::nt::hive::REG_MULTI_SZ).then(|| value.data.clone())
            })
            .flatten()
            .unwrap_or_default();
            let units: Vec<u16> = data
                .chunks_exact(2)
                .map(|c| {
                    u16::from_le_bytes([
                        c.first().copied().unwrap_or(0),
                        c.get(1).copied().unwrap_or(0),
                    ])
                })
                .collect();
            let names = units
                .split(|&u| u == 0)
                .take_while(|part| !part.is_empty())
                .map(String::from_utf16_lossy)
                .collect();
            (name, names)
        })
        .collect()
}

/// The device tree xenfilt shaped (see the module docs).
fn tree(
    root: usize,
    filter: Loaded,
    xenbus: Loaded,
    platform: &pci::Pdo,
    ide: &pci::Pdo,
    nic: &pci::Pdo,
) {
    let root_node = pnp::node(root);
    let top = io::attached_top(root);
    let below_top = io::device(top).map_or(0, |d| d.lower);
    check(
        "nt.xenfilt.root_bus_filter",
        top_driver(root) == filter.driver
            && buses::fdo_of(root).is_some_and(|(fdo, _)| fdo == below_top),
        format_args!("xenfilt's bus filter on top of the PCI driver's FDO on ACPI's PNP0A03 PDO"),
    );
    let queries = root_node.as_ref().map_or(0, |n| n.relation_queries);
    let exposed_nic = pnp::nodes()
        .iter()
        .any(|n| n.identity.device_id.eq_ignore_ascii_case(&nic.device_id));
    check(
        "nt.xenfilt.children_hidden_until_unplug",
        queries >= 2 && !exposed_nic,
        format_args!(
            "{queries} bus relations queries; the NIC {} exposed to PnP",
            if exposed_nic { "was" } else { "never" }
        ),
    );
    let after = crate::hvm::scan();
    check(
        "nt.xenfilt.nic_unplugged",
        !after.iter().any(Function::is_network),
        format_args!(
            "{} functions on the bus after the unplug, no network function",
            after.len()
        ),
    );
    let status = crate::hvm::ata_status();
    check(
        "nt.xenfilt.disk_kept",
        status == crate::hvm::ATA_READY,
        format_args!("no disk unplug was asked: primary master status {status:#04x}"),
    );
    let children: Vec<Node> = pnp::nodes()
        .into_iter()
        .filter(|n| n.parent == Some(root) && n.state != State::Removed)
        .collect();
    let unfiltered: Vec<&str> = children
        .iter()
        .filter(|n| driver_above(n.pdo) != filter.driver)
        .map(|n| n.identity.device_id.as_str())
        .collect();
    check(
        "nt.xenfilt.child_filters",
        children.len() == after.len() && unfiltered.is_empty(),
        format_args!(
            "{} PCI children reported ({} functions on the bus), without xenfilt's child \
             filter: {unfiltered:?}",
            children.len(),
            after.len()
        ),
    );
    let platform_node = child_with_id(root, &platform.device_id);
    let identity = platform_node.as_ref().map(|n| n.identity.clone());
    check(
        "nt.xenfilt.active_device_ids",
        identity.as_ref().is_some_and(|i| {
            i.instance_id == ACTIVE_INSTANCE_ID
                && i.location == ACTIVE_LOCATION
                && i.hardware_ids == platform.hardware_ids
        }),
        format_args!(
            "instance {:?} and location {:?} (the PCI driver's: {:?}, {:?})",
            identity.as_ref().map(|i| i.instance_id.as_str()),
            identity.as_ref().map(|i| i.location.as_str()),
            platform.instance_id,
            platform.location
        ),
    );
    check(
        "nt.xenfilt.xenbus_over_filter",
        platform_node
            .as_ref()
            .is_some_and(|n| n.state == State::Started && top_driver(n.pdo) == xenbus.driver),
        format_args!("xenbus.sys's FDO started on the platform device, above xenfilt"),
    );
    ide_tree(root, filter, ide);
    let lines = routines::debug::kept();
    let unplugs = lines
        .iter()
        .filter(|l| l.starts_with("xenfilt|UnplugDevices"))
        .count();
    check(
        "nt.xenfilt.unplug_once",
        unplugs == 1,
        format_args!("{unplugs} UnplugDevices calls"),
    );
}

/// The IDE part of the tree: the controller not bus-filtered, both channels bus-filtered, the
/// primary master disk reported with its child filter.
fn ide_tree(root: usize, filter: Loaded, ide: &pci::Pdo) {
    let Some(controller) = child_with_id(root, &ide.device_id) else {
        check(
            "nt.xenfilt.ide_controller",
            false,
            format_args!("no node for {}", ide.device_id),
        );
        return;
    };
    check(
        "nt.xenfilt.ide_controller",
        controller.state == State::Started
            && top_driver(controller.pdo) == buses::pciide()
            && driver_above(controller.pdo) == filter.driver,
        format_args!("pciide's FDO on top (no bus filter: no Parameters value names its IDs)"),
    );
    let channels: Vec<Node> = pnp::nodes()
        .into_iter()
        .filter(|n| n.parent == Some(controller.pdo) && n.state != State::Removed)
        .collect();
    let filtered = channels
        .iter()
        .filter(|n| n.state == State::Started && top_driver(n.pdo) == filter.driver)
        .count();
    check(
        "nt.xenfilt.ide_channel_bus_filters",
        channels.len() == 2 && filtered == 2,
        format_args!(
            "{} channels, {filtered} with xenfilt's bus filter over atapi (Internal_IDE_Channel \
             = IDE)",
            channels.len()
        ),
    );
    let devices: Vec<Node> = pnp::nodes()
        .into_iter()
        .filter(|n| n.state != State::Removed && channels.iter().any(|c| n.parent == Some(c.pdo)))
        .collect();
    let disk = devices.iter().find(|n| n.identity.instance_id == "0.0.0");
    check(
        "nt.xenfilt.ide_disk",
        devices.len() == 1
            && disk.is_some_and(|d| {
                d.identity.device_id.starts_with(r"IDE\Disk")
                    && driver_above(d.pdo) == filter.driver
            }),
        format_args!(
            "{} IDE devices: {:?}",
            devices.len(),
            devices
                .iter()
                .map(|d| alloc::format!("{} ({})", d.identity.device_id, d.identity.instance_id))
                .collect::<Vec<_>>()
        ),
    );
}

/// `EmulatedAcquire` / `EmulatedRelease`.
type Acquire = unsafe extern "win64" fn(*mut c_void) -> i32;
type Release = unsafe extern "win64" fn(*mut c_void);
/// `EmulatedIsDevicePresent` (v3).
type IsDevicePresent = unsafe extern "win64" fn(*mut c_void, *const u8, *const u8, *mut i32) -> u8;
/// `EmulatedIsDevicePresentVersion1`.
type IsDevicePresentV1 = unsafe extern "win64" fn(*mut c_void, *const u8, *const u8) -> u8;
/// `EmulatedIsDiskPresent` (v2, v3).
type IsDiskPresent = unsafe extern "win64" fn(*mut c_void, u32) -> u8;
/// `EmulatedIsDiskPresentVersion1`.
type IsDiskPresentV1 = unsafe extern "win64" fn(*mut c_void, u32, u32, u32) -> u8;

/// A buffer larger than any EMULATED table.
const TABLE: usize = 128;

/// An EMULATED table `version` from `pdo`'s stack: the status, and the table.
fn query(pdo: usize, version: u16, size: u16) -> (i32, alloc::boxed::Box<[u8; TABLE]>) {
    let mut table = alloc::boxed::Box::new([0u8; TABLE]);
    let status = xb::query(
        pdo,
        &GUID_XENFILT_EMULATED_INTERFACE,
        version,
        size,
        table.as_mut_ptr(),
    );
    (status, table)
}

/// A NUL-terminated copy of `text`.
fn c_string(text: &str) -> Vec<u8> {
    text.bytes().chain(core::iter::once(0)).collect()
}

/// Whether `address` is code of image `index`.
fn in_image(index: usize, address: usize) -> bool {
    let a = address as u64;
    loader::image(index).is_some_and(|i| a >= i.base && a < i.base.saturating_add(i.size))
}

/// The methods at `offsets` of `table`, if every one is code of xenfilt.sys.
fn methods<const N: usize>(
    filter: Loaded,
    table: &[u8],
    offsets: [usize; N],
) -> Option<[usize; N]> {
    let m = offsets.map(|o| xb::method_at(table, o));
    m.iter().all(|&a| in_image(filter.index, a)).then_some(m)
}

/// `XENFILT_EMULATED` through the xenbus.sys PDO `pdo` (see the module docs).
fn emulated(pdo: usize, filter: Loaded, platform: &pci::Pdo, ide: &pci::Pdo, nic: &pci::Pdo) {
    let sizes = [
        size_of::<XenfiltEmulatedInterfaceV1>(),
        size_of::<XenfiltEmulatedInterfaceV2>(),
        size_of::<XenfiltEmulatedInterfaceV3>(),
    ];
    let mut wrong = Vec::new();
    for (version, &size) in (1u16..).zip(&sizes) {
        let (status, table) = query(pdo, version, 128);
        // SAFETY: the buffer holds at least a header; read unaligned.
        let header = unsafe { table.as_ptr().cast::<InterfaceHeader>().read_unaligned() };
        if status != 0 || header.version != version || usize::from(header.size) != size {
            wrong.push(alloc::format!(
                "v{version}: {status:#x}, version {}, size {}",
                header.version,
                header.size
            ));
        }
    }
    let (unknown, _) = query(pdo, em::XENFILT_EMULATED_INTERFACE_VERSION_MAX + 1, 128);
    if unknown != ntstatus::STATUS_NOT_SUPPORTED {
        wrong.push(alloc::format!("v4: {unknown:#x}"));
    }
    let (short, _) = query(pdo, 3, 16);
    if short != ntstatus::STATUS_BUFFER_OVERFLOW {
        wrong.push(alloc::format!("v3 in 16 bytes: {short:#x}"));
    }
    check(
        "nt.xenfilt.emulated.versions",
        wrong.is_empty(),
        format_args!(
            "versions 1-3 served through the PDO, 4 refused, a short buffer refused; wrong: {wrong:?}"
        ),
    );
    emulated_v3(pdo, filter, platform, ide, nic);
    emulated_v1_v2(pdo, filter, platform);
}

/// The v3 table's answers.
fn emulated_v3(pdo: usize, filter: Loaded, platform: &pci::Pdo, ide: &pci::Pdo, nic: &pci::Pdo) {
    type T = XenfiltEmulatedInterfaceV3;
    let (status, mut table) = query(pdo, 3, 128);
    let Some([acquire, release, device, disk]) = methods(
        filter,
        &table[..],
        [
            offset_of!(T, emulated_acquire),
            offset_of!(T, emulated_release),
            offset_of!(T, emulated_is_device_present),
            offset_of!(T, emulated_is_disk_present),
        ],
    ) else {
        check(
            "nt.xenfilt.emulated.v3_methods",
            false,
            format_args!("status {status:#x}: methods not in xenfilt.sys's code"),
        );
        return;
    };
    // SAFETY: code of xenfilt.sys (checked), the v3 table's methods in the Microsoft x64
    // convention (so for the three below).
    let acquire = unsafe { core::mem::transmute::<usize, Acquire>(acquire) };
    // SAFETY: as above.
    let release = unsafe { core::mem::transmute::<usize, Release>(release) };
    // SAFETY: as above.
    let device = unsafe { core::mem::transmute::<usize, IsDevicePresent>(device) };
    // SAFETY: as above.
    let disk = unsafe { core::mem::transmute::<usize, IsDiskPresent>(disk) };
    let interface = table.as_mut_ptr().cast::<c_void>();
    // SAFETY: the table xenfilt filled, as a child passes it; PASSIVE_LEVEL.
    let acquired = crate::nt::call_driver("EmulatedAcquire", || unsafe { acquire(interface) });
    check(
        "nt.xenfilt.emulated.acquire",
        acquired == 0,
        format_args!("status {acquired:#x}"),
    );
    device_answers(interface, device, platform, ide, nic);
    let ask = |index: u32| {
        // SAFETY: the acquired table; any index.
        crate::nt::call_driver("EmulatedIsDiskPresent", || unsafe {
            disk(interface, index)
        }) != 0
    };
    let disks: Vec<bool> = (0..5u32).chain([u32::MAX]).map(ask).collect();
    check(
        "nt.xenfilt.emulated.disks",
        disks == [true, false, false, false, false, false],
        format_args!("indexes 0-4 and 0xFFFFFFFF: {disks:?} (the primary master only)"),
    );
    // SAFETY: the acquired table, released once.
    crate::nt::call_driver("EmulatedRelease", || unsafe { release(interface) });
}

/// `EmulatedIsDevicePresent`'s answers through the acquired v3 table at `interface`.
fn device_answers(
    interface: *mut c_void,
    device: IsDevicePresent,
    platform: &pci::Pdo,
    ide: &pci::Pdo,
    nic: &pci::Pdo,
) {
    let present = |id: Option<&str>, instance: Option<&str>| -> (bool, i32) {
        let id = id.map(c_string);
        let instance = instance.map(c_string);
        let mut forced = -1i32;
        // SAFETY: the acquired table; NUL-terminated strings or NULL; a writable status.
        let answer = crate::nt::call_driver("EmulatedIsDevicePresent", || unsafe {
            device(
                interface,
                id.as_ref().map_or(core::ptr::null(), Vec::as_ptr),
                instance.as_ref().map_or(core::ptr::null(), Vec::as_ptr),
                &raw mut forced,
            )
        });
        (answer != 0, forced)
    };
    let lower = platform.device_id.to_ascii_lowercase();
    let long = "PCI\\".repeat(80);
    let answers = [
        (
            "platform",
            present(Some(&platform.device_id), None),
            (true, 0),
        ),
        (
            "platform, lower case",
            present(Some(&lower), None),
            (true, 0),
        ),
        (
            "platform, recorded instance",
            present(Some(&platform.device_id), Some(ACTIVE_INSTANCE_ID)),
            (true, 0),
        ),
        (
            "platform, PCI's own instance",
            present(Some(&platform.device_id), Some(&platform.instance_id)),
            (false, 0),
        ),
        (
            "IDE controller",
            present(Some(&ide.device_id), None),
            (true, 0),
        ),
        (
            "unplugged NIC",
            present(Some(&nic.device_id), None),
            (false, 0),
        ),
        ("no ID (a forced device?)", present(None, None), (false, 0)),
        ("320-byte ID", present(Some(&long), None), (false, 0)),
        ("empty ID", present(Some(""), None), (false, 0)),
    ];
    let wrong: Vec<String> = answers
        .iter()
        .filter(|(_, got, want)| got != want)
        .map(|(what, got, want)| alloc::format!("{what}: {got:?}, want {want:?}"))
        .collect();
    check(
        "nt.xenfilt.emulated.devices",
        wrong.is_empty(),
        format_args!(
            "{} questions (present, activation status); wrong: {wrong:?}",
            answers.len()
        ),
    );
}

/// The v1 and v2 tables' answers, upstream's quirk included: version 1's disk question
/// ignores the controller and asks about the target as an index.
fn emulated_v1_v2(pdo: usize, filter: Loaded, platform: &pci::Pdo) {
    type T1 = XenfiltEmulatedInterfaceV1;
    type T2 = XenfiltEmulatedInterfaceV2;
    let (_, mut v1) = query(pdo, 1, 128);
    let (_, mut v2) = query(pdo, 2, 128);
    let m1 = methods(
        filter,
        &v1[..],
        [
            offset_of!(T1, emulated_is_device_present_version1),
            offset_of!(T1, emulated_is_disk_present_version1),
        ],
    );
    let m2 = methods(filter, &v2[..], [offset_of!(T2, emulated_is_disk_present)]);
    let (Some([device1, disk1]), Some([disk2])) = (m1, m2) else {
        check(
            "nt.xenfilt.emulated.v1_v2",
            false,
            format_args!("methods not in xenfilt.sys's code"),
        );
        return;
    };
    // SAFETY: code of xenfilt.sys (checked), the tables' methods in the Microsoft x64
    // convention (so for the two below).
    let device1 = unsafe { core::mem::transmute::<usize, IsDevicePresentV1>(device1) };
    // SAFETY: as above.
    let disk1 = unsafe { core::mem::transmute::<usize, IsDiskPresentV1>(disk1) };
    // SAFETY: as above.
    let disk2 = unsafe { core::mem::transmute::<usize, IsDiskPresent>(disk2) };
    let (i1, i2) = (
        v1.as_mut_ptr().cast::<c_void>(),
        v2.as_mut_ptr().cast::<c_void>(),
    );
    let id = c_string(&platform.device_id);
    // SAFETY: the tables xenfilt filled (no Acquire is needed to ask); NUL-terminated ID.
    let platform_v1 = crate::nt::call_driver("EmulatedIsDevicePresentVersion1", || unsafe {
        device1(i1, id.as_ptr(), core::ptr::null())
    }) != 0;
    let ask1 = |c, t, l| {
        // SAFETY: as above; any numbers.
        crate::nt::call_driver("EmulatedIsDiskPresentVersion1", || unsafe {
            disk1(i1, c, t, l)
        }) != 0
    };
    let answers = [ask1(1, 0, 0), ask1(0, 1, 0), ask1(0, 0, 7)];
    // SAFETY: as above.
    let v2_answer =
        crate::nt::call_driver("EmulatedIsDiskPresent", || unsafe { disk2(i2, 0) }) != 0;
    check(
        "nt.xenfilt.emulated.v1_v2",
        platform_v1 && answers == [true, false, true] && v2_answer,
        format_args!(
            "v1 platform {platform_v1}; v1 disk (1,0,0) (0,1,0) (0,0,7): {answers:?} (the \
             target is the index); v2 disk 0: {v2_answer}"
        ),
    );
}

/// A PnP IRP of `minor` to the top of `device`'s stack with `fill`'s parameters: its status.
fn pnp_status(
    device: usize,
    minor: u8,
    fill: impl FnOnce(crate::nt::routines::DriverObject),
) -> i32 {
    pnp::send(device, minor, 0, fill).status
}

/// A power IRP of `minor` (no parameters that matter) to the top of `device`'s stack, with the
/// power manager's initial status: its status.
fn power_status(device: usize, minor: u8) -> i32 {
    pnp::send_major(
        device,
        ntddk::IRP_MJ_POWER,
        minor,
        ntstatus::STATUS_NOT_SUPPORTED,
        0,
        |_| {},
    )
    .status
}

/// `IRP_MN_QUERY_ID` of `kind`'s parameters.
fn id_of(kind: i32) -> impl FnOnce(DriverObject) {
    move |l| {
        l.set(
            offset_of!(ntddk::IO_STACK_LOCATION, Parameters),
            ntddk::IO_STACK_LOCATION_QUERY_ID { IdType: kind },
        );
    }
}

/// `IRP_MN_QUERY_DEVICE_TEXT` of `kind`'s parameters (US English).
fn text_of(kind: i32) -> impl FnOnce(DriverObject) {
    move |l| {
        l.set(
            offset_of!(ntddk::IO_STACK_LOCATION, Parameters),
            ntddk::IO_STACK_LOCATION_QUERY_DEVICE_TEXT {
                DeviceTextType: kind,
                Padding0: 0,
                LocaleId: 0x409,
            },
        );
    }
}

/// `IRP_MN_QUERY_DEVICE_RELATIONS` of `kind`'s parameters.
fn relations_of(kind: i32) -> impl FnOnce(DriverObject) {
    move |l| {
        l.set(
            offset_of!(ntddk::IO_STACK_LOCATION, Parameters),
            ntddk::IO_STACK_LOCATION_QUERY_DEVICE_RELATIONS { Type: kind },
        );
    }
}

/// No parameters.
const fn no_parameters(_: DriverObject) {}

/// What a hostile sender got: the IRP, its status, upstream's.
type Answer = (&'static str, i32, i32);

/// IRPs to xenbus.sys's VBD PDO `vbd`: what a PDO does not know completes with the status it
/// came with; state changes out of order succeed; power requests other than set-power keep
/// their status (upstream's quirk).
fn hostile_to_pdo(vbd: usize) -> Vec<Answer> {
    use ntstatus::{STATUS_NOT_SUPPORTED as NOT, STATUS_SUCCESS as OK};
    alloc::vec![
        ("VBD: minor 0x7f", pnp_status(vbd, 0x7f, no_parameters), NOT),
        (
            "VBD: ID type 42",
            pnp_status(vbd, ntddk::IRP_MN_QUERY_ID, id_of(42)),
            NOT
        ),
        (
            "VBD: text type 42",
            pnp_status(vbd, ntddk::IRP_MN_QUERY_DEVICE_TEXT, text_of(42)),
            NOT
        ),
        (
            "VBD: removal relations",
            pnp_status(vbd, ntddk::IRP_MN_QUERY_DEVICE_RELATIONS, relations_of(3)),
            NOT,
        ),
        (
            "VBD: cancel-stop unasked",
            pnp_status(vbd, ntddk::IRP_MN_CANCEL_STOP_DEVICE, no_parameters),
            OK
        ),
        (
            "VBD: query-stop",
            pnp_status(vbd, ntddk::IRP_MN_QUERY_STOP_DEVICE, no_parameters),
            OK
        ),
        (
            "VBD: cancel-stop",
            pnp_status(vbd, ntddk::IRP_MN_CANCEL_STOP_DEVICE, no_parameters),
            OK
        ),
        (
            "VBD: cancel-remove unasked",
            pnp_status(vbd, ntddk::IRP_MN_CANCEL_REMOVE_DEVICE, no_parameters),
            OK,
        ),
        (
            "VBD: query-power",
            power_status(vbd, ntddk::IRP_MN_QUERY_POWER),
            NOT
        ),
        (
            "VBD: wait-wake",
            power_status(vbd, ntddk::IRP_MN_WAIT_WAKE),
            NOT
        ),
        ("VBD: power minor 0x7f", power_status(vbd, 0x7f), NOT),
    ]
}

/// IRPs down the platform device's stack (xenbus.sys's FDO, xenfilt's child filter, the PCI
/// driver's PDO) and the root bus (xenfilt's bus filter, the PCI driver's FDO, ACPI's PDO):
/// passed down, answered by the bus driver.
fn hostile_to_stacks(root: usize, platform: usize) -> Vec<Answer> {
    use ntstatus::{STATUS_NOT_SUPPORTED as NOT, STATUS_SUCCESS as OK};
    alloc::vec![
        (
            "platform: minor 0x7f",
            pnp_status(platform, 0x7f, no_parameters),
            NOT
        ),
        (
            "platform: removal relations",
            pnp_status(
                platform,
                ntddk::IRP_MN_QUERY_DEVICE_RELATIONS,
                relations_of(3)
            ),
            NOT,
        ),
        (
            "root: minor 0x7f",
            pnp_status(root, 0x7f, no_parameters),
            NOT
        ),
        (
            "root: ejection relations",
            pnp_status(root, ntddk::IRP_MN_QUERY_DEVICE_RELATIONS, relations_of(1)),
            NOT,
        ),
        (
            "root: query-power S3",
            xb::system_power_irp(root, ntddk::IRP_MN_QUERY_POWER, ntddk::PowerSystemSleeping3),
            OK,
        ),
    ]
}

/// A device power IRP (`IRP_MN_SET_POWER` or `IRP_MN_QUERY_POWER` for device state `state`) to
/// the top of `device`'s stack; its status.
fn device_power_irp(device: usize, minor: u8, state: i32) -> i32 {
    pnp::send_major(
        device,
        ntddk::IRP_MJ_POWER,
        minor,
        ntstatus::STATUS_NOT_SUPPORTED,
        0,
        |l| {
            l.set(
                offset_of!(ntddk::IO_STACK_LOCATION, Parameters),
                ntddk::IO_STACK_LOCATION_POWER {
                    SystemContext: 0,
                    Padding0: 0,
                    Type: ntddk::DevicePowerState,
                    Padding1: 0,
                    State: ntddk::POWER_STATE { DeviceState: state },
                    Padding2: 0,
                    ShutdownType: 0,
                },
            );
        },
    )
    .status
}

/// Power IRPs to the platform device's stack (xenbus.sys's FDO above xenfilt's filter) in the
/// system and device states the power manager does not send it in this boot's order: queries
/// for S1, S2 and S4, a sleep through S2 and the wake, S0 again while in S0, the shutdown (S5:
/// passed down, the FDO stays in D0) and the wake from it (upstream's return from S4 or
/// above: the emulated devices are unplugged again), a device query for D3, a device D2 (not
/// a state xenbus.sys enters: passed down) and back to D0. Each is answered as upstream's
/// `FdoDispatchPower` answers.
fn power_in_every_state(platform: usize) -> Vec<Answer> {
    use ntstatus::STATUS_SUCCESS as OK;
    let system = |minor, state| xb::system_power_irp(platform, minor, state);
    let device = |minor, state| device_power_irp(platform, minor, state);
    let (query, set) = (ntddk::IRP_MN_QUERY_POWER, ntddk::IRP_MN_SET_POWER);
    alloc::vec![
        (
            "platform: query S1",
            system(query, ntddk::PowerSystemSleeping1),
            OK
        ),
        (
            "platform: query S2",
            system(query, ntddk::PowerSystemSleeping2),
            OK
        ),
        (
            "platform: query S4",
            system(query, ntddk::PowerSystemHibernate),
            OK
        ),
        (
            "platform: set S2",
            system(set, ntddk::PowerSystemSleeping2),
            OK
        ),
        (
            "platform: set S0 from S2",
            system(set, ntddk::PowerSystemWorking),
            OK
        ),
        (
            "platform: set S0 in S0",
            system(set, ntddk::PowerSystemWorking),
            OK
        ),
        (
            "platform: set S5",
            system(set, ntddk::PowerSystemShutdown),
            OK
        ),
        (
            "platform: set S0 from S5",
            system(set, ntddk::PowerSystemWorking),
            OK
        ),
        (
            "platform: device query D3",
            device(query, ntddk::PowerDeviceD3),
            OK
        ),
        (
            "platform: device set D2",
            device(set, ntddk::PowerDeviceD2),
            OK
        ),
        (
            "platform: device set D0",
            device(set, ntddk::PowerDeviceD0),
            OK
        ),
    ]
}

/// Plug and Play and power IRPs out of order or of kinds nobody handles, as a hostile or buggy
/// sender would send them ([`hostile_to_pdo`], [`hostile_to_stacks`]), each answered with the
/// status upstream's code gives; then the PDO and the filters still work.
fn hostile_irps(root: usize, platform: usize, vbd: usize) {
    let mut answers = hostile_to_pdo(vbd);
    answers.extend(hostile_to_stacks(root, platform));
    answers.extend(power_in_every_state(platform));
    let wrong: Vec<String> = answers
        .iter()
        .filter(|(_, got, want)| got != want)
        .map(|(what, got, want)| alloc::format!("{what}: {got:#x}, want {want:#x}"))
        .collect();
    check(
        "nt.xenfilt.hostile_irps",
        wrong.is_empty(),
        format_args!(
            "{} IRPs answered as upstream's code answers; wrong: {wrong:?}",
            answers.len()
        ),
    );
    let mut table = [0u8; 512];
    let store = xb::query(
        vbd,
        &xenbus_interface::store::GUID_XENBUS_STORE_INTERFACE,
        2,
        512,
        table.as_mut_ptr(),
    );
    let (emulated, _) = query(vbd, 3, 128);
    let states: Vec<Option<State>> = [root, platform, vbd]
        .iter()
        .map(|&d| pnp::node(d).map(|n| n.state))
        .collect();
    check(
        "nt.xenfilt.hostile_irps_then_working",
        store == 0 && emulated == 0 && states.iter().all(|s| *s == Some(State::Started)),
        format_args!(
            "STORE {store:#x} and EMULATED {emulated:#x} served through the VBD PDO; root, \
             platform and VBD nodes {states:?}"
        ),
    );
}

/// Removes the tree, unloads the drivers and audits what they leave.
fn tear_down(root: usize, filter: Loaded, xenbus: Loaded, child: Option<Child>) {
    let nodes_before = pnp::nodes()
        .iter()
        .filter(|n| n.state != State::Removed)
        .count();
    match pnp::remove(root) {
        Ok(removal) => {
            check(
                "nt.xenfilt.removed",
                removal.failed.is_empty() && removal.removed.len() == nodes_before,
                format_args!(
                    "{} of {nodes_before} nodes removed, {} failures",
                    removal.removed.len(),
                    removal.failed.len()
                ),
            );
        }
        Err((n, s)) => {
            check(
                "nt.xenfilt.removed",
                false,
                format_args!(
                    "IRP_MN_QUERY_REMOVE_DEVICE refused by {n:#x}: {:#010x}",
                    s.cast_unsigned()
                ),
            );
        }
    }
    pnp::settle();
    buses::delete_root(root);
    for d in [
        xenbus.driver,
        filter.driver,
        buses::pciide(),
        buses::atapi(),
    ] {
        pnp::unbind(d);
    }
    if let Some(c) = child {
        xb::unload_child(c);
    }
    let xenbus_unloaded = pnp::unload_driver(xenbus.driver);
    loader::unload(xenbus.index);
    super::leaks(xenbus.index);
    let unloaded = pnp::unload_driver(filter.driver);
    check(
        "nt.xenfilt.unloaded",
        unloaded && xenbus_unloaded,
        format_args!("xenfilt.sys's and xenbus.sys's DriverUnload ran with no device left"),
    );
    loader::unload(filter.index);
    super::leaks(filter.index);
}
