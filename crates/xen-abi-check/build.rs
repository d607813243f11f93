// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Records the target and host triples so the checker can configure the `cc` crate at run time,
//! outside a build script.

fn main() {
    for var in ["TARGET", "HOST"] {
        let value = std::env::var(var).unwrap_or_default();
        println!("cargo:rustc-env=XEN_ABI_CHECK_{var}={value}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
