// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The provider side of the XENBUS interface contract (INTERFACES.md; upstream `include/*_interface.h`).
//!
//! A child driver sends `IRP_MN_QUERY_INTERFACE` to a xenbus PDO with a GUID, a version, a
//! buffer and its size. [`Provider::query_interface`] is the sans-IO answer: the PDO glue
//! decodes the IRP into its arguments and applies the returned [`QueryOutcome`]. On success
//! the caller's buffer holds the table of the *requested* version (`Size`, `Version`, the
//! context, NULL reference callbacks, then the methods in slot order).
//!
//! The methods are `extern "C"` functions (the Microsoft x64 convention on Windows, System V on
//! the host) that use only `Interface->Context` (and `Interface->Version` in `EvtchnOpen`). The
//! context is one object per interface, owned by the [`Provider`] and shared by every PDO. It
//! holds the subsystem behind a small object-safe trait per interface (`StoreApi`,
//! `RangeSetApi`...), so the C boundary does not depend on how the FDO composes its
//! subsystems, plus the tables that turn the opaque C handles children hold back into
//! subsystem objects.
//!
//! The three C-variadic methods (`EvtchnOpen`, `StorePrintf`, `DebugPrintf`) are entered through
//! kprintf's thunks: [`kprintf::win64_variadic_thunk!`] in the Windows build and
//! [`kprintf::sysv64_variadic_thunk!`] in host builds, both calling the same Rust body with a
//! `va_list` reader. Host builds also carry the Windows thunks (`*_win64` symbols) so tests run
//! the Windows entry instructions too.
//!
//! # Locks and IRQL
//!
//! Children call these methods from threads at `PASSIVE_LEVEL` and from DPCs at
//! `DISPATCH_LEVEL`. Every table a context keeps (handles, store buffers, grant entries, range
//! sets) is a `DISPATCH_LEVEL` spin lock ([`platform_port::IrqlLock`]) raised through the FDO's
//! platform ([`SharedIrql`]), held only while the table changes and never across a call into a
//! subsystem or a child's callback, so a DPC cannot spin on a lock the thread it preempted
//! holds, and no lock is held across a wait. Acquire and Release are forwarded to the subsystem
//! with no lock held (it serialises its own set-up and teardown, which may wait); the count
//! kept here is an atomic mirror. Only `RANGE_SET` runs its first-Acquire and last-Release hooks
//! under its spin lock, at `DISPATCH_LEVEL`, as upstream does.
//!
//! Grant entries, the per-packet hot path of the network and disk drivers, live in a slab
//! (`entries.rs`): a steady stream of Permit and Revoke allocates nothing.
//!
//! # Decisions at the boundary
//! * **Nothing panics across the boundary.** Every pointer argument is checked for NULL;
//!   strings are read with a bound; out-parameters are written unaligned. A NULL `Interface`
//!   or a context that does not carry its interface's tag answers `STATUS_INVALID_PARAMETER`
//!   (NULL, 0 or FALSE for methods without a status), as does a handle that this context did
//!   not hand out (or already took back): handles are looked up in a table, never
//!   dereferenced. A non-NULL garbage `Interface` pointer cannot be detected; like upstream's
//!   magic numbers, the tag only catches a table of another interface or a stale copy.
//! * **Acquire/Release.** Each context counts the references children hold and forwards every
//!   call to its subsystem, which does its first-use set-up and last-release teardown. A
//!   Release without a matching Acquire is ignored instead of corrupting the count (upstream
//!   `ASSERT`s). Upstream bug-checks when the last Release finds objects still outstanding;
//!   here the subsystem is told (it logs) and the objects stay valid until the child gives
//!   them back, so nothing is freed under a child.
//! * **Interfaces whose subsystem is not wired** (a context built without one) still answer
//!   the query with their table; every method then fails: `STATUS_NOT_SUPPORTED`, or NULL / 0
//!   / FALSE. The PDO never offers a partly-built table.

pub mod cache;
pub mod console;
pub mod debug;
mod entries;
pub mod evtchn;
pub mod gnttab;
mod handles;
pub mod range_set;
pub mod shared_info;
pub mod store;
pub mod suspend;
pub mod unplug;
mod util;

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::any::Any;
use core::ffi::c_void;
use core::sync::atomic::{AtomicU32, Ordering};

use ntstatus::{NtStatus, STATUS_BUFFER_TOO_SMALL, STATUS_NOT_SUPPORTED};
use platform_port::Irql;
pub use xenbus_interface::{Guid, InterfaceHeader, InterfaceVersion, Pinterface};

