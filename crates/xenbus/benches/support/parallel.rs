// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

// Runs one piece of work on several simulated processors at once (included with `include!` by
// the benchmarks that measure 1 and 2 threads).

/// Runs `work(iters)` on `threads` threads (processors 0, 1, ... of `platform`) started
/// together; returns the longest thread's time.
fn parallel(
    platform: &StdPlatform,
    threads: u32,
    iters: u64,
    work: &(dyn Fn(u64) + Sync),
) -> std::time::Duration {
    let barrier = std::sync::Barrier::new(threads as usize);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|cpu| {
                let barrier = &barrier;
                let platform = platform.clone();
                s.spawn(move || {
                    platform.as_processor(cpu, || {
                        barrier.wait();
                        let start = std::time::Instant::now();
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
