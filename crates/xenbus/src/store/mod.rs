// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! STORE: the xenstore client behind `XENBUS_STORE` v2 (upstream `store.c`).
//!
//! [`Store`] offers every STORE method — Read, Printf, Remove, Directory, TransactionStart/End,
//! `WatchAdd`/`Remove`, Poll, `PermissionsSet`, Free — over any [`Transport`]: the guest's ring page
//! ([`ring::RingTransport`]) in the driver, xenstored's UNIX socket in host tests. Behaviour
//! follows the C package:
//! - requests are serialised under one spin lock taken at DISPATCH_LEVEL, and the caller polls
//!   the transport itself while it waits, still holding it, so the store works without
//!   interrupts ("polling mode"). Upstream's `StoreSubmitRequest` does the same: the wait is
//!   EVTCHN's busy wait (`EvtchnWait`), legal at DISPATCH_LEVEL, and no processor can be
//!   captured for a suspend while it holds the lock, because the capture is a DPC;
//! - upstream waits for a reply for ever. We stop after [`WaitLimits`] (by default 12 silent
//!   five-second slices): a dead or hostile xenstored otherwise keeps one processor spinning
//!   at DISPATCH_LEVEL and every other store caller spinning on the lock, which also blocks
//!   suspend, for the life of the guest. The request fails with `STATUS_IO_TIMEOUT` instead,
//!   and a request already partly on the ring fails the connection (bytes cannot be taken
//!   back);
//! - `XS_ERROR` names map to NTSTATUS as upstream does ([`StoreError::ntstatus`]); `EAGAIN` on a
//!   commit is `STATUS_RETRY`;
//! - a suspend expires every watch and transaction; on resume every watch is signalled once,
//!   expired watches never fire again, and ending an expired transaction answers
//!   `STATUS_RETRY` without asking xenstored. The expiry happens in the EARLY callback at
//!   HIGH_LEVEL, where no spin lock may be taken: it only advances an atomic suspend
//!   generation, and a watch or transaction older than the current generation is expired
//!   (upstream walks its lists unlocked there, relying on every other processor being
//!   captured);
//! - the debug dump runs at HIGH_LEVEL (the DEBUG trigger): there it reads only what needs no
//!   lock (the ring indices from the shared page, the counters kept in atomics), as upstream's
//!   `StoreDebugCallback`; below DISPATCH_LEVEL it also lists watches and transactions.
//!
//! Beyond upstream, [`Store::read_many`] keeps several requests in flight at once.

pub mod client;
pub mod error;
pub mod link;
pub mod path;
pub mod ring;
pub mod transport;
pub mod watch;
pub mod watchdog;
pub mod wire;

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use platform_port::{Irql, IrqlLevel, IrqlLock};
use shared_mem::SharedMem;

/// The printf engine behind [`Store::printf_c`], re-exported for callers building arguments.
pub use kprintf;
pub use xenbus_interface::store::{
    XENBUS_STORE_PERM_NONE, XENBUS_STORE_PERM_READ, XENBUS_STORE_PERM_WRITE, XenbusStorePermission,
};

pub use client::{Stats, WaitLimits};
pub use error::{NtStatus, StoreError, XsErrno, status};
pub use transport::{Transport, Wait};
pub use watch::WatchEvent;

use client::Connection;
use watch::{WatchEntry, Watches};

/// The longest value `Printf` writes: `RtlStringCbVPrintfA` into at most 1024 bytes, NUL
/// included.
pub const PRINTF_MAX: usize = 1023;

/// Construction parameters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreConfig {
    /// First request id (upstream seeds a 16-bit counter from a random value).
    pub request_id_seed: u16,
    /// First watch id (likewise).
    pub watch_id_seed: u16,
    /// How long a request waits for its reply.
    pub limits: WaitLimits,
}

/// A transaction handle (`PXENBUS_STORE_TRANSACTION`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Transaction(u32);

/// A watch handle (`PXENBUS_STORE_WATCH`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Watch(u16);

/// A value or directory list returned by Read or Directory: the bytes followed by two NULs, so
/// a C caller sees a string or a double-NUL-terminated list. Hand it back through
/// [`Store::free`].
#[derive(Debug, PartialEq, Eq)]
pub struct StoreBuffer {
    data: Vec<u8>,
}

