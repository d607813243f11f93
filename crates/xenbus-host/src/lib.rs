// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Host seam of the XENBUS interface provider, for tests only (never part of xenbus.sys).
//!
//! [`xenbus_host_create`] builds what the active FDO builds — the subsystem composition
//! (`xenbus::subsystems::Subsystems`: DEBUG, SUSPEND, `SHARED_INFO`, EVTCHN, CACHE, GNTTAB,
//! STORE, CONSOLE, started in upstream's order with their suspend and debug callbacks) plus
//! UNPLUG — on the Xen simulator (`crates/xen-sim`), with Debian's real xenstored serving the
//! simulated store ring through `xenstored_harness`'s relay, and the simulator's upcalls
//! delivered to EVTCHN. [`xenbus_host_query_interface`] then answers `IRP_MN_QUERY_INTERFACE`
//! exactly as a PDO does, so a C program compiled against `crates/xenbus-interface/include` can
//! stand in for a child driver and call every method through the tables
//! (`tests/c/child_driver.c`).
//!
//! Every interface is wired except STORE when xenstored cannot run here;
//! [`xenbus_host_is_wired`] says which is which. dom0 is the simulator's backend peer. The
//! composition holds one reference on each subsystem it started, as the FDO does, so a child's
//! last Release brings a subsystem back to that reference; `RANGE_SET` and UNPLUG, which the
//! FDO does not hold, are torn down.
//!
//! A child's `PKEVENT` is, on the host, a pointer to a 4-byte-aligned `LONG` that each signal
//! increments atomically.

use std::collections::BTreeMap;
use std::ffi::{CStr, c_char, c_void};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use ntstatus::{NtStatus, STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED, STATUS_SUCCESS};
use platform_port::std_impl::{STD_DIRQL, StdInterrupts, StdPlatform};
use platform_port::{Deferred, RegValue, Registry};
use xen::services::Direct;
use xen_sim::{Sim, SimConfig, SimVcpu};
use xenbus::evtchn::EvtchnConfig;
use xenbus::interface::shared_info::rdtsc;
use xenbus::interface::{Hooks, Provider, ProviderParts, QueryOutcome};
use xenbus::store::{Store, StoreConfig, StoreError, WaitLimits};
use xenbus::subsystems::{Subsystems, SubsystemsConfig};
use xenbus::suspend::SuspendSystem;
use xenbus::unplug::{PARAMETERS_KEY, Unplug, UnplugSystem};
use xenbus_interface::Guid;
use xenstored_harness::relay::{GuestRing, Relay, RelayHooks};
use xenstored_harness::{Daemon, Impl, SocketTransport};

type Xen = Direct<SimVcpu>;
type World = Subsystems<StdPlatform, Xen, StdInterrupts>;

/// xen.sys's boot-time answers: nothing was unplugged, no start options.
struct HostSystem;

impl UnplugSystem for HostSystem {
    fn get_request(&self, _xen_type: u32) -> bool {
        false
    }

    fn start_option(&self, _key: &[u8], _found: &mut dyn FnMut(&[u8])) -> bool {
        false
    }
}

impl SuspendSystem for HostSystem {
    fn register_vcpu_info(&self, _cpu: u32) {}
    fn unplug_devices(&self) {}
}

/// First-Acquire / last-Release counts of the hook-based services.
#[derive(Default)]
struct Lifecycles {
    setups: BTreeMap<&'static str, Arc<AtomicU32>>,
    teardowns: BTreeMap<&'static str, Arc<AtomicU32>>,
}

impl Lifecycles {
    fn hooks(&mut self, name: &'static str) -> Hooks {
        let setups = Arc::clone(self.setups.entry(name).or_default());
        let teardowns = Arc::clone(self.teardowns.entry(name).or_default());
        Hooks::new(
            move || {
                setups.fetch_add(1, Ordering::SeqCst);
                Ok(())
            },
            move || {
                teardowns.fetch_add(1, Ordering::SeqCst);
            },
        )
    }
}

/// Everything the host composition owns. Field order is drop order: the provider (and the
/// children's contexts) first, then the composition, the relay, the daemon, the simulator.
struct Host {
    provider: Provider,
    lifecycles: Lifecycles,
    world: Arc<World>,
    unplug: Arc<Unplug<StdPlatform, Xen>>,
    backend_pages: Mutex<Vec<xen_sim::BackendPage>>,
    dom0: Option<Store<StdPlatform, SocketTransport>>,
    _relay: Option<Relay>,
    _daemon: Option<Daemon>,
    platform: StdPlatform,
    sim: Sim,
}

