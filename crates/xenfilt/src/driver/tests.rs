// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Tests of the driver-level decisions and of whole boots through the state machine.

use super::*;
use crate::emulated::EmulatedType;
use crate::fdo::{BusRelations, RelationsReply};
use crate::id::{Id, IdError, IdList, Text};
use crate::pdo::{ChildProbe, MissingReason, PdoCreateError, ProbeError};
use crate::pnp::{
    BusQueryIdType, DeviceHandle, DevicePowerState, DeviceTextType, Information, QueryInterface,
    RelationType, SystemPowerState,
};
use crate::registry::{
    REG_BINARY, REG_DWORD, REG_MULTI_SZ, REG_SZ, RegistryError, Value, ValueError, encode_multi_sz,
    encode_sz,
};
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use ntstatus::{
    STATUS_BUFFER_OVERFLOW, STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED,
    STATUS_OBJECT_NAME_NOT_FOUND, STATUS_UNSUCCESSFUL,
};
use xenbus_interface::emulated::GUID_XENFILT_EMULATED_INTERFACE;

const DEV_0001: &[u8] = b"PCI\\VEN_5853&DEV_0001&SUBSYS_00015853&REV_01";
const DEV_0002: &[u8] = b"PCI\\VEN_5853&DEV_0002&SUBSYS_00025853&REV_01";
const DEV_C000: &[u8] = b"PCI\\VEN_5853&DEV_C000&SUBSYS_C0005853&REV_01";
const NIC: &[u8] = b"PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03";
const IDE_CTRL: &[u8] = b"PCI\\VEN_8086&DEV_7010&SUBSYS_11001AF4&REV_00";

/// A `Parameters` key in memory; names compare case-insensitively, as the registry's.
#[derive(Default)]
struct Params {
    values: BTreeMap<Vec<u8>, Value>,
    precedence: Option<BTreeMap<Vec<u8>, Value>>,
}

impl Params {
    /// The INF's type mappings.
    fn inf() -> Self {
        let mut p = Self::default();
        p.set(b"*PNP0A03", Value::new(REG_SZ, encode_sz(b"PCI")));
        p.set(
            b"Internal_IDE_Channel",
            Value::new(REG_SZ, encode_sz(b"IDE")),
        );
        p
    }

    /// The INF's mappings plus the `Active*` values xenbus wrote for `DEV_0002`.
    fn with_active() -> Self {
        let mut p = Self::inf();
        p.set(b"ActiveDeviceID", Value::new(REG_SZ, encode_sz(DEV_0002)));
        p.set(b"ActiveInstanceID", Value::new(REG_SZ, encode_sz(b"_")));
        p.set(
            b"ActiveLocationInformation",
            Value::new(REG_SZ, encode_sz(b"Xen Platform")),
        );
        p
    }

    fn set(&mut self, name: &[u8], value: Value) {
        self.values.insert(name.to_ascii_lowercase(), value);
    }

    fn set_precedence(&mut self, name: &[u8], value: Value) {
        self.precedence
            .get_or_insert_with(BTreeMap::new)
            .insert(name.to_ascii_lowercase(), value);
    }

    /// The `FORCE_ACTIVATE` build's precedences for a vendor device `C000`.
    fn forced() -> Self {
        let mut p = Self::inf();
        p.set_precedence(b"PCI\\VEN_5853&DEV_0001", dword(1));
        p.set_precedence(b"PCI\\VEN_5853&DEV_0002", dword(2));
        p.set_precedence(b"PCI\\VEN_5853&DEV_C000", dword(0xC000));
        p
    }
}

impl Parameters for Params {
    fn value(&self, name: &[u8]) -> Result<Value, RegistryError> {
        self.values
            .get(&name.to_ascii_lowercase())
            .cloned()
            .ok_or(RegistryError::NotFound)
    }

    fn precedence_value(&self, name: &[u8]) -> Result<Value, RegistryError> {
        self.precedence
            .as_ref()
            .ok_or(RegistryError::NotFound)?
            .get(&name.to_ascii_lowercase())
            .cloned()
            .ok_or(RegistryError::NotFound)
    }
}

fn dword(v: u32) -> Value {
    Value::new(REG_DWORD, v.to_le_bytes().to_vec())
}

fn id(s: &[u8]) -> Id {
    Id::from_bytes(s).unwrap()
}

fn ids(list: &[&[u8]]) -> IdList {
    IdList::from_ids(list.iter().map(|s| id(s)).collect())
}

/// The compatible IDs pci.sys gives a device `PCI\VEN_v&DEV_d&SUBSYS_s&REV_r`.
fn pci_compatible(device_id: &[u8]) -> IdList {
    let text = core::str::from_utf8(device_id).unwrap();
    let mut parts = text.split('&');
    let ven_dev = [parts.next().unwrap(), parts.next().unwrap()].join("&");
    let rev = text.rsplit('&').next().unwrap();
    ids(&[
        [ven_dev.as_str(), rev].join("&").as_bytes(),
        ven_dev.as_bytes(),
        b"PCI\\CC_FF80",
    ])
}

/// A probe of a child with these IDs, attached.
fn probe(pdo: usize, device_id: &[u8], instance_id: &[u8]) -> ChildProbe {
    ChildProbe {
        pdo: DeviceHandle(pdo),
        attached: Ok(()),
        device_id: Ok(id(device_id)),
        instance_id: Ok(id(instance_id)),
        location: Ok(Text::from_bytes(b"PCI bus 0, device 2, function 0").unwrap()),
        compatible_ids: Ok(if device_id.starts_with(b"PCI\\") {
            pci_compatible(device_id)
        } else {
            ids(&[b"GenDisk"])
        }),
    }
}

fn handles(probes: &[ChildProbe]) -> Vec<DeviceHandle> {
    probes.iter().map(|p| p.pdo).collect()
}

/// A driver with a started PCI bus filter on `0x1000` and a started IDE one on `0x2000`.
fn boot(params: &Params, safe_mode: bool) -> (Driver, FdoId, FdoId) {
    let mut d = Driver::new(safe_mode);
    let pci = d
        .add_fdo(
            DeviceHandle(0x1000),
            EmulatedType::Pci,
            Ok(id(b"ACPI\\PNP0A03")),
            Ok(id(b"0")),
        )
        .unwrap();
    let ide = d
        .add_fdo(
            DeviceHandle(0x2000),
            EmulatedType::Ide,
            Ok(id(b"PCIIDE\\IDEChannel")),
            Ok(id(b"4&1f6a3f1&0&0")),
        )
        .unwrap();
    for fdo in [pci, ide] {
        let step = d.dispatch(DeviceRef::Fdo(fdo), Request::Pnp(Pnp::Start));
        assert_eq!(step.then, Dispatch::ForwardAndWait);
        let c = d.completed(
            DeviceRef::Fdo(fdo),
            Request::Pnp(Pnp::Start),
            STATUS_SUCCESS,
        );
        assert_eq!(
            c.effects,
            vec![Effect::SetDevicePower(DevicePowerState::D0)]
        );
    }
    let _ = params;
    (d, pci, ide)
}

