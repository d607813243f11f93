// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The domU's inter-domain checks (`xtk.mode=domu`, scripts/xen-full-test) against a real Linux
//! dom0 running `crates/xen-pvh-test/dom0/xtk-peer.c`: an event channel we open unbound for
//! dom0 and dom0 binds, a grant of our page that dom0 maps with gntdev, a dom0 page granted to
//! us with gntalloc, and the PV console ring read by dom0's xenconsoled.
//!
//! Here the `xen` crate's wrappers do the work directly (the hypercalls xen.sys exports); the
//! byte patterns and the xenstore protocol are the ones in xtk-peer.c's header comment.

use super::xenstore::{RingStore, show, sok, text};
use super::{GRANT_FRAME_GFN, GRANT_MAP_GFN, hv, shm};
use crate::arch::Page;
use crate::events;
use crate::harness::{check, ok};
use alloc::format;
use core::sync::atomic::{AtomicU16, AtomicU32, Ordering};
use xen::event_channel::{self as evtchn, Binding};
use xen::grant_table as gnttab;
use xen_headers::grant_table::{GTF_PERMIT_ACCESS, GTF_READING, GTF_WRITING};
use xen_headers::hvm::params::{
    HVM_PARAM_CONSOLE_EVTCHN, HVM_PARAM_CONSOLE_PFN, HVM_PARAM_STORE_EVTCHN,
};
use xen_headers::memory::XENMAPSPACE_GRANT_TABLE;

const MS: u64 = 1_000_000;
/// How long we wait for each step of dom0.
const DOM0_STEP_NS: u64 = 20_000 * MS;
/// The grant reference of our page in the first round (the first one after the reserved
/// entries); the subsystem round gets its own.
const REF_PEER: u32 = 8;
/// Half a page: the upper half is where the other side writes.
const HALF: usize = 2048;

/// The page we grant to dom0.
static PEER_PAGE: Page = Page::new();

/// The byte patterns of the exchange (as `pattern()` in xtk-peer.c).
pub fn pattern(which: u8, i: usize) -> u8 {
    let value = match which {
        b'A' => i * 7 % 251,
        b'B' => i * 11 % 253 + 1,
        b'C' => i * 13 % 241 + 2,
        _ => i * 17 % 239 + 3,
    };
    u8::try_from(value).unwrap_or(0)
}

/// The first byte of `range` of frame `gfn` that does not hold `which`.
fn first_difference(gfn: u64, which: u8, range: core::ops::Range<usize>) -> Option<usize> {
    range
        .into_iter()
        .find(|&i| shm::read_frame_byte(gfn, i) != pattern(which, i))
}

/// The `flags` word of v1 grant entry `reference` in frame 0 of our grant table.
fn grant_flags(reference: u32) -> &'static AtomicU16 {
    let base = usize::try_from(GRANT_FRAME_GFN << 12).unwrap_or(0);
    let entry = base + 8 * usize::try_from(reference % 512).unwrap_or(0);
    // SAFETY: grant frame 0 is mapped at GRANT_FRAME_GFN (identity-mapped) and the entry is
    // inside it; Xen updates the flags with atomic operations.
    unsafe { AtomicU16::from_ptr(core::ptr::with_exposed_provenance_mut::<u16>(entry)) }
}

/// Grants `frame` to dom0 (domid and frame first, then the flags that make the entry live).
fn permit_dom0(reference: u32, frame: u64) {
    let base = usize::try_from(GRANT_FRAME_GFN << 12).unwrap_or(0);
    let entry = base + 8 * usize::try_from(reference % 512).unwrap_or(0);
    let domid = core::ptr::with_exposed_provenance_mut::<u16>(entry + 2);
    let frame_ptr = core::ptr::with_exposed_provenance_mut::<u32>(entry + 4);
    // SAFETY: as `grant_flags`.
    unsafe { domid.write_volatile(0) };
    // SAFETY: as above.
    unsafe { frame_ptr.write_volatile(u32::try_from(frame).unwrap_or(0)) };
    grant_flags(reference).store(GTF_PERMIT_ACCESS, Ordering::SeqCst);
}