impl Drop for Host {
    fn drop(&mut self) {
        self.world.stop();
    }
}

static HOST: Mutex<Option<Host>> = Mutex::new(None);

fn host() -> MutexGuard<'static, Option<Host>> {
    HOST.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs `f` on the host under its lock, `None` if there is no host.
fn with_host<R>(f: impl FnOnce(&Host) -> R) -> Option<R> {
    host().as_ref().map(f)
}

/// Signals a host `PKEVENT` (a `LONG` counter).
unsafe fn set_event(event: *mut c_void) {
    let counter = event.cast::<i32>();
    if counter.is_null() || !counter.is_aligned() {
        return;
    }
    // SAFETY: the child passed a pointer to a live, aligned LONG it only accesses atomically
    // (the host's PKEVENT contract).
    let counter = unsafe { AtomicI32::from_ptr(counter) };
    counter.fetch_add(1, Ordering::SeqCst);
}

/// The real xenstored and a relay serving the simulator's store ring from it, if the daemon
/// can run here.
fn start_daemon(
    sim: &Sim,
) -> (
    Option<Daemon>,
    Option<Relay>,
    Option<Store<StdPlatform, SocketTransport>>,
) {
    if xenstored_harness::unavailable(Impl::C).is_some() {
        return (None, None, None);
    }
    let Ok(daemon) = Daemon::start(Impl::C) else {
        return (None, None, None);
    };
    let (_, ring) = sim.store_ring();
    let Some(ring) = NonNull::new(ring) else {
        return (Some(daemon), None, None);
    };
    let kick = sim.clone();
    let generation = sim.clone();
    let relay = daemon.relay(
        sim.domid(),
        // SAFETY: the simulator's store ring page lives as long as the simulator, which the
        // host drops after the relay; only the guest's store and the relay touch it.
        unsafe { GuestRing::new(ring) },
        RelayHooks {
            kick: Arc::new(move || kick.notify_store()),
            generation: Arc::new(move || generation.suspends()),
        },
    );
    let dom0 = daemon.dom0().ok();
    (Some(daemon), relay.ok(), dom0)
}

fn build() -> Result<Host, String> {
    let sim = Sim::new(SimConfig::default());
    let (platform, _pages) = sim.platform(1);
    let xen = Arc::new(Direct::new(sim.vcpu(0), 1));
    let mut lifecycles = Lifecycles::default();
    let system = Arc::new(HostSystem);

    let world = Subsystems::new(
        platform.clone(),
        Arc::clone(&xen),
        StdInterrupts::new(platform.clone()),
        SubsystemsConfig {
            evtchn: EvtchnConfig::default(),
            store: StoreConfig {
                request_id_seed: 0x100,
                watch_id_seed: 0x10,
                limits: WaitLimits::default(),
            },
            system: Arc::clone(&system) as Arc<dyn SuspendSystem>,
            lookup: None,
        },
    )
    .map_err(|status| format!("subsystems: {status:08x}"))?;
    // Xen's upcall on vCPU 0 is the interrupt whose service routine is EVTCHN's entry.
    let weak = Arc::downgrade(&world);
    let cpu0 = platform.clone();
    sim.set_upcall_handler(
        0,
        // Delivered at DIRQL, held pending while the upcall was raised by a hypercall made at
        // or above that level (SUSPEND's at HIGH_LEVEL), as the hardware would.
        Arc::new(move || {
            let weak = weak.clone();
            cpu0.interrupt(0, STD_DIRQL, move || {
                if let Some(world) = weak.upgrade() {
                    world.evtchn.deliver(0);
                }
            });
        }),
    );
    let (daemon, relay, dom0) = start_daemon(&sim);
    world
        .start()
        .map_err(|status| format!("start: {status:08x}"))?;

    let unplug = Arc::new(Unplug::new(
        platform.clone(),
        Arc::clone(&xen),
        system as Arc<dyn UnplugSystem>,
        PARAMETERS_KEY,
    ));
    platform
        .write_value(
            PARAMETERS_KEY,
            "RequestKey",
            RegValue::Sz("SOFTWARE\\XenBusHost\\RequestReboot".to_owned()),
        )
        .map_err(|e| format!("{e:?}"))?;
    let provider = Provider::compose(
        &world,
        ProviderParts {
            unplug: Arc::clone(&unplug),
            rdtsc,
            local_time: false,
            range_hooks: lifecycles.hooks("range_set"),
            set_event,
            store: relay.is_some(),
        },
    );
    Ok(Host {
        provider,
        lifecycles,
        world,
        unplug,
        backend_pages: Mutex::new(Vec::new()),
        dom0,
        _relay: relay,
        _daemon: daemon,
        platform,
        sim,
    })
}

