// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! CONSOLE: the guest side of the PV console ring (`struct xencons_interface`), used by the
//! FDO's log mirror and by xencons.
//!
//! Upstream (`console.c`, spec §5.7 and §1.10):
//! - The ring page is the frame grant reference 0 names (`GnttabQueryReference`), mapped
//!   cached; the event channel is the FIXED port in `HVM_PARAM_CONSOLE_EVTCHN`, opened without
//!   auto-mask and force-unmasked. Without that param (some toolstacks set up no PV console)
//!   Acquire fails.
//! - Two byte rings with free-running `u32` indices: `in` (1024 bytes, backend to guest) and
//!   `out` (2048 bytes, guest to backend). CanRead/Read/CanWrite/Write run under a
//!   `HIGH_LEVEL` lock, so any IRQL up to `HIGH_LEVEL` may call them; Write copies what fits
//!   and Read what is there, and either notifies the backend if it moved anything. Read and
//!   Write return 0 while the console is disabled.
//! - Every console event counts and queues a DPC; the DPC sets every registered wakeup event.
//!   Enabling queues one DPC too (an initial poll).
//! - The LATE suspend callback closes the old channel and opens the (possibly renumbered) one
//!   from the HVM param again.
//!
//! The ring page is shared with the console backend (another domain), so it is only touched
//! through atomics (indices) and volatile byte accesses (data), and the peer's indices are
//! checked: if `prod - cons` exceeds a ring's size the ring is corrupt, the call moves nothing
//! (so the caller keeps all its data) and the corruption is logged once per enable.
//!
//! Decisions: the event-channel and grant-table services are reached through the small traits
//! [`ConsoleEvtchn`] and [`ConsoleGnttab`], which [`Evtchn`] and [`Gnttab`] implement (tests
//! use fakes); their acquire/release are done here in upstream's order. Release of the last reference with
//! wakeups still added (upstream's BUG "OUTSTANDING WAKEUPS") logs at `ERROR` and keeps them.
//! If the LATE callback cannot re-open the channel, the console stays disabled (logged).

use alloc::sync::{Arc, Weak};
use core::fmt;
use core::mem::offset_of;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use ntstatus::{NtStatus, STATUS_INVALID_PARAMETER, STATUS_NO_MEMORY, STATUS_UNSUCCESSFUL};
use platform_port::{Dpc, Interrupts, IrqlLock, Platform, plog};
use shared_mem::SharedMem;
use xen_headers::hvm::params::HVM_PARAM_CONSOLE_EVTCHN;
use xen_headers::io::console::{XENCONS_IN_RING_SIZE, XENCONS_OUT_RING_SIZE, XenconsInterface};
use xen_services::XenServices;

use crate::callback_list::CallbackList;
use crate::evtchn::{Channel, Evtchn, EvtchnError, OpenKind};
use crate::gnttab::{Gnttab, GnttabError};
use crate::store::WatchEvent;

/// The grant reference the toolstack uses for the console page.
pub const CONSOLE_REFERENCE: u32 = 0;

/// The event channel service CONSOLE needs (adapted from EVTCHN by the composition).
pub trait ConsoleEvtchn: Send + Sync {
    /// An open channel.
    type Channel: Send + Sync;
    /// `EVTCHN Acquire`.
    ///
    /// # Errors
    /// EVTCHN's status.
    fn acquire(&self) -> Result<(), NtStatus>;
    /// `EVTCHN Release`.
    fn release(&self);
    /// `Open(XENBUS_EVTCHN_TYPE_FIXED, callback, port, Mask = FALSE)`.
    ///
    /// # Errors
    /// EVTCHN's status; nothing stays open.
    fn open_fixed(
        &self,
        port: u32,
        callback: Arc<dyn Fn() + Send + Sync>,
    ) -> Result<Self::Channel, NtStatus>;
    /// `Unmask(channel, InCallback = FALSE, Force = TRUE)`.
    fn unmask(&self, channel: &Self::Channel);
    /// `Send(channel)`.
    fn send(&self, channel: &Self::Channel);
    /// `Close(channel)`.
    fn close(&self, channel: Self::Channel);
}

/// The grant-table service CONSOLE needs (adapted from GNTTAB by the composition).
pub trait ConsoleGnttab: Send + Sync {
    /// `GNTTAB Acquire`.
    ///
    /// # Errors
    /// GNTTAB's status.
    fn acquire(&self) -> Result<(), NtStatus>;
    /// `GNTTAB Release`.
    fn release(&self);
    /// `QueryReference(reference)`: the frame the entry grants.
    ///
    /// # Errors
    /// GNTTAB's status.
    fn query_reference(&self, reference: u32) -> Result<u64, NtStatus>;
}