impl StoreBuffer {
    fn new(mut data: Vec<u8>) -> Result<Self, StoreError> {
        data.try_reserve_exact(2)
            .map_err(|_| StoreError::InsufficientResources)?;
        data.extend_from_slice(&[0, 0]);
        Ok(Self { data })
    }

    /// The bytes xenstored returned (without the two added NULs).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        let len = self.data.len().saturating_sub(2);
        self.data.get(..len).unwrap_or_default()
    }

    /// The buffer with its terminating NULs, as a C caller receives it.
    #[must_use]
    pub fn as_c_bytes(&self) -> &[u8] {
        &self.data
    }

    /// The entries of a directory list.
    pub fn entries(&self) -> impl Iterator<Item = &[u8]> {
        self.as_bytes()
            .split(|&b| b == 0)
            .filter(|entry| !entry.is_empty())
    }
}

struct TxEntry {
    tx_id: u32,
    /// The suspend generation the transaction started in.
    generation: u32,
}

struct Inner<T> {
    conn: Connection<T>,
    watches: Watches,
    transactions: BTreeMap<u32, TxEntry>,
    next_transaction: u32,
}

impl<T: Transport> Inner<T> {
    fn tx_id(&self, tx: Option<Transaction>, generation: u32) -> Result<u32, StoreError> {
        match tx {
            None => Ok(0),
            Some(Transaction(handle)) => match self.transactions.get(&handle) {
                None => Err(StoreError::InvalidHandle),
                Some(entry) if entry.generation != generation => {
                    Err(StoreError::TransactionExpired)
                }
                Some(entry) => Ok(entry.tx_id),
            },
        }
    }

    fn request(
        &mut self,
        ty: u32,
        tx_id: u32,
        pieces: &[&[u8]],
        generation: u32,
    ) -> Result<Vec<u8>, StoreError> {
        let Self { conn, watches, .. } = self;
        conn.request(ty, tx_id, pieces, &mut |event| {
            watches.on_event(event, generation);
        })
    }

    fn poll(&mut self, generation: u32) {
        let Self { conn, watches, .. } = self;
        conn.poll(&mut |event| watches.on_event(event, generation));
    }
}

/// The xenstore client.
///
/// IRQL: every method but [`Store::suspend_early`] and [`Store::debug_dump`] takes the store's
/// spin lock and so runs at DISPATCH_LEVEL or below; those two run at any level.
pub struct Store<P: Irql, T> {
    platform: P,
    inner: IrqlLock<P, Inner<T>>,
    buffers: AtomicUsize,
    /// Suspends seen (advanced lock-free by the EARLY callback).
    generation: AtomicU32,
    /// The shared ring, for lock-free reads of its indices (debug dumps at HIGH_LEVEL).
    ring: Option<SharedMem>,
}

/// What is still allocated (`StoreRelease` BUGs on any of it upstream).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outstanding {
    /// Watches not removed.
    pub watches: usize,
    /// Transactions not ended.
    pub transactions: usize,
    /// Buffers not freed.
    pub buffers: usize,
}

impl<P: Irql + Clone, T: Transport> Store<P, T> {
    /// A store over `transport`, its lock raising `platform`'s IRQL.
    #[must_use]
    pub fn new(platform: P, transport: T, config: StoreConfig) -> Self {
        let ring = transport.shared_ring();
        Self {
            inner: IrqlLock::dispatch(
                platform.clone(),
                Inner {
                    conn: Connection::new(transport, config.request_id_seed, config.limits),
                    watches: Watches::new(config.watch_id_seed),
                    transactions: BTreeMap::new(),
                    next_transaction: 1,
                },
            ),
            platform,
            buffers: AtomicUsize::new(0),
            generation: AtomicU32::new(0),
            ring,
        }
    }

    fn generation(&self) -> u32 {
        self.generation.load(Ordering::SeqCst)
    }

    fn call(
        &self,
        tx: Option<Transaction>,
        ty: u32,
        pieces: &[&[u8]],
    ) -> Result<Vec<u8>, StoreError> {
        let mut inner = self.inner.lock();
        let generation = self.generation();
        let tx_id = inner.tx_id(tx, generation)?;
        inner.request(ty, tx_id, pieces, generation)
    }

