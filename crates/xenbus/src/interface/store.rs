// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `XENBUS_STORE` v2 over [`crate::store::Store`] (in the FDO: [`StoreLink`]'s client).
//!
//! Transactions and watches are handed out as table handles; Read and Directory return the
//! address of the [`StoreBuffer`]'s bytes (a NUL-terminated value, or a double-NUL-terminated
//! list), which the context keeps until `StoreFree` gives it back. A pointer `StoreFree` did
//! not hand out is ignored. `StorePrintf` is C-variadic (see the module docs of
//! [`crate::interface`]).
//!
//! The watch token's caller part (upstream: the return address of `StoreWatchAdd`'s caller)
//! is the address of the child's event, which identifies the watcher just as well.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use core::ffi::{c_char, c_void};

use kprintf::ArgSource;
use ntstatus::{NtStatus, STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED, STATUS_SUCCESS};
use platform_port::IrqlLock;
use xenbus_interface::store::{
    PxenbusStoreTransaction, PxenbusStoreWatch, StorePrintf, XenbusStoreInterfaceV2,
    XenbusStorePermission,
};
use xenbus_interface::{Boolean, Pcstr, Pinterface, Pkevent, Pstr, Ulong};

use super::util::{self, Tagged};
use super::{Handles, Lifecycle, References, SetEventFn, SharedIrql, fill, header};
use crate::store::link::{GuestStore, StoreLink};
use crate::store::{StoreBuffer, StoreError, Transaction, Watch, WatchEvent};
use platform_port::{Interrupts, Platform};
use xen_services::XenServices;

/// Longest path component (`Prefix`, `Node`) or format accepted, in bytes.
pub const MAX_STRING: usize = 4096;

/// The most permissions one `StorePermissionsSet` takes.
pub const MAX_PERMISSIONS: Ulong = 1024;

/// What the STORE context needs from the xenstore client.
pub trait StoreApi: Lifecycle {
    /// `StoreRead`.
    ///
    /// # Errors
    /// The client's error.
    fn read(
        &self,
        tx: Option<Transaction>,
        prefix: Option<&[u8]>,
        node: &[u8],
    ) -> Result<StoreBuffer, StoreError>;
    /// `StorePrintf`: formats with the MSVC engine, then writes.
    ///
    /// # Errors
    /// The client's error.
    fn printf(
        &self,
        tx: Option<Transaction>,
        prefix: Option<&[u8]>,
        node: &[u8],
        format: &[u8],
        args: &mut dyn ArgSource<'_>,
    ) -> Result<(), StoreError>;
    /// `StorePermissionsSet`.
    ///
    /// # Errors
    /// The client's error.
    fn permissions_set(
        &self,
        tx: Option<Transaction>,
        prefix: Option<&[u8]>,
        node: &[u8],
        permissions: &[XenbusStorePermission],
    ) -> Result<(), StoreError>;
    /// `StoreRemove`.
    ///
    /// # Errors
    /// The client's error.
    fn remove(
        &self,
        tx: Option<Transaction>,
        prefix: Option<&[u8]>,
        node: &[u8],
    ) -> Result<(), StoreError>;
    /// `StoreDirectory`.
    ///
    /// # Errors
    /// The client's error.
    fn directory(
        &self,
        tx: Option<Transaction>,
        prefix: Option<&[u8]>,
        node: &[u8],
    ) -> Result<StoreBuffer, StoreError>;
    /// `StoreTransactionStart`.
    ///
    /// # Errors
    /// The client's error.
    fn transaction_start(&self) -> Result<Transaction, StoreError>;
    /// `StoreTransactionEnd`.
    ///
    /// # Errors
    /// The client's error (`STATUS_RETRY` on a conflict).
    fn transaction_end(&self, tx: Transaction, commit: bool) -> Result<(), StoreError>;
    /// `StoreWatchAdd`.
    ///
    /// # Errors
    /// The client's error.
    fn watch_add(
        &self,
        prefix: Option<&[u8]>,
        node: &[u8],
        event: Arc<dyn WatchEvent>,
        caller: usize,
    ) -> Result<Watch, StoreError>;
    /// `StoreWatchRemove`.
    ///
    /// # Errors
    /// The client's error.
    fn watch_remove(&self, watch: Watch) -> Result<(), StoreError>;
    /// `StorePoll`.
    fn poll(&self);
    /// `StoreFree`.
    fn free(&self, buffer: StoreBuffer);
}

