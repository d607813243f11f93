// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Real-peer harness for the store: runs Debian's unmodified xenstored (C,
//! `/usr/lib/xen-4.17/bin/xenstored`) and oxenstored (OCaml, `/usr/lib/xen-4.17/bin/oxenstored`)
//! on plain Linux and connects our client to them.
//!
//! Layering: a std test crate beside `crates/xenbus`; the portable store never depends on it.
//! The daemons run under our `LD_PRELOAD` shim (`shim/xsshim.c`, built by `build.rs`), which fakes
//! the few Xen library calls they make and exposes each guest's ring page and the event channel
//! as files in a private directory (see docs/xenstored-suite.md). A test then talks
//! to a daemon
//! - as dom0 over the UNIX socket ([`SocketTransport`]), as a real toolstack does, and
//! - as an unprivileged guest through a real shared ring page ([`Daemon::guest`]), kicking the
//!   daemon through the event-channel FIFO and polling the ring for replies.
//!
//! [`suite`] is the one scenario list run unchanged against both daemons.

pub mod relay;
pub mod suite;
#[cfg(target_arch = "x86_64")]
pub mod variadic;

use platform_port::std_impl::StdPlatform;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use xenbus::store::ring::{EventChannel, RingTransport};
use xenbus::store::{Store, StoreConfig, StoreError, Transport, Wait, WaitLimits, wire};

/// Which daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    /// The C xenstored.
    C,
    /// The OCaml oxenstored.
    Ocaml,
}

impl Impl {
    /// Both daemons, C first.
    pub const ALL: [Self; 2] = [Self::C, Self::Ocaml];

    /// The name the summary line uses.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::C => "xenstored-c",
            Self::Ocaml => "xenstored-ocaml",
        }
    }

    /// The Debian binary.
    #[must_use]
    pub const fn binary(self) -> &'static str {
        match self {
            Self::C => "/usr/lib/xen-4.17/bin/xenstored",
            Self::Ocaml => "/usr/lib/xen-4.17/bin/oxenstored",
        }
    }

    /// Parses `c` / `ocaml`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "c" | "C" | "xenstored-c" => Some(Self::C),
            "ocaml" | "oxenstored" | "xenstored-ocaml" => Some(Self::Ocaml),
            _ => None,
        }
    }
}

/// The shim library `build.rs` produced, if it could.
#[must_use]
pub fn shim() -> Option<&'static Path> {
    #[cfg(xsshim_built)]
    {
        Some(Path::new(env!("XSSHIM_SO")))
    }
    #[cfg(not(xsshim_built))]
    {
        None
    }
}

/// Why `imp` cannot run here, or `None` if it can.
#[must_use]
pub fn unavailable(imp: Impl) -> Option<String> {
    if !Path::new(imp.binary()).exists() {
        return Some(format!(
            "{} is missing (apt-get install --no-install-recommends xen-utils-4.17)",
            imp.binary()
        ));
    }
    if shim().is_none() {
        return Some(
            "the xsshim `LD_PRELOAD` shim was not built (needs gcc and libxen-dev)".into(),
        );
    }
    if imp == Impl::Ocaml {
        if !Path::new("/usr/bin/unshare").exists() {
            return Some("oxenstored needs unshare(1) for its private /run/xenstored".into());
        }
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        if !root && !Path::new("/run/xenstored").is_dir() {
            return Some("oxenstored needs root or an existing /run/xenstored mount point".into());
        }
    }
    None
}

static NEXT_DIR: AtomicU32 = AtomicU32::new(0);

/// A running daemon in its own directory; stopped (and its directory removed) on drop.
pub struct Daemon {
    imp: Impl,
    dir: PathBuf,
    child: Child,
}

