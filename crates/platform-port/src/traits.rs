// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The service traits.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::ptr::NonNull;
use core::time::Duration;

use ntstatus::{
    NtStatus, STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_PARAMETER, STATUS_NO_MEMORY,
    STATUS_OBJECT_NAME_NOT_FOUND, STATUS_OBJECT_TYPE_MISMATCH, STATUS_UNSUCCESSFUL,
};

/// The size of a page (x64).
pub const PAGE_SIZE: usize = 4096;
/// `log2(PAGE_SIZE)`.
pub const PAGE_SHIFT: u32 = 12;

/// Why a platform service failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortError {
    /// No memory (pool or contiguous pages).
    NoMemory,
    /// Some other resource ran out (threads, mappings).
    Insufficient,
    /// The registry key or value does not exist.
    NotFound,
    /// The registry value has another type than asked for.
    WrongType,
    /// The arguments were refused (zero pages, a name with a NUL...).
    InvalidParameter,
    /// The OS call failed for another reason.
    Failed,
}

impl PortError {
    /// The NTSTATUS the Windows call would have returned.
    #[must_use]
    pub const fn status(self) -> NtStatus {
        match self {
            Self::NoMemory => STATUS_NO_MEMORY,
            Self::Insufficient => STATUS_INSUFFICIENT_RESOURCES,
            Self::NotFound => STATUS_OBJECT_NAME_NOT_FOUND,
            Self::WrongType => STATUS_OBJECT_TYPE_MISMATCH,
            Self::InvalidParameter => STATUS_INVALID_PARAMETER,
            Self::Failed => STATUS_UNSUCCESSFUL,
        }
    }
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoMemory => "out of memory",
            Self::Insufficient => "insufficient resources",
            Self::NotFound => "not found",
            Self::WrongType => "wrong value type",
            Self::InvalidParameter => "invalid parameter",
            Self::Failed => "failed",
        })
    }
}

/// A Windows interrupt request level (x64 numbering).
///
/// # IRQL contracts
///
/// Every method of the service traits below states the IRQL its caller must run at: the
/// documented requirement of the Windows routine it stands for (the "IRQL" row of the routine's
/// page in the WDK reference). Where the reference allows more under conditions this port cannot
/// check, the stricter documented level is used and the method says so. The Windows kernel
/// enforces these rules with a bug check (often only under Driver Verifier); the std
/// implementation ([`crate::std_impl`], feature `std`) enforces every one of them with a panic
/// naming the rule and the caller, so host tests see what a Windows machine would crash on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IrqlLevel(pub u8);

impl IrqlLevel {
    /// `PASSIVE_LEVEL`.
    pub const PASSIVE: Self = Self(0);
    /// `APC_LEVEL`.
    pub const APC: Self = Self(1);
    /// `DISPATCH_LEVEL`: no thread switch on this processor; DPCs run here.
    pub const DISPATCH: Self = Self(2);
    /// `CLOCK_LEVEL`.
    pub const CLOCK: Self = Self(13);
    /// `IPI_LEVEL`.
    pub const IPI: Self = Self(14);
    /// `HIGH_LEVEL`: every interrupt masked on this processor (the highest level on x64).
    pub const HIGH: Self = Self(15);
}

impl fmt::Display for IrqlLevel {
    /// The WDK name (`DISPATCH_LEVEL`), `DIRQL n` for a device level.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("PASSIVE_LEVEL"),
            1 => f.write_str("APC_LEVEL"),
            2 => f.write_str("DISPATCH_LEVEL"),
            13 => f.write_str("CLOCK_LEVEL"),
            14 => f.write_str("IPI_LEVEL"),
            15 => f.write_str("HIGH_LEVEL"),
            level @ 3..=12 => write!(f, "DIRQL {level}"),
            level => write!(f, "IRQL {level} (above HIGH_LEVEL)"),
        }
    }
}

/// IRQL control of the current processor, and the checking hooks of instrumented locks.
pub trait Irql {
    /// The current IRQL (`KeGetCurrentIrql`). IRQL: any level.
    fn current_irql(&self) -> IrqlLevel;

