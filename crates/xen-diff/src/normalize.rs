// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The explicit list of what is not compared bit for bit, and why. Nothing else is skipped.
//!
//! **Environment calibration** (values the simulator is configured with, taken from the
//! transcript, because they describe the machine rather than Xen's logic; the calls that
//! returned them are still replayed and compared):
//! - `XENMEM_maximum_reservation(DOMID_SELF)` -> `SimConfig::max_pages`;
//! - `XENMEM_current_reservation(DOMID_SELF)` (first call) -> the simulator gets filler RAM
//!   frames until its reservation is the same;
//! - `XENVER_extraversion` -> `SimConfig::extra_version` (the Xen build's patch level);
//! - `XENVER_get_features(0)` -> `SimConfig::features` (what this Xen build and domain type
//!   offer);
//! - the domain id (`env domid`), one vCPU, PVH, 64 grant frames (Xen's default), no event
//!   channel limit beyond the ABI's (the hardware domain has none), `CONSOLEIO_write` allowed.
//!
//! **Time** (Xen system time differs between the two runs):
//! - T1: absolute deadlines in arguments (`VCPUOP_set_singleshot_timer.timeout_abs_ns`, a
//!   non-zero `SCHEDOP_poll.timeout`) are moved by (simulator now - Xen time of the record), so
//!   they lie as far in the future as they did on Xen; those argument bytes are not compared.
//! - T2: while a `VIRQ_TIMER` port is bound (from its `bind_virq` to its `close` or an
//!   `EVTCHNOP_reset`), the timer fires whenever its deadline passes on either side: that
//!   port's pending bit, its `evtchn_pending_sel` bit and `evtchn_upcall_pending` are not
//!   compared after a call.
//! - T3: after `SCHEDOP_block` (which the suite issues with interrupts enabled, so its upcall
//!   handler may run before the recorder's snapshot on Xen) the event windows (2-level bitmaps,
//!   `vcpu_info`, FIFO words) are not compared; its return value is.
//!
//! - T4 (two vCPUs): vCPU 1 takes its events in its upcall handler while vCPU 0 records, on
//!   another host thread under QEMU. The pending bits of ports bound to vCPU 1 (followed through
//!   `bind_ipi`, `bind_vcpu`, `close` and `reset`) and vCPU 1's `vcpu_info` event fields are not
//!   compared after a call. Return codes, structures and everything else are.
//!
//! **Machine-dependent values**:
//! - M1: `GNTTABOP_map_grant_ref.dev_bus_addr` is the machine address of the granted frame on
//!   the recording host (Xen 4.17 fills it in for a PVH dom0); the simulator has no machine
//!   addresses. Not compared.
//! - M2: the contents of a frame `XENMEM_populate_physmap` has just populated are whatever page
//!   Xen's allocator handed out (Xen does not scrub pages a live domain freed: on the recording
//!   run the frame came back with the bytes it had before `decrease_reservation`). Not compared
//!   for the frames the call populated; its return value, extent array and every other window
//!   are.
//!
//! **Replay mechanics**: guest handles inside argument structures point at host copies, so the
//! handle bytes are not compared (the arrays they point to are).

use crate::transcript::{Record, Transcript, Window};
use std::ops::Range;
use xen_headers::event_channel::{
    EVTCHNOP_BIND_IPI, EVTCHNOP_BIND_VCPU, EVTCHNOP_BIND_VIRQ, EVTCHNOP_CLOSE, EVTCHNOP_RESET,
};
use xen_headers::grant_table::GNTTABOP_MAP_GRANT_REF;
use xen_headers::memory::{
    XENMEM_CURRENT_RESERVATION, XENMEM_MAXIMUM_RESERVATION, XENMEM_POPULATE_PHYSMAP,
};
use xen_headers::sched::{SCHEDOP_BLOCK, SCHEDOP_POLL};
use xen_headers::vcpu::VCPUOP_SET_SINGLESHOT_TIMER;
use xen_headers::version::{XENVER_EXTRAVERSION, XENVER_GET_FEATURES};
use xen_headers::xen::{
    DOMID_SELF, HYPERVISOR_EVENT_CHANNEL_OP, HYPERVISOR_GRANT_TABLE_OP, HYPERVISOR_MEMORY_OP,
    HYPERVISOR_SCHED_OP, HYPERVISOR_VCPU_OP, HYPERVISOR_XEN_VERSION, VIRQ_TIMER,
};
use xen_transcript::layout::MEMOP_CMD_MASK;