/// One `BusRelations` query of `fdo` whose lower driver reports `probes`' PDOs.
fn query(d: &mut Driver, fdo: FdoId, probes: &[ChildProbe], params: &Params) -> BusRelations {
    let step = d.dispatch(
        DeviceRef::Fdo(fdo),
        Request::Pnp(Pnp::QueryDeviceRelations(RelationType::Bus)),
    );
    assert_eq!(step.then, Dispatch::ForwardAndWait);
    let reported = handles(probes);
    let new = d.new_children(fdo, &reported);
    let wanted: Vec<ChildProbe> = probes
        .iter()
        .filter(|p| new.contains(&p.pdo))
        .cloned()
        .collect();
    // As the glue does: read what the decision may read, then decide from that snapshot.
    let snapshot = Driver::bus_relations_parameters(&wanted, params);
    d.bus_relations(fdo, Ok(&reported), &wanted, &snapshot)
}

fn pci_children() -> Vec<ChildProbe> {
    vec![
        probe(
            0x11,
            b"PCI\\VEN_8086&DEV_1237&SUBSYS_11001AF4&REV_02",
            b"3&267a616a&0&00",
        ),
        probe(0x12, IDE_CTRL, b"3&267a616a&0&09"),
        probe(0x13, DEV_0002, b"3&267a616a&0&10"),
        probe(0x14, NIC, b"3&267a616a&0&18"),
    ]
}

fn ide_children() -> Vec<ChildProbe> {
    vec![probe(
        0x21,
        b"IDE\\DiskQEMU_HARDDISK___________________2.5+____",
        b"0.0.0",
    )]
}

fn pdo_on(d: &Driver, fdo: FdoId, pdo: usize) -> PdoId {
    d.fdo(fdo)
        .unwrap()
        .children()
        .iter()
        .find(|c| c.child() == DeviceHandle(pdo))
        .unwrap()
        .id()
}

// ---- AddDevice ----------------------------------------------------------------------------

#[test]
fn pci_root_bus_is_filtered_as_pci_through_its_compatible_id() {
    let p = Params::inf();
    let hw = ids(&[b"ACPI\\PNP0A03", b"*PNP0A03"]);
    // The hardware IDs of the root bus carry `*PNP0A03` too: found there first.
    assert_eq!(add_device(Some(&hw), None, &p), Some(EmulatedType::Pci));
    let hw = ids(&[b"ACPI\\VEN_PNP&DEV_0A03"]);
    let compatible = ids(&[b"*PNP0A03"]);
    assert_eq!(
        add_device(Some(&hw), Some(&compatible), &p),
        Some(EmulatedType::Pci)
    );
}

#[test]
fn ide_channel_is_filtered_as_ide() {
    let p = Params::inf();
    let hw = ids(&[b"IntelIDE\\PrimaryChannel"]);
    let compatible = ids(&[b"Internal_IDE_Channel"]);
    assert_eq!(
        add_device(Some(&hw), Some(&compatible), &p),
        Some(EmulatedType::Ide)
    );
}

#[test]
fn unmapped_devices_are_not_filtered() {
    let p = Params::inf();
    let hw = ids(&[b"ACPI\\PNP0303", b"*PNP0303"]);
    assert_eq!(add_device(Some(&hw), Some(&hw), &p), None);
    assert_eq!(add_device(None, None, &p), None);
}

#[test]
fn hardware_ids_decide_before_compatible_ids() {
    let mut p = Params::inf();
    p.set(b"ACPI\\PNP0A03", Value::new(REG_SZ, encode_sz(b"IDE")));
    let hw = ids(&[b"ACPI\\PNP0A03"]);
    let compatible = ids(&[b"*PNP0A03"]);
    assert_eq!(
        add_device(Some(&hw), Some(&compatible), &p),
        Some(EmulatedType::Ide)
    );
}

#[test]
fn type_values_match_case_insensitive_prefixes_of_pci_and_ide() {
    assert_eq!(type_from_value(b"PCI"), Some(EmulatedType::Pci));
    assert_eq!(type_from_value(b"pci"), Some(EmulatedType::Pci));
    // Upstream quirk: the compare runs over the value's length, so prefixes match.
    assert_eq!(type_from_value(b"P"), Some(EmulatedType::Pci));
    assert_eq!(type_from_value(b"iD"), Some(EmulatedType::Ide));
    assert_eq!(type_from_value(b"PCIe"), None);
    assert_eq!(type_from_value(b"PCI "), None);
    assert_eq!(type_from_value(b"SCSI"), None);
    // Deliberate difference: an empty value matches nothing (upstream: PCI).
    assert_eq!(type_from_value(b""), None);
}

#[test]
fn unusable_type_values_are_skipped_and_the_next_id_decides() {
    let mut p = Params::inf();
    p.set(b"A", Value::new(REG_SZ, encode_sz(b"PCIe")));
    p.set(b"B", dword(1));
    p.set(b"C", Value::new(REG_MULTI_SZ, encode_sz(b"PCI"))); // not closed
    p.set(b"D", Value::new(REG_SZ, vec![b'P', 0, b'C', 0])); // no terminator
    p.set(
        b"E",
        Value::new(REG_MULTI_SZ, encode_multi_sz(&[b"IDE", b"PCI"])),
    );
    let hw = ids(&[b"A", b"B", b"C", b"D", b"E"]);
    assert_eq!(add_device(Some(&hw), None, &p), Some(EmulatedType::Ide));
    let hw = ids(&[b"A", b"B", b"C", b"D"]);
    assert_eq!(add_device(Some(&hw), None, &p), None);
}

#[test]
fn a_bus_whose_ids_query_failed_is_added_with_an_error() {
    let mut d = Driver::new(false);
    assert_eq!(
        d.add_fdo(
            DeviceHandle(1),
            EmulatedType::Pci,
            Err(ProbeError::Status(STATUS_UNSUCCESSFUL)),
            Ok(id(b"0"))
        ),
        Err(STATUS_UNSUCCESSFUL)
    );
    assert!(d.fdos().is_empty());
    // A malformed ID only spoils the name.
    let fdo = d
        .add_fdo(
            DeviceHandle(1),
            EmulatedType::Pci,
            Err(ProbeError::Malformed(IdError::MissingTerminator)),
            Ok(id(b"0")),
        )
        .unwrap();
    assert_eq!(d.fdo(fdo).unwrap().name(), b"?\\0");
}

