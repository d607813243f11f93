// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Scenarios of the FDO and its PDOs through the typed requests, as the PnP manager drives them.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use ntstatus::{
    STATUS_INVALID_PARAMETER, STATUS_NO_SUCH_DEVICE, STATUS_NOT_SUPPORTED, STATUS_SUCCESS,
    STATUS_UNSUCCESSFUL,
};

use ntddk::consts as mn;
use ntddk::consts as p;

use super::fdo::{Effect, Fdo, FdoCompletion, PowerRequest, Reply};
use super::pdo::{MissingReason, PdoCompletion, PdoId, PdoInfo, PdoRequest, PdoSettings};
use super::state::{DevicePnpState, DevicePower, SystemPower};
use crate::pdo_identity::{Bus, Id, IdType, TextType};

fn bus() -> Bus {
    Bus {
        vendor_prefix: "XP".into(),
        pci_device_id: 2,
    }
}

fn classes(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_string()).collect()
}

/// A started, active FDO.
fn started() -> Fdo {
    let mut fdo = Fdo::new(bus(), true);
    assert!(fdo.start_succeeded());
    fdo
}

/// Runs a scan and creates every PDO it asks for; returns the new handles.
fn scan(fdo: &mut Fdo, names: &[&str]) -> (Vec<PdoId>, Vec<Effect>, bool) {
    let plan = fdo.enumerate(&classes(names), true);
    let created: Vec<PdoId> = plan
        .create
        .into_iter()
        .map(|class| fdo.add_pdo(class, PdoSettings::default()))
        .collect();
    (created, plan.destroy, plan.invalidate)
}

fn pnp(fdo: &mut Fdo, id: PdoId, request: PdoRequest) -> Reply<PdoCompletion> {
    fdo.pdo_pnp(id, request).unwrap()
}

const fn success() -> PdoCompletion {
    PdoCompletion::Complete(STATUS_SUCCESS, PdoInfo::None)
}

fn state_of(fdo: &Fdo, id: PdoId) -> Option<DevicePnpState> {
    fdo.pdo(id).map(super::pdo::Pdo::state)
}

#[test]
fn a_scan_creates_one_pdo_per_class_and_relations_report_them() {
    let mut fdo = started();
    let (ids, destroyed, invalidate) = scan(&mut fdo, &["VIF", "VBD", "IFACE"]);
    assert_eq!(ids.len(), 3);
    assert!(destroyed.is_empty());
    assert!(!invalidate);
    assert_eq!(fdo.references(), 4);
    assert_eq!(state_of(&fdo, ids[0]), Some(DevicePnpState::Present));
    assert_eq!(fdo.bus_relations(), ids);
    assert!(
        ids.iter()
            .all(|id| state_of(&fdo, *id) == Some(DevicePnpState::Enumerated))
    );
    let (again, _, invalidate) = scan(&mut fdo, &["VIF", "VBD", "IFACE"]);
    assert!(again.is_empty());
    assert!(!invalidate);
}

/// Found by the `pnp_bus` fuzz target: a class listed twice made a second live PDO.
#[test]
fn fuzz_pnp_bus_class_listed_twice_gets_one_pdo() {
    let mut fdo = started();
    let (ids, _, _) = scan(&mut fdo, &["VBD", "VBD"]);
    assert_eq!(ids.len(), 1);
    let (again, _, _) = scan(&mut fdo, &["VBD", "VIF", "VBD"]);
    assert_eq!(again.len(), 1);
    let live = fdo.pdos().iter().filter(|pdo| pdo.name() == "VBD").count();
    assert_eq!(live, 1);
}

#[test]
fn only_a_started_fdo_scans_and_enumerate_zero_changes_nothing() {
    let mut fdo = Fdo::new(bus(), true);
    assert_eq!(fdo.enumerate(&classes(&["VIF"]), true).create.len(), 0);
    let mut fdo = started();
    let (ids, _, _) = scan(&mut fdo, &["VIF"]);
    let plan = fdo.enumerate(&classes(&[]), false);
    assert!(plan.create.is_empty() && plan.destroy.is_empty() && !plan.invalidate);
    assert_eq!(fdo.pdo(ids[0]).unwrap().missing(), None);
}