/// Offset of `evtchn_pending` in `shared_info` (after 32 `vcpu_info`s).
const PENDING_OFF: usize = 0x800;
/// Offset of `evtchn_mask`.
const MASK_OFF: usize = 0xa00;
/// Bytes the recorder takes of each bitmap.
const BITMAP_LEN: usize = 32;
/// Bytes the recorder takes of a `vcpu_info`.
const VCPU_INFO_LEN: usize = 16;
/// FIFO windows: the control block and the first event words.
const FIFO_LENS: [usize; 2] = [72, 64];

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

fn is(r: &Record, op: u32, cmd: u32) -> bool {
    let mask = if op == HYPERVISOR_MEMORY_OP {
        MEMOP_CMD_MASK as u64
    } else {
        u64::MAX
    };
    r.op == op && r.args[0] & mask == u64::from(cmd)
}

/// The recording machine, as far as the simulator must be told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Environment {
    /// The guest's domain id.
    pub domid: u16,
    /// `XENMEM_maximum_reservation`.
    pub max_pages: u64,
    /// vCPUs of the recording guest.
    pub vcpus: u32,
    /// The first `XENMEM_current_reservation`.
    pub reservation: Option<u64>,
    /// `XENVER_extraversion`.
    pub extra_version: String,
    /// `XENVER_get_features` submap 0.
    pub features: u32,
    /// Records each value came from.
    sources: Vec<String>,
}

impl Environment {
    /// Reads the calibrated values from the transcript's own records.
    #[must_use]
    pub fn from_transcript(t: &Transcript) -> Self {
        let mut env = Self {
            domid: t.domid,
            vcpus: t.vcpus.max(1),
            max_pages: 262_144,
            reservation: None,
            extra_version: String::new(),
            features: 0,
            sources: Vec::new(),
        };
        let self_domid = DOMID_SELF.to_le_bytes();
        let ok = |r: &Record| r.ret.filter(|&v| v >= 0);
        let mut seen = [false; 4];
        for r in &t.records {
            let own = r.main_in.as_deref() == Some(&self_domid[..]);
            if !seen[0] && is(r, HYPERVISOR_MEMORY_OP, XENMEM_MAXIMUM_RESERVATION) && own {
                if let Some(v) = ok(r) {
                    env.max_pages = v.unsigned_abs();
                    env.sources.push(format!("max_pages {v} from #{}", r.seq));
                    seen[0] = true;
                }
            } else if !seen[1] && is(r, HYPERVISOR_MEMORY_OP, XENMEM_CURRENT_RESERVATION) && own {
                if let Some(v) = ok(r) {
                    env.reservation = Some(v.unsigned_abs());
                    env.sources.push(format!("reservation {v} from #{}", r.seq));
                    seen[1] = true;
                }
            } else if !seen[2]
                && is(r, HYPERVISOR_XEN_VERSION, XENVER_EXTRAVERSION)
                && ok(r).is_some()
                && let Some(out) = &r.main_out
            {
                let end = out.iter().position(|&b| b == 0).unwrap_or(out.len());
                env.extra_version = String::from_utf8_lossy(&out[..end]).into_owned();
                env.sources.push(format!(
                    "extra_version {:?} from #{}",
                    env.extra_version, r.seq
                ));
                seen[2] = true;
            } else if !seen[3]
                && is(r, HYPERVISOR_XEN_VERSION, XENVER_GET_FEATURES)
                && ok(r).is_some()
                && r.main_in.as_deref().and_then(|m| u32_at(m, 0)) == Some(0)
                && let Some(f) = r.main_out.as_deref().and_then(|m| u32_at(m, 4))
            {
                env.features = f;
                env.sources.push(format!("features {f:#x} from #{}", r.seq));
                seen[3] = true;
            }
        }
        env
    }

