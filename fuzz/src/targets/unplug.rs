// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `unplug`: the unplug registry values and protocol (`xen::unplug`) and xenbus's UNPLUG
//! subsystem (`xenbus::unplug`), on arbitrary registry contents and port answers.
//!
//! Invariants:
//! * the load-time decision for each type follows the documented four steps exactly (model):
//!   a non-zero `ForceUnplug` forces it and the one-shot `Unplug` value is deleted; a missing
//!   or unreadable `Unplug` means no request and nothing deleted; a non-zero `Unplug` is vetoed
//!   unless a subkey of `Enum\XENBUS` names the frontend (case-sensitive substring before a
//!   NUL); `Enum\XENBUS` is read only when the decision needs it; `ForceUnplug` is never
//!   written or deleted;
//! * the counters: increment saturates at `u32::MAX` (a missing value counts as 0), decrement
//!   refuses a missing value and anything that is 0 or negative as a C `LONG`, and the stored
//!   value changes only when the call succeeds;
//! * the port protocol: nothing is written without the platform device; the handshake is
//!   written only after the magic and a non-zero version; one mask write per requested type,
//!   disks first, with the boot disk kept when asked;
//! * xenbus UNPLUG: `Reboot` succeeds exactly for a UTF-8, non-empty module name without `\`
//!   and a non-empty `RequestKey` string, and then leaves a volatile key `RequestKey\module`
//!   with `Reboot = 1` and nothing else; `BootEmulated` is true only for `TRUE`.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use platform_port::{PortIo, RegValue};
use xen::unplug::{
    BuildVersion, CounterError, MAGIC, MAGIC_BLACKLISTED, PORT_MAGIC, PORT_VERSION, PRODUCT_NUMBER,
    Preamble, RegistryError, UnplugMask, UnplugRegistry, UnplugState, UnplugType, Veto,
    decrement_value, increment_value, initialize, unplug_devices,
};
use xenbus::unplug::{Unplug, UnplugDeviceType, UnplugError, UnplugSystem};

use crate::input::{Reader, Writer};
use crate::platform::FuzzPlatform;
use crate::xen::FuzzXen;

fn registry_result(r: &mut Reader<'_>) -> Result<u32, RegistryError> {
    match r.below(6) {
        0 => Err(RegistryError::NotFound),
        1 => Err(RegistryError::WrongType),
        2 => Err(RegistryError::Os(-1_073_741_823)),
        3 => Ok(0),
        4 => Ok(1),
        _ => Ok(r.u32()),
    }
}

#[derive(Default)]
struct FakeRegistry {
    force: [Option<Result<u32, RegistryError>>; 2],
    unplug: [Option<Result<u32, RegistryError>>; 2],
    enum_xenbus: Option<Result<Vec<Vec<u8>>, RegistryError>>,
    enumerated: usize,
    deletes: Vec<String>,
    fail_writes: bool,
}

fn slot(name: &str) -> usize {
    match name {
        "DISKS" => 0,
        "NICS" => 1,
        other => panic!("unexpected value name {other}"),
    }
}

impl UnplugRegistry for FakeRegistry {
    fn read_force_unplug(&mut self, name: &str) -> Result<u32, RegistryError> {
        self.force[slot(name)].unwrap_or(Err(RegistryError::NotFound))
    }
    fn read_unplug(&mut self, name: &str) -> Result<u32, RegistryError> {
        self.unplug[slot(name)].unwrap_or(Err(RegistryError::NotFound))
    }
    fn write_unplug(&mut self, name: &str, value: u32) -> Result<(), RegistryError> {
        if self.fail_writes {
            return Err(RegistryError::Os(-1));
        }
        self.unplug[slot(name)] = Some(Ok(value));
        Ok(())
    }
    fn delete_unplug(&mut self, name: &str) -> Result<(), RegistryError> {
        self.deletes.push(name.to_owned());
        self.unplug[slot(name)] = None;
        Ok(())
    }
    fn enumerate_xenbus(&mut self, visit: &mut dyn FnMut(&[u8])) -> Result<(), RegistryError> {
        self.enumerated += 1;
        match &self.enum_xenbus {
            None => Err(RegistryError::NotFound),
            Some(Err(e)) => Err(*e),
            Some(Ok(keys)) => {
                for k in keys {
                    visit(k);
                }
                Ok(())
            }
        }
    }
}

