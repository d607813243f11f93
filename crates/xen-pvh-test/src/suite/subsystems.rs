// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The inter-domain round again, through the real xenbus subsystems over [`crate::port`] (the
//! kernel's `platform_port::Platform`) and `xen::services::Direct` (the real hypercall
//! instruction):
//!
//! * EVTCHN opens the port UNBOUND for dom0 and delivers dom0's notifications to a callback
//!   through the per-vCPU upcall vector and the kernel's interrupt handler, with interrupts
//!   live as on Windows (masked only at `HIGH_LEVEL`);
//! * GNTTAB (over CACHE, whose monitor runs as a cooperative thread of the port) permits dom0's
//!   access to our page, refuses to revoke while dom0 has it mapped and revokes after, and maps
//!   dom0's grant with `MapForeignPages`;
//! * CONSOLE writes a line on the PV console ring that dom0's xenconsoled must log.
//!
//! The round runs twice: "xenbus" with EVTCHN on the 2-level ABI, "fifo" with the FIFO ABI.
//! Each is followed, on the same EVTCHN and GNTTAB, by a throughput round (`throughput.rs`:
//! "throughput-2l" with grants and events, "throughput-fifo" with events).
//! Releasing FIFO resets the domain's event channels (`EVTCHNOP_reset`), and EVTCHN binds the
//! store and console channels again under new port numbers; the store client of this kernel
//! then follows the new store port (`xenstore::follow_store_port`).

use super::SHARED_INFO_GFN;
use super::peer::{self, EventSide};
use super::xenstore::RingStore;
use crate::arch::{self, Page};
use crate::events;
use crate::harness::check;
use crate::port::{self, Kernel, KernelInterrupts};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::{Arc, Weak};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;
use platform_port::{Event, EventKind, Events};
use xen::hypercall::Xen;
use xen::services::Direct;
use xenbus::cache::CacheContext;
use xenbus::console::{Console, ConsoleEvtchn, ConsoleGnttab};
use xenbus::evtchn::{AbiKind, Channel, Evtchn, EvtchnConfig, EvtchnError, OpenKind};
use xenbus::gnttab::{Gnttab, GnttabCache, GnttabError, GrantEntry};
use xenbus::shared_info::{ProcessorVcpu, SharedInfo};
use xenbus::store::NtStatus;

type Services = Direct<Xen>;
type KernelEvtchn = Evtchn<Kernel, Services, KernelInterrupts>;
type KernelGnttab = Gnttab<Kernel, Services>;

/// How often the CACHE monitor runs here (upstream: 5 s), so it runs during the round.
const MONITOR_PERIOD: Duration = Duration::from_millis(50);

/// The page this round grants to dom0.
static XENBUS_PAGE: Page = Page::new();

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

/// GNTTAB's side of the exchange.
struct SubsystemGrants {
    gnttab: Arc<KernelGnttab>,
    cache: Arc<GnttabCache<Kernel>>,
    entry: Option<GrantEntry>,
    reference: u32,
    mapped: u64,
}

impl peer::GrantSide for SubsystemGrants {
    fn permit(&mut self, prefix: &str, frame: u64) -> Option<u32> {
        let permitted = self
            .gnttab
            .permit_foreign_access(&self.cache, false, 0, frame, false);
        let detail = match &permitted {
            Ok(entry) => format!("reference {}", entry.reference()),
            Err(error) => format!("{error}"),
        };
        let entry = permitted.ok();
        check(
            &format!("{prefix}.gnttab_permit_foreign_access"),
            entry.is_some(),
            format_args!("frame {frame:#x}: {detail}"),
        );
        let entry = entry?;
        self.reference = entry.reference();
        let query = self.gnttab.query_reference(self.reference);
        check(
            &format!("{prefix}.gnttab_query_reference"),
            query == Ok((frame, false)),
            format_args!("{query:?}"),
        );
        self.entry = Some(entry);
        Some(self.reference)
    }

    fn flags(&self) -> Option<u16> {
        None
    }

    fn still_granted(&self) -> bool {
        self.entry.is_some()
    }

    fn revoke(&mut self) -> Result<(), String> {
        let entry = self.entry.take().ok_or_else(|| "no entry".to_string())?;
        match self.gnttab.revoke_foreign_access(&self.cache, false, entry) {
            Ok(()) => Ok(()),
            Err((error, entry)) => {
                self.entry = Some(entry);
                Err(format!(
                    "{error} -> {:#010x}",
                    error.status().cast_unsigned()
                ))
            }
        }
    }

    fn map_foreign(&mut self, prefix: &str, gref: u32) -> Option<u64> {
        let mapped = self.gnttab.map_foreign_pages(0, &[gref], false);
        check(
            &format!("{prefix}.gnttab_map_foreign_pages"),
            mapped.is_ok(),
            format_args!("{mapped:x?}"),
        );
        self.mapped = mapped.ok()?;
        Some(self.mapped >> 12)
    }