/// The composition's STORE as the interface serves it.
///
/// [`StoreLink`] holds the guest ring, its channel and the reconnection after a suspend.
/// While the link is not connected every request fails
/// with [`StoreError::Disconnected`] (`STATUS_UNSUCCESSFUL`).
pub struct StoreLinkInterface<P: Platform, S: XenServices + 'static, I: Interrupts + 'static>(
    pub Arc<StoreLink<P, S, I>>,
);

impl<P: Platform, S: XenServices + 'static, I: Interrupts + 'static> StoreLinkInterface<P, S, I> {
    fn client(&self) -> Result<Arc<GuestStore<P, S, I>>, StoreError> {
        self.0.store().ok_or(StoreError::Disconnected)
    }
}

impl<P: Platform, S: XenServices + 'static, I: Interrupts + 'static> Lifecycle
    for StoreLinkInterface<P, S, I>
{
    fn acquire(&self) -> Result<(), NtStatus> {
        self.0.acquire()
    }

    fn release(&self) {
        self.0.release();
    }
}

impl<P: Platform, S: XenServices + 'static, I: Interrupts + 'static> StoreApi
    for StoreLinkInterface<P, S, I>
{
    fn read(
        &self,
        tx: Option<Transaction>,
        prefix: Option<&[u8]>,
        node: &[u8],
    ) -> Result<StoreBuffer, StoreError> {
        self.client()?.read(tx, prefix, node)
    }

    fn printf(
        &self,
        tx: Option<Transaction>,
        prefix: Option<&[u8]>,
        node: &[u8],
        format: &[u8],
        args: &mut dyn ArgSource<'_>,
    ) -> Result<(), StoreError> {
        self.client()?.printf_c(tx, prefix, node, format, args)
    }

    fn permissions_set(
        &self,
        tx: Option<Transaction>,
        prefix: Option<&[u8]>,
        node: &[u8],
        permissions: &[XenbusStorePermission],
    ) -> Result<(), StoreError> {
        self.client()?
            .permissions_set(tx, prefix, node, permissions)
    }

    fn remove(
        &self,
        tx: Option<Transaction>,
        prefix: Option<&[u8]>,
        node: &[u8],
    ) -> Result<(), StoreError> {
        self.client()?.remove(tx, prefix, node)
    }

    fn directory(
        &self,
        tx: Option<Transaction>,
        prefix: Option<&[u8]>,
        node: &[u8],
    ) -> Result<StoreBuffer, StoreError> {
        self.client()?.directory(tx, prefix, node)
    }

    fn transaction_start(&self) -> Result<Transaction, StoreError> {
        self.client()?.transaction_start()
    }

    fn transaction_end(&self, tx: Transaction, commit: bool) -> Result<(), StoreError> {
        self.client()?.transaction_end(tx, commit)
    }

    fn watch_add(
        &self,
        prefix: Option<&[u8]>,
        node: &[u8],
        event: Arc<dyn WatchEvent>,
        caller: usize,
    ) -> Result<Watch, StoreError> {
        self.client()?.watch_add(prefix, node, event, caller)
    }

    fn watch_remove(&self, watch: Watch) -> Result<(), StoreError> {
        self.client()?.watch_remove(watch)
    }

    fn poll(&self) {
        self.0.poll();
    }

    fn free(&self, buffer: StoreBuffer) {
        match self.client() {
            Ok(store) => store.free(buffer),
            Err(_) => drop(buffer),
        }
    }
}

/// A child's `PKEVENT`, signalled through the platform's [`SetEventFn`].
struct KernelEvent {
    event: usize,
    set: SetEventFn,
}

impl WatchEvent for KernelEvent {
    fn signal(&self) {
        let event = core::ptr::with_exposed_provenance_mut::<c_void>(self.event);
        // SAFETY: the child passed this event to StoreWatchAdd and keeps it alive while the
        // watch is registered; the watch is gone from the store before WatchRemove returns.
        unsafe { (self.set)(event) };
    }
}

