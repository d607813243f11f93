// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `interface_query`: `IRP_MN_QUERY_INTERFACE` as a child driver (or anything else on the
//! stack) sends it, through `xenbus::interface::Provider::query_interface`.
//!
//! Invariants, for any GUID, version, size, buffer alignment and incoming status:
//! * an IRP already completed (status other than `STATUS_NOT_SUPPORTED`) and an unknown GUID
//!   are left alone: the incoming status stands and the buffer is untouched;
//! * `BUS_INTERFACE_STANDARD` and `XENFILT_EMULATED` are handed to the glue as documented;
//! * a XENBUS GUID: a version outside MIN..MAX is `STATUS_NOT_SUPPORTED`, a buffer smaller than
//!   that version's table `STATUS_BUFFER_OVERFLOW` (NULL: `STATUS_INVALID_PARAMETER`), and in
//!   both cases nothing is written; otherwise the table of exactly that version is written
//!   (size, version, non-NULL context, NULL reference callbacks, no NULL method slot) and not
//!   one byte past it;
//! * the table works: `Acquire` through it answers `STATUS_NOT_SUPPORTED` for an interface
//!   without a subsystem and counts a reference for one with (RANGE_SET), `Release` drops it,
//!   and `references` reports the count.

use std::ffi::c_void;
use std::sync::Arc;

use ntstatus::{
    NtStatus, STATUS_BUFFER_OVERFLOW, STATUS_BUFFER_TOO_SMALL, STATUS_INVALID_PARAMETER,
    STATUS_NOT_SUPPORTED, STATUS_SUCCESS,
};
use xenbus::interface::{
    self as iface, GUID_BUS_INTERFACE_STANDARD, Guid, Hooks, InterfaceHeader, Provider,
    QueryOutcome, SharedIrql,
};
use xenbus_interface::{self as xi, InterfaceVersion};

use crate::input::{Reader, Writer};
use crate::platform::FuzzPlatform;

/// One served table version.
#[derive(Clone, Copy)]
struct Table {
    guid: Guid,
    version: u16,
    size: u16,
    wired: bool,
}

macro_rules! tables {
    ($($wired:literal $ty:ty),* $(,)?) => {
        [$({
            assert!(<$ty>::SLOTS[0].0.ends_with("Acquire") && <$ty>::SLOTS[0].1 == 32);
            assert!(<$ty>::SLOTS[1].0.ends_with("Release") && <$ty>::SLOTS[1].1 == 40);
            Table { guid: <$ty>::GUID, version: <$ty>::VERSION, size: <$ty>::SIZE, wired: $wired }
        }),*]
    };
}

fn served() -> [Table; 21] {
    tables!(
        false xi::suspend::XenbusSuspendInterfaceV1,
        false xi::shared_info::XenbusSharedInfoInterfaceV2,
        false xi::shared_info::XenbusSharedInfoInterfaceV3,
        false xi::shared_info::XenbusSharedInfoInterfaceV4,
        false xi::evtchn::XenbusEvtchnInterfaceV5,
        false xi::evtchn::XenbusEvtchnInterfaceV6,
        false xi::evtchn::XenbusEvtchnInterfaceV7,
        false xi::evtchn::XenbusEvtchnInterfaceV8,
        false xi::evtchn::XenbusEvtchnInterfaceV9,
        false xi::debug::XenbusDebugInterfaceV1,
        false xi::store::XenbusStoreInterfaceV2,
        true xi::range_set::XenbusRangeSetInterfaceV1,
        false xi::cache::XenbusCacheInterfaceV1,
        false xi::cache::XenbusCacheInterfaceV2,
        false xi::gnttab::XenbusGnttabInterfaceV2,
        false xi::gnttab::XenbusGnttabInterfaceV3,
        false xi::gnttab::XenbusGnttabInterfaceV4,
        false xi::unplug::XenbusUnplugInterfaceV1,
        false xi::unplug::XenbusUnplugInterfaceV2,
        false xi::unplug::XenbusUnplugInterfaceV3,
        false xi::console::XenbusConsoleInterfaceV1,
    )
}

unsafe fn no_event(_: *mut c_void) {}

fn provider(irql: &SharedIrql) -> Provider {
    Provider {
        suspend: Box::new(iface::suspend::SuspendContext::new(irql, None)),
        shared_info: Box::new(iface::shared_info::SharedInfoContext::new(irql, None)),
        evtchn: Box::new(iface::evtchn::EvtchnContext::new(irql, None)),
        debug: Box::new(iface::debug::DebugContext::new(irql, None)),
        store: Box::new(iface::store::StoreContext::new(irql, None, no_event)),
        range_set: Box::new(iface::range_set::RangeSetContext::new(irql, Hooks::none())),
        cache: Box::new(iface::cache::CacheContext::new(irql, None)),
        gnttab: Box::new(iface::gnttab::GnttabContext::new(irql, None)),
        unplug: Box::new(iface::unplug::UnplugContext::new(irql, None)),
        console: Box::new(iface::console::ConsoleContext::new(irql, None)),
    }
}