    fn buffer(&self, data: Vec<u8>) -> Result<StoreBuffer, StoreError> {
        let buffer = StoreBuffer::new(data)?;
        self.buffers.fetch_add(1, Ordering::Relaxed);
        Ok(buffer)
    }

    /// `StoreRead`: the value of `prefix/node`.
    ///
    /// # Errors
    /// Path checks ([`path::compose`]), an expired or unknown transaction, or the daemon's
    /// error (`ENOENT` is `STATUS_OBJECT_NAME_NOT_FOUND`).
    pub fn read(
        &self,
        tx: Option<Transaction>,
        prefix: Option<&[u8]>,
        node: &[u8],
    ) -> Result<StoreBuffer, StoreError> {
        let key = path::compose(prefix, node)?;
        let value = self.call(tx, wire::XS_READ, &[&key])?;
        self.buffer(value)
    }

    /// Writes `value` to `prefix/node`, creating it (what Printf does once it has formatted).
    ///
    /// # Errors
    /// As [`Store::read`]; [`StoreError::InvalidBufferSize`] if the request exceeds the payload
    /// limit.
    pub fn write(
        &self,
        tx: Option<Transaction>,
        prefix: Option<&[u8]>,
        node: &[u8],
        value: &[u8],
    ) -> Result<(), StoreError> {
        let key = path::compose(prefix, node)?;
        self.call(tx, wire::XS_WRITE, &[&key, value]).map(drop)
    }

    /// `StorePrintf` for Rust callers: formats `args` and writes the result.
    ///
    /// # Errors
    /// [`StoreError::InvalidBufferSize`] if the text exceeds [`PRINTF_MAX`]; then as
    /// [`Store::write`].
    pub fn printf(
        &self,
        tx: Option<Transaction>,
        prefix: Option<&[u8]>,
        node: &[u8],
        args: fmt::Arguments<'_>,
    ) -> Result<(), StoreError> {
        let mut text = FixedText {
            buf: [0; PRINTF_MAX],
            len: 0,
        };
        fmt::write(&mut text, args).map_err(|_| StoreError::InvalidBufferSize)?;
        self.write(tx, prefix, node, text.as_bytes())
    }

    /// `StorePrintf` for C callers: runs the MSVC-compatible engine over `format` and `args`
    /// (a `va_list` reader from the entry thunk, or typed arguments) and writes the result.
    ///
    /// # Errors
    /// [`StoreError::InvalidParameter`] for a bad format or missing arguments,
    /// [`StoreError::InvalidBufferSize`] if the text exceeds [`PRINTF_MAX`]; then as
    /// [`Store::write`].
    pub fn printf_c<'a, A: kprintf::ArgSource<'a> + ?Sized>(
        &self,
        tx: Option<Transaction>,
        prefix: Option<&[u8]>,
        node: &[u8],
        format: &[u8],
        args: &mut A,
    ) -> Result<(), StoreError> {
        let mut buf = [0u8; PRINTF_MAX];
        let text = kprintf::format_to_buf(&mut buf, format, args).map_err(|e| match e {
            kprintf::FormatError::Overflow => StoreError::InvalidBufferSize,
            _ => StoreError::InvalidParameter,
        })?;
        self.write(tx, prefix, node, text)
    }

    /// `StoreRemove`.
    ///
    /// # Errors
    /// As [`Store::read`].
    pub fn remove(
        &self,
        tx: Option<Transaction>,
        prefix: Option<&[u8]>,
        node: &[u8],
    ) -> Result<(), StoreError> {
        let key = path::compose(prefix, node)?;
        self.call(tx, wire::XS_RM, &[&key]).map(drop)
    }

    /// `StoreDirectory`: the children of `prefix/node` (see [`StoreBuffer::entries`]).
    ///
    /// # Errors
    /// As [`Store::read`]; [`StoreError::PathNotFound`] for an empty list.
    pub fn directory(
        &self,
        tx: Option<Transaction>,
        prefix: Option<&[u8]>,
        node: &[u8],
    ) -> Result<StoreBuffer, StoreError> {
        let key = path::compose(prefix, node)?;
        let list = self.call(tx, wire::XS_DIRECTORY, &[&key])?;
        if list.is_empty() {
            return Err(StoreError::PathNotFound);
        }
        self.buffer(list)
    }