/// The `XENBUS_STORE` context.
#[repr(C)]
pub struct StoreContext {
    tag: u64,
    pub(crate) refs: References,
    api: Option<Arc<dyn StoreApi>>,
    set_event: SetEventFn,
    transactions: Handles<Transaction>,
    watches: Handles<Watch>,
    /// Buffers handed to children, by address (`DISPATCH_LEVEL` lock, held only for the map
    /// operation).
    buffers: IrqlLock<SharedIrql, BTreeMap<usize, StoreBuffer>>,
}

// SAFETY: `StoreContext` is `repr(C)` and its first field is the tag, always `TAG`.
unsafe impl Tagged for StoreContext {
    const TAG: u64 = util::tag(*b"XBSTORE\0");
}

impl StoreContext {
    /// A context serving `api` (`None`: the table is served, every method fails);
    /// `set_event` signals the events children pass to `StoreWatchAdd`; the handle tables are
    /// spin locks raised through `irql`.
    #[must_use]
    pub fn new(irql: &SharedIrql, api: Option<Arc<dyn StoreApi>>, set_event: SetEventFn) -> Self {
        Self {
            tag: <Self as Tagged>::TAG,
            refs: References::new(),
            api,
            set_event,
            transactions: Handles::new(Arc::clone(irql)),
            watches: Handles::new(Arc::clone(irql)),
            buffers: IrqlLock::dispatch(Arc::clone(irql), BTreeMap::new()),
        }
    }

    /// True if a client serves this context.
    #[must_use]
    pub const fn is_wired(&self) -> bool {
        self.api.is_some()
    }

    /// Handles and buffers children still hold: (transactions, watches, buffers).
    #[must_use]
    pub fn outstanding(&self) -> (usize, usize, usize) {
        (
            self.transactions.len(),
            self.watches.len(),
            self.buffers.lock().len(),
        )
    }

    /// `StoreGetInterface`.
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
            _ => STATUS_NOT_SUPPORTED,
        }
    }

    fn api(&self) -> Result<&dyn StoreApi, NtStatus> {
        self.api.as_deref().ok_or(STATUS_NOT_SUPPORTED)
    }

    fn transaction(
        &self,
        handle: PxenbusStoreTransaction,
    ) -> Result<Option<Transaction>, NtStatus> {
        if handle.is_null() {
            return Ok(None);
        }
        self.transactions
            .get(handle)
            .map(Some)
            .ok_or(STATUS_INVALID_PARAMETER)
    }

    /// Hands a buffer to the child: its address goes to `*out`.
    ///
    /// # Safety
    /// `out` must be NULL or writable.
    unsafe fn give_buffer(
        &self,
        api: &dyn StoreApi,
        buffer: StoreBuffer,
        out: *mut Pstr,
    ) -> NtStatus {
        let address = buffer.as_c_bytes().as_ptr().cast_mut().cast::<c_char>();
        // SAFETY: `out` is NULL or writable (contract).
        if !unsafe { util::write_out(out, address) } {
            api.free(buffer);
            return STATUS_INVALID_PARAMETER;
        }
        self.buffers.lock().insert(address.addr(), buffer);
        STATUS_SUCCESS
    }
}

/// The path arguments every node method takes.
///
/// # Safety
/// `prefix` NULL or a string, `node` a string (as [`util::c_str`]).
unsafe fn path<'a>(prefix: Pstr, node: Pstr) -> Result<(Option<&'a [u8]>, &'a [u8]), NtStatus> {
    // SAFETY: forwarded string contract.
    let prefix = unsafe { util::c_str(prefix, MAX_STRING) }?;
    // SAFETY: forwarded string contract.
    let node = unsafe { util::required_str(node, MAX_STRING) }?;
    Ok((prefix, node))
}

/// Recovers the context or returns `$fail`.
macro_rules! context {
    ($interface:expr) => {
        // SAFETY: as in the two-argument form.
        match unsafe { util::context::<StoreContext>($interface) } {
            Some(context) => context,
            None => return,
        }
    };
    ($interface:expr, $fail:expr) => {
        // SAFETY: children pass the table xenbus filled (or NULL); its context is a
        // `StoreContext` owned by the provider, which outlives every child.
        match unsafe { util::context::<StoreContext>($interface) } {
            Some(context) => context,
            None => return $fail,
        }
    };
}