#[test]
fn a_class_gone_before_it_was_reported_is_destroyed_at_once() {
    let mut fdo = started();
    let (ids, _, _) = scan(&mut fdo, &["VIF", "VBD"]);
    let (_, destroyed, invalidate) = scan(&mut fdo, &["VBD"]);
    assert_eq!(destroyed, vec![Effect::DestroyPdo(ids[0])]);
    assert!(!invalidate);
    assert!(fdo.pdo(ids[0]).is_none());
    assert_eq!(fdo.references(), 2);
}

#[test]
fn a_reported_class_that_goes_away_waits_for_the_pnp_manager() {
    let mut fdo = started();
    let (ids, _, _) = scan(&mut fdo, &["VIF", "VBD"]);
    fdo.bus_relations();
    let (_, destroyed, invalidate) = scan(&mut fdo, &["VBD"]);
    assert!(destroyed.is_empty());
    assert!(invalidate);
    let vif = fdo.pdo(ids[0]).unwrap();
    assert_eq!(vif.missing(), Some(MissingReason::DeviceDisappeared));
    assert_eq!(vif.missing().unwrap().as_str(), "device disappeared");
    assert_eq!(fdo.bus_relations(), vec![ids[1]]);
    // The PnP manager removes the missing PDO: deleted now, destroyed after the next relations.
    let reply = pnp(&mut fdo, ids[0], PdoRequest::Remove);
    assert_eq!(reply.before, vec![Effect::InvalidateBusRelations]);
    assert_eq!(reply.completion, success());
    assert_eq!(state_of(&fdo, ids[0]), Some(DevicePnpState::Deleted));
    assert_eq!(fdo.bus_relations(), vec![ids[1]]);
    assert_eq!(fdo.reap(), vec![Effect::DestroyPdo(ids[0])]);
    assert_eq!(fdo.references(), 2);
}

#[test]
fn a_removed_pdo_still_on_the_bus_goes_back_to_enumerated_and_restarts() {
    let mut fdo = started();
    let (ids, _, _) = scan(&mut fdo, &["VIF"]);
    fdo.bus_relations();
    let vif = ids[0];
    assert_eq!(
        pnp(&mut fdo, vif, PdoRequest::Start).before,
        vec![Effect::PowerUpPdo(vif)]
    );
    assert_eq!(fdo.pdo(vif).unwrap().power(), DevicePower::D0);
    pnp(&mut fdo, vif, PdoRequest::QueryRemove);
    let reply = pnp(&mut fdo, vif, PdoRequest::Remove);
    assert_eq!(reply.before, vec![Effect::PowerDownPdo(vif)]);
    assert_eq!(state_of(&fdo, vif), Some(DevicePnpState::Enumerated));
    assert_eq!(
        pnp(&mut fdo, vif, PdoRequest::Start).before,
        vec![Effect::PowerUpPdo(vif)]
    );
    assert_eq!(state_of(&fdo, vif), Some(DevicePnpState::Started));
}

#[test]
fn a_surprise_removed_missing_pdo_is_destroyed_by_its_removal() {
    let mut fdo = started();
    let (ids, _, _) = scan(&mut fdo, &["VBD"]);
    fdo.bus_relations();
    pnp(&mut fdo, ids[0], PdoRequest::Start);
    scan(&mut fdo, &[]);
    pnp(&mut fdo, ids[0], PdoRequest::SurpriseRemoval);
    let reply = pnp(&mut fdo, ids[0], PdoRequest::Remove);
    assert_eq!(
        reply.before,
        vec![Effect::PowerDownPdo(ids[0]), Effect::DestroyPdo(ids[0])]
    );
    assert!(fdo.pdo(ids[0]).is_none());
}

#[test]
fn an_ejected_pdo_is_replaced_by_the_next_scan_if_xenstore_still_lists_it() {
    let mut fdo = started();
    let (ids, _, _) = scan(&mut fdo, &["VIF"]);
    fdo.bus_relations();
    let reply = pnp(&mut fdo, ids[0], PdoRequest::Eject);
    assert_eq!(reply.before, vec![Effect::InvalidateBusRelations]);
    assert_eq!(
        fdo.pdo(ids[0]).unwrap().missing(),
        Some(MissingReason::DeviceEjected)
    );
    let (new, _, _) = scan(&mut fdo, &["VIF"]);
    assert_eq!(new.len(), 1);
    assert_ne!(new[0], ids[0]);
    assert_eq!(fdo.bus_relations(), new);
    assert_eq!(fdo.reap(), vec![Effect::DestroyPdo(ids[0])]);
}