    /// `StorePermissionsSet`: the first entry names the owner and everyone's access, the
    /// others grant access to one domain each.
    ///
    /// # Errors
    /// [`StoreError::InvalidParameter`] for a mask outside NONE/READ/WRITE/both; then as
    /// [`Store::write`].
    pub fn permissions_set(
        &self,
        tx: Option<Transaction>,
        prefix: Option<&[u8]>,
        node: &[u8],
        permissions: &[XenbusStorePermission],
    ) -> Result<(), StoreError> {
        let key = path::compose(prefix, node)?;
        let mut list = Vec::new();
        for permission in permissions {
            let letter = match permission.mask {
                0 => b'n',
                1 => b'r',
                2 => b'w',
                3 => b'b',
                _ => return Err(StoreError::InvalidParameter),
            };
            let mut text = FixedText {
                buf: [0; PRINTF_MAX],
                len: 0,
            };
            fmt::write(
                &mut text,
                format_args!("{}{}\0", char::from(letter), permission.domain),
            )
            .map_err(|_| StoreError::InvalidBufferSize)?;
            list.try_reserve(text.len)
                .map_err(|_| StoreError::InsufficientResources)?;
            list.extend_from_slice(text.as_bytes());
        }
        self.call(tx, wire::XS_SET_PERMS, &[&key, &list]).map(drop)
    }

