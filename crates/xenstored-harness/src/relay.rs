// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Serving a guest's xenstore ring from the real daemon when the ring lives elsewhere.
//!
//! The host simulator (`crates/xen-sim`) keeps the guest's store ring in its own guest memory;
//! the daemon under the shim reads a ring file. A [`Relay`] thread stands between them: towards
//! the guest it is the server side of the ring (it consumes requests and produces responses in
//! the guest's page, then kicks the guest through [`RelayHooks::kick`]); towards the daemon it
//! is an introduced guest writing to the daemon's ring file. Bytes pass through unchanged, so
//! every request and reply — watch events included — is the real daemon's.
//!
//! A suspend moves the guest to a new domain: when [`RelayHooks::generation`] changes, the
//! relay releases the domain (`XS_RELEASE`) and introduces it again, as a toolstack on the new
//! host would. The daemon then forgets the domain's watches and transactions (and, since
//! XSA-322, removes the nodes the old domain owned), which is exactly what a resumed guest must
//! cope with. A real toolstack introduces the domain before it runs again; callers model that
//! with [`Relay::await_generation`] right after the resume.
//!
//! [`Relay::hold_responses`] keeps the daemon's replies back (requests still pass), so a test
//! can keep a guest request in flight for as long as it needs.

use platform_port::std_impl::StdPlatform;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
use std::thread::JoinHandle;
use std::time::Duration;

use xenbus::store::wire::{XENSTORE_RING_SIZE, XS_RELEASE};
use xenbus::store::{StoreConfig, Transport};

use super::{SocketTransport, harness_limits, introduce_guest};

const REQ: usize = 0;
const RSP: usize = 1024;
const REQ_CONS: usize = 2048;
const REQ_PROD: usize = 2052;
const RSP_CONS: usize = 2056;
const RSP_PROD: usize = 2060;

/// The guest's ring page (a 4096-byte, 4096-aligned `xenstore_domain_interface`).
#[derive(Clone, Copy, Debug)]
pub struct GuestRing(NonNull<u8>);

// SAFETY: the page is plain shared memory; the relay only touches it with volatile accesses and
// fences, like the other side does.
unsafe impl Send for GuestRing {}

impl GuestRing {
    /// Wraps the guest's ring page.
    ///
    /// # Safety
    /// `page` must point to 4096 bytes, 4096-aligned, that stay valid while a relay uses them,
    /// and that only the guest's store client and the relay access.
    #[must_use]
    pub const unsafe fn new(page: NonNull<u8>) -> Self {
        Self(page)
    }

    // The page is 4096-aligned and every index field offset is a multiple of 4.
    #[allow(clippy::cast_ptr_alignment)]
    fn load(self, offset: usize) -> u32 {
        let ptr = self.0.as_ptr().wrapping_add(offset).cast::<u32>();
        // SAFETY: the index fields are 4-aligned inside the page `new` vouched for.
        unsafe { ptr.read_volatile() }
    }

    #[allow(clippy::cast_ptr_alignment)]
    fn store(self, offset: usize, value: u32) {
        let ptr = self.0.as_ptr().wrapping_add(offset).cast::<u32>();
        // SAFETY: as in `load`.
        unsafe { ptr.write_volatile(value) }
    }

    fn byte(self, base: usize, index: u32) -> *mut u8 {
        let pos = usize::try_from(index).unwrap_or(0) % XENSTORE_RING_SIZE;
        self.0.as_ptr().wrapping_add(base + pos)
    }
}

/// How the relay reaches the guest's side.
pub struct RelayHooks {
    /// Sends the guest an event on its store channel (xenstored's notify).
    pub kick: Arc<dyn Fn() + Send + Sync>,
    /// The guest domain's generation: it changes when the guest resumed in a new domain.
    pub generation: Arc<dyn Fn() -> u64 + Send + Sync>,
}

/// Counters of a relay.
#[derive(Debug, Default)]
pub struct RelayStats {
    /// Bytes passed from the guest to the daemon.
    pub requests: AtomicU64,
    /// Bytes passed from the daemon to the guest.
    pub responses: AtomicU64,
    /// Times the domain was released and introduced again.
    pub reintroductions: AtomicU64,
    /// The guest generation the daemon side currently serves.
    pub generation: AtomicU64,
}

/// A running relay; stopped (and joined) on drop.
pub struct Relay {
    stop: Arc<AtomicBool>,
    hold: Arc<AtomicBool>,
    stats: Arc<RelayStats>,
    thread: Option<JoinHandle<Result<(), String>>>,
}

