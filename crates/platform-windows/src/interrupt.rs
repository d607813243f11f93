// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! [`Interrupts`] over the FDO's connected interrupts (upstream's `FdoCreateInterrupt`,
//! `FdoAllocateInterrupt`, `FdoFreeInterrupt`, `FdoDestroyInterrupt`).
//!
//! When the FDO starts, [`WindowsInterrupts::connect`] connects every interrupt of its resources
//! with `IoConnectInterruptEx` (fully specified, as upstream: the synchronize IRQL is the
//! interrupt's own level). A subsystem then *allocates* one by mode and processor (for a line,
//! processor 0, as upstream's EVTCHN does); allocation and release only flip a flag under the
//! interrupt's spin lock (`KeAcquireInterruptSpinLock`). The interrupt service routine calls the
//! FDO's [`InterruptService`] with the processor the interrupt was allocated for (EVTCHN's
//! `interrupt(cpu)`), with the interrupt lock held, and claims nothing for an interrupt that is
//! not allocated (another device may share a line). [`WindowsInterrupts::disconnect`]
//! (`IoDisconnectInterruptEx`) ends it when the FDO stops.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, Ordering};

use ntddk::{
    CM_PARTIAL_RESOURCE_DESCRIPTOR, DEVICE_OBJECT, IO_DISCONNECT_INTERRUPT_CONTEXT,
    IO_DISCONNECT_INTERRUPT_PARAMETERS, KINTERRUPT, NTSTATUS, PROCESSOR_NUMBER, PVOID,
    STATUS_NO_MEMORY, nt_success,
};
use platform_port::{Interrupt, InterruptMode, Interrupts, IrqlLevel, RaisedIrql};

use crate::convert::highest_processor;
use crate::kernel::{Kernel, require_at_most};
use crate::resources::{InterruptResource, connect_parameters, interrupt_resource};

/// What the service routine runs for an allocated interrupt.
///
/// It gets the processor index the interrupt was allocated for and returns whether the
/// interrupt was the device's. Runs at the interrupt's DIRQL holding its lock: it may not wait,
/// allocate, map or take a `DISPATCH_LEVEL` lock.
pub type InterruptService = Arc<dyn Fn(u32) -> bool + Send + Sync>;

/// One connected interrupt.
struct Connected {
    /// The interrupt object `IoConnectInterruptEx` wrote (read only after it returned).
    object: UnsafeCell<*mut KINTERRUPT>,
    /// The connection's version, for `IoDisconnectInterruptEx`.
    version: AtomicU32,
    resource: InterruptResource,
    /// The processor its affinity names last (upstream's `_BitScanReverse64` of it).
    number: PROCESSOR_NUMBER,
    /// The vector as upstream stores it (`(UCHAR)Vector`).
    vector: AtomicU8,
    /// Whether a subsystem holds it; written under the interrupt's lock.
    allocated: AtomicBool,
    /// The processor index it was allocated for; written under the interrupt's lock.
    cpu: UnsafeCell<u32>,
    /// The FDO's service; written under the interrupt's lock.
    service: UnsafeCell<Option<InterruptService>>,
}

// SAFETY: `object` is written once by the kernel before any other thread sees the block;
// `cpu` and `service` are only touched with the interrupt's lock held (the service routine
// holds it too), which serializes them.
unsafe impl Send for Connected {}
// SAFETY: as for `Send`.
unsafe impl Sync for Connected {}

impl Connected {
    fn object(&self) -> *mut KINTERRUPT {
        // SAFETY: written by `IoConnectInterruptEx` before `connect` shared the block.
        unsafe { *self.object.get() }
    }

    /// Runs `f` with the interrupt's lock held at its synchronize IRQL
    /// (`KeAcquireInterruptSpinLock`, `KeReleaseInterruptSpinLock`). IRQL: `<=` that DIRQL.
    fn locked<T>(&self, f: impl FnOnce() -> T) -> T {
        let level = ntddk::irql::current();
        if level > self.resource.irql {
            ntddk::runtime::fatal(
                c"KeAcquireInterruptSpinLock above the interrupt's synchronize IRQL",
                usize::from(level),
            );
        }
        // SAFETY: a connected interrupt object, at or below its synchronize IRQL.
        let old = unsafe { ntddk::routines::KeAcquireInterruptSpinLock(self.object()) };
        let value = f();
        // SAFETY: releases the acquisition above, restoring its IRQL.
        unsafe { ntddk::routines::KeReleaseInterruptSpinLock(self.object(), old) };
        value
    }
}

/// The `KSERVICE_ROUTINE` of every connected interrupt; `context` is its [`Connected`] block,
/// which outlives the connection.
unsafe extern "system" fn service_routine(_interrupt: *mut KINTERRUPT, context: PVOID) -> u8 {
    // SAFETY: `connect` made `context` point at an `Arc`'d block it keeps until after
    // `IoDisconnectInterruptEx`.
    let connected = unsafe { &*context.cast::<Connected>().cast_const() };
    if !connected.allocated.load(Ordering::Acquire) {
        return 0;
    }
    // SAFETY: the kernel holds the interrupt's lock while its service routine runs, which
    // serializes `cpu` and `service` with their writers.
    let cpu = unsafe { *connected.cpu.get() };
    // SAFETY: as above.
    let service = unsafe { (*connected.service.get()).as_ref() };
    service.is_some_and(|service| service(cpu)).into()
}

