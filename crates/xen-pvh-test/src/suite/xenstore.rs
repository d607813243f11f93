// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The domU scenario (`xtk.mode=domu`, run by scripts/xen-full-test): the project's store client
//! (`xenbus::store::Store` over `RingTransport`) on the real xenstore ring of a PVH guest, found
//! through `HVM_PARAM_STORE_PFN`/`HVM_PARAM_STORE_EVTCHN`, against Debian's xenstored in a Linux
//! dom0, kicked through the real event channel.
//!
//! Protocol with dom0's script: dom0 creates `/local/domain/0/xtk-secret` (dom0 only) before it
//! creates us; we watch `data/ping`, then write `data/ready`; dom0 answers by writing
//! `data/ping = pong`, which must fire our watch. Then the inter-domain rounds run
//! (`peer.rs`, `subsystems.rs`, over `data/peer/` and `data/xenbus/`); at the end we write
//! `data/result`.

use super::{hv, shm};
use crate::harness::{check, counts, ok};
use crate::{events, kprintln};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Debug;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};
use xen_headers::hvm::params::{HVM_PARAM_STORE_EVTCHN, HVM_PARAM_STORE_PFN};
use xenbus::store::ring::{EventChannel, RingTransport};
use xenbus::store::{NtStatus, Store, StoreConfig, StoreError, Wait, WatchEvent, status as st};

const MS: u64 = 1_000_000;
/// One wait slice of the transport.
const SLICE_NS: u64 = 250 * MS;
/// How long we wait for dom0's write.
const DOM0_TIMEOUT_NS: u64 = 30_000 * MS;

/// The xenstore event channel: `EVTCHNOP_send` to kick, `SCHEDOP_poll` to wait. The port stays
/// masked-or-not as Xen left it. The wait counts as signalled when the port's 2-level pending
/// bit is set, or when the poll returned before its deadline: while the xenbus rounds run
/// EVTCHN, its interrupt handler may see the event first, and under the FIFO ABI the pending
/// state lives in EVTCHN's event array, out of this transport's sight; Xen's poll still
/// returns as soon as the port is pending under either ABI.
pub(super) struct Port(u32);

impl EventChannel for Port {
    fn notify(&mut self) {
        let _ = xen::event_channel::send(hv(), self.0);
    }

    fn wait(&mut self) -> Wait {
        let deadline = events::now_ns().saturating_add(SLICE_NS);
        let _ = xen::sched::poll(hv(), &[self.0], deadline);
        let early = events::now_ns() < deadline;
        let signalled = shm::pending(self.0) || early;
        shm::clear_pending(self.0);
        if signalled {
            Wait::Signalled
        } else {
            Wait::TimedOut
        }
    }
}

/// Points the store client at the store's event channel as `HVM_PARAM_STORE_EVTCHN` now names
/// it (an `EVTCHNOP_reset` closes the port and EVTCHN binds the channel again under a new
/// number); returns the old and new port.
pub(super) fn follow_store_port(store: &RingStore) -> Option<(u32, u32)> {
    let port = xen::hvm::get_param(hv(), HVM_PARAM_STORE_EVTCHN).ok()?;
    let port = u32::try_from(port).ok()?;
    let old = store.with_transport(|t| core::mem::replace(&mut t.event_channel().0, port));
    Some((old, port))
}

/// Counts the times a watch fired.
struct Counter(AtomicU32);

