// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The throughput round of the full-stack scenario (`xtk.mode=domu`, scripts/xen-full-test):
//! how fast the xenbus subsystems this package ships move grants and events through the real
//! hypervisor to a real dom0 backend side (`crates/xen-pvh-test/dom0/xtk-peer.c`, run with
//! `throughput`). It runs at the end of each subsystem round, on that round's EVTCHN and
//! GNTTAB:
//!
//! * **grants** (the 2-level round only): per batch, GNTTAB `permit_foreign_access` of
//!   [`BATCH`] pages (read-only, as a transmit buffer) through a grant cache, as xenvif and
//!   xenvbd do; the references go into a control page dom0 keeps mapped, then one event. dom0
//!   maps every reference with gntdev, checks each page's stamp, unmaps them and answers with
//!   one event; then `revoke_foreign_access` of each. Batches repeat for [`GRANT_PHASE_NS`].
//!   Reported: grants per second over the whole Permit → map → unmap → Revoke cycle, and the
//!   domU's own Permit and Revoke time per reference;
//! * **events**: ping-pong on the round's inter-domain channel (opened through EVTCHN), for
//!   [`EVENT_PHASE_NS`] each way of waiting: EVTCHN `send`, dom0 answers through
//!   /dev/xen/evtchn, and our callback, called by EVTCHN's ISR from the upcall vector, stamps
//!   the arrival. Reported: round trips per second and the round-trip time's mean,
//!   percentiles, minimum and maximum.
//!
//! Time is Xen system time from this vCPU's `vcpu_time_info` (`events::now_ns`: the TSC scaled
//! by Xen's pvclock parameters). While it waits for a grant batch's answer the domU blocks in
//! `SCHEDOP_poll` on the port with interrupts off, then turns them on so the upcall vector
//! delivers the event to EVTCHN's ISR, as an idle guest would halt ([`Link::wait`]). The ping
//! phase runs twice: once waiting that way (`wait=poll`), once in EVTCHN's own `wait`
//! (`EvtchnWait`, spinning at `DISPATCH_LEVEL` with interrupts on: `wait=spin`).
//!
//! The numbers are printed as `XTK-THROUGHPUT:` lines (kept under Xen's 200-byte guest line
//! buffer); only the round's correctness (every batch mapped by dom0 with the right contents,
//! every grant revoked, every ping answered) is checked.
//!
//! The control page, 32-bit words, shared with xtk-peer.c:
//!
//! | word | writer | meaning |
//! |---|---|---|
//! | 0 | domU | [`MAGIC`] |
//! | 1 | domU | command: [`CMD_GRANTS`], [`CMD_PING`] or [`CMD_STOP`] |
//! | 2 | domU | batch sequence number |
//! | 3 | domU | references in the batch |
//! | 4 | dom0 | last batch it finished |
//! | 5 | dom0 | pages of that batch it mapped |
//! | 6 | dom0 | pages of that batch whose stamp was wrong |
//! | 7 | dom0 | 1 once it bound the port and mapped this page |
//! | 16.. | domU | the batch's references |
//!
//! Each granted page starts with its stamp: the batch sequence number, then its index.

use super::xenstore::{RingStore, sok};
use crate::arch::Page;
use crate::events;
use crate::harness::check;
use crate::kprintln;
use crate::port::{Kernel, KernelInterrupts};
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::Cell;
use core::fmt;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use platform_port::{Irql, IrqlLevel};
use xen::hypercall::Xen;
use xen::services::Direct;
use xenbus::evtchn::{Channel, Evtchn, OpenKind};
use xenbus::gnttab::{Gnttab, GnttabCache, GrantEntry};

type KernelEvtchn = Evtchn<Kernel, Direct<Xen>, KernelInterrupts>;
type KernelGnttab = Gnttab<Kernel, Direct<Xen>>;

const MS: u64 = 1_000_000;
/// Pages granted per batch (one gntdev map request in dom0).
pub const BATCH: usize = 64;
/// How long batches of grants are started.
pub const GRANT_PHASE_NS: u64 = 3_000 * MS;
/// How long pings are started, per ABI and way of waiting.
pub const EVENT_PHASE_NS: u64 = 1_500 * MS;
/// The longest we wait for one answer of dom0 (and for dom0 to start).
const STEP_NS: u64 = 20_000 * MS;
/// Round-trip times kept for the percentiles (the phase ends early if they run out).
const SAMPLES: usize = 65_536;