    fn unmap_foreign(&mut self, prefix: &str, _gfn: u64) {
        let unmapped = self.gnttab.unmap_foreign_pages(self.mapped);
        check(
            &format!("{prefix}.gnttab_unmap_foreign_pages"),
            unmapped.is_ok() && self.gnttab.foreign_map_count() == 0,
            format_args!(
                "{unmapped:?}, {} maps left",
                self.gnttab.foreign_map_count()
            ),
        );
    }
}

/// EVTCHN as CONSOLE sees it.
struct ConsoleChannels(Arc<KernelEvtchn>);

impl ConsoleEvtchn for ConsoleChannels {
    type Channel = Arc<Channel>;

    fn acquire(&self) -> Result<(), NtStatus> {
        self.0.acquire().map_err(EvtchnError::status)
    }

    fn release(&self) {
        self.0.release();
    }

    fn open_fixed(
        &self,
        port: u32,
        callback: Arc<dyn Fn() + Send + Sync>,
    ) -> Result<Arc<Channel>, NtStatus> {
        let kind = OpenKind::Fixed {
            port,
            auto_mask: false,
        };
        let callback = Arc::new(move || {
            callback();
            true
        });
        self.0.open(kind, callback, 0).map_err(EvtchnError::status)
    }

    fn unmask(&self, channel: &Arc<Channel>) {
        self.0.unmask(channel, false, true);
    }

    fn send(&self, channel: &Arc<Channel>) {
        self.0.send(channel);
    }

    fn close(&self, channel: Arc<Channel>) {
        self.0.close(channel);
    }
}

/// GNTTAB as CONSOLE sees it.
struct ConsoleGrants(Arc<KernelGnttab>);

impl ConsoleGnttab for ConsoleGrants {
    fn acquire(&self) -> Result<(), NtStatus> {
        self.0.acquire().map_err(GnttabError::status)
    }

    fn release(&self) {
        self.0.release();
    }

    fn query_reference(&self, reference: u32) -> Result<u64, NtStatus> {
        self.0
            .query_reference(reference)
            .map(|(frame, _)| frame)
            .map_err(GnttabError::status)
    }
}

/// Writes this round's console line through CONSOLE; returns it (for dom0 to find in
/// xenconsoled's log) when the whole line went onto the ring.
fn console_line(
    prefix: &str,
    services: &Arc<Services>,
    evtchn: &Arc<KernelEvtchn>,
    gnttab: &Arc<KernelGnttab>,
) -> Option<String> {
    let console = Console::new(
        Kernel,
        Arc::clone(services),
        Arc::new(ConsoleChannels(Arc::clone(evtchn))),
        Arc::new(ConsoleGrants(Arc::clone(gnttab))),
    );
    let acquired = console.acquire();
    check(
        &format!("{prefix}.console_acquire"),
        acquired.is_ok(),
        format_args!("{acquired:?}"),
    );
    acquired.ok()?;
    let text = format!("XTK-CONSOLE: the xenbus CONSOLE subsystem reached dom0 in round {prefix}");
    let line = format!("{text}\r\n");
    let written = console.write(line.as_bytes());
    check(
        &format!("{prefix}.console_write"),
        written == line.len(),
        format_args!("{written} of {} bytes", line.len()),
    );
    console.release();
    (written == line.len()).then_some(text)
}

