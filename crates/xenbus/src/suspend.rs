// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! SUSPEND: the Xen suspend (`SCHEDOP_shutdown(SHUTDOWN_suspend)`) with every processor captured,
//! and the EARLY/LATE callbacks that rebuild each subsystem in the new domain.
//!
//! Upstream (`suspend.c` + `sync.c`, spec §5.5 and §1.1). [`Suspend::trigger`]:
//! 1. captures every processor ([`Rendezvous`]: the others spin in DPCs, then everyone goes to
//!    `HIGH_LEVEL` with interrupts disabled);
//! 2. logs the clocks, issues `SCHEDOP_shutdown(SHUTDOWN_suspend)`, logs the clocks again;
//! 3. only if the domain *resumed* (the hypercall returned 0): on every processor re-registers
//!    its `vcpu_info`; on processor 0 re-unplugs the emulated devices for the new device model,
//!    then runs every EARLY callback in registration order, still at `HIGH_LEVEL`;
//! 4. enables interrupts; only if resumed, processor 0 runs every LATE callback in
//!    registration order at `DISPATCH_LEVEL` while the others are still captured;
//! 5. releases the processors. Trigger's interface status is always `STATUS_SUCCESS`.
//!
//! Decisions (spec QUIRK A1, A15 and the cancelled case):
//! - **Cancelled or failed suspends run no callback**, EARLY or LATE: `STATUS_CANCELLED` (the
//!   hypercall returned 1: the save failed or was a checkpoint, the domain continues where it
//!   was) and any other failure leave the old domain intact, so nothing needs rebuilding. This is
//!   upstream's behaviour; [`Suspend::trigger`] tells the caller which case happened, the C
//!   interface still returns `STATUS_SUCCESS`.
//! - **The count advances by exactly one per completed suspend** (A1: upstream increments a
//!   plain `ULONG` on every processor, so it advanced by about the processor count). Children
//!   only compare it for change, which one per resume serves; "number of completed suspends" is
//!   then what it says.
//! - **Register takes a typed kind** (A15: upstream accepted an invalid type, leaked the node and
//!   returned success). [`SuspendCallbackType::from_raw`] refuses unknown values so the provider
//!   returns `STATUS_INVALID_PARAMETER`.
//! - The EARLY and LATE lists are copied before the processors are captured (no allocation or
//!   lock at `HIGH_LEVEL`); a registration made while a suspend is in flight takes effect for
//!   the next one.
//! - Release of the last reference with callbacks still registered (upstream's BUG
//!   "OUTSTANDING CALLBACKS") logs at `ERROR` and keeps them; the count resets to 0 as upstream.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicU32, Ordering};

use ntstatus::{NtStatus, STATUS_CANCELLED, STATUS_INVALID_PARAMETER, STATUS_NO_MEMORY};
use platform_port::{IrqlLock, Platform, Rendezvous, RendezvousPlan, plog};
use xen_headers::sched::SHUTDOWN_SUSPEND;
use xen_services::XenServices;

use crate::callback_list::CallbackList;
use crate::debug::{ModuleLookup, Origin};

/// `XENBUS_SUSPEND_CALLBACK_TYPE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuspendCallbackType {
    /// `SUSPEND_CALLBACK_EARLY`: on processor 0 at `HIGH_LEVEL`, interrupts disabled.
    Early = 1,
    /// `SUSPEND_CALLBACK_LATE`: on processor 0 at `DISPATCH_LEVEL`, others captured.
    Late = 2,
}

impl SuspendCallbackType {
    /// The type for a C value; `None` for `SUSPEND_CALLBACK_TYPE_INVALID` and unknown values.
    #[must_use]
    pub const fn from_raw(value: u32) -> Option<Self> {
        match value {
            1 => Some(Self::Early),
            2 => Some(Self::Late),
            _ => None,
        }
    }
}

/// A SUSPEND failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuspendError {
    /// No memory for the registration or the callback snapshot.
    NoMemory,
    /// An unknown callback handle.
    InvalidParameter,
}

impl SuspendError {
    /// Upstream's status.
    #[must_use]
    pub const fn status(self) -> NtStatus {
        match self {
            Self::NoMemory => STATUS_NO_MEMORY,
            Self::InvalidParameter => STATUS_INVALID_PARAMETER,
        }
    }
}

impl fmt::Display for SuspendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoMemory => "no memory",
            Self::InvalidParameter => "invalid parameter",
        })
    }
}

/// How a [`Suspend::trigger`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuspendOutcome {
    /// The domain resumed in a new domain; the callbacks ran and the count advanced.
    Resumed,
    /// Xen cancelled the suspend (`STATUS_CANCELLED`); the old domain continues, no callback ran.
    Cancelled,
    /// The hypercall failed with this status; no callback ran.
    Failed(NtStatus),
    /// The callback lists could not be copied; no suspend was attempted.
    NotAttempted(SuspendError),
}