    /// Raises to `to` and returns the level to restore (`KeRaiseIrql`).
    ///
    /// IRQL: `to` must be greater than or equal to the current IRQL, and at most `HIGH_LEVEL`
    /// (`KeRaiseIrql` to a lower level bug-checks with `IRQL_NOT_GREATER_OR_EQUAL`). Code that
    /// may already run above `to` must compare with [`Irql::current_irql`] first.
    fn raise_irql(&self, to: IrqlLevel) -> IrqlLevel;

    /// Lowers to `old`, a level [`Irql::raise_irql`] returned (`KeLowerIrql`).
    ///
    /// IRQL: `old` must be less than or equal to the current IRQL (`KeLowerIrql` to a higher
    /// level bug-checks with `IRQL_NOT_LESS_OR_EQUAL`), and not below the level any spin lock
    /// this context still holds raised to (that would be a spin lock held at a lower IRQL
    /// than its own: locks released out of order).
    fn lower_irql(&self, old: IrqlLevel);

    /// Checking hook: an instrumented lock ([`crate::IrqlLock`]) that raises to `level` is about
    /// to be taken by the caller, before it raises the IRQL; `spins` is false for a try-lock
    /// that never waits. IRQL: any (the hook itself checks the lock's rule: the caller must be
    /// at or below `level`, as `KeAcquireSpinLock` requires `<= DISPATCH_LEVEL`).
    ///
    /// The default does nothing; an implementation may record the acquisition and panic on a
    /// broken rule (the std platform checks the level, recursive acquisition and acquisition
    /// across preemption on one processor). It must never change the IRQL or block.
    fn lock_acquiring(&self, lock: *const (), level: IrqlLevel, spins: bool) {
        let _ = (lock, level, spins);
    }

    /// Checking hook: the lock announced by [`Irql::lock_acquiring`] is now held, at `level`,
    /// by a context that was at `from` before raising. IRQL: any. The default does nothing.
    fn lock_acquired(&self, lock: *const (), level: IrqlLevel, from: IrqlLevel) {
        let _ = (lock, level, from);
    }

    /// Checking hook: the lock is about to be released and the IRQL then lowered to
    /// `restores`. IRQL: any. The default does nothing; the std platform checks that no other
    /// lock this context holds raised above `restores` (locks released out of order).
    fn lock_released(&self, lock: *const (), restores: IrqlLevel) {
        let _ = (lock, restores);
    }
}

/// Forwards to the platform behind the pointer, so an object that only needs IRQL control (an
/// interface context's locks) can hold the platform as `Arc<dyn Irql + Send + Sync>`.
macro_rules! forward_irql {
    ($($pointer:ty),*) => {$(
        impl<T: Irql + ?Sized> Irql for $pointer {
            fn current_irql(&self) -> IrqlLevel {
                (**self).current_irql()
            }

            #[track_caller]
            fn raise_irql(&self, to: IrqlLevel) -> IrqlLevel {
                (**self).raise_irql(to)
            }

            #[track_caller]
            fn lower_irql(&self, old: IrqlLevel) {
                (**self).lower_irql(old);
            }

            #[track_caller]
            fn lock_acquiring(&self, lock: *const (), level: IrqlLevel, spins: bool) {
                (**self).lock_acquiring(lock, level, spins);
            }

            #[track_caller]
            fn lock_acquired(&self, lock: *const (), level: IrqlLevel, from: IrqlLevel) {
                (**self).lock_acquired(lock, level, from);
            }

            fn lock_released(&self, lock: *const (), restores: IrqlLevel) {
                (**self).lock_released(lock, restores);
            }
        }
    )*};
}

forward_irql!(Arc<T>, &T);

/// Processor identity.
pub trait Processors {
    /// The index of the processor running the caller (`KeGetCurrentProcessorNumberEx`).
    /// IRQL: any (the answer is only stable at `DISPATCH_LEVEL` or above).
    fn current_processor(&self) -> u32;
    /// The maximum number of processors (`KeQueryMaximumProcessorCountEx`; every per-CPU table
    /// is this long). IRQL: any.
    fn processor_count(&self) -> u32;
}

/// How an event resets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// Stays signalled until reset (`NotificationEvent`).
    Notification,
    /// A satisfied wait resets it (`SynchronizationEvent`).
    Synchronization,
}