    /// One line per calibrated value.
    #[must_use]
    pub fn describe(&self) -> Vec<String> {
        let mut lines = vec![format!("domid {}, {} vCPUs", self.domid, self.vcpus)];
        lines.extend(self.sources.iter().cloned());
        lines
    }
}

/// State the normalizations follow through the transcript.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    /// The port bound to `VIRQ_TIMER`, while one is.
    pub timer_port: Option<u32>,
    /// Ports bound to vCPU 1.
    pub on_vcpu1: std::collections::BTreeSet<u32>,
}

impl Tracker {
    /// Follows a replayed record (with real Xen's results).
    pub fn after(&mut self, r: &Record) {
        if r.ret != Some(0) {
            return;
        }
        let main_in = r.main_in.as_deref().unwrap_or_default();
        let main_out = r.main_out.as_deref().unwrap_or_default();
        if is(r, HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_BIND_IPI) {
            // struct evtchn_bind_ipi: vcpu, then the port Xen returns.
            if u32_at(main_in, 0) == Some(1)
                && let Some(port) = u32_at(main_out, 4)
            {
                self.on_vcpu1.insert(port);
            }
        } else if is(r, HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_BIND_VCPU) {
            // struct evtchn_bind_vcpu: port, vcpu.
            if let (Some(port), Some(vcpu)) = (u32_at(main_in, 0), u32_at(main_in, 4)) {
                if vcpu == 1 {
                    self.on_vcpu1.insert(port);
                } else {
                    self.on_vcpu1.remove(&port);
                }
            }
        } else if is(r, HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_CLOSE)
            && let Some(port) = u32_at(main_in, 0)
        {
            self.on_vcpu1.remove(&port);
        } else if is(r, HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_RESET) {
            self.on_vcpu1.clear();
        }
        if is(r, HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_BIND_VIRQ)
            && u32_at(main_in, 0) == Some(VIRQ_TIMER)
        {
            self.timer_port = r.main_out.as_deref().and_then(|m| u32_at(m, 8));
        } else if is(r, HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_RESET)
            || (is(r, HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_CLOSE)
                && self.timer_port.is_some()
                && u32_at(main_in, 0) == self.timer_port)
        {
            self.timer_port = None;
        }
    }
}

/// T1: the absolute deadlines of `r`'s main structure, moved into the simulator's time:
/// `(byte offset, new value)`.
#[must_use]
pub fn time_fields(r: &Record, main: &[u8], sim_now: u64) -> Vec<(usize, u64)> {
    let at = if is(r, HYPERVISOR_VCPU_OP, VCPUOP_SET_SINGLESHOT_TIMER) {
        0
    } else if is(r, HYPERVISOR_SCHED_OP, SCHEDOP_POLL) {
        16
    } else {
        return Vec::new();
    };
    let Some(deadline) = u64_at(main, at) else {
        return Vec::new();
    };
    if deadline == 0 || r.time == 0 {
        return Vec::new();
    }
    let moved = i128::from(deadline) - i128::from(r.time) + i128::from(sim_now);
    vec![(at, u64::try_from(moved.max(0)).unwrap_or(u64::MAX))]
}

/// Bits of a window (or structure) not compared: one mask byte per byte.
#[derive(Clone, Debug)]
pub struct Ignore(Vec<u8>);

impl Ignore {
    /// Nothing ignored in `len` bytes.
    #[must_use]
    pub fn new(len: usize) -> Self {
        Self(vec![0; len])
    }

    /// The ignored bits of byte `i`.
    #[must_use]
    pub fn bits(&self, i: usize) -> u8 {
        self.0.get(i).copied().unwrap_or(0)
    }

    /// Ignores whole bytes.
    pub fn bytes(&mut self, range: Range<usize>) {
        for i in range {
            if let Some(b) = self.0.get_mut(i) {
                *b = 0xff;
            }
        }
    }

    /// Ignores bit `bit` of a little-endian bitmap starting at byte 0.
    pub fn bit(&mut self, bit: usize) {
        if let Some(b) = self.0.get_mut(bit / 8) {
            *b |= 1 << (bit % 8);
        }
    }
}