fn decisions(r: &mut Reader<'_>) {
    let mut reg = FakeRegistry::default();
    for i in 0..2 {
        reg.force[i] = Some(registry_result(r));
        reg.unplug[i] = Some(registry_result(r));
    }
    reg.enum_xenbus = match r.below(4) {
        0 => Some(Err(RegistryError::Os(-5))),
        _ => Some(Ok((0..r.below(6))
            .map(|_| r.short_bytes(48).to_vec())
            .collect())),
    };
    let boot_emulated = r.bool();
    let before = (reg.force, reg.unplug);
    let (state, [disks, nics]) = initialize(&mut reg, boot_emulated);
    assert_eq!(reg.force, before.0, "ForceUnplug changed");
    let mut expected_enumerations = 0;
    let mut expected_deletes = Vec::new();
    for (kind, decision) in [(UnplugType::Disks, disks), (UnplugType::Nics, nics)] {
        let i = kind as usize;
        let force = before.0[i].expect("set");
        let unplug = before.1[i].expect("set");
        let forced = matches!(force, Ok(v) if v != 0);
        if forced {
            assert!(decision.request && decision.delete_unplug_value && decision.veto.is_none());
            assert_eq!(decision.logged_value, force.ok());
        } else {
            match unplug {
                Err(_) => {
                    assert!(!decision.request && !decision.delete_unplug_value);
                    assert_eq!(decision.logged_value, None);
                }
                Ok(0) => {
                    assert!(
                        !decision.request
                            && decision.delete_unplug_value
                            && decision.veto.is_none()
                    );
                    assert_eq!(decision.logged_value, Some(0));
                }
                Ok(v) => {
                    expected_enumerations += 1;
                    let seen = match &reg.enum_xenbus {
                        Some(Ok(keys)) => Ok(keys.iter().any(|k| {
                            let name = k.split(|&b| b == 0).next().unwrap_or_default();
                            name.windows(3)
                                .any(|w| w == kind.frontend_name().as_bytes())
                        })),
                        Some(Err(e)) => Err(*e),
                        None => Err(RegistryError::NotFound),
                    };
                    match seen {
                        Ok(true) => {
                            assert!(decision.request && decision.veto.is_none());
                            assert_eq!(decision.logged_value, Some(v));
                        }
                        Ok(false) => {
                            assert!(!decision.request);
                            assert_eq!(decision.veto, Some(Veto::NoFrontend));
                            assert_eq!(decision.logged_value, Some(0));
                        }
                        Err(e) => {
                            assert!(!decision.request);
                            assert_eq!(decision.veto, Some(Veto::EnumUnavailable(e)));
                        }
                    }
                    assert!(decision.delete_unplug_value);
                }
            }
        }
        if decision.delete_unplug_value {
            expected_deletes.push(kind.value_name().to_owned());
        }
        assert_eq!(state.request(kind), decision.request);
        assert_eq!(state.request_raw(kind as u32), decision.request);
    }
    assert_eq!(
        reg.enumerated, expected_enumerations,
        "Enum\\XENBUS read when not needed"
    );
    assert_eq!(reg.deletes, expected_deletes);
    assert!(!state.request_raw(2 + u32::from(r.u8())));
    assert_eq!(state.boot_emulated, boot_emulated);

    // Counters.
    for _ in 0..r.below(16) {
        let kind = if r.bool() {
            UnplugType::Disks
        } else {
            UnplugType::Nics
        };
        let i = kind as usize;
        if r.below(4) == 0 {
            reg.unplug[i] = Some(registry_result(r));
        }
        reg.fail_writes = r.below(8) == 0;
        let stored = reg.unplug[i].unwrap_or(Err(RegistryError::NotFound));
        if r.bool() {
            let result = increment_value(&mut reg, kind);
            let want = stored.unwrap_or(0).saturating_add(1);
            if reg.fail_writes {
                assert!(matches!(result, Err(CounterError::Registry(_))));
                assert_eq!(
                    reg.unplug[i].unwrap_or(Err(RegistryError::NotFound)),
                    stored
                );
            } else {
                assert_eq!(result, Ok(want));
                assert_eq!(reg.unplug[i], Some(Ok(want)));
            }
        } else {
            let result = decrement_value(&mut reg, kind);
            match stored {
                Err(e) => assert_eq!(result, Err(CounterError::Registry(e))),
                Ok(v) if v == 0 || v >= 0x8000_0000 => {
                    assert_eq!(result, Err(CounterError::WouldGoNegative))
                }
                Ok(_) if reg.fail_writes => {
                    assert!(matches!(result, Err(CounterError::Registry(_))))
                }
                Ok(v) => {
                    assert_eq!(result, Ok(v - 1));
                    assert_eq!(reg.unplug[i], Some(Ok(v - 1)));
                }
            }
            if result.is_err() {
                assert_eq!(
                    reg.unplug[i].unwrap_or(Err(RegistryError::NotFound)),
                    stored
                );
            }
        }
    }
}

