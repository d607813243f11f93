// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `gnttab_entry`: grant entry status reads and revokes (`xenbus::gnttab`, whose live entry is
//! `gnttab/entry.rs`'s `LiveEntry::read`/`try_revoke`) over table frames that Xen and the
//! granted domains (the fuzzer) write as they like.
//!
//! The entry module is private to GNTTAB, so the target reaches it through GNTTAB's public
//! API, exactly as a child driver does: Permit (`permit`), Revoke (`try_revoke`, up to 100
//! attempts) and `QueryReference` (`read`).
//!
//! Invariants:
//! * Permit writes the v1 entry of its reference exactly: domid, frame, then flags
//!   `GTF_permit_access` (| `GTF_readonly`); the reference is at least 32, inside the table,
//!   and never one another live grant holds; a frame above 32 bits is refused;
//! * Revoke succeeds exactly when the entry's flags carry neither `GTF_reading` nor
//!   `GTF_writing` (whatever else the peer wrote), and then leaves the entry all zero; otherwise
//!   it fails with `StillMapped`, hands the entry back and leaves the entry as it was;
//! * Query of any reference inside the table reads that entry's frame and `GTF_readonly` bit,
//!   whatever the peer wrote; beyond the table it is refused;
//! * Revoke takes no byte of the frame other than its own entry's; at the end every grant is
//!   revoked, the cache destroyed, the table released and every page freed.

use std::sync::Arc;

use platform_port::PAGE_SHIFT;
use xen_headers::grant_table::{GTF_PERMIT_ACCESS, GTF_READING, GTF_READONLY, GTF_WRITING};
use xen_headers::memory::XENMAPSPACE_GRANT_TABLE;
use xenbus::cache::CacheContext;
use xenbus::gnttab::{ENTRIES_PER_FRAME, Gnttab, GnttabError, GrantEntry, RESERVED_ENTRIES};

use crate::input::{Reader, Writer};
use crate::platform::FuzzPlatform;
use crate::xen::FuzzXen;

struct Frames {
    platform: FuzzPlatform,
    xen: Arc<FuzzXen>,
}

impl Frames {
    /// Frame `index` of the table, as Xen sees it.
    fn frame(&self, index: u64) -> Option<*mut u8> {
        let placed = self.xen.placed.lock().expect("lock");
        let (&pfn, _) = placed
            .iter()
            .find(|&(_, &(space, i))| space == XENMAPSPACE_GRANT_TABLE && i == index)?;
        self.platform.frame(pfn).map(std::ptr::NonNull::as_ptr)
    }

    fn entry(&self, reference: u32) -> Option<*mut u8> {
        let frame = self.frame(u64::from(reference / ENTRIES_PER_FRAME))?;
        // SAFETY: `reference % 512` entries of 8 bytes lie inside the 4 KiB frame.
        Some(unsafe { frame.add((reference % ENTRIES_PER_FRAME) as usize * 8) })
    }

    /// `(flags, domid, frame)` of a live entry.
    fn read(&self, reference: u32) -> Option<(u16, u16, u32)> {
        let e = self.entry(reference)?;
        // SAFETY: an 8-byte aligned entry inside a live frame; the product is not running.
        unsafe {
            Some((
                e.cast::<u16>().read_volatile(),
                e.add(2).cast::<u16>().read_volatile(),
                e.add(4).cast::<u32>().read_volatile(),
            ))
        }
    }

    fn write(&self, reference: u32, flags: Option<u16>, domid: Option<u16>, frame: Option<u32>) {
        let Some(e) = self.entry(reference) else {
            return;
        };
        // SAFETY: as in `read`.
        unsafe {
            if let Some(f) = flags {
                e.cast::<u16>().write_volatile(f);
            }
            if let Some(d) = domid {
                e.add(2).cast::<u16>().write_volatile(d);
            }
            if let Some(f) = frame {
                e.add(4).cast::<u32>().write_volatile(f);
            }
        }
    }

    fn snapshot(&self, index: u64) -> Vec<u8> {
        let Some(f) = self.frame(index) else {
            return Vec::new();
        };
        let mut out = vec![0u8; 4096];
        // SAFETY: a live 4 KiB frame; nothing writes it meanwhile.
        unsafe { std::ptr::copy_nonoverlapping(f, out.as_mut_ptr(), 4096) };
        out
    }
}

