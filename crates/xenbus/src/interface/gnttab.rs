// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `XENBUS_GNTTAB` v2–v4 (v3 adds `GnttabQueryReference`, v4 the cap of `GnttabCreateCache`).
//!
//! Grant caches and entries are table handles. A successful Revoke gives the entry handle
//! back; a failed one (still mapped by the peer: `STATUS_UNSUCCESSFUL`) leaves it with the
//! child, as upstream. `GnttabMapForeignPages` reads at most [`MAX_FOREIGN_PAGES`] references.

use alloc::sync::Arc;
use core::ffi::c_void;

use ntstatus::{NtStatus, STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED};
use xenbus_interface::cache::{XenbusCacheAcquireLock, XenbusCacheReleaseLock};
use xenbus_interface::gnttab::{
    GnttabCreateCache, GnttabCreateCacheVersion1, PxenbusGnttabCache, PxenbusGnttabEntry,
    XenbusGnttabInterfaceV2, XenbusGnttabInterfaceV3, XenbusGnttabInterfaceV4,
};
use xenbus_interface::{Boolean, LargeInteger, Pcstr, PfnNumber, Pinterface, Pvoid, Ulong, Ushort};

use platform_port::Platform;
use xen_services::XenServices;

use super::cache::{CacheLock, lock_closures};
use super::entries::EntryTable;
use super::util::{self, boolean, to_boolean};
use super::{
    Handles, Lifecycle, Object, context, define_context, fill, header, lifecycle_methods, status_of,
};
use crate::gnttab::{Gnttab, GnttabCache, GnttabError, GrantEntry};

/// Longest cache name read from the caller.
pub const MAX_NAME_SCAN: usize = 4096;

/// Most pages one `GnttabMapForeignPages` maps.
pub const MAX_FOREIGN_PAGES: Ulong = 1 << 16;

/// What the GNTTAB context needs from the subsystem.
pub trait GnttabApi: Lifecycle {
    /// `GnttabCreateCache`.
    ///
    /// # Errors
    /// The subsystem's status.
    fn create_cache(
        &self,
        name: &[u8],
        reservation: u32,
        cap: u32,
        acquire_lock: CacheLock,
        release_lock: CacheLock,
    ) -> Result<Object, NtStatus>;
    /// `GnttabPermitForeignAccess`: a granted entry (from the cache's objects: nothing is
    /// allocated per call).
    ///
    /// # Errors
    /// The subsystem's status.
    fn permit_foreign_access(
        &self,
        cache: &Object,
        locked: bool,
        domain: u16,
        pfn: u64,
        read_only: bool,
    ) -> Result<GrantEntry, NtStatus>;
    /// `GnttabRevokeForeignAccess`.
    ///
    /// # Errors
    /// `STATUS_UNSUCCESSFUL` while the peer still maps the grant, with the entry given back.
    fn revoke_foreign_access(
        &self,
        cache: &Object,
        locked: bool,
        entry: GrantEntry,
    ) -> Result<(), (NtStatus, GrantEntry)>;
    /// `GnttabQueryReference`: frame and read-only flag.
    ///
    /// # Errors
    /// `STATUS_INVALID_PARAMETER` beyond the mapped frames.
    fn query_reference(&self, reference: u32) -> Result<(u64, bool), NtStatus>;
    /// `GnttabDestroyCache`.
    ///
    /// # Errors
    /// Entries still granted: the cache stays alive.
    fn destroy_cache(&self, cache: &Object) -> Result<(), NtStatus>;
    /// `GnttabMapForeignPages`: the guest-physical address of the mapping.
    ///
    /// # Errors
    /// The subsystem's status.
    fn map_foreign_pages(
        &self,
        domain: u16,
        references: &[u32],
        read_only: bool,
    ) -> Result<i64, NtStatus>;
    /// `GnttabUnmapForeignPages`.
    ///
    /// # Errors
    /// The subsystem's status.
    fn unmap_foreign_pages(&self, address: i64) -> Result<(), NtStatus>;
}

/// The cache behind a child's handle, borrowed: the handle table's clone of the `Arc` keeps it
/// alive for the call, so no second reference count is taken on the hot path.
fn gnttab_cache<P: Platform>(object: &Object) -> Result<&GnttabCache<P>, NtStatus> {
    (**object)
        .downcast_ref::<GnttabCache<P>>()
        .ok_or(STATUS_INVALID_PARAMETER)
}

impl<P: Platform, S: XenServices + 'static> Lifecycle for Gnttab<P, S> {
    fn acquire(&self) -> Result<(), NtStatus> {
        Self::acquire(self).map_err(GnttabError::status)
    }

    fn release(&self) {
        Self::release(self);
    }
}

