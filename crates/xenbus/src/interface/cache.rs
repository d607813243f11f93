// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `XENBUS_CACHE` v1–v2 (v1's `CacheCreateVersion1` has no cap: 0, unlimited).
//!
//! The child's constructor, destructor and lock callbacks become closures over its function
//! pointers and argument; NULL for any of them is `STATUS_INVALID_PARAMETER`. Objects are
//! the subsystem's memory, handed to the child as they are; caches are table handles, and a
//! Get from an unknown cache is NULL.

use alloc::sync::Arc;
use core::ffi::c_void;

use ntstatus::{NtStatus, STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED};
use xenbus_interface::cache::{
    CacheCreate, CacheCreateVersion1, PxenbusCache, XenbusCacheAcquireLock, XenbusCacheCtor,
    XenbusCacheDtor, XenbusCacheInterfaceV1, XenbusCacheInterfaceV2, XenbusCacheReleaseLock,
};
use xenbus_interface::{Boolean, Pcstr, Pinterface, Pvoid, Ulong};

use super::util::{self, boolean};
use super::{
    Handles, Lifecycle, Object, context, define_context, fill, header, lifecycle_methods, status_of,
};

/// Longest cache name read from the caller (the subsystem decides what it keeps).
pub const MAX_NAME_SCAN: usize = 4096;

/// Constructs an object in place (`XENBUS_CACHE_CTOR`).
pub type CacheCtor = Arc<dyn Fn(*mut c_void) -> NtStatus + Send + Sync>;
/// Destroys an object in place (`XENBUS_CACHE_DTOR`).
pub type CacheDtor = Arc<dyn Fn(*mut c_void) + Send + Sync>;
/// The child's lock or unlock callback.
pub type CacheLock = Arc<dyn Fn() + Send + Sync>;

/// What `CacheCreate` asks for.
#[derive(Clone)]
pub struct CacheSpec<'a> {
    /// The name.
    pub name: &'a [u8],
    /// Object size in bytes.
    pub size: u32,
    /// Objects kept constructed at all times.
    pub reservation: u32,
    /// Most objects at once (0: no cap).
    pub cap: u32,
    /// Constructor.
    pub ctor: CacheCtor,
    /// Destructor.
    pub dtor: CacheDtor,
    /// The child's lock.
    pub acquire_lock: CacheLock,
    /// The child's unlock.
    pub release_lock: CacheLock,
}

/// What the CACHE context needs from the subsystem.
pub trait CacheApi: Lifecycle {
    /// `CacheCreate`.
    ///
    /// # Errors
    /// The subsystem's status.
    fn create(&self, spec: CacheSpec<'_>) -> Result<Object, NtStatus>;
    /// `CacheGet`: an object, or NULL.
    fn get(&self, cache: &Object, locked: bool) -> *mut c_void;
    /// `CachePut`.
    fn put(&self, cache: &Object, object: *mut c_void, locked: bool);
    /// `CacheDestroy`.
    fn destroy(&self, cache: Object);
}

define_context!(
    /// The `XENBUS_CACHE` context.
    CacheContext, CacheApi, b"XBCACHE\0" {
        caches: Handles<Object> = Handles::new(),
    }
);

impl CacheContext {
    /// Caches created and not destroyed.
    #[must_use]
    pub fn outstanding(&self) -> usize {
        self.caches.len()
    }