// ---- Precedence ---------------------------------------------------------------------------

#[test]
fn precedence_is_the_first_compatible_id_with_a_dword() {
    let p = Params::forced();
    assert_eq!(precedence(Some(&pci_compatible(DEV_C000)), &p), 0xC000);
    assert_eq!(precedence(Some(&pci_compatible(DEV_0001)), &p), 1);
    assert_eq!(precedence(Some(&pci_compatible(NIC)), &p), 0);
    assert_eq!(precedence(None, &p), 0);
    assert_eq!(
        precedence(Some(&pci_compatible(DEV_0002)), &Params::inf()),
        0
    );
}

#[test]
fn precedence_skips_unusable_values_but_stops_at_a_zero() {
    let mut p = Params::inf();
    p.set_precedence(b"A", Value::new(REG_BINARY, vec![5, 0, 0, 0]));
    p.set_precedence(b"B", Value::new(REG_DWORD, vec![5, 0]));
    p.set_precedence(b"C", dword(0));
    p.set_precedence(b"D", dword(7));
    assert_eq!(precedence(Some(&ids(&[b"A", b"B", b"D"])), &p), 7);
    assert_eq!(precedence(Some(&ids(&[b"A", b"C", b"D"])), &p), 0);
}

#[test]
fn highest_precedence_wins_first_on_ties_and_zero_is_neutral() {
    use ActivationStatus::{ForceActivated as F, ForceDeactivated as X, Neutral as N};
    assert_eq!(
        Driver::force_activation(&[1, 0xC000, 2, 0]),
        vec![X, F, X, X]
    );
    assert_eq!(Driver::force_activation(&[2, 2]), vec![F, X]);
    assert_eq!(Driver::force_activation(&[0, 0]), vec![N, N]);
    assert!(Driver::force_activation(&[]).is_empty());
}

// ---- The enumeration gate and the unplug --------------------------------------------------

#[test]
fn children_stay_hidden_until_every_bus_has_enumerated_then_unplug_then_report() {
    let p = Params::with_active();
    let (mut d, pci, ide) = boot(&p, false);

    let r = query(&mut d, pci, &pci_children(), &p);
    assert_eq!(r.reply, RelationsReply::Hidden);
    assert!(!r.unplug);
    assert_eq!(r.created.len(), 4);
    assert_eq!(d.filter_state(), FilterState::Enabled);

    // The IDE channel's first non-empty enumeration completes the set: unplug now.
    let r = query(&mut d, ide, &ide_children(), &p);
    assert!(r.unplug);
    assert_eq!(r.reply, RelationsReply::Hidden);
    assert_eq!(d.filter_state(), FilterState::Pending);

    // The next query of any bus disables the filter and reports that bus's children.
    let r = query(&mut d, pci, &pci_children(), &p);
    assert!(!r.unplug);
    assert!(r.created.is_empty());
    assert_eq!(d.filter_state(), FilterState::Disabled);
    assert_eq!(r.reply, RelationsReply::Children(handles(&pci_children())));
    for c in d.fdo(pci).unwrap().children() {
        assert_eq!(c.state(), DevicePnpState::Enumerated);
    }
    let r = query(&mut d, ide, &ide_children(), &p);
    assert_eq!(r.reply, RelationsReply::Children(handles(&ide_children())));
}

#[test]
fn after_the_unplug_vanished_pci_devices_are_never_reported_but_an_empty_channel_keeps_its_disk() {
    let p = Params::with_active();
    let (mut d, pci, ide) = boot(&p, false);
    query(&mut d, pci, &pci_children(), &p);
    assert!(query(&mut d, ide, &ide_children(), &p).unplug);
    // QEMU removed the NIC and the IDE disk: the buses no longer report them.
    let remaining: Vec<ChildProbe> = pci_children()
        .into_iter()
        .filter(|c| c.pdo != DeviceHandle(0x14))
        .collect();
    let r = query(&mut d, pci, &remaining, &p);
    assert_eq!(r.reply, RelationsReply::Children(handles(&remaining)));
    assert_eq!(r.destroyed.len(), 1);
    assert!(!d.emulated().is_device_present(Some(NIC), None).0);
    // Upstream quirk: an empty lower list is not enumerated at all, so the IDE channel's
    // tracked disk is still reported (and still counts as emulated) until the channel reports
    // a non-empty list again.
    let r = d.bus_relations(ide, Ok(&[]), &[], &p);
    assert_eq!(r.reply, RelationsReply::Children(vec![DeviceHandle(0x21)]));
    assert!(d.emulated().is_disk_present(0));
}

#[test]
fn nothing_is_unplugged_without_an_active_device_id_or_a_forced_device() {
    let p = Params::inf();
    let (mut d, pci, ide) = boot(&p, false);
    query(&mut d, pci, &pci_children(), &p);
    let r = query(&mut d, ide, &ide_children(), &p);
    assert!(!r.unplug);
    assert_eq!(d.filter_state(), FilterState::Pending);
    assert_eq!(d.active_presence(&p), ActivePresence::NotPresent);
    let r = query(&mut d, pci, &pci_children(), &p);
    assert_eq!(r.reply, RelationsReply::Children(handles(&pci_children())));
}

#[test]
fn nothing_is_unplugged_when_the_active_device_is_not_on_the_bus() {
    let mut p = Params::with_active();
    p.set(b"ActiveDeviceID", Value::new(REG_SZ, encode_sz(DEV_C000)));
    let (mut d, pci, ide) = boot(&p, false);
    query(&mut d, pci, &pci_children(), &p);
    assert!(!query(&mut d, ide, &ide_children(), &p).unplug);
}

#[test]
fn nothing_is_unplugged_in_safe_mode() {
    let p = Params::with_active();
    let (mut d, pci, ide) = boot(&p, true);
    query(&mut d, pci, &pci_children(), &p);
    let r = query(&mut d, ide, &ide_children(), &p);
    assert!(!r.unplug);
    assert_eq!(d.filter_state(), FilterState::Pending);
    assert_eq!(d.active_presence(&p), ActivePresence::Named);
}

#[test]
fn malformed_active_device_id_counts_as_absent_and_unplugs_nothing() {
    for bad in [
        dword(2),
        Value::new(REG_MULTI_SZ, encode_sz(DEV_0002)),
        Value::new(REG_SZ, encode_sz(DEV_0002)[..20].to_vec()),
        Value::new(REG_SZ, vec![0x41]),
    ] {
        let mut p = Params::with_active();
        p.set(b"ActiveDeviceID", bad);
        let (mut d, pci, ide) = boot(&p, false);
        query(&mut d, pci, &pci_children(), &p);
        assert!(!query(&mut d, ide, &ide_children(), &p).unplug);
        let platform = pdo_on(&d, pci, 0x13);
        let info = d.pdo(platform).unwrap().info();
        assert!(!info.active);
        // Not active: it keeps its own instance ID.
        assert_eq!(info.instance_id, Some(id(b"3&267a616a&0&10")));
    }
}

