// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! GNTTAB scenarios on the host simulator: dom0 maps our grants (and holds them mapped so a
//! revoke fails), the table grows frame by frame to its maximum, foreign pages granted by dom0
//! are mapped, a suspend re-adds the frames, and injected hypercall or allocation failures leave
//! no page, reference, mapping or cache object behind (the simulator's audit and the page
//! source's counters).

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

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use ntstatus::{
    STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_PARAMETER, STATUS_OBJECT_NAME_NOT_FOUND,
    STATUS_UNSUCCESSFUL,
};
use platform_port::Memory;
use xen_headers::grant_table::GNTTABOP_MAP_GRANT_REF;
use xen_headers::memory::{XENMEM_ADD_TO_PHYSMAP, XENMEM_DECREASE_RESERVATION};
use xen_headers::sched::{SCHEDOP_YIELD, SHUTDOWN_SUSPEND};
use xen_headers::xen::{HYPERVISOR_GRANT_TABLE_OP, HYPERVISOR_MEMORY_OP, HYPERVISOR_SCHED_OP};
use xen_services::XenServices;
use xen_sim::{Fault, Peer};
use xenbus::cache::{CacheContext, CacheError};
use xenbus::gnttab::{
    CONSOLE_REFERENCE, ENTRIES_PER_FRAME, GnttabCache, GnttabError, GrantEntry, RESERVED_ENTRIES,
    STORE_REFERENCE,
};

type Gnttab = xenbus::gnttab::Gnttab<StdPlatform, Direct<SimVcpu>>;

struct World {
    w: SimWorld,
    caches: Arc<CacheContext<StdPlatform>>,
    gnttab: Gnttab,
    dom0: Peer,
}

fn world_with(cfg: SimConfig) -> World {
    let w = sim_world(cfg);
    let caches = Arc::new(CacheContext::with_monitor_period(&w.platform, None).unwrap());
    let gnttab = Gnttab::new(w.platform.clone(), Arc::clone(&w.xen), Arc::clone(&caches)).unwrap();
    let dom0 = w.sim.dom0();
    World {
        w,
        caches,
        gnttab,
        dom0,
    }
}

fn world() -> World {
    world_with(SimConfig::default())
}

fn no_lock() -> Arc<dyn Fn() + Send + Sync> {
    Arc::new(|| {})
}

impl World {
    fn cache(&self, name: &str, reservation: u32) -> Arc<GnttabCache<StdPlatform>> {
        self.gnttab
            .create_cache(name, reservation, 0, no_lock(), no_lock())
            .unwrap()
    }

    fn page(&self) -> u64 {
        self.w.platform.alloc_pages(1).unwrap().pfn
    }

    fn permit(&self, cache: &GnttabCache<StdPlatform>, pfn: u64, ro: bool) -> GrantEntry {
        self.gnttab
            .permit_foreign_access(cache, false, 0, pfn, ro)
            .unwrap()
    }

    fn revoke(&self, cache: &GnttabCache<StdPlatform>, entry: GrantEntry) {
        self.gnttab
            .revoke_foreign_access(cache, false, entry)
            .map_err(|(e, _)| e)
            .unwrap();
    }

    /// Releases everything and checks that nothing is left.
    fn assert_clean_after_release(&self) {
        assert_eq!(self.gnttab.references(), 0);
        assert_eq!(self.caches.references(), 0);
        let audit = self.w.sim.audit();
        assert!(audit.live_grants.is_empty(), "{audit:?}");
        assert_eq!(audit.dom0_mappings, 0, "{audit:?}");
        assert_eq!(audit.guest_grant_maps, 0, "{audit:?}");
        assert_eq!(audit.unpopulated_gfns, 0, "{audit:?}");
        assert_eq!(self.w.pages.unbacked_frees.load(Ordering::SeqCst), 0);
    }
}

