// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `pnp_bus`: the FDO and its PDOs (`xenbus::pnp::fdo`, `pnp::power`) driven by an arbitrary
//! sequence of Plug and Play and power requests, scans and relations queries, as a confused or
//! hostile PnP manager (or a xenstore `device/` listing changing under it) could send them.
//!
//! Invariants after every step:
//! * the FDO holds one reference per PDO plus Plug and Play's until it is removed, and
//!   `DestroyFdo` is asked for exactly once, when that count reaches 0;
//! * no PDO is destroyed twice, and a destroyed PDO is gone from the bus;
//! * bus relations never report a missing or deleted PDO, and a deleted PDO is always missing;
//! * at most one live (not missing) PDO per class name;
//! * a deleted PDO answers `STATUS_NO_SUCH_DEVICE` to everything but the removal IRPs, which
//!   succeed with no effect;
//! * power effects alternate: a PDO is never powered up twice without a power-down between,
//!   and the FDO is never powered down twice without a start or power-up between;
//! * a system state outside `SYSTEM_POWER_STATE` is passed down untouched.

use std::collections::BTreeMap;

use ntstatus::{STATUS_NO_SUCH_DEVICE, STATUS_SUCCESS};
use xenbus::pdo_identity::Bus;
use xenbus::pnp::fdo::{Effect, Fdo, PowerRequest};
use xenbus::pnp::pdo::{PdoCompletion, PdoId, PdoInfo, PdoRequest, PdoSettings};
use xenbus::pnp::power::SystemPlan;
use xenbus::pnp::state::{DevicePnpState, DevicePower, SystemPower};

use crate::input::{Reader, Writer};

const NAMES: [&str; 5] = ["VIF", "VBD", "VKBD", "IFACE", "CONS"];

#[derive(Default)]
struct Model {
    destroyed: Vec<PdoId>,
    fdo_destroyed: bool,
    pdo_powered: BTreeMap<PdoId, bool>,
    fdo_powered: bool,
}

impl Model {
    fn apply(&mut self, fdo: &Fdo, effects: &[Effect]) {
        for effect in effects {
            match effect {
                Effect::DestroyPdo(id) => {
                    assert!(!self.destroyed.contains(id), "{id:?} destroyed twice");
                    assert!(
                        fdo.pdo(*id).is_none(),
                        "{id:?} destroyed but still on the bus"
                    );
                    self.destroyed.push(*id);
                }
                Effect::DestroyFdo => {
                    assert!(!self.fdo_destroyed, "FDO destroyed twice");
                    self.fdo_destroyed = true;
                }
                Effect::PowerUpPdo(id) => {
                    let was = self.pdo_powered.insert(*id, true);
                    assert_ne!(was, Some(true), "{id:?} powered up twice");
                }
                Effect::PowerDownPdo(id) => {
                    let was = self.pdo_powered.insert(*id, false);
                    assert_eq!(was, Some(true), "{id:?} powered down while off");
                }
                Effect::PowerDownFdo => {
                    assert!(self.fdo_powered, "FDO powered down while off");
                    self.fdo_powered = false;
                }
                _ => {}
            }
        }
    }

