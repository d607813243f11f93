// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `EVTCHN`: event channels (upstream `evtchn.c`, `evtchn_2l.c`,
//! `evtchn_fifo.c`).
//!
//! [`Evtchn`] is the portable logic behind `XENBUS_EVTCHN` v5–v9. It opens channels of every
//! kind ([`OpenKind`]), delivers their events through the Xen upcall to callbacks on the CPU
//! each channel is bound to, and survives suspend/resume. The interface provider maps the C
//! methods onto it one to one: `EvtchnOpen` → [`open`](Evtchn::open) (the provider decodes
//! the variadic arguments by type and interface version), `EvtchnBind` →
//! [`bind`](Evtchn::bind), `EvtchnUnmask` → [`unmask`](Evtchn::unmask),
//! `EvtchnUnmaskVersion4` → [`unmask_version4`](Evtchn::unmask_version4), `EvtchnSend` /
//! `EvtchnSendVersion1` → [`send`](Evtchn::send) / [`send_version1`](Evtchn::send_version1),
//! `EvtchnTrigger` → [`trigger`](Evtchn::trigger), `EvtchnGetCount` →
//! [`get_count`](Evtchn::get_count), `EvtchnWait` / `EvtchnWaitVersion5` →
//! [`wait`](Evtchn::wait) / [`wait_version5`](Evtchn::wait_version5), `EvtchnGetPort` →
//! [`get_port`](Evtchn::get_port), `EvtchnClose` → [`close`](Evtchn::close). Processor
//! numbers (Group, Number) are converted to processor indices by the provider
//! (`KeGetProcessorIndexFromNumber`).
//!
//! # Pieces
//! * The ABI ([`AbiKind`]): FIFO when the `UseEvtchnFifoAbi` registry value (default 1) allows
//!   it and Xen accepts a control block for every vCPU, else 2-level over the shared-info page
//!   ([`EvtchnSharedInfo`]). A failed FIFO acquire has already run [`reset`] (store and console
//!   channels re-bound, HVM parameters updated). Chosen again in every SUSPEND LATE callback.
//! * Interrupts ([`platform_port::Interrupts`]): at acquire one latched interrupt per CPU the
//!   ABI and shared info can serve, and the level-sensitive callback line on CPU 0. With
//!   `UseEvtchnUpcall` (default 1) each CPU's vector is programmed with
//!   `HVMOP_set_evtchn_upcall_vector`; `STATUS_NOT_IMPLEMENTED` stops trying for the remaining
//!   CPUs, other failures skip that CPU. `HVM_PARAM_CALLBACK_IRQ` is then always set to the
//!   line. After programming, the ISR runs once under each interrupt's lock to catch events
//!   that were already pending.
//! * The ISR entry the glue calls with the interrupt lock held: [`interrupt`](Evtchn::interrupt)
//!   (`while UpcallPending(cpu) poll(cpu)`). Poll reports ports; a port is queued on the CPU's
//!   pending queue only if its channel is active and bound to that CPU; then each queued
//!   channel is masked (auto-mask), acked, counted and its callback run.
//! * Per-CPU DPCs flush a CPU (poll under its interrupt lock) and reap closed channels with
//!   `EVTCHNOP_close` (never for FIXED ports, never for ports invalidated by a suspend).
//!
//! # Locks and levels
//! `state` (`DISPATCH_LEVEL`, upstream's context lock) guards the reference count; acquire,
//! release, trigger, close, the DPC and suspend-late take it. The interrupt objects are `Arc`s
//! in a set behind a `HIGH_LEVEL` lock held only to clone one, so [`deliver`](Evtchn::deliver)
//! (a simulator's upcall, possibly raised by a hypercall this module is making) never needs
//! `state`. The
//! ABI sits behind a reader/writer spin lock: the delivery path and port operations read it at
//! `DISPATCH_LEVEL` or above; only acquire/release/suspend-late replace it, at `HIGH_LEVEL`,
//! and release the old ABI (hypercalls, page frees) after dropping the lock. The port table and
//! the per-CPU pending queues use `HIGH_LEVEL` locks held for a few instructions; their storage
//! grows at `DISPATCH_LEVEL` before a channel is published (every queue can hold every live
//! channel), so the delivery path never allocates. Callbacks run with no lock of this module
//! held other than the ABI read lock, under the interrupt lock of their CPU; they must not call
//! [`trigger`](Evtchn::trigger), [`open`](Evtchn::open), [`close`](Evtchn::close) or
//! [`bind`](Evtchn::bind) (upstream deadlocks there too). Nothing here raises the IRQL to a
//! level below the current one (the ISR and its callbacks run at DIRQL): methods that need
//! `DISPATCH_LEVEL` raise only when below it. The `HIGH_LEVEL` callbacks take no
//! `DISPATCH_LEVEL` lock: SUSPEND EARLY walks the port table under its `HIGH_LEVEL` lock and
//! the debug dump, above `DISPATCH_LEVEL`, prints only the live channel count.
//!
//! # Upstream behaviour, decided (§5.1 and Appendix A)
//! * **VIRQ CPU (A2 / §3.10 VERIFY).** Upstream binds a VIRQ to the requested vCPU but leaves
//!   the channel's CPU at 0, so its poller drops timer VIRQs on other CPUs. Here the bound CPU
//!   is recorded, so a VIRQ opened for CPU N is delivered on CPU N.
//! * **FIFO queue order (A3).** Lowest queue number (Xen's highest priority) first; see
//!   [`fifo`] for this and the other FIFO decisions (validated links, bounded
//!   polls, pages kept once Xen accepted them).
//! * **Wait and wrapping counts.** Upstream compares `(LONG64)Count - (LONG64)Channel->Count`,
//!   which is wrong once the 32-bit count wraps (a target of 1 just after the wrap is "reached"
//!   by a count of `0xFFFFFFFF`). Here the comparison is the serial-number one: reached when
//!   `target - count` (mod 2^32) is 0 or at least 2^31. Identical away from the wrap.
//! * **Close racing delivery.** Upstream queues the DPC only when Close's Trigger itself queued
//!   the channel; if the ISR of the owning CPU had it queued at that moment, the reap waits for
//!   an unrelated DPC. Here Close always queues the owning CPU's DPC.
//! * **Trigger after suspend.** Upstream delivers a triggered channel by masking and acking its
//!   port number even when a suspend invalidated it, which may drop an event of whatever port
//!   has that number in the new domain. Here an inactive channel's callback runs and is counted
//!   but its port is not touched.
//! * **Close after suspend while queued.** Upstream frees such a channel while it may still be
//!   on a pending list. Here a channel still queued is reaped by the owning CPU's DPC, and a
//!   channel invalidated by a suspend is never `EVTCHNOP_close`d (its number may belong to
//!   someone else in the new domain); reaping is idempotent.
//! * **Outstanding channels at the last release.** Upstream bug-checks ("OUTSTANDING EVENT
//!   CHANNELS"). Here it is logged at CRITICAL, each remaining channel is deactivated and its
//!   port closed (unless FIXED), so nothing stays bound; the client's later close only frees it.
//! * **Calls on an inactive subsystem.** Open before acquire fails with `STATUS_UNSUCCESSFUL`;
//!   Trigger while not acquired does nothing; Close while not acquired reaps at once.
//! * **Bad arguments** upstream only `ASSERT`s are errors: a CPU index beyond the processor
//!   count is `STATUS_INVALID_PARAMETER` (Bind, VIRQ open), as is a port already open (upstream
//!   adds a duplicate hash entry) and a FIFO port beyond 2^17.
//! * **Release without acquire** is logged and ignored.
//! * **Duplicate FIXED open.** Refused before the port is touched further: the channel already
//!   open on that port keeps it unmasked.
//! * **Liveness is Xen's.** The ISR loops while Xen keeps the upcall flag set, as upstream and
//!   Linux do; only the FIFO walk, whose links Xen writes, is bounded.
//! * **Dropping the context while acquired** leaks (never frees) the FIFO pages Xen may still
//!   write; the composition releases every reference first, as upstream asserts.
//! * **Debug dump** prints upstream's lines; the caller is the address the provider recorded
//!   (printed as `%p`, 16 upper-case hex digits), since module lookup belongs to the glue.