pub use handles::Handles;

/// `GUID_BUS_INTERFACE_STANDARD` {496B8280-6F25-11D0-BEAF-08002BE2092F}.
pub const GUID_BUS_INTERFACE_STANDARD: Guid =
    Guid::from_groups(0x496B_8280, 0x6F25, 0x11D0, 0xBEAF, 0x0800_2BE2_092F);

/// `sizeof (BUS_INTERFACE_STANDARD)` on x64: the header and four methods.
pub const BUS_INTERFACE_STANDARD_SIZE: u16 = 64;

/// Signals a kernel event a child passed in (`KeSetEvent(Event, IO_NO_INCREMENT, FALSE)` on
/// Windows). Used by `StoreWatchAdd` and `ConsoleWakeupAdd`.
///
/// # Safety
/// Called only with event pointers children passed to those methods, while the watch or wakeup
/// that names them is registered (children keep their events alive that long).
pub type SetEventFn = unsafe fn(event: *mut c_void);

/// What the PDO does with a `IRP_MN_QUERY_INTERFACE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryOutcome {
    /// Complete the IRP with this status (`Information` = 0). On success the caller's buffer
    /// holds the table. A status equal to the incoming one means "left untouched".
    Complete(NtStatus),
    /// `BUS_INTERFACE_STANDARD` version 1 with a large enough buffer: the glue copies the PDO's
    /// bus interface into the buffer, calls its `InterfaceReference`, and completes with
    /// `STATUS_SUCCESS`.
    BusInterface,
    /// `XENFILT_EMULATED`: send a copy of the IRP to the top of the FDO's stack (xenfilt
    /// answers it) and complete with that IRP's status.
    DelegateToFdo,
}

/// Called by the contexts: the lifecycle every subsystem offers.
pub trait Lifecycle: Send + Sync {
    /// First reference: set up. Later references: count.
    ///
    /// # Errors
    /// The subsystem's status; a failed Acquire leaves no reference behind.
    fn acquire(&self) -> Result<(), NtStatus>;
    /// Last reference: tear down.
    fn release(&self);
}

/// What the contexts' locks raise the IRQL through: the FDO's platform, shared by every
/// context (any [`Irql`] behind an `Arc`).
pub type SharedIrql = Arc<dyn Irql + Send + Sync>;

/// The reference count a context keeps for the children's Acquire/Release, in front of the
/// subsystem's own.
///
/// The count is only a mirror: the subsystem counts for itself and serialises its own first-use
/// set-up and last-release teardown, which may wait at `PASSIVE_LEVEL`. So no lock is held
/// while the subsystem runs, and the count is an atomic updated after it succeeded.
#[derive(Debug, Default)]
pub struct References {
    count: AtomicU32,
}

impl References {
    /// No references.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            count: AtomicU32::new(0),
        }
    }

    /// Every Acquire forwards to `api` (which counts for itself) and is counted here on
    /// success; every Release with a reference to drop is forwarded.
    ///
    /// IRQL: what `api`'s Acquire allows (children call it at `PASSIVE_LEVEL`).
    ///
    /// # Errors
    /// As [`Lifecycle::acquire`], or `STATUS_INSUFFICIENT_RESOURCES` if the count is
    /// saturated (the reference `api` just took is given back).
    pub fn forward_acquire<A: Lifecycle + ?Sized>(&self, api: &A) -> Result<(), NtStatus> {
        api.acquire()?;
        if self.increment() {
            Ok(())
        } else {
            api.release();
            Err(ntstatus::STATUS_INSUFFICIENT_RESOURCES)
        }
    }

    /// See [`References::forward_acquire`]; false (and `api` is not called) if there was no
    /// reference to drop.
    pub fn forward_release<A: Lifecycle + ?Sized>(&self, api: &A) -> bool {
        if !self.decrement() {
            return false;
        }
        api.release();
        true
    }

    /// Counts one more reference; false if the count is saturated.
    pub(crate) fn increment(&self) -> bool {
        self.count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |count| {
                count.checked_add(1)
            })
            .is_ok()
    }

    /// Drops one reference; false if there was none.
    pub(crate) fn decrement(&self) -> bool {
        self.count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |count| {
                count.checked_sub(1)
            })
            .is_ok()
    }

    /// The current count.
    #[must_use]
    pub fn count(&self) -> u32 {
        self.count.load(Ordering::Acquire)
    }
}

