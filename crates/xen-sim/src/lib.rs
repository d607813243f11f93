// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Host simulator of the Xen platform, for tests of the drivers' portable code.
//!
//! Layering: a std crate beside `crates/xen`; the portable code under test reaches it only
//! through `xen::hypercall::Hypervisor`, implemented here by [`SimVcpu`], so the same typed
//! wrappers that run on real Xen (and in the PVH test kernel) run against the simulator. Guest
//! pointers are host pointers: argument structures are read where the guest's registers point,
//! and guest frames ([`GuestMemory`]) are page-aligned host pages.
//!
//! # What is modelled (Xen 4.17 semantics, `common/event_channel.c`, `event_2l.c`,
//! `event_fifo.c`, `grant_table.c`, `arch/x86/hvm/hvm.c`)
//! - Memory: `decrease_reservation`/`populate_physmap` (stops at the first frame it cannot
//!   change, returning the extents done; populating a backed frame replaces its page, which
//!   stays the domain's, as `p2m_add_page` does), current/maximum reservation,
//!   `add_to_physmap` of `shared_info` and grant frames (RAM at the target frame is released,
//!   a frame mapped elsewhere moves), `remove_from_physmap` (`ENOENT` for an unbacked frame).
//! - Event channels: port table grown in buckets of 64 with port 0 reserved and the lowest free
//!   port first; unbound, interdomain (the binder's new port is set pending), VIRQ (per-vCPU
//!   and global types), IPI; send, close (the peer becomes unbound), status, `bind_vcpu`,
//!   unmask, reset (closes everything, back to 2-level), and the 2-level and FIFO ABIs bit
//!   for bit: pending/mask/selector/
//!   `evtchn_upcall_pending`; FIFO control blocks, event-array pages, PENDING/MASKED/LINKED/
//!   BUSY and 17-bit links, per-vCPU per-priority tails, `fifo_lastq`, `ready` bits, and the
//!   pending state of ports whose array page is missing.
//! - Grant tables: v1 entries the guest writes in Xen-owned frames; `query_size`,
//!   `setup_table` (all-ones for unmapped frames, `GNTST_general_error` beyond the maximum),
//!   versions, `map_grant_ref`/`unmap_grant_ref` of backend grants and of the guest's own
//!   (the frame moves to the new place, as on Xen 4.17), `copy`; the backend
//!   ([`Peer`]) maps guest grants with Xen's pin rules (`GTF_reading`/`GTF_writing` set in the
//!   live entry while mapped, so a guest revoke's compare-exchange fails).
//! - HVM parameters (Xen's guest read/write rules), per-vCPU upcall vectors (`EINVAL` below
//!   0x10), `HVM_PARAM_CALLBACK_IRQ` as `hvm_set_callback_via` decodes it (GSI, PCI `INTx`,
//!   vector; on PVH only a vector takes effect, so it cannot be switched off), `vcpu_info`
//!   registration (copied, then everything marked pending), the vCPU life cycle
//!   (`VCPUOP_initialise`, `up`, `down`, `is_up`), vCPU timers firing `VIRQ_TIMER`, yield/block/poll, shutdown
//!   and suspend, the two watchdog slots, `xen_version`, `console_io`.
//! - Argument structures are copied in and out byte for byte and only the fields Xen writes
//!   are written, only when Xen copies them back (on success, or always where Xen's `out:`
//!   path does); the replay of transcripts recorded on Xen 4.17 (`crates/xen-diff`,
//!   docs/sim-vs-xen.md) checks this.
//! - The toolstack: store and console rings and channels made at creation as `xl` does (guest
//!   port allocated unbound for dom0, then bound by the daemon; store first), grant entries 0
//!   and 1 seeded, a console backend that drains the out ring and kicks like xenconsoled.
//! - Suspend ([`SHUTDOWN_suspend`](xen_headers::sched::SHUTDOWN_SUSPEND)) resumes in a new
//!   domain (same domid, see below) unless [`Sim::cancel_next_suspend`] was called.
//! - Fault injection ([`Fault`]) and call counters on every hypercall; [`Sim::audit`].
//!
//! # What is not
//! PV guests, PIRQs, v2 grant entries (the version number is kept, entries are read as v1),
//! grant transfer, watchdog expiry, the domid change of a real save/restore (the guest keeps
//! its id), Xen's preemption of long operations, and the hardware side of interrupts (the
//! `evtchn_upcall_mask` of HVM guests is ignored, as Xen ignores it there). Timers use the host's
//! monotonic clock as Xen system time and fire when the guest next enters the simulator
//! (any hypercall, or while it waits in `SCHEDOP_block`/`SCHEDOP_poll`) or a test calls
//! [`Sim::tick`].
//!
//! # The store
//! The store ring and its channel exist as `xl` makes them, but the simulator does not serve
//! the protocol. A test attaches a server: Debian's xenstored or oxenstored through
//! `crates/xenstored-harness`, by backing the ring frame with the daemon's ring file
//! ([`Sim::attach_store_page`]) and forwarding the guest's notifications
//! ([`Sim::set_store_kick_hook`]) — `tests/real_xenstored.rs` does exactly that — or its own
//! server over [`Sim::store_ring`], [`Sim::take_store_kicks`] and [`Sim::notify_store`].
//!
//! # Decisions
//! - The guest is a domU (id 1) of an HVM toolstack by default; `SimConfig::pvh` selects the
//!   PVH rule that a callback vector stays active once set, `SimConfig::domid` 0 the hardware
//!   domain's right to `console_io`, `SimConfig::toolstack` false a domain without store and
//!   console.
//! - The semantics are Xen 4.17's (`stable-4.17`), not later releases': e.g. any domain may
//!   bind a global VIRQ, and a misaligned `vcpu_info` offset is `ENXIO`.
//! - After the k-th suspend the toolstack binds the store and console channels at ports shifted
//!   by `k * SimConfig::resume_port_shift`, so drivers cannot assume the numbers survive.
//! - `SCHEDOP_block` and a `SCHEDOP_poll` without deadline return after
//!   `SimConfig::wait_limit` at the latest (a spurious wake-up, which Xen allows), so a test
//!   never hangs.
//! - A fault ([`Fault`]) fails a call before it executes; with [`Fault::grant_status`] a grant
//!   call instead succeeds with every entry failed, as Xen reports per-entry errors.
//!
//! # Delivery rule
//! Xen asserts an upcall when a vCPU's `evtchn_upcall_pending` goes from 0 to 1 and the vCPU
//! has a route (its own upcall vector, the callback vector, or — vCPU 0 only — a GSI/INTx
//! callback); setting a vector or registering `vcpu_info` asserts it too, as Xen does. The
//! simulator records such assertions while it holds its lock and runs the vCPU's handler
//! ([`Sim::set_upcall_handler`]) **after** the hypercall or peer action that caused them has
//! released the lock, on the calling thread, in the order they were raised. A handler is never
//! re-entered for the same vCPU: an assertion that arrives while it runs (from a hypercall it
//! makes, or another thread) makes it run once more when it returns; a handler that panics
//! leaves the vCPU free for the next upcall. A vCPU without a handler just keeps its pending
//! bits, as a guest with interrupts off would. The store kick hook runs after the upcalls of
//! the same call.