#[test]
fn active_device_id_in_a_valid_multi_string_is_its_first_string() {
    let mut p = Params::with_active();
    p.set(
        b"ActiveDeviceID",
        Value::new(REG_MULTI_SZ, encode_multi_sz(&[DEV_0002, DEV_0001])),
    );
    let (mut d, pci, ide) = boot(&p, false);
    query(&mut d, pci, &pci_children(), &p);
    assert!(query(&mut d, ide, &ide_children(), &p).unplug);
}

#[test]
fn an_empty_bus_never_counts_as_enumerated_and_stalls_the_gate() {
    // Upstream quirk (A13): an IDE channel without a device blocks every bus's children.
    let p = Params::with_active();
    let (mut d, pci, ide) = boot(&p, false);
    for _ in 0..3 {
        assert_eq!(
            query(&mut d, pci, &pci_children(), &p).reply,
            RelationsReply::Hidden
        );
        let r = query(&mut d, ide, &[], &p);
        assert_eq!(r.reply, RelationsReply::Hidden);
        assert!(!r.unplug);
    }
    assert_eq!(d.filter_state(), FilterState::Enabled);
    assert!(!d.fdo(ide).unwrap().has_enumerated());
}

#[test]
fn a_removed_bus_no_longer_holds_the_gate() {
    let p = Params::with_active();
    let (mut d, pci, ide) = boot(&p, false);
    query(&mut d, pci, &pci_children(), &p);
    // The empty IDE channel goes away.
    let step = d.dispatch(DeviceRef::Fdo(ide), Request::Pnp(Pnp::QueryRemove));
    assert_eq!(step.then, Dispatch::PassDownWithStatus(STATUS_SUCCESS));
    let step = d.dispatch(DeviceRef::Fdo(ide), Request::Pnp(Pnp::Remove));
    assert_eq!(step.then, Dispatch::ForwardAndWait);
    let c = d.completed(
        DeviceRef::Fdo(ide),
        Request::Pnp(Pnp::Remove),
        STATUS_SUCCESS,
    );
    assert_eq!(
        c.effects,
        vec![Effect::ReleaseRemoveLockAndWait, Effect::DestroyFdo(ide)]
    );
    assert!(query(&mut d, pci, &pci_children(), &p).unplug);
}

#[test]
fn lower_failure_completes_with_its_status_and_changes_nothing() {
    let p = Params::with_active();
    let (mut d, pci, _) = boot(&p, false);
    let r = d.bus_relations(pci, Err(STATUS_UNSUCCESSFUL), &[], &p);
    assert_eq!(r.reply, RelationsReply::Failed(STATUS_UNSUCCESSFUL));
    assert!(!d.fdo(pci).unwrap().has_enumerated());
}

// ---- Active-device selection --------------------------------------------------------------

#[test]
fn neutral_active_device_reports_the_stored_instance_id_and_location() {
    let p = Params::with_active();
    let (mut d, pci, _) = boot(&p, false);
    query(&mut d, pci, &pci_children(), &p);
    let platform = pdo_on(&d, pci, 0x13);
    let info = d.pdo(platform).unwrap().info().clone();
    assert!(info.active);
    assert_eq!(info.instance_id, Some(id(b"_")));
    assert_eq!(
        info.location,
        Some(Text::from_bytes(b"Xen Platform").unwrap())
    );

    let dev = DeviceRef::Pdo(platform);
    let q = Request::Pnp(Pnp::QueryId(BusQueryIdType::InstanceId));
    assert_eq!(d.dispatch(dev, q).then, Dispatch::ForwardAndWait);
    let c = d.completed(dev, q, STATUS_SUCCESS);
    assert_eq!(c.status, STATUS_SUCCESS);
    assert_eq!(
        c.information,
        Information::Replace(vec![u16::from(b'_'), 0])
    );
    let q = Request::Pnp(Pnp::QueryDeviceText(DeviceTextType::LocationInformation));
    let c = d.completed(dev, q, STATUS_SUCCESS);
    let expected: Vec<u16> = b"Xen Platform\0".iter().map(|&b| u16::from(b)).collect();
    assert_eq!(c.information, Information::Replace(expected));
    // The device ID is the child's own.
    let q = Request::Pnp(Pnp::QueryId(BusQueryIdType::DeviceId));
    let c = d.completed(dev, q, STATUS_SUCCESS);
    let expected: Vec<u16> = DEV_0002
        .iter()
        .chain(b"\0")
        .map(|&b| u16::from(b))
        .collect();
    assert_eq!(c.information, Information::Replace(expected));
    // Hardware IDs and descriptions are the lower driver's.
    let q = Request::Pnp(Pnp::QueryId(BusQueryIdType::HardwareIds));
    assert_eq!(
        d.completed(dev, q, STATUS_SUCCESS),
        Completion::with(STATUS_SUCCESS)
    );
    let q = Request::Pnp(Pnp::QueryDeviceText(DeviceTextType::Description));
    assert_eq!(
        d.completed(dev, q, STATUS_SUCCESS),
        Completion::with(STATUS_SUCCESS)
    );
    // A lower failure is returned as is.
    let q = Request::Pnp(Pnp::QueryId(BusQueryIdType::InstanceId));
    assert_eq!(
        d.completed(dev, q, STATUS_NOT_SUPPORTED),
        Completion::with(STATUS_NOT_SUPPORTED)
    );
}

#[test]
fn an_unknown_device_text_type_keeps_the_lower_answer() {
    let p = Params::with_active();
    let (mut d, pci, _) = boot(&p, false);
    query(&mut d, pci, &pci_children(), &p);
    let dev = DeviceRef::Pdo(pdo_on(&d, pci, 0x13));
    let q = Request::Pnp(Pnp::QueryDeviceText(DeviceTextType::Other(7)));
    assert_eq!(d.dispatch(dev, q).then, Dispatch::ForwardAndWait);
    assert_eq!(
        d.completed(dev, q, STATUS_SUCCESS),
        Completion::with(STATUS_SUCCESS)
    );
    assert_eq!(
        d.completed(dev, q, STATUS_NOT_SUPPORTED),
        Completion::with(STATUS_NOT_SUPPORTED)
    );
}