/// What kind of event window `w` is (by the recorder's fixed offsets and lengths).
fn kind(w: &Window) -> Option<&'static str> {
    match (w.off, w.bytes.len()) {
        (PENDING_OFF, BITMAP_LEN) => Some("pending"),
        (MASK_OFF, BITMAP_LEN) => Some("mask"),
        // The suite keeps vCPU n's vcpu_info at offset 64 * n (shared_info or its own page).
        (0x40, VCPU_INFO_LEN) => Some("vcpu_info 1"),
        (_, VCPU_INFO_LEN) => Some("vcpu_info"),
        (0, len) if FIFO_LENS.contains(&len) => Some("fifo"),
        _ => None,
    }
}

/// M1 for the argument structure of `r` (`len` bytes).
#[must_use]
pub fn argument_ignore(r: &Record, len: usize) -> Ignore {
    let mut ignore = Ignore::new(len);
    if is(r, HYPERVISOR_GRANT_TABLE_OP, GNTTABOP_MAP_GRANT_REF) {
        // struct gnttab_map_grant_ref is 32 bytes; dev_bus_addr is its last 8.
        for entry in (0..len / 32).map(|i| i * 32) {
            ignore.bytes(entry + 24..entry + 32);
        }
    }
    ignore
}

/// M2: whether `w` is a whole frame that `r` populated.
fn populated_by(r: &Record, w: &Window) -> bool {
    if !is(r, HYPERVISOR_MEMORY_OP, XENMEM_POPULATE_PHYSMAP) || w.off != 0 || w.bytes.len() != 4096
    {
        return false;
    }
    let done = r.ret.and_then(|v| usize::try_from(v).ok()).unwrap_or(0);
    r.nested_in
        .as_deref()
        .unwrap_or_default()
        .chunks_exact(8)
        .take(done)
        .any(|gfn| u64_at(gfn, 0) == Some(w.gfn))
}

/// T2, T3 and M2 for a window after `r`.
#[must_use]
pub fn window_ignore(r: &Record, w: &Window, tracker: &Tracker) -> Ignore {
    let mut ignore = Ignore::new(w.bytes.len());
    if populated_by(r, w) {
        ignore.bytes(0..w.bytes.len());
        return ignore;
    }
    let kind = kind(w);
    if is(r, HYPERVISOR_SCHED_OP, SCHEDOP_BLOCK)
        && matches!(kind, Some("pending" | "vcpu_info" | "vcpu_info 1" | "fifo"))
    {
        ignore.bytes(0..w.bytes.len());
        return ignore;
    }
    match kind {
        Some("vcpu_info 1") => ignore.bytes(0..w.bytes.len()),
        Some("pending") => {
            for &port in &tracker.on_vcpu1 {
                ignore.bit(usize::try_from(port).unwrap_or(usize::MAX));
            }
        }
        _ => {}
    }
    if let Some(port) = tracker.timer_port {
        let port = usize::try_from(port).unwrap_or(usize::MAX);
        match kind {
            Some("pending") => ignore.bit(port),
            Some("vcpu_info") => {
                ignore.bytes(0..1);
                // evtchn_pending_sel at byte 8.
                ignore.bit(64 + port / 64);
            }
            _ => {}
        }
    }
    ignore
}

#[cfg(test)]
mod tests {
    use super::*;
    use xen_headers::event_channel::EVTCHNOP_SEND;

    fn record(op: u32, cmd: u64, ret: i64) -> Record {
        Record {
            op,
            args: [cmd, 0x1000, 0, 0, 0],
            ret: Some(ret),
            ..Record::default()
        }
    }

    fn window(off: usize, len: usize) -> Window {
        Window {
            gfn: 0x3_0000,
            off,
            bytes: vec![0; len],
        }
    }

    fn bound_timer(port: u32) -> Tracker {
        let mut bind = record(HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_BIND_VIRQ.into(), 0);
        bind.main_in = Some(vec![0; 12]);
        let mut out = vec![0; 12];
        out[8..].copy_from_slice(&port.to_le_bytes());
        bind.main_out = Some(out);
        let mut tracker = Tracker::default();
        tracker.after(&bind);
        tracker
    }