/// The control page's magic, "XTKT".
pub const MAGIC: u32 = u32::from_be_bytes(*b"XTKT");
/// Command: map and unmap the batch in words 16.., then answer.
pub const CMD_GRANTS: u32 = 1;
/// Command: answer every event.
pub const CMD_PING: u32 = 2;
/// Command: unmap the control page, answer once and stop.
pub const CMD_STOP: u32 = 3;
const W_MAGIC: usize = 0;
const W_CMD: usize = 1;
const W_SEQ: usize = 2;
const W_COUNT: usize = 3;
const W_DONE: usize = 4;
const W_MAPPED: usize = 5;
const W_BAD: usize = 6;
const W_READY: usize = 7;
const W_REFS: usize = 16;
/// 32-bit words in a page.
const WORDS: usize = 1024;
const _: () = assert!(W_REFS + BATCH <= WORDS);

/// The pages granted in every batch.
static PAGES: [Page; BATCH] = [const { Page::new() }; BATCH];
/// The control page, granted to dom0 for the whole round.
static CONTROL: Page = Page::new();
/// Round-trip times of the event phase, in ns.
static RTT: spin::Mutex<[u32; SAMPLES]> = spin::Mutex::new([0; SAMPLES]);
/// Batches whose Permit and Revoke times are kept for the medians.
const BATCH_SAMPLES: usize = 8192;
/// Per batch: the Permit loop's and the Revoke loop's time per reference, in ns.
static BATCH_NS: spin::Mutex<[[u32; 2]; BATCH_SAMPLES]> = spin::Mutex::new([[0; 2]; BATCH_SAMPLES]);

/// Word `index` of `page` (`None` beyond the page).
const fn word(page: &'static Page, index: usize) -> Option<&'static AtomicU32> {
    if index >= WORDS {
        return None;
    }
    #[expect(
        clippy::cast_ptr_alignment,
        reason = "a Page is 4096-aligned, so every 4-byte offset in it is aligned for u32"
    )]
    let at = page.ptr().cast::<u32>().wrapping_add(index);
    // SAFETY: `at` is inside the static page (index < 1024), aligned, and the page is only
    // ever accessed through atomics or volatile accesses (it is shared with dom0).
    Some(unsafe { AtomicU32::from_ptr(at) })
}

fn set(index: usize, value: u32) {
    if let Some(w) = word(&CONTROL, index) {
        w.store(value, Ordering::Release);
    }
}

fn get(index: usize) -> u32 {
    word(&CONTROL, index).map_or(0, |w| w.load(Ordering::Acquire))
}

/// A count in tenths, shown as `x.y`.
struct Tenths(u128);

impl fmt::Display for Tenths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0 / 10, self.0 % 10)
    }
}

/// `count` per second over `ns`, in tenths.
fn per_second(count: u64, ns: u64) -> Tenths {
    Tenths((u128::from(count) * 10_000_000_000) / u128::from(ns.max(1)))
}

/// `ns` in microseconds, in tenths.
fn micros(ns: u64) -> Tenths {
    Tenths(u128::from(ns) / 100)
}

/// `ns` in seconds, with three decimals.
struct Seconds(u64);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0 / MS;
        write!(f, "{}.{:03}", ms / 1000, ms % 1000)
    }
}

/// The round's channel and what its callback records.
struct Link {
    evtchn: Arc<KernelEvtchn>,
    channel: Arc<Channel>,
    port: u32,
    /// Times the callback ran.
    calls: Arc<AtomicU32>,
    /// Xen system time of the callback's last run.
    arrival: Arc<AtomicU64>,
    /// `SCHEDOP_poll` calls made while waiting.
    polls: Cell<u64>,
}

