// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Build script: on Windows, wdk-build configures linking against the WDK for a WDM driver; on
//! other hosts the crate is a portable library and there is nothing to configure.

#[cfg(windows)]
fn main() -> Result<(), wdk_build::ConfigError> {
    declare_cfgs();
    wdk_build::configure_wdk_binary_build()
}

#[cfg(not(windows))]
fn main() {
    declare_cfgs();
}

/// `xen_freestanding`: set by scripts/xen-qemu-test for the PVH test kernel's crate graph.
fn declare_cfgs() {
    println!("cargo::rustc-check-cfg=cfg(xen_freestanding)");
}