unsafe extern "C" fn store_acquire(interface: Pinterface) -> NtStatus {
    let context = context!(interface, STATUS_INVALID_PARAMETER);
    match context.api() {
        Ok(api) => context
            .refs
            .forward_acquire(api)
            .map_or_else(|status| status, |()| STATUS_SUCCESS),
        Err(status) => status,
    }
}

unsafe extern "C" fn store_release(interface: Pinterface) {
    let context = context!(interface);
    if let Ok(api) = context.api() {
        context.refs.forward_release(api);
    }
}

unsafe extern "C" fn store_free(interface: Pinterface, buffer: Pstr) {
    let context = context!(interface);
    let Some(buffer) = context.buffers.lock().remove(&buffer.addr()) else {
        return;
    };
    if let Ok(api) = context.api() {
        api.free(buffer);
    }
}

unsafe extern "C" fn store_read(
    interface: Pinterface,
    transaction: PxenbusStoreTransaction,
    prefix: Pstr,
    node: Pstr,
    buffer: *mut Pstr,
) -> NtStatus {
    let context = context!(interface, STATUS_INVALID_PARAMETER);
    let run = || -> Result<NtStatus, NtStatus> {
        let api = context.api()?;
        let tx = context.transaction(transaction)?;
        // SAFETY: the strings are the caller's NUL-terminated arguments.
        let (prefix, node) = unsafe { path(prefix, node) }?;
        let value = api.read(tx, prefix, node).map_err(StoreError::ntstatus)?;
        // SAFETY: `buffer` is the caller's out-parameter (NULL is refused).
        Ok(unsafe { context.give_buffer(api, value, buffer) })
    };
    run().unwrap_or_else(|status| status)
}

/// `StorePrintf`'s body, shared by both entry thunks.
///
/// # Safety
/// The arguments as `StorePrintf` receives them; `args` reads the caller's variadic arguments,
/// which match `format` (printf's contract).
unsafe fn printf_common(
    interface: Pinterface,
    transaction: PxenbusStoreTransaction,
    prefix: Pstr,
    node: Pstr,
    format: Pcstr,
    args: &mut dyn ArgSource<'_>,
) -> NtStatus {
    let context = context!(interface, STATUS_INVALID_PARAMETER);
    let mut run = || -> Result<(), NtStatus> {
        let api = context.api()?;
        let tx = context.transaction(transaction)?;
        // SAFETY: the strings are the caller's NUL-terminated arguments.
        let (prefix, node) = unsafe { path(prefix, node) }?;
        // SAFETY: as above.
        let format = unsafe { util::required_str(format, MAX_STRING) }?;
        api.printf(tx, prefix, node, format, args)
            .map_err(StoreError::ntstatus)
    };
    run().map_or_else(|status| status, |()| STATUS_SUCCESS)
}

#[cfg(not(windows))]
unsafe extern "sysv64" fn store_printf_sysv(
    interface: Pinterface,
    transaction: PxenbusStoreTransaction,
    prefix: Pstr,
    node: Pstr,
    format: Pcstr,
    va: kprintf::RawSysVVaList,
) -> NtStatus {
    // SAFETY: the thunk passes the caller's `va_list`, whose arguments match `format`.
    let mut args = unsafe { kprintf::SysVVaList::new(va) };
    // SAFETY: the caller's arguments, unchanged.
    unsafe { printf_common(interface, transaction, prefix, node, format, &mut args) }
}

unsafe extern "win64" fn store_printf_win64(
    interface: Pinterface,
    transaction: PxenbusStoreTransaction,
    prefix: Pstr,
    node: Pstr,
    format: Pcstr,
    va: kprintf::RawWin64VaList,
) -> NtStatus {
    // SAFETY: the thunk passes the caller's `va_list`, whose arguments match `format`.
    let mut args = unsafe { kprintf::Win64VaList::new(va) };
    // SAFETY: the caller's arguments, unchanged.
    unsafe { printf_common(interface, transaction, prefix, node, format, &mut args) }
}