#[test]
fn a_deleted_pdo_answers_only_removal() {
    let mut fdo = started();
    let (ids, _, _) = scan(&mut fdo, &["VIF"]);
    fdo.bus_relations();
    pnp(&mut fdo, ids[0], PdoRequest::Eject);
    let reply = pnp(&mut fdo, ids[0], PdoRequest::Start);
    assert_eq!(
        reply.completion,
        PdoCompletion::Complete(STATUS_NO_SUCH_DEVICE, PdoInfo::None)
    );
    assert!(reply.before.is_empty());
    let reply = pnp(&mut fdo, ids[0], PdoRequest::Remove);
    assert_eq!(reply.completion, success());
    assert!(reply.before.is_empty());
    assert_eq!(state_of(&fdo, ids[0]), Some(DevicePnpState::Deleted));
}

#[test]
fn fdo_removal_destroys_pdos_and_the_fdo_outlives_a_surprise_removed_child() {
    let mut fdo = started();
    let (ids, _, _) = scan(&mut fdo, &["VIF", "VBD"]);
    fdo.bus_relations();
    pnp(&mut fdo, ids[1], PdoRequest::Start);
    pnp(&mut fdo, ids[1], PdoRequest::SurpriseRemoval);
    assert_eq!(
        fdo.surprise_removal(),
        FdoCompletion::PassDown(STATUS_SUCCESS)
    );
    assert!(fdo.remove_waits_for_scan());
    let reply = fdo.remove();
    assert_eq!(
        reply.before,
        vec![
            Effect::DestroyPdo(ids[0]),
            Effect::PowerDownFdo,
            Effect::StopThreads,
            Effect::DisconnectInterrupts,
            Effect::FreeResources,
            Effect::ReleaseLowerBusInterface,
        ]
    );
    assert_eq!(reply.completion, FdoCompletion::PassDown(STATUS_SUCCESS));
    assert!(reply.after.is_empty(), "the VBD PDO still holds the FDO");
    assert_eq!(fdo.state(), DevicePnpState::Deleted);
    assert_eq!(
        fdo.pdo(ids[1]).unwrap().missing(),
        Some(MissingReason::FdoSurpriseRemoved)
    );
    let reply = pnp(&mut fdo, ids[1], PdoRequest::Remove);
    assert_eq!(
        reply.before,
        vec![
            Effect::PowerDownPdo(ids[1]),
            Effect::DestroyPdo(ids[1]),
            Effect::DestroyFdo
        ]
    );
    assert_eq!(fdo.references(), 0);
}

#[test]
fn removal_after_a_stop_still_frees_the_pdos_and_tears_down_once() {
    let mut fdo = started();
    let (ids, _, _) = scan(&mut fdo, &["VIF"]);
    fdo.bus_relations();
    assert_eq!(
        fdo.query_stop_or_remove(false, None, None),
        FdoCompletion::PassDown(STATUS_SUCCESS)
    );
    let stop = fdo.stop();
    assert_eq!(
        stop.before,
        vec![
            Effect::PowerDownFdo,
            Effect::StopThreads,
            Effect::DisconnectInterrupts,
            Effect::FreeResources
        ]
    );
    assert_eq!(fdo.state(), DevicePnpState::Stopped);
    // The PnP manager removes the child first, then the FDO.
    pnp(&mut fdo, ids[0], PdoRequest::Remove);
    fdo.query_stop_or_remove(true, None, None);
    assert!(!fdo.remove_waits_for_scan());
    let reply = fdo.remove();
    assert_eq!(
        reply.before,
        vec![Effect::DestroyPdo(ids[0]), Effect::ReleaseLowerBusInterface]
    );
    assert_eq!(reply.after, vec![Effect::DestroyFdo]);
}

#[test]
fn an_interface_a_child_holds_vetoes_a_stop_but_not_a_removal() {
    let mut fdo = started();
    assert_eq!(
        fdo.query_stop_or_remove(false, Some(0), Some("STORE")),
        FdoCompletion::Complete(STATUS_UNSUCCESSFUL)
    );
    assert_eq!(fdo.state(), DevicePnpState::Started, "nothing changed");
    assert_eq!(
        fdo.query_stop_or_remove(true, Some(0), Some("STORE")),
        FdoCompletion::PassDown(STATUS_SUCCESS)
    );
    assert_eq!(fdo.state(), DevicePnpState::RemovePending);
    fdo.cancel_stop_or_remove(true);
    assert_eq!(
        fdo.query_stop_or_remove(false, Some(0), None),
        FdoCompletion::PassDown(STATUS_SUCCESS)
    );
    assert_eq!(fdo.state(), DevicePnpState::StopPending);
}

