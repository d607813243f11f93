// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! EVTCHN delivery cost (filled in with the simulator-driven scenarios).

use criterion::{Criterion, criterion_group, criterion_main};
use xenbus::evtchn::count_reached;

fn bench(c: &mut Criterion) {
    c.bench_function("evtchn/count_reached", |b| {
        b.iter(|| count_reached(std::hint::black_box(5), std::hint::black_box(4)));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