mod abi;
mod channel;
mod delivery;
pub mod fifo;
mod ops;
mod reset;
mod table;

use alloc::collections::VecDeque;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use ntstatus::{
    NtStatus, STATUS_INVALID_PARAMETER, STATUS_NO_MEMORY, STATUS_NOT_SUPPORTED, STATUS_TIMEOUT,
    STATUS_UNSUCCESSFUL,
};
use platform_port::{
    Dpc, InterruptMode, Interrupts, IrqlLevel, IrqlLock, Platform, RaisedIrql, Registry, plog,
};
use xen_services::XenServices;

pub use abi::{AbiKind, EvtchnSharedInfo};
pub use channel::{Callback, Channel, ChannelKind, OpenKind};
pub use reset::reset;

use abi::Abi;
use table::PortTable;

/// The registry key upstream reads its parameters from (below `HKEY_LOCAL_MACHINE`).
pub const PARAMETERS_KEY: &str = r"SYSTEM\CurrentControlSet\Services\xenbus\Parameters";

/// Why an EVTCHN operation failed. A failed operation leaves nothing allocated or bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvtchnError {
    /// Memory (pool or pages) ran out.
    NoMemory,
    /// A bad argument: CPU index out of range, port already open, FIFO port too large.
    InvalidParameter,
    /// The CPU cannot take event channels (no upcall vector and not CPU 0).
    NotSupported,
    /// The subsystem is not acquired, or the FDO had no callback interrupt.
    Unsuccessful,
    /// [`Evtchn::wait`] timed out.
    Timeout,
    /// A xen.sys service failed with this status.
    Xen(NtStatus),
}

