// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The STORE subsystem's connection to xenstored (upstream `StoreAcquire`/`Release` and the
//! SUSPEND callbacks around the client in [`super::Store`]).
//!
//! The first [`acquire`](StoreLink::acquire) finds the ring page through grant reference 1
//! (`GnttabQueryReference(XENBUS_GNTTAB_STORE_REFERENCE)`: the frame the toolstack granted to
//! xenstored; `HVM_PARAM_STORE_PFN` is not used, as upstream), maps it, opens
//! `HVM_PARAM_STORE_EVTCHN` as a FIXED channel without auto-mask and force-unmasks it. Events
//! queue the store DPC, which polls the ring; a submitter also polls while it waits (5 s slices
//! of `EvtchnWait`), so the store works without interrupts.
//!
//! [`suspend_early`](StoreLink::suspend_early) expires every watch and transaction;
//! [`suspend_late`](StoreLink::suspend_late) re-reads the ring frame (logging if it moved, which
//! upstream only ASSERTs), re-opens the channel from the HVM parameter (its port may differ in
//! the new domain), resets the partial-reply state and signals every watch.

use alloc::sync::{Arc, Weak};
use core::fmt;
use core::ptr::NonNull;

use ntstatus::{NtStatus, STATUS_UNSUCCESSFUL};
use platform_port::{Dpc, Interrupts, IrqlLock, Platform, PortError, plog};
use xen_headers::grant_table::GNTTAB_RESERVED_XENSTORE;
use xen_headers::hvm::params::HVM_PARAM_STORE_EVTCHN;
use xen_services::XenServices;

use super::ring::{EventChannel, RingTransport};
use super::{Store, StoreConfig, Wait};
use crate::evtchn::{Channel, Evtchn, EvtchnError, OpenKind};
use crate::gnttab::{Gnttab, GnttabError};

/// One wait slice: 5 s relative, in the 100 ns units of `EvtchnWait`.
const WAIT_SLICE: i64 = -50_000_000;

/// The store's doorbell over an EVTCHN channel.
pub struct StoreChannel<P: Platform, S: XenServices + 'static, I: Interrupts + 'static> {
    evtchn: Arc<Evtchn<P, S, I>>,
    channel: Option<Arc<Channel>>,
}

impl<P: Platform, S: XenServices + 'static, I: Interrupts + 'static> EventChannel
    for StoreChannel<P, S, I>
{
    fn notify(&mut self) {
        if let Some(channel) = &self.channel {
            self.evtchn.send_version1(channel);
        }
    }

    fn wait(&mut self) -> Wait {
        let Some(channel) = &self.channel else {
            return Wait::TimedOut;
        };
        let target = self.evtchn.get_count(channel).wrapping_add(1);
        match self.evtchn.wait(channel, target, Some(WAIT_SLICE)) {
            Ok(()) => Wait::Signalled,
            Err(_) => Wait::TimedOut,
        }
    }
}

/// The store client over the guest's ring.
pub type GuestStore<P, S, I> = Store<P, RingTransport<StoreChannel<P, S, I>>>;

struct State {
    references: u32,
    pfn: u64,
    page: Option<NonNull<u8>>,
}

// SAFETY: the page address is a kernel mapping usable from any thread.
unsafe impl Send for State {}

/// `XENBUS_STORE_CONTEXT`'s connection.
pub struct StoreLink<P: Platform, S: XenServices + 'static, I: Interrupts + 'static> {
    platform: P,
    services: Arc<S>,
    evtchn: Arc<Evtchn<P, S, I>>,
    gnttab: Arc<Gnttab<P, S>>,
    config: StoreConfig,
    state: IrqlLock<P, State>,
    store: spin::RwLock<Option<Arc<GuestStore<P, S, I>>>>,
    dpc: P::Dpc,
}

impl<P: Platform, S: XenServices + 'static, I: Interrupts + 'static> fmt::Debug
    for StoreLink<P, S, I>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreLink")
            .field("references", &self.references())
            .finish_non_exhaustive()
    }
}