impl<P: Platform, S: XenServices + 'static, I: Interrupts + 'static> ConsoleEvtchn
    for Evtchn<P, S, I>
{
    type Channel = Arc<Channel>;

    fn acquire(&self) -> Result<(), NtStatus> {
        Self::acquire(self).map_err(EvtchnError::status)
    }

    fn release(&self) {
        Self::release(self);
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
        let callback: crate::evtchn::Callback = Arc::new(move || {
            callback();
            true
        });
        // No C caller behind this channel (EVTCHN's dump shows 0).
        self.open(kind, callback, 0).map_err(EvtchnError::status)
    }

    fn unmask(&self, channel: &Arc<Channel>) {
        let _ = Self::unmask(self, channel, false, true);
    }

    fn send(&self, channel: &Arc<Channel>) {
        Self::send(self, channel);
    }

    fn close(&self, channel: Arc<Channel>) {
        Self::close(self, channel);
    }
}

impl<P: Platform, S: XenServices + 'static> ConsoleGnttab for Gnttab<P, S> {
    fn acquire(&self) -> Result<(), NtStatus> {
        Self::acquire(self).map_err(GnttabError::status)
    }

    fn release(&self) {
        Self::release(self);
    }

    fn query_reference(&self, reference: u32) -> Result<u64, NtStatus> {
        Self::query_reference(self, reference)
            .map(|(frame, _)| frame)
            .map_err(GnttabError::status)
    }
}

/// A CONSOLE failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsoleError {
    /// A dependency (GNTTAB, EVTCHN, `HVM_PARAM_CONSOLE_EVTCHN`) failed with this status.
    Dependency(NtStatus),
    /// The ring page could not be mapped.
    Map,
    /// No memory.
    NoMemory,
    /// An unknown wakeup handle.
    InvalidParameter,
}

impl ConsoleError {
    /// The status.
    #[must_use]
    pub const fn status(self) -> NtStatus {
        match self {
            Self::Dependency(status) => status,
            Self::Map => STATUS_UNSUCCESSFUL,
            Self::NoMemory => STATUS_NO_MEMORY,
            Self::InvalidParameter => STATUS_INVALID_PARAMETER,
        }
    }
}

impl fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dependency(status) => write!(f, "dependency failed ({status:08x})"),
            Self::Map => f.write_str("cannot map the ring page"),
            Self::NoMemory => f.write_str("no memory"),
            Self::InvalidParameter => f.write_str("invalid parameter"),
        }
    }
}

/// A registered wakeup (`PXENBUS_CONSOLE_WAKEUP`).
pub struct ConsoleWakeup {
    event: Arc<dyn WatchEvent>,
    caller: usize,
}

/// The mapped ring page, reached only through checked shared-memory accesses.
#[derive(Clone, Copy)]
struct RingPage(SharedMem);

const IN_CONS: usize = offset_of!(XenconsInterface, in_cons);
const IN_PROD: usize = offset_of!(XenconsInterface, in_prod);
const OUT_CONS: usize = offset_of!(XenconsInterface, out_cons);
const OUT_PROD: usize = offset_of!(XenconsInterface, out_prod);
const IN_DATA: usize = offset_of!(XenconsInterface, in_);
const OUT_DATA: usize = offset_of!(XenconsInterface, out);
const _: () = assert!(core::mem::size_of::<XenconsInterface>() <= platform_port::PAGE_SIZE);
const _: () = assert!(IN_CONS.is_multiple_of(4) && IN_PROD.is_multiple_of(4));
const _: () = assert!(OUT_CONS.is_multiple_of(4) && OUT_PROD.is_multiple_of(4));

/// The ring sizes as free-running index distances.
const IN_SIZE: u32 = 1024;
const OUT_SIZE: u32 = 2048;
const IN_MASK: u32 = IN_SIZE.wrapping_sub(1);
const OUT_MASK: u32 = OUT_SIZE.wrapping_sub(1);
const _: () = assert!(IN_SIZE as usize == XENCONS_IN_RING_SIZE);
const _: () = assert!(OUT_SIZE as usize == XENCONS_OUT_RING_SIZE);

