// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Build script: on Windows, wdk-build configures linking against the WDK for a WDM driver; on
//! other hosts the crate is a portable library and there is nothing to configure.
//! `xen_freestanding`: set by scripts/xen-full-test for the PVH test kernel's crate graph, which
//! links the store client into a guest of the real Xen.

#[cfg(windows)]
fn main() -> Result<(), wdk_build::ConfigError> {
    println!("cargo::rustc-check-cfg=cfg(xen_freestanding)");
    wdk_build::configure_wdk_binary_build()
}

#[cfg(not(windows))]
fn main() {
    println!("cargo::rustc-check-cfg=cfg(xen_freestanding)");
}
