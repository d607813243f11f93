// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The active FDO's running parts.
//!
//! Its bus state behind a lock, the scan and suspend threads, and the D3-to-D0 and D0-to-D3 sequences that bring the subsystems and the toolstack
//! protocol up and down (the C package's `FdoD3ToD0`, `FdoD0ToD3`, `FdoScan`, `FdoSuspend`
//! and the LATE suspend callback that redoes the xenstore part in the new domain).
//!
//! The Windows side is reached only through [`BusGlue`]: creating a PDO's device object and
//! applying an [`Effect`] (destroying one, invalidating bus relations).

use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use core::time::Duration;

use platform_port::worker::{Waker, Worker};
use platform_port::{
    Event, EventKind, Events, Interrupts, IrqlLevel, IrqlLock, LevelLock, Platform, Rendezvous,
    plog,
};
use xen_headers::xen::VIRQ_TIMER;
use xen_services::XenServices;

use super::distribution::Version;
use super::fdo::{Effect, Fdo};
use super::log_mirror::{ConsoleSink, LogMirror};
use super::pdo::{PdoId, PdoSettings};
use super::state::{DevicePnpState, DevicePower};
use super::toolstack::{self, ScanSettings, SuspendPass};
use super::watchdog::Rounds;
use crate::balloon::{Balloon, BalloonMemory, BalloonStore, BalloonThread};
use crate::debug::Origin;
use crate::evtchn::{Channel, OpenKind};
use crate::mutex::EventMutex;

use crate::debug::DebugCallback;
use crate::store::link::StoreLink;
use crate::store::{Watch, WatchEvent};
use crate::subsystems::Subsystems;
use crate::suspend::{SuspendCallback, SuspendCallbackType};
use ntstatus::NtStatus;

/// What the Windows side does for the FDO's bus.
pub trait BusGlue: Send + Sync {
    /// Creates the device object of PDO `id` for `class` and reads its per-class settings
    /// (`Parameters\<CLASS>`); `None` if it could not be created. `PASSIVE_LEVEL`.
    fn create_pdo(&self, id: PdoId, class: &str) -> Option<PdoSettings>;
    /// Applies an effect the bus state asked for (destroying a PDO, invalidating relations).
    fn apply(&self, effect: &Effect);
    /// Registers `mirror` with xen.sys's log (`LogAddDisposition`), or with `None` removes
    /// the one registered (`LogRemoveDisposition`; no line reaches the old sink after it).
    /// `PASSIVE_LEVEL`.
    fn mirror_log(&self, mirror: Option<LogMirror>);
}

/// The FDO's settings, read once at `AddDevice`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdoConfig {
    /// The vendor name (`VENDOR_NAME`), for the `drivers/<N>` entry.
    pub vendor: String,
    /// The package version, for the same entry.
    pub version: Version,
    /// A debug build (the entry's attributes).
    pub debug: bool,
    /// The registry's say in the scan.
    pub scan: ScanSettings,
    /// `Enumerate` (missing means yes).
    pub enumerate: bool,
    /// The domain watchdog in seconds (`XEN:WATCHDOG=`, already rounded up to its minimum by
    /// the option parser); 0 disables it.
    pub watchdog: u32,
    /// The log levels mirrored to the PV console while in D0 (`ConsoleLogLevel`, xen.sys's
    /// `LOG_LEVEL` bits); 0 mirrors nothing.
    pub console_log_level: u32,
}

/// What D0 holds in xenstore.
struct InD0 {
    watches: Vec<Watch>,
    late: Option<Arc<SuspendCallback>>,
    /// Whether a log mirror was registered.
    mirrored: bool,
    /// The `xenbus|FDO` debug callback (the VIRQs and their counts).
    dump: Option<Arc<DebugCallback>>,
}