impl Link {
    /// Waits up to `ns` until the callback ran `target` times in all: blocks in `SCHEDOP_poll`
    /// with interrupts off (at `HIGH_LEVEL`), then lowers the IRQL, which turns them on so the
    /// upcall vector runs EVTCHN's ISR. Checking with interrupts off closes the race with an
    /// event that arrives between the check and the poll.
    fn wait(&self, target: u32, ns: u64) -> bool {
        let deadline = events::now_ns().saturating_add(ns);
        loop {
            let old = Kernel.raise_irql(IrqlLevel::HIGH);
            let reached = self.calls.load(Ordering::SeqCst).wrapping_sub(target) < u32::MAX / 2;
            let now = events::now_ns();
            if !reached && now < deadline {
                let _ = xen::sched::poll(crate::xen(), &[self.port], deadline);
                self.polls.set(self.polls.get().saturating_add(1));
            }
            Kernel.lower_irql(old);
            if reached {
                return true;
            }
            if now >= deadline {
                return false;
            }
        }
    }

    /// Sends one event and waits for dom0's answer.
    fn exchange(&self, ns: u64) -> bool {
        let target = self.calls.load(Ordering::SeqCst).wrapping_add(1);
        self.evtchn.send(&self.channel);
        self.wait(target, ns)
    }
}

/// Runs the throughput round `prefix` (`throughput-2l` or `throughput-fifo`) on the round's
/// EVTCHN and GNTTAB; with `grants`, the grant phase too.
pub fn run(
    store: &RingStore,
    prefix: &str,
    evtchn: &Arc<KernelEvtchn>,
    gnttab: &Arc<KernelGnttab>,
    grants: bool,
) {
    let name = |what: &str| format!("{prefix}.{what}");
    let noop: xenbus::cache::LockFn = Arc::new(|| {});
    let reservation = u32::try_from(BATCH + 1).unwrap_or(0);
    let cache = match gnttab.create_cache("xtk_tput", reservation, 0, Arc::clone(&noop), noop) {
        Ok(cache) => cache,
        Err(error) => {
            check(&name("create_cache"), false, format_args!("{error}"));
            return;
        }
    };
    if let Some(link) = open_link(prefix, evtchn) {
        with_control_page(store, prefix, gnttab, &cache, &link, grants);
        let Link {
            evtchn, channel, ..
        } = link;
        evtchn.close(channel);
        let left = evtchn.channel_count();
        check(
            &name("channel_closed"),
            left == 0,
            format_args!("{left} channels left"),
        );
    }
    let destroyed = gnttab.destroy_cache(&cache);
    check(
        &name("destroy_cache"),
        destroyed.is_ok(),
        format_args!("{destroyed:?}"),
    );
}

/// Opens the channel, unbound for dom0, with a callback that counts and stamps.
fn open_link(prefix: &str, evtchn: &Arc<KernelEvtchn>) -> Option<Link> {
    let calls = Arc::new(AtomicU32::new(0));
    let arrival = Arc::new(AtomicU64::new(0));
    let (count, stamp) = (Arc::clone(&calls), Arc::clone(&arrival));
    let callback = Arc::new(move || {
        stamp.store(events::now_ns(), Ordering::SeqCst);
        count.fetch_add(1, Ordering::SeqCst);
        true
    });
    let kind = OpenKind::Unbound {
        remote_domain: 0,
        auto_mask: false,
    };
    let opened = evtchn.open(kind, callback, 0);
    let detail = match &opened {
        Ok(channel) => format!("port {}", evtchn.get_port(channel)),
        Err(error) => format!("{error}"),
    };
    check(
        &format!("{prefix}.evtchn_open_unbound_for_dom0"),
        opened.is_ok(),
        format_args!("{detail}"),
    );
    let channel = opened.ok()?;
    evtchn.unmask(&channel, false, false);
    Some(Link {
        evtchn: Arc::clone(evtchn),
        port: evtchn.get_port(&channel),
        channel,
        calls,
        arrival,
        polls: Cell::new(0),
    })
}

