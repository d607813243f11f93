// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `evtchn_2l`: the 2-level event scan over a `shared_info` page Xen (the fuzzer) writes
//! (`xenbus::shared_info::SharedInfo`).
//!
//! Invariants:
//! * `new` accepts exactly the tables the docs describe: a registered `vcpu_info` must be
//!   8-aligned (else `Misaligned`), a vCPU without one uses the legacy slot below vCPU 32 and
//!   has none above, an unknown vCPU has none;
//! * a poll delivers exactly the model's ports in the model's order (one pass from the cursor
//!   word, wrapping; each selected word's `pending & !mask` in ascending bit order; each port
//!   at most once and always below 4096), takes the selector (it reads 0 afterwards), moves the
//!   cursor to the word after the last selected one, acks nothing, and touches no other byte
//!   of the page;
//! * ack/mask/unmask change exactly their bit (or refuse a port >= 4096 touching nothing);
//!   unmask reports the pending bit; `upcall_pending` takes the flag;
//! * `get_time` fails with `TimeUnstable` exactly when a version is odd (nothing changes the
//!   record meanwhile), with `NoVcpuInfo` when CPU 0 has no `vcpu_info`.

use std::mem::offset_of;

use xen_headers::xen::{SharedInfo as XenSharedInfo, VcpuInfo, VcpuTimeInfo};
use xenbus::shared_info::{ProcessorVcpu, SharedInfo, SharedInfoError};

use crate::input::{Reader, Writer};
use crate::page::SharedPages;

const PENDING: usize = offset_of!(XenSharedInfo, evtchn_pending);
const MASK: usize = offset_of!(XenSharedInfo, evtchn_mask);
const VCPU: usize = offset_of!(XenSharedInfo, vcpu_info);
const WC_VERSION: usize = offset_of!(XenSharedInfo, wc_version);
const VCPU_SIZE: usize = size_of::<VcpuInfo>();
const UPCALL: usize = offset_of!(VcpuInfo, evtchn_upcall_pending);
const SEL: usize = offset_of!(VcpuInfo, evtchn_pending_sel);
const TIME_VERSION: usize = offset_of!(VcpuInfo, time) + offset_of!(VcpuTimeInfo, version);

/// Where CPU `i`'s `vcpu_info` is in the model: (which pages, offset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Where {
    Page(usize),
    Registered(usize),
}

struct World {
    page: SharedPages,
    registered: SharedPages,
    vcpus: Vec<Option<Where>>,
    cursors: Vec<usize>,
}

impl World {
    fn pages(&self, w: Where) -> (&SharedPages, usize) {
        match w {
            Where::Page(o) => (&self.page, o),
            Where::Registered(o) => (&self.registered, o),
        }
    }

    fn word(&self, base: usize, word: usize) -> u64 {
        self.page.read::<u64>(base + word * 8)
    }
}