#[test]
fn active_device_id_matches_ignoring_case() {
    let mut p = Params::with_active();
    p.set(
        b"ActiveDeviceID",
        Value::new(REG_SZ, encode_sz(&DEV_0002.to_ascii_lowercase())),
    );
    let (mut d, pci, _) = boot(&p, false);
    query(&mut d, pci, &pci_children(), &p);
    assert!(d.pdo(pdo_on(&d, pci, 0x13)).unwrap().info().active);
}

#[test]
fn missing_active_location_falls_back_to_the_devices_own() {
    let mut p = Params::with_active();
    p.values.remove(b"activelocationinformation".as_slice());
    let (mut d, pci, _) = boot(&p, false);
    query(&mut d, pci, &pci_children(), &p);
    let info = d.pdo(pdo_on(&d, pci, 0x13)).unwrap().info().clone();
    assert_eq!(
        info.location,
        Some(Text::from_bytes(b"PCI bus 0, device 2, function 0").unwrap())
    );
}

#[test]
fn active_device_without_active_instance_id_is_dropped_and_nothing_unplugged() {
    // Upstream quirk (A14): PdoCreate fails, the child vanishes from the bus relations.
    for bad in [
        None,
        Some(dword(1)),
        Some(Value::new(REG_SZ, encode_sz(&[b'x'; 300]))),
    ] {
        let mut p = Params::with_active();
        match bad {
            None => {
                p.values.remove(b"activeinstanceid".as_slice());
            }
            Some(v) => p.set(b"ActiveInstanceID", v),
        }
        let (mut d, pci, ide) = boot(&p, false);
        let r = query(&mut d, pci, &pci_children(), &p);
        assert_eq!(r.rejected.len(), 1);
        assert_eq!(r.rejected[0].0, DeviceHandle(0x13));
        assert!(matches!(
            r.rejected[0].1,
            PdoCreateError::NoActiveInstanceId(_) | PdoCreateError::BadActiveInstanceId(_)
        ));
        assert!(!query(&mut d, ide, &ide_children(), &p).unplug);
        let r = query(&mut d, pci, &pci_children(), &p);
        let expected: Vec<DeviceHandle> = handles(&pci_children())
            .into_iter()
            .filter(|h| *h != DeviceHandle(0x13))
            .collect();
        assert_eq!(r.reply, RelationsReply::Children(expected));
    }
    assert_eq!(
        PdoCreateError::NoActiveInstanceId(ValueError::Registry(RegistryError::NotFound)),
        PdoCreateError::NoActiveInstanceId(ValueError::Registry(RegistryError::NotFound))
    );
}

#[test]
fn highest_precedence_child_is_forced_and_every_other_new_child_deactivated() {
    use ActivationStatus::{ForceActivated as F, ForceDeactivated as X};
    let p = Params::forced();
    let (mut d, pci, ide) = boot(&p, false);
    let mut children = pci_children();
    children.push(probe(0x15, DEV_C000, b"3&267a616a&0&20"));
    query(&mut d, pci, &children, &p);
    let forces: Vec<ActivationStatus> = d
        .fdo(pci)
        .unwrap()
        .children()
        .iter()
        .map(crate::pdo::Pdo::force_activation)
        .collect();
    assert_eq!(forces, vec![X, X, X, X, F]);
    let vendor = d.pdo(pdo_on(&d, pci, 0x15)).unwrap().info().clone();
    assert!(vendor.active);
    // Force-activated devices keep their real instance ID.
    assert_eq!(vendor.instance_id, Some(id(b"3&267a616a&0&20")));
    assert!(!d.pdo(pdo_on(&d, pci, 0x13)).unwrap().info().active);
    assert_eq!(
        d.emulated().is_device_present(None, None),
        (true, ActivationStatus::ForceActivated)
    );
    assert_eq!(
        d.emulated().is_device_present(Some(DEV_0002), None),
        (true, ActivationStatus::ForceDeactivated)
    );
    // No ActiveDeviceID, yet the forced device opens the unplug gate.
    let r = query(&mut d, ide, &ide_children(), &p);
    assert!(r.unplug);
    assert_eq!(d.active_presence(&p), ActivePresence::Forced);
}

#[test]
fn forced_deactivation_overrides_a_matching_active_device_id() {
    let mut p = Params::forced();
    p.set(b"ActiveDeviceID", Value::new(REG_SZ, encode_sz(DEV_0001)));
    let (mut d, pci, _) = boot(&p, false);
    let children = vec![probe(0x31, DEV_0001, b"a"), probe(0x32, DEV_0002, b"b")];
    query(&mut d, pci, &children, &p);
    assert!(!d.pdo(pdo_on(&d, pci, 0x31)).unwrap().info().active);
    assert!(d.pdo(pdo_on(&d, pci, 0x32)).unwrap().info().active);
}

#[test]
fn bus_relations_decide_the_same_from_the_snapshot_as_from_the_live_key() {
    // Every scenario's key: active device named, and forced precedences; each bus queried
    // three times (hidden, unplug, reported) both ways.
    let mut forced_and_named = Params::forced();
    forced_and_named.set(b"ActiveDeviceID", Value::new(REG_SZ, encode_sz(DEV_0001)));
    forced_and_named.set(b"ActiveInstanceID", Value::new(REG_SZ, encode_sz(b"_")));
    for p in [Params::with_active(), Params::forced(), forced_and_named] {
        let mut children = pci_children();
        children.push(probe(0x15, DEV_C000, b"3&267a616a&0&20"));
        children.push(probe(0x16, DEV_0001, b"3&267a616a&0&28"));
        let (mut live, live_pci, live_ide) = boot(&p, false);
        let (mut snapped, snapped_pci, snapped_ide) = boot(&p, false);
        for _ in 0..3 {
            for (live_fdo, snapped_fdo, probes) in [
                (live_pci, snapped_pci, &children),
                (live_ide, snapped_ide, &ide_children()),
            ] {
                let reported = handles(probes);
                let expected = live.bus_relations(live_fdo, Ok(&reported), probes, &p);
                let got = query(&mut snapped, snapped_fdo, probes, &p);
                assert_eq!(got.reply, expected.reply);
                assert_eq!(got.unplug, expected.unplug);
                assert_eq!(got.created.len(), expected.created.len());
                assert_eq!(got.rejected, expected.rejected);
            }
        }
        let infos = |d: &Driver, fdo: FdoId| -> Vec<_> {
            d.fdo(fdo)
                .unwrap()
                .children()
                .iter()
                .map(|c| (c.info().clone(), c.force_activation()))
                .collect()
        };
        assert_eq!(infos(&snapped, snapped_pci), infos(&live, live_pci));
        assert_eq!(snapped.filter_state(), live.filter_state());
    }
}