impl<P: Platform, S: XenServices + 'static> GnttabApi for Gnttab<P, S> {
    fn create_cache(
        &self,
        name: &[u8],
        reservation: u32,
        cap: u32,
        acquire_lock: CacheLock,
        release_lock: CacheLock,
    ) -> Result<Object, NtStatus> {
        let name = core::str::from_utf8(name).map_err(|_| STATUS_INVALID_PARAMETER)?;
        let cache = Self::create_cache(self, name, reservation, cap, acquire_lock, release_lock)
            .map_err(GnttabError::status)?;
        Ok(cache)
    }

    fn permit_foreign_access(
        &self,
        cache: &Object,
        locked: bool,
        domain: u16,
        pfn: u64,
        read_only: bool,
    ) -> Result<GrantEntry, NtStatus> {
        let cache = gnttab_cache::<P>(cache)?;
        Self::permit_foreign_access(self, cache, locked, domain, pfn, read_only)
            .map_err(GnttabError::status)
    }

    fn revoke_foreign_access(
        &self,
        cache: &Object,
        locked: bool,
        entry: GrantEntry,
    ) -> Result<(), (NtStatus, GrantEntry)> {
        let cache = match gnttab_cache::<P>(cache) {
            Ok(cache) => cache,
            Err(status) => return Err((status, entry)),
        };
        Self::revoke_foreign_access(self, cache, locked, entry)
            .map_err(|(error, entry)| (error.status(), entry))
    }

    fn query_reference(&self, reference: u32) -> Result<(u64, bool), NtStatus> {
        Self::query_reference(self, reference).map_err(GnttabError::status)
    }

    fn destroy_cache(&self, cache: &Object) -> Result<(), NtStatus> {
        let cache = Arc::clone(cache)
            .downcast::<GnttabCache<P>>()
            .map_err(|_| STATUS_INVALID_PARAMETER)?;
        Self::destroy_cache(self, &cache).map_err(GnttabError::status)
    }

    fn map_foreign_pages(
        &self,
        domain: u16,
        references: &[u32],
        read_only: bool,
    ) -> Result<i64, NtStatus> {
        let address = Self::map_foreign_pages(self, domain, references, read_only)
            .map_err(GnttabError::status)?;
        i64::try_from(address).map_err(|_| STATUS_INVALID_PARAMETER)
    }

    fn unmap_foreign_pages(&self, address: i64) -> Result<(), NtStatus> {
        let address = u64::try_from(address).map_err(|_| STATUS_INVALID_PARAMETER)?;
        Self::unmap_foreign_pages(self, address).map_err(GnttabError::status)
    }
}

define_context!(
    /// The `XENBUS_GNTTAB` context.
    GnttabContext, GnttabApi, b"XBGNTTAB" {
        caches: Handles<Object>,
        entries: EntryTable,
    }
);

impl GnttabContext {
    /// (caches, entries) created and not given back.
    #[must_use]
    pub fn outstanding(&self) -> (usize, usize) {
        (self.caches.len(), self.entries.len())
    }

    /// `GnttabGetInterface`.
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
            2 => unsafe { fill(table_v2(context), buffer, size) },
            // SAFETY: forwarded buffer contract.
            3 => unsafe { fill(table_v3(context), buffer, size) },
            // SAFETY: forwarded buffer contract.
            4 => unsafe { fill(table_v4(context), buffer, size) },
            _ => STATUS_NOT_SUPPORTED,
        }
    }
}

lifecycle_methods!(GnttabContext, gnttab_acquire, gnttab_release);

#[allow(clippy::too_many_arguments, reason = "the C signature")]
unsafe extern "C" fn gnttab_create_cache(
    interface: Pinterface,
    name: Pcstr,
    reservation: Ulong,
    cap: Ulong,
    acquire_lock: Option<XenbusCacheAcquireLock>,
    release_lock: Option<XenbusCacheReleaseLock>,
    argument: Pvoid,
    cache: *mut PxenbusGnttabCache,
) -> NtStatus {
    let context = context!(GnttabContext, interface, STATUS_INVALID_PARAMETER);
    let run = || -> Result<(), NtStatus> {
        let api = context.api()?;
        // SAFETY: the caller's NUL-terminated name.
        let name = unsafe { util::required_str(name, MAX_NAME_SCAN) }?;
        let (Some(acquire_lock), Some(release_lock)) = (acquire_lock, release_lock) else {
            return Err(STATUS_INVALID_PARAMETER);
        };
        if cache.is_null() {
            return Err(STATUS_INVALID_PARAMETER);
        }
        let (lock, unlock) =
            lock_closures(acquire_lock, release_lock, argument.expose_provenance());
        let object = api.create_cache(name, reservation, cap, lock, unlock)?;
        let Some(handle) = context.caches.insert(Arc::clone(&object)) else {
            let _ = api.destroy_cache(&object);
            return Err(ntstatus::STATUS_INSUFFICIENT_RESOURCES);
        };
        // SAFETY: checked non-NULL; the caller's out-parameter.
        unsafe { util::write_out(cache, handle) };
        Ok(())
    };
    status_of(run())
}