// The simulator runs on 64-bit hosts only: the casts between port, frame and index types it
// makes are bounded by Xen's limits (ports < 2^17, frames and counts far below 2^32).
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    reason = "64-bit host tool; values bounded by Xen's limits"
)]

mod audit;
mod channels;
mod config;
mod evtchn;
mod fault;
mod gnttab;
mod hypercall;
mod memory;
mod peer;
mod port;
mod shm;
mod state;
mod toolstack;
mod virq;

pub use audit::Audit;
pub use config::SimConfig;
pub use evtchn::PortState;
pub use fault::Fault;
pub use memory::{GuestMemory, PAGE_SIZE};
pub use peer::{AccessError, BackendPage, Mapping, Peer};
pub use port::SimPages;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use xen::hypercall::Hypervisor;
use xen_headers::errno;
use xen_headers::hvm::params::{HVM_PARAM_CONSOLE_EVTCHN, HVM_PARAM_STORE_EVTCHN};
use xen_headers::sched::{SCHEDOP_BLOCK, SCHEDOP_POLL, SchedPoll};
use xen_headers::xen::{DomId, HYPERVISOR_SCHED_OP};

/// An upcall handler: what the guest's interrupt service routine for a vCPU does.
pub type Handler = Arc<dyn Fn() + Send + Sync>;

