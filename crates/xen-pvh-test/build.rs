// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Build script: when the crate graph is built freestanding (`--cfg xen_freestanding`, set by
//! scripts/xen-qemu-test), link the binary as a bare ELF with our linker script. Ordinary
//! workspace builds get a host stub and no special flags.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(xen_freestanding)");
    println!("cargo::rerun-if-changed=linker.ld");
    if env::var_os("CARGO_CFG_XEN_FREESTANDING").is_none() {
        return;
    }
    let dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let script = dir.join("linker.ld");
    for arg in [
        "-nostartfiles",
        "-nostdlib",
        "-static",
        "-Wl,--build-id=none",
        "-Wl,-z,noexecstack",
    ] {
        println!("cargo::rustc-link-arg-bins={arg}");
    }
    println!("cargo::rustc-link-arg-bins=-Wl,-T,{}", script.display());
}