impl Relay {
    pub(crate) fn start(
        dir: PathBuf,
        socket: &Path,
        domid: u16,
        guest: GuestRing,
        hooks: RelayHooks,
    ) -> Result<Self, String> {
        let dom0 = xenbus::store::Store::new(
            StdPlatform::new(1),
            SocketTransport::connect(socket, Duration::from_millis(500))
                .map_err(|e| format!("connect {}: {e}", socket.display()))?,
            StoreConfig {
                request_id_seed: 0x700,
                watch_id_seed: 0x800,
                limits: harness_limits(),
            },
        );
        let mut daemon_side = introduce_guest(&dir, &dom0, domid)?;
        let stop = Arc::new(AtomicBool::new(false));
        let hold = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(RelayStats::default());
        let (stop2, hold2, stats2) = (Arc::clone(&stop), Arc::clone(&hold), Arc::clone(&stats));
        let thread = std::thread::Builder::new()
            .name("xenstored-relay".into())
            .spawn(move || {
                let mut generation = (hooks.generation)();
                stats2.generation.store(generation, Ordering::Release);
                let mut idle = 0u32;
                while !stop2.load(Ordering::Acquire) {
                    let now = (hooks.generation)();
                    if now != generation {
                        let id = format!("{domid}\0");
                        dom0.raw_request(None, XS_RELEASE, &[id.as_bytes()])
                            .map_err(|e| format!("release {domid}: {e}"))?;
                        daemon_side = introduce_guest(&dir, &dom0, domid)?;
                        generation = now;
                        stats2.reintroductions.fetch_add(1, Ordering::Relaxed);
                        stats2.generation.store(now, Ordering::Release);
                    }
                    let holding = hold2.load(Ordering::Acquire);
                    let moved = daemon_side.with_transport(|t| pump(guest, t, &stats2, holding))?;
                    if moved {
                        (hooks.kick)();
                        idle = 0;
                    } else {
                        idle = idle.saturating_add(1);
                        if idle > 64 {
                            std::thread::sleep(Duration::from_micros(50));
                        } else {
                            std::thread::yield_now();
                        }
                    }
                }
                Ok(())
            })
            .map_err(|e| format!("relay thread: {e}"))?;
        Ok(Self {
            stop,
            hold,
            stats,
            thread: Some(thread),
        })
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> &RelayStats {
        &self.stats
    }

    /// Holds the daemon's responses back while `hold` is true (they stay in the daemon's ring;
    /// the guest's requests still reach the daemon), then passes them on again.
    pub fn hold_responses(&self, hold: bool) {
        self.hold.store(hold, Ordering::Release);
    }

    /// Waits until the daemon serves guest generation `generation` (the domain was released
    /// and introduced again), as a toolstack finishes that before the resumed guest runs.
    /// Returns false after `timeout`.
    #[must_use]
    pub fn await_generation(&self, generation: u64, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        while self.stats.generation.load(Ordering::Acquire) < generation {
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::yield_now();
        }
        true
    }

    /// Stops the relay and reports how its thread ended.
    ///
    /// # Errors
    /// The thread's failure (a protocol error on the guest's ring, a daemon request failing).
    pub fn finish(mut self) -> Result<(), String> {
        self.join()
    }

    fn join(&mut self) -> Result<(), String> {
        self.stop.store(true, Ordering::Release);
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| "relay thread panicked".to_string())?,
            None => Ok(()),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.join();
    }
}

/// Moves what it can both ways (only requests while `hold_responses`); returns whether the
/// guest should be kicked.
fn pump(
    guest: GuestRing,
    daemon: &mut impl Transport,
    stats: &RelayStats,
    hold_responses: bool,
) -> Result<bool, String> {
    let mut kicked = false;
    // Guest requests to the daemon.
    fence(Ordering::SeqCst);
    let (cons, prod) = (guest.load(REQ_CONS), guest.load(REQ_PROD));
    let waiting = prod.wrapping_sub(cons) as usize;
    if waiting > XENSTORE_RING_SIZE {
        return Err(format!(
            "guest request indices {cons:#x}/{prod:#x} are impossible"
        ));
    }
    if waiting > 0 {
        let mut buf = [0u8; XENSTORE_RING_SIZE];
        for (i, slot) in buf.iter_mut().take(waiting).enumerate() {
            let index = cons.wrapping_add(u32::try_from(i).unwrap_or(0));
            // SAFETY: `byte` stays inside req[] of the page.
            *slot = unsafe { guest.byte(REQ, index).read_volatile() };
        }
        let sent = daemon
            .send(&buf[..waiting])
            .map_err(|e| format!("daemon ring: {e}"))?;
        if sent > 0 {
            fence(Ordering::SeqCst);
            guest.store(
                REQ_CONS,
                cons.wrapping_add(u32::try_from(sent).unwrap_or(0)),
            );
            daemon.notify();
            stats.requests.fetch_add(sent as u64, Ordering::Relaxed);
            // The guest may be waiting for room.
            kicked = true;
        }
    }
    if hold_responses {
        return Ok(kicked);
    }
    // Daemon responses to the guest.
    fence(Ordering::SeqCst);
    let (cons, prod) = (guest.load(RSP_CONS), guest.load(RSP_PROD));
    let used = prod.wrapping_sub(cons) as usize;
    let space = XENSTORE_RING_SIZE
        .checked_sub(used)
        .ok_or_else(|| format!("guest response indices {cons:#x}/{prod:#x} are impossible"))?;
    if space > 0 {
        let mut buf = [0u8; XENSTORE_RING_SIZE];
        let got = daemon
            .recv(&mut buf[..space])
            .map_err(|e| format!("daemon ring: {e}"))?;
        if got > 0 {
            for (i, &byte) in buf[..got].iter().enumerate() {
                let index = prod.wrapping_add(u32::try_from(i).unwrap_or(0));
                // SAFETY: `byte` stays inside rsp[] of the page.
                unsafe { guest.byte(RSP, index).write_volatile(byte) };
            }
            fence(Ordering::SeqCst);
            guest.store(RSP_PROD, prod.wrapping_add(u32::try_from(got).unwrap_or(0)));
            daemon.notify();
            stats.responses.fetch_add(got as u64, Ordering::Relaxed);
            kicked = true;
        }
    }
    Ok(kicked)
}