/// A kernel event.
pub trait Event: Send + Sync {
    /// Signals it (`KeSetEvent` with `Wait = FALSE`). IRQL: `<= DISPATCH_LEVEL`.
    fn set(&self);
    /// Clears it (`KeClearEvent`). IRQL: `<= DISPATCH_LEVEL`.
    fn reset(&self);
    /// Whether it is signalled, without waiting (`KeReadStateEvent`). IRQL: `<= DISPATCH_LEVEL`
    /// (the WDK also allows an ISR at DIRQL to read a resident event whose every other access
    /// is synchronized with that ISR; that condition cannot be checked, so the stricter
    /// documented level applies).
    fn is_set(&self) -> bool;
    /// Waits until signalled or `timeout` passed (`None`: forever); returns whether it was
    /// signalled (`KeWaitForSingleObject`).
    ///
    /// IRQL: `<= APC_LEVEL`; `<= DISPATCH_LEVEL` only with a zero timeout (a poll).
    fn wait(&self, timeout: Option<Duration>) -> bool;
}

/// Creates events.
pub trait Events {
    /// The event type.
    type Event: Event + 'static;
    /// A new, clear event (`KeInitializeEvent`, any level, on storage from nonpaged pool:
    /// a `KEVENT` must not move once initialized, so the Windows event lives in an
    /// `ExAllocatePool2` allocation). IRQL: `<= DISPATCH_LEVEL` (the allocation's).
    fn new_event(&self, kind: EventKind) -> Self::Event;
}

/// A routine run later at `DISPATCH_LEVEL`. It must return at `DISPATCH_LEVEL` holding no
/// spin lock it took (Driver Verifier checks both on every DPC return).
pub type Routine = Arc<dyn Fn() + Send + Sync>;

/// A deferred procedure call.
pub trait Dpc: Send + Sync {
    /// Queues it; returns false if it was already queued (it then runs once)
    /// (`KeInsertQueueDpc`). IRQL: any level.
    fn insert(&self) -> bool;
    /// Removes it from the queue if it has not started; returns whether it was queued
    /// (`KeRemoveQueueDpc`). IRQL: any level.
    fn remove(&self) -> bool;
}

/// Creates DPCs.
pub trait Deferred {
    /// The DPC type.
    type Dpc: Dpc + 'static;
    /// A DPC running `routine` on processor `cpu` (or wherever it was queued, for `None`)
    /// (`KeInitializeDpc` and `KeSetTargetProcessorDpcEx`, both any level, on a `KDPC` in
    /// nonpaged pool). IRQL: `<= DISPATCH_LEVEL` (the pool allocation's).
    fn new_dpc(&self, cpu: Option<u32>, routine: Routine) -> Self::Dpc;
    /// Waits until every queued DPC has run (`KeFlushQueuedDpcs`). IRQL: `PASSIVE_LEVEL`.
    fn flush_dpcs(&self);
}

/// A one-shot or periodic timer whose routine runs at `DISPATCH_LEVEL` (a [`Routine`]: it must
/// return at `DISPATCH_LEVEL` holding no spin lock).
pub trait Timer: Send + Sync {
    /// (Re)arms it: first expiry after `due`, then every `period` if given (`KeSetTimerEx`).
    /// IRQL: `<= DISPATCH_LEVEL`.
    fn set(&self, due: Duration, period: Option<Duration>);
    /// Disarms it; returns whether it was armed (`KeCancelTimer`). IRQL: `<= DISPATCH_LEVEL`.
    fn cancel(&self) -> bool;
}

/// Creates timers.
pub trait Timers {
    /// The timer type.
    type Timer: Timer + 'static;
    /// A disarmed timer running `routine` (`KeInitializeTimerEx` and `KeInitializeDpc` on
    /// nonpaged pool). IRQL: `<= DISPATCH_LEVEL`.
    fn new_timer(&self, routine: Routine) -> Self::Timer;
}

/// A system thread that can be waited for.
pub trait Thread: Send {
    /// Waits until the thread's body returned (`KeWaitForSingleObject` on the thread object,
    /// no timeout, then `ObDereferenceObject`). IRQL: `<= APC_LEVEL`.
    fn join(self);
}