#[test]
fn a_non_empty_balloon_vetoes_stop_and_removal() {
    let mut fdo = started();
    assert_eq!(
        fdo.query_stop_or_remove(false, Some(3), None),
        FdoCompletion::Complete(STATUS_UNSUCCESSFUL)
    );
    assert_eq!(
        fdo.query_stop_or_remove(true, Some(1), None),
        FdoCompletion::Complete(STATUS_UNSUCCESSFUL)
    );
    assert_eq!(fdo.state(), DevicePnpState::Started);
    assert_eq!(
        fdo.query_stop_or_remove(true, Some(0), None),
        FdoCompletion::PassDown(STATUS_SUCCESS)
    );
    assert_eq!(fdo.state(), DevicePnpState::RemovePending);
    fdo.cancel_stop_or_remove(true);
    assert_eq!(fdo.state(), DevicePnpState::Started);
}

#[test]
fn a_removal_of_an_fdo_that_never_started_only_releases_and_drops_its_reference() {
    let mut fdo = Fdo::new(bus(), false);
    let reply = fdo.remove();
    assert_eq!(reply.before, vec![Effect::ReleaseLowerBusInterface]);
    assert_eq!(reply.after, vec![Effect::DestroyFdo]);
    // A second removal (a confused PnP manager) drops nothing twice.
    let reply = fdo.remove();
    assert!(reply.after.is_empty());
    assert_eq!(fdo.references(), 0);
}

#[test]
fn an_inactive_fdo_neither_scans_nor_stops_threads() {
    let mut fdo = Fdo::new(bus(), false);
    assert!(!fdo.start_succeeded());
    assert!(!fdo.remove_waits_for_scan());
    assert_eq!(
        fdo.stop().before,
        vec![Effect::PowerDownFdo, Effect::FreeResources]
    );
}

#[test]
fn pdo_capabilities_follow_the_class_settings_and_refuse_other_versions() {
    let mut fdo = started();
    let plan = fdo.enumerate(&classes(&["VBD"]), true);
    let vbd = fdo.add_pdo(
        plan.create[0].clone(),
        PdoSettings::from_registry(Some(0), None),
    );
    let reply = pnp(&mut fdo, vbd, PdoRequest::QueryCapabilities(1));
    let PdoCompletion::Complete(STATUS_SUCCESS, PdoInfo::Capabilities(caps)) = reply.completion
    else {
        panic!("{reply:?}");
    };
    assert!(!caps.removable && !caps.surprise_removal_ok && caps.eject_supported);
    assert_eq!(
        pnp(&mut fdo, vbd, PdoRequest::QueryCapabilities(2)).completion,
        PdoCompletion::Complete(STATUS_INVALID_PARAMETER, PdoInfo::None)
    );
}

