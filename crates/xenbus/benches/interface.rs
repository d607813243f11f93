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
include!("support/parallel.rs");
include!("../tests/support/child_gnttab.rs");

use child::ChildGnttab;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let child = ChildGnttab::new(2, 512);
    child.world.platform.disable_checks_for_benchmark();
    for threads in [1u32, 2] {
        let mut group = c.benchmark_group(format!("interface/{threads}_thread"));
        group.throughput(Throughput::Elements(u64::from(threads)));
        group.bench_function("gnttab/child_permit_revoke", |bencher| {
            bencher.iter_custom(|iters| {
                parallel(&child.world.platform, threads, iters, &|n| {
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
