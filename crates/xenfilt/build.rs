// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Build script.
//!
//! * For a Windows target: link xenfilt.sys as a kernel driver with an empty export table
//!   ([`driver_link`]); or, with the `wdk` feature on a Windows host, let wdk-build configure
//!   the link.
//! * `xen_freestanding`: set by the PVH test kernel's scripts for its crate graph.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(xen_freestanding)");
    driver_link::configure(&driver_link::Image {
        name: "xenfilt.sys",
        exports: &[],
        private_exports: &[],
    });
    #[cfg(feature = "wdk")]
    if let Err(e) = wdk_build::configure_wdk_binary_build() {
        println!("cargo::error=wdk-build: {e:?}");
    }
}