fn no_lock() -> Arc<dyn Fn() + Send + Sync> {
    Arc::new(|| {})
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut r = Reader::new(data);
    let platform = FuzzPlatform::new(1);
    let xen = Arc::new(FuzzXen::default());
    xen.gnttab_max_frames.store(
        1 + u32::from(r.below(3)),
        std::sync::atomic::Ordering::Relaxed,
    );
    let caches =
        Arc::new(CacheContext::with_monitor_period(&platform, None).expect("cache context"));
    let gnttab =
        Gnttab::new(platform.clone(), Arc::clone(&xen), Arc::clone(&caches)).expect("gnttab");
    gnttab.acquire().expect("acquire");
    let cap = u32::from(r.below(4)) * 50;
    let cache = gnttab
        .create_cache("fuzz", 0, cap, no_lock(), no_lock())
        .expect("cache");
    let frames = Frames {
        platform: platform.clone(),
        xen: Arc::clone(&xen),
    };
    let mut live: Vec<(GrantEntry, u16, u16, u32)> = Vec::new();
    let mut ops = 0;
    while !r.is_empty() && ops < 200 {
        ops += 1;
        let limit = u32::try_from(gnttab.frame_count()).expect("few") * ENTRIES_PER_FRAME;
        match r.below(8) {
            0 | 1 => {
                let domain = r.u16();
                let pfn = if r.below(8) == 0 {
                    r.u64()
                } else {
                    u64::from(r.u32())
                };
                let ro = r.bool();
                match gnttab.permit_foreign_access(&cache, false, domain, pfn, ro) {
                    Ok(entry) => {
                        let reference = entry.reference();
                        let limit =
                            u32::try_from(gnttab.frame_count()).expect("few") * ENTRIES_PER_FRAME;
                        assert!(
                            (RESERVED_ENTRIES..limit).contains(&reference),
                            "reference {reference}"
                        );
                        assert!(
                            !live.iter().any(|(e, ..)| e.reference() == reference),
                            "reference {reference} handed out twice"
                        );
                        let flags = GTF_PERMIT_ACCESS | if ro { GTF_READONLY } else { 0 };
                        let frame = u32::try_from(pfn).expect("permitted frames fit");
                        assert_eq!(frames.read(reference), Some((flags, domain, frame)));
                        assert_eq!(
                            gnttab.query_reference(reference),
                            Ok((u64::from(frame), ro))
                        );
                        live.push((entry, flags, domain, frame));
                    }
                    Err(GnttabError::InvalidParameter) => assert!(pfn > u64::from(u32::MAX)),
                    Err(GnttabError::Insufficient) => {}
                    Err(e) => panic!("permit: {e:?}"),
                }
            }
            2 | 3 => {
                // The peer (or Xen) writes a live entry, or any entry.
                let reference = if !live.is_empty() && r.bool() {
                    live[usize::from(r.u8()) % live.len()].0.reference()
                } else {
                    u32::from(r.u16()) % limit.max(1)
                };
                match r.below(4) {
                    0 => {
                        let (f, ..) = frames.read(reference).unwrap_or_default();
                        frames.write(reference, Some(f | GTF_READING), None, None);
                    }
                    1 => {
                        let (f, ..) = frames.read(reference).unwrap_or_default();
                        frames.write(reference, Some(f | GTF_WRITING), None, None);
                    }
                    2 => {
                        let (f, ..) = frames.read(reference).unwrap_or_default();
                        frames.write(
                            reference,
                            Some(f & !(GTF_READING | GTF_WRITING)),
                            None,
                            None,
                        );
                    }
                    _ => frames.write(
                        reference,
                        Some(r.u16()),
                        r.bool().then(|| r.u16()),
                        r.bool().then(|| r.u32()),
                    ),
                }
            }
            4 | 5 => {
                if live.is_empty() {
                    continue;
                }
                let (entry, ..) = live.remove(usize::from(r.u8()) % live.len());
                let reference = entry.reference();
                let (flags, domid, frame) = frames.read(reference).expect("a live entry");
                let index = u64::from(reference / ENTRIES_PER_FRAME);
                let before = frames.snapshot(index);
                let result = gnttab.revoke_foreign_access(&cache, false, entry);
                let mut after = frames.snapshot(index);
                let at = (reference % ENTRIES_PER_FRAME) as usize * 8;
                match result {
                    Ok(()) => {
                        assert_eq!(
                            flags & (GTF_READING | GTF_WRITING),
                            0,
                            "revoked while mapped ({flags:#x})"
                        );
                        assert_eq!(frames.read(reference), Some((0, 0, 0)));
                    }
                    Err((GnttabError::StillMapped, entry)) => {
                        assert_ne!(
                            flags & (GTF_READING | GTF_WRITING),
                            0,
                            "refused an unmapped grant ({flags:#x})"
                        );
                        assert_eq!(frames.read(reference), Some((flags, domid, frame)));
                        assert_eq!(entry.reference(), reference);
                        live.push((entry, flags, domid, frame));
                    }
                    Err((e, _)) => panic!("revoke: {e:?}"),
                }
                after[at..at + 8].copy_from_slice(&before[at..at + 8]);
                assert!(after == before, "revoke wrote another entry");
            }
            6 => {
                let reference = match r.below(3) {
                    0 => r.u32(),
                    _ => u32::from(r.u16()) % (limit + 8),
                };
                match gnttab.query_reference(reference) {
                    Ok((frame, ro)) => {
                        assert!(reference < limit);
                        let (flags, _, f) = frames.read(reference).expect("inside the table");
                        assert_eq!((frame, ro), (u64::from(f), flags & GTF_READONLY != 0));
                    }
                    Err(e) => {
                        assert_eq!(e, GnttabError::InvalidParameter);
                        assert!(reference >= limit);
                    }
                }
            }
            _ => {
                let mut out = String::new();
                gnttab.debug_dump(&mut out, r.bool()).expect("dump");
            }
        }
    }
    // Tear down: the peer lets go of everything, every grant is revoked.
    for (entry, ..) in live {
        let (f, ..) = frames.read(entry.reference()).expect("live");
        frames.write(
            entry.reference(),
            Some(f & !(GTF_READING | GTF_WRITING)),
            None,
            None,
        );
        assert!(gnttab.revoke_foreign_access(&cache, false, entry).is_ok());
    }
    gnttab.destroy_cache(&cache).expect("destroy");
    gnttab.release();
    assert_eq!(gnttab.references(), 0);
    drop(gnttab);
    drop(caches);
    assert_eq!(platform.mappings_outstanding(), 0, "frames left mapped");
    assert_eq!(platform.pages_outstanding(), 0, "pages leaked");
    assert!(
        xen.given_back.lock().expect("lock").is_empty(),
        "holes not repopulated"
    );
    let _ = PAGE_SHIFT;
}