impl EvtchnError {
    /// The NTSTATUS upstream returns for this error.
    #[must_use]
    pub const fn status(self) -> NtStatus {
        match self {
            Self::NoMemory => STATUS_NO_MEMORY,
            Self::InvalidParameter => STATUS_INVALID_PARAMETER,
            Self::NotSupported => STATUS_NOT_SUPPORTED,
            Self::Unsuccessful => STATUS_UNSUCCESSFUL,
            Self::Timeout => STATUS_TIMEOUT,
            Self::Xen(status) => status,
        }
    }
}

impl fmt::Display for EvtchnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoMemory => f.write_str("out of memory"),
            Self::InvalidParameter => f.write_str("invalid parameter"),
            Self::NotSupported => f.write_str("processor cannot take event channels"),
            Self::Unsuccessful => f.write_str("not acquired or no callback interrupt"),
            Self::Timeout => f.write_str("timed out"),
            Self::Xen(status) => write!(f, "xen service failed ({status:08x})"),
        }
    }
}

/// The registry switches (`UseEvtchnFifoAbi`, `UseEvtchnUpcall`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvtchnConfig {
    /// Try the FIFO ABI first.
    pub use_fifo_abi: bool,
    /// Try per-CPU upcall vectors.
    pub use_upcall: bool,
}

impl Default for EvtchnConfig {
    fn default() -> Self {
        Self {
            use_fifo_abi: true,
            use_upcall: true,
        }
    }
}

impl EvtchnConfig {
    /// Reads both DWORDs from `key`; a missing or unreadable value counts as 1.
    pub fn from_registry<R: Registry + ?Sized>(registry: &R, key: &str) -> Self {
        let flag = |name| !matches!(registry.read_dword(key, name), Ok(0));
        Self {
            use_fifo_abi: flag("UseEvtchnFifoAbi"),
            use_upcall: flag("UseEvtchnUpcall"),
        }
    }
}