// ---- Emulated disks -----------------------------------------------------------------------

#[test]
fn ide_disks_are_tracked_by_index_and_bad_instance_ids_dropped() {
    let p = Params::with_active();
    let (mut d, _, ide) = boot(&p, false);
    let disks = vec![
        probe(0x21, b"IDE\\DiskQEMU", b"1.0.0"),
        probe(0x22, b"IDE\\CdRomQEMU", b"1.1.1"),
        probe(0x23, b"IDE\\DiskQEMU", b"0.0.0junk"),
        probe(0x24, b"IDE\\DiskQEMU", b"2.0.0"),
    ];
    let r = query(&mut d, ide, &disks, &p);
    assert_eq!(r.created.len(), 1);
    let rejected: Vec<(DeviceHandle, NtStatus)> = r
        .rejected
        .iter()
        .map(|(h, e)| match e {
            PdoCreateError::Emulated(e) => (*h, e.status()),
            other => panic!("{other}"),
        })
        .collect();
    assert_eq!(
        rejected,
        vec![
            (DeviceHandle(0x22), STATUS_NOT_SUPPORTED),
            (DeviceHandle(0x23), STATUS_INVALID_PARAMETER),
            (DeviceHandle(0x24), STATUS_INVALID_PARAMETER),
        ]
    );
    assert!(d.emulated().is_disk_present(2));
    assert!(!d.emulated().is_disk_present(3));
}

#[test]
fn nvme_controller_on_the_pci_bus_makes_every_disk_emulated() {
    let p = Params::with_active();
    let (mut d, pci, _) = boot(&p, false);
    let mut children = pci_children();
    children.push(probe(
        0x16,
        b"PCI\\VEN_1B36&DEV_0010&SUBSYS_11001AF4&REV_02",
        b"x",
    ));
    query(&mut d, pci, &children, &p);
    assert!(d.emulated().is_disk_present(5));
}

// ---- Hostile children ---------------------------------------------------------------------

#[test]
fn children_with_unusable_ids_or_no_filter_are_dropped_and_nothing_else_changes() {
    let p = Params::with_active();
    let (mut d, pci, ide) = boot(&p, false);
    let mut bad_id = probe(0x41, NIC, b"1");
    bad_id.device_id = Err(ProbeError::Malformed(IdError::TooLong));
    let mut failed = probe(0x42, NIC, b"2");
    failed.device_id = Err(ProbeError::Status(STATUS_NOT_SUPPORTED));
    let mut unattached = probe(0x43, DEV_0002, b"3");
    unattached.attached = Err(STATUS_UNSUCCESSFUL);
    let mut no_instance = probe(0x44, NIC, b"4");
    no_instance.instance_id = Err(ProbeError::Malformed(IdError::MissingTerminator));
    no_instance.location = Err(ProbeError::Status(STATUS_NOT_SUPPORTED));
    no_instance.compatible_ids = Err(ProbeError::Malformed(IdError::MissingTerminator));
    let reported = [
        bad_id.pdo,
        failed.pdo,
        unattached.pdo,
        no_instance.pdo,
        DeviceHandle(0x45),
    ];
    let probes = vec![bad_id, failed, unattached, no_instance];
    let r = d.bus_relations(pci, Ok(&reported), &probes, &p);
    let rejected: Vec<DeviceHandle> = r.rejected.iter().map(|(h, _)| *h).collect();
    assert_eq!(
        rejected,
        vec![
            DeviceHandle(0x41),
            DeviceHandle(0x42),
            DeviceHandle(0x43),
            DeviceHandle(0x45)
        ]
    );
    assert_eq!(r.rejected[3].1, PdoCreateError::NotProbed);
    assert_eq!(r.created, vec![(DeviceHandle(0x44), r.created[0].1)]);
    // The platform device was not filtered, so it is not present: no unplug.
    assert!(!query(&mut d, ide, &ide_children(), &p).unplug);
    // A child without instance ID or location reports neither.
    let dev = DeviceRef::Pdo(r.created[0].1);
    let q = Request::Pnp(Pnp::QueryId(BusQueryIdType::InstanceId));
    assert_eq!(
        d.completed(dev, q, STATUS_SUCCESS),
        Completion::with(STATUS_OBJECT_NAME_NOT_FOUND)
    );
    let q = Request::Pnp(Pnp::QueryDeviceText(DeviceTextType::LocationInformation));
    assert_eq!(
        d.completed(dev, q, STATUS_SUCCESS),
        Completion::with(STATUS_OBJECT_NAME_NOT_FOUND)
    );
}

#[test]
fn a_pdo_listed_twice_gets_one_filter() {
    let p = Params::with_active();
    let (mut d, pci, _) = boot(&p, false);
    let c = probe(0x51, NIC, b"1");
    let reported = [c.pdo, c.pdo];
    assert_eq!(d.new_children(pci, &reported), vec![c.pdo]);
    let r = d.bus_relations(pci, Ok(&reported), &[c], &p);
    assert_eq!(r.created.len(), 1);
    assert_eq!(d.fdo(pci).unwrap().children().len(), 1);
}

// ---- Removal ------------------------------------------------------------------------------

/// A booted driver past the gate, its PCI children reported.
fn disabled() -> (Driver, FdoId, FdoId, Params) {
    let p = Params::with_active();
    let (mut d, pci, ide) = boot(&p, false);
    query(&mut d, pci, &pci_children(), &p);
    query(&mut d, ide, &ide_children(), &p);
    query(&mut d, pci, &pci_children(), &p);
    assert_eq!(d.filter_state(), FilterState::Disabled);
    (d, pci, ide, p)
}

#[test]
fn a_child_never_reported_to_pnp_is_destroyed_when_it_disappears() {
    let p = Params::with_active();
    let (mut d, pci, _) = boot(&p, false);
    query(&mut d, pci, &pci_children(), &p);
    let nic = pdo_on(&d, pci, 0x14);
    let fewer: Vec<ChildProbe> = pci_children().into_iter().take(3).collect();
    let r = query(&mut d, pci, &fewer, &p);
    assert_eq!(r.destroyed, vec![nic]);
    assert!(d.pdo(nic).is_none());
    assert!(!d.emulated().is_device_present(Some(NIC), None).0);
}