#[test]
fn first_permit_is_at_least_32_and_dom0_reads_and_writes_the_granted_page() {
    let world = world();
    world.gnttab.acquire().unwrap();
    assert_eq!(world.gnttab.frame_count(), 1);
    let cache = world.cache("vif", 0);
    let pages = world.w.platform.alloc_pages(1).unwrap();
    let page = pages.address.as_ptr();
    // SAFETY: our own fresh page.
    unsafe { page.copy_from(b"from the guest".as_ptr(), 14) };
    let entry = world.permit(&cache, pages.pfn, false);
    assert!(entry.reference() >= RESERVED_ENTRIES);
    assert_eq!(world.gnttab.get_reference(&entry), entry.reference());
    assert_eq!(world.w.sim.audit().live_grants, [entry.reference()]);
    let shadow = entry.shadow();
    assert_eq!((shadow.domid, u64::from(shadow.frame)), (0, pages.pfn));

    let mapping = world.dom0.map_grant(entry.reference(), false).unwrap();
    let mut seen = [0u8; 14];
    mapping.read(0, &mut seen).unwrap();
    assert_eq!(&seen, b"from the guest");
    mapping.write(100, b"from dom0").unwrap();
    let mut back = [0u8; 9];
    let at = page.wrapping_add(100);
    // SAFETY: our page, written by dom0 through its mapping of the same frame.
    unsafe { at.copy_to(back.as_mut_ptr(), 9) };
    assert_eq!(&back, b"from dom0");
    world.dom0.unmap_grant(mapping).unwrap();

    world.revoke(&cache, entry);
    world.gnttab.destroy_cache(&cache).unwrap();
    world.gnttab.release();
    world.assert_clean_after_release();
    // SAFETY: our page, no longer granted.
    unsafe { world.w.platform.free_pages(pages) };
    assert_eq!(world.w.pages.live_pages(), 0);
}

#[test]
fn revoke_fails_while_dom0_maps_the_grant_and_succeeds_after_unmap() {
    let world = world();
    world.gnttab.acquire().unwrap();
    let cache = world.cache("vbd", 0);
    let pfn = world.page();
    let entry = world.permit(&cache, pfn, false);
    let reference = entry.reference();
    let mapping = world.dom0.map_grant(reference, false).unwrap();

    let yields = world.w.sim.calls(HYPERVISOR_SCHED_OP, SCHEDOP_YIELD);
    let (error, entry) = world
        .gnttab
        .revoke_foreign_access(&cache, false, entry)
        .unwrap_err();
    assert_eq!(error, GnttabError::StillMapped);
    assert_eq!(error.status(), STATUS_UNSUCCESSFUL);
    assert_eq!(
        world.w.sim.calls(HYPERVISOR_SCHED_OP, SCHEDOP_YIELD) - yields,
        100,
        "one yield after each of the 100 attempts"
    );
    assert_eq!(
        world.w.sim.audit().live_grants,
        [reference],
        "still granted"
    );
    assert!(
        world.gnttab.destroy_cache(&cache).is_err(),
        "an entry is still out"
    );

    world.dom0.unmap_grant(mapping).unwrap();
    world.revoke(&cache, entry);
    assert!(world.w.sim.audit().live_grants.is_empty());
    assert!(
        world.dom0.map_grant(reference, true).is_err(),
        "dom0 can no longer map it"
    );
    world.gnttab.destroy_cache(&cache).unwrap();
    world.gnttab.release();
    world.assert_clean_after_release();
}

#[test]
fn a_read_only_grant_cannot_be_mapped_writable() {
    let world = world();
    world.gnttab.acquire().unwrap();
    let cache = world.cache("ro", 0);
    let pfn = world.page();
    let entry = world.permit(&cache, pfn, true);
    assert_eq!(
        world.gnttab.query_reference(entry.reference()).unwrap(),
        (pfn, true)
    );
    assert!(world.dom0.map_grant(entry.reference(), false).is_err());
    let mapping = world.dom0.map_grant(entry.reference(), true).unwrap();
    assert!(mapping.write(0, b"x").is_err());
    world.dom0.unmap_grant(mapping).unwrap();
    world.revoke(&cache, entry);
    world.gnttab.destroy_cache(&cache).unwrap();
    world.gnttab.release();
    world.assert_clean_after_release();
}