/// Reads a GUID argument.
///
/// # Safety
/// `guid` must be NULL or point to a readable `GUID`.
const unsafe fn guid_arg(guid: *const Guid) -> Option<Guid> {
    if guid.is_null() {
        return None;
    }
    // SAFETY: non-NULL and readable (contract).
    Some(unsafe { guid.read_unaligned() })
}

/// Reads a C string argument.
///
/// # Safety
/// `text` must be NULL or NUL-terminated.
unsafe fn str_arg<'a>(text: *const c_char) -> Option<&'a str> {
    if text.is_null() {
        return None;
    }
    // SAFETY: NUL-terminated (contract).
    unsafe { CStr::from_ptr(text) }.to_str().ok()
}

/// Builds the host composition. Returns 0, or -1 if it exists already or could not be built
/// (the reason goes to stderr).
#[unsafe(no_mangle)]
pub extern "C" fn xenbus_host_create() -> i32 {
    let mut slot = host();
    if slot.is_some() {
        return -1;
    }
    match build() {
        Ok(built) => {
            *slot = Some(built);
            drop(slot);
            0
        }
        Err(why) => {
            eprintln!("xenbus_host_create: {why}");
            -1
        }
    }
}

/// Drops the host composition (children must have released everything).
#[unsafe(no_mangle)]
pub extern "C" fn xenbus_host_destroy() {
    let old = host().take();
    drop(old);
}

/// `IRP_MN_QUERY_INTERFACE` as the PDO answers it, with the IRP's incoming status `current`.
///
/// Returns the status the IRP completes with; `*outcome` (if not NULL) is 0 for a completed
/// query, 1 for `BUS_INTERFACE_STANDARD` (the PDO copies its bus interface), 2 for a query
/// delegated to the FDO stack (`XENFILT_EMULATED`); for 1 and 2 the status is `current`.
///
/// # Safety
/// `guid` points to a GUID; `buffer` is NULL or writable for `size` bytes; `outcome` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xenbus_host_query_interface_ex(
    guid: *const Guid,
    version: u16,
    size: u16,
    buffer: *mut c_void,
    current: NtStatus,
    outcome: *mut i32,
) -> NtStatus {
    // SAFETY: forwarded contract.
    let Some(guid) = (unsafe { guid_arg(guid) }) else {
        return STATUS_INVALID_PARAMETER;
    };
    with_host(|built| {
        // SAFETY: `buffer` is NULL or writable for `size` bytes (contract).
        let answer = unsafe {
            built
                .provider
                .query_interface(&guid, version, size, buffer, current)
        };
        let (kind, status) = match answer {
            QueryOutcome::Complete(status) => (0, status),
            QueryOutcome::BusInterface => (1, current),
            QueryOutcome::DelegateToFdo => (2, current),
        };
        if !outcome.is_null() {
            // SAFETY: non-NULL and writable (contract).
            unsafe { outcome.write_unaligned(kind) };
        }
        status
    })
    .unwrap_or(STATUS_NOT_SUPPORTED)
}

/// [`xenbus_host_query_interface_ex`] for a fresh IRP (`STATUS_NOT_SUPPORTED`).
///
/// # Safety
/// As [`xenbus_host_query_interface_ex`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xenbus_host_query_interface(
    guid: *const Guid,
    version: u16,
    size: u16,
    buffer: *mut c_void,
) -> NtStatus {
    // SAFETY: forwarded contract.
    unsafe {
        xenbus_host_query_interface_ex(
            guid,
            version,
            size,
            buffer,
            STATUS_NOT_SUPPORTED,
            std::ptr::null_mut(),
        )
    }
}

