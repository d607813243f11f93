// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Extracts, from the golden transcripts in `crates/xen-diff/data/`, the event-channel and
//! grant-table state real Xen 4.17 left in the recording guest's memory after its hypercalls:
//! `fuzz/peer/xen-transcript-states.txt`, from which the `evtchn_2l`, `evtchn_fifo` and
//! `gnttab_entry` fuzz targets build their `peer-xen-*` seeds.
//!
//! ```text
//! cargo run -p xen-diff --example fuzz_seed_states > fuzz/peer/xen-transcript-states.txt
//! ```
//!
//! A transcript's memory windows are named only by guest frame and offset; which frame is the
//! `shared_info` page, a registered `vcpu_info`, a FIFO control block, the first event-array
//! page or grant frame 0 is what the PVH test kernel's own successful setup calls say, so this
//! program follows them record by record ([`Layout`]):
//!
//! * `XENMEM_add_to_physmap` of `XENMAPSPACE_shared_info` puts `shared_info` at its `gpfn`
//!   (until `XENMEM_remove_from_physmap` of that frame); the 2-level pending and mask bitmaps
//!   are its windows at `evtchn_pending` and `evtchn_mask` (the recorder keeps 32 bytes of each:
//!   ports 0 to 255), and vCPU `v`'s `vcpu_info` is the 16-byte window at `64 * v` in it
//!   (`evtchn_upcall_pending`, `evtchn_upcall_mask`, padding, `evtchn_pending_sel`);
//! * `VCPUOP_register_vcpu_info` for vCPU `v` moves that `vcpu_info` to its `mfn` and `offset`;
//! * `EVTCHNOP_init_control` for vCPU `v` puts its FIFO control block (72 bytes: `ready`,
//!   reserved, 16 heads) at `control_gfn` and `offset` and switches the domain to the FIFO ABI,
//!   `EVTCHNOP_expand_array` gives the first event-array page (the recorder keeps its first 64
//!   bytes: ports 0 to 15), and `EVTCHNOP_reset` switches back to the 2-level ABI;
//! * `XENMEM_add_to_physmap` of `XENMAPSPACE_grant_table` index 0 puts grant frame 0 at its
//!   `gpfn`, whose first 128 bytes the recorder keeps (v1 entries 0 to 15), read as v1 entries
//!   while `GNTTABOP_set_version` last set version 1 (Xen's default).
//!
//! A state is what those windows held right after a call returned (the transcript's `a`
//! lines): what Xen wrote, and what the kernel itself wrote before the call (the grant entries
//! it filled, bits it acked or masked, FIFO words it consumed; with two vCPUs, vCPU 1's upcall
//! handler may have run meanwhile). It is a `2l` state while the domain is on the 2-level ABI,
//! a `fifo` state while it is on the FIFO ABI, a `grant` state while grant frame 0 is mapped. Each distinct state is written once, labelled with the
//! first record that left it; states whose every byte is 0 are left out (the targets start from
//! zeroed pages). The output is deterministic: the transcripts are compiled in.

#![allow(clippy::print_stdout)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::mem::{offset_of, size_of};

use xen_diff::Transcript;
use xen_diff::transcript::Record;
use xen_headers::event_channel::{
    EVTCHNOP_EXPAND_ARRAY, EVTCHNOP_INIT_CONTROL, EVTCHNOP_RESET, EvtchnFifoControlBlock,
};
use xen_headers::grant_table::{GNTTABOP_SET_VERSION, GrantEntryV1};
use xen_headers::memory::{
    XENMAPSPACE_GRANT_TABLE, XENMAPSPACE_SHARED_INFO, XENMEM_ADD_TO_PHYSMAP,
    XENMEM_REMOVE_FROM_PHYSMAP,
};
use xen_headers::vcpu::VCPUOP_REGISTER_VCPU_INFO;
use xen_headers::xen::{
    HYPERVISOR_EVENT_CHANNEL_OP, HYPERVISOR_GRANT_TABLE_OP, HYPERVISOR_MEMORY_OP,
    HYPERVISOR_VCPU_OP, SharedInfo, VcpuInfo, XEN_LEGACY_MAX_VCPUS,
};
use xen_transcript::layout;

/// The transcripts, in the order their states are taken: a short name, the file name and the
/// text.
const TRANSCRIPTS: [(&str, &str, &str); 2] = [
    (
        "1vcpu",
        "xen-4.17-pvh-dom0.xtr",
        include_str!("../data/xen-4.17-pvh-dom0.xtr"),
    ),
    (
        "2vcpu",
        "xen-4.17-pvh-dom0-2vcpu.xtr",
        include_str!("../data/xen-4.17-pvh-dom0-2vcpu.xtr"),
    ),
];

/// The kinds of state, in the order the output lists them.
const KINDS: [&str; 3] = ["2l", "fifo", "grant"];