const STATUSES: [NtStatus; 4] = [
    STATUS_NOT_SUPPORTED,
    STATUS_NOT_SUPPORTED,
    STATUS_SUCCESS,
    STATUS_INVALID_PARAMETER,
];
const FILL: u8 = 0xA5;

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut r = Reader::new(data);
    let platform = FuzzPlatform::new(1);
    let irql: SharedIrql = Arc::new(platform.clone());
    let provider = provider(&irql);
    let tables = served();
    let mut guids: Vec<Guid> = tables.iter().map(|t| t.guid).collect();
    guids.dedup();
    guids.push(GUID_BUS_INTERFACE_STANDARD);
    guids.push(xi::emulated::GUID_XENFILT_EMULATED_INTERFACE);
    guids.push(xi::balloon::GUID_XENBUS_BALLOON_INTERFACE);
    let mut references = 0u32;
    let mut ops = 0;
    while !r.is_empty() && ops < 64 {
        ops += 1;
        let mut guid = match r.below(8) {
            7 => Guid {
                data1: r.u32(),
                data2: r.u16(),
                data3: r.u16(),
                data4: r.u64().to_le_bytes(),
            },
            _ => r.choose(&guids),
        };
        if r.below(8) == 0 {
            // One bit off a real GUID.
            let bit = r.u8();
            let byte = usize::from(bit / 8) % 16;
            let mut raw = [
                guid.data1.to_le_bytes().to_vec(),
                guid.data2.to_le_bytes().to_vec(),
                guid.data3.to_le_bytes().to_vec(),
                guid.data4.to_vec(),
            ]
            .concat();
            raw[byte] ^= 1 << (bit % 8);
            guid = Guid {
                data1: u32::from_le_bytes(raw[0..4].try_into().expect("4")),
                data2: u16::from_le_bytes(raw[4..6].try_into().expect("2")),
                data3: u16::from_le_bytes(raw[6..8].try_into().expect("2")),
                data4: raw[8..16].try_into().expect("8"),
            };
        }
        let version = match r.below(4) {
            0 => r.u16(),
            _ => u16::from(r.below(12)),
        };
        let size = match r.below(4) {
            0 => r.u16() % 1024,
            _ => tables
                .iter()
                .find(|t| t.guid == guid && t.version == version)
                .map_or(64, |t| t.size)
                .wrapping_add(u16::from(r.u8() % 9))
                .wrapping_sub(4),
        };
        let current = r.choose(&STATUSES);
        let null = r.below(16) == 0;
        let align = usize::from(r.below(8));
        let mut storage = vec![FILL; align + usize::from(size) + 64];
        let buffer: *mut c_void = if null {
            std::ptr::null_mut()
        } else {
            storage[align..].as_mut_ptr().cast()
        };
        // SAFETY: `buffer` is NULL or writable for `size` bytes (64 more follow as a guard).
        let outcome = unsafe { provider.query_interface(&guid, version, size, buffer, current) };
        let written = &storage[align..];
        let table = tables
            .iter()
            .find(|t| t.guid == guid && t.version == version)
            .copied();
        let known = tables.iter().any(|t| t.guid == guid);
        let untouched = written.iter().all(|&b| b == FILL);
        if current != STATUS_NOT_SUPPORTED {
            assert_eq!(outcome, QueryOutcome::Complete(current));
            assert!(untouched);
            continue;
        }
        if guid == GUID_BUS_INTERFACE_STANDARD {
            let expected = if version != 1 {
                QueryOutcome::Complete(current)
            } else if size < iface::BUS_INTERFACE_STANDARD_SIZE {
                QueryOutcome::Complete(STATUS_BUFFER_TOO_SMALL)
            } else {
                QueryOutcome::BusInterface
            };
            assert_eq!(outcome, expected);
            assert!(untouched);
            continue;
        }
        if guid == xi::emulated::GUID_XENFILT_EMULATED_INTERFACE {
            assert_eq!(outcome, QueryOutcome::DelegateToFdo);
            assert!(untouched);
            continue;
        }
        if !known {
            assert_eq!(
                outcome,
                QueryOutcome::Complete(current),
                "unknown GUID {guid}"
            );
            assert!(untouched);
            continue;
        }
        let Some(table) = table else {
            assert_eq!(
                outcome,
                QueryOutcome::Complete(STATUS_NOT_SUPPORTED),
                "{guid} v{version}"
            );
            assert!(untouched);
            continue;
        };
        if size < table.size {
            assert_eq!(outcome, QueryOutcome::Complete(STATUS_BUFFER_OVERFLOW));
            assert!(untouched);
            continue;
        }
        if null {
            assert_eq!(outcome, QueryOutcome::Complete(STATUS_INVALID_PARAMETER));
            continue;
        }
        assert_eq!(
            outcome,
            QueryOutcome::Complete(STATUS_SUCCESS),
            "{guid} v{version}"
        );
        let end = usize::from(table.size);
        assert!(
            written[end..].iter().all(|&b| b == FILL),
            "{guid} v{version}: written past the table"
        );
        // SAFETY: at least a header was written; read unaligned.
        let header = unsafe { written.as_ptr().cast::<InterfaceHeader>().read_unaligned() };
        assert_eq!((header.size, header.version), (table.size, version));
        assert!(!header.context.is_null());
        assert!(header.interface_reference.is_none() && header.interface_dereference.is_none());
        for slot in written[32..end].chunks(8) {
            assert_ne!(slot, [0u8; 8], "{guid} v{version}: an empty method slot");
        }
        // Call Acquire (and maybe Release) through the table, as a child would.
        let mut copy = header;
        let word = |at: usize| usize::from_le_bytes(written[at..at + 8].try_into().expect("8"));
        // SAFETY: slots 0 and 1 of every table are Acquire and Release (checked in `served`),
        // written by the provider just above.
        let acquire: unsafe extern "C" fn(*mut InterfaceHeader) -> NtStatus =
            unsafe { std::mem::transmute(word(32)) };
        // SAFETY: as above.
        let release: unsafe extern "C" fn(*mut InterfaceHeader) =
            unsafe { std::mem::transmute(word(40)) };
        if r.bool() {
            // SAFETY: the interface is the caller's copy of the table's header.
            let status = unsafe { acquire(&raw mut copy) };
            if table.wired {
                assert_eq!(status, STATUS_SUCCESS);
                references += 1;
            } else {
                assert_eq!(status, STATUS_NOT_SUPPORTED);
            }
        }
        if r.bool() {
            // SAFETY: as above.
            unsafe { release(&raw mut copy) };
            if table.wired {
                references = references.saturating_sub(1);
            }
        }
        let range_set = xi::range_set::GUID_XENBUS_RANGE_SET_INTERFACE;
        assert_eq!(provider.references(&range_set), Some(references));
        if !table.wired {
            assert_eq!(provider.references(&guid), Some(0));
        }
    }
    assert_eq!(provider.references(&GUID_BUS_INTERFACE_STANDARD), None);
}