/// 1 if a subsystem serves `guid`'s methods, 0 if the interface only answers the query, -1
/// for an unknown GUID or no host.
///
/// # Safety
/// `guid` points to a GUID.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xenbus_host_is_wired(guid: *const Guid) -> i32 {
    use xenbus_interface as xi;
    // SAFETY: forwarded contract.
    let Some(guid) = (unsafe { guid_arg(guid) }) else {
        return -1;
    };
    with_host(|built| {
        let p = &built.provider;
        let wired = if guid == xi::suspend::GUID_XENBUS_SUSPEND_INTERFACE {
            p.suspend.is_wired()
        } else if guid == xi::shared_info::GUID_XENBUS_SHARED_INFO_INTERFACE {
            p.shared_info.is_wired()
        } else if guid == xi::evtchn::GUID_XENBUS_EVTCHN_INTERFACE {
            p.evtchn.is_wired()
        } else if guid == xi::debug::GUID_XENBUS_DEBUG_INTERFACE {
            p.debug.is_wired()
        } else if guid == xi::store::GUID_XENBUS_STORE_INTERFACE {
            p.store.is_wired()
        } else if guid == xi::range_set::GUID_XENBUS_RANGE_SET_INTERFACE {
            true
        } else if guid == xi::cache::GUID_XENBUS_CACHE_INTERFACE {
            p.cache.is_wired()
        } else if guid == xi::gnttab::GUID_XENBUS_GNTTAB_INTERFACE {
            p.gnttab.is_wired()
        } else if guid == xi::unplug::GUID_XENBUS_UNPLUG_INTERFACE {
            p.unplug.is_wired()
        } else if guid == xi::console::GUID_XENBUS_CONSOLE_INTERFACE {
            p.console.is_wired()
        } else {
            return -1;
        };
        i32::from(wired)
    })
    .unwrap_or(-1)
}

/// The children's references on `guid`'s context, or -1.
///
/// # Safety
/// `guid` points to a GUID.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xenbus_host_references(guid: *const Guid) -> i32 {
    // SAFETY: forwarded contract.
    let Some(guid) = (unsafe { guid_arg(guid) }) else {
        return -1;
    };
    with_host(|built| built.provider.references(&guid))
        .flatten()
        .and_then(|count| i32::try_from(count).ok())
        .unwrap_or(-1)
}

/// The subsystem's own reference count behind `guid` (the composition holds one on each it
/// started; for EVTCHN: the channels it holds), or -1 where there is no subsystem.
///
/// # Safety
/// `guid` points to a GUID.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xenbus_host_subsystem_references(guid: *const Guid) -> i32 {
    use xenbus_interface as xi;
    // SAFETY: forwarded contract.
    let Some(guid) = (unsafe { guid_arg(guid) }) else {
        return -1;
    };
    with_host(|built| {
        let w = &built.world;
        let count = if guid == xi::debug::GUID_XENBUS_DEBUG_INTERFACE {
            w.debug.references()
        } else if guid == xi::evtchn::GUID_XENBUS_EVTCHN_INTERFACE {
            u32::try_from(w.evtchn.channel_count()).unwrap_or(u32::MAX)
        } else if guid == xi::cache::GUID_XENBUS_CACHE_INTERFACE {
            w.cache.references()
        } else if guid == xi::gnttab::GUID_XENBUS_GNTTAB_INTERFACE {
            w.gnttab.references()
        } else if guid == xi::suspend::GUID_XENBUS_SUSPEND_INTERFACE {
            w.suspend.references()
        } else if guid == xi::shared_info::GUID_XENBUS_SHARED_INFO_INTERFACE {
            w.shared_info.references()
        } else if guid == xi::store::GUID_XENBUS_STORE_INTERFACE {
            w.store.references()
        } else if guid == xi::unplug::GUID_XENBUS_UNPLUG_INTERFACE {
            built.unplug.references()
        } else {
            return -1;
        };
        i32::try_from(count).unwrap_or(-1)
    })
    .unwrap_or(-1)
}

fn lifecycle_name(guid: &Guid) -> Option<&'static str> {
    (*guid == xenbus_interface::range_set::GUID_XENBUS_RANGE_SET_INTERFACE).then_some("range_set")
}