/// Seeds: the scenario tests' grant life cycle (permit, a peer mapping it, a failed and a
/// successful revoke, queries of reserved references); then the `peer-xen-*` seeds, one per
/// grant state real Xen 4.17 left in the recording guest's table (`peer_xen_seeds`).
#[must_use]
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut cycle = Writer::new();
    cycle.u8(1).u8(0);
    cycle.u8(0).u16(0).u8(1).u32(0x1234).u8(0);
    cycle.u8(1).u16(7).u8(1).u32(0x5678).u8(1);
    cycle.u8(2).u8(1).u8(0).u8(0);
    cycle.u8(4).u8(0);
    cycle.u8(2).u8(1).u8(0).u8(2);
    cycle.u8(4).u8(0).u8(4).u8(0);
    cycle
        .u8(6)
        .u8(1)
        .u16(1)
        .u8(6)
        .u8(1)
        .u16(0)
        .u8(6)
        .u8(0)
        .u32(u32::MAX);
    let mut full = Writer::new();
    full.u8(0).u8(1);
    for i in 0..60u32 {
        full.u8(0).u16(0).u8(1).u32(i).u8(u8::from(i % 3 == 0));
    }
    full.u8(0).u16(0).u8(0).u64(1 << 40).u8(0);
    full.u8(3)
        .u8(1)
        .u8(5)
        .u8(3)
        .u16(0xFFFF)
        .u8(1)
        .u16(9)
        .u8(1)
        .u32(0xABCD);
    full.u8(5).u8(5).u8(7).u8(1);
    let mut out = vec![("cycle", cycle.finish()), ("full", full.finish())];
    out.extend(peer_xen_seeds());
    out
}

/// One seed per `grant` state of the real-Xen transcripts (`evtchn_2l`'s `xen_states`): a
/// one-frame table; each non-zero recorded v1 entry (of entries 0 to 15) written whole at its
/// own reference, as Xen left it, and queried there (the kernel's references are below
/// `RESERVED_ENTRIES`, which only Query reads); then, for each, a grant permitted with the
/// entry's domain, frame and read-only bit, the entry's recorded flags, domain and frame
/// written over it (Xen's `GTF_reading` or `GTF_writing` with them), and a revoke, refused
/// while either is set (the teardown then clears them and revokes).
fn peer_xen_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    for state in super::evtchn_2l::xen_states("grant") {
        let bytes = state.bytes("entries").expect("entries");
        assert_eq!(bytes.len() % 8, 0, "{}", state.seed);
        let entries: Vec<(u16, u16, u16, u32)> = bytes
            .chunks_exact(8)
            .enumerate()
            .filter(|(_, e)| e.iter().any(|&b| b != 0))
            .map(|(reference, e)| {
                (
                    reference as u16,
                    u16::from_le_bytes([e[0], e[1]]),
                    u16::from_le_bytes([e[2], e[3]]),
                    u32::from_le_bytes([e[4], e[5], e[6], e[7]]),
                )
            })
            .collect();
        assert!(!entries.is_empty(), "{}", state.seed);
        let mut w = Writer::new();
        w.u8(0).u8(0);
        for &(reference, flags, domid, frame) in &entries {
            w.u8(2).u16(reference).u8(3).u16(flags);
            w.u8(1).u16(domid).u8(1).u32(frame);
        }
        for &(reference, ..) in &entries {
            w.u8(6).u8(1).u16(reference);
        }
        let mut live = 0u8;
        for &(_, flags, domid, frame) in &entries {
            w.u8(0)
                .u16(domid)
                .u8(1)
                .u32(frame)
                .u8(u8::from(flags & GTF_READONLY != 0));
            w.u8(2).u8(1).u8(live).u8(3).u16(flags);
            w.u8(1).u16(domid).u8(1).u32(frame);
            w.u8(4).u8(live);
            if flags & (GTF_READING | GTF_WRITING) != 0 {
                live += 1;
            }
        }
        out.push((state.seed, w.finish()));
    }
    out
}
