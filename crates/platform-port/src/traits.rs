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

/// A Windows interrupt request level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IrqlLevel(pub u8);

impl IrqlLevel {
    /// `PASSIVE_LEVEL`.
    pub const PASSIVE: Self = Self(0);
    /// `APC_LEVEL`.
    pub const APC: Self = Self(1);
    /// `DISPATCH_LEVEL`: no thread switch on this processor; DPCs run here.
    pub const DISPATCH: Self = Self(2);
    /// `HIGH_LEVEL`: every interrupt masked on this processor.
    pub const HIGH: Self = Self(15);
}

/// IRQL control of the current processor.
pub trait Irql {
    /// The current IRQL.
    fn current_irql(&self) -> IrqlLevel;
    /// Raises to `to` and returns the level to restore. Raising to a lower level than the
    /// current one is a bug in the caller; implementations leave the IRQL unchanged then.
    fn raise_irql(&self, to: IrqlLevel) -> IrqlLevel;
    /// Restores a level [`Irql::raise_irql`] returned.
    fn lower_irql(&self, old: IrqlLevel);
}

/// Processor identity.
pub trait Processors {
    /// The index of the processor running the caller (meaningful at `DISPATCH_LEVEL` or above).
    fn current_processor(&self) -> u32;
    /// The maximum number of processors (every per-CPU table is this long).
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
    /// Signals it.
    fn set(&self);
    /// Clears it.
    fn reset(&self);
    /// Whether it is signalled, without waiting.
    fn is_set(&self) -> bool;
    /// Waits (only below `DISPATCH_LEVEL`) until signalled or `timeout` passed (`None`: forever).
    /// Returns whether it was signalled.
    fn wait(&self, timeout: Option<Duration>) -> bool;
}

/// Creates events.
pub trait Events {
    /// The event type.
    type Event: Event + 'static;
    /// A new, clear event.
    fn new_event(&self, kind: EventKind) -> Self::Event;
}

/// A routine run later at `DISPATCH_LEVEL`.
pub type Routine = Arc<dyn Fn() + Send + Sync>;

/// A deferred procedure call.
pub trait Dpc: Send + Sync {
    /// Queues it; returns false if it was already queued (it then runs once).
    fn insert(&self) -> bool;
    /// Removes it from the queue if it has not started; returns whether it was queued.
    fn remove(&self) -> bool;
}

/// Creates DPCs.
pub trait Deferred {
    /// The DPC type.
    type Dpc: Dpc + 'static;
    /// A DPC running `routine` on processor `cpu` (or wherever it was queued, for `None`).
    fn new_dpc(&self, cpu: Option<u32>, routine: Routine) -> Self::Dpc;
    /// Waits until every queued DPC has run (`KeFlushQueuedDpcs`).
    fn flush_dpcs(&self);
}

/// A one-shot or periodic timer whose routine runs at `DISPATCH_LEVEL`.
pub trait Timer: Send + Sync {
    /// (Re)arms it: first expiry after `due`, then every `period` if given.
    fn set(&self, due: Duration, period: Option<Duration>);
    /// Disarms it; returns whether it was armed.
    fn cancel(&self) -> bool;
}

/// Creates timers.
pub trait Timers {
    /// The timer type.
    type Timer: Timer + 'static;
    /// A disarmed timer running `routine`.
    fn new_timer(&self, routine: Routine) -> Self::Timer;
}

/// A system thread that can be waited for.
pub trait Thread: Send {
    /// Waits until the thread's body returned.
    fn join(self);
}

/// Creates system threads.
pub trait Threads {
    /// The thread type.
    type Thread: Thread + 'static;
    /// Starts `body` on a new system thread at `PASSIVE_LEVEL`.
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
    /// Allocates `count` physically contiguous, zeroed pages.
    ///
    /// # Errors
    /// [`PortError::NoMemory`], or [`PortError::InvalidParameter`] for `count == 0`.
    fn alloc_pages(&self, count: usize) -> Result<Pages, PortError>;

    /// Frees pages from [`Memory::alloc_pages`].
    ///
    /// # Safety
    /// `pages` came from `alloc_pages` of this platform and nothing uses them any more
    /// (including Xen: the frames are populated and mapped nowhere else).
    unsafe fn free_pages(&self, pages: Pages);

    /// Maps `count` frames starting at `pfn` (memory owned by someone else, e.g. a page the
    /// toolstack placed in guest memory) cached into the address space.
    ///
    /// # Safety
    /// The frames must be RAM that stays valid until [`Memory::unmap_physical`].
    ///
    /// # Errors
    /// [`PortError::Insufficient`] when no mapping can be made.
    unsafe fn map_physical(&self, pfn: u64, count: usize) -> Result<NonNull<u8>, PortError>;

    /// Undoes [`Memory::map_physical`].
    ///
    /// # Safety
    /// `address` and `count` come from one `map_physical` call, and nothing uses the mapping.
    unsafe fn unmap_physical(&self, address: NonNull<u8>, count: usize);
}

/// x86 port I/O.
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
pub trait Registry {
    /// Reads a value.
    ///
    /// # Errors
    /// [`PortError::NotFound`] for a missing key or value.
    fn read_value(&self, key: &str, name: &str) -> Result<RegValue, PortError>;
    /// Writes a value, creating the key if needed.
    ///
    /// # Errors
    /// The OS failure.
    fn write_value(&self, key: &str, name: &str, value: RegValue) -> Result<(), PortError>;
    /// Deletes a value.
    ///
    /// # Errors
    /// [`PortError::NotFound`] for a missing key or value.
    fn delete_value(&self, key: &str, name: &str) -> Result<(), PortError>;
    /// Creates a key (and its parents); `volatile` keys vanish at the next boot.
    ///
    /// # Errors
    /// The OS failure.
    fn create_key(&self, key: &str, volatile: bool) -> Result<(), PortError>;
    /// The names of a key's sub-keys.
    ///
    /// # Errors
    /// [`PortError::NotFound`] for a missing key.
    fn subkeys(&self, key: &str) -> Result<Vec<String>, PortError>;

    /// Reads a `REG_DWORD`.
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
    /// Logs one message (callable at any IRQL).
    fn log(&self, level: LogLevel, args: fmt::Arguments<'_>);
}

/// Time.
pub trait Clock {
    /// System time in 100 ns units since 1601-01-01 (`KeQuerySystemTime`).
    fn system_time(&self) -> i64;
    /// Busy-waits `microseconds` (`KeStallExecutionProcessor`).
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