/// The xen.sys services the EARLY phase needs besides [`XenServices`].
pub trait SuspendSystem: Send + Sync {
    /// `SystemProcessorRegisterVcpuInfo(cpu, TRUE)`: registers processor `cpu`'s `vcpu_info`
    /// area again in the new domain (runs on that processor at `HIGH_LEVEL`).
    fn register_vcpu_info(&self, cpu: u32);
    /// `UnplugDevices()`: unplugs the emulated devices again for the new device model (runs on
    /// processor 0 at `HIGH_LEVEL`).
    fn unplug_devices(&self);
}

/// A suspend callback body.
pub type SuspendFunction = Arc<dyn Fn() + Send + Sync>;

/// One registration.
pub struct SuspendCallback {
    kind: SuspendCallbackType,
    function: SuspendFunction,
    origin: Origin,
}

impl SuspendCallback {
    /// Its kind.
    #[must_use]
    pub const fn kind(&self) -> SuspendCallbackType {
        self.kind
    }
}

/// The SUSPEND context.
pub struct Suspend<P: Platform + Rendezvous, S: XenServices> {
    platform: P,
    xen: Arc<S>,
    system: Arc<dyn SuspendSystem>,
    lookup: Option<Arc<dyn ModuleLookup>>,
    references: IrqlLock<P, u32>,
    early: CallbackList<P, SuspendCallback>,
    late: CallbackList<P, SuspendCallback>,
    count: AtomicU32,
}

impl<P: Platform + Rendezvous, S: XenServices> Suspend<P, S> {
    /// A context.
    pub fn new(
        platform: P,
        xen: Arc<S>,
        system: Arc<dyn SuspendSystem>,
        lookup: Option<Arc<dyn ModuleLookup>>,
    ) -> Self {
        Self {
            references: IrqlLock::dispatch(platform.clone(), 0),
            early: CallbackList::dispatch(platform.clone()),
            late: CallbackList::dispatch(platform.clone()),
            count: AtomicU32::new(0),
            platform,
            xen,
            system,
            lookup,
        }
    }

    /// `Acquire`. (The composition registers [`Suspend::debug_dump`] as `xenbus|SUSPEND`.)
    ///
    /// # Errors
    /// None today; the signature matches every subsystem's.
    pub fn acquire(&self) -> Result<(), SuspendError> {
        let mut references = self.references.lock();
        *references = references.saturating_add(1);
        Ok(())
    }

    /// `Release`: the last reference resets the count.
    pub fn release(&self) {
        let mut references = self.references.lock();
        *references = references.saturating_sub(1);
        if *references != 0 {
            return;
        }
        let outstanding = self.early.len().saturating_add(self.late.len());
        if outstanding != 0 {
            plog!(
                self.platform,
                Error,
                "SUSPEND: OUTSTANDING CALLBACKS ({outstanding})"
            );
        }
        self.count.store(0, Ordering::Release);
    }

    /// The current reference count.
    pub fn references(&self) -> u32 {
        *self.references.lock()
    }

    /// `Register`: appends a callback to the EARLY or LATE list.
    ///
    /// # Errors
    /// [`SuspendError::NoMemory`].
    pub fn register(
        &self,
        kind: SuspendCallbackType,
        function: SuspendFunction,
        origin: Origin,
    ) -> Result<Arc<SuspendCallback>, SuspendError> {
        let callback = Arc::new(SuspendCallback {
            kind,
            function,
            origin,
        });
        self.list(kind)
            .push(Arc::clone(&callback))
            .map_err(|_| SuspendError::NoMemory)?;
        Ok(callback)
    }

    /// `Deregister`.
    ///
    /// # Errors
    /// [`SuspendError::InvalidParameter`] if `callback` is not registered here.
    pub fn deregister(&self, callback: &Arc<SuspendCallback>) -> Result<(), SuspendError> {
        if self.list(callback.kind).remove(callback) {
            Ok(())
        } else {
            Err(SuspendError::InvalidParameter)
        }
    }

    const fn list(&self, kind: SuspendCallbackType) -> &CallbackList<P, SuspendCallback> {
        match kind {
            SuspendCallbackType::Early => &self.early,
            SuspendCallbackType::Late => &self.late,
        }
    }

    /// `GetCount`: how many suspends completed since the first reference.
    pub fn count(&self) -> u32 {
        self.count.load(Ordering::Acquire)
    }

