// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The stateless services: IRQL, processors, port I/O, clock. xen.sys's platform forwards its
//! [`Irql`] and [`PortIo`] here; xenbus.sys's [`crate::WindowsPlatform`] forwards all four.

use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

use ntddk::registry::WideName;
use ntddk::routines::{
    IoConnectInterruptExFn, IoDisconnectInterruptExFn, KeGetProcessorNumberFromIndexFn,
};
use ntddk::{
    ALL_PROCESSOR_GROUPS, IO_CONNECT_INTERRUPT_PARAMETERS, IO_DISCONNECT_INTERRUPT_PARAMETERS,
    NTSTATUS, PROCESSOR_NUMBER, STATUS_NOT_SUPPORTED, nt_success,
};
use platform_port::{Clock, Irql, IrqlLevel, PortIo, Processors};

use crate::sync::Cpu;

/// The current processor, as the kernel sees it (a handle with no state).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Kernel;

/// Stops the machine (`ntddk::runtime::fatal`, naming `rule`) unless the IRQL is at most `max`:
/// the check Driver Verifier makes on the routine `rule` names.
pub fn require_at_most(max: IrqlLevel, rule: &'static core::ffi::CStr) {
    let level = ntddk::irql::current();
    if level > max.0 {
        ntddk::runtime::fatal(rule, usize::from(level));
    }
}

/// `KeGetProcessorNumberFromIndex`, once [`resolve_routines`] found it.
static GET_PROCESSOR_NUMBER: AtomicPtr<c_void> = AtomicPtr::new(ptr::null_mut());
/// `IoConnectInterruptEx`, likewise.
static CONNECT_INTERRUPT: AtomicPtr<c_void> = AtomicPtr::new(ptr::null_mut());
/// `KeQuerySystemTimePrecise` (Windows 8 and later), likewise.
static SYSTEM_TIME_PRECISE: AtomicPtr<c_void> = AtomicPtr::new(ptr::null_mut());
/// `VOID KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime)`.
type KeQuerySystemTimePreciseFn = unsafe extern "system" fn(*mut i64);
/// `IoDisconnectInterruptEx`, likewise.
static DISCONNECT_INTERRUPT: AtomicPtr<c_void> = AtomicPtr::new(ptr::null_mut());

/// `MmGetSystemRoutineAddress(name)`, or NULL (a name that cannot be converted included).
/// `PASSIVE_LEVEL`, enforced.
#[must_use]
pub fn system_routine(name: &str) -> *mut c_void {
    require_at_most(
        IrqlLevel::PASSIVE,
        c"MmGetSystemRoutineAddress above PASSIVE_LEVEL",
    );
    let Ok(mut wide) = WideName::new(name) else {
        return ptr::null_mut();
    };
    let mut unicode = wide.as_unicode();
    // SAFETY: PASSIVE_LEVEL (the caller's); a valid name the routine only reads.
    unsafe { ntddk::routines::MmGetSystemRoutineAddress(&raw mut unicode) }
}

/// Looks up the kernel routines the platform calls without importing them.
///
/// They are `KeGetProcessorNumberFromIndex`, `IoConnectInterruptEx`,
/// `IoDisconnectInterruptEx` and `KeQuerySystemTimePrecise` (see `ntddk::routines::KeGetProcessorNumberFromIndexFn`). Call once at `PASSIVE_LEVEL` before
/// the platform is used (xenbus.sys's `DriverEntry`); until then, and on a kernel without them,
/// processor numbers fall back to group 0 and interrupts cannot be connected.
pub fn resolve_routines() {
    require_at_most(
        IrqlLevel::PASSIVE,
        c"MmGetSystemRoutineAddress above PASSIVE_LEVEL",
    );
    for (slot, name) in [
        (&GET_PROCESSOR_NUMBER, "KeGetProcessorNumberFromIndex"),
        (&CONNECT_INTERRUPT, "IoConnectInterruptEx"),
        (&DISCONNECT_INTERRUPT, "IoDisconnectInterruptEx"),
        (&SYSTEM_TIME_PRECISE, "KeQuerySystemTimePrecise"),
    ] {
        slot.store(system_routine(name), Ordering::Release);
    }
}

/// `IoConnectInterruptEx`, or `STATUS_NOT_SUPPORTED` when it was not resolved.
///
/// # Safety
/// As the routine: `PASSIVE_LEVEL`, valid parameters.
pub unsafe fn connect_interrupt(parameters: *mut IO_CONNECT_INTERRUPT_PARAMETERS) -> NTSTATUS {
    let routine = CONNECT_INTERRUPT.load(Ordering::Acquire);
    if routine.is_null() {
        return STATUS_NOT_SUPPORTED;
    }
    // SAFETY: the kernel's `IoConnectInterruptEx`, whose signature this is.
    let connect = unsafe { core::mem::transmute::<*mut c_void, IoConnectInterruptExFn>(routine) };
    // SAFETY: the caller's contract.
    unsafe { connect(parameters) }
}

/// `IoDisconnectInterruptEx` (nothing without it: nothing was connected then).
///
/// # Safety
/// As the routine: `PASSIVE_LEVEL`, a connection `connect_interrupt` made.
pub unsafe fn disconnect_interrupt(parameters: *mut IO_DISCONNECT_INTERRUPT_PARAMETERS) {
    let routine = DISCONNECT_INTERRUPT.load(Ordering::Acquire);
    if routine.is_null() {
        return;
    }
    // SAFETY: the kernel's `IoDisconnectInterruptEx`, whose signature this is.
    let disconnect =
        unsafe { core::mem::transmute::<*mut c_void, IoDisconnectInterruptExFn>(routine) };
    // SAFETY: the caller's contract.
    unsafe { disconnect(parameters) };
}

