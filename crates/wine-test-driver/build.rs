// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Build script: for a Windows target, link `wine-test.sys` as a kernel driver with an empty
//! export table ([`driver_link`]). Host builds get nothing.

fn main() {
    driver_link::configure(&driver_link::Image {
        name: "wine-test.sys",
        exports: &[],
        private_exports: &[],
    });
}