#[cfg(not(windows))]
kprintf::sysv64_variadic_thunk! {
    /// `StorePrintf` entry, System V (host builds).
    pub fn xenbus_store_printf_sysv(Pinterface, PxenbusStoreTransaction, Pstr, Pstr, Pcstr, ...)
        -> NtStatus => store_printf_sysv;
}

kprintf::win64_variadic_thunk! {
    /// `StorePrintf` entry, Microsoft x64.
    pub fn xenbus_store_printf_win64(Pinterface, PxenbusStoreTransaction, Pstr, Pstr, Pcstr, ...)
        -> NtStatus => store_printf_win64;
}

/// The `StorePrintf` slot: the thunk of this platform's convention.
#[cfg(windows)]
const STORE_PRINTF: StorePrintf = xenbus_store_printf_win64;
#[cfg(not(windows))]
const STORE_PRINTF: StorePrintf = xenbus_store_printf_sysv;

unsafe extern "C" fn store_permissions_set(
    interface: Pinterface,
    transaction: PxenbusStoreTransaction,
    prefix: Pstr,
    node: Pstr,
    permissions: *mut XenbusStorePermission,
    number_permissions: Ulong,
) -> NtStatus {
    let context = context!(interface, STATUS_INVALID_PARAMETER);
    let run = || -> Result<(), NtStatus> {
        let api = context.api()?;
        let tx = context.transaction(transaction)?;
        // SAFETY: the strings are the caller's NUL-terminated arguments.
        let (prefix, node) = unsafe { path(prefix, node) }?;
        if permissions.is_null()
            || !permissions.is_aligned()
            || number_permissions == 0
            || number_permissions > MAX_PERMISSIONS
        {
            return Err(STATUS_INVALID_PARAMETER);
        }
        let count = usize::try_from(number_permissions).map_err(|_| STATUS_INVALID_PARAMETER)?;
        // SAFETY: the caller passes an array of `number_permissions` entries (checked non-NULL,
        // aligned and bounded above), read-only for this call.
        let list = unsafe { core::slice::from_raw_parts(permissions.cast_const(), count) };
        api.permissions_set(tx, prefix, node, list)
            .map_err(StoreError::ntstatus)
    };
    run().map_or_else(|status| status, |()| STATUS_SUCCESS)
}

unsafe extern "C" fn store_remove(
    interface: Pinterface,
    transaction: PxenbusStoreTransaction,
    prefix: Pstr,
    node: Pstr,
) -> NtStatus {
    let context = context!(interface, STATUS_INVALID_PARAMETER);
    let run = || -> Result<(), NtStatus> {
        let api = context.api()?;
        let tx = context.transaction(transaction)?;
        // SAFETY: the strings are the caller's NUL-terminated arguments.
        let (prefix, node) = unsafe { path(prefix, node) }?;
        api.remove(tx, prefix, node).map_err(StoreError::ntstatus)
    };
    run().map_or_else(|status| status, |()| STATUS_SUCCESS)
}

unsafe extern "C" fn store_directory(
    interface: Pinterface,
    transaction: PxenbusStoreTransaction,
    prefix: Pstr,
    node: Pstr,
    buffer: *mut Pstr,
) -> NtStatus {
    let context = context!(interface, STATUS_INVALID_PARAMETER);
    let run = || -> Result<NtStatus, NtStatus> {
        let api = context.api()?;
        let tx = context.transaction(transaction)?;
        // SAFETY: the strings are the caller's NUL-terminated arguments.
        let (prefix, node) = unsafe { path(prefix, node) }?;
        let list = api
            .directory(tx, prefix, node)
            .map_err(StoreError::ntstatus)?;
        // SAFETY: `buffer` is the caller's out-parameter (NULL is refused).
        Ok(unsafe { context.give_buffer(api, list, buffer) })
    };
    run().unwrap_or_else(|status| status)
}