impl Daemon {
    /// Starts `imp` in a fresh private directory and waits until it answers a request.
    ///
    /// # Errors
    /// A description of what failed (missing binary, early exit, no answer within 5 s).
    pub fn start(imp: Impl) -> Result<Self, String> {
        if let Some(why) = unavailable(imp) {
            return Err(why);
        }
        let shim = shim().ok_or("no shim")?;
        let dir = std::env::temp_dir().join(format!(
            "xsd-{}-{}-{}",
            imp.name(),
            std::process::id(),
            NEXT_DIR.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let log = File::create(dir.join("daemon.log")).map_err(|e| e.to_string())?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = match imp {
            Impl::C => {
                let mut cmd = Command::new(imp.binary());
                cmd.arg("-N").env("XENSTORED_RUNDIR", &dir);
                cmd
            }
            Impl::Ocaml => {
                let conf = dir.join("ox.conf");
                fs::write(
                    &conf,
                    format!(
                        "pid-file = {d}/xenstored.pid\nxenstored-log-file = {d}/oxenstored.log\n\
                         access-log-file = {d}/access.log\nxenstored-kva = /proc/xen/xsd_kva\n\
                         xenstored-port = /proc/xen/xsd_port\n",
                        d = dir.display()
                    ),
                )
                .map_err(|e| e.to_string())?;
                // oxenstored's socket path is compiled in: give it a private /run/xenstored.
                let _ = fs::create_dir_all("/run/xenstored");
                let mut cmd = Command::new("/usr/bin/unshare");
                // SAFETY: geteuid has no preconditions.
                if unsafe { libc::geteuid() } != 0 {
                    cmd.arg("-r");
                }
                cmd.args(["-m", "--propagation", "private", "sh", "-c"])
                    .arg(format!(
                        "mount --bind '{}' /run/xenstored && exec {} --no-fork --config-file '{}'",
                        dir.display(),
                        imp.binary(),
                        conf.display()
                    ));
                cmd
            }
        };
        // The C daemon binds XENSTORED_PATH if set; a client's setting must not leak into it.
        let die_with_parent = || {
            // SAFETY: prctl(PR_SET_PDEATHSIG) only sets a flag on the calling process.
            let r = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
            if r == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        };
        // SAFETY: the hook runs in the forked child before exec and only calls prctl(2), which
        // is async-signal-safe. It makes the daemon die with the test process (even on an
        // abort), so a crashed or killed test never leaves a daemon behind.
        unsafe { cmd.pre_exec(die_with_parent) };
        cmd.env_remove("XENSTORED_PATH")
            .env("XSSHIM_DIR", &dir)
            .env("LD_PRELOAD", shim)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        let child = cmd
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", imp.binary()))?;
        let mut daemon = Self { imp, dir, child };
        daemon.wait_ready()?;
        Ok(daemon)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let socket = self.socket();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "{} exited during start-up ({status}); log:\n{}",
                    self.imp.name(),
                    self.log()
                ));
            }
            if let Ok(mut s) = UnixStream::connect(&socket) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
                let req = wire::encode_request(wire::XS_READ, 0, 0, &[b"/\0"]).unwrap_or_default();
                let mut head = [0u8; 16];
                if s.write_all(&req).is_ok() && s.read_exact(&mut head).is_ok() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} did not answer within 5 s; log:\n{}",
                    self.imp.name(),
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Which daemon this is.
    #[must_use]
    pub const fn imp(&self) -> Impl {
        self.imp
    }

    /// The private directory (socket, FIFO, ring files, logs).
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The UNIX socket.
    #[must_use]
    pub fn socket(&self) -> PathBuf {
        self.dir.join("socket")
    }

    /// The daemon's log output so far.
    #[must_use]
    pub fn log(&self) -> String {
        let mut text = fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default();
        if let Ok(more) = fs::read_to_string(self.dir.join("oxenstored.log")) {
            text.push_str(&more);
        }
        text
    }

    /// A new dom0 (privileged) connection over the socket.
    ///
    /// # Errors
    /// If the socket cannot be opened.
    pub fn dom0(&self) -> Result<Store<StdPlatform, SocketTransport>, String> {
        self.dom0_with(StoreConfig {
            request_id_seed: 0x100,
            watch_id_seed: 0x200,
            limits: harness_limits(),
        })
    }

    /// A new dom0 connection with the given configuration.
    ///
    /// # Errors
    /// If the socket cannot be opened.
    pub fn dom0_with(
        &self,
        config: StoreConfig,
    ) -> Result<Store<StdPlatform, SocketTransport>, String> {
        let transport = SocketTransport::connect(&self.socket(), Duration::from_millis(500))
            .map_err(|e| format!("connect {}: {e}", self.socket().display()))?;
        Ok(Store::new(StdPlatform::new(1), transport, config))
    }

    /// Introduces guest `domid` through `dom0` (as a toolstack: `XS_INTRODUCE`, then its home
    /// `/local/domain/<domid>` owned by it) and returns a store speaking as that guest through
    /// its ring page.
    ///
    /// # Errors
    /// A description of the step that failed.
    pub fn guest(
        &self,
        dom0: &Store<StdPlatform, SocketTransport>,
        domid: u16,
    ) -> Result<Store<StdPlatform, RingTransport<FifoEvtchn>>, String> {
        introduce_guest(&self.dir, dom0, domid)
    }

    /// Serves a guest ring that lives elsewhere (e.g. the host simulator's guest memory) from
    /// this daemon: see [`relay::Relay`].
    ///
    /// # Errors
    /// A description of the step that failed.
    pub fn relay(
        &self,
        domid: u16,
        guest: relay::GuestRing,
        hooks: relay::RelayHooks,
    ) -> Result<relay::Relay, String> {
        relay::Relay::start(self.dir.clone(), &self.socket(), domid, guest, hooks)
    }
}

