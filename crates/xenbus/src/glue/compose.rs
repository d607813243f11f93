// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The active FDO's composition on Windows: the subsystems over the Windows platform and
//! xen.sys's exports, the interface contexts its PDOs hand out, and the FDO core with its
//! threads (upstream `FdoCreate`'s second half).
//!
//! Settings come from the service's `Parameters` key and the system start options as upstream
//! reads them: `UseEvtchnFifoAbi` and `UseEvtchnUpcall` (DWORD, default 1), `SupportedClasses`
//! and `SyntheticClasses` (`REG_MULTI_SZ`), `Enumerate` (DWORD, missing means yes), and
//! `XEN:WATCHDOG=`.
//!
//! The balloon is not composed yet: it needs the Windows memory services behind
//! `BalloonMemory` (`MmAllocatePagesForMdlEx`, `MmAddPhysicalMemory`, the low-memory event),
//! which this build does not bind. `XEN:BALLOON` is read and a log line says the balloon is
//! unavailable; the FDO runs without it, as upstream does with `XEN:BALLOON=OFF`.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ffi::{c_char, c_void};

use ntstatus::NtStatus;
use platform_port::{RegValue, Registry, plog};
use platform_windows::{InterruptService, WindowsInterrupts, WindowsPlatform};
use start_options::StartOptions;
use xen_services::imports::{
    Imported, SystemProcessorRegisterVcpuInfo, SystemRealTimeIsUniversal, UnplugDevices,
    UnplugGetRequest,
};

use super::balloon::WindowsBalloonMemory;
use crate::balloon::Balloon;
use crate::evtchn::EvtchnConfig;
use crate::interface::{Hooks, Provider, ProviderParts};
use crate::pnp::core::{BusGlue, FdoConfig, FdoCore, LinkedStore};
use crate::pnp::distribution::Version;
use crate::pnp::fdo::Fdo;
use crate::pnp::toolstack::ScanSettings;
use crate::store::{StoreConfig, WaitLimits};
use crate::subsystems::{Subsystems, SubsystemsConfig};
use crate::suspend::SuspendSystem;
use crate::unplug::{PARAMETERS_KEY, Unplug, UnplugSystem};

/// The composition's types on Windows.
pub type World = Subsystems<WindowsPlatform, Imported, WindowsInterrupts>;
/// The active FDO's core on Windows.
pub type Core = FdoCore<WindowsPlatform, Imported, WindowsInterrupts>;
/// The balloon over Windows' memory and the linked store.
pub type WinBalloon = Balloon<
    WindowsPlatform,
    Imported,
    WindowsBalloonMemory,
    LinkedStore<WindowsPlatform, Imported, WindowsInterrupts>,
>;

/// Where the loader's command line is kept.
const START_OPTIONS_KEY: &str = r"SYSTEM\CurrentControlSet\Control";

/// `VENDOR_NAME_STR`.
pub const VENDOR_NAME: &str = "Xen Project";

/// xen.sys's per-processor suspend work and boot-time answers.
struct XenSystem {
    platform: WindowsPlatform,
}

impl SuspendSystem for XenSystem {
    fn register_vcpu_info(&self, cpu: u32) {
        // SAFETY: a plain value; xen.sys's contract (HIGH_LEVEL on `cpu`, where SUSPEND calls).
        let _status = unsafe { SystemProcessorRegisterVcpuInfo(cpu, 1) };
    }

    fn unplug_devices(&self) {
        // SAFETY: no arguments; any IRQL.
        unsafe { UnplugDevices() };
    }
}

impl UnplugSystem for XenSystem {
    fn get_request(&self, xen_type: u32) -> bool {
        // SAFETY: a plain value.
        unsafe { UnplugGetRequest(xen_type) != 0 }
    }

    fn start_option(&self, key: &[u8], found: &mut dyn FnMut(&[u8])) -> bool {
        with_start_options(self.platform, |options| {
            options.value(key).map(found).is_some()
        })
    }
}

