// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

extern crate std;

use super::*;
use std::vec;

/// A page-sized, 8-byte aligned buffer and a view over it.
fn page() -> (std::boxed::Box<[u64; 512]>, SharedMem) {
    let mut buf = std::boxed::Box::new([0u64; 512]);
    let base = NonNull::new(buf.as_mut_ptr().cast::<u8>()).unwrap();
    // SAFETY: the box outlives every use of the view in each test.
    let view = unsafe { SharedMem::new(base, 4096) };
    (buf, view)
}

#[test]
fn words_round_trip_at_their_offsets() {
    let (_buf, m) = page();
    m.write::<u32>(8, 0xdead_beef).unwrap();
    m.write::<u16>(2, 0x1234).unwrap();
    m.write::<u8>(4095, 0x5a).unwrap();
    m.write::<u64>(4088 - 8, u64::MAX).unwrap();
    assert_eq!(m.read::<u32>(8).unwrap(), 0xdead_beef);
    assert_eq!(m.read::<u16>(2).unwrap(), 0x1234);
    assert_eq!(m.read::<u8>(4095).unwrap(), 0x5a);
    assert_eq!(m.read::<u64>(4080).unwrap(), u64::MAX);
}

#[test]
fn out_of_bounds_offsets_are_refused_not_wrapped() {
    let (_buf, m) = page();
    assert_eq!(
        m.read::<u32>(4093),
        Err(Error::OutOfBounds {
            offset: 4093,
            len: 4,
            size: 4096
        })
    );
    assert!(matches!(m.read::<u8>(4096), Err(Error::OutOfBounds { .. })));
    assert!(matches!(
        m.read::<u64>(usize::MAX - 3),
        Err(Error::OutOfBounds { .. })
    ));
    assert!(matches!(
        m.write_bytes(4000, &[0; 97]),
        Err(Error::OutOfBounds { .. })
    ));
    assert!(matches!(m.slice(4000, 97), Err(Error::OutOfBounds { .. })));
    assert!(matches!(
        m.fill(usize::MAX, 2, 0),
        Err(Error::OutOfBounds { .. })
    ));
}

#[test]
fn misaligned_words_are_refused() {
    let (_buf, m) = page();
    assert_eq!(
        m.read::<u32>(2),
        Err(Error::Misaligned {
            offset: 2,
            align: 4
        })
    );
    assert!(matches!(
        m.store::<u16>(1, 1, Ordering::SeqCst),
        Err(Error::Misaligned { .. })
    ));
    // A sub-view keeps absolute alignment: offset 0 of a view at 2 is not 4-aligned.
    let sub = m.slice(2, 16).unwrap();
    assert!(matches!(sub.read::<u32>(0), Err(Error::Misaligned { .. })));
    assert_eq!(sub.read::<u16>(0).unwrap(), 0);
}

#[test]
fn atomics_report_previous_values() {
    let (_buf, m) = page();
    m.store::<u32>(16, 0b0101, Ordering::Relaxed).unwrap();
    assert_eq!(
        m.fetch_or::<u32>(16, 0b0010, Ordering::AcqRel).unwrap(),
        0b0101
    );
    assert_eq!(
        m.fetch_and::<u32>(16, !0b0001, Ordering::AcqRel).unwrap(),
        0b0111
    );
    assert_eq!(m.load::<u32>(16, Ordering::Acquire).unwrap(), 0b0110);
    assert_eq!(m.swap::<u16>(20, 7, Ordering::AcqRel).unwrap(), 0);
    assert_eq!(
        m.compare_exchange::<u16>(20, 7, 9, Ordering::AcqRel, Ordering::Acquire)
            .unwrap(),
        Ok(7)
    );
    assert_eq!(
        m.compare_exchange::<u16>(20, 7, 1, Ordering::AcqRel, Ordering::Acquire)
            .unwrap(),
        Err(9)
    );
}

#[test]
fn byte_copies_are_bounded_and_exact() {
    let (_buf, m) = page();
    m.write_bytes(100, b"hello").unwrap();
    let mut out = vec![0u8; 5];
    m.read_bytes(100, &mut out).unwrap();
    assert_eq!(&out, b"hello");
    m.fill(101, 3, b'-').unwrap();
    m.read_bytes(100, &mut out).unwrap();
    assert_eq!(&out, b"h---o");
    let sub = m.slice(100, 5).unwrap();
    assert_eq!(sub.len(), 5);
    assert_eq!(sub.read::<u8>(4).unwrap(), b'o');
    assert!(sub.read::<u8>(5).is_err());
}

#[test]
fn another_thread_sees_atomic_updates() {
    let (buf, m) = page();
    let handle = std::thread::spawn(move || {
        for _ in 0..1000 {
            m.fetch_or::<u32>(0, 0, Ordering::AcqRel).unwrap();
            let _ = m.compare_exchange::<u32>(0, 0, 1, Ordering::AcqRel, Ordering::Acquire);
        }
        m.load::<u32>(0, Ordering::Acquire).unwrap()
    });
    assert_eq!(handle.join().unwrap(), 1);
    drop(buf);
}

#[test]
fn a_word_is_checked_once_then_accessed_without_results() {
    let (_buf, m) = page();
    assert!(matches!(
        m.word::<u32>(4093),
        Err(Error::OutOfBounds { .. })
    ));
    assert!(matches!(
        m.word::<u64>(usize::MAX),
        Err(Error::OutOfBounds { .. })
    ));
    assert_eq!(
        m.word::<u16>(1).unwrap_err(),
        Error::Misaligned {
            offset: 1,
            align: 2
        }
    );
    let sub = m.slice(4, 8).unwrap();
    assert!(matches!(sub.word::<u64>(0), Err(Error::Misaligned { .. })));
    assert!(matches!(sub.word::<u32>(8), Err(Error::OutOfBounds { .. })));

    let w = m.word::<u32>(16).unwrap();
    w.write(7);
    assert_eq!(w.read(), 7);
    assert_eq!(m.read::<u32>(16).unwrap(), 7);
    w.store(0x10, Ordering::SeqCst);
    assert_eq!(w.load(Ordering::Acquire), 0x10);
    assert_eq!(w.fetch_or(0x3, Ordering::SeqCst), 0x10);
    assert_eq!(w.fetch_and(!0x1, Ordering::SeqCst), 0x13);
    assert_eq!(w.swap(9, Ordering::SeqCst), 0x12);
    assert_eq!(
        w.compare_exchange(8, 1, Ordering::SeqCst, Ordering::SeqCst),
        Err(9)
    );
    assert_eq!(
        w.compare_exchange(9, 1, Ordering::SeqCst, Ordering::SeqCst),
        Ok(9)
    );
    let copy = w;
    assert_eq!(copy.load(Ordering::SeqCst), 1);
    // Only the word's own bytes changed.
    let mut bytes = vec![0u8; 4096];
    m.read_bytes(0, &mut bytes).unwrap();
    assert_eq!(bytes[16..20], 1u32.to_ne_bytes());
    assert!(
        bytes
            .iter()
            .enumerate()
            .all(|(i, &b)| (16..20).contains(&i) || b == 0)
    );

    let byte = m.word::<u8>(4095).unwrap();
    byte.store(0xa5, Ordering::SeqCst);
    assert_eq!(m.read::<u8>(4095).unwrap(), 0xa5);
}