/// How many first-Acquire set-ups (`teardown` = 0) or last-Release teardowns (`teardown` = 1)
/// the `RANGE_SET` context ran, or -1.
///
/// # Safety
/// `guid` points to a GUID.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xenbus_host_lifecycle_count(guid: *const Guid, teardown: i32) -> i32 {
    // SAFETY: forwarded contract.
    let Some(guid) = (unsafe { guid_arg(guid) }) else {
        return -1;
    };
    let Some(name) = lifecycle_name(&guid) else {
        return -1;
    };
    with_host(|built| {
        let table = if teardown == 0 {
            &built.lifecycles.setups
        } else {
            &built.lifecycles.teardowns
        };
        table
            .get(name)
            .and_then(|n| i32::try_from(n.load(Ordering::SeqCst)).ok())
            .unwrap_or(-1)
    })
    .unwrap_or(-1)
}

/// Objects children still hold through `guid`'s context (range sets, caches, grant caches
/// plus entries, store transactions plus watches plus buffers, callbacks), or -1.
///
/// # Safety
/// `guid` points to a GUID.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xenbus_host_outstanding(guid: *const Guid) -> i32 {
    use xenbus_interface as xi;
    // SAFETY: forwarded contract.
    let Some(guid) = (unsafe { guid_arg(guid) }) else {
        return -1;
    };
    with_host(|built| {
        let p = &built.provider;
        let count = if guid == xi::range_set::GUID_XENBUS_RANGE_SET_INTERFACE {
            p.range_set.outstanding()
        } else if guid == xi::cache::GUID_XENBUS_CACHE_INTERFACE {
            p.cache.outstanding()
        } else if guid == xi::gnttab::GUID_XENBUS_GNTTAB_INTERFACE {
            let (caches, entries) = p.gnttab.outstanding();
            caches + entries
        } else if guid == xi::store::GUID_XENBUS_STORE_INTERFACE {
            let (transactions, watches, buffers) = p.store.outstanding();
            transactions + watches + buffers
        } else if guid == xi::suspend::GUID_XENBUS_SUSPEND_INTERFACE {
            p.suspend.outstanding()
        } else if guid == xi::debug::GUID_XENBUS_DEBUG_INTERFACE {
            p.debug.outstanding()
        } else if guid == xi::evtchn::GUID_XENBUS_EVTCHN_INTERFACE {
            p.evtchn.outstanding()
        } else {
            return -1;
        };
        i32::try_from(count).unwrap_or(-1)
    })
    .unwrap_or(-1)
}

/// 1 if a log line of the host platform contains `needle`, else 0.
///
/// # Safety
/// `needle` is NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xenbus_host_log_contains(needle: *const c_char) -> i32 {
    // SAFETY: forwarded contract.
    let Some(needle) = (unsafe { str_arg(needle) }) else {
        return 0;
    };
    with_host(|built| {
        i32::from(
            built
                .platform
                .log_lines()
                .iter()
                .any(|(_, line)| line.contains(needle)),
        )
    })
    .unwrap_or(0)
}

/// The `DWORD` `name` under the host registry `key`, or -1.
///
/// # Safety
/// Both strings are NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xenbus_host_registry_dword(
    key: *const c_char,
    name: *const c_char,
) -> i64 {
    // SAFETY: forwarded contract.
    let (Some(key), Some(name)) = (unsafe { str_arg(key) }, unsafe { str_arg(name) }) else {
        return -1;
    };
    with_host(|built| built.platform.read_dword(key, name).map_or(-1, i64::from)).unwrap_or(-1)
}

/// Writes `value` at the absolute store `path` as dom0 (the toolstack). Returns an NTSTATUS.
///
/// # Safety
/// Both strings are NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xenbus_host_dom0_write(
    path: *const c_char,
    value: *const c_char,
) -> NtStatus {
    // SAFETY: forwarded contract.
    let (Some(path), Some(value)) = (unsafe { str_arg(path) }, unsafe { str_arg(value) }) else {
        return STATUS_INVALID_PARAMETER;
    };
    with_host(|built| {
        built.dom0.as_ref().map_or(STATUS_NOT_SUPPORTED, |dom0| {
            dom0.write(None, None, path.as_bytes(), value.as_bytes())
                .map_or_else(StoreError::ntstatus, |()| STATUS_SUCCESS)
        })
    })
    .unwrap_or(STATUS_NOT_SUPPORTED)
}

/// Suspends completed in the simulator.
#[unsafe(no_mangle)]
pub extern "C" fn xenbus_host_sim_suspends() -> u64 {
    host().as_ref().map_or(0, |built| built.sim.suspends())
}