fn patch(r: &mut Reader<'_>, world: &World) {
    for _ in 0..r.below(6) {
        let target = r.below(8);
        match target {
            0..=3 => {
                // A bitmap word.
                let base = if target < 2 { PENDING } else { MASK };
                let word = usize::from(r.below(64));
                let value = match r.below(3) {
                    0 => u64::MAX,
                    1 => 1u64 << r.below(64),
                    _ => r.u64(),
                };
                world.page.write::<u64>(base + word * 8, value);
            }
            4 | 5 => {
                // A selector or upcall flag.
                if let Some(Some(w)) = world.vcpus.get(usize::from(r.below(4))).copied() {
                    let (pages, offset) = world.pages(w);
                    if target == 4 {
                        pages.write::<u64>(offset + SEL, r.u64());
                    } else {
                        pages.write::<u8>(offset + UPCALL, r.u8());
                    }
                }
            }
            _ => {
                // Any bytes anywhere in either page.
                let at = usize::from(r.u16()) % 4096;
                let bytes = r.short_bytes(32);
                if target == 6 {
                    world.page.write_bytes(at, bytes);
                } else {
                    world.registered.write_bytes(at, bytes);
                }
            }
        }
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut r = Reader::new(data);
    let page = SharedPages::new(1);
    let registered = SharedPages::new(1);
    let cpus = 1 + usize::from(r.below(4));
    let mut table = Vec::new();
    let mut vcpus = Vec::new();
    let mut misaligned = false;
    for _ in 0..cpus {
        let (entry, w) = match r.below(5) {
            0 => (
                ProcessorVcpu {
                    vcpu_id: None,
                    registered: None,
                },
                None,
            ),
            1 | 2 => {
                let id = u32::from(r.below(40));
                (
                    ProcessorVcpu {
                        vcpu_id: Some(id),
                        registered: None,
                    },
                    (id < 32).then(|| Where::Page(VCPU + id as usize * VCPU_SIZE)),
                )
            }
            _ => {
                let offset = usize::from(r.below(60)) * 64
                    + if r.below(8) == 0 {
                        usize::from(r.below(8))
                    } else {
                        0
                    };
                misaligned |= offset % 8 != 0;
                let ptr = registered.at(offset).cast::<VcpuInfo>();
                (
                    ProcessorVcpu {
                        vcpu_id: Some(u32::from(r.u8())),
                        registered: Some(ptr),
                    },
                    Some(Where::Registered(offset)),
                )
            }
        };
        table.push(entry);
        vcpus.push(w);
    }
    let world = World {
        page,
        registered,
        cursors: vec![0; cpus],
        vcpus,
    };
    patch(&mut r, &world);
    // SAFETY: the page and the registered area are ours, page-aligned, live for the view, and
    // touched otherwise only by this thread between the view's calls.
    let view = unsafe { SharedInfo::new(world.page.ptr(), &table) };
    if misaligned {
        assert_eq!(view.err(), Some(SharedInfoError::Misaligned));
        return;
    }
    let view = view.expect("an aligned table");
    let mut world = world;
    for cpu in 0..cpus as u32 + 1 {
        assert_eq!(
            view.upcall_supported(cpu),
            world.vcpus.get(cpu as usize).copied().flatten().is_some()
        );
    }
    let mut ops = 0;
    while !r.is_empty() && ops < 64 {
        ops += 1;
        match r.below(7) {
            0 | 1 => poll(&view, &mut world, r.below(5).into()),
            2 => patch(&mut r, &world),
            3 => {
                let port = if r.bool() {
                    u32::from(r.u16() % 4096)
                } else {
                    r.u32()
                };
                bit_op(&view, &world, port, r.below(3));
            }
            4 => {
                let cpu = u32::from(r.below(5));
                let flag = world.vcpus.get(cpu as usize).copied().flatten().map(|w| {
                    let (pages, offset) = world.pages(w);
                    pages.read::<u8>(offset + UPCALL)
                });
                assert_eq!(view.upcall_pending(cpu), flag.is_some_and(|f| f != 0));
                if let Some(w) = world.vcpus.get(cpu as usize).copied().flatten() {
                    let (pages, offset) = world.pages(w);
                    assert_eq!(pages.read::<u8>(offset + UPCALL), 0);
                }
            }
            5 => {
                let result = view.get_time(|| 0x1234_5678);
                match world.vcpus.first().copied().flatten() {
                    None => assert_eq!(result, Err(SharedInfoError::NoVcpuInfo)),
                    Some(w) => {
                        let (pages, offset) = world.pages(w);
                        let odd = world.page.read::<u32>(WC_VERSION) & 1 != 0
                            || pages.read::<u32>(offset + TIME_VERSION) & 1 != 0;
                        assert_eq!(result.is_err(), odd, "{result:?}");
                    }
                }
            }
            _ => {
                view.mask_all();
                for word in 0..64 {
                    assert_eq!(world.word(MASK, word), u64::MAX);
                }
            }
        }
    }
    for word in 0..70 {
        let debug = view.debug_word(word);
        if word < 64 {
            assert_eq!(
                debug,
                Some((world.word(PENDING, word), !world.word(MASK, word)))
            );
        } else {
            assert_eq!(debug, None);
        }
    }
}

fn poll(view: &SharedInfo, world: &mut World, cpu: u32) {
    let before = world.page.snapshot(0, 4096);
    let registered_before = world.registered.snapshot(0, 4096);
    let mut expected = Vec::new();
    let vcpu = world.vcpus.get(cpu as usize).copied().flatten();
    if let Some(w) = vcpu {
        let (pages, offset) = world.pages(w);
        let selector = pages.read::<u64>(offset + SEL);
        let cursor = world.cursors[cpu as usize];
        let mut last = None;
        for i in 0..64 {
            let word = (cursor + i) % 64;
            if selector & (1 << word) != 0 {
                let mut ports = world.word(PENDING, word) & !world.word(MASK, word);
                while ports != 0 {
                    expected.push(word as u32 * 64 + ports.trailing_zeros());
                    ports &= ports - 1;
                }
                last = Some(word);
            }
        }
        if let Some(last) = last {
            world.cursors[cpu as usize] = (last + 1) % 64;
        }
    }
    let mut seen = Vec::new();
    let result = view.evtchn_poll(cpu, |port| {
        seen.push(port);
        port % 3 == 0
    });
    assert_eq!(seen, expected, "poll of CPU {cpu}");
    assert_eq!(result, expected.iter().any(|p| p % 3 == 0));
    // Only the selector changed, to 0.
    let mut after = world.page.snapshot(0, 4096);
    let mut registered_after = world.registered.snapshot(0, 4096);
    if let Some(w) = vcpu {
        let (pages, offset) = world.pages(w);
        assert_eq!(pages.read::<u64>(offset + SEL), 0, "selector not taken");
        let (bytes, orig) = match w {
            Where::Page(_) => (&mut after, &before),
            Where::Registered(_) => (&mut registered_after, &registered_before),
        };
        bytes[offset + SEL..offset + SEL + 8]
            .copy_from_slice(&orig[offset + SEL..offset + SEL + 8]);
    }
    assert!(
        after == before && registered_after == registered_before,
        "poll wrote the page"
    );
}

fn bit_op(view: &SharedInfo, world: &World, port: u32, op: u8) {
    let before = world.page.snapshot(0, 4096);
    let result = match op {
        0 => view.evtchn_ack(port).map(|()| false),
        1 => view.evtchn_mask(port).map(|()| false),
        _ => view.evtchn_unmask(port),
    };
    if port >= 4096 {
        assert_eq!(result, Err(SharedInfoError::PortOutOfRange(port)));
        assert!(world.page.snapshot(0, 4096) == before);
        return;
    }
    let (word, bit) = (port as usize / 64, 1u64 << (port % 64));
    let pending = u64::from_le_bytes(before[PENDING + word * 8..][..8].try_into().expect("8"));
    let mask = u64::from_le_bytes(before[MASK + word * 8..][..8].try_into().expect("8"));
    match op {
        0 => assert_eq!(world.word(PENDING, word), pending & !bit),
        1 => assert_eq!(world.word(MASK, word), mask | bit),
        _ => {
            assert_eq!(world.word(MASK, word), mask & !bit);
            assert_eq!(result, Ok(pending & bit != 0));
        }
    }
    let mut after = world.page.snapshot(0, 4096);
    let at = if op == 0 { PENDING } else { MASK } + word * 8;
    after[at..at + 8].copy_from_slice(&before[at..at + 8]);
    assert!(after == before, "a bit operation wrote another word");
}

/// Seeds: one vCPU with pending ports in several words (the unit tests' fairness case), a
/// registered `vcpu_info`, and hostile selectors; then the `peer-xen-*` seeds, one per 2-level
/// state real Xen 4.17 left in the recording guest's memory (`peer_xen_seeds`).
#[must_use]
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut fair = Writer::new();
    fair.u8(0).u8(1).u8(0);
    fair.u8(5)
        .u8(0)
        .u8(0)
        .u8(5)
        .u8(0)
        .u8(3)
        .u8(0)
        .u8(0)
        .u8(63)
        .u8(4)
        .u8(0)
        .u64(0x8000_0000_0000_0009)
        .u8(1)
        .u8(1)
        .u8(0)
        .u8(3);
    fair.u8(0)
        .u8(0)
        .u8(3)
        .u8(1)
        .u16(64 * 3 + 5)
        .u8(2)
        .u8(0)
        .u8(0);
    let mut registered = Writer::new();
    registered.u8(1).u8(3).u8(2).u8(1).u8(4).u8(3).u8(0).u8(0);
    registered
        .u8(2)
        .u8(4)
        .u8(1)
        .u64(u64::MAX)
        .u8(0)
        .u8(1)
        .u8(5)
        .u8(6);
    let mut hostile = Writer::new();
    hostile
        .u8(3)
        .u8(1)
        .u8(35)
        .u8(3)
        .u8(59)
        .u8(7)
        .u8(1)
        .u8(0)
        .u8(3)
        .u8(6)
        .u16(0)
        .short_bytes(&[0xFF; 32])
        .u8(6)
        .u16(2048)
        .short_bytes(&[0xFF; 32])
        .u8(4)
        .u8(0)
        .u64(u64::MAX);
    for cpu in 0..5 {
        hostile.u8(0).u8(cpu);
    }
    hostile.u8(3).u8(0).u32(u32::MAX).u8(2);
    let mut out = vec![
        ("fair", fair.finish()),
        ("registered", registered.finish()),
        ("hostile", hostile.finish()),
    ];
    out.extend(peer_xen_seeds());
    out
}