unsafe extern "C" fn gnttab_create_cache_version1(
    interface: Pinterface,
    name: Pcstr,
    reservation: Ulong,
    acquire_lock: Option<XenbusCacheAcquireLock>,
    release_lock: Option<XenbusCacheReleaseLock>,
    argument: Pvoid,
    cache: *mut PxenbusGnttabCache,
) -> NtStatus {
    // SAFETY: the caller's arguments, with no cap.
    unsafe {
        gnttab_create_cache(
            interface,
            name,
            reservation,
            0,
            acquire_lock,
            release_lock,
            argument,
            cache,
        )
    }
}

#[allow(clippy::too_many_arguments, reason = "the C signature")]
unsafe extern "C" fn gnttab_permit_foreign_access(
    interface: Pinterface,
    cache: PxenbusGnttabCache,
    locked: Boolean,
    domain: Ushort,
    pfn: PfnNumber,
    read_only: Boolean,
    entry: *mut PxenbusGnttabEntry,
) -> NtStatus {
    let context = context!(GnttabContext, interface, STATUS_INVALID_PARAMETER);
    let run = || -> Result<(), NtStatus> {
        let api = context.api()?;
        let cache = context.caches.get(cache).ok_or(STATUS_INVALID_PARAMETER)?;
        if entry.is_null() {
            return Err(STATUS_INVALID_PARAMETER);
        }
        let granted =
            api.permit_foreign_access(&cache, boolean(locked), domain, pfn, boolean(read_only))?;
        let handle = match context.entries.insert(granted) {
            Ok(handle) => handle,
            Err(granted) => {
                // No handle to give the child: take the grant back. A peer cannot have mapped
                // it yet, as nobody told it the reference.
                let _ = api.revoke_foreign_access(&cache, boolean(locked), granted);
                return Err(ntstatus::STATUS_INSUFFICIENT_RESOURCES);
            }
        };
        // SAFETY: checked non-NULL; the caller's out-parameter.
        unsafe { util::write_out(entry, handle) };
        Ok(())
    };
    status_of(run())
}

unsafe extern "C" fn gnttab_revoke_foreign_access(
    interface: Pinterface,
    cache: PxenbusGnttabCache,
    locked: Boolean,
    entry: PxenbusGnttabEntry,
) -> NtStatus {
    let context = context!(GnttabContext, interface, STATUS_INVALID_PARAMETER);
    let run = || -> Result<(), NtStatus> {
        let api = context.api()?;
        let cache = context.caches.get(cache).ok_or(STATUS_INVALID_PARAMETER)?;
        let granted = context
            .entries
            .begin_revoke(entry)
            .ok_or(STATUS_INVALID_PARAMETER)?;
        match api.revoke_foreign_access(&cache, boolean(locked), granted) {
            Ok(()) => {
                context.entries.revoked(entry);
                Ok(())
            }
            Err((status, granted)) => {
                context.entries.still_granted(entry, granted);
                Err(status)
            }
        }
    };
    status_of(run())
}

unsafe extern "C" fn gnttab_get_reference(
    interface: Pinterface,
    entry: PxenbusGnttabEntry,
) -> Ulong {
    let context = context!(GnttabContext, interface, 0);
    if !context.is_wired() {
        return 0;
    }
    context.entries.reference(entry).unwrap_or(0)
}

unsafe extern "C" fn gnttab_query_reference(
    interface: Pinterface,
    reference: Ulong,
    pfn: *mut PfnNumber,
    read_only: *mut Boolean,
) -> NtStatus {
    let context = context!(GnttabContext, interface, STATUS_INVALID_PARAMETER);
    let run = || -> Result<(), NtStatus> {
        let api = context.api()?;
        let (frame, ro) = api.query_reference(reference)?;
        // SAFETY: the caller's optional out-parameters (NULL skipped).
        unsafe { util::write_out(pfn, frame) };
        // SAFETY: as above.
        unsafe { util::write_out(read_only, to_boolean(ro)) };
        Ok(())
    };
    status_of(run())
}

unsafe extern "C" fn gnttab_destroy_cache(interface: Pinterface, cache: PxenbusGnttabCache) {
    let context = context!(GnttabContext, interface);
    let Ok(api) = context.api() else {
        return;
    };
    // A refused destroy (entries still granted) leaves the cache and its handle alive.
    if let Some(object) = context.caches.get(cache)
        && api.destroy_cache(&object).is_ok()
    {
        context.caches.remove(cache);
    }
}