    #[test]
    fn only_the_timer_port_bit_is_ignored_while_it_is_bound() {
        let tracker = bound_timer(9);
        assert_eq!(tracker.timer_port, Some(9));
        let send = record(HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_SEND.into(), 0);
        let ignore = window_ignore(&send, &window(PENDING_OFF, BITMAP_LEN), &tracker);
        assert_eq!(ignore.bits(1), 0x02);
        assert_eq!((0..BITMAP_LEN).filter(|&i| ignore.bits(i) != 0).count(), 1);
        let mask = window_ignore(&send, &window(MASK_OFF, BITMAP_LEN), &tracker);
        assert!((0..BITMAP_LEN).all(|i| mask.bits(i) == 0));
        let vi = window_ignore(&send, &window(0, VCPU_INFO_LEN), &tracker);
        assert_eq!((vi.bits(0), vi.bits(1), vi.bits(8)), (0xff, 0, 0x01));
    }

    #[test]
    fn closing_the_timer_port_ends_its_exemption() {
        let mut tracker = bound_timer(9);
        let mut close = record(HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_CLOSE.into(), 0);
        close.main_in = Some(9_u32.to_le_bytes().to_vec());
        tracker.after(&close);
        assert_eq!(tracker.timer_port, None);
        let send = record(HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_SEND.into(), 0);
        let ignore = window_ignore(&send, &window(PENDING_OFF, BITMAP_LEN), &tracker);
        assert!((0..BITMAP_LEN).all(|i| ignore.bits(i) == 0));
    }

    #[test]
    fn a_failed_close_keeps_the_exemption() {
        let mut tracker = bound_timer(9);
        let mut close = record(HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_CLOSE.into(), -22);
        close.main_in = Some(9_u32.to_le_bytes().to_vec());
        tracker.after(&close);
        assert_eq!(tracker.timer_port, Some(9));
    }

    #[test]
    fn only_frames_populate_filled_are_exempt() {
        let mut populate = record(HYPERVISOR_MEMORY_OP, XENMEM_POPULATE_PHYSMAP.into(), 1);
        let mut extents = 0x163_u64.to_le_bytes().to_vec();
        extents.extend(0x164_u64.to_le_bytes());
        populate.nested_in = Some(extents);
        let page = |gfn| Window {
            gfn,
            off: 0,
            bytes: vec![0; 4096],
        };
        let tracker = Tracker::default();
        assert_eq!(
            window_ignore(&populate, &page(0x163), &tracker).bits(0),
            0xff
        );
        // The second extent was not populated (ret 1): still compared.
        assert_eq!(window_ignore(&populate, &page(0x164), &tracker).bits(0), 0);
        populate.ret = Some(0);
        assert_eq!(window_ignore(&populate, &page(0x163), &tracker).bits(0), 0);
    }

    #[test]
    fn block_exempts_event_windows_but_not_grant_entries() {
        let block = record(HYPERVISOR_SCHED_OP, SCHEDOP_BLOCK.into(), 0);
        let tracker = Tracker::default();
        let pending = window_ignore(&block, &window(PENDING_OFF, BITMAP_LEN), &tracker);
        assert!((0..BITMAP_LEN).all(|i| pending.bits(i) == 0xff));
        let grants = window_ignore(&block, &window(0, 128), &tracker);
        assert!((0..128).all(|i| grants.bits(i) == 0));
    }

    #[test]
    fn deadlines_move_into_simulator_time() {
        let mut timer = record(HYPERVISOR_VCPU_OP, VCPUOP_SET_SINGLESHOT_TIMER.into(), 0);
        timer.time = 1_000_000_000;
        let main = 1_002_000_000_u64.to_le_bytes();
        let moved = time_fields(&timer, &main, 5_000);
        assert_eq!(moved, vec![(0, 2_005_000)]);
        let none = time_fields(&timer, &0_u64.to_le_bytes(), 5_000);
        assert!(none.is_empty());
    }

    #[test]
    fn map_grant_ref_leaves_out_only_dev_bus_addr() {
        let map = record(HYPERVISOR_GRANT_TABLE_OP, GNTTABOP_MAP_GRANT_REF.into(), 0);
        let ignore = argument_ignore(&map, 64);
        let ignored: Vec<usize> = (0..64).filter(|&i| ignore.bits(i) != 0).collect();
        assert_eq!(ignored, (24..32).chain(56..64).collect::<Vec<_>>());
    }
}