#[test]
fn pdo_identity_requests_answer_as_the_c_package() {
    let mut fdo = started();
    let (ids, _, _) = scan(&mut fdo, &["VIF"]);
    let vif = ids[0];
    let id = pnp(
        &mut fdo,
        vif,
        PdoRequest::decode(mn::IRP_MN_QUERY_ID, p::BusQueryDeviceID),
    );
    assert_eq!(
        id.completion,
        PdoCompletion::Complete(
            STATUS_SUCCESS,
            PdoInfo::Id(Id::Single("XENBUS\\VEN_XP&DEV_VIF".into()))
        )
    );
    let serial = PdoRequest::decode(mn::IRP_MN_QUERY_ID, p::BusQueryDeviceSerialNumber);
    assert_eq!(serial, PdoRequest::QueryId(IdType::Other));
    assert_eq!(
        pnp(&mut fdo, vif, serial).completion,
        PdoCompletion::Complete(STATUS_NOT_SUPPORTED, PdoInfo::None)
    );
    let text = PdoRequest::decode(mn::IRP_MN_QUERY_DEVICE_TEXT, p::DeviceTextDescription);
    assert_eq!(text, PdoRequest::QueryDeviceText(TextType::Description));
    assert_eq!(
        pnp(&mut fdo, vif, text).completion,
        PdoCompletion::Complete(STATUS_SUCCESS, PdoInfo::Text("XP0002 XENBUS VIF".into()))
    );
    assert_eq!(
        pnp(&mut fdo, vif, PdoRequest::decode(mn::IRP_MN_READ_CONFIG, 0)).completion,
        PdoCompletion::Complete(STATUS_NOT_SUPPORTED, PdoInfo::None)
    );
    let target = PdoRequest::decode(mn::IRP_MN_QUERY_DEVICE_RELATIONS, p::TargetDeviceRelation);
    assert_eq!(
        pnp(&mut fdo, vif, target).completion,
        PdoCompletion::Complete(STATUS_SUCCESS, PdoInfo::TargetRelation)
    );
    let bus_relations = PdoRequest::decode(mn::IRP_MN_QUERY_DEVICE_RELATIONS, p::BusRelations);
    assert_eq!(
        pnp(&mut fdo, vif, bus_relations).completion,
        PdoCompletion::Unchanged
    );
    assert_eq!(
        pnp(
            &mut fdo,
            vif,
            PdoRequest::decode(mn::IRP_MN_QUERY_INTERFACE, 0)
        )
        .completion,
        PdoCompletion::ServeInterface
    );
    assert_eq!(
        pnp(
            &mut fdo,
            vif,
            PdoRequest::decode(mn::IRP_MN_DEVICE_USAGE_NOTIFICATION, 0)
        )
        .completion,
        PdoCompletion::DelegateToFdoStack
    );
    assert_eq!(
        pnp(&mut fdo, vif, PdoRequest::decode(0xEE, 0)).completion,
        PdoCompletion::Unchanged
    );
    assert_eq!(
        pnp(
            &mut fdo,
            vif,
            PdoRequest::decode(mn::IRP_MN_QUERY_BUS_INFORMATION, 0)
        )
        .completion,
        PdoCompletion::Complete(STATUS_SUCCESS, PdoInfo::BusInformation)
    );
}

#[test]
fn a_request_for_a_pdo_not_on_the_bus_is_refused() {
    let mut fdo = started();
    let (ids, _, _) = scan(&mut fdo, &["VIF"]);
    scan(&mut fdo, &[]);
    assert_eq!(
        fdo.pdo_pnp(ids[0], PdoRequest::Start),
        Err(super::fdo::UnknownPdo(ids[0]))
    );
}

#[test]
fn usage_notifications_make_the_fdo_not_disableable_and_back() {
    let mut fdo = started();
    let paging = ntddk::consts::DeviceUsageTypePaging;
    assert_eq!(
        fdo.usage_notification(paging, true, STATUS_SUCCESS),
        vec![Effect::InvalidateDeviceState]
    );
    assert!(fdo.not_disableable());
    assert_eq!(fdo.pnp_device_state(STATUS_SUCCESS, 0x1), Some(0x21));
    assert_eq!(fdo.pnp_device_state(STATUS_NOT_SUPPORTED, 0x1), Some(0x20));
    assert_eq!(fdo.pnp_device_state(STATUS_UNSUCCESSFUL, 0x1), None);
    assert!(
        fdo.usage_notification(paging, true, STATUS_SUCCESS)
            .is_empty()
    );
    assert!(
        fdo.usage_notification(paging, false, STATUS_SUCCESS)
            .is_empty()
    );
    assert_eq!(
        fdo.usage_notification(paging, false, STATUS_SUCCESS),
        vec![Effect::InvalidateDeviceState]
    );
    assert_eq!(fdo.pnp_device_state(STATUS_SUCCESS, 0x1), Some(0x1));
    // Hostile types are forwarded uncounted; a failed forward changes no state bit.
    for hostile in [-1, 4, 7, i32::MAX] {
        assert!(
            fdo.usage_notification(hostile, true, STATUS_SUCCESS)
                .is_empty()
        );
    }
    assert!(
        fdo.usage_notification(paging, true, STATUS_UNSUCCESSFUL)
            .is_empty()
    );
    assert!(!fdo.not_disableable());
}

#[test]
fn lower_capabilities_map_system_states_for_power_irps() {
    let mut fdo = started();
    assert_eq!(fdo.lower_device_state(SystemPower::SLEEPING3), None);
    fdo.record_lower_capabilities([0, 1, 4, 4, 4, 4, 4]);
    assert_eq!(fdo.lower_device_state(SystemPower::WORKING), Some(1));
    assert_eq!(fdo.lower_device_state(SystemPower::HIBERNATE), Some(4));
}