/// Upstream's revoke of a v1 entry: refused while the peer has it mapped (`GTF_reading` or
/// `GTF_writing`), else the flags go to 0 in one compare-and-swap.
fn revoke(reference: u32) -> Result<(), u16> {
    let flags = grant_flags(reference);
    let now = flags.load(Ordering::SeqCst);
    if now & (GTF_READING | GTF_WRITING) != 0 {
        return Err(now);
    }
    flags
        .compare_exchange(now, 0, Ordering::SeqCst, Ordering::SeqCst)
        .map(|_| ())
}

/// Waits with `SCHEDOP_poll` until `port` is pending (then clears it) or `ns` passed.
pub fn wait_port(port: u32, ns: u64) -> bool {
    let deadline = events::now_ns().saturating_add(ns);
    loop {
        if shm::pending(port) {
            shm::clear_pending(port);
            return true;
        }
        let now = events::now_ns();
        if now >= deadline {
            return false;
        }
        let _ = xen::sched::poll(hv(), &[port], now.saturating_add(250 * MS).min(deadline));
    }
}

/// Reads `data/peer/<node>` until it exists or `ns` passed.
fn wait_node(store: &RingStore, node: &[u8], ns: u64) -> Option<alloc::vec::Vec<u8>> {
    let deadline = events::now_ns().saturating_add(ns);
    loop {
        let value = text(store.read(None, None, node));
        if !value.is_empty() {
            return Some(value);
        }
        if events::now_ns() >= deadline {
            return None;
        }
        // Lets the port's DPCs, timers and threads run (the xenbus round has some).
        crate::port::idle();
        xen::sched::yield_now(hv());
    }
}

/// How a round opens, waits on, signals and closes its event channel with dom0.
pub trait EventSide {
    /// Opens a port dom0 may bind; returns its number.
    fn open_unbound(&mut self, prefix: &str) -> Option<u32>;
    /// Waits up to `ns` for the next event from dom0; returns whether it came.
    fn wait_event(&mut self, prefix: &str, ns: u64) -> bool;
    /// Sends an event to dom0.
    fn send(&mut self, prefix: &str);
    /// Closes the port.
    fn close(&mut self, prefix: &str);
}

/// The `xen` crate's wrappers: `EVTCHNOP_alloc_unbound`, `SCHEDOP_poll`, `EVTCHNOP_send`.
#[derive(Default)]
pub struct DirectEvents {
    port: u32,
}

impl EventSide for DirectEvents {
    fn open_unbound(&mut self, prefix: &str) -> Option<u32> {
        self.port = ok(
            &format!("{prefix}.evtchn_allocate_unbound_for_dom0"),
            evtchn::allocate_unbound(hv(), 0),
        )?;
        Some(self.port)
    }

    fn wait_event(&mut self, prefix: &str, ns: u64) -> bool {
        let got = wait_port(self.port, ns);
        check(
            &format!("{prefix}.evtchn_polled_event_from_dom0"),
            got,
            format_args!("port {}", self.port),
        )
    }

    fn send(&mut self, prefix: &str) {
        ok(
            &format!("{prefix}.evtchn_send_to_dom0"),
            evtchn::send(hv(), self.port),
        );
    }

    fn close(&mut self, prefix: &str) {
        ok(
            &format!("{prefix}.evtchn_close"),
            evtchn::close(hv(), self.port),
        );
    }
}

/// How a round grants its page to dom0, revokes it, and maps dom0's grant.
pub trait GrantSide {
    /// Grants frame `frame` to dom0 writable; returns the reference.
    fn permit(&mut self, prefix: &str, frame: u64) -> Option<u32>;
    /// The entry's flags, where this side can see them.
    fn flags(&self) -> Option<u16>;
    /// Whether the entry still grants access.
    fn still_granted(&self) -> bool;
    /// Revokes the grant; `Err` carries why not.
    fn revoke(&mut self) -> Result<(), alloc::string::String>;
    /// Maps dom0's grant `gref` writable; returns the guest frame it is mapped at.
    fn map_foreign(&mut self, prefix: &str, gref: u32) -> Option<u64>;
    /// Unmaps what `map_foreign` mapped at `gfn`.
    fn unmap_foreign(&mut self, prefix: &str, gfn: u64);
}