unsafe extern "C" fn gnttab_map_foreign_pages(
    interface: Pinterface,
    domain: Ushort,
    number_pages: Ulong,
    references: *mut Ulong,
    read_only: Boolean,
    address: *mut LargeInteger,
) -> NtStatus {
    let context = context!(GnttabContext, interface, STATUS_INVALID_PARAMETER);
    let run = || -> Result<(), NtStatus> {
        let api = context.api()?;
        if references.is_null()
            || !references.is_aligned()
            || address.is_null()
            || number_pages == 0
            || number_pages > MAX_FOREIGN_PAGES
        {
            return Err(STATUS_INVALID_PARAMETER);
        }
        let count = usize::try_from(number_pages).map_err(|_| STATUS_INVALID_PARAMETER)?;
        // SAFETY: the caller's array of `number_pages` references (non-NULL, aligned,
        // bounded), read-only for this call.
        let list = unsafe { core::slice::from_raw_parts(references.cast_const(), count) };
        let base = api.map_foreign_pages(domain, list, boolean(read_only))?;
        // SAFETY: checked non-NULL; the caller's out-parameter.
        unsafe { util::write_out(address, base) };
        Ok(())
    };
    status_of(run())
}

unsafe extern "C" fn gnttab_unmap_foreign_pages(
    interface: Pinterface,
    address: LargeInteger,
) -> NtStatus {
    let context = context!(GnttabContext, interface, STATUS_INVALID_PARAMETER);
    status_of(
        context
            .api()
            .and_then(|api| api.unmap_foreign_pages(address)),
    )
}

type CreateDef = unsafe extern "C" fn(
    Pinterface,
    Pcstr,
    Ulong,
    Ulong,
    Option<XenbusCacheAcquireLock>,
    Option<XenbusCacheReleaseLock>,
    Pvoid,
    *mut PxenbusGnttabCache,
) -> NtStatus;
type CreateVersion1Def = unsafe extern "C" fn(
    Pinterface,
    Pcstr,
    Ulong,
    Option<XenbusCacheAcquireLock>,
    Option<XenbusCacheReleaseLock>,
    Pvoid,
    *mut PxenbusGnttabCache,
) -> NtStatus;

// SAFETY: `Option<extern "C" fn>` has the same ABI as the non-nullable pointer (guaranteed
// null-pointer optimisation), so the two signatures are call-compatible.
const CREATE: GnttabCreateCache =
    unsafe { core::mem::transmute::<CreateDef, GnttabCreateCache>(gnttab_create_cache) };
// SAFETY: as for CREATE.
const CREATE_VERSION1: GnttabCreateCacheVersion1 = unsafe {
    core::mem::transmute::<CreateVersion1Def, GnttabCreateCacheVersion1>(
        gnttab_create_cache_version1,
    )
};

const fn table_v2(context: *mut c_void) -> XenbusGnttabInterfaceV2 {
    XenbusGnttabInterfaceV2 {
        interface: header::<XenbusGnttabInterfaceV2>(context),
        gnttab_acquire,
        gnttab_release,
        gnttab_create_cache_version1: CREATE_VERSION1,
        gnttab_permit_foreign_access,
        gnttab_revoke_foreign_access,
        gnttab_get_reference,
        gnttab_destroy_cache,
        gnttab_map_foreign_pages,
        gnttab_unmap_foreign_pages,
    }
}

const fn table_v3(context: *mut c_void) -> XenbusGnttabInterfaceV3 {
    XenbusGnttabInterfaceV3 {
        interface: header::<XenbusGnttabInterfaceV3>(context),
        gnttab_acquire,
        gnttab_release,
        gnttab_create_cache_version1: CREATE_VERSION1,
        gnttab_permit_foreign_access,
        gnttab_revoke_foreign_access,
        gnttab_get_reference,
        gnttab_query_reference,
        gnttab_destroy_cache,
        gnttab_map_foreign_pages,
        gnttab_unmap_foreign_pages,
    }
}

const fn table_v4(context: *mut c_void) -> XenbusGnttabInterfaceV4 {
    XenbusGnttabInterfaceV4 {
        interface: header::<XenbusGnttabInterfaceV4>(context),
        gnttab_acquire,
        gnttab_release,
        gnttab_create_cache: CREATE,
        gnttab_permit_foreign_access,
        gnttab_revoke_foreign_access,
        gnttab_get_reference,
        gnttab_query_reference,
        gnttab_destroy_cache,
        gnttab_map_foreign_pages,
        gnttab_unmap_foreign_pages,
    }
}