#[test]
fn the_table_grows_frame_by_frame_to_its_maximum_then_runs_out() {
    let world = world_with(SimConfig {
        max_grant_frames: 3,
        ..SimConfig::default()
    });
    world.gnttab.acquire().unwrap();
    assert_eq!(world.gnttab.max_frames(), 3);
    let cache = world.cache("grow", 0);
    let pfn = world.page();
    let mut entries = Vec::new();
    let mut frames_seen = Vec::new();
    loop {
        match world
            .gnttab
            .permit_foreign_access(&cache, false, 0, pfn, false)
        {
            Ok(entry) => {
                entries.push(entry);
                frames_seen.push(world.gnttab.frame_count());
            }
            Err(e) => {
                assert_eq!(e, GnttabError::Insufficient);
                assert_eq!(e.status(), STATUS_INSUFFICIENT_RESOURCES);
                break;
            }
        }
    }
    let usable = 3 * ENTRIES_PER_FRAME - RESERVED_ENTRIES;
    assert_eq!(entries.len(), usable as usize);
    let refs: BTreeSet<u32> = entries.iter().map(GrantEntry::reference).collect();
    assert_eq!(refs.len(), entries.len(), "every reference once");
    assert_eq!(
        refs.first(),
        Some(&RESERVED_ENTRIES),
        "reserved refs never handed out"
    );
    assert_eq!(refs.last(), Some(&(3 * ENTRIES_PER_FRAME - 1)));
    // Frame 0 holds 480 usable references; the 481st permit needed frame 1 (at 512).
    let first_in_frame1 = (ENTRIES_PER_FRAME - RESERVED_ENTRIES) as usize;
    assert_eq!(frames_seen[first_in_frame1 - 1], 1);
    assert_eq!(frames_seen[first_in_frame1], 2);
    assert_eq!(world.gnttab.frame_count(), 3);
    assert_eq!(world.w.sim.audit().live_grants.len(), entries.len());

    for entry in entries {
        world.revoke(&cache, entry);
    }
    world.gnttab.destroy_cache(&cache).unwrap();
    world.gnttab.release();
    world.assert_clean_after_release();
    assert_eq!(world.gnttab.frame_count(), 0);
}

#[test]
fn query_reference_reads_the_console_and_store_entries_and_stops_at_the_table_end() {
    let world = world();
    world.gnttab.acquire().unwrap();
    let (store_gfn, _) = world.w.sim.store_ring();
    let (console_gfn, _) = world.w.sim.console_ring();
    assert_eq!(
        world.gnttab.query_reference(STORE_REFERENCE).unwrap(),
        (store_gfn, false)
    );
    assert_eq!(
        world.gnttab.query_reference(CONSOLE_REFERENCE).unwrap(),
        (console_gfn, false)
    );
    assert_eq!(world.gnttab.query_reference(5).unwrap(), (0, false));
    let beyond = world.gnttab.query_reference(ENTRIES_PER_FRAME).unwrap_err();
    assert_eq!(beyond.status(), STATUS_INVALID_PARAMETER);
    world.gnttab.release();
    assert_eq!(
        world.gnttab.query_reference(STORE_REFERENCE).unwrap_err(),
        GnttabError::InvalidParameter,
        "no table after the last release"
    );
    world.assert_clean_after_release();
}