/// Offset of the 2-level pending bitmap in `shared_info`.
const PENDING: usize = offset_of!(SharedInfo, evtchn_pending);
/// Offset of the 2-level mask bitmap.
const MASK: usize = offset_of!(SharedInfo, evtchn_mask);
/// Bytes of each bitmap the recorder keeps (`crates/xen-pvh-test/src/record.rs`).
const BITMAP_BYTES: usize = 32;
/// Bytes of a `vcpu_info` the recorder keeps: the event fields before `arch` and `time`.
const VCPU_INFO_BYTES: usize = 16;
/// Bytes of a FIFO control block (all of it).
const CONTROL_BYTES: usize = size_of::<EvtchnFifoControlBlock>();
/// Bytes of the first event-array page the recorder keeps (ports 0 to 15).
const WORDS_BYTES: usize = 64;
/// Bytes of grant frame 0 the recorder keeps (v1 entries 0 to 15).
const ENTRIES_BYTES: usize = 16 * size_of::<GrantEntryV1>();

/// What the recording guest's setup calls had made of its frames so far.
#[derive(Debug)]
struct Layout {
    /// The guest's domain id (`env domid`): `DOMID_SELF` or this names the guest itself.
    domid: u16,
    /// The frame `shared_info` is mapped at.
    shared_info: Option<u64>,
    /// Registered `vcpu_info`s by vCPU: frame and offset.
    registered: BTreeMap<u32, (u64, usize)>,
    /// The domain is on the FIFO ABI.
    fifo: bool,
    /// FIFO control blocks by vCPU: frame and offset.
    control: BTreeMap<u32, (u64, usize)>,
    /// The first event-array page.
    array: Option<u64>,
    /// The frame grant frame 0 is mapped at.
    grant_frame: Option<u64>,
    /// The grant table version.
    grant_version: u32,
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

fn offset(value: u32) -> usize {
    usize::try_from(value).expect("a 32-bit offset fits")
}

impl Layout {
    const fn new(domid: u16) -> Self {
        Self {
            domid,
            shared_info: None,
            registered: BTreeMap::new(),
            fifo: false,
            control: BTreeMap::new(),
            array: None,
            grant_frame: None,
            grant_version: 1,
        }
    }

    /// Whether `dom` names the recording guest.
    const fn is_self(&self, dom: u16) -> bool {
        dom == xen_headers::xen::DOMID_SELF || dom == self.domid
    }

    /// Follows `r` if it is a setup call that succeeded.
    fn after(&mut self, r: &Record) {
        if r.ret != Some(0) {
            return;
        }
        let Some(main) = r.main_in.as_deref() else {
            return;
        };
        let cmd = layout::command(r.op, &r.args.map(|a| usize::try_from(a).unwrap_or(0)));
        let is = |c: u32| usize::try_from(c).is_ok_and(|c| c == cmd);
        match r.op {
            HYPERVISOR_MEMORY_OP if is(XENMEM_ADD_TO_PHYSMAP) => {
                // struct xen_add_to_physmap: domid, size, space, idx, gpfn.
                let (Some(dom), Some(space), Some(idx), Some(gpfn)) = (
                    u16_at(main, 0),
                    u32_at(main, 4),
                    u64_at(main, 8),
                    u64_at(main, 16),
                ) else {
                    return;
                };
                if !self.is_self(dom) {
                    return;
                }
                if space == XENMAPSPACE_SHARED_INFO {
                    self.shared_info = Some(gpfn);
                } else if space == XENMAPSPACE_GRANT_TABLE && idx == 0 {
                    self.grant_frame = Some(gpfn);
                }
            }
            HYPERVISOR_MEMORY_OP if is(XENMEM_REMOVE_FROM_PHYSMAP) => {
                // struct xen_remove_from_physmap: domid, gpfn.
                let (Some(dom), Some(gpfn)) = (u16_at(main, 0), u64_at(main, 8)) else {
                    return;
                };
                if self.is_self(dom) {
                    if self.shared_info == Some(gpfn) {
                        self.shared_info = None;
                    }
                    if self.grant_frame == Some(gpfn) {
                        self.grant_frame = None;
                    }
                }
            }
            HYPERVISOR_VCPU_OP if is(VCPUOP_REGISTER_VCPU_INFO) => {
                // The vCPU is the second argument; struct vcpu_register_vcpu_info: mfn, offset.
                let (Ok(vcpu), Some(mfn), Some(off)) =
                    (u32::try_from(r.args[1]), u64_at(main, 0), u32_at(main, 8))
                else {
                    return;
                };
                self.registered.insert(vcpu, (mfn, offset(off)));
            }
            HYPERVISOR_EVENT_CHANNEL_OP if is(EVTCHNOP_INIT_CONTROL) => {
                // struct evtchn_init_control: control_gfn, offset, vcpu.
                let (Some(gfn), Some(off), Some(vcpu)) =
                    (u64_at(main, 0), u32_at(main, 8), u32_at(main, 12))
                else {
                    return;
                };
                self.control.insert(vcpu, (gfn, offset(off)));
                self.fifo = true;
            }
            // struct evtchn_expand_array: array_gfn. The first page accepted is page 0.
            HYPERVISOR_EVENT_CHANNEL_OP
                if is(EVTCHNOP_EXPAND_ARRAY) && self.fifo && self.array.is_none() =>
            {
                self.array = u64_at(main, 0);
            }
            // struct evtchn_reset: dom. Xen tears the FIFO ABI down: 2-level again.
            HYPERVISOR_EVENT_CHANNEL_OP
                if is(EVTCHNOP_RESET) && u16_at(main, 0).is_some_and(|dom| self.is_self(dom)) =>
            {
                self.fifo = false;
                self.control.clear();
                self.array = None;
            }
            HYPERVISOR_GRANT_TABLE_OP if is(GNTTABOP_SET_VERSION) => {
                if let Some(version) = u32_at(main, 0) {
                    self.grant_version = version;
                }
            }
            _ => {}
        }
    }
}

/// The lower-case hex of `bytes`, two digits a byte.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The window at `(gfn, off)` after the call, checked to be `len` bytes long.
fn window<'a>(
    after: &HashMap<(u64, usize), &'a [u8]>,
    gfn: u64,
    off: usize,
    len: usize,
) -> Option<&'a [u8]> {
    let bytes = *after.get(&(gfn, off))?;
    assert_eq!(
        bytes.len(),
        len,
        "window {gfn:#x}:{off:#x}: the recorder's sizes changed"
    );
    Some(bytes)
}