impl RingPage {
    /// Views a mapped console page.
    ///
    /// # Safety
    /// `page` is a mapped page that stays mapped while the ring holds this view.
    const unsafe fn new(page: NonNull<u8>) -> Self {
        // SAFETY: the caller's contract, for one page.
        Self(unsafe { SharedMem::new(page, platform_port::PAGE_SIZE) })
    }

    /// An index word (the offsets are the four constant index fields; a failed access, which
    /// cannot happen, reads as 0).
    fn load(self, offset: usize) -> u32 {
        self.0.load::<u32>(offset, Ordering::Acquire).unwrap_or(0)
    }

    fn store(self, offset: usize, value: u32) {
        let _ = self.0.store::<u32>(offset, value, Ordering::Release);
    }

    /// A byte of the `in` ring (offsets are masked into the ring by the caller; a refused
    /// access reads as 0).
    fn read_byte(self, offset: usize) -> u8 {
        self.0.read::<u8>(offset).unwrap_or(0)
    }

    fn write_byte(self, offset: usize, value: u8) {
        let _ = self.0.write::<u8>(offset, value);
    }

    /// The page's address, to unmap it.
    const fn address(self) -> NonNull<u8> {
        self.0.as_ptr()
    }
}

/// Under the HIGH lock: what Read/Write need.
struct Ring<C> {
    page: Option<RingPage>,
    channel: Option<C>,
    corrupt_logged: bool,
}

/// Under the DISPATCH lock: the reference count and the setup.
struct Setup {
    references: u32,
    pfn: u64,
}

/// The CONSOLE context.
pub struct Console<P: Platform, S: XenServices, E: ConsoleEvtchn, G: ConsoleGnttab> {
    platform: P,
    xen: Arc<S>,
    evtchn: Arc<E>,
    gnttab: Arc<G>,
    setup: IrqlLock<P, Setup>,
    ring: IrqlLock<P, Ring<E::Channel>>,
    wakeups: CallbackList<P, ConsoleWakeup>,
    dpc: P::Dpc,
    live: AtomicBool,
    /// `Setup::pfn`, mirrored for the debug dump (which may run at `HIGH_LEVEL`, where the
    /// setup lock cannot be taken).
    pfn: AtomicU64,
    events: AtomicU32,
    dpcs: AtomicU32,
}

