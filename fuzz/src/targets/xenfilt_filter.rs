// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `xenfilt_filter`: xenfilt's ID parsing, emulated-device tracking and filter state machine
//! (`xenfilt::{id, registry, emulated, driver, fdo, pdo}`) driven by hostile bus drivers and a
//! hostile `Parameters` key.
//!
//! The input is a `Parameters` key (type mappings, `Active*` values and precedences, each a raw
//! `REG_*` type and data), a Safe Mode bit, then operations: add a bus filter, answer a
//! `BusRelations` query with a list of child PDOs whose IDs arrive as raw UTF-16 (any length,
//! terminated or not), or send a PnP request to a filter. Invariants:
//! * an ID or ID list that parses is printable ASCII within its limits and widens back to the
//!   units it came from; an IDE instance ID that parses gives a disk index of at most 3;
//! * the filter state never goes back; `UnplugDevices` is asked for at most once, exactly when
//!   the state becomes `PENDING`, never in Safe Mode, and only when a force-activated device or
//!   the device `ActiveDeviceID` names is tracked;
//! * the EMULATED list holds exactly one object per live child filter; `IsDevicePresent(NULL,
//!   NULL)` is true exactly when a tracked device is force-activated;
//! * a reply hides the children exactly while the state is not `DISABLED`, and otherwise lists
//!   each tracked, non-missing child once.

use xenfilt::driver::{ActivePresence, DeviceRef, Driver, FilterState};
use xenfilt::emulated::{Object, parse_ide_instance};
use xenfilt::fdo::RelationsReply;
use xenfilt::id::{Id, IdList, MAX_ID_LEN, MAX_ID_LIST_LEN, Text};
use xenfilt::pdo::{ChildProbe, ProbeError};
use xenfilt::pnp::{BusQueryIdType, DeviceHandle, DeviceTextType, Pnp, Request};
use xenfilt::registry::{Parameters, RegistryError, Value};

use crate::input::{Reader, Writer};

/// A `Parameters` key from the input.
#[derive(Default)]
struct Params {
    values: Vec<(Vec<u8>, Value)>,
    precedence: Vec<(Vec<u8>, Value)>,
}

impl Parameters for Params {
    fn value(&self, name: &[u8]) -> Result<Value, RegistryError> {
        lookup(&self.values, name)
    }
    fn precedence_value(&self, name: &[u8]) -> Result<Value, RegistryError> {
        lookup(&self.precedence, name)
    }
}

fn lookup(values: &[(Vec<u8>, Value)], name: &[u8]) -> Result<Value, RegistryError> {
    values
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .ok_or(RegistryError::NotFound)
}

/// Names the input's values may take: the ones xenfilt reads, and IDs the children use.
const NAMES: &[&[u8]] = &[
    b"ActiveDeviceID",
    b"ActiveInstanceID",
    b"ActiveLocationInformation",
    b"*PNP0A03",
    b"Internal_IDE_Channel",
    b"PCI\\VEN_5853&DEV_0001",
    b"PCI\\VEN_5853&DEV_0002",
    b"A",
];

fn units(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks(2)
        .map(|p| u16::from_le_bytes([p[0], p.get(1).copied().unwrap_or(0)]))
        .collect()
}

/// Parses a single ID and checks what a success promises.
fn parse_id(raw: &[u16]) -> Result<Id, ProbeError> {
    let id = Id::from_utf16(raw).map_err(ProbeError::Malformed)?;
    assert!(id.len() <= MAX_ID_LEN);
    assert!(id.as_bytes().iter().all(|b| (0x20..=0x7E).contains(b)));
    let wide = id.to_utf16z().expect("memory");
    assert_eq!(&wide[..wide.len() - 1], &raw[..id.len()]);
    assert_eq!(raw[id.len()], 0);
    if let Ok(index) = parse_ide_instance(id.as_bytes()) {
        assert!(index <= 3, "disk index {index}");
    }
    Ok(id)
}

fn parse_list(raw: &[u16]) -> Result<IdList, ProbeError> {
    let list = IdList::from_utf16(raw).map_err(ProbeError::Malformed)?;
    let mut offset = 0;
    for id in list.ids() {
        assert!(!id.is_empty() && id.len() <= MAX_ID_LEN);
        let wide = id.to_utf16z().expect("memory");
        assert_eq!(&raw[offset..offset + wide.len()], wide.as_slice());
        offset += wide.len();
    }
    assert_eq!(raw[offset], 0, "the list is closed");
    assert!(offset < MAX_ID_LIST_LEN);
    Ok(list)
}