#[derive(Default)]
struct Running {
    running: bool,
    again: bool,
}

/// Clears a vCPU's running flag if its handler panics (a failing assertion in a test), so
/// later upcalls are not folded into a run that never comes.
struct RunningReset<'a>(&'a Inner, usize);

impl Drop for RunningReset<'_> {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(r) = self
                .0
                .running
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get_mut(self.1)
        {
            *r = Running::default();
        }
    }
}

struct Inner {
    state: Mutex<state::State>,
    wake: Condvar,
    handlers: Mutex<Vec<Option<Handler>>>,
    store_hook: Mutex<Option<Handler>>,
    running: Mutex<Vec<Running>>,
    upcalls: Vec<AtomicU64>,
}

/// The simulated platform: one guest domain and one backend domain. Clones share it.
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim").finish_non_exhaustive()
    }
}

impl Sim {
    /// A guest as `xl create` leaves it: store and console rings and channels set up, grant
    /// frame 0 seeded, `shared_info` not yet mapped.
    ///
    /// # Panics
    ///
    /// When `cfg.vcpus` is 0 or the two domain ids are equal.
    #[must_use]
    pub fn new(cfg: SimConfig) -> Self {
        assert!(cfg.vcpus > 0, "a domain has at least one vCPU");
        assert_ne!(
            cfg.domid, cfg.backend_domid,
            "guest and backend are two domains"
        );
        let vcpus = cfg.vcpus as usize;
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(state::State::new(cfg)),
                wake: Condvar::new(),
                handlers: Mutex::new(vec![None; vcpus]),
                store_hook: Mutex::new(None),
                running: Mutex::new((0..vcpus).map(|_| Running::default()).collect()),
                upcalls: (0..vcpus).map(|_| AtomicU64::new(0)).collect(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, state::State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on the state, then (lock released) the upcalls it raised.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut state::State) -> R) -> R {
        let (result, upcalls, kicks) = {
            let mut s = self.lock();
            let result = f(&mut s);
            let kicks = std::mem::take(&mut s.store_hook_kicks);
            (result, std::mem::take(&mut s.upcalls), kicks)
        };
        self.inner.wake.notify_all();
        self.run_upcalls(upcalls, kicks);
        result
    }

    fn run_upcalls(&self, vcpus: Vec<u32>, store_kicks: u64) {
        for vcpu in vcpus {
            self.run_upcall(vcpu);
        }
        if store_kicks > 0 {
            let hook = self
                .inner
                .store_hook
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            if let Some(hook) = hook {
                for _ in 0..store_kicks {
                    hook();
                }
            }
        }
    }

    fn run_upcall(&self, vcpu: u32) {
        let index = vcpu as usize;
        let handlers = self
            .inner
            .handlers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let handler = handlers.get(index).cloned().flatten();
        drop(handlers);
        let Some(handler) = handler else {
            return;
        };
        let mut running = self
            .inner
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let busy = running.get_mut(index).is_none_or(|r| {
            let busy = r.running;
            r.again |= busy;
            r.running = true;
            busy
        });
        drop(running);
        if busy {
            return;
        }
        let _reset = RunningReset(&self.inner, index);
        loop {
            if let Some(count) = self.inner.upcalls.get(index) {
                count.fetch_add(1, Ordering::SeqCst);
            }
            handler();
            let mut running = self
                .inner
                .running
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let r = &mut running[index];
            let again = std::mem::take(&mut r.again);
            r.running = again;
            drop(running);
            if again {
                continue;
            }
            break;
        }
    }

    /// The hypercall interface of vCPU `vcpu`.
    ///
    /// # Panics
    ///
    /// When the guest has no such vCPU.
    #[must_use]
    pub fn vcpu(&self, vcpu: u32) -> SimVcpu {
        assert!((vcpu as usize) < self.inner.upcalls.len(), "no vCPU {vcpu}");
        SimVcpu {
            sim: self.clone(),
            vcpu,
        }
    }

    /// The guest's vCPU count.
    #[must_use]
    pub fn vcpus(&self) -> u32 {
        self.inner.upcalls.len() as u32
    }

    /// Installs the guest's upcall handler for `vcpu` (its interrupt service routine).
    pub fn set_upcall_handler(&self, vcpu: u32, handler: Handler) {
        let mut handlers = self
            .inner
            .handlers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(slot) = handlers.get_mut(vcpu as usize) {
            *slot = Some(handler);
        }
    }