/// Creates system threads.
pub trait Threads {
    /// The thread type.
    type Thread: Thread + 'static;
    /// Starts `body` on a new system thread at `PASSIVE_LEVEL` (`PsCreateSystemThread`).
    /// IRQL: `PASSIVE_LEVEL`.
    ///
    /// # Errors
    /// [`PortError::Insufficient`] when no thread can be created.
    fn spawn(
        &self,
        name: &'static str,
        body: Box<dyn FnOnce() + Send + 'static>,
    ) -> Result<Self::Thread, PortError>;
}

/// Physically contiguous, page-aligned, zeroed pages.
#[derive(Debug, PartialEq, Eq)]
pub struct Pages {
    /// Where the first page is mapped.
    pub address: NonNull<u8>,
    /// The page frame number of the first page; page `i` is frame `pfn + i`.
    pub pfn: u64,
    /// How many pages.
    pub count: usize,
}

// SAFETY: `Pages` names memory owned by whoever holds it; the pointer carries no thread
// affinity (the kernel maps it in every context).
unsafe impl Send for Pages {}
// SAFETY: as above; shared access goes through the users' own volatile/atomic discipline.
unsafe impl Sync for Pages {}

impl Pages {
    /// The frame number of page `index`, if it is one of these pages.
    #[must_use]
    pub fn frame(&self, index: usize) -> Option<u64> {
        if index >= self.count {
            return None;
        }
        self.pfn.checked_add(u64::try_from(index).ok()?)
    }
}

/// Memory services.
pub trait Memory {
    /// Allocates `count` physically contiguous, zeroed pages (`MmAllocateContiguousMemory`).
    /// IRQL: `<= DISPATCH_LEVEL`.
    ///
    /// # Errors
    /// [`PortError::NoMemory`], or [`PortError::InvalidParameter`] for `count == 0`.
    fn alloc_pages(&self, count: usize) -> Result<Pages, PortError>;

    /// Frees pages from [`Memory::alloc_pages`] (`MmFreeContiguousMemory`).
    ///
    /// IRQL: `<= DISPATCH_LEVEL`. The WDK reference says `<= APC_LEVEL`, and `<= DISPATCH_LEVEL`
    /// on Windows Server 2008 and later (every Windows this package supports), recommending
    /// `APC_LEVEL` or below for performance; older references said `PASSIVE_LEVEL` only.
    ///
    /// # Safety
    /// `pages` came from `alloc_pages` of this platform and nothing uses them any more
    /// (including Xen: the frames are populated and mapped nowhere else).
    unsafe fn free_pages(&self, pages: Pages);

    /// Maps `count` frames starting at `pfn` (memory owned by someone else, e.g. a page the
    /// toolstack placed in guest memory) cached into the address space (`MmMapIoSpace`).
    /// IRQL: `<= DISPATCH_LEVEL`.
    ///
    /// # Safety
    /// The frames must be RAM that stays valid until [`Memory::unmap_physical`].
    ///
    /// # Errors
    /// [`PortError::Insufficient`] when no mapping can be made.
    unsafe fn map_physical(&self, pfn: u64, count: usize) -> Result<NonNull<u8>, PortError>;

    /// Undoes [`Memory::map_physical`] (`MmUnmapIoSpace`). IRQL: `<= DISPATCH_LEVEL`.
    ///
    /// # Safety
    /// `address` and `count` come from one `map_physical` call, and nothing uses the mapping.
    unsafe fn unmap_physical(&self, address: NonNull<u8>, count: usize);
}

/// x86 port I/O (`READ_PORT_UCHAR`, `WRITE_PORT_USHORT`, ...: the `in`/`out` instructions).
/// IRQL: any level, for every method.
pub trait PortIo {
    /// `in al, dx`.
    fn inb(&self, port: u16) -> u8;
    /// `in ax, dx`.
    fn inw(&self, port: u16) -> u16;
    /// `out dx, al`.
    fn outb(&self, port: u16, value: u8);
    /// `out dx, ax`.
    fn outw(&self, port: u16, value: u16);
    /// `out dx, eax`.
    fn outl(&self, port: u16, value: u32);
}

/// A registry value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegValue {
    /// `REG_DWORD`.
    Dword(u32),
    /// `REG_SZ`.
    Sz(String),
    /// `REG_MULTI_SZ`.
    MultiSz(Vec<String>),
}