impl WatchEvent for Counter {
    fn signal(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Passes when a store call succeeded, and returns the value.
pub(super) fn sok<T: Debug>(name: &str, result: Result<T, StoreError>) -> Option<T> {
    match result {
        Ok(value) => {
            check(name, true, format_args!("ok {value:?}"));
            Some(value)
        }
        Err(err) => {
            let code = err.ntstatus().cast_unsigned();
            check(name, false, format_args!("{err} -> {code:#010x}"));
            None
        }
    }
}

/// Passes when a store call failed with the status upstream returns as `want`.
fn sstatus<T: Debug>(name: &str, result: Result<T, StoreError>, want: NtStatus) -> bool {
    let want_code = want.cast_unsigned();
    match result {
        Ok(value) => check(
            name,
            false,
            format_args!("succeeded with {value:?}, wanted {want_code:#010x}"),
        ),
        Err(err) => {
            let got = err.ntstatus();
            check(
                name,
                got == want,
                format_args!(
                    "{err} -> {:#010x}, wanted {want_code:#010x}",
                    got.cast_unsigned()
                ),
            )
        }
    }
}

/// Passes when `got` is `want`; shows both as text.
#[allow(clippy::needless_pass_by_value)] // Call sites pass fresh reads.
fn check_text(name: &str, got: Vec<u8>, want: &[u8]) -> bool {
    check(
        name,
        got == want,
        format_args!("got {:?}, want {:?}", show(&got), show(want)),
    )
}

pub(super) type RingStore = Store<crate::port::Kernel, RingTransport<Port>>;

pub(super) fn text(
    buffer: Result<xenbus::store::StoreBuffer, xenbus::store::StoreError>,
) -> Vec<u8> {
    buffer.map(|b| b.as_bytes().to_vec()).unwrap_or_default()
}

pub(super) fn show(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).unwrap_or("?")
}

/// Runs the guest's xenstore checks.
pub fn domu() {
    let xen = hv();
    let Some(pfn) = ok(
        "store.hvm_param_store_pfn",
        xen::hvm::get_param(xen, HVM_PARAM_STORE_PFN),
    ) else {
        return;
    };
    let Some(port) = ok(
        "store.hvm_param_store_evtchn",
        xen::hvm::get_param(xen, HVM_PARAM_STORE_EVTCHN),
    ) else {
        return;
    };
    let port = u32::try_from(port).unwrap_or(0);
    let page =
        core::ptr::with_exposed_provenance_mut::<u8>(usize::try_from(pfn << 12).unwrap_or(0));
    let Some(page) = NonNull::new(page) else {
        check("store.ring_page", false, format_args!("pfn {pfn:#x}"));
        return;
    };
    // SAFETY: the store page is a frame Xen populated for this guest, identity-mapped by the
    // boot page tables (below 4 GiB), page-aligned, and nothing else in this kernel touches it.
    let transport = unsafe { RingTransport::new(page, Port(port)) };
    let store: RingStore = Store::new(crate::port::Kernel, transport, StoreConfig::default());

    let domid = text(store.read(None, None, b"domid"));
    let id: u32 = show(&domid).parse().unwrap_or(0);
    check(
        "store.read_relative_domid",
        id != 0,
        format_args!("domid {:?}", show(&domid)),
    );
    check_text(
        "store.read_relative_name",
        text(store.read(None, None, b"name")),
        b"xtk-domu",
    );
    let mut home = Vec::new();
    home.extend_from_slice(b"/local/domain/");
    home.extend_from_slice(&domid);
    check_text(
        "store.read_absolute_matches_relative",
        text(store.read(None, Some(&home), b"domid")),
        &domid,
    );
    let own = text(store.directory(None, None, &home));
    let names: Vec<&[u8]> = own.split(|&b| b == 0).collect();
    check(
        "store.directory_own_domain",
        names.contains(&b"name".as_slice()) && names.contains(&b"data".as_slice()),
        format_args!("{} bytes", own.len()),
    );

    write_and_directory(&store, &home);
    transactions(&store);
    permissions(&store);
    watches(&store);
    super::peer::run(&store);

    let (passed, failed) = counts();
    let written = store.printf(
        None,
        None,
        b"data/result",
        format_args!("{passed} passed, {failed} failed"),
    );
    if let Err(err) = written {
        kprintln!("XTK: writing data/result failed: {err}");
    }
}

fn write_and_directory(store: &RingStore, home: &[u8]) {
    sok(
        "store.write_relative",
        store.write(None, None, b"data/xtk", b"hello"),
    );
    check_text(
        "store.read_back_absolute",
        text(store.read(None, Some(home), b"data/xtk")),
        b"hello",
    );
    sok(
        "store.printf",
        store.printf(None, None, b"data/dir/a", format_args!("{}", 42)),
    );
    sok(
        "store.write_second_child",
        store.write(None, None, b"data/dir/b", b""),
    );
    let list = text(store.directory(None, None, b"data/dir"));
    check_text("store.directory_children", list, b"a\0b\0");
    sok("store.remove", store.remove(None, None, b"data/dir/a"));
    sstatus(
        "store.read_removed_is_not_found",
        store.read(None, None, b"data/dir/a"),
        st::OBJECT_NAME_NOT_FOUND,
    );
    sstatus(
        "store.read_missing_is_not_found",
        store.read(None, None, b"data/never-written"),
        st::OBJECT_NAME_NOT_FOUND,
    );
    sok(
        "store.remove_subtree",
        store.remove(None, None, b"data/dir"),
    );
    sstatus(
        "store.directory_removed_is_not_found",
        store.directory(None, None, b"data/dir"),
        st::OBJECT_NAME_NOT_FOUND,
    );
}

fn transactions(store: &RingStore) {
    let Some(tx) = sok("store.transaction_start", store.transaction_start()) else {
        return;
    };
    sok(
        "store.transaction_write",
        store.write(Some(tx), None, b"data/tx", b"1"),
    );
    sstatus(
        "store.transaction_isolated_before_commit",
        store.read(None, None, b"data/tx"),
        st::OBJECT_NAME_NOT_FOUND,
    );
    sok("store.transaction_commit", store.transaction_end(tx, true));
    check_text(
        "store.transaction_committed_value",
        text(store.read(None, None, b"data/tx")),
        b"1",
    );
    if let Some(tx) = sok("store.transaction_start_abort", store.transaction_start()) {
        let _ = store.write(Some(tx), None, b"data/tx-aborted", b"1");
        sok("store.transaction_abort", store.transaction_end(tx, false));
        sstatus(
            "store.transaction_aborted_not_written",
            store.read(None, None, b"data/tx-aborted"),
            st::OBJECT_NAME_NOT_FOUND,
        );
    }
}

fn permissions(store: &RingStore) {
    sstatus(
        "store.read_dom0_node_is_access_denied",
        store.read(None, None, b"/local/domain/0/xtk-secret"),
        st::ACCESS_DENIED,
    );
    sstatus(
        "store.write_dom0_node_is_access_denied",
        store.write(None, None, b"/local/domain/0/xtk-secret", b"x"),
        st::ACCESS_DENIED,
    );
}

fn watches(store: &RingStore) {
    let counter = Arc::new(Counter(AtomicU32::new(0)));
    let Some(watch) = sok(
        "store.watch_add",
        store.watch_add(None, b"data/ping", counter.clone(), 0x5854_4b00),
    ) else {
        return;
    };
    let start = events::now_ns();
    let fired = wait_until(store, start.saturating_add(5_000 * MS), || {
        counter.0.load(Ordering::SeqCst) >= 1
    });
    check(
        "store.watch_initial_event",
        fired,
        format_args!("{} events", counter.0.load(Ordering::SeqCst)),
    );
    let before = counter.0.load(Ordering::SeqCst);
    sok(
        "store.write_ready",
        store.write(None, None, b"data/ready", b"1"),
    );
    let start = events::now_ns();
    let mut value = Vec::new();
    let fired = wait_until(store, start.saturating_add(DOM0_TIMEOUT_NS), || {
        counter.0.load(Ordering::SeqCst) > before && {
            value = text(store.read(None, None, b"data/ping"));
            value == b"pong"
        }
    });
    check(
        "store.watch_event_from_dom0",
        fired,
        format_args!(
            "{} events, data/ping {:?} after {} ms",
            counter.0.load(Ordering::SeqCst),
            show(&value),
            (events::now_ns().saturating_sub(start)) / MS
        ),
    );
    sok("store.watch_remove", store.watch_remove(watch));
}

/// Polls the store (replies and watch events) until `done` or the absolute `deadline`.
fn wait_until(store: &RingStore, deadline: u64, mut done: impl FnMut() -> bool) -> bool {
    loop {
        store.poll();
        if done() {
            return true;
        }
        if events::now_ns() >= deadline {
            return false;
        }
        let _ = store.with_transport(|t| t.event_channel().wait());
    }
}