/// Grants the control page, tells dom0 where everything is, runs the phases and stops dom0.
fn with_control_page(
    store: &RingStore,
    prefix: &str,
    gnttab: &Arc<KernelGnttab>,
    cache: &Arc<GnttabCache<Kernel>>,
    link: &Link,
    grants: bool,
) {
    let name = |what: &str| format!("{prefix}.{what}");
    let node = |what: &str| format!("data/{prefix}/{what}").into_bytes();
    for index in 0..WORDS {
        set(index, 0);
    }
    set(W_MAGIC, MAGIC);
    let permitted = gnttab.permit_foreign_access(cache, false, 0, CONTROL.gfn(), false);
    let detail = match &permitted {
        Ok(entry) => format!("reference {}", entry.reference()),
        Err(error) => format!("{error}"),
    };
    check(
        &name("permit_control_page"),
        permitted.is_ok(),
        format_args!("{detail}"),
    );
    let Ok(control) = permitted else {
        return;
    };
    let published = sok(
        &name("publish_port"),
        store.printf(None, None, &node("port"), format_args!("{}", link.port)),
    )
    .and_then(|()| {
        sok(
            &name("publish_gref"),
            store.printf(
                None,
                None,
                &node("gref"),
                format_args!("{}", control.reference()),
            ),
        )
    })
    .and_then(|()| {
        sok(
            &name("publish_go"),
            store.write(None, None, &node("go"), b"1"),
        )
    });
    // dom0 binds the port, maps the control page, sets word 7 and notifies.
    let ready = published.is_some() && link.wait(1, STEP_NS) && get(W_READY) == 1;
    check(
        &name("dom0_bound_and_mapped_control_page"),
        ready,
        format_args!(
            "{} events, ready word {}",
            link.calls.load(Ordering::SeqCst),
            get(W_READY)
        ),
    );
    if ready {
        if grants {
            grant_phase(prefix, gnttab, cache, link);
        }
        event_phase(prefix, link, Waiting::Poll);
        event_phase(prefix, link, Waiting::Spin);
        set(W_CMD, CMD_STOP);
        let stopped = link.exchange(STEP_NS);
        check(
            &name("dom0_unmapped_control_page_and_stopped"),
            stopped,
            format_args!("{} events", link.calls.load(Ordering::SeqCst)),
        );
    }
    let revoked = gnttab.revoke_foreign_access(cache, false, control);
    check(
        &name("revoke_control_page"),
        revoked.is_ok(),
        format_args!("{:?}", revoked.as_ref().map_err(|(error, _)| error)),
    );
}

/// Writes page `index`'s stamp for batch `seq`.
fn stamp(index: usize, seq: u32) {
    let Some(page) = PAGES.get(index) else {
        return;
    };
    if let (Some(first), Some(second)) = (word(page, 0), word(page, 1)) {
        first.store(seq, Ordering::Relaxed);
        second.store(u32::try_from(index).unwrap_or(u32::MAX), Ordering::Relaxed);
    }
}

/// The grant phase's state and totals.
struct GrantPhase<'a> {
    gnttab: &'a KernelGnttab,
    cache: &'a GnttabCache<Kernel>,
    link: &'a Link,
    /// The batch's entries (allocated once: the kernel's allocator never reuses memory).
    entries: Vec<GrantEntry>,
    /// Entries dom0 still mapped when GNTTAB gave up revoking them.
    stuck: Vec<GrantEntry>,
    batches: u64,
    grants: u64,
    permit_ns: u64,
    revoke_ns: u64,
    /// Per batch, the Permit and Revoke time per reference.
    samples: &'a mut [[u32; 2]],
}