/// The grant entries written by hand in frame 0 (mapped at `GRANT_FRAME_GFN`) and the `xen`
/// crate's `GNTTABOP_map_grant_ref`/`unmap_grant_ref`.
pub struct DirectGrants {
    reference: u32,
    handle: u32,
}

impl DirectGrants {
    /// Grants through entry `reference`.
    pub const fn new(reference: u32) -> Self {
        Self {
            reference,
            handle: 0,
        }
    }
}

impl GrantSide for DirectGrants {
    fn permit(&mut self, _prefix: &str, frame: u64) -> Option<u32> {
        permit_dom0(self.reference, frame);
        Some(self.reference)
    }

    fn flags(&self) -> Option<u16> {
        Some(grant_flags(self.reference).load(Ordering::SeqCst))
    }

    fn still_granted(&self) -> bool {
        grant_flags(self.reference).load(Ordering::SeqCst) & GTF_PERMIT_ACCESS != 0
    }

    fn revoke(&mut self) -> Result<(), alloc::string::String> {
        revoke(self.reference).map_err(|flags| format!("flags {flags:#x}"))
    }

    fn map_foreign(&mut self, prefix: &str, gref: u32) -> Option<u64> {
        // SAFETY: GRANT_MAP_GFN is a hole of our physmap; it is used only through `shm` until
        // unmapped.
        let handle = unsafe { gnttab::map_foreign_page(hv(), 0, gref, GRANT_MAP_GFN << 12, false) };
        self.handle = ok(&format!("{prefix}.gnttab_map_dom0_grant"), handle)?;
        Some(GRANT_MAP_GFN)
    }

    fn unmap_foreign(&mut self, prefix: &str, gfn: u64) {
        // SAFETY: nothing uses the mapping any more.
        let unmapped = unsafe { gnttab::unmap_foreign_page(hv(), self.handle, gfn << 12) };
        ok(&format!("{prefix}.gnttab_unmap_dom0_grant"), unmapped);
    }
}

/// Maps frame 0 of our grant table (once, before the first round).
pub fn map_grant_frame() -> bool {
    // SAFETY: GRANT_FRAME_GFN is a hole of this domain's physmap; nothing of ours is there.
    let mapped =
        unsafe { xen::memory::add_to_physmap(hv(), GRANT_FRAME_GFN, XENMAPSPACE_GRANT_TABLE, 0) };
    ok("peer.gnttab_frame0_mapped", mapped).is_some()
}

/// Runs the inter-domain checks with the `xen` crate's wrappers, then through the xenbus
/// subsystems.
pub fn run(store: &RingStore) {
    let marker = console_ring();
    if !map_grant_frame() {
        return;
    }
    round(
        store,
        "peer",
        &mut DirectEvents::default(),
        &mut DirectGrants::new(REF_PEER),
        &PEER_PAGE,
        marker,
    );
    super::subsystems::run(store, "xenbus", false);
    // Leaving FIFO resets every port; EVTCHN binds the store channel to xenstored again.
    let peer_before = store_peer();
    super::subsystems::run(store, "fifo", true);
    let moved = super::xenstore::follow_store_port(store);
    let peer_after = store_peer();
    check(
        "fifo.store_channel_rebound_to_xenstored",
        peer_after.is_some() && peer_after == peer_before,
        format_args!(
            "store port (before, after) {moved:?}, xenstored's (domain, port) {peer_before:?} -> \
             {peer_after:?}"
        ),
    );
}

