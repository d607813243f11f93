// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The active FDO's subsystems wired together (upstream `FdoCreate` + `FdoD3ToD0`/`FdoD0ToD3`,
//! spec §3.6 and §5.5).
//!
//! [`Subsystems::new`] builds every context once (`*Initialize`); [`Subsystems::start`]
//! acquires them in upstream's order — DEBUG, SUSPEND, `SHARED_INFO`, EVTCHN, CACHE, GNTTAB,
//! STORE — and registers the suspend callbacks in the order upstream's nested acquires leave
//! them:
//!
//! * EARLY (processor 0, `HIGH_LEVEL`): EVTCHN (invalidate channels), `SHARED_INFO` (re-map,
//!   mask all), GNTTAB (re-add frames), STORE (expire watches and transactions);
//! * LATE (processor 0, `DISPATCH_LEVEL`): EVTCHN (ABI and upcalls), STORE (re-open the
//!   channel, signal watches), CONSOLE (re-open its channel);
//!
//! CONSOLE is acquired last and may fail (no PV console): the rest then runs without it.
//! Then the FDO's `VIRQ_DEBUG` channel is opened on CPU 0 (re-opened by the FDO's LATE
//! callback, last in the list): Xen's debug key makes every debug callback dump.
//!
//! then the debug callbacks `xenbus|EVTCHN`, `xenbus|SHARED_INFO`, `xenbus|GNTTAB`,
//! `xenbus|CACHE`, `xenbus|STORE`, `xenbus|SUSPEND` and `xenbus|CONSOLE`. [`Subsystems::stop`] undoes it in
//! reverse. [`Subsystems::start`] also starts the store watchdog thread (every 15 s, see
//! [`crate::store::watchdog`]). Children's callbacks, registered later through the SUSPEND interface, run after
//! these. Every closure holds the composition weakly, so dropping the last handle frees it.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use core::time::Duration;

use ntstatus::NtStatus;
use platform_port::worker::Worker;
use platform_port::{Dpc, Interrupts, IrqlLock, Platform, Rendezvous, plog};
use xen_headers::xen::VIRQ_DEBUG;
use xen_services::XenServices;

use crate::cache::{CacheContext, CacheError};
use crate::console::Console;
use crate::debug::{Debug, DebugCallback, DebugError, ModuleLookup, Origin};
use crate::evtchn::{Channel, Evtchn, EvtchnConfig, EvtchnError, EvtchnSharedInfo, OpenKind};
use crate::gnttab::{Gnttab, GnttabError};
use crate::hole::Hole;
use crate::shared_info::SharedInfoContext;
use crate::store::link::StoreLink;
use crate::store::{StoreConfig, watchdog};
use crate::suspend::{Suspend, SuspendCallback, SuspendCallbackType, SuspendError, SuspendSystem};

/// CONSOLE over the FDO's own EVTCHN and GNTTAB.
pub type FdoConsole<P, S, I> = Console<P, S, Evtchn<P, S, I>, Gnttab<P, S>>;

/// A subsystem's debug dump, by the prefix of its callback.
type DumpEntry<P, S, I> = (
    &'static [u8],
    fn(&Subsystems<P, S, I>, &mut dyn fmt::Write, bool) -> fmt::Result,
);

/// How many subsystems [`Subsystems::start`] acquires, in order.
const STAGES: usize = 7;

/// What the composition is built from besides the platform and xen.sys.
pub struct SubsystemsConfig {
    /// `UseEvtchnFifoAbi` / `UseEvtchnUpcall`.
    pub evtchn: EvtchnConfig,
    /// Request and watch id seeds, wait limits.
    pub store: StoreConfig,
    /// xen.sys's `SystemProcessorRegisterVcpuInfo` and `UnplugDevices` for SUSPEND.
    pub system: Arc<dyn SuspendSystem>,
    /// xen.sys's `ModuleLookup`, if available.
    pub lookup: Option<Arc<dyn ModuleLookup>>,
}

impl fmt::Debug for SubsystemsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubsystemsConfig")
            .field("evtchn", &self.evtchn)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Registrations {
    suspend: Vec<Arc<SuspendCallback>>,
    debug: Vec<Arc<DebugCallback>>,
    /// `xenbus|STORE`, which the store watchdog triggers on its own.
    store_debug: Option<Arc<DebugCallback>>,
}

