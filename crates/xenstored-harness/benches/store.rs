// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Store request latency and throughput against Debian's real C xenstored, ours next to
//! Debian's C client library libxenstore on the same daemon instance and the same transport
//! (the UNIX socket, as dom0). Also: our pipelined reads (several requests in flight, which the
//! C package never does) and our guest ring path (no libxenstore counterpart).
//!
//! Run: `cargo bench -p xenstored-harness --bench store`. Results: `docs/benchmarks.md`.

use std::ffi::{CString, c_char, c_uint, c_ulong, c_void};
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use xenstored_harness::{Daemon, Impl, unavailable};

#[cfg(has_libxenstore)]
mod libxenstore {
    use super::{c_char, c_uint, c_ulong, c_void};

    /// `struct xs_handle` (opaque).
    #[repr(C)]
    pub struct XsHandle {
        _private: [u8; 0],
    }

    /// `XS_OPEN_SOCKETONLY`.
    pub const XS_OPEN_SOCKETONLY: c_ulong = 1 << 1;

    // Linked by build.rs (`-lxenstore`).
    unsafe extern "C" {
        pub fn xs_open(flags: c_ulong) -> *mut XsHandle;
        pub fn xs_close(h: *mut XsHandle);
        pub fn xs_read(
            h: *mut XsHandle,
            t: u32,
            path: *const c_char,
            len: *mut c_uint,
        ) -> *mut c_void;
        pub fn xs_write(
            h: *mut XsHandle,
            t: u32,
            path: *const c_char,
            data: *const c_void,
            len: c_uint,
        ) -> bool;
    }
}

#[allow(clippy::significant_drop_tightening)] // The daemon and clients live for the whole group.
fn bench_socket(c: &mut Criterion) {
    if let Some(why) = unavailable(Impl::C) {
        eprintln!("*** SKIPPED store benchmark: {why} ***");
        return;
    }
    let daemon = Daemon::start(Impl::C).expect("start xenstored");
    let ours = daemon.dom0().expect("connect");
    ours.write(None, None, b"/bench/key", b"a-typical-value-0123456789")
        .expect("seed");

    let mut group = c.benchmark_group("socket-c-xenstored");
    group.throughput(Throughput::Elements(1));
    group.bench_function("read/ours", |b| {
        b.iter(|| {
            let v = ours.read(None, None, b"/bench/key").expect("read");
            black_box(v.as_bytes());
            ours.free(v);
        });
    });
    group.bench_function("write/ours", |b| {
        b.iter(|| {
            ours.write(None, None, b"/bench/w", b"value")
                .expect("write");
        });
    });

    #[cfg(has_libxenstore)]
    {
        use libxenstore::{XS_OPEN_SOCKETONLY, xs_close, xs_open, xs_read, xs_write};
        // SAFETY: single-threaded set-up; libxenstore reads XENSTORED_PATH in xs_open.
        unsafe { std::env::set_var("XENSTORED_PATH", daemon.socket()) };
        // SAFETY: plain C call; the result is checked.
        let h = unsafe { xs_open(XS_OPEN_SOCKETONLY) };
        assert!(!h.is_null(), "xs_open failed");
        // SAFETY: as above.
        unsafe { std::env::remove_var("XENSTORED_PATH") };
        let key = CString::new("/bench/key").expect("cstr");
        let wkey = CString::new("/bench/w").expect("cstr");
        group.bench_function("read/libxenstore", |b| {
            b.iter(|| {
                let mut len: c_uint = 0;
                // SAFETY: valid handle and NUL-terminated path; the result is freed below.
                let v = unsafe { xs_read(h, 0, key.as_ptr(), &raw mut len) };
                assert!(!v.is_null(), "xs_read failed");
                black_box(len);
                // SAFETY: xs_read's result is malloc'ed and ours to free.
                unsafe { libc::free(v) };
            });
        });
        group.bench_function("write/libxenstore", |b| {
            b.iter(|| {
                // SAFETY: valid handle, path and 5-byte value.
                let ok = unsafe { xs_write(h, 0, wkey.as_ptr(), b"value".as_ptr().cast(), 5) };
                assert!(ok, "xs_write failed");
            });
        });
        // SAFETY: the handle is not used after this.
        unsafe { xs_close(h) };
    }
    #[cfg(not(has_libxenstore))]
    eprintln!(
        "*** libxenstore comparison SKIPPED: install libxen-dev (xenstore.h, libxenstore.so) ***"
    );

    for depth in [4usize, 16, 64] {
        let keys: Vec<&[u8]> = vec![b"/bench/key"; depth];
        group.throughput(Throughput::Elements(depth as u64));
        group.bench_function(format!("read/ours-pipelined-{depth}"), |b| {
            b.iter(|| {
                for r in ours.read_many(&keys) {
                    let v = r.expect("read");
                    black_box(v.as_bytes());
                    ours.free(v);
                }
            });
        });
    }
    group.finish();
    drop(ours);
    drop(daemon);
}

#[allow(clippy::significant_drop_tightening)] // As above.
fn bench_ring(c: &mut Criterion) {
    if unavailable(Impl::C).is_some() {
        return;
    }
    let daemon = Daemon::start(Impl::C).expect("start xenstored");
    let dom0 = daemon.dom0().expect("connect");
    let guest = daemon.guest(&dom0, 5).expect("guest");
    guest
        .write(None, None, b"key", b"a-typical-value-0123456789")
        .expect("seed");
    let mut group = c.benchmark_group("guest-ring-c-xenstored");
    group.throughput(Throughput::Elements(1));
    group.bench_function("read/ours", |b| {
        b.iter(|| {
            let v = guest.read(None, None, b"key").expect("read");
            black_box(v.as_bytes());
            guest.free(v);
        });
    });
    let keys: Vec<&[u8]> = vec![b"key"; 16];
    group.throughput(Throughput::Elements(16));
    group.bench_function("read/ours-pipelined-16", |b| {
        b.iter(|| {
            for r in guest.read_many(&keys) {
                let v = r.expect("read");
                guest.free(v);
            }
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(40);
    targets = bench_socket, bench_ring
}
criterion_main!(benches);