unsafe extern "C" fn store_transaction_start(
    interface: Pinterface,
    transaction: *mut PxenbusStoreTransaction,
) -> NtStatus {
    let context = context!(interface, STATUS_INVALID_PARAMETER);
    let run = || -> Result<(), NtStatus> {
        let api = context.api()?;
        if transaction.is_null() {
            return Err(STATUS_INVALID_PARAMETER);
        }
        let tx = api.transaction_start().map_err(StoreError::ntstatus)?;
        let Some(handle) = context.transactions.insert(tx) else {
            // Abort what nobody can name; the out-of-handles status is what matters.
            let _ = api.transaction_end(tx, false);
            return Err(ntstatus::STATUS_INSUFFICIENT_RESOURCES);
        };
        // SAFETY: checked non-NULL; the caller's out-parameter.
        unsafe { util::write_out(transaction, handle) };
        Ok(())
    };
    run().map_or_else(|status| status, |()| STATUS_SUCCESS)
}

unsafe extern "C" fn store_transaction_end(
    interface: Pinterface,
    transaction: PxenbusStoreTransaction,
    commit: Boolean,
) -> NtStatus {
    let context = context!(interface, STATUS_INVALID_PARAMETER);
    let run = || -> Result<(), NtStatus> {
        let api = context.api()?;
        let tx = context
            .transactions
            .get(transaction)
            .ok_or(STATUS_INVALID_PARAMETER)?;
        let result = api.transaction_end(tx, util::boolean(commit));
        // The client forgets the transaction on success and on STATUS_RETRY; any other error
        // leaves it open, and so does the handle.
        if result.is_ok() || result.is_err_and(StoreError::is_retry) {
            context.transactions.remove(transaction);
        }
        result.map_err(StoreError::ntstatus)
    };
    run().map_or_else(|status| status, |()| STATUS_SUCCESS)
}

unsafe extern "C" fn store_watch_add(
    interface: Pinterface,
    prefix: Pstr,
    node: Pstr,
    event: Pkevent,
    watch: *mut PxenbusStoreWatch,
) -> NtStatus {
    let context = context!(interface, STATUS_INVALID_PARAMETER);
    let run = || -> Result<(), NtStatus> {
        let api = context.api()?;
        // SAFETY: the strings are the caller's NUL-terminated arguments.
        let (prefix, node) = unsafe { path(prefix, node) }?;
        if event.is_null() || watch.is_null() {
            return Err(STATUS_INVALID_PARAMETER);
        }
        let caller = event.expose_provenance();
        let signal: Arc<dyn WatchEvent> = Arc::new(KernelEvent {
            event: caller,
            set: context.set_event,
        });
        let id = api
            .watch_add(prefix, node, signal, caller)
            .map_err(StoreError::ntstatus)?;
        let Some(handle) = context.watches.insert(id) else {
            let _ = api.watch_remove(id);
            return Err(ntstatus::STATUS_INSUFFICIENT_RESOURCES);
        };
        // SAFETY: checked non-NULL; the caller's out-parameter.
        unsafe { util::write_out(watch, handle) };
        Ok(())
    };
    run().map_or_else(|status| status, |()| STATUS_SUCCESS)
}

unsafe extern "C" fn store_watch_remove(
    interface: Pinterface,
    watch: PxenbusStoreWatch,
) -> NtStatus {
    let context = context!(interface, STATUS_INVALID_PARAMETER);
    let run = || -> Result<(), NtStatus> {
        let api = context.api()?;
        let id = context.watches.get(watch).ok_or(STATUS_INVALID_PARAMETER)?;
        api.watch_remove(id).map_err(StoreError::ntstatus)?;
        context.watches.remove(watch);
        Ok(())
    };
    run().map_or_else(|status| status, |()| STATUS_SUCCESS)
}

unsafe extern "C" fn store_poll(interface: Pinterface) {
    let context = context!(interface);
    if let Ok(api) = context.api() {
        api.poll();
    }
}

/// `XENBUS_STORE_INTERFACE_V2` for `context`.
const fn table_v2(context: *mut c_void) -> XenbusStoreInterfaceV2 {
    XenbusStoreInterfaceV2 {
        interface: header::<XenbusStoreInterfaceV2>(context),
        store_acquire,
        store_release,
        store_free,
        store_read,
        store_printf: STORE_PRINTF,
        store_permissions_set,
        store_remove,
        store_directory,
        store_transaction_start,
        store_transaction_end,
        store_watch_add,
        store_watch_remove,
        store_poll,
    }
}
