// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Replaying a transcript against the simulator and comparing every observation.
//!
//! For each record: the guest memory windows are set to what they held on real Xen just before
//! the call (the guest writes some of them itself: acknowledged pending bits, masks, FIFO words,
//! grant entries, page contents), the argument structures are rebuilt in host memory from the
//! recorded input bytes (guest handles inside them re-pointed at host copies of their arrays),
//! the call is made on the simulator's vCPU 0, and the return value, the structures and the
//! windows after the call are compared with real Xen's, after the normalizations of
//! [`crate::normalize`]. Guest frame numbers are the recorded ones: the simulator is given RAM
//! at the same frames first.

use crate::normalize::{self, Environment, Ignore, Tracker};
use crate::transcript::{Record, Transcript, Window};
use std::fmt::Write as _;
use xen::hypercall::Hypervisor;
use xen_headers::xen::DOMID_SELF;
use xen_sim::{Sim, SimConfig, SimVcpu};
use xen_transcript::layout;

/// One observation where the simulator disagrees with real Xen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// The record's index in the transcript.
    pub seq: u32,
    /// The call, e.g. `event_channel_op(send)`.
    pub call: String,
    /// What was compared: `return`, `argument`, `array`, `memory <gfn>:<off>`, `pre-state`.
    pub what: String,
    /// Real Xen's value.
    pub expected: String,
    /// The simulator's value.
    pub got: String,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "#{} {} {}: xen {} / sim {}",
            self.seq, self.call, self.what, self.expected, self.got
        )
    }
}

/// The outcome of a replay.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Hypercalls replayed.
    pub replayed: usize,
    /// Every divergence, in transcript order.
    pub divergences: Vec<Divergence>,
    /// What was set up before the replay (environment calibration), one line each.
    pub setup: Vec<String>,
}

impl Report {
    /// The summary: `N hypercalls replayed, D divergences`.
    #[must_use]
    pub fn summary(&self) -> String {
        format!(
            "{} hypercalls replayed, {} divergences",
            self.replayed,
            self.divergences.len()
        )
    }
}

/// Frames given to the simulator to bring its reservation up to the recorded one start here
/// (far above anything the recording guest used).
const FILLER_GFN: u64 = 0x10_0000;

fn config(env: &Environment) -> SimConfig {
    SimConfig {
        vcpus: env.vcpus,
        max_grant_frames: 64,
        domid: env.domid,
        backend_domid: u16::from(env.domid == 0),
        // The hardware domain has no configured limit; the ABI's own limit applies.
        max_evtchn_port: u32::try_from(i32::MAX).unwrap_or(u32::MAX),
        max_pages: env.max_pages,
        pvh: true,
        extra_version: env.extra_version.clone(),
        features: env.features,
        guest_console_io: true,
        toolstack: false,
        // A PVH domain's secondary vCPUs start down until VCPUOP_initialise and VCPUOP_up.
        secondary_vcpus_up: false,
        wait_limit: std::time::Duration::from_millis(200),
        ..SimConfig::default()
    }
}

/// Brings a new simulator (made without a toolstack: the hardware domain has no store or
/// console) to the recording guest's starting point: RAM at the frames the suite uses, and the
/// recorded reservation.
fn set_up(sim: &Sim, vcpu: &SimVcpu, t: &Transcript, env: &Environment) -> Vec<String> {
    let mut notes = Vec::new();
    let mut ram: Vec<u64> = t
        .ram
        .iter()
        .copied()
        .filter(|&gfn| !sim.is_populated(gfn))
        .collect();
    if !ram.is_empty() {
        // SAFETY: the frames are new guest RAM nothing refers to yet.
        let done = unsafe { xen::memory::populate_physmap(vcpu, 0, &mut ram) };
        notes.push(format!("populated {} suite frames: {done:?}", ram.len()));
    }
    if let Some(want) = env.reservation {
        let have = xen::memory::current_reservation(vcpu, DOMID_SELF).unwrap_or(0);
        if have < want {
            let mut filler: Vec<u64> = (0..want - have).map(|i| FILLER_GFN + i).collect();
            // SAFETY: as above.
            let done = unsafe { xen::memory::populate_physmap(vcpu, 0, &mut filler) };
            notes.push(format!(
                "reservation {have} -> {want} pages with filler frames: {done:?}"
            ));
        }
    }
    notes
}