#[test]
fn foreign_pages_granted_by_dom0_are_mapped_and_unmapped() {
    let world = world();
    world.gnttab.acquire().unwrap();
    let a = world.dom0.grant_page(false);
    let b = world.dom0.grant_page(true);
    a.write(0, b"page a").unwrap();
    b.write(0, b"page b").unwrap();
    let address = world
        .gnttab
        .map_foreign_pages(0, &[a.reference(), b.reference()], false)
        .unwrap_err();
    // `b` is read-only: a writable mapping of it is refused and `a` is unmapped again.
    assert!(matches!(address, GnttabError::Xen(_)));
    assert_eq!(world.w.sim.audit().guest_grant_maps, 0);
    assert_eq!(world.gnttab.foreign_map_count(), 0);

    let address = world
        .gnttab
        .map_foreign_pages(0, &[a.reference(), b.reference()], true)
        .unwrap();
    assert_eq!(address % 4096, 0);
    assert_eq!(world.w.sim.audit().guest_grant_maps, 2);
    for (i, expected) in [b"page a", b"page b"].iter().enumerate() {
        let ptr = world.w.sim.host_ptr((address >> 12) + i as u64).unwrap();
        let mut seen = [0u8; 6];
        // SAFETY: the simulator's page behind our mapping of dom0's grant.
        unsafe { ptr.copy_to(seen.as_mut_ptr(), 6) };
        assert_eq!(&seen, *expected);
    }
    assert!(
        world.dom0.end_grant(&a).is_err(),
        "dom0 cannot end a grant we map"
    );
    assert_eq!(
        world
            .gnttab
            .unmap_foreign_pages(address + 4096)
            .unwrap_err()
            .status(),
        STATUS_OBJECT_NAME_NOT_FOUND
    );
    world.gnttab.unmap_foreign_pages(address).unwrap();
    assert_eq!(world.gnttab.foreign_map_count(), 0);
    world.dom0.end_grant(&a).unwrap();
    world.dom0.end_grant(&b).unwrap();
    assert_eq!(
        world.gnttab.unmap_foreign_pages(address).unwrap_err(),
        GnttabError::NotMapped
    );
    world.gnttab.release();
    world.assert_clean_after_release();
    assert_eq!(world.w.pages.live_pages(), 0);
}

#[test]
fn a_failed_map_grant_ref_unmaps_the_earlier_pages_and_frees_the_hole() {
    let world = world();
    world.gnttab.acquire().unwrap();
    let pages: Vec<_> = (0..3).map(|_| world.dom0.grant_page(false)).collect();
    let refs: Vec<u32> = pages.iter().map(xen_sim::BackendPage::reference).collect();
    world.w.sim.inject(
        Fault::new(HYPERVISOR_GRANT_TABLE_OP)
            .cmd(GNTTABOP_MAP_GRANT_REF)
            .nth(3),
    );
    let e = world.gnttab.map_foreign_pages(0, &refs, false).unwrap_err();
    assert!(matches!(e, GnttabError::Xen(_)));
    assert_eq!(world.w.sim.audit().guest_grant_maps, 0);
    assert_eq!(world.w.sim.audit().unpopulated_gfns, 0);
    for p in &pages {
        world.dom0.end_grant(p).unwrap();
    }
    world.gnttab.release();
    world.assert_clean_after_release();
    assert_eq!(world.w.pages.live_pages(), 0);
}

#[test]
fn a_failed_add_to_physmap_at_acquire_leaves_nothing() {
    let world = world();
    world
        .w
        .sim
        .inject(Fault::new(HYPERVISOR_MEMORY_OP).cmd(XENMEM_ADD_TO_PHYSMAP));
    let e = world.gnttab.acquire().unwrap_err();
    assert!(matches!(e, GnttabError::Xen(_)));
    assert_eq!(world.gnttab.frame_count(), 0);
    world.assert_clean_after_release();
    assert_eq!(world.w.pages.live_pages(), 0);
    // A later acquire works.
    world.gnttab.acquire().unwrap();
    world.gnttab.release();
    world.assert_clean_after_release();
}

#[test]
fn a_failed_decrease_reservation_at_acquire_leaves_nothing() {
    let world = world();
    world
        .w
        .sim
        .inject(Fault::new(HYPERVISOR_MEMORY_OP).cmd(XENMEM_DECREASE_RESERVATION));
    let e = world.gnttab.acquire().unwrap_err();
    assert!(matches!(e, GnttabError::Hole(_)));
    world.assert_clean_after_release();
    assert_eq!(world.w.pages.live_pages(), 0);
}