/// The registry. Keys are paths below `HKEY_LOCAL_MACHINE` with `\` separators
/// (`SYSTEM\CurrentControlSet\Services\xenbus\Parameters`); names compare case-insensitively.
///
/// IRQL: `PASSIVE_LEVEL` for every method (the `Zw*` registry routines: `ZwOpenKey`,
/// `ZwCreateKey`, `ZwQueryValueKey`, `ZwSetValueKey`, `ZwDeleteValueKey`, `ZwEnumerateKey`).
pub trait Registry {
    /// Reads a value (`ZwOpenKey` + `ZwQueryValueKey`). IRQL: `PASSIVE_LEVEL`.
    ///
    /// # Errors
    /// [`PortError::NotFound`] for a missing key or value.
    fn read_value(&self, key: &str, name: &str) -> Result<RegValue, PortError>;
    /// Writes a value, creating the key if needed (`ZwCreateKey` + `ZwSetValueKey`).
    /// IRQL: `PASSIVE_LEVEL`.
    ///
    /// # Errors
    /// The OS failure.
    fn write_value(&self, key: &str, name: &str, value: RegValue) -> Result<(), PortError>;
    /// Deletes a value (`ZwDeleteValueKey`). IRQL: `PASSIVE_LEVEL`.
    ///
    /// # Errors
    /// [`PortError::NotFound`] for a missing key or value.
    fn delete_value(&self, key: &str, name: &str) -> Result<(), PortError>;
    /// Creates a key (and its parents); `volatile` keys vanish at the next boot
    /// (`ZwCreateKey`). IRQL: `PASSIVE_LEVEL`.
    ///
    /// # Errors
    /// The OS failure.
    fn create_key(&self, key: &str, volatile: bool) -> Result<(), PortError>;
    /// The names of a key's sub-keys (`ZwEnumerateKey`). IRQL: `PASSIVE_LEVEL`.
    ///
    /// # Errors
    /// [`PortError::NotFound`] for a missing key.
    fn subkeys(&self, key: &str) -> Result<Vec<String>, PortError>;

    /// Reads a `REG_DWORD` (through [`Registry::read_value`]). IRQL: `PASSIVE_LEVEL`.
    ///
    /// # Errors
    /// [`PortError::NotFound`], or [`PortError::WrongType`] for another type.
    fn read_dword(&self, key: &str, name: &str) -> Result<u32, PortError> {
        match self.read_value(key, name)? {
            RegValue::Dword(value) => Ok(value),
            _ => Err(PortError::WrongType),
        }
    }
}

/// Log levels, as upstream's `LOG_LEVEL_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// `LOG_LEVEL_TRACE`.
    Trace,
    /// `LOG_LEVEL_INFO`.
    Info,
    /// `LOG_LEVEL_WARNING`.
    Warning,
    /// `LOG_LEVEL_ERROR`.
    Error,
    /// `LOG_LEVEL_CRITICAL`.
    Critical,
}

/// The leveled log.
pub trait Log {
    /// Logs one message (xen.sys's `LogPrintf`). IRQL: any level.
    fn log(&self, level: LogLevel, args: fmt::Arguments<'_>);
}

/// Time.
pub trait Clock {
    /// System time in 100 ns units since 1601-01-01 (`KeQuerySystemTime`). IRQL: any level.
    fn system_time(&self) -> i64;
    /// Busy-waits `microseconds` (`KeStallExecutionProcessor`). IRQL: any level.
    fn stall(&self, microseconds: u32);
}

/// Every service a subsystem may need. Handles are cheap to clone (a pointer on Windows, an
/// `Arc` in the std implementation).
pub trait Platform:
    Irql
    + Processors
    + Events
    + Deferred
    + Timers
    + Threads
    + Memory
    + PortIo
    + Registry
    + Log
    + Clock
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T> Platform for T where
    T: Irql
        + Processors
        + Events
        + Deferred
        + Timers
        + Threads
        + Memory
        + PortIo
        + Registry
        + Log
        + Clock
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// Logs through a [`Log`] with `format!` syntax: `plog!(platform, Warning, "x={}", x)`.
#[macro_export]
macro_rules! plog {
    ($platform:expr, $level:ident, $($arg:tt)+) => {
        $crate::Log::log(&$platform, $crate::LogLevel::$level, format_args!($($arg)+))
    };
}