/// Port I/O answering from a script and recording writes.
struct Ports {
    reads: RefCell<VecDeque<u16>>,
    writes: RefCell<Vec<(u16, u32)>>,
}

impl PortIo for Ports {
    fn inb(&self, _port: u16) -> u8 {
        self.reads.borrow_mut().pop_front().unwrap_or(0xFFFF) as u8
    }
    fn inw(&self, _port: u16) -> u16 {
        self.reads.borrow_mut().pop_front().unwrap_or(0xFFFF)
    }
    fn outb(&self, port: u16, value: u8) {
        self.writes.borrow_mut().push((port, u32::from(value)));
    }
    fn outw(&self, port: u16, value: u16) {
        self.writes.borrow_mut().push((port, u32::from(value)));
    }
    fn outl(&self, port: u16, value: u32) {
        self.writes.borrow_mut().push((port, value));
    }
}

fn protocol(r: &mut Reader<'_>) {
    let reads: VecDeque<u16> = (0..3)
        .map(|_| match r.below(4) {
            0 => MAGIC,
            1 => MAGIC_BLACKLISTED,
            2 => u16::from(r.u8()),
            _ => r.u16(),
        })
        .collect();
    let script = reads.clone();
    let ports = Ports {
        reads: RefCell::new(reads),
        writes: RefCell::default(),
    };
    let state = UnplugState::new(r.bool(), r.bool(), r.bool());
    let build = BuildVersion {
        major: r.u8(),
        minor: r.u8(),
        micro: r.u8(),
    };
    let report = unplug_devices(&ports, &state, build);
    let writes = ports.writes.into_inner();
    let mut expected: Vec<(u16, u32)> = Vec::new();
    let magic = script[0];
    let (preamble, version) = if magic == MAGIC_BLACKLISTED {
        (Preamble::Blacklisted, None)
    } else if magic != MAGIC {
        (Preamble::Absent { magic }, None)
    } else {
        let version = script[1] as u8;
        if version != 0 {
            expected.push((PORT_VERSION, u32::from(PRODUCT_NUMBER)));
            expected.push((PORT_MAGIC, build.build_number()));
            if script[2] == MAGIC_BLACKLISTED {
                (Preamble::Blacklisted, Some(version))
            } else {
                (Preamble::NotBlacklisted, Some(version))
            }
        } else {
            (Preamble::NotBlacklisted, Some(version))
        }
    };
    assert_eq!(report.preamble, preamble);
    assert_eq!(report.protocol_version, version);
    if !matches!(preamble, Preamble::Absent { .. }) {
        for (i, kind) in UnplugType::ALL.into_iter().enumerate() {
            if state.request(kind) {
                let mask = match kind {
                    UnplugType::Disks if state.boot_emulated => UnplugMask::AUX_IDE_DISKS,
                    UnplugType::Disks => UnplugMask::ALL_DISKS,
                    UnplugType::Nics => UnplugMask::ALL_NICS,
                };
                expected.push((PORT_MAGIC, u32::from(mask.bits())));
                assert_eq!(
                    report.writes[i].map(|w| (w.kind, w.mask)),
                    Some((kind, mask))
                );
            } else {
                assert_eq!(report.writes[i], None);
            }
        }
    } else {
        assert_eq!(report.writes, [None, None]);
    }
    assert_eq!(writes, expected);
}

