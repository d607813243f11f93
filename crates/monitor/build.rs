// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Build script: for a Windows target, gives `xenbus_monitor.exe` the version resource
//! upstream's `xenbus_monitor.rc` gives it (an application, `VFT_APP`; `ProductName` `XENBUS`,
//! `FileDescription` `XENBUS_MONITOR`, `InternalName`/`OriginalFilename` `XENBUS_MONITOR.EXE`; the
//! package version, vendor and copyright from the same source as the driver images, see
//! `crates/driver-link`). The `.res` file is written with `win-resource`; for the GNU target
//! mingw-w64's `windres` (`WINDRES` overrides the name) turns it into the COFF object the GNU
//! linker takes, while `lld-link` (MSVC target) takes the `.res` file itself.

use std::path::PathBuf;
use std::process::Command;

/// `VFT_APP`.
const VFT_APP: u32 = 1;
/// `VFT2_UNKNOWN`.
const VFT2_UNKNOWN: u32 = 0;

fn main() {
    for var in ["XENBUS_BUILD_NUMBER", "VENDOR_NAME", "COPYRIGHT", "WINDRES"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let env = |name: &str| std::env::var(name).ok();
    if env("CARGO_CFG_TARGET_OS").as_deref() != Some("windows") {
        return;
    }
    let build = env("XENBUS_BUILD_NUMBER");
    let version = match driver_link::package_version(
        &env("CARGO_PKG_VERSION_MAJOR").unwrap_or_default(),
        &env("CARGO_PKG_VERSION_MINOR").unwrap_or_default(),
        &env("CARGO_PKG_VERSION_PATCH").unwrap_or_default(),
        build.as_deref().filter(|b| !b.is_empty()),
    ) {
        Ok(v) => v,
        Err(e) => {
            println!("cargo::error=xenbus_monitor.exe version: {e}");
            return;
        }
    };
    let vendor = env("VENDOR_NAME").unwrap_or_else(|| driver_link::DEFAULT_VENDOR_NAME.into());
    let copyright = env("COPYRIGHT").unwrap_or_else(|| driver_link::DEFAULT_COPYRIGHT.into());
    let debug = env("PROFILE").is_some_and(|p| p == "debug");
    let mut info =
        driver_link::version_info("xenbus_monitor.exe", version, &vendor, &copyright, debug);
    info.fixed.file_type = VFT_APP;
    info.fixed.file_subtype = VFT2_UNKNOWN;
    for (key, value) in &mut info.strings {
        if key == "ProductName" {
            "XENBUS".clone_into(value);
        }
    }
    let res = match driver_link::version_res(&info) {
        Ok(r) => r,
        Err(e) => {
            println!("cargo::error=xenbus_monitor.exe version resource: {e}");
            return;
        }
    };
    let out = PathBuf::from(env("OUT_DIR").unwrap_or_default());
    let res_path = out.join("xenbus_monitor.res");
    if let Err(e) = std::fs::write(&res_path, res) {
        println!("cargo::error=cannot write {}: {e}", res_path.display());
        return;
    }
    if env("CARGO_CFG_TARGET_ENV").as_deref() == Some("msvc") {
        println!("cargo::rustc-link-arg-bins={}", res_path.display());
        return;
    }
    let windres = env("WINDRES").unwrap_or_else(|| "x86_64-w64-mingw32-windres".into());
    let obj = out.join("xenbus_monitor-version.o");
    match Command::new(&windres)
        .args(["--input-format=res", "--output-format=coff", "-i"])
        .arg(&res_path)
        .arg("-o")
        .arg(&obj)
        .status()
    {
        Ok(s) if s.success() => println!("cargo::rustc-link-arg-bins={}", obj.display()),
        Ok(s) => println!(
            "cargo::error={windres} failed ({s}) on {}",
            res_path.display()
        ),
        Err(e) => println!(
            "cargo::error={windres}: {e} (Debian binutils-mingw-w64-x86-64; scripts/setup installs it)"
        ),
    }
}