/// One seed per `2l` state of the real-Xen transcripts (`XEN_STATES`): the processors are the
/// recording guest's vCPUs, each with its `vcpu_info` where the kernel had it (the legacy slot
/// of its vCPU id in `shared_info`, or the registered one at its offset in the registered
/// page); before the view is made, one patch writes the recorded bytes where Xen left them (the
/// first 32 bytes of the pending and mask bitmaps, ports 0 to 255, and the first 16 bytes of
/// each `vcpu_info`: `evtchn_upcall_pending`, `evtchn_upcall_mask`, padding and
/// `evtchn_pending_sel`); the rest of both pages stays 0, as the recorder did not keep it. Then
/// each vCPU polls (the scan over the real selector, pending and mask words) and takes its
/// upcall flag.
fn peer_xen_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    for state in xen_states("2l") {
        let pending = state.bytes("pending").expect("pending");
        let mask = state.bytes("mask").expect("mask");
        let vcpus: Vec<_> = (0..)
            .map_while(|v| state.located(&format!("vcpu{v}")))
            .collect();
        assert!((1..=4).contains(&vcpus.len()), "{}: vCPUs", state.seed);
        let mut w = Writer::new();
        w.u8(vcpus.len() as u8 - 1);
        for (v, &(place, offset, _)) in vcpus.iter().enumerate() {
            match place {
                "legacy" => {
                    assert_eq!(offset, VCPU + v * VCPU_SIZE, "{}", state.seed);
                    w.u8(1).u8(v as u8);
                }
                "registered" => {
                    assert!(
                        offset.is_multiple_of(64) && offset / 64 < 60,
                        "{}",
                        state.seed
                    );
                    w.u8(3).u8((offset / 64) as u8).u8(1).u8(v as u8);
                }
                other => panic!("{}: a vcpu_info {other}", state.seed),
            }
        }
        w.u8(2 + vcpus.len() as u8);
        w.u8(6).u16(PENDING as u16).short_bytes(&pending);
        w.u8(6).u16(MASK as u16).short_bytes(&mask);
        for &(place, offset, ref bytes) in &vcpus {
            let pages = if place == "legacy" { 6 } else { 7 };
            w.u8(pages).u16(offset as u16).short_bytes(bytes);
        }
        for v in 0..vcpus.len() as u8 {
            w.u8(0).u8(v);
        }
        for v in 0..vcpus.len() as u8 {
            w.u8(4).u8(v);
        }
        out.push((state.seed, w.finish()));
    }
    out
}