#[test]
fn failed_growth_leaves_no_reference_or_object_and_growth_resumes_later() {
    let world = world_with(SimConfig {
        max_grant_frames: 2,
        ..SimConfig::default()
    });
    world.gnttab.acquire().unwrap();
    let cache = world.cache("fail", 0);
    let pfn = world.page();
    let frame0 = (ENTRIES_PER_FRAME - RESERVED_ENTRIES) as usize;
    let mut entries: Vec<_> = (0..frame0)
        .map(|_| world.permit(&cache, pfn, false))
        .collect();
    let unpopulated = world.w.sim.audit().unpopulated_gfns;
    let live_pages = world.w.pages.live_pages();
    for (fault, expect_hole) in [
        (
            Fault::new(HYPERVISOR_MEMORY_OP).cmd(XENMEM_ADD_TO_PHYSMAP),
            false,
        ),
        (
            Fault::new(HYPERVISOR_MEMORY_OP).cmd(XENMEM_DECREASE_RESERVATION),
            true,
        ),
    ] {
        world.w.sim.inject(fault);
        let e = world
            .gnttab
            .permit_foreign_access(&cache, false, 0, pfn, false)
            .unwrap_err();
        assert_eq!(e, GnttabError::Insufficient, "hole fault: {expect_hole}");
        assert_eq!(world.gnttab.frame_count(), 1);
        assert_eq!(
            world.w.sim.audit().unpopulated_gfns,
            unpopulated,
            "no hole left"
        );
        assert_eq!(world.w.pages.live_pages(), live_pages, "no page left");
        assert_eq!(
            usize::try_from(cache.cache().stats().objects).unwrap(),
            frame0
        );
    }
    world.w.pages.fail.store(true, Ordering::SeqCst);
    assert_eq!(
        world
            .gnttab
            .permit_foreign_access(&cache, false, 0, pfn, false)
            .unwrap_err(),
        GnttabError::Insufficient
    );
    world.w.pages.fail.store(false, Ordering::SeqCst);
    // No fault: frame 1 arrives and the next reference is its first.
    let next = world.permit(&cache, pfn, false);
    assert_eq!(next.reference(), ENTRIES_PER_FRAME);
    entries.push(next);
    for entry in entries {
        world.revoke(&cache, entry);
    }
    world.gnttab.destroy_cache(&cache).unwrap();
    world.gnttab.release();
    world.assert_clean_after_release();
}

#[test]
fn a_cache_reservation_binds_references_only_as_objects_are_used() {
    let world = world();
    world.gnttab.acquire().unwrap();
    let cache = world.cache("res", 300);
    assert_eq!(cache.cache().stats().count, 2 * 253);
    assert!(world.w.sim.audit().live_grants.is_empty());
    let pfn = world.page();
    let a = world.permit(&cache, pfn, false);
    assert_eq!(a.reference(), RESERVED_ENTRIES);
    world.revoke(&cache, a);
    let b = world.permit(&cache, pfn, false);
    assert_eq!(
        b.reference(),
        RESERVED_ENTRIES,
        "the object keeps its reference"
    );
    world.revoke(&cache, b);
    world.gnttab.destroy_cache(&cache).unwrap();
    world.gnttab.release();
    world.assert_clean_after_release();
}

#[test]
fn entries_of_another_cache_are_refused() {
    let world = world();
    world.gnttab.acquire().unwrap();
    let one = world.cache("one", 0);
    let two = world.cache("two", 0);
    let pfn = world.page();
    let entry = world.permit(&one, pfn, false);
    let (e, entry) = world
        .gnttab
        .revoke_foreign_access(&two, false, entry)
        .unwrap_err();
    assert_eq!(e, GnttabError::InvalidParameter);
    world.revoke(&one, entry);
    world.gnttab.destroy_cache(&one).unwrap();
    world.gnttab.destroy_cache(&two).unwrap();
    world.gnttab.release();
    world.assert_clean_after_release();
}