/// What a subsystem wrapper runs on the first Acquire and the last Release (mapping pages,
/// opening channels, registering callbacks...). The FDO composition supplies them.
#[derive(Default)]
pub struct Hooks {
    first: Option<Box<dyn Fn() -> Result<(), NtStatus> + Send + Sync>>,
    last: Option<Box<dyn Fn() + Send + Sync>>,
}

impl Hooks {
    /// No set-up and no teardown.
    #[must_use]
    pub const fn none() -> Self {
        Self {
            first: None,
            last: None,
        }
    }

    /// `first` runs on the first Acquire (its error fails that Acquire), `last` on the last
    /// Release.
    #[must_use]
    pub fn new(
        first: impl Fn() -> Result<(), NtStatus> + Send + Sync + 'static,
        last: impl Fn() + Send + Sync + 'static,
    ) -> Self {
        Self {
            first: Some(Box::new(first)),
            last: Some(Box::new(last)),
        }
    }

    /// Runs the set-up.
    ///
    /// # Errors
    /// What the hook returned.
    pub fn first(&self) -> Result<(), NtStatus> {
        self.first.as_ref().map_or(Ok(()), |f| f())
    }

    /// Runs the teardown.
    pub fn last(&self) {
        if let Some(last) = &self.last {
            last();
        }
    }
}

impl core::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Hooks")
            .field("first", &self.first.is_some())
            .field("last", &self.last.is_some())
            .finish()
    }
}

/// A subsystem object a child holds a handle to (channel, callback, cache, grant entry...).
/// The subsystem hands it out and gets it back; the context only stores it.
pub type Object = Arc<dyn Any + Send + Sync>;