/// The (domain, port) at the other end of the store's event channel.
fn store_peer() -> Option<(u16, u32)> {
    let port = xen::hvm::get_param(hv(), HVM_PARAM_STORE_EVTCHN).ok()?;
    evtchn::query_inter_domain(hv(), u32::try_from(port).ok()?).ok()
}

/// One exchange with xtk-peer, which reads and writes `data/<prefix>/...`: our page `page`
/// granted to dom0 through `grants`, the events through `events`, and (if given) the console
/// text for dom0 to find.
pub fn round(
    store: &RingStore,
    prefix: &str,
    events: &mut dyn EventSide,
    grants: &mut dyn GrantSide,
    page: &Page,
    marker: Option<&str>,
) {
    let name = |what: &str| format!("{prefix}.{what}");
    let node = |what: &str| format!("data/{prefix}/{what}").into_bytes();
    for i in 0..4096 {
        shm::write_frame_byte(page.gfn(), i, pattern(b'A', i));
    }
    let Some(reference) = grants.permit(prefix, page.gfn()) else {
        return;
    };
    let Some(port) = events.open_unbound(prefix) else {
        let _ = grants.revoke();
        return;
    };
    let unbound = evtchn::status(hv(), port).map(|s| s.binding);
    check(
        &name("evtchn_unbound_for_dom0"),
        unbound == Ok(Binding::Unbound { domain: 0 }),
        format_args!("{unbound:?}"),
    );
    sok(
        &name("publish_port"),
        store.printf(None, None, &node("port"), format_args!("{port}")),
    );
    sok(
        &name("publish_gref"),
        store.printf(None, None, &node("gref"), format_args!("{reference}")),
    );
    if let Some(marker) = marker {
        sok(
            &name("publish_console_text"),
            store.write(None, None, &node("console"), marker.as_bytes()),
        );
    }
    sok(
        &name("publish_go"),
        store.write(None, None, &node("go"), b"1"),
    );

    // Event 1 from dom0: it bound our port, mapped our grant and wrote into it.
    if !events.wait_event(prefix, DOM0_STEP_NS) {
        // No peer: undo what this round set up (nobody maps the page), so only the missing
        // event fails.
        let _ = grants.revoke();
        events.close(prefix);
        return;
    }
    let bound = evtchn::status(hv(), port).map(|s| s.binding);
    check(
        &name("evtchn_bound_by_dom0"),
        matches!(bound, Ok(Binding::InterDomain { domain: 0, .. })),
        format_args!("{bound:?}"),
    );
    let diff = first_difference(page.gfn(), b'B', HALF..4096);
    check(
        &name("gnttab_dom0_wrote_through_our_grant"),
        diff.is_none(),
        format_args!("first difference at {diff:?}"),
    );
    if let Some(flags) = grants.flags() {
        check(
            &name("gnttab_entry_marked_mapped"),
            flags & (GTF_READING | GTF_WRITING) == GTF_READING | GTF_WRITING,
            format_args!("flags {flags:#x}"),
        );
    }
    let refused = grants.revoke();
    check(
        &name("gnttab_revoke_refused_while_mapped"),
        refused.is_err() && grants.still_granted(),
        format_args!("{refused:?}"),
    );

    map_dom0_grant(store, prefix, grants);
    events.send(prefix);

    // Event 2 from dom0: it unmapped our grant.
    let got = events.wait_event(prefix, DOM0_STEP_NS);
    let unmapped = text(store.read(None, None, &node("unmapped")));
    check(
        &name("dom0_unmapped_our_grant"),
        got && unmapped == b"1",
        format_args!("data/{prefix}/unmapped {:?}", show(&unmapped)),
    );
    let revoked = grants.revoke();
    check(
        &name("gnttab_revoke_after_unmap"),
        revoked.is_ok() && !grants.still_granted(),
        format_args!("{revoked:?}"),
    );
    events.send(prefix);
    events.close(prefix);
}