/// Host copies of a call's argument structures.
struct Args {
    regs: [usize; 5],
    main: Vec<u64>,
    main_len: usize,
    nested: Vec<u64>,
    nested_len: usize,
    handle_at: Option<usize>,
    /// Byte ranges of the main structure rewritten for the replay (not compared).
    rewritten: Vec<std::ops::Range<usize>>,
}

fn words(bytes: &[u8]) -> Vec<u64> {
    let mut v = vec![0_u64; bytes.len().div_ceil(8).max(1)];
    for (i, b) in bytes.iter().enumerate() {
        v[i / 8] |= u64::from(*b) << (8 * (i % 8));
    }
    v
}

fn bytes_of(words: &[u64], len: usize) -> Vec<u8> {
    words
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .take(len)
        .collect()
}

impl Args {
    fn build(r: &Record, sim: &Sim) -> Self {
        let mut regs = r.args.map(|a| usize::try_from(a).unwrap_or(usize::MAX));
        let region = layout::main_region(r.op, &regs);
        let mut a = Self {
            regs,
            main: Vec::new(),
            main_len: 0,
            nested: Vec::new(),
            nested_len: 0,
            handle_at: None,
            rewritten: Vec::new(),
        };
        let (Some(region), Some(main_in)) = (region, &r.main_in) else {
            return a;
        };
        let mut main = main_in.clone();
        if let Some(nested_in) = &r.nested_in
            && let Some(n) = layout::nested_region(r.op, &regs, main_in)
        {
            a.nested = words(nested_in);
            a.nested_len = nested_in.len();
            a.handle_at = Some(n.handle_at);
            let host = a.nested.as_mut_ptr().expose_provenance() as u64;
            if let Some(slot) = main.get_mut(n.handle_at..n.handle_at + 8) {
                slot.copy_from_slice(&host.to_le_bytes());
            }
        }
        for (at, value) in normalize::time_fields(r, &main, sim.now_ns()) {
            if let Some(slot) = main.get_mut(at..at + 8) {
                slot.copy_from_slice(&value.to_le_bytes());
                a.rewritten.push(at..at + 8);
            }
        }
        a.main = words(&main);
        a.main_len = main.len();
        regs[region.arg] = a.main.as_mut_ptr().expose_provenance();
        a.regs = regs;
        a
    }

    fn main_out(&self) -> Vec<u8> {
        bytes_of(&self.main, self.main_len)
    }

    fn nested_out(&self) -> Vec<u8> {
        bytes_of(&self.nested, self.nested_len)
    }
}

/// What the simulator's guest memory holds at a window (all-ones where no page backs the frame,
/// as real Xen reads an unbacked frame).
fn read_window(sim: &Sim, w: &Window) -> Vec<u8> {
    sim.host_ptr(w.gfn).map_or_else(
        || vec![0xff; w.bytes.len()],
        |page| {
            (0..w.bytes.len())
                .map(|i| {
                    let p = page.wrapping_add(w.off + i);
                    // SAFETY: the simulator's pages are 4 KiB and outlive it; windows stay
                    // inside one page (offset + length <= 4096, checked by the caller).
                    unsafe { p.read_volatile() }
                })
                .collect()
        },
    )
}

fn in_page(w: &Window) -> bool {
    w.off
        .checked_add(w.bytes.len())
        .is_some_and(|end| end <= 4096)
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::new();
    xen_transcript::hex::encode(bytes, &mut |c| s.push(char::from(c)));
    s
}

/// The first differing byte (ignoring `ignore`'s bits), shown with 8 bytes of context.
fn differ(want: &[u8], got: &[u8], ignore: &Ignore) -> Option<(String, String)> {
    if want.len() != got.len() {
        return Some((
            format!("{} bytes {}", want.len(), hex(want)),
            format!("{} bytes {}", got.len(), hex(got)),
        ));
    }
    let first = (0..want.len()).find(|&i| (want[i] ^ got[i]) & !ignore.bits(i) != 0)?;
    let end = (first + 8).min(want.len());
    let mut w = String::new();
    let mut g = String::new();
    let _ = write!(w, "[{first:#x}..] {}", hex(&want[first..end]));
    let _ = write!(g, "[{first:#x}..] {}", hex(&got[first..end]));
    Some((w, g))
}

