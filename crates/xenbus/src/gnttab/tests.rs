// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Unit tests of the grant-table pieces that need no hypervisor; the scenarios on the
//! simulator are in `tests/gnttab.rs`.

use core::sync::atomic::AtomicU64;

use xen_headers::grant_table::{GTF_READING, GTF_READONLY, GTF_WRITING};

use super::*;

#[test]
fn frame_ranges_skip_the_reserved_references() {
    assert_eq!(frame_range(0), Some((32, 480)));
    assert_eq!(frame_range(1), Some((512, 512)));
    assert_eq!(frame_range(3), Some((1536, 512)));
}

#[test]
fn entry_objects_are_sixteen_bytes_with_upstreams_magic() {
    assert_eq!(core::mem::size_of::<EntryObject>(), 16);
    assert_eq!(ENTRY_MAGIC, 0x4454_4E47);
    let mut storage = [0u64; 2];
    let object = NonNull::from(&mut storage).cast::<u8>();
    // SAFETY: 16 bytes of local, aligned storage.
    unsafe { EntryObject::init(object, 77) };
    // SAFETY: as above.
    let reference = unsafe { EntryObject::reference_of(object) };
    assert_eq!(reference, Some(77));
    // SAFETY: as above; spoils the magic.
    unsafe { object.cast::<u32>().write(0) };
    // SAFETY: as above.
    let spoiled = unsafe { EntryObject::reference_of(object) };
    assert_eq!(spoiled, None, "bad magic");
}

/// A frame-sized, aligned stand-in for a table frame.
fn frame() -> std::boxed::Box<[AtomicU64; 512]> {
    std::boxed::Box::new(core::array::from_fn(|_| AtomicU64::new(0)))
}

fn live(frame: &[AtomicU64; 512], index: u32) -> LiveEntry<'_> {
    let base = NonNull::from(frame).cast::<u8>();
    // SAFETY: the box is one whole, aligned 4 KiB frame living as long as the borrow.
    unsafe { LiveEntry::new(base, index) }
}

#[test]
fn permit_writes_the_v1_entry_with_permit_access_last() {
    extern crate std;
    let table = frame();
    live(&table, 7).permit(GTF_READONLY, 0x1234, 0xABCD_EF01);
    let raw = table[7].load(Ordering::SeqCst);
    assert_eq!(raw & 0xFFFF, u64::from(GTF_READONLY | 1));
    assert_eq!((raw >> 16) & 0xFFFF, 0x1234);
    assert_eq!(raw >> 32, 0xABCD_EF01);
    assert_eq!(live(&table, 7).read(), (0xABCD_EF01, true));
    assert_eq!(table[6].load(Ordering::SeqCst), 0, "neighbours untouched");
}

#[test]
fn revoke_fails_while_the_peer_reads_or_writes_and_zeroes_the_entry_after() {
    extern crate std;
    let table = frame();
    let entry = live(&table, 1);
    entry.permit(0, 0, 99);
    for busy in [GTF_READING, GTF_WRITING] {
        table[1].fetch_or(u64::from(busy), Ordering::SeqCst);
        assert!(!entry.try_revoke());
        assert_ne!(table[1].load(Ordering::SeqCst) & 1, 0, "still permitted");
        table[1].fetch_and(!u64::from(busy), Ordering::SeqCst);
    }
    assert!(entry.try_revoke());
    assert_eq!(table[1].load(Ordering::SeqCst), 0);
}
