// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Every checked-in corpus file (and every seed) runs clean through its target, without
//! libFuzzer: `cargo test` in `fuzz/` replays the corpus on any toolchain, so a crash that a
//! campaign minimised into `corpus/<target>/` stays a regression test here too.

#[test]
fn corpus_replays_clean() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut files = 0;
    for target in xenbus_fuzz::TARGETS {
        for (_, bytes) in (target.seeds)() {
            (target.run)(&bytes);
        }
        let Ok(dir) = std::fs::read_dir(root.join(target.name)) else {
            panic!("no corpus for {}", target.name);
        };
        for entry in dir {
            let path = entry.expect("corpus entry").path();
            let bytes = std::fs::read(&path).expect("corpus file");
            (target.run)(&bytes);
            files += 1;
        }
    }
    assert!(files >= xenbus_fuzz::TARGETS.len());
}

/// Replays one corpus file through its target.
fn replay(target: &str, file: &str) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let bytes = std::fs::read(root.join(target).join(file)).expect("finding input");
    let Some(t) = xenbus_fuzz::TARGETS.iter().find(|t| t.name == target) else {
        panic!("no target {target}");
    };
    (t.run)(&bytes);
}

/// A peer rewound `rsp_cons` and the guest read two events again: legitimate replays the
/// store cannot tell from new events; the target's signal bound holds for honest peers only.
#[test]
fn store_ring_4_signals_for_2_events() {
    replay("store_ring", "finding-4-signals-for-2-events");
}
