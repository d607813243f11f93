// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! What a child driver pays per call through the XENBUS interface tables, on the host
//! simulator.
//!
//! * `gnttab/child_permit_revoke`: `GnttabPermitForeignAccess` + `GnttabRevokeForeignAccess`
//!   through the v4 table (handle lookups, the entry table, then the subsystem's cache and the
//!   shared grant frame), on 1 and 2 threads (each on its own processor). Compare with
//!   `benches/gnttab.rs`'s `permit_revoke`, the same pair without the interface layer.
//!
//! The platform runs in benchmark mode: the IRQL changes without the checker's bookkeeping,
//! which would dominate the measurement (the tests run the same paths checked).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::missing_panics_doc,
    clippy::arithmetic_side_effects,
    missing_docs
)]

include!("../tests/support/sim_platform.rs");
include!("../tests/support/child_gnttab.rs");

use child::ChildGnttab;

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Runs `work(iters)` on `threads` threads (processors 0, 1, ...) started together; returns
/// the longest thread's time.
fn parallel(
    child: &ChildGnttab,
    threads: u32,
    iters: u64,
    work: &(dyn Fn(u64) + Sync),
) -> Duration {
    let barrier = Barrier::new(threads as usize);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|cpu| {
                let barrier = &barrier;
                let platform = child.world.platform.clone();
                s.spawn(move || {
                    platform.as_processor(cpu, || {
                        barrier.wait();
                        let start = Instant::now();
                        work(iters);
                        start.elapsed()
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .max()
            .unwrap_or_default()
    })
}

fn bench(c: &mut Criterion) {
    let child = ChildGnttab::new(2, 512);
    child.world.platform.disable_checks_for_benchmark();
    for threads in [1u32, 2] {
        let mut group = c.benchmark_group(format!("interface/{threads}_thread"));
        group.throughput(Throughput::Elements(u64::from(threads)));
        group.bench_function("gnttab/child_permit_revoke", |bencher| {
            bencher.iter_custom(|iters| {
                parallel(&child, threads, iters, &|n| {
                    for _ in 0..n {
                        let entry = child.permit(false);
                        child.revoke(black_box(entry));
                    }
                })
            });
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