    /// Handler runs on `vcpu` so far.
    #[must_use]
    pub fn upcalls(&self, vcpu: u32) -> u64 {
        self.inner
            .upcalls
            .get(vcpu as usize)
            .map_or(0, |c| c.load(Ordering::SeqCst))
    }

    /// The backend domain (dom0).
    #[must_use]
    pub fn dom0(&self) -> Peer {
        Peer::new(self.clone())
    }

    /// The guest's domain id.
    #[must_use]
    pub fn domid(&self) -> DomId {
        self.lock().cfg.domid
    }

    // ---- guest memory ----

    /// `count` new contiguous RAM frames: the first frame and its host address.
    #[must_use]
    pub fn allocate(&self, count: usize) -> (u64, *mut u8) {
        self.lock().mem.allocate(count)
    }

    /// `count` frame numbers with nothing behind them, for Xen to map pages into.
    #[must_use]
    pub fn hole(&self, count: u64) -> u64 {
        self.lock().mem.hole(count)
    }

    /// The host address of whatever backs `gfn`.
    #[must_use]
    pub fn host_ptr(&self, gfn: u64) -> Option<*mut u8> {
        self.lock().mem.host_ptr(gfn)
    }

    /// Whether `gfn` is backed by the guest's RAM.
    #[must_use]
    pub fn is_populated(&self, gfn: u64) -> bool {
        self.lock().mem.is_populated(gfn)
    }

    /// The guest's current `shared_info` page (Xen's copy, mapped or not).
    #[must_use]
    pub fn shared_info_ptr(&self) -> *mut u8 {
        self.lock().surface().shared_info.ptr()
    }

    // ---- toolstack ----

    /// Everything the console backend consumed from the out ring.
    #[must_use]
    pub fn console_output(&self) -> Vec<u8> {
        self.lock().toolstack.console_out.clone()
    }

    /// Puts `bytes` in the console's in ring (as much as fits) and kicks the guest.
    #[must_use]
    pub fn console_input(&self, bytes: &[u8]) -> usize {
        self.with(|s| s.console_input(bytes))
    }

    /// The store ring: its frame and host address (0 and null without a toolstack).
    #[must_use]
    pub fn store_ring(&self) -> (u64, *mut u8) {
        let s = self.lock();
        let gfn = s.toolstack.store_gfn;
        (gfn, s.mem.host_ptr(gfn).unwrap_or(std::ptr::null_mut()))
    }

    /// The console ring: its frame and host address (0 and null without a toolstack).
    #[must_use]
    pub fn console_ring(&self) -> (u64, *mut u8) {
        let s = self.lock();
        let gfn = s.toolstack.console_gfn;
        (gfn, s.mem.host_ptr(gfn).unwrap_or(std::ptr::null_mut()))
    }

    /// The guest's store and console ports as the HVM parameters name them.
    #[must_use]
    pub fn toolstack_ports(&self) -> (u32, u32) {
        let s = self.lock();
        (
            u32::try_from(s.params[HVM_PARAM_STORE_EVTCHN as usize]).unwrap_or(0),
            u32::try_from(s.params[HVM_PARAM_CONSOLE_EVTCHN as usize]).unwrap_or(0),
        )
    }

    /// Backs the store ring's frame with `page` from now on, e.g. the ring file a real
    /// xenstored maps (`crates/xenstored-harness`), so the guest's store client talks to that
    /// daemon through `HVM_PARAM_STORE_PFN`. The page's contents are used as they are.
    ///
    /// # Safety
    ///
    /// `page` must be 4096 bytes of page-aligned memory that stays mapped for as long as the
    /// simulator (or any clone) lives, shared only with a store server.
    pub unsafe fn attach_store_page(&self, page: std::ptr::NonNull<u8>) {
        let mut s = self.lock();
        let gfn = s.toolstack.store_gfn;
        s.mem.replace_ram(gfn, memory::Page::external(page));
    }

    /// Calls `hook` (outside the lock, after any upcalls of the same call) for every
    /// notification the guest sends on the store channel: the bridge to a store server's
    /// event source.
    pub fn set_store_kick_hook(&self, hook: Handler) {
        *self
            .inner
            .store_hook
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(hook);
    }