/// The set of the FDO's connected interrupts; clones share it. Its list is locked at
/// `DISPATCH_LEVEL` only, so no holder is preempted on its processor.
#[derive(Clone)]
pub struct WindowsInterrupts {
    connected: Arc<spin::Mutex<Vec<Arc<Connected>>>>,
}

impl core::fmt::Debug for WindowsInterrupts {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WindowsInterrupts").finish_non_exhaustive()
    }
}

impl WindowsInterrupts {
    /// A set with nothing connected (an FDO not started yet).
    #[must_use]
    pub fn empty() -> Self {
        Self {
            connected: Arc::new(spin::Mutex::new(Vec::new())),
        }
    }

    /// Connects every interrupt of the FDO's resources (`IoConnectInterruptEx`, upstream's
    /// `FdoCreateInterrupt`): `raw[i]` and `translated[i]` describe the same resource. On
    /// failure what was connected is disconnected again. IRQL: `PASSIVE_LEVEL`.
    ///
    /// # Safety
    /// `pdo` is the FDO's physical device object, and the descriptors are the start IRP's.
    ///
    /// # Errors
    /// The status of the failed `IoConnectInterruptEx`, or `STATUS_NO_MEMORY`.
    pub unsafe fn connect(
        pdo: *mut DEVICE_OBJECT,
        raw: &[CM_PARTIAL_RESOURCE_DESCRIPTOR],
        translated: &[CM_PARTIAL_RESOURCE_DESCRIPTOR],
    ) -> Result<Self, NTSTATUS> {
        let this = Self::empty();
        // SAFETY: this function's contract.
        unsafe { this.connect_all(pdo, raw, translated) }?;
        Ok(this)
    }

    /// [`WindowsInterrupts::connect`] into this set, which clones already share (the FDO's
    /// subsystems hold one from `AddDevice`; `IRP_MN_START_DEVICE` connects). On failure
    /// everything in the set is disconnected. IRQL: `PASSIVE_LEVEL`.
    ///
    /// # Safety
    /// As [`WindowsInterrupts::connect`].
    ///
    /// # Errors
    /// As [`WindowsInterrupts::connect`].
    pub unsafe fn connect_all(
        &self,
        pdo: *mut DEVICE_OBJECT,
        raw: &[CM_PARTIAL_RESOURCE_DESCRIPTOR],
        translated: &[CM_PARTIAL_RESOURCE_DESCRIPTOR],
    ) -> Result<(), NTSTATUS> {
        require_at_most(
            IrqlLevel::PASSIVE,
            c"IoConnectInterruptEx above PASSIVE_LEVEL",
        );
        for (raw, translated) in raw.iter().zip(translated) {
            let Some(resource) = interrupt_resource(raw, translated) else {
                continue;
            };
            match connect_one(pdo, resource) {
                Ok(connected) => {
                    let raised = RaisedIrql::at_least(&Kernel, IrqlLevel::DISPATCH);
                    let mut list = self.connected.lock();
                    if list.try_reserve(1).is_err() {
                        drop(list);
                        drop(raised);
                        disconnect_one(&connected);
                        self.disconnect();
                        return Err(STATUS_NO_MEMORY);
                    }
                    list.push(connected);
                }
                Err(status) => {
                    self.disconnect();
                    return Err(status);
                }
            }
        }
        Ok(())
    }

    /// Installs (or, with `None`, removes) the service the interrupts' routine calls, under each
    /// interrupt's lock. IRQL: `<= DISPATCH_LEVEL`.
    pub fn set_service(&self, service: Option<&InterruptService>) {
        require_at_most(
            IrqlLevel::DISPATCH,
            c"InterruptService set above DISPATCH_LEVEL",
        );
        let _raised = RaisedIrql::at_least(&Kernel, IrqlLevel::DISPATCH);
        for connected in self.connected.lock().iter() {
            let new = service.map(Arc::clone);
            // SAFETY: `service` is written only with the interrupt's lock held.
            let old = connected.locked(|| unsafe { connected.service.get().replace(new) });
            // Released here, below the DIRQL (it may free pool).
            drop(old);
        }
    }

    /// Disconnects every interrupt (`IoDisconnectInterruptEx`, upstream's
    /// `FdoDestroyInterrupt`). Every allocated [`WindowsInterrupt`] must have been dropped: one
    /// still held is a rule broken that stops the machine, as upstream's assertion would.
    /// IRQL: `PASSIVE_LEVEL`.
    pub fn disconnect(&self) {
        require_at_most(
            IrqlLevel::PASSIVE,
            c"IoDisconnectInterruptEx above PASSIVE_LEVEL",
        );
        let list = {
            let _raised = RaisedIrql::at_least(&Kernel, IrqlLevel::DISPATCH);
            core::mem::take(&mut *self.connected.lock())
        };
        for connected in list {
            if connected.allocated.load(Ordering::Acquire) {
                ntddk::runtime::fatal(c"interrupt disconnected while allocated", 0);
            }
            disconnect_one(&connected);
            // SAFETY: disconnected: the service routine no longer runs; nothing else reads
            // the slot.
            drop(unsafe { connected.service.get().replace(None) });
        }
    }
}