    /// `StoreTransactionStart`.
    ///
    /// # Errors
    /// The daemon's error, or [`StoreError::Protocol`] if its reply is not a decimal id.
    pub fn transaction_start(&self) -> Result<Transaction, StoreError> {
        let mut inner = self.inner.lock();
        let generation = self.generation();
        let reply = inner.request(wire::XS_TRANSACTION_START, 0, &[b"\0"], generation)?;
        let digits = reply.split(|&b| b == 0).next().unwrap_or_default();
        let tx_id = core::str::from_utf8(digits)
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse::<u32>().ok())
            .ok_or(StoreError::Protocol)?;
        let handle = inner.next_transaction;
        inner.next_transaction = inner.next_transaction.wrapping_add(1).max(1);
        inner
            .transactions
            .insert(handle, TxEntry { tx_id, generation });
        Ok(Transaction(handle))
    }

    /// `StoreTransactionEnd`: commits (or aborts) and forgets the transaction.
    ///
    /// # Errors
    /// `STATUS_RETRY` ([`StoreError::is_retry`]) if xenstored saw a conflict or a suspend
    /// expired the transaction; in both cases the handle is gone. Any other error leaves the
    /// transaction open, as upstream does.
    pub fn transaction_end(&self, tx: Transaction, commit: bool) -> Result<(), StoreError> {
        let mut inner = self.inner.lock();
        let generation = self.generation();
        let Some(entry) = inner.transactions.get(&tx.0) else {
            return Err(StoreError::InvalidHandle);
        };
        if entry.generation != generation {
            inner.transactions.remove(&tx.0);
            return Err(StoreError::Daemon(XsErrno::Eagain));
        }
        let tx_id = entry.tx_id;
        let verdict: &[u8] = if commit { b"T\0" } else { b"F\0" };
        let result = inner
            .request(wire::XS_TRANSACTION_END, tx_id, &[verdict], generation)
            .map(drop);
        match result {
            Ok(()) => {
                inner.transactions.remove(&tx.0);
                Ok(())
            }
            Err(error) if error.is_retry() => {
                inner.transactions.remove(&tx.0);
                Err(error)
            }
            Err(error) => Err(error),
        }
    }

    /// `StoreWatchAdd`: `event` is signalled whenever `prefix/node` or anything below it
    /// changes, and once right after registration. `caller` goes into the token (upstream: the
    /// caller's return address).
    ///
    /// # Errors
    /// As [`Store::read`]; [`StoreError::InsufficientResources`] if all watch ids are taken.
    pub fn watch_add(
        &self,
        prefix: Option<&[u8]>,
        node: &[u8],
        event: Arc<dyn WatchEvent>,
        caller: usize,
    ) -> Result<Watch, StoreError> {
        let key = path::compose(prefix, node)?;
        let mut inner = self.inner.lock();
        let generation = self.generation();
        let id = inner
            .watches
            .allocate_id()
            .ok_or(StoreError::InsufficientResources)?;
        let token = watch::token(caller, id);
        let path_len = key.len().saturating_sub(1);
        inner.watches.insert(
            id,
            WatchEntry {
                path: key.get(..path_len).unwrap_or_default().to_vec(),
                token,
                caller,
                event,
                generation,
            },
        );
        let result = inner.request(wire::XS_WATCH, 0, &[&key, &token, b"\0"], generation);
        match result {
            Ok(_) => Ok(Watch(id)),
            Err(error) => {
                inner.watches.remove(id);
                Err(error)
            }
        }
    }

    /// `StoreWatchRemove`: unregisters the watch (with xenstored too, unless a suspend expired
    /// it).
    ///
    /// # Errors
    /// [`StoreError::InvalidHandle`] for an unknown watch; the daemon's error if `XS_UNWATCH`
    /// fails, in which case the watch stays registered, as upstream.
    pub fn watch_remove(&self, watch: Watch) -> Result<(), StoreError> {
        let mut inner = self.inner.lock();
        let generation = self.generation();
        let Some(entry) = inner.watches.get(watch.0) else {
            return Err(StoreError::InvalidHandle);
        };
        if entry.generation == generation {
            let mut key = Vec::new();
            key.try_reserve_exact(entry.path.len().saturating_add(1))
                .map_err(|_| StoreError::InsufficientResources)?;
            key.extend_from_slice(&entry.path);
            key.push(0);
            let token = entry.token;
            inner.request(wire::XS_UNWATCH, 0, &[&key, &token, b"\0"], generation)?;
        }
        inner.watches.remove(watch.0);
        Ok(())
    }

    /// `StorePoll`: processes the transport now (replies, watch events), for callers spinning
    /// without interrupts.
    pub fn poll(&self) {
        let mut inner = self.inner.lock();
        inner.poll(self.generation());
    }

    /// `StoreFree`: gives a Read or Directory buffer back.
    pub fn free(&self, buffer: StoreBuffer) {
        drop(buffer);
        // Saturating: a buffer from another store must not wrap the count.
        let _ = self
            .buffers
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(1))
            });
    }

    /// Reads several keys with all requests in flight at once (not in upstream, which
    /// serialises every request): one round trip's latency for the whole batch.
    #[must_use]
    pub fn read_many(&self, keys: &[&[u8]]) -> Vec<Result<StoreBuffer, StoreError>> {
        let mut inner = self.inner.lock();
        let generation = self.generation();
        let Inner { conn, watches, .. } = &mut *inner;
        let ids: Vec<Result<u32, StoreError>> = keys
            .iter()
            .map(|key| {
                let key = path::compose(None, key)?;
                conn.submit(wire::XS_READ, 0, &[&key])
            })
            .collect();
        ids.into_iter()
            .map(|id| {
                let value = conn.wait_for(id?, &mut |event| watches.on_event(event, generation))?;
                let buffer = StoreBuffer::new(value)?;
                self.buffers.fetch_add(1, Ordering::Relaxed);
                Ok(buffer)
            })
            .collect()
    }

    /// Sends any request and returns the reply payload: the toolstack operations the STORE
    /// interface does not offer (`XS_INTRODUCE`, `XS_GET_PERMS`, `XS_MKDIR`...), for tests and
    /// tools.
    ///
    /// # Errors
    /// As [`Store::read`].
    pub fn raw_request(
        &self,
        tx: Option<Transaction>,
        ty: u32,
        pieces: &[&[u8]],
    ) -> Result<Vec<u8>, StoreError> {
        self.call(tx, ty, pieces)
    }

    /// Suspend, early stage (HIGH_LEVEL, every other processor captured): every watch and
    /// transaction expires. Lock-free and allocation-free: it advances the suspend generation,
    /// which makes every existing watch and transaction old.
    pub fn suspend_early(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Resume, late stage: `reconnect` re-attaches the transport (e.g. re-opens the event
    /// channel), in-flight state is reset, and every watch is signalled once.
    pub fn resume(&self, reconnect: impl FnOnce(&mut T)) {
        let mut inner = self.inner.lock();
        reconnect(inner.conn.transport());
        inner.conn.reset();
        inner.watches.signal_all();
    }

    /// What has not been given back.
    #[must_use]
    pub fn outstanding(&self) -> Outstanding {
        let inner = self.inner.lock();
        Outstanding {
            watches: inner.watches.len(),
            transactions: inner.transactions.len(),
            buffers: self.buffers.load(Ordering::Relaxed),
        }
    }

    /// Counters, for debug dumps.
    #[must_use]
    pub fn stats(&self) -> (Stats, u64) {
        let inner = self.inner.lock();
        (inner.conn.stats(), inner.watches.spurious_events)
    }

    /// One watchdog period: samples the ring and, if it looks stuck, kicks the peer and polls
    /// under the store lock. Returns whether it was stuck, so the owner triggers the STORE
    /// debug callback as upstream does. Transports without a ring are never stuck.
    pub fn watchdog_check(&self, dog: &mut watchdog::Watchdog) -> bool {
        let mut inner = self.inner.lock();
        let Some(indices) = inner.conn.transport().ring_indices() else {
            return false;
        };
        if !dog.sample(indices) {
            return false;
        }
        inner.conn.transport().notify();
        inner.poll(self.generation());
        true
    }

    /// Upstream's `xenbus|STORE` debug dump: the ring indices (read from the shared page
    /// without the lock, unless crashing, when the ring is not touched), the outstanding
    /// buffers and the suspend generation; and, when the caller runs at DISPATCH_LEVEL or
    /// below and is not crashing, the counters, every watch with its owner and state and every
    /// transaction (they are under the lock, which cannot be taken above DISPATCH_LEVEL).
    ///
    /// # Errors
    /// What `out` returns.
    pub fn debug_dump(&self, out: &mut dyn fmt::Write, crashing: bool) -> fmt::Result {
        let buffers = self.buffers.load(Ordering::Relaxed);
        let generation = self.generation();
        if !crashing && let Some(i) = self.ring.as_ref().map(ring::read_indices) {
            writeln!(
                out,
                "RING: req_cons={:08x} req_prod={:08x} rsp_cons={:08x} rsp_prod={:08x}",
                i.req_cons, i.req_prod, i.rsp_cons, i.rsp_prod
            )?;
        }
        writeln!(
            out,
            "BUFFERS: {buffers} outstanding, SUSPENDS: {generation}"
        )?;
        if crashing || self.platform.current_irql() > IrqlLevel::DISPATCH {
            return Ok(());
        }
        let inner = self.inner.lock();
        let stats = inner.conn.stats();
        writeln!(
            out,
            "POLLS={} WATCH_EVENTS={} SPURIOUS={} IGNORED={} TIMEOUTS={}",
            stats.polls,
            stats.watch_events,
            stats.spurious_replies,
            stats.ignored_replies,
            stats.timeouts
        )?;
        for (id, path, caller, active) in inner.watches.iter(generation) {
            writeln!(
                out,
                "WATCH {id:04x}: {} (caller {caller:#x}) {}",
                path.escape_ascii(),
                if active { "ACTIVE" } else { "EXPIRED" }
            )?;
        }
        for (handle, entry) in &inner.transactions {
            writeln!(
                out,
                "TRANSACTION {handle}: id={} {}",
                entry.tx_id,
                if entry.generation == generation {
                    "ACTIVE"
                } else {
                    "EXPIRED"
                }
            )?;
        }
        Ok(())
    }

    /// Runs `f` on the transport under the store lock (debug dumps, watchdog).
    pub fn with_transport<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let mut inner = self.inner.lock();
        f(inner.conn.transport())
    }
}

/// A fixed buffer `fmt::Write` fills, failing instead of growing.
struct FixedText {
    buf: [u8; PRINTF_MAX],
    len: usize,
}

impl FixedText {
    fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

impl fmt::Write for FixedText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
