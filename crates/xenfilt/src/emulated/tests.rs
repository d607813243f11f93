// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Tests of the EMULATED list and its interface answers.

use super::*;
use crate::id::{Id, IdList};
use alloc::vec;
use alloc::vec::Vec;

const PLATFORM: &[u8] = b"PCI\\VEN_5853&DEV_0002&SUBSYS_00025853&REV_01";

fn list(ids: &[&[u8]]) -> IdList {
    IdList::from_ids(ids.iter().map(|i| Id::from_bytes(i).unwrap()).collect())
}

fn pci(e: &mut Emulated, id: &[u8], inst: &[u8], force: ActivationStatus) -> ObjectId {
    e.add_object(EmulatedType::Pci, id, inst, None, force)
        .unwrap()
}

#[test]
fn strtoul_reads_like_the_c_runtime() {
    assert_eq!(strtoul(b"1.0.0"), (1, 1));
    assert_eq!(strtoul(b"  +12x"), (12, 5));
    assert_eq!(strtoul(b"-1"), (u32::MAX, 2));
    assert_eq!(strtoul(b"-0"), (0, 2));
    assert_eq!(strtoul(b"99999999999"), (u32::MAX, 11));
    assert_eq!(strtoul(b"4294967295"), (u32::MAX, 10));
    assert_eq!(strtoul(b"4294967296"), (u32::MAX, 10));
    // No digits: nothing consumed, not even the white space or the sign.
    assert_eq!(strtoul(b" -x"), (0, 0));
    assert_eq!(strtoul(b""), (0, 0));
}

#[test]
fn ide_instance_ids_give_controller_times_two_plus_target() {
    assert_eq!(parse_ide_instance(b"0.0.0"), Ok(0));
    assert_eq!(parse_ide_instance(b"0.1.0"), Ok(1));
    assert_eq!(parse_ide_instance(b"1.0.0"), Ok(2));
    assert_eq!(parse_ide_instance(b"1.1.0"), Ok(3));
}

#[test]
fn ide_instance_ids_out_of_range_fail_in_upstream_order() {
    assert_eq!(
        parse_ide_instance(b"2.0.0"),
        Err(IdeInstanceError::Controller)
    );
    assert_eq!(parse_ide_instance(b"0"), Err(IdeInstanceError::Controller));
    assert_eq!(parse_ide_instance(b""), Err(IdeInstanceError::Controller));
    assert_eq!(
        parse_ide_instance(b"-1.0.0"),
        Err(IdeInstanceError::Controller)
    );
    assert_eq!(parse_ide_instance(b"0.2.0"), Err(IdeInstanceError::Target));
    assert_eq!(parse_ide_instance(b"0.0"), Err(IdeInstanceError::Target));
    assert_eq!(parse_ide_instance(b"0.0.1"), Err(IdeInstanceError::Lun));
    // The LUN is checked before the trailing characters.
    assert_eq!(parse_ide_instance(b"0.0.1x"), Err(IdeInstanceError::Lun));
    assert_eq!(
        parse_ide_instance(b"0.0.0x"),
        Err(IdeInstanceError::Trailing)
    );
    assert_eq!(
        parse_ide_instance(b"0.0.0 "),
        Err(IdeInstanceError::Trailing)
    );
    assert_eq!(IdeInstanceError::Lun.status(), STATUS_NOT_SUPPORTED);
    assert_eq!(
        IdeInstanceError::Trailing.status(),
        STATUS_INVALID_PARAMETER
    );
}

#[test]
fn ide_instance_ids_keep_strtoul_leniency() {
    // Upstream quirk: empty numbers read as 0, signs and spaces are accepted.
    assert_eq!(parse_ide_instance(b"0.0."), Ok(0));
    assert_eq!(parse_ide_instance(b".."), Ok(0));
    assert_eq!(parse_ide_instance(b" 1.+1.-0"), Ok(3));
    assert_eq!(parse_ide_instance(b"01.001.000"), Ok(3));
}

#[test]
fn device_ids_are_stored_cut_to_127_bytes() {
    let long = vec![b'A'; 150];
    let mut e = Emulated::new();
    let id = pci(&mut e, &long, &long, ActivationStatus::Neutral);
    let Some(Object::Device(d)) = e.object(id) else {
        panic!("not a device")
    };
    assert_eq!(d.device_id.len(), STORED_ID_LEN);
    assert_eq!(d.instance_id.len(), STORED_ID_LEN);
    // Upstream quirk: the full ID no longer matches; its first 127 bytes do.
    assert!(!e.is_device_present(Some(&long), None).0);
    assert!(e.is_device_present(Some(&long[..STORED_ID_LEN]), None).0);
}

#[test]
fn is_device_present_matches_device_id_ignoring_case_and_any_instance() {
    let mut e = Emulated::new();
    pci(
        &mut e,
        PLATFORM,
        b"3&267a616a&0&18",
        ActivationStatus::Neutral,
    );
    let lower: Vec<u8> = PLATFORM.to_ascii_lowercase();
    assert_eq!(
        e.is_device_present(Some(&lower), None),
        (true, ActivationStatus::Neutral)
    );
    assert!(
        e.is_device_present(Some(PLATFORM), Some(b"3&267A616A&0&18"))
            .0
    );
    assert!(
        !e.is_device_present(Some(PLATFORM), Some(b"3&267a616a&0&20"))
            .0
    );
    assert!(!e.is_device_present(Some(b"PCI\\VEN_5853&DEV_0001"), None).0);
}

