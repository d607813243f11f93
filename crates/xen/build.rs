// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Build script.
//!
//! * For a Windows target: link xen.sys as an export driver whose export table names `xen.sys`
//!   and lists `DllInitialize`/`DllUnload` (private) and every `XEN_API` function of
//!   `include/xen.h`, as upstream's `xen.def` does ([`driver_link`]); or, with the `wdk` feature
//!   on a Windows host, let wdk-build configure the link.
//! * `xen_freestanding`: set by scripts/xen-qemu-test for the PVH test kernel's crate graph.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(xen_freestanding)");
    println!("cargo::rerun-if-changed=include/xen.h");
    let header = std::fs::read_to_string("include/xen.h").unwrap_or_default();
    let exports = driver_link::xen_api_names(&header);
    let exports: Vec<&str> = exports.iter().map(String::as_str).collect();
    driver_link::configure(&driver_link::Image {
        name: "xen.sys",
        exports: &exports,
        private_exports: &["DllInitialize", "DllUnload"],
    });
    #[cfg(feature = "wdk")]
    if let Err(e) = wdk_build::configure_wdk_binary_build() {
        println!("cargo::error=wdk-build: {e:?}");
    }
}
