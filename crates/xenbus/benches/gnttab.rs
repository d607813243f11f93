// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Grant-reference throughput through the entry cache, on the host simulator.
//!
//! * `get_put`: one entry object (and so one grant reference) taken from a gnttab cache and put
//!   back — the per-processor magazine path every Permit/Revoke pair goes through.
//! * `get_put_batch64`: 64 gets then 64 puts — beyond the magazine's 6 slots, so most objects
//!   go through the slabs under the client's lock and the slab lock.
//! * `permit_revoke`: the whole Permit + Revoke pair (cache plus the atomic entry updates in the
//!   shared table frame).
//!
//! The platform runs in benchmark mode (IRQL changes without the checker's bookkeeping; the
//! tests run the same paths checked).
//!
//! Each runs on 1 and on 2 threads (each thread on its own processor); throughput is counted
//! in references per second across all threads.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::missing_panics_doc,
    clippy::arithmetic_side_effects,
    missing_docs
)]

include!("../tests/support/sim_platform.rs");
include!("support/parallel.rs");

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use platform_port::Memory;
use xenbus::cache::CacheContext;
use xenbus::gnttab::{Gnttab, GnttabCache};

struct Bench {
    w: SimWorld,
    _caches: Arc<CacheContext<StdPlatform>>,
    gnttab: Gnttab<StdPlatform, Direct<SimVcpu>>,
    cache: Arc<GnttabCache<StdPlatform>>,
    pfn: u64,
}

fn setup() -> Bench {
    let w = sim_world(SimConfig {
        vcpus: 2,
        ..SimConfig::default()
    });
    // Measure the grant paths, not the IRQL checker (the tests run them checked).
    w.platform.disable_checks_for_benchmark();
    let caches = Arc::new(CacheContext::with_monitor_period(&w.platform, None).unwrap());
    let gnttab = Gnttab::new(w.platform.clone(), Arc::clone(&w.xen), Arc::clone(&caches)).unwrap();
    gnttab.acquire().unwrap();
    let cache = gnttab
        .create_cache("bench", 512, 0, Arc::new(|| {}), Arc::new(|| {}))
        .unwrap();
    let pfn = w.platform.alloc_pages(1).unwrap().pfn;
    Bench {
        w,
        _caches: caches,
        gnttab,
        cache,
        pfn,
    }
}

fn bench(c: &mut Criterion) {
    let b = setup();
    let cache = b.cache.cache();

    for threads in [1u32, 2] {
        let mut group = c.benchmark_group(format!("gnttab/{threads}_thread"));
        group.throughput(Throughput::Elements(u64::from(threads)));
        group.bench_function("get_put", |bencher| {
            bencher.iter_custom(|iters| {
                parallel(&b.w.platform, threads, iters, &|n| {
                    for _ in 0..n {
                        let object = cache.get(false).unwrap();
                        // SAFETY: from this cache, returned once.
                        unsafe { cache.put(black_box(object), false) };
                    }
                })
            });
        });
        group.throughput(Throughput::Elements(64 * u64::from(threads)));
        group.bench_function("get_put_batch64", |bencher| {
            bencher.iter_custom(|iters| {
                parallel(&b.w.platform, threads, iters, &|n| {
                    let mut held = Vec::with_capacity(64);
                    for _ in 0..n {
                        held.extend((0..64).map(|_| cache.get(false).unwrap()));
                        while let Some(object) = held.pop() {
                            // SAFETY: from this cache, returned once.
                            unsafe { cache.put(object, false) };
                        }
                    }
                })
            });
        });
        group.throughput(Throughput::Elements(u64::from(threads)));
        group.bench_function("permit_revoke", |bencher| {
            bencher.iter_custom(|iters| {
                parallel(&b.w.platform, threads, iters, &|n| {
                    for _ in 0..n {
                        let entry = b
                            .gnttab
                            .permit_foreign_access(&b.cache, false, 0, b.pfn, false)
                            .unwrap();
                        b.gnttab
                            .revoke_foreign_access(&b.cache, false, black_box(entry))
                            .map_err(|(e, _)| e)
                            .unwrap();
                    }
                })
            });
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