#[test]
fn null_device_id_finds_the_force_activated_device_and_its_status() {
    let mut e = Emulated::new();
    pci(
        &mut e,
        b"PCI\\VEN_5853&DEV_0001",
        b"a",
        ActivationStatus::ForceDeactivated,
    );
    assert_eq!(
        e.is_device_present(None, None),
        (false, ActivationStatus::Neutral)
    );
    pci(&mut e, PLATFORM, b"b", ActivationStatus::ForceActivated);
    assert_eq!(
        e.is_device_present(None, None),
        (true, ActivationStatus::ForceActivated)
    );
    assert_eq!(
        e.is_device_present(Some(b"PCI\\VEN_5853&DEV_0001"), None),
        (true, ActivationStatus::ForceDeactivated)
    );
}

#[test]
fn is_device_present_ignores_disks() {
    let mut e = Emulated::new();
    e.add_object(
        EmulatedType::Ide,
        b"IDE\\DiskQEMU",
        b"0.0.0",
        None,
        ActivationStatus::ForceActivated,
    )
    .unwrap();
    assert_eq!(
        e.is_device_present(None, None),
        (false, ActivationStatus::Neutral)
    );
    assert!(!e.is_device_present(Some(b"IDE\\DiskQEMU"), None).0);
}

#[test]
fn is_disk_present_finds_ide_disks_by_index() {
    let mut e = Emulated::new();
    e.add_object(
        EmulatedType::Ide,
        b"IDE\\Disk",
        b"1.0.0",
        None,
        ActivationStatus::Neutral,
    )
    .unwrap();
    assert!(e.is_disk_present(2));
    assert!(!e.is_disk_present(0));
    assert!(!e.is_disk_present(3));
    // v1 takes the target as the index and ignores the controller and LUN.
    assert!(e.is_disk_present_v1(0, 2, 7));
    assert!(!e.is_disk_present_v1(1, 0, 0));
}

#[test]
fn an_emulated_nvme_controller_makes_every_disk_present() {
    for nvme in NVME_COMPATIBLE_IDS {
        let mut e = Emulated::new();
        let lower: Vec<u8> = nvme.to_ascii_lowercase();
        e.add_object(
            EmulatedType::Pci,
            b"PCI\\VEN_1B36&DEV_0010&SUBSYS_11001AF4&REV_02",
            b"x",
            Some(&list(&[
                b"PCI\\VEN_1B36&DEV_0010&REV_02",
                &lower,
                b"PCI\\CC_010802",
            ])),
            ActivationStatus::Neutral,
        )
        .unwrap();
        assert!(e.is_disk_present(0));
        assert!(e.is_disk_present(u32::MAX));
    }
    // A device whose compatible IDs only start like NVMe's is not NVMe.
    let mut e = Emulated::new();
    e.add_object(
        EmulatedType::Pci,
        b"PCI\\VEN_1B36&DEV_0010",
        b"x",
        Some(&list(&[b"PCI\\VEN_1B36&DEV_0010&REV_02"])),
        ActivationStatus::Neutral,
    )
    .unwrap();
    assert!(!e.is_disk_present(0));
}

#[test]
fn bad_ide_instance_adds_nothing() {
    let mut e = Emulated::new();
    assert_eq!(
        e.add_object(
            EmulatedType::Ide,
            b"IDE\\Disk",
            b"0.0.1",
            None,
            ActivationStatus::Neutral
        ),
        Err(EmulatedError::BadIdeInstance(IdeInstanceError::Lun))
    );
    assert!(e.is_empty());
}

#[test]
fn removed_objects_are_no_longer_present() {
    let mut e = Emulated::new();
    let a = pci(&mut e, PLATFORM, b"a", ActivationStatus::Neutral);
    let b = pci(&mut e, PLATFORM, b"b", ActivationStatus::Neutral);
    assert!(e.remove_object(a));
    assert!(!e.remove_object(a));
    assert!(!e.is_device_present(Some(PLATFORM), Some(b"a")).0);
    assert!(e.is_device_present(Some(PLATFORM), Some(b"b")).0);
    assert!(e.remove_object(b));
    assert!(e.is_empty());
}

#[test]
fn acquire_and_release_only_count() {
    let mut e = Emulated::new();
    e.acquire();
    e.acquire();
    e.release();
    assert_eq!(e.references(), 1);
    e.release();
    e.release();
    assert_eq!(e.references(), 0);
}

#[test]
fn get_interface_checks_version_then_size() {
    let v3 = XenfiltEmulatedInterfaceV3::SIZE;
    assert_eq!(get_interface(3, v3), Ok(EmulatedVersion::V3));
    assert_eq!(get_interface(3, v3 - 1), Err(STATUS_BUFFER_OVERFLOW));
    assert_eq!(
        get_interface(1, XenfiltEmulatedInterfaceV1::SIZE),
        Ok(EmulatedVersion::V1)
    );
    assert_eq!(get_interface(2, u16::MAX), Ok(EmulatedVersion::V2));
    assert_eq!(get_interface(0, u16::MAX), Err(STATUS_NOT_SUPPORTED));
    assert_eq!(get_interface(4, 0), Err(STATUS_NOT_SUPPORTED));
    // Four method pointers after the 32-byte header on x64 (and on the 64-bit test host).
    assert_eq!(EmulatedVersion::V1.size(), 64);
    assert_eq!(EmulatedVersion::V3.number(), 3);
}

#[test]
fn activation_status_has_the_c_values() {
    assert_eq!(ActivationStatus::Neutral.to_raw(), 0);
    assert_eq!(ActivationStatus::ForceActivated.to_raw(), 1);
    assert_eq!(ActivationStatus::ForceDeactivated.to_raw(), 2);
}