impl<P: Platform, S: XenServices + 'static, I: Interrupts + 'static> StoreLink<P, S, I> {
    /// A disconnected store (`StoreInitialize`).
    pub fn new(
        platform: P,
        services: Arc<S>,
        evtchn: Arc<Evtchn<P, S, I>>,
        gnttab: Arc<Gnttab<P, S>>,
        config: StoreConfig,
    ) -> Arc<Self> {
        Arc::new_cyclic(|weak: &Weak<Self>| {
            let weak = weak.clone();
            let dpc = platform.new_dpc(
                None,
                Arc::new(move || {
                    if let Some(link) = weak.upgrade() {
                        link.poll();
                    }
                }),
            );
            let state = IrqlLock::dispatch(
                platform.clone(),
                State {
                    references: 0,
                    pfn: 0,
                    page: None,
                },
            );
            Self {
                platform,
                services,
                evtchn,
                gnttab,
                config,
                state,
                store: spin::RwLock::new(None),
                dpc,
            }
        })
    }

    /// The current reference count.
    pub fn references(&self) -> u32 {
        self.state.lock().references
    }

    /// The connected client, `None` while not acquired.
    pub fn store(&self) -> Option<Arc<GuestStore<P, S, I>>> {
        self.store.read().clone()
    }

    /// The store DPC's body (and `StorePoll`): poll the ring if connected.
    pub fn poll(&self) {
        if let Some(store) = self.store() {
            store.poll();
        }
    }

    fn open_channel(self: &Arc<Self>) -> Result<Arc<Channel>, NtStatus> {
        let port = self.services.hvm_get_param(HVM_PARAM_STORE_EVTCHN)?;
        let port = u32::try_from(port).map_err(|_| STATUS_UNSUCCESSFUL)?;
        let weak = Arc::downgrade(self);
        let channel = self
            .evtchn
            .open(
                OpenKind::Fixed {
                    port,
                    auto_mask: false,
                },
                Arc::new(move || {
                    if let Some(link) = weak.upgrade() {
                        link.dpc.insert();
                    }
                    true
                }),
                0,
            )
            .map_err(EvtchnError::status)?;
        let _ = self.evtchn.unmask(&channel, false, true);
        Ok(channel)
    }

    fn ring_frame(&self) -> Result<u64, NtStatus> {
        self.gnttab
            .query_reference(GNTTAB_RESERVED_XENSTORE)
            .map(|(frame, _)| frame)
            .map_err(GnttabError::status)
    }

    /// Takes a reference; the first connects to xenstored.
    ///
    /// # Errors
    /// The status of the failed grant query, mapping, parameter read or channel open; nothing
    /// stays mapped or open.
    pub fn acquire(self: &Arc<Self>) -> Result<(), NtStatus> {
        // Every STORE reference holds an EVTCHN reference, as upstream's `StoreAcquire` holds
        // EVTCHN while STORE is acquired: the store's channel lives in EVTCHN, so a child that
        // holds STORE keeps it working while the FDO drops its own references (its D3).
        // Taken before the store's lock: a first EVTCHN acquire may not run under it.
        self.evtchn
            .acquire()
            .map_err(crate::evtchn::EvtchnError::status)?;
        let acquired = self.acquire_store();
        if acquired.is_err() {
            self.evtchn.release();
        }
        acquired
    }