/// Calls `f` with the system start options (empty when they cannot be read). PASSIVE_LEVEL.
pub fn with_start_options<R>(
    platform: WindowsPlatform,
    f: impl FnOnce(&StartOptions<'_>) -> R,
) -> R {
    let text = match platform.read_value(START_OPTIONS_KEY, "SystemStartOptions") {
        Ok(RegValue::Sz(text)) => text,
        _ => String::new(),
    };
    f(&StartOptions::new(text.as_bytes()))
}

/// A `REG_MULTI_SZ` value of `Parameters`, `None` when missing or of another type.
fn multi_sz(platform: WindowsPlatform, name: &str) -> Option<Vec<String>> {
    match platform.read_value(PARAMETERS_KEY, name) {
        Ok(RegValue::MultiSz(list)) => Some(list),
        _ => None,
    }
}

/// A DWORD of `Parameters`, `default` when missing or of another type.
fn dword(platform: WindowsPlatform, name: &str, default: u32) -> u32 {
    platform.read_dword(PARAMETERS_KEY, name).unwrap_or(default)
}

/// `KeSetEvent` for a child's event (STORE watches, CONSOLE wakes).
///
/// # Safety
/// `event` is NULL or a `KEVENT` the child keeps valid while registered.
unsafe fn set_event(event: *mut c_void) {
    if event.is_null() {
        return;
    }
    // SAFETY: the child's event (the interface contract); <= DISPATCH_LEVEL.
    unsafe { ntddk::routines::KeSetEvent(event.cast(), 0, 0) };
}

/// The processor's time-stamp counter.
fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` has no memory effects and is always available on x86-64.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// The active FDO's running parts.
pub struct Active {
    /// The FDO core: bus state, threads, D0 and D3.
    pub core: Arc<Core>,
    /// What the connected interrupts' service routine calls: EVTCHN's ISR body for the
    /// interrupt's processor (`EvtchnInterruptCallback`). It holds EVTCHN weakly (the
    /// interrupts are EVTCHN's own, so a strong reference would be a cycle); EVTCHN outlives
    /// the connection, which STOP and REMOVE end before the subsystems go.
    pub service: InterruptService,
    /// The balloon, unless `XEN:BALLOON=OFF`; the FDO's balloon thread drives it.
    pub balloon: Option<Arc<WinBalloon>>,
    /// The interface contexts the PDOs hand out (they outlive every child's table: the FDO
    /// goes only after its last PDO).
    pub provider: Provider,
}

/// Builds the active FDO's composition for `fdo` (PASSIVE_LEVEL, `AddDevice`). `interrupts`
/// is the FDO's set, connected later by START.
///
/// # Errors
/// The status of the subsystem that could not be created.
pub fn compose(
    platform: WindowsPlatform,
    interrupts: &WindowsInterrupts,
    fdo: Fdo,
    glue: Arc<dyn BusGlue>,
) -> Result<Active, NtStatus> {
    let system = Arc::new(XenSystem { platform });
    let xen = Arc::new(Imported);
    let tsc = rdtsc();
    let world = World::new(
        platform,
        Arc::clone(&xen),
        interrupts.clone(),
        SubsystemsConfig {
            evtchn: EvtchnConfig {
                use_fifo_abi: dword(platform, "UseEvtchnFifoAbi", 1) != 0,
                use_upcall: dword(platform, "UseEvtchnUpcall", 1) != 0,
            },
            store: StoreConfig {
                // Upstream seeds both counters from the clock.
                request_id_seed: (tsc & 0xFFFF) as u16,
                watch_id_seed: ((tsc >> 16) & 0xFFFF) as u16,
                limits: WaitLimits::default(),
            },
            system: Arc::clone(&system) as Arc<dyn SuspendSystem>,
            lookup: None,
        },
    )?;
    let evtchn = Arc::downgrade(&world.evtchn);
    let service: InterruptService =
        Arc::new(move |cpu| evtchn.upgrade().is_some_and(|evtchn| evtchn.interrupt(cpu)));
    let unplug = Arc::new(Unplug::new(
        platform,
        Arc::clone(&xen),
        system as Arc<dyn UnplugSystem>,
        PARAMETERS_KEY,
    ));
    let provider = Provider::compose(
        &world,
        ProviderParts {
            unplug,
            rdtsc,
            // SAFETY: no arguments; xen.sys's answer from the registry.
            local_time: unsafe { SystemRealTimeIsUniversal() } == 0,
            range_hooks: Hooks::new(|| Ok(()), || {}),
            set_event,
            store: true,
        },
    );
    let (watchdog, balloon) = with_start_options(platform, |options| {
        let watchdog = start_options::watchdog(options);
        let balloon = start_options::balloon(options);
        (watchdog.seconds, balloon.value)
    });
    let balloon = if balloon {
        let memory = WindowsBalloonMemory::open(platform).inspect_err(|status| {
            plog!(
                platform,
                Error,
                "xenbus|FDO: balloon ({:08x})",
                status.cast_unsigned()
            );
        })?;
        Some(Arc::new(Balloon::new(
            platform,
            Arc::clone(&xen),
            Arc::new(memory),
            Arc::new(LinkedStore(Arc::clone(&world.store))),
        )))
    } else {
        None
    };
    let config = FdoConfig {
        vendor: String::from(VENDOR_NAME),
        version: Version {
            major: xen_services::PACKAGE_VERSION.major,
            minor: xen_services::PACKAGE_VERSION.minor,
            micro: xen_services::PACKAGE_VERSION.micro,
            build: xen_services::PACKAGE_VERSION.build,
        },
        debug: cfg!(debug_assertions),
        scan: ScanSettings {
            synthetic: multi_sz(platform, "SyntheticClasses").unwrap_or_default(),
            supported: multi_sz(platform, "SupportedClasses"),
        },
        enumerate: dword(platform, "Enumerate", 1) != 0,
        watchdog,
        console_log_level: super::console_log_level(),
    };
    let core = Core::new(world, fdo, config, glue);
    Ok(Active {
        core,
        service,
        balloon,
        provider,
    })
}

/// A NUL-terminated copy of `text` for a C export.
pub fn c_string(text: &str) -> Vec<c_char> {
    text.bytes()
        .map(u8::cast_signed)
        .chain(core::iter::once(0))
        .collect()
}