    /// `CacheGetInterface`.
    ///
    /// # Safety
    /// `buffer` must be NULL or writable for `size` bytes.
    pub(crate) unsafe fn get_interface(
        &self,
        version: u16,
        buffer: *mut c_void,
        size: u16,
    ) -> NtStatus {
        let context = core::ptr::from_ref(self).cast_mut().cast::<c_void>();
        match version {
            // SAFETY: forwarded buffer contract.
            1 => unsafe { fill(table_v1(context), buffer, size) },
            // SAFETY: forwarded buffer contract.
            2 => unsafe { fill(table_v2(context), buffer, size) },
            _ => STATUS_NOT_SUPPORTED,
        }
    }
}

/// The child's lock callbacks as closures.
pub(crate) fn lock_closures(
    acquire: XenbusCacheAcquireLock,
    release: XenbusCacheReleaseLock,
    argument: usize,
) -> (CacheLock, CacheLock) {
    let lock: CacheLock = Arc::new(move || {
        let argument = core::ptr::with_exposed_provenance_mut::<c_void>(argument);
        // SAFETY: the child's lock callback and argument, valid while its cache lives.
        unsafe { acquire(argument) };
    });
    let unlock: CacheLock = Arc::new(move || {
        let argument = core::ptr::with_exposed_provenance_mut::<c_void>(argument);
        // SAFETY: as for the lock.
        unsafe { release(argument) };
    });
    (lock, unlock)
}

lifecycle_methods!(CacheContext, cache_acquire, cache_release);

#[allow(clippy::too_many_arguments, reason = "the C signature")]
unsafe extern "C" fn cache_create(
    interface: Pinterface,
    name: Pcstr,
    size: Ulong,
    reservation: Ulong,
    cap: Ulong,
    ctor: Option<XenbusCacheCtor>,
    dtor: Option<XenbusCacheDtor>,
    acquire_lock: Option<XenbusCacheAcquireLock>,
    release_lock: Option<XenbusCacheReleaseLock>,
    argument: Pvoid,
    cache: *mut PxenbusCache,
) -> NtStatus {
    let context = context!(CacheContext, interface, STATUS_INVALID_PARAMETER);
    let run = || -> Result<(), NtStatus> {
        let api = context.api()?;
        // SAFETY: the caller's NUL-terminated name.
        let name = unsafe { util::required_str(name, MAX_NAME_SCAN) }?;
        let (Some(ctor), Some(dtor), Some(acquire_lock), Some(release_lock)) =
            (ctor, dtor, acquire_lock, release_lock)
        else {
            return Err(STATUS_INVALID_PARAMETER);
        };
        if cache.is_null() {
            return Err(STATUS_INVALID_PARAMETER);
        }
        let argument = argument.expose_provenance();
        let (acquire_lock, release_lock) = lock_closures(acquire_lock, release_lock, argument);
        let spec = CacheSpec {
            name,
            size,
            reservation,
            cap,
            ctor: Arc::new(move |object| {
                let argument = core::ptr::with_exposed_provenance_mut::<c_void>(argument);
                // SAFETY: the child's constructor on an object of its size.
                unsafe { ctor(argument, object) }
            }),
            dtor: Arc::new(move |object| {
                let argument = core::ptr::with_exposed_provenance_mut::<c_void>(argument);
                // SAFETY: the child's destructor on an object its constructor built.
                unsafe { dtor(argument, object) };
            }),
            acquire_lock,
            release_lock,
        };
        let object = api.create(spec)?;
        let Some(handle) = context.caches.insert(Arc::clone(&object)) else {
            api.destroy(object);
            return Err(ntstatus::STATUS_INSUFFICIENT_RESOURCES);
        };
        // SAFETY: checked non-NULL; the caller's out-parameter.
        unsafe { util::write_out(cache, handle) };
        Ok(())
    };
    status_of(run())
}

#[allow(clippy::too_many_arguments, reason = "the C signature")]
unsafe extern "C" fn cache_create_version1(
    interface: Pinterface,
    name: Pcstr,
    size: Ulong,
    reservation: Ulong,
    ctor: Option<XenbusCacheCtor>,
    dtor: Option<XenbusCacheDtor>,
    acquire_lock: Option<XenbusCacheAcquireLock>,
    release_lock: Option<XenbusCacheReleaseLock>,
    argument: Pvoid,
    cache: *mut PxenbusCache,
) -> NtStatus {
    // SAFETY: the caller's arguments, with no cap.
    unsafe {
        cache_create(
            interface,
            name,
            size,
            reservation,
            0,
            ctor,
            dtor,
            acquire_lock,
            release_lock,
            argument,
            cache,
        )
    }
}

unsafe extern "C" fn cache_get(
    interface: Pinterface,
    cache: PxenbusCache,
    locked: Boolean,
) -> Pvoid {
    let context = context!(CacheContext, interface, core::ptr::null_mut());
    let Ok(api) = context.api() else {
        return core::ptr::null_mut();
    };
    context
        .caches
        .get(cache)
        .map_or(core::ptr::null_mut(), |cache| {
            api.get(&cache, boolean(locked))
        })
}

unsafe extern "C" fn cache_put(
    interface: Pinterface,
    cache: PxenbusCache,
    object: Pvoid,
    locked: Boolean,
) {
    let context = context!(CacheContext, interface);
    let Ok(api) = context.api() else {
        return;
    };
    if object.is_null() {
        return;
    }
    if let Some(cache) = context.caches.get(cache) {
        api.put(&cache, object, boolean(locked));
    }
}

unsafe extern "C" fn cache_destroy(interface: Pinterface, cache: PxenbusCache) {
    let context = context!(CacheContext, interface);
    let Ok(api) = context.api() else {
        return;
    };
    if let Some(cache) = context.caches.remove(cache) {
        api.destroy(cache);
    }
}

type CreateDef = unsafe extern "C" fn(
    Pinterface,
    Pcstr,
    Ulong,
    Ulong,
    Ulong,
    Option<XenbusCacheCtor>,
    Option<XenbusCacheDtor>,
    Option<XenbusCacheAcquireLock>,
    Option<XenbusCacheReleaseLock>,
    Pvoid,
    *mut PxenbusCache,
) -> NtStatus;
type CreateVersion1Def = unsafe extern "C" fn(
    Pinterface,
    Pcstr,
    Ulong,
    Ulong,
    Option<XenbusCacheCtor>,
    Option<XenbusCacheDtor>,
    Option<XenbusCacheAcquireLock>,
    Option<XenbusCacheReleaseLock>,
    Pvoid,
    *mut PxenbusCache,
) -> NtStatus;

// SAFETY: `Option<extern "C" fn>` has the same ABI as the non-nullable pointer (guaranteed
// null-pointer optimisation), so the two signatures are call-compatible.
const CREATE: CacheCreate = unsafe { core::mem::transmute::<CreateDef, CacheCreate>(cache_create) };
// SAFETY: as for CREATE.
const CREATE_VERSION1: CacheCreateVersion1 = unsafe {
    core::mem::transmute::<CreateVersion1Def, CacheCreateVersion1>(cache_create_version1)
};

const fn table_v1(context: *mut c_void) -> XenbusCacheInterfaceV1 {
    XenbusCacheInterfaceV1 {
        interface: header::<XenbusCacheInterfaceV1>(context),
        cache_acquire,
        cache_release,
        cache_create_version1: CREATE_VERSION1,
        cache_get,
        cache_put,
        cache_destroy,
    }
}

const fn table_v2(context: *mut c_void) -> XenbusCacheInterfaceV2 {
    XenbusCacheInterfaceV2 {
        interface: header::<XenbusCacheInterfaceV2>(context),
        cache_acquire,
        cache_release,
        cache_create: CREATE,
        cache_get,
        cache_put,
        cache_destroy,
    }
}
