// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! GNTTAB as a child driver sees it (the v4 table a PDO hands out) over the real subsystem on
//! the host simulator: the entry handles Permit hands out, what a Revoke that fails or a stale
//! or forged handle does, and Permit/Revoke from threads on both processors (through the
//! checking platform, so the handle table's spin lock is held to the IRQL rules).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::missing_panics_doc,
    missing_docs
)]

include!("support/sim_platform.rs");
include!("support/child_gnttab.rs");

use child::{ChildGnttab, table_interface};
use xenbus_interface::gnttab::PxenbusGnttabEntry;

use std::collections::BTreeSet;

use ntstatus::{STATUS_INVALID_PARAMETER, STATUS_UNSUCCESSFUL};

/// `GnttabRevokeForeignAccess`'s status.
fn revoke_status(child: &ChildGnttab, entry: PxenbusGnttabEntry) -> i32 {
    // SAFETY: the provider's table and cache; any handle value (refused when not live).
    unsafe {
        (child.table.gnttab_revoke_foreign_access)(
            table_interface(&child.table),
            child.cache,
            0,
            entry,
        )
    }
}

fn outstanding_entries(child: &ChildGnttab) -> usize {
    child.provider.gnttab.outstanding().1
}

#[test]
fn permit_hands_out_distinct_aligned_handles_naming_dom0_mappable_grants() {
    let child = ChildGnttab::new(1, 8);
    let dom0 = child.world.sim.dom0();
    let entries: Vec<_> = (0..20).map(|i| child.permit(i % 2 == 0)).collect();
    let values: BTreeSet<usize> = entries.iter().map(|e| e.addr()).collect();
    assert_eq!(values.len(), entries.len(), "handles are distinct");
    assert!(values.iter().all(|&v| v != 0 && v % 16 == 0), "{values:x?}");
    let references: BTreeSet<u32> = entries.iter().map(|&e| child.reference(e)).collect();
    assert_eq!(references.len(), entries.len(), "one reference per grant");
    assert!(!references.contains(&0));
    // Every reference is a live grant of the page, read-only where asked.
    for (i, &entry) in entries.iter().enumerate() {
        let reference = child.reference(entry);
        match dom0.map_grant(reference, false) {
            Ok(mapping) => {
                assert_eq!(i % 2, 1, "a read-only grant was mapped writable");
                dom0.unmap_grant(mapping).unwrap();
            }
            Err(_) => assert_eq!(i % 2, 0, "a writable grant was refused"),
        }
        let mapping = dom0.map_grant(reference, true).unwrap();
        dom0.unmap_grant(mapping).unwrap();
    }
    assert_eq!(outstanding_entries(&child), 20);
    for entry in entries {
        child.revoke(entry);
    }
    assert_eq!(outstanding_entries(&child), 0);
}

#[test]
fn a_revoked_handle_is_dead_even_when_its_slot_is_reused() {
    let child = ChildGnttab::new(1, 8);
    let first = child.permit(false);
    child.revoke(first);
    assert_eq!(revoke_status(&child, first), STATUS_INVALID_PARAMETER);
    assert_eq!(child.reference(first), 0);
    // The next Permit reuses the slot under a new generation: the old handle stays dead and
    // does not name the new grant.
    let second = child.permit(false);
    assert_ne!(second, first);
    assert_eq!(child.reference(first), 0);
    assert_eq!(revoke_status(&child, first), STATUS_INVALID_PARAMETER);
    assert_ne!(child.reference(second), 0);
    child.revoke(second);
    assert_eq!(outstanding_entries(&child), 0);
}

#[test]
fn forged_handles_are_refused_without_being_dereferenced() {
    let child = ChildGnttab::new(1, 8);
    let live = child.permit(false);
    let forged: [usize; 7] = [
        0,
        1,
        16,
        live.addr() + 1,
        live.addr() + 16,
        live.addr() + (1 << 32),
        usize::MAX & !15,
    ];
    for value in forged {
        let handle = std::ptr::without_provenance_mut(value);
        assert_eq!(
            revoke_status(&child, handle),
            STATUS_INVALID_PARAMETER,
            "{value:#x}"
        );
        assert_eq!(child.reference(handle), 0, "{value:#x}");
    }
    // The live entry was not disturbed.
    assert_ne!(child.reference(live), 0);
    child.revoke(live);
}

#[test]
fn a_revoke_refused_while_dom0_maps_the_grant_leaves_the_handle_with_the_child() {
    let child = ChildGnttab::new(1, 8);
    let dom0 = child.world.sim.dom0();
    let entry = child.permit(false);
    let reference = child.reference(entry);
    let mapping = dom0.map_grant(reference, false).unwrap();
    assert_eq!(revoke_status(&child, entry), STATUS_UNSUCCESSFUL);
    // Still the child's: the same reference, still counted, still revocable.
    assert_eq!(child.reference(entry), reference);
    assert_eq!(outstanding_entries(&child), 1);
    dom0.unmap_grant(mapping).unwrap();
    child.revoke(entry);
    assert_eq!(outstanding_entries(&child), 0);
    assert_eq!(revoke_status(&child, entry), STATUS_INVALID_PARAMETER);
}

#[test]
fn permit_and_revoke_from_both_processors_never_hand_out_a_handle_twice() {
    let child = ChildGnttab::new(2, 64);
    let handles = std::sync::Mutex::new(BTreeSet::new());
    std::thread::scope(|s| {
        for cpu in 0..2u32 {
            let platform = child.world.platform.clone();
            let (child, handles) = (&child, &handles);
            s.spawn(move || {
                platform.as_processor(cpu, || {
                    for round in 0..2000 {
                        let held: Vec<_> = (0..=(round % 5)).map(|_| child.permit(false)).collect();
                        for &entry in &held {
                            assert_ne!(child.reference(entry), 0);
                        }
                        // A handle value is never handed out twice, on either processor, even
                        // though slots are reused all the time (the generation changes).
                        let mut seen = handles.lock().unwrap();
                        for &entry in &held {
                            assert!(
                                seen.insert(entry.addr()),
                                "handle {entry:?} handed out twice"
                            );
                        }
                        drop(seen);
                        for entry in held {
                            child.revoke(entry);
                        }
                    }
                });
            });
        }
    });
    assert_eq!(outstanding_entries(&child), 0);
}