impl GrantPhase<'_> {
    /// One batch: stamps, Permit of every page, dom0 maps and unmaps them, Revoke of each.
    fn batch(&mut self, seq: u32) -> Result<(), String> {
        for index in 0..BATCH {
            stamp(index, seq);
        }
        let t0 = events::now_ns();
        let mut result = Ok(());
        for page in &PAGES {
            match (self.gnttab).permit_foreign_access(self.cache, false, 0, page.gfn(), true) {
                Ok(entry) => self.entries.push(entry),
                Err(error) => {
                    result = Err(format!("batch {seq}: Permit failed: {error}"));
                    break;
                }
            }
        }
        let t1 = events::now_ns();
        let permit_ns = t1.saturating_sub(t0);
        self.permit_ns = self.permit_ns.saturating_add(permit_ns);
        if result.is_ok() {
            result = self.dom0_maps(seq);
        }
        let t2 = events::now_ns();
        let count = self.entries.len();
        while let Some(entry) = self.entries.pop() {
            if let Err((error, entry)) = self.gnttab.revoke_foreign_access(self.cache, false, entry)
            {
                if result.is_ok() {
                    result = Err(format!("batch {seq}: Revoke failed: {error}"));
                }
                self.stuck.push(entry);
            }
        }
        let revoke_ns = events::now_ns().saturating_sub(t2);
        self.revoke_ns = self.revoke_ns.saturating_add(revoke_ns);
        if result.is_ok() {
            let refs = u64::try_from(count.max(1)).unwrap_or(1);
            let per_ref = |ns: u64| u32::try_from(ns / refs).unwrap_or(u32::MAX);
            if let Some(slot) = usize::try_from(self.batches)
                .ok()
                .and_then(|batch| self.samples.get_mut(batch))
            {
                *slot = [per_ref(permit_ns), per_ref(revoke_ns)];
            }
            self.batches = self.batches.saturating_add(1);
            self.grants = (self.grants).saturating_add(u64::try_from(count).unwrap_or(0));
        }
        result
    }

    /// Hands the batch's references to dom0 and checks its answer.
    fn dom0_maps(&self, seq: u32) -> Result<(), String> {
        for (index, entry) in self.entries.iter().enumerate() {
            set(W_REFS + index, entry.reference());
        }
        let count = self.entries.len();
        set(W_COUNT, u32::try_from(count).unwrap_or(0));
        set(W_SEQ, seq);
        set(W_CMD, CMD_GRANTS);
        if !self.link.exchange(STEP_NS) {
            return Err(format!("batch {seq}: no answer from dom0"));
        }
        let (done, mapped, bad) = (get(W_DONE), get(W_MAPPED), get(W_BAD));
        if done != seq || usize::try_from(mapped).ok() != Some(count) || bad != 0 {
            return Err(format!(
                "batch {seq}: dom0 finished batch {done}, mapped {mapped} of {count}, {bad} \
                 wrong stamps"
            ));
        }
        Ok(())
    }

    /// One more Revoke of each stuck entry, after a pause; returns how many stay granted.
    fn retry_stuck(&mut self) -> usize {
        if self.stuck.is_empty() {
            return 0;
        }
        let pause = events::now_ns().saturating_add(100 * MS);
        while events::now_ns() < pause {
            xen::sched::yield_now(crate::xen());
        }
        let mut left = 0_usize;
        while let Some(entry) = self.stuck.pop() {
            if self
                .gnttab
                .revoke_foreign_access(self.cache, false, entry)
                .is_err()
            {
                // Left granted: the cache then refuses to be destroyed, which fails that check.
                left = left.saturating_add(1);
            }
        }
        left
    }
}

/// Batches of Permit → dom0 map/unmap → Revoke for [`GRANT_PHASE_NS`].
fn grant_phase(prefix: &str, gnttab: &KernelGnttab, cache: &GnttabCache<Kernel>, link: &Link) {
    let mut samples = BATCH_NS.lock();
    let mut phase = GrantPhase {
        gnttab,
        cache,
        link,
        entries: Vec::with_capacity(BATCH),
        stuck: Vec::new(),
        batches: 0,
        grants: 0,
        permit_ns: 0,
        revoke_ns: 0,
        samples: &mut *samples,
    };
    let mut problem = Ok(());
    let start = events::now_ns();
    let mut seq: u32 = 0;
    while problem.is_ok() && events::now_ns().saturating_sub(start) < GRANT_PHASE_NS {
        seq = seq.wrapping_add(1);
        problem = phase.batch(seq);
    }
    let elapsed = events::now_ns().saturating_sub(start);
    let left = phase.retry_stuck();
    check(
        &format!("{prefix}.grant_batches_mapped_by_dom0_and_revoked"),
        problem.is_ok() && phase.batches > 0,
        format_args!(
            "{} batches of {BATCH}: {}",
            phase.batches,
            problem
                .as_ref()
                .err()
                .map_or("each mapped with its stamps, each revoked", String::as_str)
        ),
    );
    check(
        &format!("{prefix}.no_grant_left"),
        left == 0,
        format_args!("{left} grants still mapped by dom0"),
    );
    let grants = phase.grants.max(1);
    let (permit_mean, revoke_mean) = (phase.permit_ns / grants, phase.revoke_ns / grants);
    let (batches, total) = (phase.batches, phase.grants);
    drop(phase);
    let kept = usize::try_from(batches).map_or(0, |b| b.min(BATCH_SAMPLES));
    let taken = samples.get_mut(..kept).unwrap_or_default();
    let mut median = |which: usize| {
        taken.sort_unstable_by_key(|sample| sample.get(which).copied().unwrap_or(0));
        let middle = taken.get(kept / 2).and_then(|sample| sample.get(which));
        u64::from(middle.copied().unwrap_or(0))
    };
    let (permit, revoke) = (median(0), median(1));
    kprintln!(
        "XTK-THROUGHPUT: grants abi=2l batch={BATCH} batches={batches} n={total} s={} per_s={} \
         permit_ns={permit} revoke_ns={revoke} pair_ns={} mean_pair_ns={}",
        Seconds(elapsed),
        per_second(total, elapsed),
        permit.saturating_add(revoke),
        permit_mean.saturating_add(revoke_mean)
    );
}