impl<P: Platform, S: XenServices + 'static, E: ConsoleEvtchn + 'static, G: ConsoleGnttab + 'static>
    Console<P, S, E, G>
{
    /// A context (not acquired).
    pub fn new(platform: P, xen: Arc<S>, evtchn: Arc<E>, gnttab: Arc<G>) -> Arc<Self> {
        Arc::new_cyclic(|weak: &Weak<Self>| {
            let weak = weak.clone();
            let dpc = platform.new_dpc(
                None,
                Arc::new(move || {
                    if let Some(console) = weak.upgrade() {
                        console.poll();
                    }
                }),
            );
            Self {
                setup: IrqlLock::dispatch(
                    platform.clone(),
                    Setup {
                        references: 0,
                        pfn: 0,
                    },
                ),
                ring: IrqlLock::high(
                    platform.clone(),
                    Ring {
                        page: None,
                        channel: None,
                        corrupt_logged: false,
                    },
                ),
                wakeups: CallbackList::dispatch(platform.clone()),
                dpc,
                live: AtomicBool::new(false),
                pfn: AtomicU64::new(0),
                events: AtomicU32::new(0),
                dpcs: AtomicU32::new(0),
                platform,
                xen,
                evtchn,
                gnttab,
            }
        })
    }

    /// `ConsoleAcquire`: the first reference acquires GNTTAB, maps the page grant reference 0
    /// names, acquires EVTCHN and opens the channel in `HVM_PARAM_CONSOLE_EVTCHN`.
    ///
    /// # Errors
    /// The first failing step's; everything done before it is undone and the count stays 0.
    pub fn acquire(self: &Arc<Self>) -> Result<(), ConsoleError> {
        let mut setup = self.setup.lock();
        if setup.references != 0 {
            setup.references = setup.references.saturating_add(1);
            return Ok(());
        }
        self.gnttab.acquire().map_err(ConsoleError::Dependency)?;
        let pfn = match self.gnttab.query_reference(CONSOLE_REFERENCE) {
            Ok(pfn) => pfn,
            Err(status) => {
                self.gnttab.release();
                return Err(ConsoleError::Dependency(status));
            }
        };
        let address = pfn.checked_shl(platform_port::PAGE_SHIFT).unwrap_or(0);
        plog!(
            self.platform,
            Info,
            "CONSOLE: PAGE @ {:08x}.{:08x}",
            address >> 32,
            address & 0xFFFF_FFFF
        );
        // SAFETY: the console page is guest RAM the toolstack set aside for the ring; it stays
        // valid until the unmap below or in `release`.
        let mapped = unsafe { self.platform.map_physical(pfn, 1) };
        let Ok(page) = mapped else {
            self.gnttab.release();
            return Err(ConsoleError::Map);
        };
        if let Err(status) = self.evtchn.acquire() {
            self.unmap(page);
            self.gnttab.release();
            return Err(ConsoleError::Dependency(status));
        }
        // SAFETY: `page` is the mapping just made; it is unmapped only after the ring drops
        // this view (`release`, the failure path below).
        self.ring.lock().page = Some(unsafe { RingPage::new(page) });
        if let Err(error) = self.enable() {
            self.ring.lock().page = None;
            self.evtchn.release();
            self.unmap(page);
            self.gnttab.release();
            return Err(error);
        }
        setup.pfn = pfn;
        self.pfn.store(pfn, Ordering::Relaxed);
        setup.references = 1;
        self.live.store(true, Ordering::Release);
        Ok(())
    }

    fn unmap(&self, page: NonNull<u8>) {
        // SAFETY: `page` came from `map_physical(pfn, 1)` and nothing uses it any more (the
        // ring no longer holds it).
        unsafe { self.platform.unmap_physical(page, 1) };
    }

    /// `ConsoleRelease`: the last reference closes the channel, releases EVTCHN, unmaps the page
    /// and releases GNTTAB.
    pub fn release(&self) {
        let mut setup = self.setup.lock();
        match setup.references {
            0 => return,
            1 => {}
            _ => {
                setup.references = setup.references.saturating_sub(1);
                return;
            }
        }
        setup.references = 0;
        self.live.store(false, Ordering::Release);
        if !self.wakeups.is_empty() {
            plog!(
                self.platform,
                Error,
                "CONSOLE: OUTSTANDING WAKEUPS ({})",
                self.wakeups.len()
            );
        }
        self.disable();
        self.dpc.remove();
        self.evtchn.release();
        let page = self.ring.lock().page.take();
        if let Some(page) = page {
            self.unmap(page.address());
        }
        self.gnttab.release();
    }

    /// The current reference count.
    pub fn references(&self) -> u32 {
        self.setup.lock().references
    }

    fn enable(self: &Arc<Self>) -> Result<(), ConsoleError> {
        let value = self
            .xen
            .hvm_get_param(HVM_PARAM_CONSOLE_EVTCHN)
            .map_err(ConsoleError::Dependency)?;
        let port =
            u32::try_from(value).map_err(|_| ConsoleError::Dependency(STATUS_INVALID_PARAMETER))?;
        if port == 0 {
            // Port 0 is never a valid event channel: the toolstack set up no console.
            return Err(ConsoleError::Dependency(STATUS_INVALID_PARAMETER));
        }
        let weak = Arc::downgrade(self);
        let channel = self
            .evtchn
            .open_fixed(
                port,
                Arc::new(move || {
                    if let Some(console) = weak.upgrade() {
                        console.event();
                    }
                }),
            )
            .map_err(ConsoleError::Dependency)?;
        self.evtchn.unmask(&channel);
        {
            let mut ring = self.ring.lock();
            ring.channel = Some(channel);
            ring.corrupt_logged = false;
        }
        plog!(self.platform, Info, "CONSOLE: ENABLE ({port})");
        if self.dpc.insert() {
            self.dpcs.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    fn disable(&self) {
        plog!(self.platform, Info, "CONSOLE: DISABLE");
        let channel = self.ring.lock().channel.take();
        if let Some(channel) = channel {
            self.evtchn.close(channel);
        }
    }

    /// The channel's callback (at the event's IRQL): counts and queues the DPC.
    fn event(&self) {
        self.events.fetch_add(1, Ordering::Relaxed);
        if self.dpc.insert() {
            self.dpcs.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The DPC: signals every wakeup while referenced.
    fn poll(&self) {
        if !self.live.load(Ordering::Acquire) {
            return;
        }
        self.wakeups.with(|wakeups| {
            for wakeup in wakeups {
                wakeup.event.signal();
            }
        });
    }

    /// The LATE suspend callback: the channel may have another number in the new domain.
    pub fn suspend_late(self: &Arc<Self>) {
        let setup = self.setup.lock();
        if setup.references == 0 {
            return;
        }
        match self.gnttab.query_reference(CONSOLE_REFERENCE) {
            Ok(pfn) if pfn == setup.pfn => {}
            Ok(pfn) => plog!(
                self.platform,
                Warning,
                "CONSOLE: PAGE MOVED ({:x} -> {pfn:x}); KEEPING THE OLD MAPPING",
                setup.pfn
            ),
            Err(status) => plog!(
                self.platform,
                Warning,
                "CONSOLE: QueryReference failed ({status:08x})"
            ),
        }
        self.disable();
        if let Err(error) = self.enable() {
            plog!(
                self.platform,
                Error,
                "CONSOLE: cannot re-open the channel after resume ({error}); console disabled"
            );
        }
        drop(setup);
    }

    /// `ConsoleCanRead`: whether the `in` ring holds data.
    pub fn can_read(&self) -> bool {
        let mut ring = self.ring.lock();
        let Some(page) = ring.page else {
            return false;
        };
        let available = self.distance(&mut ring, page, IN_PROD, IN_CONS, IN_SIZE);
        available.is_some_and(|n| n != 0)
    }

    /// `ConsoleCanWrite`: whether the `out` ring has room.
    pub fn can_write(&self) -> bool {
        let mut ring = self.ring.lock();
        let Some(page) = ring.page else {
            return false;
        };
        let used = self.distance(&mut ring, page, OUT_PROD, OUT_CONS, OUT_SIZE);
        used.is_some_and(|n| n < OUT_SIZE)
    }

    /// `prod - cons` of a ring, or `None` (logged once, unless `quiet`) if it exceeds the
    /// ring's size.
    fn distance(
        &self,
        ring: &mut Ring<E::Channel>,
        page: RingPage,
        prod: usize,
        cons: usize,
        size: u32,
    ) -> Option<u32> {
        self.distance_logged(ring, page, (prod, cons, size), true)
    }

    fn distance_logged(
        &self,
        ring: &mut Ring<E::Channel>,
        page: RingPage,
        (prod, cons, size): (usize, usize, u32),
        log: bool,
    ) -> Option<u32> {
        let (p, c) = (page.load(prod), page.load(cons));
        let distance = p.wrapping_sub(c);
        if distance <= size {
            return Some(distance);
        }
        if log && !ring.corrupt_logged {
            ring.corrupt_logged = true;
            plog!(
                self.platform,
                Error,
                "CONSOLE: CORRUPT RING (prod {p:08x} cons {c:08x}, size {size})"
            );
        }
        None
    }

    /// `ConsoleRead`: copies up to `data.len()` bytes from the `in` ring; notifies the backend
    /// if any were read. Returns 0 while disabled or if the ring is corrupt.
    pub fn read(&self, data: &mut [u8]) -> usize {
        let mut ring = self.ring.lock();
        let Some(page) = ring.page else {
            return 0;
        };
        if ring.channel.is_none() {
            return 0;
        }
        let Some(available) = self.distance(&mut ring, page, IN_PROD, IN_CONS, IN_SIZE) else {
            return 0;
        };
        let mut cons = page.load(IN_CONS);
        let mut copied = 0usize;
        let want = u32::try_from(data.len()).unwrap_or(u32::MAX).min(available);
        for slot in data.iter_mut().take(want as usize) {
            let offset = (cons & IN_MASK) as usize;
            *slot = page.read_byte(IN_DATA.saturating_add(offset));
            cons = cons.wrapping_add(1);
            copied = copied.saturating_add(1);
        }
        if copied != 0 {
            page.store(IN_CONS, cons);
            if let Some(channel) = ring.channel.as_ref() {
                self.evtchn.send(channel);
            }
        }
        copied
    }

    /// `ConsoleWrite`: copies as much of `data` as fits into the `out` ring; notifies the
    /// backend if anything was written. Returns the bytes written (0 while disabled or if the
    /// ring is corrupt).
    pub fn write(&self, data: &[u8]) -> usize {
        self.write_logged(data, true)
    }

    /// [`write`](Self::write) that never logs, even about a corrupt ring: for the FDO's log
    /// mirror, which runs inside xen.sys's log with its lock held, where a log line would spin
    /// on that lock forever.
    pub fn write_quiet(&self, data: &[u8]) -> usize {
        self.write_logged(data, false)
    }

    fn write_logged(&self, data: &[u8], log: bool) -> usize {
        let mut ring = self.ring.lock();
        let Some(page) = ring.page else {
            return 0;
        };
        if ring.channel.is_none() {
            return 0;
        }
        let Some(used) = self.distance_logged(&mut ring, page, (OUT_PROD, OUT_CONS, OUT_SIZE), log)
        else {
            return 0;
        };
        let room = OUT_SIZE.saturating_sub(used);
        let mut prod = page.load(OUT_PROD);
        let mut copied = 0usize;
        let want = u32::try_from(data.len()).unwrap_or(u32::MAX).min(room);
        for &byte in data.iter().take(want as usize) {
            let offset = (prod & OUT_MASK) as usize;
            page.write_byte(OUT_DATA.saturating_add(offset), byte);
            prod = prod.wrapping_add(1);
            copied = copied.saturating_add(1);
        }
        if copied != 0 {
            page.store(OUT_PROD, prod);
            if let Some(channel) = ring.channel.as_ref() {
                self.evtchn.send(channel);
            }
        }
        copied
    }

    /// `ConsoleWakeupAdd`: `event` is signalled (from a DPC) after every console event.
    /// `caller` is shown in the debug dump.
    ///
    /// # Errors
    /// [`ConsoleError::NoMemory`].
    pub fn wakeup_add(
        &self,
        event: Arc<dyn WatchEvent>,
        caller: usize,
    ) -> Result<Arc<ConsoleWakeup>, ConsoleError> {
        let wakeup = Arc::new(ConsoleWakeup { event, caller });
        self.wakeups
            .push(Arc::clone(&wakeup))
            .map_err(|_| ConsoleError::NoMemory)?;
        Ok(wakeup)
    }

    /// `ConsoleWakeupRemove`.
    ///
    /// # Errors
    /// [`ConsoleError::InvalidParameter`] for a wakeup not added here.
    pub fn wakeup_remove(&self, wakeup: &Arc<ConsoleWakeup>) -> Result<(), ConsoleError> {
        if self.wakeups.remove(wakeup) {
            Ok(())
        } else {
            Err(ConsoleError::InvalidParameter)
        }
    }

    /// The `xenbus|CONSOLE` debug callback's content: the page address, the ring indices (under
    /// the ring's `HIGH_LEVEL` lock, unless crashing), the counters and the wakeups. IRQL: any;
    /// the wakeup list is under a `DISPATCH_LEVEL` lock, so it is listed only at
    /// `DISPATCH_LEVEL` or below (the DEBUG callbacks run at `HIGH_LEVEL`).
    ///
    /// # Errors
    /// The writer's.
    pub fn debug_dump(&self, out: &mut dyn fmt::Write, crashing: bool) -> fmt::Result {
        // The setup lock is a DISPATCH lock: the dump may run at HIGH_LEVEL, so the frame comes
        // from its atomic mirror.
        let pfn = self.pfn.load(Ordering::Relaxed);
        let address = pfn.checked_shl(platform_port::PAGE_SHIFT).unwrap_or(0);
        writeln!(
            out,
            "Address = {:08x}.{:08x}",
            address >> 32,
            address & 0xFFFF_FFFF
        )?;
        if !crashing {
            let indices = {
                let ring = self.ring.lock();
                ring.page.map(|page| {
                    [OUT_CONS, OUT_PROD, IN_CONS, IN_PROD].map(|field| page.load(field))
                })
            };
            if let Some([out_cons, out_prod, in_cons, in_prod]) = indices {
                writeln!(out, "out_cons = {out_cons:08x} out_prod = {out_prod:08x}")?;
                writeln!(out, "in_cons = {in_cons:08x} in_prod = {in_prod:08x}")?;
            }
        }
        writeln!(
            out,
            "Events = {} Dpcs = {}",
            self.events.load(Ordering::Relaxed),
            self.dpcs.load(Ordering::Relaxed)
        )?;
        let dump = |wakeups: &[Arc<ConsoleWakeup>]| -> fmt::Result {
            if wakeups.is_empty() {
                return Ok(());
            }
            writeln!(out, "WAKEUPS:")?;
            wakeups
                .iter()
                .try_for_each(|w| writeln!(out, "- {:016X}", w.caller))
        };
        self.wakeups.try_with(dump).unwrap_or(Ok(()))
    }

    /// Events seen and DPCs queued.
    pub fn counters(&self) -> (u32, u32) {
        (
            self.events.load(Ordering::Relaxed),
            self.dpcs.load(Ordering::Relaxed),
        )
    }
}