/// Seeds: each interface at MIN and MAX, a short buffer, a stale version.
#[must_use]
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let tables = served();
    let mut guids: Vec<Guid> = tables.iter().map(|t| t.guid).collect();
    guids.dedup();
    let mut every = Writer::new();
    for t in &tables {
        let g =
            u8::try_from(guids.iter().position(|g| *g == t.guid).expect("listed")).expect("few");
        // guid, no bit flip, version (small), size = table size, status, not null, align, acquire, release.
        every
            .u8(0)
            .u8(g)
            .u8(1)
            .u8(1)
            .u8(u8::try_from(t.version).expect("small"))
            .u8(1)
            .u8(4)
            .u8(0)
            .u8(1)
            .u8(3)
            .u8(1)
            .u8(1);
    }
    let mut edge = Writer::new();
    edge.u8(0)
        .u8(2)
        .u8(1)
        .u8(1)
        .u8(4)
        .u8(1)
        .u8(3)
        .u8(0)
        .u8(1)
        .u8(0);
    edge.u8(0)
        .u8(2)
        .u8(1)
        .u8(1)
        .u8(10)
        .u8(1)
        .u8(4)
        .u8(0)
        .u8(1)
        .u8(0);
    edge.u8(0)
        .u8(12)
        .u8(1)
        .u8(1)
        .u8(1)
        .u8(1)
        .u8(4)
        .u8(0)
        .u8(1)
        .u8(0);
    edge.u8(7)
        .u32(0x496B_8280)
        .u16(0x6F25)
        .u16(0x11D0)
        .u64(0)
        .u8(1)
        .u8(1)
        .u8(1)
        .u8(0)
        .u16(64)
        .u8(0)
        .u8(1)
        .u8(0);
    vec![("every-version", every.finish()), ("edges", edge.finish())]
}