/// dom0 binds a new port to the guest's unbound `guest_port`; returns dom0's port or -1.
#[unsafe(no_mangle)]
pub extern "C" fn xenbus_host_dom0_bind(guest_port: u32) -> i64 {
    with_host(|built| {
        built
            .sim
            .dom0()
            .bind_interdomain(guest_port)
            .map_or(-1, i64::from)
    })
    .unwrap_or(-1)
}

/// dom0 allocates a port the guest may bind to; returns it or -1.
#[unsafe(no_mangle)]
pub extern "C" fn xenbus_host_dom0_allocate_unbound() -> i64 {
    with_host(|built| built.sim.dom0().allocate_unbound().map_or(-1, i64::from)).unwrap_or(-1)
}

/// dom0 notifies its `port` (the guest's upcall runs before this returns); 0 or -1.
#[unsafe(no_mangle)]
pub extern "C" fn xenbus_host_dom0_send(port: u32) -> i32 {
    let peer = with_host(|built| built.sim.dom0());
    // The upcall handler takes no host lock, so the send runs without holding it.
    peer.map_or(-1, |peer| if peer.send(port).is_ok() { 0 } else { -1 })
}

/// How many times dom0's `port` became pending since the last call.
#[unsafe(no_mangle)]
pub extern "C" fn xenbus_host_dom0_events(port: u32) -> i32 {
    with_host(|built| {
        let events = built.sim.dom0().take_events();
        i32::try_from(events.iter().filter(|&&p| p == port).count()).unwrap_or(-1)
    })
    .unwrap_or(-1)
}

/// The guest's console port the toolstack bound (a FIXED channel for children).
#[unsafe(no_mangle)]
pub extern "C" fn xenbus_host_console_port() -> u32 {
    with_host(|built| built.sim.toolstack_ports().1).unwrap_or(0)
}

/// dom0 grants the guest a page; returns the grant reference or -1.
#[unsafe(no_mangle)]
pub extern "C" fn xenbus_host_dom0_grant_page() -> i64 {
    with_host(|built| {
        let page = built.sim.dom0().grant_page(false);
        let reference = page.reference();
        built
            .backend_pages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(page);
        i64::from(reference)
    })
    .unwrap_or(-1)
}

/// Runs every queued DPC (trigger and close reaping) now.
#[unsafe(no_mangle)]
pub extern "C" fn xenbus_host_flush_dpcs() {
    let platform = with_host(|built| built.platform.clone());
    if let Some(platform) = platform {
        platform.flush_dpcs();
    }
}

/// Sleeps (lets the relay and the daemon run).
#[unsafe(no_mangle)]
pub extern "C" fn xenbus_host_sleep_ms(milliseconds: u32) {
    std::thread::sleep(std::time::Duration::from_millis(u64::from(milliseconds)));
}

/// 1 if the simulator's console backend consumed text containing `needle`, else 0.
///
/// # Safety
/// `needle` is NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xenbus_host_console_output_contains(needle: *const c_char) -> i32 {
    // SAFETY: forwarded contract.
    let Some(needle) = (unsafe { str_arg(needle) }) else {
        return 0;
    };
    let output = with_host(|built| built.sim.console_output()).unwrap_or_default();
    i32::from(
        output
            .windows(needle.len().max(1))
            .any(|w| w == needle.as_bytes()),
    )
}

/// The console backend puts `text` in the guest's in ring and kicks it; returns the bytes
/// queued.
///
/// # Safety
/// `text` is NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xenbus_host_console_input(text: *const c_char) -> i32 {
    // SAFETY: forwarded contract.
    let Some(text) = (unsafe { str_arg(text) }) else {
        return 0;
    };
    let sim = with_host(|built| built.sim.clone());
    sim.map_or(0, |sim| {
        i32::try_from(sim.console_input(text.as_bytes())).unwrap_or(0)
    })
}

/// A guest port bound for dom0 outside EVTCHN, as the toolstack binds the store and console
/// ports (a FIXED channel for children); 0 on failure.
#[unsafe(no_mangle)]
pub extern "C" fn xenbus_host_toolstack_port() -> u32 {
    use xen_services::XenServices;
    with_host(|built| built.world.services.evtchn_allocate_unbound(0).unwrap_or(0)).unwrap_or(0)
}