/// One state: its kind and its `key=value` fields (the data the dedup compares).
struct State {
    kind: &'static str,
    fields: Vec<String>,
    all_zero: bool,
}

/// The 2-level state after `r`: the bitmaps and each vCPU's `vcpu_info`, vCPU 0 up to the first
/// whose window is not recorded (a vCPU not up yet).
fn two_level(l: &Layout, vcpus: u32, after: &HashMap<(u64, usize), &[u8]>) -> Option<State> {
    if l.fifo {
        return None;
    }
    let si = l.shared_info?;
    let pending = window(after, si, PENDING, BITMAP_BYTES)?;
    let mask = window(after, si, MASK, BITMAP_BYTES)?;
    let mut fields = vec![
        format!("pending={}", hex(pending)),
        format!("mask={}", hex(mask)),
    ];
    let mut all_zero = pending.iter().chain(mask).all(|&b| b == 0);
    for v in 0..vcpus {
        let (place, gfn, off) = match l.registered.get(&v) {
            Some(&(gfn, off)) => ("registered", gfn, off),
            None if usize::try_from(v).is_ok_and(|v| v < XEN_LEGACY_MAX_VCPUS) => {
                ("legacy", si, offset(v) * size_of::<VcpuInfo>())
            }
            None => break,
        };
        let Some(bytes) = window(after, gfn, off, VCPU_INFO_BYTES) else {
            break;
        };
        fields.push(format!("vcpu{v}={place}@{off:#x}:{}", hex(bytes)));
        all_zero &= bytes.iter().all(|&b| b == 0);
    }
    (fields.len() > 2).then_some(State {
        kind: "2l",
        fields,
        all_zero,
    })
}

/// The FIFO state after `r`: the first event words and each vCPU's control block, vCPU 0 up to
/// the first without one.
fn fifo(l: &Layout, after: &HashMap<(u64, usize), &[u8]>) -> Option<State> {
    if !l.fifo {
        return None;
    }
    let words = window(after, l.array?, 0, WORDS_BYTES)?;
    let mut fields = vec![format!("words={}", hex(words))];
    let mut all_zero = words.iter().all(|&b| b == 0);
    for v in 0.. {
        let Some(&(gfn, off)) = l.control.get(&v) else {
            break;
        };
        let Some(bytes) = window(after, gfn, off, CONTROL_BYTES) else {
            break;
        };
        fields.push(format!("control{v}={}", hex(bytes)));
        all_zero &= bytes.iter().all(|&b| b == 0);
    }
    (fields.len() > 1).then_some(State {
        kind: "fifo",
        fields,
        all_zero,
    })
}

/// The grant state after `r`: the first v1 entries of grant frame 0.
fn grant(l: &Layout, after: &HashMap<(u64, usize), &[u8]>) -> Option<State> {
    if l.grant_version != 1 {
        return None;
    }
    let entries = window(after, l.grant_frame?, 0, ENTRIES_BYTES)?;
    Some(State {
        kind: "grant",
        fields: vec![format!("entries={}", hex(entries))],
        all_zero: entries.iter().all(|&b| b == 0),
    })
}

