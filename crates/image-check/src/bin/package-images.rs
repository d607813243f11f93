// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `package-images SRC DEST`: copies the linker's `xen.dll`, `xenbus.dll` and `xenfilt.dll` from
//! `SRC` to `DEST` as `xen.sys`, `xenbus.sys` and `xenfilt.sys`, renaming an export table to the
//! image's file name and recomputing the PE checksum (`image_check::package`). Prints nothing on
//! success; exit status 1 naming the image on any failure, 2 on bad usage.

use std::path::PathBuf;
use std::process::ExitCode;

use image_check::package::{RENAMES, package_image};

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [src, dest] = args.as_slice() else {
        eprintln!("usage: package-images SRC DEST");
        return ExitCode::from(2);
    };
    if let Err(e) = std::fs::create_dir_all(dest) {
        eprintln!("package-images: {}: {e}", dest.display());
        return ExitCode::FAILURE;
    }
    for (dll, sys) in RENAMES {
        let from = src.join(dll);
        let to = dest.join(sys);
        let result = std::fs::read(&from)
            .map_err(|e| e.to_string())
            .and_then(|bytes| package_image(&bytes, sys))
            .and_then(|p| {
                std::fs::write(&to, p.bytes).map_err(|e| format!("{}: {e}", to.display()))
            });
        if let Err(e) = result {
            eprintln!("package-images: {}: {e}", from.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