/// Per-processor delivery state.
struct Processor<P: Platform> {
    dpc: Option<P::Dpc>,
    /// Channels with an event to deliver (or closed, awaiting the reap).
    pending: IrqlLock<P, VecDeque<Arc<Channel>>>,
    /// Someone is polling this CPU (guards the ABI's per-CPU poll state against re-entry).
    polling: AtomicBool,
    /// The CPU's upcall vector is programmed.
    upcall_enabled: AtomicBool,
}

/// What `state` guards.
struct State {
    references: u32,
}

/// The interrupt objects while acquired: each CPU's latched interrupt (if allocated) and the
/// callback line. Shared as `Arc`s so a delivery can hold one without any lock of this module.
struct IrqSet<I: Interrupts> {
    line: Option<Arc<I::Interrupt>>,
    vectors: Vec<Option<Arc<I::Interrupt>>>,
}

/// The EVTCHN subsystem context (upstream's `XENBUS_EVTCHN_CONTEXT`).
pub struct Evtchn<P: Platform, S: XenServices + 'static, I: Interrupts + 'static> {
    platform: P,
    services: Arc<S>,
    interrupts: I,
    shared_info: Arc<dyn EvtchnSharedInfo>,
    config: EvtchnConfig,
    state: IrqlLock<P, State>,
    irqs: IrqlLock<P, IrqSet<I>>,
    abi: spin::RwLock<Option<Abi<P, S>>>,
    table: PortTable<P>,
    channels: IrqlLock<P, Vec<Arc<Channel>>>,
    /// Channel objects alive (opened or being opened, not yet reaped): every pending queue
    /// has room for this many.
    live: AtomicUsize,
    processors: Vec<Processor<P>>,
}

