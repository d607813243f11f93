// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/io/console.h`.

use crate::table::{Table, layout, typedef};
use xen_headers::io::console::{
    self, XENCONS_IN_RING_SIZE, XENCONS_OUT_RING_SIZE, XenconsInterface, XenconsRingIdx,
};

/// Ring indices `MASK_XENCONS_IDX` is checked with, against both rings: the ends of each ring,
/// wrap-around and the top of the index range.
const MASK_SAMPLES: &[XenconsRingIdx] = &[
    0,
    1,
    1023,
    1024,
    1500,
    2047,
    2048,
    2049,
    0x8000_0801,
    u32::MAX,
];

pub fn items(t: &mut Table) {
    typedef!(t, "XENCONS_RING_IDX", XenconsRingIdx);
    layout!(t, "struct xencons_interface", XenconsInterface {
        in_ as "in",
        out,
        in_cons,
        in_prod,
        out_cons,
        out_prod,
    });

    // The Rust-only ring sizes are C's `sizeof(ring)`, the size MASK_XENCONS_IDX masks with.
    let rings = [("in", XENCONS_IN_RING_SIZE), ("out", XENCONS_OUT_RING_SIZE)];
    for (ring, size) in rings {
        let c_ring = format!("((struct xencons_interface *)0)->{ring}");
        t.int(format!("sizeof({c_ring})"), size as u64);
        for &idx in MASK_SAMPLES {
            t.int(
                format!("MASK_XENCONS_IDX((XENCONS_RING_IDX){idx}u, {c_ring})"),
                console::mask_xencons_idx(idx, size),
            );
        }
    }
}