    /// Notifications the guest sent on the store channel since the last call.
    #[must_use]
    pub fn take_store_kicks(&self) -> u64 {
        std::mem::take(&mut self.lock().toolstack.store_kicks)
    }

    /// The store server kicks the guest (xenstored's notify).
    pub fn notify_store(&self) {
        self.with(|s| {
            let (backend, port) = (s.cfg.backend_domid, s.toolstack.store_backend);
            let _ = s.send(backend, port);
        });
    }

    /// Everything written with `CONSOLEIO_write`.
    #[must_use]
    pub fn xen_console(&self) -> Vec<u8> {
        self.lock().xen_console.clone()
    }

    // ---- suspend, shutdown ----

    /// The next `SHUTDOWN_suspend` returns 1 (cancelled) and changes nothing.
    pub fn cancel_next_suspend(&self) {
        self.lock().cancel_next_suspend = true;
    }

    /// Completed suspends.
    #[must_use]
    pub fn suspends(&self) -> u64 {
        self.lock().suspends
    }

    /// The reason of the last `SCHEDOP_shutdown` other than suspend.
    #[must_use]
    pub fn shutdown_reason(&self) -> Option<u32> {
        self.lock().shutdown
    }

    /// The last `SCHEDOP_shutdown_code`.
    #[must_use]
    pub fn shutdown_code(&self) -> Option<u32> {
        self.lock().shutdown_code
    }

    // ---- faults, counters, audit ----

    /// Arms a fault.
    pub fn inject(&self, fault: Fault) {
        self.lock().faults.inject(fault);
    }

    /// Faults that fired so far.
    #[must_use]
    pub fn faults_fired(&self) -> u64 {
        self.lock().faults.fired()
    }

    /// Calls of `op` with sub-command `cmd` (`XENMEM_*` commands without the start extent).
    #[must_use]
    pub fn calls(&self, op: u32, cmd: u32) -> u64 {
        self.lock().calls.get(&(op, cmd)).copied().unwrap_or(0)
    }

    /// What the guest holds now.
    #[must_use]
    pub fn audit(&self) -> Audit {
        let s = self.lock();
        let backend = s.cfg.backend_domid;
        let (store_b, console_b) = (s.toolstack.store_backend, s.toolstack.console_backend);
        let named: BTreeSet<u64> = [
            s.params[HVM_PARAM_STORE_EVTCHN as usize],
            s.params[HVM_PARAM_CONSOLE_EVTCHN as usize],
        ]
        .into_iter()
        .collect();
        let mut audit = Audit::default();
        for (port, p) in s.guest.ports.iter().enumerate() {
            let toolstack = match p.state {
                PortState::Free | PortState::Reserved => continue,
                PortState::Interdomain { dom, port: rport } => {
                    dom == backend && (rport == store_b || rport == console_b)
                }
                PortState::Unbound { remote } => {
                    remote == backend && named.contains(&(port as u64))
                }
                _ => false,
            };
            if toolstack {
                audit.toolstack_ports.push(port as u32);
            } else {
                audit.open_ports.push(port as u32);
            }
        }
        audit.live_grants = s.gnttab.live_grants();
        audit.dom0_mappings = s.backend_maptrack.len();
        audit.guest_grant_maps = s.guest_maptrack.len();
        audit.unpopulated_gfns = s.mem.unpopulated_count();
        if let Some(fifo) = &s.guest.fifo {
            audit.fifo_pages = fifo.array.len();
            audit.fifo_control_blocks = fifo.control.iter().flatten().count();
        }
        audit.watchdogs = s.watchdogs.iter().filter(|w| **w).count();
        audit
    }

    /// Fires the vCPU timers that are due, as Xen would without the guest entering it (the
    /// simulator otherwise fires them at the guest's next hypercall), and runs the upcalls.
    pub fn tick(&self) {
        self.with(state::State::fire_timers);
    }

    /// Xen system time (ns since the simulator was created).
    #[must_use]
    pub fn now_ns(&self) -> u64 {
        self.lock().now()
    }