/// How the domU waits for dom0's answer.
#[derive(Clone, Copy)]
enum Waiting {
    /// Blocked in `SCHEDOP_poll` with interrupts off, then the upcall ([`Link::wait`]): an
    /// idle guest.
    Poll,
    /// EVTCHN's `wait` (`EvtchnWait`): spins at `DISPATCH_LEVEL` with interrupts on until the
    /// ISR counted the event: a busy guest.
    Spin,
}

/// Ping-pong for [`EVENT_PHASE_NS`]: round trips per second and their times.
fn event_phase(prefix: &str, link: &Link, waiting: Waiting) {
    let abi = match link.evtchn.abi_kind() {
        Some(xenbus::evtchn::AbiKind::Fifo) => "fifo",
        _ => "2l",
    };
    let (wait, pings) = match waiting {
        Waiting::Poll => ("poll", "pings_answered_by_dom0"),
        Waiting::Spin => ("spin", "pings_answered_by_dom0_evtchn_wait"),
    };
    set(W_CMD, CMD_PING);
    let mut samples = RTT.lock();
    let mut count = 0_usize;
    let mut sum: u64 = 0;
    let mut lost = false;
    let polls = link.polls.get();
    let start = events::now_ns();
    while count < SAMPLES && events::now_ns().saturating_sub(start) < EVENT_PHASE_NS {
        let target = link.calls.load(Ordering::SeqCst).wrapping_add(1);
        let count_target = link.evtchn.get_count(&link.channel).wrapping_add(1);
        let sent = events::now_ns();
        link.evtchn.send(&link.channel);
        let answered = match waiting {
            Waiting::Poll => link.wait(target, STEP_NS),
            Waiting::Spin => {
                let timeout = i64::try_from(STEP_NS / 100).unwrap_or(i64::MAX);
                let waited = (link.evtchn).wait(&link.channel, count_target, Some(-timeout));
                waited.is_ok() && link.calls.load(Ordering::SeqCst) == target
            }
        };
        if !answered {
            lost = true;
            break;
        }
        let rtt = link.arrival.load(Ordering::SeqCst).saturating_sub(sent);
        if let Some(slot) = samples.get_mut(count) {
            *slot = u32::try_from(rtt).unwrap_or(u32::MAX);
        }
        sum = sum.saturating_add(rtt);
        count = count.saturating_add(1);
    }
    let elapsed = events::now_ns().saturating_sub(start);
    let polls = link.polls.get().saturating_sub(polls);
    check(
        &format!("{prefix}.{pings}"),
        !lost && count > 0,
        format_args!(
            "{count} round trips{}",
            if lost { ", then one unanswered" } else { "" }
        ),
    );
    let taken = samples.get_mut(..count).unwrap_or_default();
    taken.sort_unstable();
    let at = |percent: usize| {
        let index = count.saturating_sub(1).saturating_mul(percent) / 100;
        u64::from(taken.get(index).copied().unwrap_or(0))
    };
    let n = u64::try_from(count).unwrap_or(0);
    kprintln!(
        "XTK-THROUGHPUT: events {abi} wait={wait} n={n} s={} per_s={} mean_us={} p50_us={} p90_us={} \
         p99_us={} min_us={} max_us={} polls={polls}",
        Seconds(elapsed),
        per_second(n, elapsed),
        micros(sum / n.max(1)),
        micros(at(50)),
        micros(at(90)),
        micros(at(99)),
        micros(at(0)),
        micros(at(100))
    );
}
