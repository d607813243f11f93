// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The inter-domain round again, through the real xenbus subsystems over [`crate::port`] (the
//! kernel's `platform_port::Platform`) and `xen::services::Direct` (the real hypercall
//! instruction): EVTCHN opens the port UNBOUND for dom0 and delivers dom0's notifications to a
//! callback through the per-vCPU upcall vector and the kernel's interrupt handler, with
//! interrupts live as on Windows (masked only at `HIGH_LEVEL`).
//!
//! EVTCHN runs the 2-level ABI here: the store client of this kernel waits on its own port
//! through the 2-level pending bitmap, which FIFO would bypass.

use super::SHARED_INFO_GFN;
use super::peer::{self, EventSide};
use super::xenstore::RingStore;
use crate::arch::{self, Page};
use crate::events;
use crate::harness::check;
use crate::port::{self, Kernel, KernelInterrupts};
use alloc::format;
use alloc::sync::{Arc, Weak};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};
use xen::hypercall::Xen;
use xen::services::Direct;
use xenbus::evtchn::{Channel, Evtchn, EvtchnConfig, OpenKind};
use xenbus::shared_info::{ProcessorVcpu, SharedInfo};

type KernelEvtchn = Evtchn<Kernel, Direct<Xen>, KernelInterrupts>;

/// The page this round grants to dom0.
static XENBUS_PAGE: Page = Page::new();
/// Its grant reference.
const REF_XENBUS: u32 = 9;

/// EVTCHN's side of the exchange.
struct SubsystemEvents {
    evtchn: Arc<KernelEvtchn>,
    channel: Option<Arc<Channel>>,
    /// Times the callback ran.
    calls: Arc<AtomicU32>,
}

impl EventSide for SubsystemEvents {
    fn open_unbound(&mut self, prefix: &str) -> Option<u32> {
        let calls = Arc::clone(&self.calls);
        let callback = Arc::new(move || {
            calls.fetch_add(1, Ordering::SeqCst);
            true
        });
        let opened = self.evtchn.open(
            OpenKind::Unbound {
                remote_domain: 0,
                auto_mask: false,
            },
            callback,
            0,
        );
        let channel = match opened {
            Ok(channel) => channel,
            Err(error) => {
                check(
                    &format!("{prefix}.evtchn_open_unbound_for_dom0"),
                    false,
                    format_args!("{error} -> {:#010x}", error.status().cast_unsigned()),
                );
                return None;
            }
        };
        let port = self.evtchn.get_port(&channel);
        let pending = self.evtchn.unmask(&channel, false, false);
        check(
            &format!("{prefix}.evtchn_open_unbound_for_dom0"),
            true,
            format_args!("port {port}, pending at unmask {pending}"),
        );
        self.channel = Some(channel);
        Some(port)
    }

    fn wait_event(&mut self, prefix: &str, ns: u64) -> bool {
        let Some(channel) = self.channel.as_ref() else {
            return false;
        };
        let count = self.evtchn.get_count(channel);
        let calls = self.calls.load(Ordering::SeqCst);
        let upcalls = events::upcalls(0, 1);
        let timeout = i64::try_from(ns / 100).unwrap_or(i64::MAX);
        let waited = self
            .evtchn
            .wait(channel, count.wrapping_add(1), Some(-timeout));
        let after = self.calls.load(Ordering::SeqCst);
        let upcalls_after = events::upcalls(0, 1);
        check(
            &format!("{prefix}.evtchn_callback_from_dom0_notify"),
            waited.is_ok() && after > calls && upcalls_after > upcalls,
            format_args!(
                "{waited:?}, count {count} -> {}, callbacks {calls} -> {after}, upcall vector \
                 taken {upcalls} -> {upcalls_after}",
                self.evtchn.get_count(channel)
            ),
        )
    }

    fn send(&mut self, prefix: &str) {
        if let Some(channel) = self.channel.as_ref() {
            self.evtchn.send(channel);
        }
        check(
            &format!("{prefix}.evtchn_send_to_dom0"),
            self.channel.is_some(),
            format_args!("EvtchnSend"),
        );
    }

    fn close(&mut self, prefix: &str) {
        if let Some(channel) = self.channel.take() {
            self.evtchn.close(channel);
        }
        let left = self.evtchn.channel_count();
        check(
            &format!("{prefix}.evtchn_close_leaves_no_channel"),
            left == 0,
            format_args!("{left} channels"),
        );
    }
}

/// Brings EVTCHN up on the real Xen, runs the round and tears it down again.
pub fn run(store: &RingStore) {
    let pages_before = port::outstanding_pages();
    let services = Arc::new(Direct::new(*crate::xen(), 1));
    let page = NonNull::new(core::ptr::with_exposed_provenance_mut::<u8>(
        usize::try_from(SHARED_INFO_GFN << 12).unwrap_or(0),
    ));
    let Some(page) = page else {
        return;
    };
    let cpus = [ProcessorVcpu {
        vcpu_id: Some(0),
        registered: None,
    }];
    // SAFETY: shared_info is mapped at SHARED_INFO_GFN (memory::shared_info) for the rest of
    // the run, identity-mapped; from here on the kernel touches it only atomically.
    let shared = match unsafe { SharedInfo::new(page, &cpus) } {
        Ok(shared) => shared,
        Err(error) => {
            check("xenbus.shared_info", false, format_args!("{error:?}"));
            return;
        }
    };
    let config = EvtchnConfig {
        use_fifo_abi: false,
        use_upcall: true,
    };
    let evtchn = match Evtchn::new(Kernel, services, KernelInterrupts, Arc::new(shared), config) {
        Ok(evtchn) => evtchn,
        Err(error) => {
            check("xenbus.evtchn_new", false, format_args!("{error}"));
            return;
        }
    };
    let weak: Weak<KernelEvtchn> = Arc::downgrade(&evtchn);
    port::set_isr(alloc::boxed::Box::new(move |cpu| {
        weak.upgrade().is_some_and(|e| e.interrupt(cpu))
    }));
    // Xen delivers the per-vCPU upcall vector through the virtual LAPIC only when enabled.
    arch::enable_lapic();
    port::go_live();
    let acquired = evtchn.acquire();
    check(
        "xenbus.evtchn_acquire",
        acquired.is_ok() && evtchn.upcall_enabled(0),
        format_args!(
            "{acquired:?}, ABI {:?}, upcall vector on CPU 0: {}",
            evtchn.abi_kind(),
            evtchn.upcall_enabled(0)
        ),
    );
    if acquired.is_ok() {
        let mut side = SubsystemEvents {
            evtchn: Arc::clone(&evtchn),
            channel: None,
            calls: Arc::new(AtomicU32::new(0)),
        };
        peer::round(store, "xenbus", &mut side, &XENBUS_PAGE, REF_XENBUS, None);
        drop(side);
        evtchn.release();
        check(
            "xenbus.evtchn_release",
            evtchn.abi_kind().is_none() && !evtchn.upcall_enabled(0),
            format_args!("ABI {:?}", evtchn.abi_kind()),
        );
    }
    port::stop_live();
    drop(evtchn);
    let pages_after = port::outstanding_pages();
    check(
        "xenbus.no_pages_leaked",
        pages_after == pages_before,
        format_args!("{pages_before} -> {pages_after} pages outstanding"),
    );
}