/// Maps the page dom0 granted to us, checks it and answers in its upper half.
fn map_dom0_grant(store: &RingStore, prefix: &str, grants: &mut dyn GrantSide) {
    let name = |what: &str| format!("{prefix}.{what}");
    let node = format!("data/{prefix}/dom0-gref");
    let Some(gref) = wait_node(store, node.as_bytes(), DOM0_STEP_NS) else {
        check(
            &name("gnttab_dom0_gref_published"),
            false,
            format_args!("no {node}"),
        );
        return;
    };
    let gref: u32 = show(&gref).parse().unwrap_or(u32::MAX);
    let Some(gfn) = grants.map_foreign(prefix, gref) else {
        return;
    };
    let diff = first_difference(gfn, b'C', 0..HALF);
    check(
        &name("gnttab_dom0_page_contents"),
        diff.is_none(),
        format_args!("gref {gref} at gfn {gfn:#x}, first difference at {diff:?}"),
    );
    for i in HALF..4096 {
        shm::write_frame_byte(gfn, i, pattern(b'D', i));
    }
    grants.unmap_foreign(prefix, gfn);
}

/// The PV console ring (`struct xencons_interface`): `out` at 1024 (2048 bytes), `out_cons` at
/// 3080, `out_prod` at 3084.
const OUT: usize = 1024;
const OUT_SIZE: u32 = 2048;
const OUT_CONS: usize = 3080;
const OUT_PROD: usize = 3084;

/// Writes a line to our PV console ring and waits until the backend (dom0's xenconsoled) has
/// consumed it; returns the line for dom0 to find in its log.
fn console_ring() -> Option<&'static str> {
    const LINE: &str = "XTK-CONSOLE: the console ring of the domU reached dom0";
    let xen = hv();
    let pfn = ok(
        "peer.console_hvm_param_pfn",
        xen::hvm::get_param(xen, HVM_PARAM_CONSOLE_PFN),
    )?;
    let port = ok(
        "peer.console_hvm_param_evtchn",
        xen::hvm::get_param(xen, HVM_PARAM_CONSOLE_EVTCHN),
    )?;
    let port = u32::try_from(port).ok()?;
    let base = usize::try_from(pfn << 12).ok()?;
    let word = |offset: usize| {
        // SAFETY: the console page is a frame the toolstack gave us, identity-mapped below
        // 4 GiB; the indices are shared with the backend and only touched atomically.
        unsafe { AtomicU32::from_ptr(core::ptr::with_exposed_provenance_mut::<u32>(base + offset)) }
    };
    let prod = word(OUT_PROD).load(Ordering::SeqCst);
    let cons = word(OUT_CONS).load(Ordering::SeqCst);
    let free = OUT_SIZE.saturating_sub(prod.wrapping_sub(cons));
    let line = b"XTK-CONSOLE: the console ring of the domU reached dom0\r\n";
    if usize::try_from(free).unwrap_or(0) < line.len() {
        check(
            "peer.console_ring_space",
            false,
            format_args!("prod {prod}, cons {cons}"),
        );
        return None;
    }
    let mut at = prod;
    for &byte in line {
        let slot = usize::try_from(at % OUT_SIZE).unwrap_or(0);
        let p = core::ptr::with_exposed_provenance_mut::<u8>(base + OUT + slot);
        // SAFETY: inside the `out` array of the console page; the slot is free (checked above).
        unsafe { p.write_volatile(byte) };
        at = at.wrapping_add(1);
    }
    core::sync::atomic::fence(Ordering::SeqCst);
    word(OUT_PROD).store(at, Ordering::SeqCst);
    ok("peer.console_notify_backend", evtchn::send(xen, port));
    let deadline = events::now_ns().saturating_add(5_000 * MS);
    let mut consumed = word(OUT_CONS).load(Ordering::SeqCst);
    while consumed != at && events::now_ns() < deadline {
        xen::sched::yield_now(xen);
        consumed = word(OUT_CONS).load(Ordering::SeqCst);
    }
    check(
        "peer.console_backend_consumed_ring",
        consumed == at,
        format_args!("out_prod {at}, out_cons {consumed}"),
    );
    Some(LINE)
}
