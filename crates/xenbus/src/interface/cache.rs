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
use core::ptr::NonNull;

use platform_port::Platform;

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
use crate::cache::{Cache, CacheCallbacks, CacheContext as CacheSubsystem, CacheError, LockFn};

/// Longest cache name read from the caller (the subsystem decides what it keeps).
pub const MAX_NAME_SCAN: usize = 4096;

/// The child's lock or unlock callback.
pub type CacheLock = LockFn;

/// What the CACHE context needs from the subsystem.
pub trait CacheApi: Lifecycle {
    /// `CacheCreate`.
    ///
    /// # Errors
    /// The subsystem's status.
    fn create(
        &self,
        name: &[u8],
        size: u32,
        reservation: u32,
        cap: u32,
        callbacks: CacheCallbacks,
    ) -> Result<Object, NtStatus>;
    /// `CacheGet`: an object, or `None`.
    fn get(&self, cache: &Object, locked: bool) -> Option<NonNull<u8>>;
    /// `CachePut`.
    ///
    /// # Safety
    /// `object` came from [`CacheApi::get`] of `cache` and is not used any more.
    unsafe fn put(&self, cache: &Object, object: NonNull<u8>, locked: bool);
    /// `CacheDestroy`.
    ///
    /// # Errors
    /// Objects still outstanding: the cache stays alive.
    fn destroy(&self, cache: &Object) -> Result<(), NtStatus>;
}

impl<P: Platform> Lifecycle for CacheSubsystem<P> {
    fn acquire(&self) -> Result<(), NtStatus> {
        Self::acquire(self).map_err(CacheError::status)
    }

    fn release(&self) {
        Self::release(self);
    }
}

impl<P: Platform> CacheApi for CacheSubsystem<P> {
    fn create(
        &self,
        name: &[u8],
        size: u32,
        reservation: u32,
        cap: u32,
        callbacks: CacheCallbacks,
    ) -> Result<Object, NtStatus> {
        let name = core::str::from_utf8(name).map_err(|_| STATUS_INVALID_PARAMETER)?;
        let cache = Self::create(self, name, size, reservation, cap, callbacks)
            .map_err(CacheError::status)?;
        Ok(cache)
    }

    fn get(&self, cache: &Object, locked: bool) -> Option<NonNull<u8>> {
        let cache = Arc::clone(cache).downcast::<Cache<P>>().ok()?;
        cache.get(locked)
    }

    unsafe fn put(&self, cache: &Object, object: NonNull<u8>, locked: bool) {
        if let Ok(cache) = Arc::clone(cache).downcast::<Cache<P>>() {
            // SAFETY: forwarded contract: `object` came from this cache's Get.
            unsafe { cache.put(object, locked) };
        }
    }

    fn destroy(&self, cache: &Object) -> Result<(), NtStatus> {
        let cache = Arc::clone(cache)
            .downcast::<Cache<P>>()
            .map_err(|_| STATUS_INVALID_PARAMETER)?;
        Self::destroy(self, &cache).map_err(CacheError::status)
    }
}

define_context!(
    /// The `XENBUS_CACHE` context.
    CacheContext, CacheApi, b"XBCACHE\0" {
        caches: Handles<Object>,
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
        let callbacks = CacheCallbacks {
            ctor: Arc::new(move |object: NonNull<u8>| {
                let argument = core::ptr::with_exposed_provenance_mut::<c_void>(argument);
                // SAFETY: the child's constructor on an object of its size.
                let status = unsafe { ctor(argument, object.as_ptr().cast()) };
                if ntstatus::nt_success(status) {
                    Ok(())
                } else {
                    Err(status)
                }
            }),
            dtor: Arc::new(move |object: NonNull<u8>| {
                let argument = core::ptr::with_exposed_provenance_mut::<c_void>(argument);
                // SAFETY: the child's destructor on an object its constructor built.
                unsafe { dtor(argument, object.as_ptr().cast()) };
            }),
            acquire_lock,
            release_lock,
        };
        let object = api.create(name, size, reservation, cap, callbacks)?;
        let Some(handle) = context.caches.insert(Arc::clone(&object)) else {
            let _ = api.destroy(&object);
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
        .and_then(|cache| api.get(&cache, boolean(locked)))
        .map_or(core::ptr::null_mut(), |object| object.as_ptr().cast())
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
    let Some(object) = NonNull::new(object.cast::<u8>()) else {
        return;
    };
    if let Some(cache) = context.caches.get(cache) {
        // SAFETY: the child returns an object it got from this cache (the C contract); the
        // subsystem detects addresses outside its slabs.
        unsafe { api.put(&cache, object, boolean(locked)) };
    }
}

unsafe extern "C" fn cache_destroy(interface: Pinterface, cache: PxenbusCache) {
    let context = context!(CacheContext, interface);
    let Ok(api) = context.api() else {
        return;
    };
    // A refused destroy (objects outstanding) leaves the cache and its handle alive.
    if let Some(object) = context.caches.get(cache)
        && api.destroy(&object).is_ok()
    {
        context.caches.remove(cache);
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