struct System {
    requests: [bool; 2],
    option: Option<Vec<u8>>,
}

impl UnplugSystem for System {
    fn get_request(&self, xen_type: u32) -> bool {
        self.requests[xen_type as usize]
    }
    fn start_option(&self, _key: &[u8], found: &mut dyn FnMut(&[u8])) -> bool {
        self.option.as_deref().is_some_and(|v| {
            found(v);
            true
        })
    }
}

const PARAMETERS: &str = r"SYSTEM\CurrentControlSet\Services\xenbus\Parameters";

fn subsystem(r: &mut Reader<'_>) {
    let platform = FuzzPlatform::new(1);
    let xen = Arc::new(FuzzXen::default());
    let option = (!r.bool()).then(|| r.short_bytes(16).to_vec());
    let system = Arc::new(System {
        requests: [r.bool(), r.bool()],
        option: option.clone(),
    });
    let unplug = Unplug::new(
        platform.clone(),
        Arc::clone(&xen),
        system.clone(),
        PARAMETERS,
    );
    let request_key = match r.below(4) {
        0 => None,
        1 => Some(RegValue::Dword(1)),
        _ => Some(RegValue::Sz(
            String::from_utf8_lossy(r.short_bytes(64)).into_owned(),
        )),
    };
    {
        let mut registry = platform.registry();
        let key = registry.entry(PARAMETERS.to_owned()).or_default();
        if let Some(v) = request_key.clone() {
            key.values.insert("RequestKey".to_owned(), v);
        }
    }
    assert_eq!(unplug.boot_emulated(), option.as_deref() == Some(b"TRUE"));
    assert_eq!(
        unplug.is_requested(UnplugDeviceType::Disks),
        system.requests[0]
    );
    assert_eq!(
        unplug.is_requested(UnplugDeviceType::Nics),
        system.requests[1]
    );
    let mut counters: BTreeMap<u32, u32> = BTreeMap::new();
    for _ in 0..r.below(8) {
        let device = if r.bool() {
            UnplugDeviceType::Nics
        } else {
            UnplugDeviceType::Disks
        };
        let xen_type = match device {
            UnplugDeviceType::Nics => 1,
            UnplugDeviceType::Disks => 0,
        };
        let make = r.bool();
        unplug.request(device, make);
        let c = counters.entry(xen_type).or_insert(0);
        if make {
            *c += 1;
        } else if *c > 0 {
            *c -= 1;
        }
    }
    for (t, c) in counters {
        assert_eq!(
            xen.unplug
                .lock()
                .expect("lock")
                .get(&t)
                .copied()
                .unwrap_or(0),
            c
        );
    }
    // The C interface hands over a C string: never a NUL inside.
    let module = r
        .short_bytes(40)
        .split(|&b| b == 0)
        .next()
        .unwrap_or_default();
    let keys_before: Vec<String> = platform.registry().keys().cloned().collect();
    let result = unplug.reboot(module);
    let name = std::str::from_utf8(module)
        .ok()
        .filter(|m| !m.is_empty() && !m.contains('\\'));
    let key = match &request_key {
        Some(RegValue::Sz(k)) if !k.is_empty() => Some(k.clone()),
        _ => None,
    };
    match (name, key) {
        (None, _) => assert_eq!(result, Err(UnplugError::InvalidModule)),
        (Some(_), None) => assert_eq!(result, Err(UnplugError::NoRequestKey)),
        (Some(name), Some(key)) => {
            if key.contains('\0') {
                assert!(result.is_err());
            } else {
                assert_eq!(result, Ok(()));
                let registry = platform.registry();
                let sub = registry
                    .get(&format!("{key}\\{name}"))
                    .expect("the reboot key");
                assert!(sub.volatile || keys_before.contains(&format!("{key}\\{name}")));
                assert_eq!(sub.values.get("Reboot"), Some(&RegValue::Dword(1)));
            }
        }
    }
    if result.is_err() {
        let keys_after: Vec<String> = platform.registry().keys().cloned().collect();
        if name.is_none() || !matches!(&request_key, Some(RegValue::Sz(k)) if !k.is_empty()) {
            assert_eq!(
                keys_after, keys_before,
                "a refused reboot request changed the registry"
            );
        }
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut r = Reader::new(data);
    match r.below(3) {
        0 => decisions(&mut r),
        1 => protocol(&mut r),
        _ => subsystem(&mut r),
    }
}

/// Seeds: the unit tests' registry states and port answers.
#[must_use]
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    // decisions: force/unplug for disks then NICs, enum mode, subkeys, boot_emulated, counters.
    let mut w = Writer::new();
    w.u8(0)
        .u8(3)
        .u8(4)
        .u8(0)
        .u8(4)
        .u8(1)
        .u8(2)
        .short_bytes(b"VEN_XP&DEV_VBD&REV_0900000C")
        .short_bytes(b"VEN_XP&DEV_IFACE&REV_0900000C")
        .u8(0)
        .u8(4)
        .u8(1)
        .u8(1)
        .u8(1)
        .u8(1)
        .u8(0)
        .u8(1)
        .u8(1)
        .u8(0)
        .u8(0);
    out.push(("vbd-seen", w.finish()));
    let mut w = Writer::new();
    w.u8(0)
        .u8(5)
        .u32(7)
        .u8(0)
        .u8(3)
        .u8(5)
        .u32(0x8000_0000)
        .u8(0)
        .u8(1)
        .u8(1)
        .u8(2)
        .u8(0)
        .u8(0)
        .u8(0)
        .u8(0);
    out.push(("forced-enum-failed", w.finish()));
    let mut w = Writer::new();
    w.u8(1)
        .u8(0)
        .u8(2)
        .u8(1)
        .u8(1)
        .u8(1)
        .u8(1)
        .u8(1)
        .u8(9)
        .u8(1)
        .u8(0);
    out.push(("handshake", w.finish()));
    let mut w = Writer::new();
    w.u8(1)
        .u8(1)
        .u8(0)
        .u8(0)
        .u8(1)
        .u8(1)
        .u8(0)
        .u8(9)
        .u8(1)
        .u8(0);
    out.push(("blacklisted", w.finish()));
    let mut w = Writer::new();
    w.u8(2)
        .u8(0)
        .short_bytes(b"TRUE")
        .u8(1)
        .u8(0)
        .u8(2)
        .short_bytes(br"SOFTWARE\XenProject\Monitor\Request")
        .u8(2)
        .u8(1)
        .u8(1)
        .u8(1)
        .u8(0)
        .short_bytes(b"xenvif");
    out.push(("reboot", w.finish()));
    let mut w = Writer::new();
    w.u8(2)
        .u8(0)
        .short_bytes(b"true")
        .u8(0)
        .u8(0)
        .u8(2)
        .short_bytes(b"K")
        .u8(0)
        .short_bytes(b"a\\b");
    out.push(("reboot-bad-module", w.finish()));
    out
}