/// Every subsystem of the active FDO.
pub struct Subsystems<P, S, I>
where
    P: Platform + Rendezvous,
    S: XenServices + 'static,
    I: Interrupts + 'static,
{
    /// The platform.
    pub platform: P,
    /// xen.sys.
    pub services: Arc<S>,
    /// The memory-hole allocator.
    pub hole: Arc<Hole<P, S>>,
    /// DEBUG.
    pub debug: Arc<Debug<P>>,
    /// SUSPEND.
    pub suspend: Arc<Suspend<P, S>>,
    /// `SHARED_INFO`.
    pub shared_info: Arc<SharedInfoContext<P, S>>,
    /// EVTCHN.
    pub evtchn: Arc<Evtchn<P, S, I>>,
    /// CACHE.
    pub cache: Arc<CacheContext<P>>,
    /// GNTTAB.
    pub gnttab: Arc<Gnttab<P, S>>,
    /// STORE.
    pub store: Arc<StoreLink<P, S, I>>,
    /// CONSOLE (optional: some toolstacks provide no PV console).
    pub console: Arc<FdoConsole<P, S, I>>,
    console_acquired: core::sync::atomic::AtomicBool,
    started: IrqlLock<P, Option<Registrations>>,
    watchdog_period: IrqlLock<P, Duration>,
    watchdog: IrqlLock<P, Option<Worker<P>>>,
    /// The `VIRQ_DEBUG` channel (upstream's FDO opens it on CPU 0).
    virq_debug: IrqlLock<P, Option<Arc<Channel>>>,
    /// Runs DEBUG's trigger for a `VIRQ_DEBUG` event (shared with the channel's callback,
    /// which must not hold the composition).
    virq_debug_dpc: Arc<P::Dpc>,
    /// `VIRQ_DEBUG` events since the channel was last opened, and whether it is open (lock-free:
    /// the FDO's debug dump reads them, also at `HIGH_LEVEL`).
    virq_debug_events: Arc<AtomicU32>,
    virq_debug_open: AtomicBool,
}

impl<P, S, I> fmt::Debug for Subsystems<P, S, I>
where
    P: Platform + Rendezvous,
    S: XenServices + 'static,
    I: Interrupts + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subsystems")
            .field("started", &self.is_started())
            .finish_non_exhaustive()
    }
}

/// The origin recorded for the composition's own callbacks (no C function behind them).
const INTERNAL: Origin = Origin {
    function: 0,
    argument: 0,
    caller: 0,
};

