// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `package-version`: prints the package version, `major.minor.micro.build`, from the one
//! source the images use (`xen_services::PACKAGE_VERSION`: the workspace version and
//! `XENBUS_BUILD_NUMBER`), for `scripts/gen-inf` to write into the INF's `DriverVer`.
//!
//! Exit status 2, with the reason, when `XENBUS_BUILD_NUMBER` is set but is not a decimal
//! number from 0 to 65535 (the images' build scripts refuse it the same way), or when a part
//! does not fit the 16 bits `DriverVer` and the version resource give it.

use std::process::ExitCode;

fn main() -> ExitCode {
    let build = std::env::var("XENBUS_BUILD_NUMBER").ok();
    let package = xen_services::PACKAGE_VERSION;
    let checked = driver_link::package_version(
        &package.major.to_string(),
        &package.minor.to_string(),
        &package.micro.to_string(),
        build.as_deref().filter(|b| !b.is_empty()),
    );
    match checked {
        Ok(parts) if u32::from(parts[3]) == package.build => {
            let [major, minor, micro, build] = parts;
            println!("{major}.{minor}.{micro}.{build}");
            ExitCode::SUCCESS
        }
        Ok(_) => {
            eprintln!(
                "package-version: XENBUS_BUILD_NUMBER changed since this tool was built \
                 (rebuild with the same environment)"
            );
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("package-version: {e}");
            ExitCode::from(2)
        }
    }
}