/// The seed name's call part: the command, as `xen_diff::names` spells it.
fn command_name(call: &str) -> String {
    let inner = call
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or(call);
    inner
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The file's header: where the states come from, how to regenerate them, what a line says.
fn header() {
    println!(
        "# The event-channel and grant-table state real Xen 4.17 left in a guest's memory after\n\
         # its hypercalls, taken from the golden transcripts in crates/xen-diff/data/ (the PVH\n\
         # test kernel's suite as dom0 of Debian's Xen 4.17 under QEMU; docs/sim-vs-xen.md):"
    );
    for (name, file, text) in TRANSCRIPTS {
        let t = Transcript::parse(text).expect("a golden transcript parses");
        println!(
            "#   {name} = {file} ({} records, vCPUs: {})",
            t.records.len(),
            t.vcpus
        );
    }
    println!(
        "# Regenerate (from the repository root):\n\
         #   cargo run -p xen-diff --example fuzz_seed_states > fuzz/peer/xen-transcript-states.txt\n\
         # then `cargo run --example seeds` in fuzz/ (the evtchn_2l, evtchn_fifo and\n\
         # gnttab_entry targets build their peer-xen-* seeds from this file).\n\
         #\n\
         # Which frame is which comes from the kernel's own successful setup calls:\n\
         #   shared_info: XENMEM_add_to_physmap(XENMAPSPACE_shared_info) until it is removed;\n\
         #     pending/mask: its bitmaps at {PENDING:#x}/{MASK:#x}, the first {BITMAP_BYTES} bytes (ports 0-255);\n\
         #     vcpu<v>: vCPU v's vcpu_info, first {VCPU_INFO_BYTES} bytes (upcall_pending, upcall_mask, pad,\n\
         #     evtchn_pending_sel), `legacy` at 64*v in shared_info or `registered` where\n\
         #     VCPUOP_register_vcpu_info put it, @ its offset in that page;\n\
         #   control<v>: vCPU v's FIFO control block ({CONTROL_BYTES} bytes: ready, rsvd, head[16]), from\n\
         #     EVTCHNOP_init_control; words: the first {WORDS_BYTES} bytes (ports 0-15) of the event-array\n\
         #     page of the first EVTCHNOP_expand_array; FIFO from init_control until EVTCHNOP_reset;\n\
         #   entries: the first {ENTRIES_BYTES} bytes (v1 entries 0-15: flags, domid, frame) of grant\n\
         #     frame 0, XENMEM_add_to_physmap(XENMAPSPACE_grant_table, 0), while the table is v1.\n\
         # A state is what those windows held right after a call returned (the recorder's `a`\n\
         # lines): Xen's writes and what the kernel itself wrote before the call (grant entries it\n\
         # filled, bits it acked or masked, FIFO words it consumed; with two vCPUs, vCPU 1's upcall\n\
         # handler may have run meanwhile). `2l` on the 2-level ABI, `fifo` on the FIFO ABI. Each\n\
         # distinct state once, at the first record that left it; states whose every byte is 0 are\n\
         # left out. Bytes are hex, in memory order (little-endian words).\n\
         #\n\
         # <kind> <seed name> <transcript>#<record> <call> <field>=<bytes>... (grouped by kind)"
    );
}

fn main() {
    header();
    let mut seen = HashSet::new();
    let mut lines: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (name, _, text) in TRANSCRIPTS {
        let t = Transcript::parse(text).expect("a golden transcript parses");
        let mut l = Layout::new(t.domid);
        for r in &t.records {
            l.after(r);
            let after: HashMap<(u64, usize), &[u8]> = r
                .post
                .iter()
                .map(|w| ((w.gfn, w.off), w.bytes.as_slice()))
                .collect();
            let regs = r.args.map(|a| usize::try_from(a).unwrap_or(usize::MAX));
            let call = xen_diff::names::call(r.op, layout::command(r.op, &regs));
            let states = [
                two_level(&l, t.vcpus, &after),
                fifo(&l, &after),
                grant(&l, &after),
            ];
            for state in states.into_iter().flatten() {
                if state.all_zero || !seen.insert((state.kind, state.fields.join(" "))) {
                    continue;
                }
                let group = KINDS.iter().position(|&k| k == state.kind).unwrap_or(0);
                lines.entry(group).or_default().push(format!(
                    "{} peer-xen-{name}-{}-{} {name}#{} {call} {}",
                    state.kind,
                    r.seq,
                    command_name(&call),
                    r.seq,
                    state.fields.join(" ")
                ));
            }
        }
    }
    for line in lines.values().flatten() {
        println!("{line}");
    }
}