    /// [`Self::acquire`]'s own part: the reference, and on the first the ring and channel.
    fn acquire_store(self: &Arc<Self>) -> Result<(), NtStatus> {
        let mut state = self.state.lock();
        if state.references > 0 {
            state.references = state.references.saturating_add(1);
            return Ok(());
        }
        let pfn = self.ring_frame()?;
        // SAFETY: the frame is the xenstore ring the toolstack placed in our RAM; it stays
        // there for the life of the domain.
        let page = unsafe { self.platform.map_physical(pfn, 1) }.map_err(PortError::status)?;
        let channel = match self.open_channel() {
            Ok(channel) => channel,
            Err(status) => {
                // SAFETY: mapped just above, unused.
                unsafe { self.platform.unmap_physical(page, 1) };
                return Err(status);
            }
        };
        let doorbell = StoreChannel {
            evtchn: Arc::clone(&self.evtchn),
            channel: Some(channel),
        };
        // SAFETY: `page` maps the whole 4 KiB ring page, page-aligned, kept mapped until the
        // store is dropped in `release`; only xenstored and this transport touch it.
        let transport = unsafe { RingTransport::new(page, doorbell) };
        *self.store.write() = Some(Arc::new(Store::new(
            self.platform.clone(),
            transport,
            self.config,
        )));
        state.pfn = pfn;
        state.page = Some(page);
        state.references = 1;
        plog!(self.platform, Info, "STORE: ring at pfn {pfn:#x}");
        Ok(())
    }

    /// Drops a reference; the last closes the channel and unmaps the ring. Outstanding watches,
    /// transactions or buffers (upstream's bug-checks) are logged at `ERROR`.
    pub fn release(&self) {
        if self.release_store() {
            // The EVTCHN reference this STORE reference held, dropped after the channel closed.
            self.evtchn.release();
        }
    }

    /// [`Self::release`]'s own part; whether a reference was dropped.
    fn release_store(&self) -> bool {
        let mut state = self.state.lock();
        match state.references {
            0 => return false,
            1 => {}
            n => {
                state.references = n.saturating_sub(1);
                return true;
            }
        }
        state.references = 0;
        let store = self.store.write().take();
        let _ = self.dpc.remove();
        if let Some(store) = store {
            let outstanding = store.outstanding();
            if outstanding != super::Outstanding::default() {
                plog!(
                    self.platform,
                    Error,
                    "STORE: released with {outstanding:?} outstanding"
                );
            }
            let channel = store.with_transport(|t| t.event_channel().channel.take());
            if let Some(channel) = channel {
                self.evtchn.close(channel);
            }
        }
        if let Some(page) = state.page.take() {
            // SAFETY: mapped in `acquire`; the store that used it is gone.
            unsafe { self.platform.unmap_physical(page, 1) };
        }
        true
    }

    /// SUSPEND EARLY: every watch and transaction expires.
    pub fn suspend_early(&self) {
        if let Some(store) = self.store() {
            store.suspend_early();
        }
    }

    /// SUSPEND LATE: re-open the channel from the (possibly renumbered) HVM parameter, reset
    /// the reply state and signal every watch.
    pub fn suspend_late(self: &Arc<Self>) {
        let Some(store) = self.store() else {
            return;
        };
        let pfn = self.state.lock().pfn;
        match self.ring_frame() {
            Ok(now) if now == pfn => {}
            Ok(now) => plog!(
                self.platform,
                Error,
                "STORE: ring moved from pfn {pfn:#x} to {now:#x} across the suspend"
            ),
            Err(status) => plog!(
                self.platform,
                Error,
                "STORE: ring reference unreadable after resume ({status:#010x})"
            ),
        }
        let fresh = self.open_channel();
        store.resume(|transport| {
            let doorbell = transport.event_channel();
            if let Some(stale) = doorbell.channel.take() {
                // Invalidated by EVTCHN's early callback: reaped without a hypercall.
                self.evtchn.close(stale);
            }
            match fresh {
                Ok(channel) => doorbell.channel = Some(channel),
                Err(status) => plog!(
                    self.platform,
                    Critical,
                    "STORE: cannot re-open the channel after resume ({status:#010x})"
                ),
            }
        });
    }

    /// Upstream's `xenbus|STORE` dump.
    ///
    /// # Errors
    /// What `out` returns.
    pub fn debug_dump(&self, out: &mut dyn fmt::Write, crashing: bool) -> fmt::Result {
        match self.store.try_read().and_then(|s| s.clone()) {
            Some(store) => store.debug_dump(out, crashing),
            None => writeln!(out, "STORE: not connected"),
        }
    }
}