#[test]
fn pdo_set_power_moves_device_state_once_and_records_system_state() {
    let mut fdo = started();
    let (ids, _, _) = scan(&mut fdo, &["VIF"]);
    let vif = ids[0];
    let up = fdo
        .pdo_power(vif, PowerRequest::SetDevice(DevicePower::D0))
        .unwrap();
    assert_eq!(up.before, vec![Effect::PowerUpPdo(vif)]);
    let again = fdo
        .pdo_power(vif, PowerRequest::SetDevice(DevicePower::D0))
        .unwrap();
    assert!(again.before.is_empty());
    assert_eq!(again.completion, success());
    let down = fdo
        .pdo_power(vif, PowerRequest::SetDevice(DevicePower::D3))
        .unwrap();
    assert_eq!(down.before, vec![Effect::PowerDownPdo(vif)]);
    fdo.pdo_power(vif, PowerRequest::SetSystem(SystemPower::HIBERNATE))
        .unwrap();
    assert_eq!(fdo.pdo(vif).unwrap().system_power(), SystemPower::HIBERNATE);
    assert_eq!(
        fdo.pdo_power(vif, PowerRequest::Other).unwrap().completion,
        PdoCompletion::Unchanged
    );
}

/// A small deterministic generator for the sequence test.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn arbitrary_request_sequences_keep_the_bus_invariants() {
    const NAMES: [&str; 4] = ["VIF", "VBD", "IFACE", "CONS"];
    for seed in 1..=200_u64 {
        let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut fdo = started();
        let mut destroyed: Vec<PdoId> = Vec::new();
        let mut fdo_destroyed = false;
        for _ in 0..300 {
            let mut effects = Vec::new();
            match rng.below(6) {
                0 => {
                    let listed: Vec<&str> = NAMES
                        .iter()
                        .copied()
                        .filter(|_| rng.below(2) == 0)
                        .collect();
                    let (_, destroy, _) = scan(&mut fdo, &listed);
                    effects.extend(destroy);
                }
                1 => {
                    let reported = fdo.bus_relations();
                    for id in &reported {
                        assert!(fdo.pdo(*id).unwrap().missing().is_none());
                    }
                    effects.extend(fdo.reap());
                }
                2..=4 => {
                    let pdos: Vec<PdoId> = fdo.pdos().iter().map(super::pdo::Pdo::id).collect();
                    if let Some(id) = pdos.get(usize::try_from(rng.below(8)).unwrap()) {
                        let minor = [0_u8, 1, 2, 3, 4, 5, 6, 0x11, 0x17, 0x13]
                            [usize::try_from(rng.below(10)).unwrap()];
                        let was_deleted = state_of(&fdo, *id) == Some(DevicePnpState::Deleted);
                        let reply = pnp(&mut fdo, *id, PdoRequest::decode(minor, 1));
                        if was_deleted {
                            assert!(reply.before.is_empty());
                            assert!(
                                !matches!(state_of(&fdo, *id), Some(s) if s != DevicePnpState::Deleted)
                            );
                        }
                        effects.extend(reply.before);
                    }
                }
                _ => {
                    if rng.below(50) == 0 && fdo.state() != DevicePnpState::Deleted {
                        let reply = fdo.remove();
                        effects.extend(reply.before);
                        effects.extend(reply.after);
                    }
                }
            }
            for effect in effects {
                match effect {
                    Effect::DestroyPdo(id) => {
                        assert!(!destroyed.contains(&id), "destroyed twice");
                        assert!(fdo.pdo(id).is_none());
                        destroyed.push(id);
                    }
                    Effect::DestroyFdo => {
                        assert!(!fdo_destroyed, "FDO destroyed twice");
                        fdo_destroyed = true;
                    }
                    _ => {}
                }
            }
            // One reference per PDO, plus Plug and Play's until the FDO is removed.
            let pnp_reference = u32::from(fdo.state() != DevicePnpState::Deleted);
            assert_eq!(
                fdo.references(),
                u32::try_from(fdo.pdos().len()).unwrap() + pnp_reference
            );
            assert_eq!(fdo_destroyed, fdo.references() == 0);
            // At most one live PDO per class.
            for name in NAMES {
                let live = fdo
                    .pdos()
                    .iter()
                    .filter(|pdo| pdo.name() == name && pdo.missing().is_none())
                    .count();
                assert!(live <= 1, "{name}: {live} live PDOs");
            }
            // A deleted PDO is always missing (so it is never reported again).
            assert!(
                fdo.pdos()
                    .iter()
                    .all(|pdo| pdo.state() != DevicePnpState::Deleted || pdo.missing().is_some())
            );
        }
    }
}