    fn check(&self, fdo: &Fdo) {
        let pnp = u32::from(fdo.state() != DevicePnpState::Deleted);
        let pdos = u32::try_from(fdo.pdos().len()).unwrap();
        assert_eq!(fdo.references(), pdos + pnp);
        assert_eq!(self.fdo_destroyed, fdo.references() == 0);
        for name in NAMES {
            let live = fdo
                .pdos()
                .iter()
                .filter(|pdo| pdo.name() == name && pdo.missing().is_none())
                .count();
            assert!(live <= 1, "{name}: {live} live PDOs");
        }
        for pdo in fdo.pdos() {
            assert!(pdo.state() != DevicePnpState::Deleted || pdo.missing().is_some());
            let on = self.pdo_powered.get(&pdo.id()).copied().unwrap_or(false);
            assert_eq!(on, pdo.power() == DevicePower::D0);
        }
        assert_eq!(self.fdo_powered, fdo.power() == DevicePower::D0);
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut r = Reader::new(data);
    let bus = Bus {
        vendor_prefix: "XP".into(),
        pci_device_id: r.u16(),
    };
    let mut fdo = Fdo::new(bus, r.bool());
    let mut model = Model::default();
    let mut steps = 0;
    while !r.is_empty() && steps < 512 {
        steps += 1;
        let mut effects = Vec::new();
        match r.below(16) {
            0 => {
                model.fdo_powered = true;
                fdo.start_succeeded();
            }
            1 => {
                let mut classes: Vec<String> = Vec::new();
                let mask = r.u8();
                for (bit, name) in NAMES.iter().enumerate() {
                    if mask & (1 << bit) != 0 {
                        classes.push((*name).to_string());
                    }
                }
                if mask & 0x80 != 0 {
                    classes.push(String::from_utf8_lossy(r.short_bytes(8)).into_owned());
                }
                let plan = fdo.enumerate(&classes, r.u8() != 0);
                model.apply(&fdo, &plan.destroy);
                for class in plan.create {
                    fdo.add_pdo(class, PdoSettings::from_registry(None, None));
                }
            }
            2 => {
                for id in fdo.bus_relations() {
                    let pdo = fdo.pdo(id).unwrap();
                    assert!(pdo.missing().is_none() && pdo.state() != DevicePnpState::Deleted);
                }
            }
            3 => effects = fdo.reap(),
            4..=8 => {
                let Some(id) = pick(&fdo, &mut r) else {
                    continue;
                };
                let minor = r.u8() % 0x1A;
                let request = PdoRequest::decode(minor, i32::from(r.u8() % 8) - 1);
                let deleted = fdo.pdo(id).unwrap().state() == DevicePnpState::Deleted;
                let reply = fdo.pdo_pnp(id, request).unwrap();
                if deleted {
                    let removal =
                        matches!(request, PdoRequest::Remove | PdoRequest::SurpriseRemoval);
                    let status = if removal {
                        STATUS_SUCCESS
                    } else {
                        STATUS_NO_SUCH_DEVICE
                    };
                    assert_eq!(
                        reply.completion,
                        PdoCompletion::Complete(status, PdoInfo::None)
                    );
                    assert!(reply.before.is_empty() && reply.after.is_empty());
                }
                effects = reply.before;
            }
            9 => {
                let Some(id) = pick(&fdo, &mut r) else {
                    continue;
                };
                let request = match r.below(4) {
                    0 => PowerRequest::SetDevice(DevicePower::D0),
                    1 => PowerRequest::SetDevice(DevicePower::D3),
                    2 => SystemPower::from_raw(r.u32() % 9)
                        .map_or(PowerRequest::Other, PowerRequest::SetSystem),
                    _ => PowerRequest::Other,
                };
                effects = fdo.pdo_power(id, request).unwrap().before;
            }
            10 => {
                let size = if r.bool() {
                    Some(u64::from(r.u8() % 3))
                } else {
                    None
                };
                let held = r.bool().then_some("EVTCHN");
                let _ = fdo.query_stop_or_remove(r.bool(), size, held);
            }
            11 => {
                let _ = fdo.cancel_stop_or_remove(r.bool());
            }
            12 => effects = fdo.stop().before,
            13 => {
                let _ = fdo.surprise_removal();
            }
            14 => {
                if fdo.state() != DevicePnpState::Deleted || r.bool() {
                    let reply = fdo.remove();
                    effects = reply.before;
                    effects.extend(reply.after);
                }
            }
            _ => {
                let raw = r.u32() % 10;
                let plan = fdo.system_power_plan(raw, r.bool());
                if SystemPower::from_raw(raw).is_none() {
                    assert_eq!(plan, SystemPlan::PassDown);
                }
                match r.below(4) {
                    0 => {
                        let _ = fdo.system_up_forwarded(raw);
                    }
                    1 => {
                        let _ = fdo.system_down_device_done(raw, STATUS_SUCCESS);
                    }
                    2 => {
                        let _ =
                            fdo.usage_notification(i32::from(r.u8()) - 2, r.bool(), STATUS_SUCCESS);
                    }
                    _ => {
                        let _ = fdo.pnp_device_state(STATUS_SUCCESS, usize::from(r.u8()));
                    }
                }
            }
        }
        model.apply(&fdo, &effects);
        model.check(&fdo);
    }
}

fn pick(fdo: &Fdo, r: &mut Reader<'_>) -> Option<PdoId> {
    let pdos = fdo.pdos();
    if pdos.is_empty() {
        return None;
    }
    pdos.get(usize::from(r.u8()) % pdos.len())
        .map(|pdo| pdo.id())
}

/// Hand-made seeds: a boot (start, scan, relations, child starts), a class leaving xenstore,
/// surprise removal of the FDO, and an eject.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let boot = |w: &mut Writer| {
        w.u16(2).u8(1);
        w.u8(0); // start
        w.u8(1).u8(0b0000_0111).u8(1); // scan VIF VBD VKBD
        w.u8(2); // relations
        for pdo in 0..3 {
            w.u8(4).u8(pdo).u8(0).u8(0); // START each child
        }
    };
    let mut w = Writer::new();
    boot(&mut w);
    out.push(("boot", w.finish()));
    let mut w = Writer::new();
    boot(&mut w);
    w.u8(1).u8(0b0000_0101).u8(1); // VBD leaves
    w.u8(2);
    w.u8(4).u8(1).u8(2).u8(0); // REMOVE the missing child
    w.u8(2).u8(3); // relations, reap
    out.push(("class-leaves", w.finish()));
    let mut w = Writer::new();
    boot(&mut w);
    w.u8(13).u8(14); // surprise removal, removal of the FDO
    for pdo in 0..3 {
        w.u8(4).u8(pdo).u8(0x17).u8(0); // SURPRISE_REMOVAL
        w.u8(4).u8(pdo).u8(2).u8(0); // REMOVE
    }
    out.push(("fdo-surprise-removed", w.finish()));
    let mut w = Writer::new();
    boot(&mut w);
    w.u8(4).u8(0).u8(0x11).u8(0); // EJECT
    w.u8(1).u8(0b0000_0111).u8(1).u8(2).u8(3);
    out.push(("eject", w.finish()));
    out
}