/// An ID from the input: raw UTF-16, or one of a few well-formed ones (so the interesting
/// paths are reached often).
fn raw_id(r: &mut Reader<'_>) -> Vec<u16> {
    const KNOWN: &[&str] = &[
        "PCI\\VEN_5853&DEV_0002&SUBSYS_00025853&REV_01\0",
        "PCI\\VEN_8086&DEV_100E&SUBSYS_11001AF4&REV_03\0",
        "1.0.0\0",
        "0.1.0\0",
        "_\0",
    ];
    match r.below(4) {
        0 => KNOWN[usize::from(r.below(KNOWN.len() as u8))]
            .encode_utf16()
            .collect(),
        _ => units(r.long_bytes(600)),
    }
}

fn check(d: &Driver, params: &Params) {
    let live: usize = d.fdos().iter().map(|f| f.children().len()).sum();
    assert_eq!(d.emulated().objects().count(), live);
    let forced = d.emulated().objects().any(|o| {
        matches!(o, Object::Device(dev)
            if dev.force_activate == xenfilt::emulated::ActivationStatus::ForceActivated)
    });
    assert_eq!(d.emulated().is_device_present(None, None).0, forced);
    for o in d.emulated().objects() {
        if let Object::Disk(i) = o {
            assert!(*i <= 3);
        }
    }
    let _ = d.active_presence(params);
}