#[test]
fn release_with_a_cache_alive_keeps_everything() {
    let world = world();
    world.gnttab.acquire().unwrap();
    world.gnttab.acquire().unwrap();
    let cache = world.cache("kept", 0);
    world.gnttab.release();
    world.gnttab.release();
    assert_eq!(world.gnttab.references(), 1);
    assert_eq!(world.gnttab.frame_count(), 1);
    assert!(
        world
            .w
            .platform
            .log_lines()
            .iter()
            .any(|(_, l)| l.contains("OUTSTANDING CACHES"))
    );
    world.gnttab.destroy_cache(&cache).unwrap();
    world.gnttab.release();
    world.assert_clean_after_release();
}

#[test]
fn destroy_with_a_granted_entry_is_refused() {
    let world = world();
    world.gnttab.acquire().unwrap();
    let cache = world.cache("busy", 0);
    let pfn = world.page();
    let entry = world.permit(&cache, pfn, false);
    assert_eq!(
        world.gnttab.destroy_cache(&cache).unwrap_err(),
        GnttabError::Cache(CacheError::Outstanding(1))
    );
    world.revoke(&cache, entry);
    world.gnttab.destroy_cache(&cache).unwrap();
    world.gnttab.release();
    world.assert_clean_after_release();
}

#[test]
fn after_a_suspend_the_frames_are_back_and_grants_work() {
    let world = world_with(SimConfig {
        max_grant_frames: 4,
        ..SimConfig::default()
    });
    world.gnttab.acquire().unwrap();
    let cache = world.cache("resume", 0);
    let pfn = world.page();
    // Two frames in use before the suspend.
    let entries: Vec<_> = (0..500).map(|_| world.permit(&cache, pfn, false)).collect();
    assert_eq!(world.gnttab.frame_count(), 2);
    world.w.xen.sched_shutdown(SHUTDOWN_SUSPEND).unwrap();
    assert_eq!(world.w.sim.suspends(), 1);
    world.gnttab.suspend_early();
    // The new domain's table is empty: the old grants are gone, new ones work.
    let (store_gfn, _) = world.w.sim.store_ring();
    assert_eq!(
        world.gnttab.query_reference(STORE_REFERENCE).unwrap(),
        (store_gfn, false)
    );
    for entry in entries {
        world.revoke(&cache, entry);
    }
    let entry = world.permit(&cache, pfn, false);
    let mapping = world.dom0.map_grant(entry.reference(), false).unwrap();
    world.dom0.unmap_grant(mapping).unwrap();
    world.revoke(&cache, entry);
    world.gnttab.destroy_cache(&cache).unwrap();
    world.gnttab.release();
    world.assert_clean_after_release();
}

#[test]
fn two_threads_permit_and_revoke_concurrently() {
    let world = world_with(SimConfig {
        vcpus: 2,
        ..SimConfig::default()
    });
    world.gnttab.acquire().unwrap();
    let cache = world.cache("mt", 0);
    let pfn = world.page();
    std::thread::scope(|s| {
        for cpu in 0..2 {
            let (world, cache) = (&world, &cache);
            s.spawn(move || {
                world.w.platform.as_processor(cpu, || {
                    for round in 0..300 {
                        let n = 1 + round % 40;
                        let held: Vec<_> =
                            (0..n).map(|_| world.permit(cache, pfn, false)).collect();
                        for entry in held {
                            world.revoke(cache, entry);
                        }
                    }
                });
            });
        }
    });
    assert!(world.w.sim.audit().live_grants.is_empty());
    world.gnttab.destroy_cache(&cache).unwrap();
    world.gnttab.release();
    world.assert_clean_after_release();
}