/// The event-channel and grant-table state real Xen 4.17 left in the recording guest's memory
/// after its hypercalls, one state a line, extracted from the golden transcripts
/// (`crates/xen-diff/data/*.xtr`) by `crates/xen-diff/examples/fuzz_seed_states.rs` (the file's
/// header says which frames and how to regenerate it). `evtchn_2l`, `evtchn_fifo` and
/// `gnttab_entry` build their `peer-xen-*` seeds from it.
const XEN_STATES: &str = include_str!("../../peer/xen-transcript-states.txt");

/// One state line of `XEN_STATES`: `<kind> <seed> <transcript>#<record> <call>` and its
/// `<field>=<bytes>` fields.
pub(crate) struct XenState {
    /// The seed's name (`peer-xen-<transcript>-<record>-<call>`).
    pub(crate) seed: &'static str,
    fields: Vec<(&'static str, &'static str)>,
}

impl XenState {
    /// The bytes of a plain field (`name=<hex>`).
    pub(crate) fn bytes(&self, name: &str) -> Option<Vec<u8>> {
        let (_, value) = self.fields.iter().find(|(n, _)| *n == name)?;
        Some(unhex(value))
    }

    /// A located field (`name=<place>@<offset>:<hex>`): the place, the offset and the bytes.
    pub(crate) fn located(&self, name: &str) -> Option<(&'static str, usize, Vec<u8>)> {
        let (_, value) = self.fields.iter().find(|(n, _)| *n == name)?;
        let (at, bytes) = value.split_once(':').expect("place@offset:bytes");
        let (place, offset) = at.split_once('@').expect("place@offset");
        let offset = offset.strip_prefix("0x").expect("a hex offset");
        let offset = usize::from_str_radix(offset, 16).expect("a hex offset");
        Some((place, offset, unhex(bytes)))
    }
}

/// Bytes spelled as hex, two digits a byte.
fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex {text}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digits"))
        .collect()
}

/// The states of `kind` (`2l`, `fifo`, `grant`) in `XEN_STATES`, in file order (at least one).
pub(crate) fn xen_states(kind: &str) -> Vec<XenState> {
    let states: Vec<XenState> = XEN_STATES
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let mut words = line.split(' ');
            let (k, seed, _source, _call) =
                (words.next()?, words.next()?, words.next()?, words.next()?);
            assert!(seed.starts_with("peer-xen-"), "seed {seed}");
            (k == kind).then(|| XenState {
                seed,
                fields: words
                    .map(|f| f.split_once('=').expect("field=bytes"))
                    .collect(),
            })
        })
        .collect();
    assert!(
        !states.is_empty(),
        "no {kind} state in the transcript states"
    );
    states
}