    /// `Trigger` (PASSIVE caller; the FDO's suspend thread runs on processor 0). The C
    /// interface returns `STATUS_SUCCESS` whatever the outcome.
    pub fn trigger(&self) -> SuspendOutcome {
        let lists = self.early.snapshot().and_then(|early| {
            let late = self.late.snapshot()?;
            Ok((early, late))
        });
        let Ok((early, late)) = lists else {
            plog!(
                self.platform,
                Error,
                "SUSPEND: NO MEMORY FOR THE CALLBACK LISTS"
            );
            return SuspendOutcome::NotAttempted(SuspendError::NoMemory);
        };
        plog!(self.platform, Info, "SUSPEND: ====>");
        let plan = Plan {
            suspend: self,
            early,
            late,
            outcome: IrqlLock::high(
                self.platform.clone(),
                SuspendOutcome::Failed(STATUS_CANCELLED),
            ),
        };
        self.platform.rendezvous(&plan);
        plog!(self.platform, Info, "SUSPEND: <====");
        *plan.outcome.lock()
    }

    fn log_time(&self, when: &str) {
        let time = self.platform.system_time();
        let bits = u64::from_ne_bytes(time.to_ne_bytes());
        plog!(
            self.platform,
            Info,
            "{when}: SystemTime = {:08x}.{:08x}",
            bits >> 32,
            bits & 0xFFFF_FFFF
        );
    }

    /// The `xenbus|SUSPEND` debug callback's content: the count, then every EARLY and LATE
    /// callback (module + offset when the lookup knows the function, else its address) and its
    /// argument. It may run at `HIGH_LEVEL` over code holding the list lock on the same
    /// processor, so it never waits for the lock: a busy list prints `(busy)`.
    ///
    /// # Errors
    /// The writer's.
    pub fn debug_dump(&self, out: &mut dyn fmt::Write, _crashing: bool) -> fmt::Result {
        writeln!(out, "Count = {}", self.count())?;
        for (name, list) in [("EARLY", &self.early), ("LATE", &self.late)] {
            let dumped = list.try_with(|callbacks| {
                callbacks
                    .iter()
                    .try_for_each(|c| dump_origin(out, self.lookup.as_deref(), name, c.origin))
            });
            match dumped {
                Some(result) => result?,
                None => writeln!(out, "{name}: (busy)")?,
            }
        }
        Ok(())
    }
}

fn dump_origin(
    out: &mut dyn fmt::Write,
    lookup: Option<&dyn ModuleLookup>,
    name: &str,
    origin: Origin,
) -> fmt::Result {
    let mut result = Ok(());
    let found = lookup.is_some_and(|lookup| {
        lookup.lookup(origin.function, &mut |module, offset| {
            result = writeln!(
                out,
                "{name}: {module} + {offset:016X} ({:016X})",
                origin.argument
            );
        })
    });
    if found {
        return result;
    }
    writeln!(
        out,
        "{name}: {:016X} ({:016X})",
        origin.function, origin.argument
    )
}

struct Plan<'a, P: Platform + Rendezvous, S: XenServices> {
    suspend: &'a Suspend<P, S>,
    early: Vec<Arc<SuspendCallback>>,
    late: Vec<Arc<SuspendCallback>>,
    /// Written by the owner at HIGH_LEVEL.
    outcome: IrqlLock<P, SuspendOutcome>,
}

impl<P: Platform + Rendezvous, S: XenServices> RendezvousPlan for Plan<'_, P, S> {
    fn owner_high(&self) -> bool {
        let suspend = self.suspend;
        suspend.log_time("PRE-SUSPEND");
        plog!(
            suspend.platform,
            Info,
            "SUSPEND: SCHEDOP_shutdown:SHUTDOWN_suspend ====>"
        );
        let result = suspend.xen.sched_shutdown(SHUTDOWN_SUSPEND);
        let status = result.err().unwrap_or(ntstatus::STATUS_SUCCESS);
        plog!(
            suspend.platform,
            Info,
            "SUSPEND: SCHEDOP_shutdown:SHUTDOWN_suspend <==== ({:08x})",
            u32::from_ne_bytes(status.to_ne_bytes())
        );
        suspend.log_time("POST-SUSPEND");
        let outcome = match result {
            Ok(()) => SuspendOutcome::Resumed,
            Err(status) if status == STATUS_CANCELLED => SuspendOutcome::Cancelled,
            Err(status) => SuspendOutcome::Failed(status),
        };
        *self.outcome.lock() = outcome;
        outcome == SuspendOutcome::Resumed
    }

    fn each_high(&self, cpu: u32) {
        let suspend = self.suspend;
        plog!(suspend.platform, Info, "SUSPEND: EARLY ({cpu})");
        suspend.system.register_vcpu_info(cpu);
        if cpu != 0 {
            return;
        }
        suspend.count.fetch_add(1, Ordering::AcqRel);
        suspend.system.unplug_devices();
        for callback in &self.early {
            (callback.function)();
        }
    }

    fn each_dispatch(&self, cpu: u32) {
        let suspend = self.suspend;
        plog!(suspend.platform, Info, "SUSPEND: LATE ({cpu})");
        if cpu != 0 {
            return;
        }
        for callback in &self.late {
            (callback.function)();
        }
    }
}

#[cfg(test)]
mod tests;