#[test]
fn debug_dump_prints_each_frame_with_its_index() {
    let world = world();
    world.gnttab.acquire().unwrap();
    let mut text = String::new();
    world.gnttab.debug_dump(&mut text, false).unwrap();
    assert!(text.starts_with("[0] Address = 00000000."), "{text}");
    assert_eq!(text.lines().count(), 1);
    world.gnttab.release();
}

#[test]
fn a_failed_foreign_unmap_keeps_the_mapping_for_a_retry() {
    let world = world();
    world.gnttab.acquire().unwrap();
    let pages: Vec<_> = (0..2).map(|_| world.dom0.grant_page(false)).collect();
    let refs: Vec<u32> = pages.iter().map(xen_sim::BackendPage::reference).collect();
    let address = world.gnttab.map_foreign_pages(0, &refs, false).unwrap();
    world.w.sim.inject(
        Fault::new(HYPERVISOR_GRANT_TABLE_OP)
            .cmd(xen_headers::grant_table::GNTTABOP_UNMAP_GRANT_REF)
            .nth(2),
    );
    let e = world.gnttab.unmap_foreign_pages(address).unwrap_err();
    assert!(matches!(e, GnttabError::Xen(_)));
    assert_eq!(world.gnttab.foreign_map_count(), 1, "still recorded");
    assert_eq!(
        world.w.sim.audit().guest_grant_maps,
        1,
        "the first page was unmapped"
    );
    world.gnttab.unmap_foreign_pages(address).unwrap();
    assert_eq!(world.gnttab.foreign_map_count(), 0);
    for p in &pages {
        world.dom0.end_grant(p).unwrap();
    }
    world.gnttab.release();
    world.assert_clean_after_release();
    assert_eq!(world.w.pages.live_pages(), 0);
}

#[test]
fn bad_arguments_are_refused_without_side_effects() {
    let world = world();
    world.gnttab.acquire().unwrap();
    let cache = world.cache("bad", 0);
    let e = world
        .gnttab
        .permit_foreign_access(&cache, false, 0, 1 << 32, false)
        .unwrap_err();
    assert_eq!(
        e.status(),
        STATUS_INVALID_PARAMETER,
        "v1 frames are 32 bits"
    );
    assert_eq!(cache.cache().stats().objects, 0);
    assert_eq!(
        world.gnttab.map_foreign_pages(0, &[], false).unwrap_err(),
        GnttabError::InvalidParameter
    );
    let long = "x".repeat(121);
    assert_eq!(
        world
            .gnttab
            .create_cache(&long, 0, 0, no_lock(), no_lock())
            .unwrap_err(),
        GnttabError::NameTooLong,
        "121 + \"_gnttab\" is 128 bytes"
    );
    world.gnttab.destroy_cache(&cache).unwrap();
    world.gnttab.release();
    world.assert_clean_after_release();
}

#[test]
fn no_pages_for_a_foreign_map_leaves_nothing() {
    let world = world();
    world.gnttab.acquire().unwrap();
    let page = world.dom0.grant_page(false);
    world.w.pages.fail.store(true, Ordering::SeqCst);
    let e = world
        .gnttab
        .map_foreign_pages(0, &[page.reference()], false)
        .unwrap_err();
    world.w.pages.fail.store(false, Ordering::SeqCst);
    assert_eq!(e, GnttabError::Hole(xenbus::hole::HoleError::NoMemory));
    assert_eq!(world.w.sim.audit().guest_grant_maps, 0);
    world.dom0.end_grant(&page).unwrap();
    world.gnttab.release();
    world.assert_clean_after_release();
}

#[test]
fn dropping_an_acquired_gnttab_gives_its_frames_back() {
    let world = world();
    world.gnttab.acquire().unwrap();
    let World {
        w, caches, gnttab, ..
    } = world;
    drop(gnttab);
    let audit = w.sim.audit();
    assert_eq!(audit.unpopulated_gfns, 0, "{audit:?}");
    assert_eq!(w.pages.live_pages(), 0);
    caches.release();
}
