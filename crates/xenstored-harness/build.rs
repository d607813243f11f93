// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Builds the `LD_PRELOAD` shim (`shim/xsshim.c`) into `OUT_DIR/xsshim.so` with the C compiler
//! the `cc` crate finds, and tells the benchmark whether Debian's libxenstore can be linked.
//! Missing Xen headers or libraries are not a build failure: the daemon tests and the
//! comparison benchmark then report themselves skipped.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=shim/xsshim.c");
    println!("cargo::rustc-check-cfg=cfg(xsshim_built)");
    println!("cargo::rustc-check-cfg=cfg(has_libxenstore)");
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    let so = out.join("xsshim.so");
    if build_shim(&so) {
        println!("cargo::rustc-cfg=xsshim_built");
        println!("cargo::rustc-env=XSSHIM_SO={}", so.display());
    } else {
        println!(
            "cargo::warning=xsshim not built (need gcc and libxen-dev): real-xenstored tests will be skipped"
        );
    }
    let lib_dirs = ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"];
    if Path::new("/usr/include/xenstore.h").exists()
        && lib_dirs
            .iter()
            .any(|d| Path::new(d).join("libxenstore.so").exists())
    {
        println!("cargo::rustc-cfg=has_libxenstore");
        println!("cargo::rustc-link-lib=dylib=xenstore");
    }
}

fn build_shim(so: &Path) -> bool {
    if !Path::new("/usr/include/xenctrl.h").exists() {
        return false;
    }
    let compiler = cc::Build::new().cargo_metadata(false).get_compiler();
    let mut cmd: Command = compiler.to_command();
    cmd.args([
        "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror", "-o",
    ])
    .arg(so)
    .arg("shim/xsshim.c")
    .arg("-ldl");
    cmd.status().is_ok_and(|s| s.success())
}