const fn rank(s: FilterState) -> u8 {
    match s {
        FilterState::Enabled => 0,
        FilterState::Pending => 1,
        FilterState::Disabled => 2,
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut r = Reader::new(data);
    let mut params = Params::default();
    for _ in 0..r.below(8) {
        let name = NAMES[usize::from(r.below(NAMES.len() as u8))].to_vec();
        let value = Value::new(u32::from(r.below(8)), r.long_bytes(300).to_vec());
        if r.bool() {
            params.precedence.push((name, value));
        } else {
            params.values.push((name, value));
        }
    }
    let safe_mode = r.below(8) == 0;
    let mut d = Driver::new(safe_mode);
    let mut unplugs = 0;
    let mut fdos = Vec::new();
    let mut pdos = Vec::new();
    for _ in 0..64 {
        if r.is_empty() {
            break;
        }
        let before = d.filter_state();
        match r.below(4) {
            0 if fdos.len() < 4 => {
                let ty = if r.bool() {
                    xenfilt::emulated::EmulatedType::Pci
                } else {
                    xenfilt::emulated::EmulatedType::Ide
                };
                let handle = DeviceHandle(0x1000 + fdos.len());
                let device_id = parse_id(&raw_id(&mut r));
                if let Ok(fdo) = d.add_fdo(handle, ty, device_id, Ok(Id::default())) {
                    fdos.push(fdo);
                }
            }
            1 | 2 if !fdos.is_empty() => {
                let fdo = fdos[usize::from(r.below(fdos.len() as u8))];
                let reported: Vec<DeviceHandle> = (0..r.below(6))
                    .map(|_| DeviceHandle(usize::from(r.below(12))))
                    .collect();
                let new = d.new_children(fdo, &reported);
                let probes: Vec<ChildProbe> = new
                    .iter()
                    .map(|&pdo| ChildProbe {
                        pdo,
                        attached: if r.below(16) == 0 {
                            Err(ntstatus::STATUS_UNSUCCESSFUL)
                        } else {
                            Ok(())
                        },
                        device_id: parse_id(&raw_id(&mut r)),
                        instance_id: parse_id(&raw_id(&mut r)),
                        location: Text::from_utf16(&units(r.short_bytes(64)))
                            .map_err(ProbeError::Malformed),
                        compatible_ids: parse_list(&units(r.long_bytes(400))),
                    })
                    .collect();
                let presence = d.active_presence(&params);
                let out = d.bus_relations(fdo, Ok(&reported), &probes, &params);
                pdos.extend(out.created.iter().map(|(_, id)| *id));
                if out.unplug {
                    unplugs += 1;
                    assert!(!safe_mode);
                    assert_eq!(before, FilterState::Enabled);
                    assert_eq!(d.filter_state(), FilterState::Pending);
                    assert_ne!(d.active_presence(&params), ActivePresence::NotPresent);
                }
                let _ = presence;
                match &out.reply {
                    RelationsReply::Hidden => assert_ne!(d.filter_state(), FilterState::Disabled),
                    RelationsReply::Children(list) => {
                        assert_eq!(d.filter_state(), FilterState::Disabled);
                        let f = d.fdo(fdo).expect("live bus filter");
                        for (i, h) in list.iter().enumerate() {
                            assert!(!list[..i].contains(h), "reported twice");
                            assert!(
                                f.children()
                                    .iter()
                                    .any(|c| c.child() == *h && c.missing().is_none())
                            );
                        }
                    }
                    RelationsReply::Failed(_) => {}
                }
            }
            _ => {
                let target = if !pdos.is_empty() && r.bool() {
                    DeviceRef::Pdo(pdos[usize::from(r.below(pdos.len().min(255) as u8))])
                } else if !fdos.is_empty() {
                    DeviceRef::Fdo(fdos[usize::from(r.below(fdos.len() as u8))])
                } else {
                    continue;
                };
                let request = Request::Pnp(r.choose(&[
                    Pnp::Start,
                    Pnp::QueryRemove,
                    Pnp::CancelRemove,
                    Pnp::SurpriseRemoval,
                    Pnp::Remove,
                    Pnp::Eject,
                    Pnp::QueryId(BusQueryIdType::InstanceId),
                    Pnp::QueryDeviceText(DeviceTextType::LocationInformation),
                ]));
                let step = d.dispatch(target, request);
                if step.then == xenfilt::pnp::Dispatch::ForwardAndWait {
                    let status = if r.bool() {
                        ntstatus::STATUS_SUCCESS
                    } else {
                        ntstatus::STATUS_UNSUCCESSFUL
                    };
                    let _ = d.completed(target, request, status);
                }
            }
        }
        assert!(rank(d.filter_state()) >= rank(before), "state went back");
        check(&d, &params);
    }
    assert!(unplugs <= 1);
}

/// The hand-made seeds.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let sz = |s: &str| -> Vec<u8> {
        s.encode_utf16()
            .chain([0])
            .flat_map(u16::to_le_bytes)
            .collect()
    };
    let mut boot = Writer::new();
    // Parameters: ActiveDeviceID and ActiveInstanceID (REG_SZ).
    boot.u8(2);
    boot.u8(0)
        .u8(1)
        .long_bytes(&sz("PCI\\VEN_5853&DEV_0002&SUBSYS_00025853&REV_01"))
        .u8(0);
    boot.u8(1).u8(1).long_bytes(&sz("_")).u8(0);
    boot.u8(1); // not Safe Mode
    // A PCI bus filter and an IDE one.
    boot.u8(0).u8(1).u8(0).u8(0);
    boot.u8(0).u8(0).u8(0).u8(2);
    // The PCI bus reports the platform device and a NIC.
    boot.u8(1).u8(0).u8(2).u8(1).u8(2);
    for known in [0u8, 1] {
        boot.u8(0)
            .u8(0)
            .u8(0)
            .u8(known)
            .u8(0)
            .u8(4)
            .u8(0)
            .u8(0)
            .u16(0);
    }
    // The IDE channel reports a disk "1.0.0": the gate opens.
    boot.u8(1).u8(1).u8(1).u8(3);
    boot.u8(0)
        .u8(0)
        .u8(0)
        .u8(2)
        .u8(0)
        .u8(2)
        .u8(0)
        .u16(2)
        .bytes(&[0, 0]);
    // The PCI bus again: reported.
    boot.u8(1).u8(0).u8(2).u8(1).u8(2);
    let mut hostile = Writer::new();
    hostile
        .u8(1)
        .u8(3)
        .u8(4)
        .long_bytes(&[b'P', 0, b'C', 0])
        .u8(0);
    hostile.u8(9).u8(0).u8(1).u8(1).long_bytes(&[0x41; 599]);
    hostile.u8(1).u8(0).u8(3).u8(1).u8(2).u8(3);
    for _ in 0..3 {
        hostile
            .u8(1)
            .u8(0)
            .u8(1)
            .long_bytes(&[0xE9, 0, 0, 0])
            .u8(1)
            .long_bytes(&[b'x'; 400]);
        hostile.u8(0).long_bytes(&[0x41, 0]);
    }
    vec![("boot", boot.finish()), ("hostile", hostile.finish())]
}