/// The active FDO's running parts.
pub struct FdoCore<P, S, I>
where
    P: Platform + Rendezvous,
    S: XenServices + 'static,
    I: Interrupts + 'static,
{
    /// The subsystems.
    pub subsystems: Arc<Subsystems<P, S, I>>,
    /// The bus state (the FDO and its PDOs); held only while it decides.
    pub fdo: IrqlLock<P, Fdo>,
    config: FdoConfig,
    glue: Arc<dyn BusGlue>,
    balloon_mutex: Arc<EventMutex<<P as Events>::Event>>,
    scan_done: <P as Events>::Event,
    suspend_done: <P as Events>::Event,
    balloon_done: <P as Events>::Event,
    // The FDO's own state. The LATE suspend callback reads and changes it at DISPATCH_LEVEL,
    // so each is a DISPATCH_LEVEL spin lock held only to copy, take or store a value: never
    // across thread creation, a store request or a hypercall.
    threads: IrqlLock<P, Option<Threads<P>>>,
    in_d0: IrqlLock<P, Option<InD0>>,
    balloon: IrqlLock<P, Option<Arc<dyn BalloonControl>>>,
    /// The watchdog's timer channels (processor, channel) while in D0.
    timers: IrqlLock<P, Vec<(u32, Arc<Channel>)>>,
    /// Ticks per processor, taken in the timers' interrupt handlers.
    rounds: Arc<LevelLock<Rounds>>,
}

struct Threads<P: Platform> {
    scan: Worker<P>,
    suspend: Worker<P>,
    balloon: Option<Worker<P>>,
}

/// What the FDO does with BALLOON besides running its thread: acquire it in D0, release it in
/// D3, and ask its size (a non-empty balloon vetoes stop and removal).
pub trait BalloonControl: Send + Sync {
    /// `BALLOON Acquire`.
    ///
    /// # Errors
    /// The balloon's status.
    fn acquire(&self) -> Result<(), NtStatus>;
    /// `BALLOON Release`.
    fn release(&self);
    /// `BALLOON GetSize`, in pages.
    fn size(&self) -> u64;
}

impl<P, S, M, K> BalloonControl for Balloon<P, S, M, K>
where
    P: Platform,
    S: XenServices,
    M: BalloonMemory,
    K: BalloonStore,
{
    fn acquire(&self) -> Result<(), NtStatus> {
        Self::acquire(self).map_err(crate::balloon::BalloonError::status)
    }

    fn release(&self) {
        Self::release(self);
    }

    fn size(&self) -> u64 {
        Self::size(self)
    }
}

/// How long START waits for the balloon's first pass before each warning.
pub const BALLOON_WARN_PERIOD: Duration = Duration::from_secs(10);
/// How long START waits for the balloon's first pass at most (the C package then bug-checks
/// with "BALLOON INFLATION TIMEOUT").
pub const BALLOON_TIMEOUT: Duration = Duration::from_mins(20);

/// The xenstore BALLOON uses, through the store link: the connection is the new domain's after
/// a resume.
pub struct LinkedStore<P: Platform, S: XenServices + 'static, I: Interrupts + 'static>(
    pub Arc<StoreLink<P, S, I>>,
);

impl<P, S, I> BalloonStore for LinkedStore<P, S, I>
where
    P: Platform,
    S: XenServices + 'static,
    I: Interrupts + 'static,
{
    fn read<R>(&self, path: &str, value: impl FnOnce(&[u8]) -> R) -> Result<R, NtStatus> {
        let store = self.0.store().ok_or(ntstatus::STATUS_UNSUCCESSFUL)?;
        BalloonStore::read(&*store, path, value)
    }

    fn write(&self, path: &str, value: &[u8]) -> Result<(), NtStatus> {
        let store = self.0.store().ok_or(ntstatus::STATUS_UNSUCCESSFUL)?;
        BalloonStore::write(&*store, path, value)
    }
}

/// A store watch that wakes a thread.
struct WakeOnWatch<E>(Waker<E>);

impl<E: Event> WatchEvent for WakeOnWatch<E> {
    fn signal(&self) {
        self.0.wake();
    }
}