impl<P, S, I> Subsystems<P, S, I>
where
    P: Platform + Rendezvous,
    S: XenServices + 'static,
    I: Interrupts + 'static,
{
    /// Builds every context (nothing is acquired yet).
    ///
    /// # Errors
    /// The status of the context that could not be created.
    pub fn new(
        platform: P,
        services: Arc<S>,
        interrupts: I,
        config: SubsystemsConfig,
    ) -> Result<Arc<Self>, NtStatus> {
        let hole = Arc::new(Hole::new(platform.clone(), Arc::clone(&services)));
        let debug = Arc::new(Debug::new(platform.clone(), config.lookup.clone()));
        let suspend = Arc::new(Suspend::new(
            platform.clone(),
            Arc::clone(&services),
            config.system,
            config.lookup,
        ));
        let shared_info = Arc::new(SharedInfoContext::new(
            platform.clone(),
            Arc::clone(&services),
            Arc::clone(&hole),
        ));
        let evtchn = Evtchn::new(
            platform.clone(),
            Arc::clone(&services),
            interrupts,
            Arc::clone(&shared_info) as Arc<dyn EvtchnSharedInfo>,
            config.evtchn,
        )
        .map_err(EvtchnError::status)?;
        let cache = Arc::new(CacheContext::new(&platform).map_err(CacheError::status)?);
        let gnttab = Arc::new(
            Gnttab::new(platform.clone(), Arc::clone(&services), Arc::clone(&cache))
                .map_err(GnttabError::status)?,
        );
        let store = StoreLink::new(
            platform.clone(),
            Arc::clone(&services),
            Arc::clone(&evtchn),
            Arc::clone(&gnttab),
            config.store,
        );
        let console = Console::new(
            platform.clone(),
            Arc::clone(&services),
            Arc::clone(&evtchn),
            Arc::clone(&gnttab),
        );
        let started = IrqlLock::dispatch(platform.clone(), None);
        let dumping = Arc::clone(&debug);
        let virq_debug_dpc =
            Arc::new(platform.new_dpc(Some(0), Arc::new(move || dumping.trigger(None))));
        let watchdog_period = IrqlLock::dispatch(
            platform.clone(),
            Duration::from_secs(watchdog::PERIOD_SECONDS),
        );
        let watchdog = IrqlLock::dispatch(platform.clone(), None);
        let virq_debug = IrqlLock::dispatch(platform.clone(), None);
        Ok(Arc::new(Self {
            platform,
            services,
            hole,
            debug,
            suspend,
            shared_info,
            evtchn,
            cache,
            gnttab,
            store,
            console,
            console_acquired: core::sync::atomic::AtomicBool::new(false),
            started,
            watchdog_period,
            watchdog,
            virq_debug,
            virq_debug_dpc,
            virq_debug_events: Arc::new(AtomicU32::new(0)),
            virq_debug_open: AtomicBool::new(false),
        }))
    }

    /// The interfaces still referenced, in upstream's order (`FdoS3ToS4`): after the FDO's D3
    /// every reference left is a child's, and none of these survives hibernation, so entering
    /// it with any of them held is fatal there. `balloon` is the balloon's count (it is the
    /// FDO's, not the composition's). Names and counts, only the non-zero ones.
    pub fn referenced_at_hibernate(&self, balloon: u32) -> [Option<(&'static str, u32)>; 7] {
        let counts = [
            ("SUSPEND", self.suspend.references()),
            ("SHARED_INFO", self.shared_info.references()),
            ("EVTCHN", self.evtchn.references()),
            ("STORE", self.store.references()),
            ("CONSOLE", self.console.references()),
            ("GNTTAB", self.gnttab.references()),
            ("BALLOON", balloon),
        ];
        counts.map(|(name, count)| (count != 0).then_some((name, count)))
    }

    /// Whether [`Subsystems::start`] succeeded and [`Subsystems::stop`] has not run since.
    pub fn is_started(&self) -> bool {
        self.started.lock().is_some()
    }

    /// Acquires everything and registers the callbacks (the subsystem part of `FdoD3ToD0`).
    /// Starting twice is a no-op.
    ///
    /// # Errors
    /// The status of the first acquire that failed; everything acquired before it is released
    /// again.
    pub fn start(self: &Arc<Self>) -> Result<(), NtStatus> {
        if self.is_started() {
            return Ok(());
        }
        for stage in 0..STAGES {
            if let Err(status) = self.acquire_stage(stage) {
                for done in (0..stage).rev() {
                    self.release_stage(done);
                }
                return Err(status);
            }
        }
        // A missing PV console is tolerated (upstream's `ConsoleAcquired = FALSE`).
        let console = self.console.acquire().is_ok();
        self.console_acquired
            .store(console, core::sync::atomic::Ordering::SeqCst);
        let registrations = self.register();
        let store_debug = registrations.store_debug.clone();
        *self.started.lock() = Some(registrations);
        self.start_watchdog(store_debug);
        self.open_virq_debug();
        Ok(())
    }

    /// Opens `VIRQ_DEBUG` on CPU 0 (upstream `FdoVirqInitialize`): Xen raises it when the
    /// host's `'q'` debug key is pressed, and every debug callback then dumps to the log.
    /// Upstream triggers DEBUG from the channel callback itself, at the interrupt's level;
    /// here the callback queues a DPC that triggers it, so no dump can spin on a
    /// `DISPATCH_LEVEL` lock its own processor was holding when the interrupt arrived. A stale
    /// channel (after a resume) is closed first; failure to open is logged and tolerated.
    fn open_virq_debug(&self) {
        let stale = self.virq_debug.lock().take();
        if let Some(stale) = stale {
            self.evtchn.close(stale);
        }
        self.virq_debug_open.store(false, Ordering::SeqCst);
        let dpc = Arc::clone(&self.virq_debug_dpc);
        let events = Arc::clone(&self.virq_debug_events);
        events.store(0, Ordering::SeqCst);
        let opened = self.evtchn.open(
            OpenKind::Virq {
                index: VIRQ_DEBUG,
                cpu: Some(0),
            },
            Arc::new(move || {
                events.fetch_add(1, Ordering::Relaxed);
                dpc.insert();
                true
            }),
            0,
        );
        match opened {
            Ok(channel) => {
                let _ = self.evtchn.unmask(&channel, false, true);
                self.virq_debug_open.store(true, Ordering::SeqCst);
                let stale = self.virq_debug.lock().replace(channel);
                if let Some(stale) = stale {
                    self.evtchn.close(stale);
                }
            }
            Err(error) => plog!(
                self.platform,
                Warning,
                "FDO: VIRQ_DEBUG not available ({error})"
            ),
        }
    }

    /// The `VIRQ_DEBUG` events counted since its channel was opened on processor 0, `None`
    /// while it is not open. Lock-free (any IRQL).
    pub fn virq_debug_events(&self) -> Option<u32> {
        self.virq_debug_open
            .load(Ordering::SeqCst)
            .then(|| self.virq_debug_events.load(Ordering::Relaxed))
    }

    /// Sets the store watchdog's period for the next [`Subsystems::start`] (upstream: 15 s).
    pub fn set_store_watchdog_period(&self, period: Duration) {
        *self.watchdog_period.lock() = period;
    }

    /// Starts the store watchdog thread (upstream's `StoreWatchdog`): every period, a ring
    /// with unconsumed traffic on either side is kicked and polled, and `xenbus|STORE` is
    /// triggered so its state reaches the log. Without a thread the store still works; the
    /// failure is logged.
    fn start_watchdog(&self, store_debug: Option<Arc<DebugCallback>>) {
        let period = *self.watchdog_period.lock();
        // The thread holds the store and DEBUG, never the composition: the composition owns
        // the thread and joins it in `stop` (or when dropped).
        let (store, debug, platform) = (
            Arc::clone(&self.store),
            Arc::clone(&self.debug),
            self.platform.clone(),
        );
        let started = Worker::start(&self.platform, "store-watchdog", move |ctx| {
            let mut dog = watchdog::Watchdog::new();
            loop {
                ctx.wait(Some(period));
                if ctx.alerted() {
                    return;
                }
                let Some(store) = store.store() else {
                    continue;
                };
                if store.watchdog_check(&mut dog) {
                    plog!(platform, Warning, "STORE: WATCHDOG: ring stuck, kicked");
                    debug.trigger(store_debug.as_ref());
                }
            }
        });
        match started {
            Ok(worker) => drop(self.watchdog.lock().replace(worker)),
            Err(error) => plog!(self.platform, Error, "STORE: no watchdog thread ({error})"),
        }
    }

    /// Whether the PV console was acquired by [`Subsystems::start`].
    pub fn console_acquired(&self) -> bool {
        self.console_acquired
            .load(core::sync::atomic::Ordering::SeqCst)
    }

    /// Acquires the `stage`-th subsystem of upstream's order.
    fn acquire_stage(self: &Arc<Self>, stage: usize) -> Result<(), NtStatus> {
        match stage {
            0 => self.debug.acquire().map_err(DebugError::status),
            1 => self.suspend.acquire().map_err(SuspendError::status),
            2 => self.shared_info.acquire(),
            3 => self.evtchn.acquire().map_err(EvtchnError::status),
            4 => self.cache.acquire().map_err(CacheError::status),
            5 => self.gnttab.acquire().map_err(GnttabError::status),
            6 => self.store.acquire(),
            _ => Ok(()),
        }
    }

    /// Releases what [`Self::acquire_stage`] acquired.
    fn release_stage(&self, stage: usize) {
        match stage {
            0 => self.debug.release(),
            1 => self.suspend.release(),
            2 => self.shared_info.release(),
            3 => self.evtchn.release(),
            4 => self.cache.release(),
            5 => self.gnttab.release(),
            6 => self.store.release(),
            _ => {}
        }
    }

    fn register(self: &Arc<Self>) -> Registrations {
        let mut done = Registrations::default();
        let weak = Arc::downgrade(self);
        let on = |f: fn(&Self)| -> Arc<dyn Fn() + Send + Sync> {
            let weak: Weak<Self> = weak.clone();
            Arc::new(move || {
                if let Some(this) = weak.upgrade() {
                    f(&this);
                }
            })
        };
        let early: [fn(&Self); 4] = [
            |s| s.evtchn.suspend_early(),
            |s| s.shared_info.suspend_early(),
            |s| s.gnttab.suspend_early(),
            |s| s.store.suspend_early(),
        ];
        let late: [fn(&Self); 6] = [
            // The mappings EARLY could not remake at HIGH_LEVEL first: everything after them
            // reads the new shared_info page and grant frames.
            |s| s.shared_info.suspend_late(),
            |s| s.gnttab.suspend_late(),
            |s| s.evtchn.suspend_late(),
            |s| s.store.suspend_late(),
            |s| {
                if s.console_acquired() {
                    s.console.suspend_late();
                }
            },
            // The FDO's own LATE callback re-opens its VIRQs.
            Self::open_virq_debug,
        ];
        for f in early {
            if let Ok(cb) = self
                .suspend
                .register(SuspendCallbackType::Early, on(f), INTERNAL)
            {
                done.suspend.push(cb);
            }
        }
        for f in late {
            if let Ok(cb) = self
                .suspend
                .register(SuspendCallbackType::Late, on(f), INTERNAL)
            {
                done.suspend.push(cb);
            }
        }
        let dumps: [DumpEntry<P, S, I>; 7] = [
            (b"xenbus|EVTCHN", |s, out, c| s.evtchn.debug_dump(out, c)),
            (b"xenbus|SHARED_INFO", |s, out, c| {
                s.shared_info.debug_dump(out, c)
            }),
            (b"xenbus|GNTTAB", |s, out, c| s.gnttab.debug_dump(out, c)),
            (b"xenbus|CACHE", |s, out, c| s.cache.debug_dump(out, c)),
            (b"xenbus|STORE", |s, out, c| s.store.debug_dump(out, c)),
            (b"xenbus|SUSPEND", |s, out, c| s.suspend.debug_dump(out, c)),
            (b"xenbus|CONSOLE", |s, out, c| s.console.debug_dump(out, c)),
        ];
        for (prefix, dump) in dumps {
            let weak: Weak<Self> = weak.clone();
            let function = Arc::new(move |crashing: bool| {
                if let Some(this) = weak.upgrade() {
                    // A fixed line buffer: dumps run at HIGH_LEVEL, where nothing may allocate.
                    let mut out = this.debug.writer();
                    let _ = dump(&this, &mut out, crashing);
                }
            });
            if let Ok(cb) = self.debug.register(prefix, function, INTERNAL) {
                if prefix == b"xenbus|STORE" {
                    done.store_debug = Some(Arc::clone(&cb));
                }
                done.debug.push(cb);
            }
        }
        done
    }

    /// Deregisters the callbacks and releases everything in reverse (the subsystem part of
    /// `FdoD0ToD3`). Stopping a stopped composition is a no-op.
    pub fn stop(&self) {
        let Some(registrations) = self.started.lock().take() else {
            return;
        };
        let worker = self.watchdog.lock().take();
        if let Some(worker) = worker {
            worker.stop();
        }
        self.virq_debug_open.store(false, Ordering::SeqCst);
        let channel = self.virq_debug.lock().take();
        if let Some(channel) = channel {
            self.evtchn.close(channel);
        }
        let _ = self.virq_debug_dpc.remove();
        for cb in &registrations.debug {
            let _ = self.debug.deregister(cb);
        }
        for cb in &registrations.suspend {
            let _ = self.suspend.deregister(cb);
        }
        if self
            .console_acquired
            .swap(false, core::sync::atomic::Ordering::SeqCst)
        {
            self.console.release();
        }
        for stage in (0..STAGES).rev() {
            self.release_stage(stage);
        }
        // A DPC still running (or queued before the channels closed) may hold the only
        // reference it upgraded to a subsystem; wait for it here, at PASSIVE_LEVEL, so the
        // owner's last references drop on its own thread and never in a DPC at DISPATCH_LEVEL
        // (where a teardown that joins a thread, as CACHE's monitor does, is not allowed).
        // Upstream flushes the same way in its Release paths (`KeFlushQueuedDpcs`).
        self.platform.flush_dpcs();
    }
}