/// Replays `t` against a new simulator.
#[must_use]
pub fn replay(t: &Transcript) -> Report {
    let env = Environment::from_transcript(t);
    let sim = Sim::new(config(&env));
    let vcpus: Vec<SimVcpu> = (0..env.vcpus).map(|v| sim.vcpu(v)).collect();
    let Some(vcpu) = vcpus.first() else {
        return Report::default();
    };
    let mut report = Report {
        setup: env.describe(),
        ..Report::default()
    };
    report.setup.extend(set_up(&sim, vcpu, t, &env));
    let mut tracker = Tracker::default();
    for r in &t.records {
        let Some(vcpu) = usize::try_from(r.cpu).ok().and_then(|c| vcpus.get(c)) else {
            report.divergences.push(Divergence {
                seq: r.seq,
                call: format!("hypercall {}", r.op),
                what: "record".into(),
                expected: format!("vCPU {}", r.cpu),
                got: format!("only {} vCPUs", env.vcpus),
            });
            continue;
        };
        replay_one(r, &sim, vcpu, &mut tracker, &mut report);
    }
    report
}

fn replay_one(r: &Record, sim: &Sim, vcpu: &SimVcpu, tracker: &mut Tracker, report: &mut Report) {
    let regs = r.args.map(|a| usize::try_from(a).unwrap_or(usize::MAX));
    let call = crate::names::call(r.op, layout::command(r.op, &regs));
    let mut diverge = |what: String, expected: String, got: String| {
        report.divergences.push(Divergence {
            seq: r.seq,
            call: call.clone(),
            what,
            expected,
            got,
        });
    };
    let Some(want_ret) = r.ret else {
        diverge(
            "record".into(),
            "complete".into(),
            "no return value recorded".into(),
        );
        return;
    };
    for w in r.pre.iter().filter(|w| in_page(w)) {
        match sim.host_ptr(w.gfn) {
            Some(page) => {
                for (i, b) in w.bytes.iter().enumerate() {
                    let p = page.wrapping_add(w.off + i);
                    // SAFETY: as `read_window`.
                    unsafe { p.write_volatile(*b) };
                }
            }
            None if w.bytes.iter().all(|&b| b == 0xff) => {}
            None => diverge(
                format!("pre-state {:#x}:{:#x}", w.gfn, w.off),
                "guest memory".into(),
                "no frame".into(),
            ),
        }
    }
    let regs_layout = layout::main_region(r.op, &regs);
    if let Some(region) = regs_layout
        && regs.get(region.arg).is_some_and(|&a| a != 0)
        && r.main_in.is_none()
    {
        // The call points at a structure the transcript does not hold (recorded by an older
        // recorder): replaying it would hand the simulator a pointer into the recording guest.
        diverge(
            "record".into(),
            "argument bytes".into(),
            "not recorded: call not replayed".into(),
        );
        return;
    }
    let args = Args::build(r, sim);
    // SAFETY: every pointer argument now points at host copies owned by `args` (sized as the
    // layout table says), and guest frames named inside them are the simulator's own frames.
    let ret = unsafe { vcpu.hypercall(r.op, &args.regs) };
    report.replayed += 1;
    let ret = i64::try_from(ret).unwrap_or(i64::MIN);
    if ret != want_ret {
        diverge("return".into(), want_ret.to_string(), ret.to_string());
    }
    if let Some(want) = &r.main_out {
        let got = args.main_out();
        let mut ignore = normalize::argument_ignore(r, want.len());
        if let Some(at) = args.handle_at {
            ignore.bytes(at..at + 8);
        }
        for range in &args.rewritten {
            ignore.bytes(range.clone());
        }
        if let Some((e, g)) = differ(want, &got, &ignore) {
            diverge("argument".into(), e, g);
        }
    }
    if let Some(want) = &r.nested_out
        && let Some((e, g)) = differ(want, &args.nested_out(), &Ignore::new(want.len()))
    {
        diverge("array".into(), e, g);
    }
    for w in r.post.iter().filter(|w| in_page(w)) {
        let got = read_window(sim, w);
        let ignore = normalize::window_ignore(r, w, tracker);
        if let Some((e, g)) = differ(&w.bytes, &got, &ignore) {
            diverge(format!("memory {:#x}:{:#x}", w.gfn, w.off), e, g);
        }
    }
    tracker.after(r);
}