impl Irql for Kernel {
    fn current_irql(&self) -> IrqlLevel {
        IrqlLevel(ntddk::irql::current())
    }

    fn raise_irql(&self, to: IrqlLevel) -> IrqlLevel {
        // SAFETY: `Irql::raise_irql`'s contract makes the caller restore the returned level with
        // `lower_irql` on this processor and keep to what `to` allows meanwhile; a `to` below
        // the current level stops the machine inside `raise` instead of unmasking anything.
        IrqlLevel(unsafe { ntddk::irql::raise(to.0) })
    }

    fn lower_irql(&self, old: IrqlLevel) {
        // SAFETY: `Irql::lower_irql`'s contract: `old` is what the matching `raise_irql` on this
        // processor returned; a level above the current one stops the machine inside `lower`.
        unsafe { ntddk::irql::lower(old.0) }
    }
}

impl Cpu for Kernel {
    fn disable_interrupts(&self) {
        // SAFETY: `cli` at CPL 0; the rendezvous protocol enables them again before it lowers
        // the IRQL it raised to HIGH_LEVEL (upstream's `_disable`).
        unsafe { core::arch::asm!("cli", options(nostack)) };
    }

    fn enable_interrupts(&self) {
        // SAFETY: `sti` at CPL 0, undoing the protocol's own `cli` (upstream's `_enable`).
        unsafe { core::arch::asm!("sti", options(nostack)) };
    }
}

impl Processors for Kernel {
    fn current_processor(&self) -> u32 {
        // SAFETY: any IRQL; NULL asks for the index only.
        unsafe { ntddk::routines::KeGetCurrentProcessorNumberEx(ptr::null_mut()) }
    }

    fn processor_count(&self) -> u32 {
        // SAFETY: any IRQL; a documented group selector.
        unsafe { ntddk::routines::KeQueryMaximumProcessorCountEx(ALL_PROCESSOR_GROUPS) }
    }
}

impl Kernel {
    /// The processors active now (`KeQueryActiveProcessorCountEx`), which a rendezvous
    /// captures. Any IRQL.
    #[must_use]
    pub fn active_processor_count(self) -> u32 {
        // SAFETY: any IRQL; a documented group selector.
        unsafe { ntddk::routines::KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS) }
    }

    /// The group and number of processor index `cpu` (`KeGetProcessorNumberFromIndex`), or
    /// `None` when no processor has that index. Any IRQL. Before [`resolve_routines`] (or on a
    /// kernel without the routine) the answer is group 0, number `cpu`, which is right on every
    /// machine with one processor group (64 processors or fewer).
    #[must_use]
    pub fn processor_number(self, cpu: u32) -> Option<PROCESSOR_NUMBER> {
        let routine = GET_PROCESSOR_NUMBER.load(Ordering::Acquire);
        if routine.is_null() {
            return (cpu < self.processor_count()).then(|| PROCESSOR_NUMBER {
                Group: 0,
                Number: u8::try_from(cpu).unwrap_or(u8::MAX),
                Reserved: 0,
            });
        }
        // SAFETY: the kernel's `KeGetProcessorNumberFromIndex`, whose signature this is.
        let get = unsafe {
            core::mem::transmute::<*mut c_void, KeGetProcessorNumberFromIndexFn>(routine)
        };
        let mut number = PROCESSOR_NUMBER::default();
        // SAFETY: any IRQL; `number` is a valid out-parameter.
        let status = unsafe { get(cpu, &raw mut number) };
        nt_success(status).then_some(number)
    }
}

impl PortIo for Kernel {
    // Port I/O is what `READ_PORT_*`/`WRITE_PORT_*` do for any driver, at any IRQL; which port
    // is touched is the portable caller's decision (the Xen platform device's ports, the
    // debug port), which the trait makes a safe call.
    fn inb(&self, port: u16) -> u8 {
        // SAFETY: see above: the caller chose the port.
        unsafe { ntddk::port::inb(port) }
    }
    fn inw(&self, port: u16) -> u16 {
        // SAFETY: as `inb`.
        unsafe { ntddk::port::inw(port) }
    }
    fn outb(&self, port: u16, value: u8) {
        // SAFETY: as `inb`.
        unsafe { ntddk::port::outb(port, value) }
    }
    fn outw(&self, port: u16, value: u16) {
        // SAFETY: as `inb`.
        unsafe { ntddk::port::outw(port, value) }
    }
    fn outl(&self, port: u16, value: u32) {
        // SAFETY: as `inb`.
        unsafe { ntddk::port::outl(port, value) }
    }
}

impl Clock for Kernel {
    /// `KeQuerySystemTimePrecise` once resolved (the time read from the clock source now),
    /// else the shared data page's `SystemTime` (`KeQuerySystemTime`, updated at each clock
    /// tick). The routine also makes every time check of a spin loop a kernel call, where a
    /// kernel that delivers interrupts only at its own entry points (the project's stand-in)
    /// can deliver them.
    fn system_time(&self) -> i64 {
        let routine = SYSTEM_TIME_PRECISE.load(Ordering::Acquire);
        if routine.is_null() {
            return ntddk::routines::KeQuerySystemTime();
        }
        // SAFETY: the kernel's `KeQuerySystemTimePrecise`, whose signature this is.
        let query =
            unsafe { core::mem::transmute::<*mut c_void, KeQuerySystemTimePreciseFn>(routine) };
        let mut now = 0_i64;
        // SAFETY: any IRQL; `now` is a valid out-parameter.
        unsafe { query(&raw mut now) };
        now
    }

    fn stall(&self, microseconds: u32) {
        // SAFETY: any IRQL; a busy wait.
        unsafe { ntddk::routines::KeStallExecutionProcessor(microseconds) }
    }
}