/// Connects one interrupt.
fn connect_one(
    pdo: *mut DEVICE_OBJECT,
    resource: InterruptResource,
) -> Result<Arc<Connected>, NTSTATUS> {
    let number = PROCESSOR_NUMBER {
        Group: resource.group,
        Number: highest_processor(resource.affinity).unwrap_or(0),
        Reserved: 0,
    };
    let connected = Arc::new(Connected {
        object: UnsafeCell::new(ptr::null_mut()),
        version: AtomicU32::new(0),
        resource,
        number,
        vector: AtomicU8::new(0),
        allocated: AtomicBool::new(false),
        cpu: UnsafeCell::new(0),
        service: UnsafeCell::new(None),
    });
    let context = Arc::as_ptr(&connected).cast_mut().cast();
    let mut parameters = connect_parameters(
        pdo,
        &resource,
        connected.object.get(),
        service_routine,
        context,
    );
    // SAFETY: PASSIVE_LEVEL; fully specified parameters for a resource of this PDO; the
    // object slot and the context live in the block, which outlives the connection.
    let status = unsafe { crate::kernel::connect_interrupt(&raw mut parameters) };
    if !nt_success(status) {
        return Err(status);
    }
    // SAFETY: the member `connect_parameters` filled (the kernel only wrote back the version).
    let vector = unsafe { parameters.u.FullySpecified.Vector };
    connected
        .version
        .store(parameters.Version, Ordering::Release);
    // Upstream keeps `(UCHAR)Connect.FullySpecified.Vector`.
    let [low, ..] = vector.to_le_bytes();
    connected.vector.store(low, Ordering::Release);
    Ok(connected)
}

/// Disconnects one interrupt.
fn disconnect_one(connected: &Connected) {
    let mut parameters = IO_DISCONNECT_INTERRUPT_PARAMETERS {
        Version: connected.version.load(Ordering::Acquire),
        ConnectionContext: IO_DISCONNECT_INTERRUPT_CONTEXT {
            InterruptObject: connected.object(),
        },
    };
    // SAFETY: PASSIVE_LEVEL; a connection `IoConnectInterruptEx` made, disconnected once.
    unsafe { crate::kernel::disconnect_interrupt(&raw mut parameters) };
}

/// One allocated interrupt; dropping it frees it (`FdoFreeInterrupt`). IRQL for the drop:
/// `<= DISPATCH_LEVEL`.
pub struct WindowsInterrupt {
    connected: Arc<Connected>,
}

impl core::fmt::Debug for WindowsInterrupt {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WindowsInterrupt")
            .field("vector", &self.vector())
            .field("line", &self.connected.resource.line)
            .finish_non_exhaustive()
    }
}

impl Interrupt for WindowsInterrupt {
    fn vector(&self) -> u8 {
        self.connected.vector.load(Ordering::Acquire)
    }

    fn line(&self) -> u32 {
        self.connected.resource.line
    }

    fn synchronize(&self, f: &mut dyn FnMut()) {
        self.connected.locked(f);
    }
}

impl Drop for WindowsInterrupt {
    fn drop(&mut self) {
        require_at_most(
            IrqlLevel::DISPATCH,
            c"FdoFreeInterrupt above DISPATCH_LEVEL",
        );
        self.connected
            .locked(|| self.connected.allocated.store(false, Ordering::Release));
    }
}

impl Interrupts for WindowsInterrupts {
    type Interrupt = WindowsInterrupt;

    fn allocate_interrupt(&self, mode: InterruptMode, cpu: u32) -> Option<WindowsInterrupt> {
        require_at_most(
            IrqlLevel::DISPATCH,
            c"FdoAllocateInterrupt above DISPATCH_LEVEL",
        );
        let wanted = Kernel.processor_number(cpu)?;
        let _raised = RaisedIrql::at_least(&Kernel, IrqlLevel::DISPATCH);
        let list = self.connected.lock();
        for connected in list.iter() {
            let n = connected.number;
            if connected.resource.mode != mode
                || (n.Group, n.Number) != (wanted.Group, wanted.Number)
            {
                continue;
            }
            let taken = connected.locked(|| {
                if connected.allocated.load(Ordering::Acquire) {
                    return false;
                }
                // SAFETY: `cpu` is written only with the interrupt's lock held.
                unsafe { connected.cpu.get().write(cpu) };
                connected.allocated.store(true, Ordering::Release);
                true
            });
            if taken {
                return Some(WindowsInterrupt {
                    connected: Arc::clone(connected),
                });
            }
        }
        None
    }
}
