// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Writes the hand-made seed corpus: `corpus/<target>/<seed>` for every target's `seeds()`,
//! after checking that each seed runs clean. Run from `fuzz/` when a target's input encoding
//! changes: `cargo run --example seeds` (the files are checked in).

use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for target in xenbus_fuzz::TARGETS {
        let dir = root.join(target.name);
        std::fs::create_dir_all(&dir).expect("corpus directory");
        for (name, bytes) in (target.seeds)() {
            (target.run)(&bytes);
            std::fs::write(dir.join(format!("seed-{name}")), &bytes).expect("seed file");
        }
        println!("{}: seeds written", target.name);
    }
}