/// The origin recorded for the FDO's own callbacks.
const FDO: Origin = Origin {
    function: 0,
    argument: 0,
    caller: 0,
};

impl<P, S, I> FdoCore<P, S, I>
where
    P: Platform + Rendezvous,
    S: XenServices + 'static,
    I: Interrupts + 'static,
{
    /// The core of an active FDO whose subsystems are built (not started).
    #[must_use]
    pub fn new(
        subsystems: Arc<Subsystems<P, S, I>>,
        fdo: Fdo,
        config: FdoConfig,
        glue: Arc<dyn BusGlue>,
    ) -> Arc<Self> {
        let platform = subsystems.platform.clone();
        Arc::new(Self {
            fdo: IrqlLock::dispatch(platform.clone(), fdo),
            config,
            glue,
            balloon_mutex: Arc::new(EventMutex::new(&platform)),
            scan_done: platform.new_event(EventKind::Notification),
            suspend_done: platform.new_event(EventKind::Notification),
            balloon_done: platform.new_event(EventKind::Notification),
            threads: IrqlLock::dispatch(platform.clone(), None),
            in_d0: IrqlLock::dispatch(platform.clone(), None),
            balloon: IrqlLock::dispatch(platform.clone(), None),
            timers: IrqlLock::dispatch(platform.clone(), Vec::new()),
            rounds: Arc::new(LevelLock::at(IrqlLevel::HIGH, Rounds::new())),
            subsystems,
        })
    }

    /// The mutex the balloon thread holds across an adjustment (the suspend thread only tries
    /// it).
    #[must_use]
    pub fn balloon_mutex(&self) -> Arc<EventMutex<<P as Events>::Event>> {
        Arc::clone(&self.balloon_mutex)
    }

    /// Starts the scan and suspend threads, and the balloon thread over `balloon` when the
    /// balloon is enabled (START, before D0). Starting twice is a no-op.
    ///
    /// # Errors
    /// The thread that could not be created (nothing is left running).
    pub fn start_threads<M, K>(
        self: &Arc<Self>,
        balloon: Option<Arc<Balloon<P, S, M, K>>>,
    ) -> Result<(), NtStatus>
    where
        M: BalloonMemory + 'static,
        K: BalloonStore + 'static,
    {
        if self.threads.lock().is_some() {
            return Ok(());
        }
        let platform = &self.subsystems.platform;
        let weak = Arc::downgrade(self);
        let scan = Worker::start(platform, "xenbus-scan", move |ctx| {
            loop {
                ctx.wait(None);
                if ctx.alerted() {
                    return;
                }
                if let Some(core) = weak.upgrade() {
                    core.scan_pass();
                    core.scan_done.set();
                }
            }
        })
        .map_err(|_| ntstatus::STATUS_INSUFFICIENT_RESOURCES)?;
        let weak = Arc::downgrade(self);
        let suspend = Worker::start(platform, "xenbus-suspend", move |ctx| {
            loop {
                ctx.wait(None);
                if ctx.alerted() {
                    return;
                }
                if let Some(core) = weak.upgrade() {
                    core.suspend_thread_pass();
                    core.subsystems.platform.flush_dpcs();
                    core.suspend_done.set();
                }
            }
        })
        .map_err(|_| ntstatus::STATUS_INSUFFICIENT_RESOURCES)?;
        let balloon = match balloon {
            Some(balloon) => {
                let control = Arc::clone(&balloon) as Arc<dyn BalloonControl>;
                let previous = self.balloon.lock().replace(control);
                drop(previous);
                Some(self.start_balloon(balloon, suspend.waker())?)
            }
            None => None,
        };
        // START is the only caller: nothing can have started threads meanwhile, and if it
        // had, the ones replaced are stopped here, below DISPATCH_LEVEL.
        let replaced = self.threads.lock().replace(Threads {
            scan,
            suspend,
            balloon,
        });
        drop(replaced);
        Ok(())
    }

    fn start_balloon<M, K>(
        self: &Arc<Self>,
        balloon: Arc<Balloon<P, S, M, K>>,
        wake_suspend: Waker<<P as Events>::Event>,
    ) -> Result<Worker<P>, NtStatus>
    where
        M: BalloonMemory + 'static,
        K: BalloonStore + 'static,
    {
        let thread = BalloonThread::new(
            balloon,
            Arc::clone(&self.balloon_mutex),
            Arc::new(move || wake_suspend.wake()),
        );
        let weak = Arc::downgrade(self);
        Worker::start(&self.subsystems.platform, "xenbus-balloon", move |ctx| {
            let in_d0 = {
                let weak = weak.clone();
                move || {
                    weak.upgrade()
                        .is_some_and(|core| core.fdo.lock().power() == DevicePower::D0)
                }
            };
            let done = move || {
                if let Some(core) = weak.upgrade() {
                    core.balloon_done.set();
                }
            };
            thread.run(ctx, in_d0, done);
        })
        .map_err(|_| ntstatus::STATUS_INSUFFICIENT_RESOURCES)
    }

    /// Alerts and joins the threads (STOP and REMOVE).
    pub fn stop_threads(&self) {
        let threads = self.threads.lock().take();
        if let Some(Threads {
            scan,
            suspend,
            balloon,
        }) = threads
        {
            if let Some(balloon) = balloon {
                balloon.stop();
            }
            suspend.stop();
            scan.stop();
        }
    }

    /// Wakes the scan thread and waits for its pass (REMOVE, and bus relations after START).
    pub fn wake_scan_and_wait(&self) {
        self.scan_done.reset();
        let woken = self
            .threads
            .lock()
            .as_ref()
            .map(|threads| threads.scan.wake());
        if woken.is_some() {
            while !self.scan_done.wait(None) {}
        }
    }

    /// Wakes the scan thread without waiting (a PDO went away, the FDO started).
    pub fn wake_scan(&self) {
        if let Some(threads) = self.threads.lock().as_ref() {
            threads.scan.wake();
        }
    }

    /// One pass of the scan thread: the classes from xenstore and the registry, the bus
    /// state's changes, and their application through the glue.
    pub fn scan_pass(&self) {
        if self.fdo.lock().state() != DevicePnpState::Started {
            return;
        }
        let Some(store) = self.subsystems.store.store() else {
            return;
        };
        let bus = self.fdo.lock().bus().clone();
        let classes = toolstack::scan_classes(&store, &bus, &self.config.scan);
        let plan = self.fdo.lock().enumerate(&classes, self.config.enumerate);
        for effect in &plan.destroy {
            self.glue.apply(effect);
        }
        let mut invalidate = plan.invalidate;
        for class in plan.create {
            let id = self.fdo.lock().allocate_id();
            if let Some(settings) = self.glue.create_pdo(id, &class) {
                self.fdo.lock().insert_pdo(id, class, settings);
                invalidate = true;
            }
        }
        if invalidate {
            self.glue.apply(&Effect::InvalidateBusRelations);
        }
    }

    fn suspend_thread_pass(&self) -> SuspendPass {
        let Some(store) = self.subsystems.store.store() else {
            return SuspendPass::NotSuspend(None);
        };
        let in_d0 = self.fdo.lock().power() == DevicePower::D0;
        let pass = toolstack::suspend_pass(
            &store,
            in_d0,
            || self.balloon_mutex.try_lock(),
            || {
                let outcome = self.subsystems.suspend.trigger();
                plog!(self.subsystems.platform, Info, "FDO: suspend: {outcome:?}");
            },
            || {
                self.wake_balloon();
            },
        );
        plog!(
            self.subsystems.platform,
            Trace,
            "FDO: suspend thread: {pass:?}"
        );
        pass
    }

    /// `FdoD3ToD0` for the active FDO: the subsystems, then the xenstore part, the LATE
    /// callback that redoes it in a new domain, and D0.
    ///
    /// # Errors
    /// The status of the subsystem that could not be acquired (nothing is left acquired).
    pub fn d3_to_d0(self: &Arc<Self>) -> Result<(), NtStatus> {
        self.subsystems.start()?;
        let balloon = self.balloon.lock().clone();
        if let Some(balloon) = balloon
            && let Err(status) = balloon.acquire()
        {
            self.subsystems.stop();
            return Err(status);
        }
        let watches = self.announce();
        self.open_timers();
        let mirrored = self.start_mirror();
        let dump = self.register_dump();
        let weak: Weak<Self> = Arc::downgrade(self);
        let late = self
            .subsystems
            .suspend
            .register(
                SuspendCallbackType::Late,
                Arc::new(move || {
                    if let Some(core) = weak.upgrade() {
                        core.reannounce();
                    }
                }),
                FDO,
            )
            .ok();
        let previous = self.in_d0.lock().replace(InD0 {
            watches,
            late,
            mirrored,
            dump,
        });
        drop(previous);
        self.fdo.lock().device_up_done(true);
        Ok(())
    }

    /// The balloon's size in pages, `None` when the balloon is disabled (for the stop and
    /// removal veto).
    #[must_use]
    pub fn balloon_size(&self) -> Option<u64> {
        let balloon = self.balloon.lock().clone();
        balloon.map(|balloon| balloon.size())
    }

    /// Whether a balloon thread runs.
    #[must_use]
    pub fn balloon_enabled(&self) -> bool {
        self.threads
            .lock()
            .as_ref()
            .is_some_and(|threads| threads.balloon.is_some())
    }

    fn wake_balloon(&self) -> bool {
        self.threads
            .lock()
            .as_ref()
            .and_then(|threads| threads.balloon.as_ref().map(Worker::wake))
            .is_some()
    }

    /// Wakes the balloon thread and waits until a pass leaves it inactive (START after D0, and
    /// D3): `on_slow` is called every [`BALLOON_WARN_PERIOD`] without an answer. Returns false
    /// once `limit` passed without one (the caller bug-checks, as the C package does).
    pub fn wait_balloon(&self, limit: Duration, mut on_slow: impl FnMut(Duration)) -> bool {
        self.balloon_done.reset();
        if !self.wake_balloon() {
            return true;
        }
        let mut waited = Duration::ZERO;
        while !self.balloon_done.wait(Some(BALLOON_WARN_PERIOD)) {
            waited = waited.saturating_add(BALLOON_WARN_PERIOD);
            on_slow(waited);
            if waited >= limit {
                return false;
            }
        }
        true
    }

    /// `FdoD0ToD3` for the active FDO: D3, the balloon thread's pass (ending any adjustment) and
    /// the suspend thread drained, the xenstore part withdrawn, the subsystems released.
    pub fn d0_to_d3(&self) {
        self.fdo.lock().device_down_done();
        let platform = self.subsystems.platform.clone();
        let _ = self.wait_balloon(Duration::MAX, |waited| {
            plog!(
                platform,
                Warning,
                "FDO: waiting for the balloon thread ({waited:?})"
            );
        });
        self.suspend_done.reset();
        let woken = self
            .threads
            .lock()
            .as_ref()
            .map(|threads| threads.suspend.wake());
        if woken.is_some() {
            while !self.suspend_done.wait(None) {}
        }
        let held = self.in_d0.lock().take();
        if let Some(InD0 {
            watches,
            late,
            mirrored,
            dump,
        }) = held
        {
            if let Some(late) = late {
                let _ = self.subsystems.suspend.deregister(&late);
            }
            if let Some(dump) = dump {
                let _ = self.subsystems.debug.deregister(&dump);
            }
            if mirrored {
                self.glue.mirror_log(None);
            }
            self.withdraw(watches);
            self.close_timers();
            // Acquired by the D3-to-D0 that left this state behind.
            let balloon = self.balloon.lock().clone();
            if let Some(balloon) = balloon {
                balloon.release();
            }
        }
        self.subsystems.stop();
    }

    /// The xenstore part of D0: our `drivers/<N>` entry, the watches that wake the threads,
    /// the feature flags. Failures are logged and tolerated, as in the C package.
    fn announce(&self) -> Vec<Watch> {
        let mut watches = Vec::new();
        let Some(store) = self.subsystems.store.store() else {
            return watches;
        };
        let config = &self.config;
        if let Err(error) =
            toolstack::set_distribution(&store, &config.vendor, config.version, config.debug)
        {
            plog!(
                self.subsystems.platform,
                Warning,
                "FDO: no drivers/ entry ({error})"
            );
        }
        let (wakers, balloon) = {
            let threads = self.threads.lock();
            let mut wakers = Vec::new();
            let mut balloon = false;
            if let Some(threads) = threads.as_ref() {
                wakers.push((&b"device"[..], threads.scan.waker()));
                wakers.push((&b"control/shutdown"[..], threads.suspend.waker()));
                if let Some(thread) = threads.balloon.as_ref() {
                    balloon = true;
                    wakers.push((&b"memory/target"[..], thread.waker()));
                }
            }
            (wakers, balloon)
        };
        for (path, waker) in wakers {
            match store.watch_add(None, path, Arc::new(WakeOnWatch(waker)), 0) {
                Ok(watch) => watches.push(watch),
                Err(error) => plog!(
                    self.subsystems.platform,
                    Warning,
                    "FDO: no watch on {} ({error})",
                    String::from_utf8_lossy(path)
                ),
            }
        }
        toolstack::announce_features(&store, balloon);
        watches
    }

    /// The `xenbus|FDO` debug callback (upstream `FdoDebugCallback`): `VIRQS:`, then each VIRQ
    /// channel with its processor (`group:number`) and events, `VIRQ_DEBUG` on processor 0 and
    /// the watchdog's `VIRQ_TIMER`s. Runs at any IRQL up to `HIGH_LEVEL`: reads counters and
    /// the timers' `HIGH_LEVEL` lock, allocates nothing. A processor index is shown as group
    /// `index / 64`, number `index % 64` (upstream asks Windows, which numbers them so while
    /// every group is full).
    fn register_dump(self: &Arc<Self>) -> Option<Arc<DebugCallback>> {
        let weak: Weak<Self> = Arc::downgrade(self);
        let function = Arc::new(move |_crashing: bool| {
            if let Some(core) = weak.upgrade() {
                core.dump_virqs();
            }
        });
        self.subsystems
            .debug
            .register(b"xenbus|FDO", function, FDO)
            .ok()
    }

    fn dump_virqs(&self) {
        let debug = &self.subsystems.debug;
        let platform = &self.subsystems.platform;
        let virq_debug = self.subsystems.virq_debug_events();
        let rounds = self.rounds.lock(platform);
        if virq_debug.is_none() && rounds.counts().next().is_none() {
            return;
        }
        debug.printf(format_args!("VIRQS:"));
        if let Some(count) = virq_debug {
            debug.printf(format_args!("- DEBUG: (0:0) Count = {count}"));
        }
        for (cpu, count) in rounds.counts() {
            let (group, number) = (cpu / 64, cpu % 64);
            debug.printf(format_args!("- TIMER: ({group}:{number}) Count = {count}"));
        }
    }

    /// The console log mirror (upstream adds its disposition once CONSOLE is acquired; a mask
    /// of 0 registers nothing there either). Whether one was registered.
    fn start_mirror(&self) -> bool {
        let mask = self.config.console_log_level;
        if mask == 0 || !self.subsystems.console_acquired() {
            return false;
        }
        let sink = ConsoleSink::new(Arc::clone(&self.subsystems.console));
        self.glue.mirror_log(Some(LogMirror {
            mask,
            sink: Arc::new(sink),
        }));
        true
    }

    fn withdraw(&self, watches: Vec<Watch>) {
        let Some(store) = self.subsystems.store.store() else {
            return;
        };
        toolstack::withdraw_features(&store, self.balloon_enabled());
        for watch in watches {
            let _ = store.watch_remove(watch);
        }
        toolstack::clear_distribution(&store, &self.config.vendor);
    }

    /// The domain watchdog (`XEN:WATCHDOG=`): a `VIRQ_TIMER` channel and a periodic timer at
    /// half the period on every processor, Xen's watchdog armed once one timer runs; each tick
    /// pats it when every processor has kept up ([`Rounds`]). Upstream's `FdoVirqInitialize`,
    /// with the timer channels bound to their processors (the C package leaves the channel's
    /// processor at 0, so ticks on other processors are never dispatched there).
    fn open_timers(&self) {
        let seconds = self.config.watchdog;
        if seconds == 0 {
            return;
        }
        let (platform, services, evtchn) = (
            &self.subsystems.platform,
            &self.subsystems.services,
            &self.subsystems.evtchn,
        );
        // Allocated and freed here, outside the ticks' HIGH_LEVEL lock.
        let processors = usize::try_from(platform.processor_count()).unwrap_or(0);
        let fresh = Rounds::for_processors(processors);
        let old = core::mem::replace(&mut *self.rounds.lock(platform), fresh);
        drop(old);
        let period = u64::from(seconds / 2).saturating_mul(10_000_000);
        let mut timers = Vec::new();
        for cpu in 0..platform.processor_count() {
            let Ok(vcpu) = services.processor_vcpu_id(cpu) else {
                continue;
            };
            let (rounds, ticker, pat) = (
                Arc::clone(&self.rounds),
                platform.clone(),
                Arc::clone(services),
            );
            let index = usize::try_from(cpu).unwrap_or(usize::MAX);
            let opened = evtchn.open(
                OpenKind::Virq {
                    index: VIRQ_TIMER,
                    cpu: Some(cpu),
                },
                Arc::new(move || {
                    let due = rounds.lock(&ticker).tick(index);
                    if due {
                        let _ = pat.system_set_watchdog(seconds);
                    }
                    true
                }),
                0,
            );
            let Ok(channel) = opened else {
                continue;
            };
            let _ = self.rounds.lock(platform).add_timer(index);
            if services
                .vcpu_set_periodic_timer(vcpu, Some(period))
                .is_err()
            {
                evtchn.close(channel);
                continue;
            }
            let _ = evtchn.unmask(&channel, false, true);
            timers.push((vcpu, channel));
        }
        let armed = !timers.is_empty();
        self.timers.lock().extend(timers);
        if armed && let Err(status) = services.system_set_watchdog(seconds) {
            plog!(*platform, Error, "FDO: watchdog not armed ({status:08x})");
        }
    }

    fn close_timers(&self) {
        let timers = core::mem::take(&mut *self.timers.lock());
        if timers.is_empty() {
            return;
        }
        let services = &self.subsystems.services;
        services.system_stop_watchdog();
        for (vcpu, channel) in timers {
            let _ = services.vcpu_set_periodic_timer(vcpu, None);
            self.subsystems.evtchn.close(channel);
        }
    }

    /// The LATE suspend callback: the new domain's xenstore has none of the D0 keys and the
    /// old watches are gone; withdraw what is left and announce again.
    fn reannounce(&self) {
        let old = self
            .in_d0
            .lock()
            .as_mut()
            .map(|held| core::mem::take(&mut held.watches));
        if let Some(old) = old {
            self.withdraw(old);
            self.close_timers();
            let watches = self.announce();
            self.open_timers();
            if let Some(held) = self.in_d0.lock().as_mut() {
                held.watches = watches;
            }
        }
    }
}