/// Brings the subsystems up on the real Xen (EVTCHN with the FIFO ABI if `fifo`, else
/// 2-level), runs round `prefix` and tears them down again.
pub fn run(store: &RingStore, prefix: &str, fifo: bool) {
    let pages_before = port::outstanding_pages();
    let services: Arc<Services> = Arc::new(Direct::new(*crate::xen(), 1));
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
            check(
                &format!("{prefix}.shared_info"),
                false,
                format_args!("{error:?}"),
            );
            return;
        }
    };
    let config = EvtchnConfig {
        use_fifo_abi: fifo,
        use_upcall: true,
    };
    let evtchn = match Evtchn::new(
        Kernel,
        Arc::clone(&services),
        KernelInterrupts,
        Arc::new(shared),
        config,
    ) {
        Ok(evtchn) => evtchn,
        Err(error) => {
            check(
                &format!("{prefix}.evtchn_new"),
                false,
                format_args!("{error}"),
            );
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
    let abi = if fifo {
        AbiKind::Fifo
    } else {
        AbiKind::TwoLevel
    };
    check(
        &format!("{prefix}.evtchn_acquire"),
        acquired.is_ok() && evtchn.abi_kind() == Some(abi) && evtchn.upcall_enabled(0),
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
        grants_round(store, prefix, fifo, &services, &evtchn, &mut side);
        drop(side);
        evtchn.release();
        check(
            &format!("{prefix}.evtchn_release"),
            evtchn.abi_kind().is_none() && !evtchn.upcall_enabled(0),
            format_args!("ABI {:?}", evtchn.abi_kind()),
        );
    }
    port::stop_live();
    drop(evtchn);
    let pages_after = port::outstanding_pages();
    check(
        &format!("{prefix}.no_pages_leaked"),
        pages_after == pages_before,
        format_args!("{pages_before} -> {pages_after} pages outstanding"),
    );
}

/// CACHE and GNTTAB up, the console line, the round, the throughput round, and everything
/// down again.
fn grants_round(
    store: &RingStore,
    prefix: &str,
    fifo: bool,
    services: &Arc<Services>,
    evtchn: &Arc<KernelEvtchn>,
    events: &mut SubsystemEvents,
) {
    let (threads_before, _) = port::thread_counts();
    let cache = match CacheContext::with_monitor_period(&Kernel, Some(MONITOR_PERIOD)) {
        Ok(cache) => Arc::new(cache),
        Err(error) => {
            check(
                &format!("{prefix}.cache_context"),
                false,
                format_args!("{error:?}"),
            );
            return;
        }
    };
    let (threads_started, _) = port::thread_counts();
    check(
        &format!("{prefix}.cache_monitor_thread_started"),
        threads_started == threads_before + 1,
        format_args!("{threads_before} -> {threads_started} threads"),
    );
    let gnttab = match Gnttab::new(Kernel, Arc::clone(services), Arc::clone(&cache)) {
        Ok(gnttab) => Arc::new(gnttab),
        Err(error) => {
            check(
                &format!("{prefix}.gnttab_new"),
                false,
                format_args!("{error}"),
            );
            cache.teardown();
            return;
        }
    };
    let acquired = gnttab.acquire();
    check(
        &format!("{prefix}.gnttab_acquire"),
        acquired.is_ok() && gnttab.frame_count() >= 1,
        format_args!(
            "{acquired:?}, {} frames of at most {}",
            gnttab.frame_count(),
            gnttab.max_frames()
        ),
    );
    if acquired.is_ok() {
        console_and_round(store, prefix, services, evtchn, &gnttab, events);
        // The throughput round, on the same EVTCHN and GNTTAB (grants in the 2-level round).
        let (throughput, grants) = if fifo {
            ("throughput-fifo", false)
        } else {
            ("throughput-2l", true)
        };
        super::throughput::run(store, throughput, evtchn, &gnttab, grants);
        gnttab.release();
    }
    drop(gnttab);
    // Sleep as a driver would for a few monitor periods: the monitor thread runs meanwhile.
    let switches = port::switches();
    let nap = Kernel.new_event(EventKind::Notification);
    let woken = nap.wait(Some(MONITOR_PERIOD * 3));
    let ran = port::switches().saturating_sub(switches);
    check(
        &format!("{prefix}.cache_monitor_thread_runs_while_we_wait"),
        !woken && ran >= 2,
        format_args!("{ran} context switches in {MONITOR_PERIOD:?} x 3"),
    );
    cache.teardown();
    let (started, finished) = port::thread_counts();
    check(
        &format!("{prefix}.cache_monitor_thread_joined"),
        started == finished,
        format_args!("{finished} of {started} threads finished"),
    );
}

/// The console line, then the round with a grant cache of GNTTAB (destroyed after).
fn console_and_round(
    store: &RingStore,
    prefix: &str,
    services: &Arc<Services>,
    evtchn: &Arc<KernelEvtchn>,
    gnttab: &Arc<KernelGnttab>,
    events: &mut SubsystemEvents,
) {
    let marker = console_line(prefix, services, evtchn, gnttab);
    let noop: xenbus::cache::LockFn = Arc::new(|| {});
    match gnttab.create_cache("xtk", 0, 0, Arc::clone(&noop), noop) {
        Ok(grant_cache) => {
            let mut grants = SubsystemGrants {
                gnttab: Arc::clone(gnttab),
                cache: Arc::clone(&grant_cache),
                entry: None,
                reference: 0,
                mapped: 0,
            };
            peer::round(
                store,
                prefix,
                events,
                &mut grants,
                &XENBUS_PAGE,
                marker.as_deref(),
            );
            let leftover = grants.entry.take();
            check(
                &format!("{prefix}.gnttab_no_entry_left"),
                leftover.is_none(),
                format_args!("{:?}", leftover.as_ref().map(GrantEntry::reference)),
            );
            drop(grants);
            let destroyed = gnttab.destroy_cache(&grant_cache);
            check(
                &format!("{prefix}.gnttab_destroy_cache"),
                destroyed.is_ok(),
                format_args!("{destroyed:?}"),
            );
        }
        Err(error) => {
            check(
                &format!("{prefix}.gnttab_create_cache"),
                false,
                format_args!("{error}"),
            );
        }
    }
}