#[test]
fn a_reported_child_that_disappears_waits_for_its_remove() {
    let (mut d, pci, _, p) = disabled();
    let nic = pdo_on(&d, pci, 0x14);
    let fewer: Vec<ChildProbe> = pci_children().into_iter().take(3).collect();
    let r = query(&mut d, pci, &fewer, &p);
    assert!(r.destroyed.is_empty());
    assert_eq!(r.reply, RelationsReply::Children(handles(&fewer)));
    assert_eq!(
        d.pdo(nic).unwrap().missing(),
        Some(MissingReason::Disappeared)
    );

    let dev = DeviceRef::Pdo(nic);
    let step = d.dispatch(dev, Request::Pnp(Pnp::Remove));
    assert_eq!(step.then, Dispatch::ForwardAndWait);
    let c = d.completed(dev, Request::Pnp(Pnp::Remove), STATUS_SUCCESS);
    assert_eq!(
        c.effects,
        vec![
            Effect::ReleaseRemoveLockAndWait,
            Effect::InvalidateBusRelations(pci)
        ]
    );
    assert_eq!(d.pdo(nic).unwrap().state(), DevicePnpState::Deleted);
    // A deleted device fails every IRP but removal.
    assert_eq!(
        d.dispatch(dev, Request::Pnp(Pnp::QueryId(BusQueryIdType::DeviceId)))
            .then,
        Dispatch::Complete(STATUS_NO_SUCH_DEVICE)
    );
    assert_eq!(
        d.dispatch(dev, Request::Pnp(Pnp::Remove)).then,
        Dispatch::Complete(STATUS_SUCCESS)
    );
    // The invalidated query destroys it.
    let r = query(&mut d, pci, &fewer, &p);
    assert_eq!(r.destroyed, vec![nic]);
    assert!(d.pdo(nic).is_none());
    assert_eq!(
        d.dispatch(dev, Request::Power(Power::Other)).then,
        Dispatch::Complete(STATUS_NO_SUCH_DEVICE)
    );
}

#[test]
fn surprise_removed_missing_child_is_destroyed_at_its_remove() {
    let (mut d, pci, _, p) = disabled();
    let nic = pdo_on(&d, pci, 0x14);
    let fewer: Vec<ChildProbe> = pci_children().into_iter().take(3).collect();
    query(&mut d, pci, &fewer, &p);
    let dev = DeviceRef::Pdo(nic);
    let step = d.dispatch(dev, Request::Pnp(Pnp::SurpriseRemoval));
    assert_eq!(step.then, Dispatch::PassDownWithStatus(STATUS_SUCCESS));
    d.dispatch(dev, Request::Pnp(Pnp::Remove));
    let c = d.completed(dev, Request::Pnp(Pnp::Remove), STATUS_SUCCESS);
    assert_eq!(
        c.effects,
        vec![Effect::ReleaseRemoveLockAndWait, Effect::DestroyPdo(nic)]
    );
    assert!(d.pdo(nic).is_none());
}

#[test]
fn a_present_child_survives_its_remove() {
    let (mut d, pci, _, _) = disabled();
    let nic = pdo_on(&d, pci, 0x14);
    let dev = DeviceRef::Pdo(nic);
    d.dispatch(dev, Request::Pnp(Pnp::Start));
    d.completed(dev, Request::Pnp(Pnp::Start), STATUS_SUCCESS);
    let step = d.dispatch(dev, Request::Pnp(Pnp::Remove));
    assert_eq!(
        step.effects,
        vec![Effect::SetDevicePower(DevicePowerState::D3)]
    );
    let c = d.completed(dev, Request::Pnp(Pnp::Remove), STATUS_SUCCESS);
    assert!(c.effects.is_empty());
    assert_eq!(d.pdo(nic).unwrap().state(), DevicePnpState::Enumerated);
    assert!(d.emulated().is_device_present(Some(NIC), None).0);
}

#[test]
fn ejected_child_is_destroyed_after_completion() {
    let (mut d, pci, _, _) = disabled();
    let nic = pdo_on(&d, pci, 0x14);
    let dev = DeviceRef::Pdo(nic);
    assert_eq!(
        d.dispatch(dev, Request::Pnp(Pnp::Eject)).then,
        Dispatch::ForwardAndWait
    );
    assert_eq!(d.pdo(nic).unwrap().missing(), Some(MissingReason::Ejected));
    let c = d.completed(dev, Request::Pnp(Pnp::Eject), STATUS_SUCCESS);
    assert_eq!(c.effects, vec![Effect::DestroyPdo(nic)]);
    assert!(d.pdo(nic).is_none());
}

#[test]
fn removing_a_started_bus_destroys_its_children_then_itself() {
    let (mut d, pci, _, _) = disabled();
    let children: Vec<PdoId> = d
        .fdo(pci)
        .unwrap()
        .children()
        .iter()
        .map(crate::pdo::Pdo::id)
        .collect();
    let dev = DeviceRef::Fdo(pci);
    d.dispatch(dev, Request::Pnp(Pnp::QueryRemove));
    let step = d.dispatch(dev, Request::Pnp(Pnp::Remove));
    let mut expected: Vec<Effect> = children.iter().map(|&c| Effect::DestroyPdo(c)).collect();
    expected.push(Effect::SetDevicePower(DevicePowerState::D3));
    assert_eq!(step.effects, expected);
    assert_eq!(step.then, Dispatch::ForwardAndWait);
    assert!(
        d.emulated()
            .objects()
            .all(|o| matches!(o, crate::emulated::Object::Disk(_)))
    );
    let c = d.completed(dev, Request::Pnp(Pnp::Remove), STATUS_SUCCESS);
    assert_eq!(
        c.effects,
        vec![Effect::ReleaseRemoveLockAndWait, Effect::DestroyFdo(pci)]
    );
    assert!(d.fdo(pci).is_none());
}

// ---- Other IRPs ---------------------------------------------------------------------------

#[test]
fn emulated_interface_is_served_only_when_nobody_above_answered() {
    let (mut d, pci, _, _) = disabled();
    let dev = DeviceRef::Pdo(pdo_on(&d, pci, 0x13));
    let q = |version, size, status| {
        Request::Pnp(Pnp::QueryInterface(QueryInterface {
            guid: GUID_XENFILT_EMULATED_INTERFACE,
            version,
            size,
            status,
        }))
    };
    let step = d.dispatch(dev, q(3, 64, STATUS_NOT_SUPPORTED));
    assert_eq!(
        step.effects,
        vec![Effect::FillEmulatedInterface(
            crate::emulated::EmulatedVersion::V3
        )]
    );
    assert_eq!(step.then, Dispatch::PassDownWithStatus(STATUS_SUCCESS));
    assert_eq!(
        d.dispatch(dev, q(3, 63, STATUS_NOT_SUPPORTED)).then,
        Dispatch::PassDownWithStatus(STATUS_BUFFER_OVERFLOW)
    );
    assert_eq!(
        d.dispatch(dev, q(9, 64, STATUS_NOT_SUPPORTED)).then,
        Dispatch::PassDownWithStatus(STATUS_NOT_SUPPORTED)
    );
    assert_eq!(
        d.dispatch(dev, q(3, 64, STATUS_SUCCESS)),
        Step::just(Dispatch::PassDown)
    );
    let other = Request::Pnp(Pnp::QueryInterface(QueryInterface {
        guid: xenbus_interface::unplug::GUID_XENBUS_UNPLUG_INTERFACE,
        version: 1,
        size: 64,
        status: STATUS_NOT_SUPPORTED,
    }));
    assert_eq!(d.dispatch(dev, other), Step::just(Dispatch::PassDown));
    // The bus filter serves nothing.
    assert_eq!(
        d.dispatch(DeviceRef::Fdo(pci), q(3, 64, STATUS_NOT_SUPPORTED)),
        Step::just(Dispatch::PassDown)
    );
}