    /// Executes one hypercall of `vcpu`.
    fn hypercall(&self, t: hypercall::Trusted, vcpu: u32, op: u32, args: [usize; 5]) -> isize {
        let cmd = hypercall::command(op, &args);
        let mut s = self.lock();
        *s.calls.entry((op, cmd)).or_default() += 1;
        if let Some(fault) = s.faults.check(op, cmd) {
            let entries = fault
                .grant_status
                .filter(|_| op == xen_headers::xen::HYPERVISOR_GRANT_TABLE_OP)
                .and_then(|status| hypercall::fail_grant_entries(t, &args, status));
            return entries.unwrap_or_else(|| hypercall::neg(fault.errno));
        }
        s.fire_timers();
        let (result, mut s) = if op == HYPERVISOR_SCHED_OP && cmd == SCHEDOP_BLOCK {
            (
                0,
                self.wait_until(s, None, |st| st.surface().upcall_pending(vcpu)),
            )
        } else if op == HYPERVISOR_SCHED_OP && cmd == SCHEDOP_POLL {
            match hypercall::read::<SchedPoll>(t, args[1]) {
                Some(poll) => self.poll(t, s, &poll),
                None => (hypercall::neg(errno::EFAULT), s),
            }
        } else {
            (s.execute(t, vcpu, op, &args), s)
        };
        let upcalls = std::mem::take(&mut s.upcalls);
        let kicks = std::mem::take(&mut s.store_hook_kicks);
        drop(s);
        self.inner.wake.notify_all();
        self.run_upcalls(upcalls, kicks);
        result
    }

    /// Waits (lock released) until `done`, the earliest timer, or the wait limit.
    fn wait_until<'a>(
        &'a self,
        mut s: MutexGuard<'a, state::State>,
        deadline: Option<u64>,
        mut done: impl FnMut(&state::State) -> bool,
    ) -> MutexGuard<'a, state::State> {
        let start = Instant::now();
        let limit = s.cfg.wait_limit;
        loop {
            s.fire_timers();
            if done(&s) {
                return s;
            }
            let now = s.now();
            if deadline.is_some_and(|d| d <= now) {
                return s;
            }
            let elapsed = start.elapsed();
            if deadline.is_none() && elapsed >= limit {
                return s;
            }
            let mut wait = limit.saturating_sub(elapsed);
            for d in [deadline, s.next_deadline()].into_iter().flatten() {
                wait = wait.min(Duration::from_nanos(d.saturating_sub(now)));
            }
            // Upcalls raised by timers run once the call returns; wake other waiters now.
            self.inner.wake.notify_all();
            s = self
                .inner
                .wake
                .wait_timeout(s, wait.max(Duration::from_micros(50)))
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }

    fn poll<'a>(
        &'a self,
        t: hypercall::Trusted,
        s: MutexGuard<'a, state::State>,
        poll: &SchedPoll,
    ) -> (isize, MutexGuard<'a, state::State>) {
        if poll.nr_ports > 128 {
            return (hypercall::neg(errno::EINVAL), s);
        }
        let mut ports = Vec::new();
        for i in 0..poll.nr_ports as usize {
            let port = hypercall::read::<u32>(t, poll.ports.p.wrapping_add(i).addr());
            let Some(port) = port else {
                return (hypercall::neg(errno::EFAULT), s);
            };
            if port >= s.guest.max_evtchns() {
                return (hypercall::neg(errno::EINVAL), s);
            }
            ports.push(port);
        }
        let deadline = (poll.timeout != 0).then_some(poll.timeout);
        let s = self.wait_until(s, deadline, |st| {
            ports.iter().any(|&p| st.guest.is_pending(p))
        });
        (0, s)
    }
}

/// One vCPU of the guest: issue hypercalls through it.
#[derive(Clone, Debug)]
pub struct SimVcpu {
    sim: Sim,
    vcpu: u32,
}

impl SimVcpu {
    /// The vCPU's index.
    #[must_use]
    pub const fn index(&self) -> u32 {
        self.vcpu
    }

    /// The simulator.
    #[must_use]
    pub const fn sim(&self) -> &Sim {
        &self.sim
    }
}

impl Hypervisor for SimVcpu {
    unsafe fn hypercall(&self, op: u32, args: &[usize]) -> isize {
        let mut regs = [0; 5];
        let Some(slot) = regs.get_mut(..args.len()) else {
            return hypercall::neg(errno::EINVAL);
        };
        slot.copy_from_slice(args);
        // SAFETY: our caller vouches for the arguments of this call, which the token lives for.
        let t = unsafe { hypercall::Trusted::new() };
        self.sim.hypercall(t, self.vcpu, op, regs)
    }
}