/// Introduces guest `domid` through `dom0` to the daemon running in `dir` (see
/// [`Daemon::guest`]).
fn introduce_guest(
    dir: &Path,
    dom0: &Store<StdPlatform, SocketTransport>,
    domid: u16,
) -> Result<Store<StdPlatform, RingTransport<FifoEvtchn>>, String> {
    let id = format!("{domid}\0");
    dom0.raw_request(
        None,
        wire::XS_INTRODUCE,
        &[id.as_bytes(), b"4096\0", b"1\0"],
    )
    .map_err(|e| format!("introduce {domid}: {e}"))?;
    let home = format!("/local/domain/{domid}");
    dom0.write(None, None, home.as_bytes(), b"")
        .map_err(|e| format!("mkdir {home}: {e}"))?;
    let perms = [xenbus::store::XenbusStorePermission {
        domain: domid,
        mask: xenbus::store::XENBUS_STORE_PERM_NONE,
    }];
    dom0.permissions_set(None, None, home.as_bytes(), &perms)
        .map_err(|e| format!("chown {home}: {e}"))?;
    let port_text = fs::read_to_string(dir.join(format!("dom{domid}.port")))
        .map_err(|e| format!("dom{domid}.port: {e}"))?;
    let port: u32 = port_text
        .trim()
        .parse()
        .map_err(|e| format!("dom{domid}.port {port_text:?}: {e}"))?;
    let evtchn = FifoEvtchn::open(dir, domid, port)?;
    let page = evtchn.page();
    // SAFETY: `page` is a MAP_SHARED mapping of the 4 KiB ring file, page-aligned, owned by
    // `evtchn` and so alive as long as the transport; only the daemon (the peer) and this
    // transport touch it.
    let transport = unsafe { RingTransport::new(page, evtchn) };
    Ok(Store::new(
        StdPlatform::new(1),
        transport,
        StoreConfig {
            request_id_seed: domid.wrapping_mul(1000),
            watch_id_seed: 0x300,
            limits: harness_limits(),
        },
    ))
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = i32::try_from(self.child.id()).unwrap_or(0);
        if pid > 0 {
            // SAFETY: kill(2) on our own child's pid, which is not reaped yet.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() > deadline => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        if std::env::var_os("XSD_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// How long harness requests wait: 1 s slices, 5 of them, and at most 20 million waits (the
/// ring's wait is one yield, so this bounds a request at tens of seconds even if the peer kept
/// "signalling").
#[must_use]
pub const fn harness_limits() -> WaitLimits {
    WaitLimits {
        max_timeouts: 5,
        max_waits: 20_000_000,
    }
}

/// The store transport over xenstored's UNIX socket (a privileged dom0 connection).
///
/// It keeps the syscalls per request low: a read that returned less than asked for (or
/// `EAGAIN`), or a write, marks the socket drained, and a drained socket is only read again
/// after [`Transport::wait`] (whose `poll(2)` sees pending bytes at once) or at the next poll.
pub struct SocketTransport {
    stream: UnixStream,
    slice: Duration,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    drained: bool,
}

impl SocketTransport {
    /// Connects; `slice` is how long one [`Transport::wait`] blocks at most.
    ///
    /// # Errors
    /// The connect or socket-option failure.
    pub fn connect(path: &Path, slice: Duration) -> std::io::Result<Self> {
        let stream = UnixStream::connect(path)?;
        stream.set_nonblocking(true)?;
        Ok(Self {
            stream,
            slice,
            buf: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            drained: false,
        })
    }

    /// Sets the wait slice.
    pub const fn set_slice(&mut self, slice: Duration) {
        self.slice = slice;
    }

    /// The socket, for tests that write raw bytes.
    #[must_use]
    pub const fn stream(&self) -> &UnixStream {
        &self.stream
    }
}

impl Transport for SocketTransport {
    fn send(&mut self, data: &[u8]) -> Result<usize, StoreError> {
        match self.stream.write(data) {
            Ok(n) => {
                // The answer cannot be there yet: let the next wait's poll(2) find it.
                self.drained = true;
                Ok(n)
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
                Ok(0)
            }
            Err(_) => Err(StoreError::Disconnected),
        }
    }

    fn recv(&mut self, out: &mut [u8]) -> Result<usize, StoreError> {
        if self.start == self.end {
            if self.drained {
                return Ok(0);
            }
            match self.stream.read(&mut self.buf) {
                Ok(0) => return Err(StoreError::Disconnected),
                Ok(n) => {
                    self.start = 0;
                    self.end = n;
                    // A stream read returns everything available up to the buffer size.
                    self.drained = n < self.buf.len();
                }
                Err(e)
                    if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted =>
                {
                    self.drained = true;
                    return Ok(0);
                }
                Err(_) => return Err(StoreError::Disconnected),
            }
        }
        let avail = self.buf.get(self.start..self.end).unwrap_or_default();
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.start += n;
        Ok(n)
    }

    fn notify(&mut self) {}

    fn wait(&mut self) -> Wait {
        if self.start != self.end {
            return Wait::Signalled;
        }
        let mut pfd = libc::pollfd {
            fd: self.stream.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = i32::try_from(self.slice.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd for an fd this transport owns.
        let r = unsafe { libc::poll(&raw mut pfd, 1, ms) };
        self.drained = false;
        if r > 0 {
            Wait::Signalled
        } else {
            Wait::TimedOut
        }
    }

    fn begin_poll(&mut self) {
        self.drained = false;
    }
}

/// A guest's event channel to the daemon under the shim.
///
/// A kick is the guest's port written to the daemon's event FIFO; the shim drops the daemon's
/// kicks back, so waiting is polling the
/// ring (yielding the CPU), with a 1 s slice after the last kick.
pub struct FifoEvtchn {
    fifo: File,
    port: u32,
    map: NonNull<u8>,
    since: Option<Instant>,
    kicks: u64,
}

// SAFETY: the mapping is owned by this value and only reached through the ring transport that
// owns it; moving both to another thread is fine.
unsafe impl Send for FifoEvtchn {}

impl FifoEvtchn {
    fn open(dir: &Path, domid: u16, port: u32) -> Result<Self, String> {
        let ring = dir.join(format!("dom{domid}.ring"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&ring)
            .map_err(|e| format!("{}: {e}", ring.display()))?;
        // SAFETY: mapping 4096 bytes of a file we hold open; the result is checked below.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(format!("mmap {}", ring.display()));
        }
        let map = NonNull::new(addr.cast::<u8>()).ok_or("mmap returned NULL")?;
        let fifo = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(dir.join("evtchn"))
            .map_err(|e| format!("evtchn FIFO: {e}"))?;
        Ok(Self {
            fifo,
            port,
            map,
            since: None,
            kicks: 0,
        })
    }

    const fn page(&self) -> NonNull<u8> {
        self.map
    }

    /// Kicks sent so far.
    #[must_use]
    pub const fn kicks(&self) -> u64 {
        self.kicks
    }
}

impl Drop for FifoEvtchn {
    fn drop(&mut self) {
        // SAFETY: unmapping the 4096-byte mapping made in `open`; the transport that used it
        // is being dropped with us.
        unsafe { libc::munmap(self.map.as_ptr().cast(), 4096) };
    }
}

impl EventChannel for FifoEvtchn {
    fn notify(&mut self) {
        self.kicks += 1;
        self.since = None;
        let _ = self.fifo.write_all(&self.port.to_ne_bytes());
    }

    fn wait(&mut self) -> Wait {
        let start = *self.since.get_or_insert_with(Instant::now);
        std::thread::yield_now();
        if start.elapsed() > Duration::from_secs(1) {
            self.since = None;
            Wait::TimedOut
        } else {
            Wait::Signalled
        }
    }
}