#[test]
fn power_up_waits_for_the_lower_driver_and_power_down_acts_first() {
    let (mut d, pci, _, _) = disabled();
    let dev = DeviceRef::Fdo(pci);
    // Started: D0. Going to D3 acts first.
    let step = d.dispatch(dev, Request::Power(Power::SetDevice(DevicePowerState::D3)));
    assert_eq!(
        step.effects,
        vec![Effect::SetDevicePower(DevicePowerState::D3)]
    );
    assert_eq!(step.then, Dispatch::PassDown);
    assert_eq!(
        d.dispatch(dev, Request::Power(Power::SetDevice(DevicePowerState::D3))),
        Step::just(Dispatch::PassDown)
    );
    let up = Power::SetDevice(DevicePowerState::D0);
    assert_eq!(
        d.dispatch(dev, Request::Power(up)),
        Step::just(Dispatch::PassDownWatched)
    );
    assert_eq!(
        d.power_up_completed(dev, up),
        vec![Effect::SetDevicePower(DevicePowerState::D0)]
    );
    // System states: tracked, never reported.
    let s3 = Power::SetSystem(SystemPowerState(4));
    assert_eq!(
        d.dispatch(dev, Request::Power(s3)),
        Step::just(Dispatch::PassDown)
    );
    let s0 = Power::SetSystem(SystemPowerState::WORKING);
    assert_eq!(
        d.dispatch(dev, Request::Power(s0)),
        Step::just(Dispatch::PassDownWatched)
    );
    assert!(d.power_up_completed(dev, s0).is_empty());
    assert_eq!(
        d.dispatch(dev, Request::Power(s0)),
        Step::just(Dispatch::PassDown)
    );
}

#[test]
fn stop_and_cancel_requests_track_state_and_pass_down_with_success() {
    let (mut d, pci, _, _) = disabled();
    let dev = DeviceRef::Fdo(pci);
    d.dispatch(dev, Request::Pnp(Pnp::QueryStop));
    assert_eq!(d.fdo(pci).unwrap().state(), DevicePnpState::StopPending);
    d.dispatch(dev, Request::Pnp(Pnp::CancelStop));
    assert_eq!(d.fdo(pci).unwrap().state(), DevicePnpState::Started);
    let step = d.dispatch(dev, Request::Pnp(Pnp::Stop));
    assert_eq!(
        step.effects,
        vec![Effect::SetDevicePower(DevicePowerState::D3)]
    );
    assert_eq!(step.then, Dispatch::PassDownWithStatus(STATUS_SUCCESS));
    assert_eq!(d.fdo(pci).unwrap().state(), DevicePnpState::Stopped);
    // A cancel that does not match the current state changes nothing.
    d.dispatch(dev, Request::Pnp(Pnp::CancelRemove));
    assert_eq!(d.fdo(pci).unwrap().state(), DevicePnpState::Stopped);
    assert_eq!(
        d.dispatch(dev, Request::Other),
        Step::just(Dispatch::PassDown)
    );
    assert_eq!(
        d.dispatch(dev, Request::Pnp(Pnp::Other(0x18))),
        Step::just(Dispatch::PassDown)
    );
}

#[test]
fn failed_start_leaves_the_filter_unstarted() {
    let (mut d, pci, _, _) = disabled();
    let dev = DeviceRef::Pdo(pdo_on(&d, pci, 0x14));
    let c = d.completed(dev, Request::Pnp(Pnp::Start), STATUS_UNSUCCESSFUL);
    assert_eq!(c, Completion::with(STATUS_UNSUCCESSFUL));
    assert_eq!(
        d.pdo(pdo_on(&d, pci, 0x14)).unwrap().state(),
        DevicePnpState::Enumerated
    );
}

#[test]
fn other_relation_types_keep_the_lower_answer() {
    let (mut d, pci, _, _) = disabled();
    let dev = DeviceRef::Fdo(pci);
    let q = Request::Pnp(Pnp::QueryDeviceRelations(RelationType::Other(4)));
    assert_eq!(d.dispatch(dev, q).then, Dispatch::ForwardAndWait);
    assert_eq!(
        d.completed(dev, q, STATUS_SUCCESS),
        Completion::with(STATUS_SUCCESS)
    );
    assert!(!crate::driver::Driver::is_bus_relations(q));
}

#[test]
fn a_removed_bus_answers_no_relations() {
    let p = Params::with_active();
    let (mut d, pci, _) = boot(&p, false);
    // Removed without having been started (previous state not Started): its children stay
    // until destroyed, but the bus filter answers nothing more.
    let mut d2 = Driver::new(false);
    let fdo = d2
        .add_fdo(
            DeviceHandle(9),
            EmulatedType::Pci,
            Ok(id(b"X")),
            Ok(id(b"0")),
        )
        .unwrap();
    query(&mut d2, fdo, &pci_children(), &p);
    d2.dispatch(DeviceRef::Fdo(fdo), Request::Pnp(Pnp::Remove));
    let c = d2.completed(
        DeviceRef::Fdo(fdo),
        Request::Pnp(Pnp::Remove),
        STATUS_SUCCESS,
    );
    assert_eq!(c.effects, vec![Effect::ReleaseRemoveLockAndWait]);
    let r = d2.bus_relations(fdo, Ok(&handles(&pci_children())), &[], &p);
    assert_eq!(r.reply, RelationsReply::Failed(STATUS_NO_SUCH_DEVICE));
    assert_eq!(
        d2.dispatch(
            DeviceRef::Fdo(fdo),
            Request::Pnp(Pnp::QueryDeviceRelations(RelationType::Bus))
        )
        .then,
        Dispatch::Complete(STATUS_NO_SUCH_DEVICE)
    );
    // A started one is fine.
    assert_ne!(
        query(&mut d, pci, &pci_children(), &p).reply,
        RelationsReply::Failed(STATUS_NO_SUCH_DEVICE)
    );
}