/// Declares an interface context: `repr(C)`, tagged, with its reference count and the
/// subsystem behind its trait (absent when not wired). Fields without an initialiser are
/// tables built with `new(irql)`.
macro_rules! define_context {
    (@init $irql:ident, $ty:ty) => {
        <$ty>::new(::alloc::sync::Arc::clone($irql))
    };
    (@init $irql:ident, $ty:ty, $init:expr) => {
        $init
    };
    ($(#[$meta:meta])* $name:ident, $api:ident, $tag:literal { $($field:ident: $ty:ty $(= $init:expr)?),* $(,)? }) => {
        $(#[$meta])*
        #[repr(C)]
        pub struct $name {
            tag: u64,
            pub(crate) refs: $crate::interface::References,
            api: Option<::alloc::sync::Arc<dyn $api>>,
            $($field: $ty,)*
        }

        // SAFETY: `repr(C)` with the tag first, always `TAG`.
        unsafe impl $crate::interface::util::Tagged for $name {
            const TAG: u64 = $crate::interface::util::tag(*$tag);
        }

        impl $name {
            /// A context serving `api`; `None` serves the table with every method failing.
            /// Its handle tables are spin locks raised through `irql`.
            #[must_use]
            pub fn new(
                irql: &$crate::interface::SharedIrql,
                api: Option<::alloc::sync::Arc<dyn $api>>,
            ) -> Self {
                // Contexts without tables take `irql` too, so every context is built alike.
                let _ = irql;
                Self {
                    tag: <Self as $crate::interface::util::Tagged>::TAG,
                    refs: $crate::interface::References::new(),
                    api,
                    $($field: $crate::interface::define_context!(@init irql, $ty $(, $init)?),)*
                }
            }

            /// The subsystem, or `STATUS_NOT_SUPPORTED` when not wired.
            fn api(&self) -> Result<&dyn $api, ::ntstatus::NtStatus> {
                self.api.as_deref().ok_or(::ntstatus::STATUS_NOT_SUPPORTED)
            }

            /// True if a subsystem serves this context.
            #[must_use]
            pub const fn is_wired(&self) -> bool {
                self.api.is_some()
            }
        }
    };
}
pub(crate) use define_context;

/// Recovers the context of type `$ty` from `Interface->Context`, or returns `$fail`.
macro_rules! context {
    ($ty:ty, $interface:expr) => {
        // SAFETY: as in the three-argument form.
        match unsafe { $crate::interface::util::context::<$ty>($interface) } {
            Some(context) => context,
            None => return,
        }
    };
    ($ty:ty, $interface:expr, $fail:expr) => {
        // SAFETY: children pass the table xenbus filled (or NULL); a context carrying the tag
        // of `$ty` is one the provider owns, which outlives every child.
        match unsafe { $crate::interface::util::context::<$ty>($interface) } {
            Some(context) => context,
            None => return $fail,
        }
    };
}
pub(crate) use context;

/// Defines the Acquire and Release methods of a context made by [`define_context`].
macro_rules! lifecycle_methods {
    ($ty:ty, $acquire:ident, $release:ident) => {
        unsafe extern "C" fn $acquire(
            interface: ::xenbus_interface::Pinterface,
        ) -> ::ntstatus::NtStatus {
            let context =
                $crate::interface::context!($ty, interface, ::ntstatus::STATUS_INVALID_PARAMETER);
            match context.api() {
                Ok(api) => context
                    .refs
                    .forward_acquire(api)
                    .map_or_else(|status| status, |()| ::ntstatus::STATUS_SUCCESS),
                Err(status) => status,
            }
        }

        unsafe extern "C" fn $release(interface: ::xenbus_interface::Pinterface) {
            let context = $crate::interface::context!($ty, interface);
            if let Ok(api) = context.api() {
                context.refs.forward_release(api);
            }
        }
    };
}
pub(crate) use lifecycle_methods;

/// The status of a unit result.
pub(crate) fn status_of(result: Result<(), NtStatus>) -> NtStatus {
    result.map_or_else(|status| status, |()| ntstatus::STATUS_SUCCESS)
}

/// Fills the caller's buffer with `table` if it is large enough (upstream's `GetInterface`
/// for one version): `STATUS_BUFFER_OVERFLOW` if `size` is too small.
///
/// # Safety
/// `buffer` must be writable for `size` bytes (any alignment), or NULL.
pub(crate) unsafe fn fill<T: InterfaceVersion>(
    table: T,
    buffer: *mut c_void,
    size: u16,
) -> NtStatus {
    if size < T::SIZE {
        return ntstatus::STATUS_BUFFER_OVERFLOW;
    }
    if buffer.is_null() {
        return ntstatus::STATUS_INVALID_PARAMETER;
    }
    // SAFETY: `buffer` is non-NULL and writable for `size >= size_of::<T>()` bytes (contract);
    // the write is unaligned, so any buffer alignment is fine.
    unsafe { buffer.cast::<T>().write_unaligned(table) };
    ntstatus::STATUS_SUCCESS
}

/// The header every table starts with, for `context` and the version's size.
pub(crate) const fn header<T: InterfaceVersion>(context: *mut c_void) -> InterfaceHeader {
    InterfaceHeader {
        size: T::SIZE,
        version: T::VERSION,
        context,
        interface_reference: None,
        interface_dereference: None,
    }
}

/// Every context the PDOs hand out, one per interface. Owned by the FDO; it must outlive every
/// table a child holds (the contexts are boxed so their addresses never move).
pub struct Provider {
    /// `XENBUS_SUSPEND`.
    pub suspend: Box<suspend::SuspendContext>,
    /// `XENBUS_SHARED_INFO`.
    pub shared_info: Box<shared_info::SharedInfoContext>,
    /// `XENBUS_EVTCHN`.
    pub evtchn: Box<evtchn::EvtchnContext>,
    /// `XENBUS_DEBUG`.
    pub debug: Box<debug::DebugContext>,
    /// `XENBUS_STORE`.
    pub store: Box<store::StoreContext>,
    /// `XENBUS_RANGE_SET`.
    pub range_set: Box<range_set::RangeSetContext>,
    /// `XENBUS_CACHE`.
    pub cache: Box<cache::CacheContext>,
    /// `XENBUS_GNTTAB`.
    pub gnttab: Box<gnttab::GnttabContext>,
    /// `XENBUS_UNPLUG`.
    pub unplug: Box<unplug::UnplugContext>,
    /// `XENBUS_CONSOLE`.
    pub console: Box<console::ConsoleContext>,
}

impl Provider {
    /// Answers one `IRP_MN_QUERY_INTERFACE` (upstream `PdoQueryInterface`): only an IRP whose
    /// status is still `STATUS_NOT_SUPPORTED` is answered; otherwise, and for an unknown GUID,
    /// the incoming status stands. Known XENBUS GUIDs fill `buffer` with the requested
    /// version's table (`STATUS_NOT_SUPPORTED` for a version outside MIN..MAX,
    /// `STATUS_BUFFER_OVERFLOW` for a short buffer).
    ///
    /// # Safety
    /// `buffer` must be NULL or writable for `size` bytes.
    #[must_use]
    pub unsafe fn query_interface(
        &self,
        guid: &Guid,
        version: u16,
        size: u16,
        buffer: *mut c_void,
        current: NtStatus,
    ) -> QueryOutcome {
        if current != STATUS_NOT_SUPPORTED {
            return QueryOutcome::Complete(current);
        }
        if *guid == GUID_BUS_INTERFACE_STANDARD {
            return if version != 1 {
                QueryOutcome::Complete(current)
            } else if size < BUS_INTERFACE_STANDARD_SIZE {
                QueryOutcome::Complete(STATUS_BUFFER_TOO_SMALL)
            } else {
                QueryOutcome::BusInterface
            };
        }
        if *guid == xenbus_interface::emulated::GUID_XENFILT_EMULATED_INTERFACE {
            return QueryOutcome::DelegateToFdo;
        }
        // SAFETY: `buffer` is NULL or writable for `size` bytes (this function's contract),
        // which is what every `get_interface` requires.
        let status = unsafe { self.get_interface(guid, version, size, buffer) };
        QueryOutcome::Complete(status.unwrap_or(current))
    }

    /// The context serving a XENBUS interface GUID.
    fn served(&self, guid: &Guid) -> Option<&dyn Served> {
        use xenbus_interface as xi;
        let served: &dyn Served = if *guid == xi::debug::GUID_XENBUS_DEBUG_INTERFACE {
            &*self.debug
        } else if *guid == xi::suspend::GUID_XENBUS_SUSPEND_INTERFACE {
            &*self.suspend
        } else if *guid == xi::shared_info::GUID_XENBUS_SHARED_INFO_INTERFACE {
            &*self.shared_info
        } else if *guid == xi::evtchn::GUID_XENBUS_EVTCHN_INTERFACE {
            &*self.evtchn
        } else if *guid == xi::store::GUID_XENBUS_STORE_INTERFACE {
            &*self.store
        } else if *guid == xi::range_set::GUID_XENBUS_RANGE_SET_INTERFACE {
            &*self.range_set
        } else if *guid == xi::cache::GUID_XENBUS_CACHE_INTERFACE {
            &*self.cache
        } else if *guid == xi::gnttab::GUID_XENBUS_GNTTAB_INTERFACE {
            &*self.gnttab
        } else if *guid == xi::unplug::GUID_XENBUS_UNPLUG_INTERFACE {
            &*self.unplug
        } else if *guid == xi::console::GUID_XENBUS_CONSOLE_INTERFACE {
            &*self.console
        } else {
            return None;
        };
        Some(served)
    }

    /// The XENBUS interfaces' `GetInterface`, or `None` for a GUID that is not one of them.
    ///
    /// # Safety
    /// As [`Provider::query_interface`].
    unsafe fn get_interface(
        &self,
        guid: &Guid,
        version: u16,
        size: u16,
        buffer: *mut c_void,
    ) -> Option<NtStatus> {
        let served = self.served(guid)?;
        // SAFETY: the buffer contract is forwarded unchanged.
        Some(unsafe { served.get_interface(version, buffer, size) })
    }

    /// The first interface, of those that run on the FDO's resources (`SHARED_INFO` and
    /// `GNTTAB` in its memory, `EVTCHN` on its interrupts, `STORE` and `CONSOLE` over EVTCHN),
    /// that a child still holds, with the child's references: a stop would pull the resources
    /// from under it (see [`crate::pnp::fdo::Fdo::query_stop_or_remove`]).
    #[must_use]
    pub fn held_by_children(&self) -> Option<(&'static str, u32)> {
        let held: [(&'static str, &dyn Served); 5] = [
            ("SHARED_INFO", &*self.shared_info),
            ("EVTCHN", &*self.evtchn),
            ("STORE", &*self.store),
            ("CONSOLE", &*self.console),
            ("GNTTAB", &*self.gnttab),
        ];
        held.into_iter()
            .map(|(name, served)| (name, served.references().count()))
            .find(|&(_, count)| count != 0)
    }

    /// The reference count of the context serving `guid` (children's Acquires minus
    /// Releases), or `None` for a GUID without a context.
    #[must_use]
    pub fn references(&self, guid: &Guid) -> Option<u32> {
        self.served(guid).map(|served| served.references().count())
    }
}

/// What the provider asks of every context.
trait Served {
    /// `<Interface>GetInterface`.
    ///
    /// # Safety
    /// `buffer` must be NULL or writable for `size` bytes.
    unsafe fn get_interface(&self, version: u16, buffer: *mut c_void, size: u16) -> NtStatus;
    /// The children's references.
    fn references(&self) -> &References;
}

macro_rules! served {
    ($($module:ident :: $ty:ident),* $(,)?) => {
        $(
            impl Served for $module::$ty {
                unsafe fn get_interface(&self, version: u16, buffer: *mut c_void, size: u16) -> NtStatus {
                    // SAFETY: forwarded buffer contract.
                    unsafe { $module::$ty::get_interface(self, version, buffer, size) }
                }

                fn references(&self) -> &References {
                    &self.refs
                }
            }
        )*
    };
}

served!(
    suspend::SuspendContext,
    shared_info::SharedInfoContext,
    evtchn::EvtchnContext,
    debug::DebugContext,
    store::StoreContext,
    range_set::RangeSetContext,
    cache::CacheContext,
    gnttab::GnttabContext,
    unplug::UnplugContext,
    console::ConsoleContext,
);

/// What the FDO adds to its subsystems to serve every interface (see [`Provider::compose`]).
pub struct ProviderParts<P: platform_port::Platform, S: xen_services::XenServices + 'static> {
    /// UNPLUG's service.
    pub unplug: Arc<crate::unplug::Unplug<P, S>>,
    /// The processor's time-stamp counter, for `SHARED_INFO`'s time.
    pub rdtsc: fn() -> u64,
    /// Whether the guest's real-time clock keeps local time (`!RealTimeIsUniversal`).
    pub local_time: bool,
    /// The first-Acquire and last-Release hooks of `RANGE_SET`.
    pub range_hooks: Hooks,
    /// Signals a child's event (`KeSetEvent` on Windows) for STORE watches and CONSOLE wakes.
    pub set_event: SetEventFn,
    /// Whether STORE is served (false only where no daemon serves the ring: every method then
    /// fails, as for any interface without its subsystem).
    pub store: bool,
}

impl Provider {
    /// Every interface context over the FDO's subsystems: each context serves the subsystem of
    /// its interface (STORE through the link, so a suspend's reconnection is invisible to
    /// children; CONSOLE through the composition's console).
    #[must_use]
    pub fn compose<P, S, I>(
        world: &crate::subsystems::Subsystems<P, S, I>,
        parts: ProviderParts<P, S>,
    ) -> Self
    where
        P: platform_port::Platform + platform_port::Rendezvous + 'static,
        S: xen_services::XenServices + 'static,
        I: platform_port::Interrupts + 'static,
    {
        let irql: SharedIrql = Arc::new(world.platform.clone());
        let irql = &irql;
        let store_api = parts.store.then(|| {
            Arc::new(store::StoreLinkInterface(Arc::clone(&world.store)))
                as Arc<dyn store::StoreApi>
        });
        let shared_info_api: Arc<dyn shared_info::SharedInfoApi> =
            Arc::new(shared_info::SharedInfoInterface::new(
                Arc::clone(&world.shared_info),
                world.platform.clone(),
                parts.rdtsc,
                parts.local_time,
            ));
        let console_api: Arc<dyn console::ConsoleApi> =
            Arc::new(console::ConsoleInterface(Arc::clone(&world.console)));
        Self {
            suspend: Box::new(suspend::SuspendContext::new(
                irql,
                Some(Arc::clone(&world.suspend) as Arc<dyn suspend::SuspendApi>),
            )),
            shared_info: Box::new(shared_info::SharedInfoContext::new(
                irql,
                Some(shared_info_api),
            )),
            evtchn: Box::new(evtchn::EvtchnContext::new(
                irql,
                Some(Arc::clone(&world.evtchn) as Arc<dyn evtchn::EvtchnApi>),
            )),
            debug: Box::new(debug::DebugContext::new(
                irql,
                Some(Arc::clone(&world.debug) as Arc<dyn debug::DebugApi>),
            )),
            store: Box::new(store::StoreContext::new(irql, store_api, parts.set_event)),
            range_set: Box::new(range_set::RangeSetContext::new(irql, parts.range_hooks)),
            cache: Box::new(cache::CacheContext::new(
                irql,
                Some(Arc::clone(&world.cache) as Arc<dyn cache::CacheApi>),
            )),
            gnttab: Box::new(gnttab::GnttabContext::new(
                irql,
                Some(Arc::clone(&world.gnttab) as Arc<dyn gnttab::GnttabApi>),
            )),
            unplug: Box::new(unplug::UnplugContext::new(
                irql,
                Some(parts.unplug as Arc<dyn unplug::UnplugApi>),
            )),
            console: Box::new(
                console::ConsoleContext::new(irql, Some(console_api))
                    .with_set_event(parts.set_event),
            ),
        }
    }
}

#[cfg(test)]
mod tests;