impl<P: Platform, S: XenServices + 'static, I: Interrupts + 'static> fmt::Debug
    for Evtchn<P, S, I>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Evtchn")
            .field("config", &self.config)
            .field("abi", &self.abi_kind())
            .field("live", &self.live.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Whether an event count `count` has reached `target` (serial-number arithmetic mod 2^32).
#[must_use]
pub const fn count_reached(target: u32, count: u32) -> bool {
    let distance = target.wrapping_sub(count);
    distance == 0 || distance >= 1 << 31
}

impl<P: Platform, S: XenServices + 'static, I: Interrupts + 'static> Evtchn<P, S, I> {
    /// A context with one DPC per processor (`EvtchnInitialize`); nothing is bound until
    /// [`acquire`](Self::acquire).
    ///
    /// # Errors
    /// [`EvtchnError::NoMemory`] when the per-processor table cannot be allocated.
    pub fn new(
        platform: P,
        services: Arc<S>,
        interrupts: I,
        shared_info: Arc<dyn EvtchnSharedInfo>,
        config: EvtchnConfig,
    ) -> Result<Arc<Self>, EvtchnError> {
        let count = platform.processor_count();
        let wanted = usize::try_from(count).unwrap_or(0);
        let this = Arc::new_cyclic(move |weak: &Weak<Self>| {
            let mut processors = Vec::new();
            if processors.try_reserve_exact(wanted).is_ok() {
                for cpu in 0..count {
                    let weak = weak.clone();
                    let dpc = platform.new_dpc(
                        Some(cpu),
                        Arc::new(move || {
                            if let Some(evtchn) = weak.upgrade() {
                                evtchn.dpc(cpu);
                            }
                        }),
                    );
                    processors.push(Processor {
                        dpc: Some(dpc),
                        pending: IrqlLock::high(platform.clone(), VecDeque::new()),
                        polling: AtomicBool::new(false),
                        upcall_enabled: AtomicBool::new(false),
                    });
                }
            }
            let state = IrqlLock::dispatch(platform.clone(), State { references: 0 });
            let irqs = IrqlLock::high(
                platform.clone(),
                IrqSet {
                    line: None,
                    vectors: Vec::new(),
                },
            );
            let table = PortTable::new(platform.clone());
            let channels = IrqlLock::dispatch(platform.clone(), Vec::new());
            Self {
                platform,
                services,
                interrupts,
                shared_info,
                config,
                state,
                irqs,
                abi: spin::RwLock::new(None),
                table,
                channels,
                live: AtomicUsize::new(0),
                processors,
            }
        });
        if this.processors.len() == wanted {
            Ok(this)
        } else {
            Err(EvtchnError::NoMemory)
        }
    }

    /// The configuration read at initialization.
    pub const fn config(&self) -> EvtchnConfig {
        self.config
    }

    /// The ABI in use, `None` while not acquired.
    pub fn abi_kind(&self) -> Option<AbiKind> {
        self.with_abi(Abi::kind)
    }

    /// Whether CPU `cpu`'s upcall vector is programmed.
    pub fn upcall_enabled(&self, cpu: u32) -> bool {
        self.processor(cpu)
            .is_some_and(|p| p.upcall_enabled.load(Ordering::SeqCst))
    }

    /// How many channels are open or awaiting their reap.
    pub fn channel_count(&self) -> usize {
        self.channels.lock().len()
    }

    fn processor(&self, cpu: u32) -> Option<&Processor<P>> {
        self.processors.get(usize::try_from(cpu).ok()?)
    }

    // -- ABI access ----------------------------------------------------------------------

    /// Raises to `level` only when the IRQL is below it, until dropped (`KeRaiseIrql` must
    /// never lower: the ISR runs at DIRQL, suspend and debug callbacks at `HIGH_LEVEL`).
    fn at_least(&self, level: IrqlLevel) -> RaisedIrql<'_, P> {
        RaisedIrql::at_least(&self.platform, level)
    }

    /// Runs `f` on the ABI under the read lock at `DISPATCH_LEVEL` or above (the current level
    /// when already there, as in the ISR).
    fn with_abi<R>(&self, f: impl FnOnce(&Abi<P, S>) -> R) -> Option<R> {
        let _dispatch = self.at_least(IrqlLevel::DISPATCH);
        self.abi.read().as_ref().map(f)
    }

    /// Installs `new`, returning the previous ABI for the caller to release unlocked.
    fn replace_abi(&self, new: Option<Abi<P, S>>) -> Option<Abi<P, S>> {
        let _high = self.at_least(IrqlLevel::HIGH);
        core::mem::replace(&mut *self.abi.write(), new)
    }

    /// FIFO if configured and Xen accepts it, else 2-level (`EvtchnAbiAcquire`).
    fn abi_acquire(&self) -> Result<Abi<P, S>, EvtchnError> {
        if self.config.use_fifo_abi {
            match fifo::Fifo::acquire(&self.platform, &self.services) {
                Ok(fifo) => {
                    plog!(self.platform, Info, "EVTCHN: FIFO");
                    return Ok(Abi::Fifo(fifo));
                }
                Err(error) => {
                    plog!(self.platform, Warning, "EVTCHN: FIFO unavailable ({error})");
                }
            }
        }
        let abi = Abi::two_level(&self.shared_info, &self.services)?;
        plog!(self.platform, Info, "EVTCHN: TWO LEVEL");
        Ok(abi)
    }

    fn is_processor_enabled(&self, cpu: u32) -> bool {
        self.shared_info.upcall_supported(cpu)
            && self
                .with_abi(|abi| abi.is_processor_enabled(cpu))
                .unwrap_or(false)
    }

    // -- reference counting --------------------------------------------------------------

    /// The current reference count (the FDO's, STORE's and the children's acquisitions).
    pub fn references(&self) -> u32 {
        self.state.lock().references
    }

    /// Takes a reference; the first one chooses the ABI, allocates the interrupts and enables
    /// the upcalls (`EvtchnAcquire`).
    ///
    /// # Errors
    /// The `SHARED_INFO` or ABI failure, [`EvtchnError::NoMemory`], or
    /// [`EvtchnError::Unsuccessful`] when the FDO has no callback line; nothing is left
    /// acquired then.
    pub fn acquire(&self) -> Result<(), EvtchnError> {
        let mut state = self.state.lock();
        if state.references > 0 {
            state.references = state
                .references
                .checked_add(1)
                .ok_or(EvtchnError::Unsuccessful)?;
            return Ok(());
        }
        plog!(self.platform, Trace, "EVTCHN: ====>");
        let result = self.first_acquire(&mut state);
        if let Err(error) = result {
            plog!(self.platform, Error, "EVTCHN: acquire failed ({error})");
        }
        plog!(self.platform, Trace, "EVTCHN: <====");
        result
    }

    fn first_acquire(&self, state: &mut State) -> Result<(), EvtchnError> {
        self.shared_info.acquire().map_err(EvtchnError::Xen)?;
        let abi = match self.abi_acquire() {
            Ok(abi) => abi,
            Err(error) => {
                self.shared_info.release();
                return Err(error);
            }
        };
        let count = self.platform.processor_count();
        let mut vectors = Vec::new();
        if vectors
            .try_reserve_exact(usize::try_from(count).unwrap_or(0))
            .is_err()
        {
            abi.release();
            self.shared_info.release();
            return Err(EvtchnError::NoMemory);
        }
        for cpu in 0..count {
            let enabled = self.shared_info.upcall_supported(cpu) && abi.is_processor_enabled(cpu);
            vectors.push(if enabled {
                self.interrupts
                    .allocate_interrupt(InterruptMode::Latched, cpu)
                    .map(Arc::new)
            } else {
                None
            });
        }
        let Some(line) = self
            .interrupts
            .allocate_interrupt(InterruptMode::LevelSensitive, 0)
        else {
            drop(vectors);
            abi.release();
            self.shared_info.release();
            return Err(EvtchnError::Unsuccessful);
        };
        if let Some(stale) = self.replace_abi(Some(abi)) {
            stale.release();
        }
        // Allocated before the HIGH_LEVEL lock: nothing may allocate under it.
        let line = Arc::new(line);
        let previous = {
            let mut irqs = self.irqs.lock();
            let line = irqs.line.replace(line);
            (line, core::mem::replace(&mut irqs.vectors, vectors))
        };
        drop(previous);
        state.references = 1;
        self.interrupt_enable();
        Ok(())
    }

    /// Drops a reference; the last one disables the upcalls, flushes every CPU, frees the
    /// interrupts and releases the ABI (`EvtchnRelease`).
    pub fn release(&self) {
        let mut state = self.state.lock();
        match state.references {
            0 => {
                plog!(self.platform, Error, "EVTCHN: release without acquire");
                return;
            }
            1 => state.references = 0,
            n => {
                state.references = n.saturating_sub(1);
                return;
            }
        }
        plog!(self.platform, Trace, "EVTCHN: ====>");
        self.interrupt_disable();
        for (cpu, processor) in (0..).zip(self.processors.iter()) {
            self.flush(cpu);
            if let Some(dpc) = &processor.dpc {
                dpc.remove();
            }
        }
        self.close_outstanding();
        let freed = {
            let mut irqs = self.irqs.lock();
            (irqs.line.take(), core::mem::take(&mut irqs.vectors))
        };
        drop(freed);
        drop(state);
        if let Some(abi) = self.replace_abi(None) {
            abi.release();
        }
        self.shared_info.release();
        plog!(self.platform, Trace, "EVTCHN: <====");
    }

    /// Unbinds every channel still open at the last release (upstream bug-checks).
    fn close_outstanding(&self) {
        let channels: Vec<Arc<Channel>> = {
            let list = self.channels.lock();
            if list.is_empty() {
                return;
            }
            let mut copy = Vec::new();
            if copy.try_reserve_exact(list.len()).is_ok() {
                copy.extend(list.iter().cloned());
            }
            copy
        };
        plog!(
            self.platform,
            Critical,
            "EVTCHN: OUTSTANDING EVENT CHANNELS ({})",
            channels.len()
        );
        for channel in channels {
            if channel.active.swap(false, Ordering::SeqCst) {
                self.with_abi(|abi| abi.port_disable(channel.port));
                drop(self.table.remove(channel.port, &channel));
                if channel.kind != ChannelKind::Fixed {
                    let _ = self.services.evtchn_close(channel.port);
                }
                // The number is gone: the client's close only frees the object.
                channel.stale.store(true, Ordering::SeqCst);
            }
        }
    }

    // -- suspend and debug ---------------------------------------------------------------

    /// SUSPEND EARLY: every active channel becomes inactive and leaves the port table (its
    /// number means nothing in the new domain). Clients close and re-open them.
    ///
    /// Runs at `HIGH_LEVEL` with every other processor captured, so it takes no
    /// `DISPATCH_LEVEL` lock (upstream's `EvtchnSuspendCallbackEarly` walks its list unlocked):
    /// every active channel is in the port table, which it walks under the table's own
    /// `HIGH_LEVEL` lock, flipping the channels' atomic flags. The channel list keeps every
    /// channel it holds (reaped later, without a hypercall, as `stale` says).
    pub fn suspend_early(&self) {
        self.table.invalidate_all(|channel| {
            let was_active = channel.active.swap(false, Ordering::SeqCst);
            if was_active {
                channel.stale.store(true, Ordering::SeqCst);
            }
            was_active
        });
    }

    /// SUSPEND LATE: releases and re-acquires the ABI (FIFO → reset and new control blocks)
    /// and re-programs the callback line and vectors.
    pub fn suspend_late(&self) {
        let state = self.state.lock();
        if state.references == 0 {
            return;
        }
        if let Some(abi) = self.replace_abi(None) {
            abi.release();
        }
        match self.abi_acquire() {
            Ok(abi) => {
                if let Some(stale) = self.replace_abi(Some(abi)) {
                    stale.release();
                }
            }
            Err(error) => plog!(
                self.platform,
                Error,
                "EVTCHN: no ABI after resume ({error})"
            ),
        }
        self.interrupt_disable();
        self.interrupt_enable();
        drop(state);
    }

    /// The `xenbus|EVTCHN` debug callback: every channel's port, caller, flags, type and count.
    ///
    /// # Errors
    /// The writer's error.
    pub fn debug_dump(&self, out: &mut dyn fmt::Write, crashing: bool) -> fmt::Result {
        let _ = crashing;
        if self.platform.current_irql() > IrqlLevel::DISPATCH {
            // Under the DEBUG callbacks' HIGH_LEVEL lock: no DISPATCH_LEVEL lock may be taken
            // (not even tried), so only what atomics tell.
            let live = self.live.load(Ordering::Relaxed);
            if live > 0 {
                writeln!(
                    out,
                    "EVENT CHANNELS: {live} (not listed above DISPATCH_LEVEL)"
                )?;
            }
            return Ok(());
        }
        let Some(list) = self.channels.try_lock() else {
            return Ok(());
        };
        if list.is_empty() {
            return Ok(());
        }
        out.write_str("EVENT CHANNELS:\n")?;
        for channel in list.iter() {
            writeln!(
                out,
                "- ({:04x}) BY {:016X} {}{}",
                channel.port,
                channel.caller,
                if channel.auto_mask { "AUTO-MASK " } else { "" },
                if channel.is_active() { "ACTIVE" } else { "" }
            )?;
            match channel.kind {
                ChannelKind::Fixed => out.write_str("FIXED\n")?,
                ChannelKind::Unbound { remote_domain } => {
                    writeln!(out, "UNBOUND: RemoteDomain = {remote_domain}")?;
                }
                ChannelKind::InterDomain {
                    remote_domain,
                    remote_port,
                } => writeln!(
                    out,
                    "INTER_DOMAIN: RemoteDomain = {remote_domain} RemotePort = {remote_port}"
                )?,
                ChannelKind::Virq { index } => writeln!(out, "VIRQ: Index = {index}")?,
            }
            writeln!(out, "Count = {}", channel.count.load(Ordering::SeqCst))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
