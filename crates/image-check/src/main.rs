// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `check-images [--summary] [DIR]`: audits `xen.sys`, `xenbus.sys` and `xenfilt.sys` in `DIR`
//! (default `target/package`) and prints one line per problem, then
//! `images: 3 checked, N problems`. Exit status 0 when there are none, 1 when there are (a
//! missing image is one), 2 when the check itself cannot run (no mingw-w64 import libraries,
//! no `xen.h`). `--summary` prints only the per-image info lines (exit status 1 when an image
//! is missing or unreadable).
//!
//! Each image's version resource must carry the package version (`xen_services::PACKAGE_VERSION`)
//! and, when `DIR/xenbus.inf` exists, the INF's `Vendor` as `CompanyName`; one
//! `version: <image> <version> (<OriginalFilename>, <CompanyName>)` line per image says what
//! was found.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use image_check::reference::{self, KernelExports};
use image_check::version::{ExpectedVersion, check_version};
use image_check::{Expectations, IMAGES, Summary, check_images, summarize};
use pe_image::PeImage;

const USAGE: &str = "usage: check-images [--summary] [DIR]   (DIR defaults to target/package)";

/// The supplement and header, relative to the workspace (as printed) and to this crate.
const EXTRA_DISPLAY: &str = "crates/image-check/kernel-exports-extra.txt";
const HEADER_DISPLAY: &str = "crates/xen/include/xen.h";

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read_images(dir: &Path) -> Vec<(&'static str, Option<Vec<u8>>)> {
    IMAGES
        .iter()
        .map(|&name| (name, std::fs::read(dir.join(name)).ok()))
        .collect()
}

fn setup() -> Result<(KernelExports, Vec<String>), String> {
    let kernel = KernelExports::load(
        &reference::mingw_lib_dir(),
        &crate_dir().join("kernel-exports-extra.txt"),
        EXTRA_DISPLAY,
    )?;
    let header_path = crate_dir().join("../xen/include/xen.h");
    let header =
        std::fs::read_to_string(&header_path).map_err(|e| format!("{HEADER_DISPLAY}: {e}"))?;
    let xen_api = reference::xen_api_names(&header);
    if xen_api.is_empty() {
        return Err(format!(
            "{HEADER_DISPLAY}: no `XEN_API <type> <Name>(` declarations"
        ));
    }
    Ok((kernel, xen_api))
}

/// The package version as four 16-bit parts.
fn package_version() -> Result<[u16; 4], String> {
    let v = xen_services::PACKAGE_VERSION;
    let part =
        |x: u32| u16::try_from(x).map_err(|_| format!("package version part {x} exceeds 65535"));
    Ok([
        part(v.major)?,
        part(v.minor)?,
        part(v.micro)?,
        part(v.build)?,
    ])
}

/// The `Vendor` string of the INF's `[Strings]`, if `inf` exists and has one.
fn inf_vendor(inf: &Path) -> Option<String> {
    let text = std::fs::read_to_string(inf).ok()?;
    text.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("Vendor")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// One `version:` line per readable image with a version resource.
fn print_versions(images: &[(&str, Option<&[u8]>)], expected: &ExpectedVersion) {
    for &(name, bytes) in images {
        let found = bytes
            .and_then(|b| PeImage::parse(b).ok())
            .and_then(|image| check_version(&image, name, expected).0);
        if let Some(f) = found {
            let [major, minor, micro, build] = f.version;
            println!(
                "version: {name} {major}.{minor}.{micro}.{build} ({}, {})",
                f.original_filename, f.company
            );
        }
    }
}

fn main() -> ExitCode {
    let mut summary_only = false;
    let mut dir = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--summary" => summary_only = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ if arg.starts_with('-') || dir.is_some() => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
            _ => dir = Some(PathBuf::from(arg)),
        }
    }
    let dir = dir.unwrap_or_else(|| PathBuf::from("target/package"));
    let images = read_images(&dir);
    let borrowed: Vec<(&str, Option<&[u8]>)> =
        images.iter().map(|(n, b)| (*n, b.as_deref())).collect();

    if summary_only {
        let mut ok = true;
        for &(name, bytes) in &borrowed {
            let summary = summarize(name, bytes);
            ok &= matches!(summary, Summary::Image { .. });
            println!("{summary}");
        }
        return if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }

    let (kernel, xen_api) = match setup() {
        Ok(x) => x,
        Err(e) => {
            eprintln!("check-images: {e}");
            return ExitCode::from(2);
        }
    };
    println!("check-images: {}", dir.display());
    for source in &kernel.sources {
        println!("reference: {source}");
    }
    println!(
        "reference: {} {} and {} {} names; {} XEN_API functions from {HEADER_DISPLAY}",
        kernel.count(reference::NTOSKRNL),
        reference::NTOSKRNL,
        kernel.count(reference::HAL),
        reference::HAL,
        xen_api.len()
    );
    let expected = match package_version() {
        Ok(version) => ExpectedVersion {
            version,
            vendor: inf_vendor(&dir.join("xenbus.inf")),
        },
        Err(e) => {
            eprintln!("check-images: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "reference: package version {}{}",
        expected.text(),
        expected
            .vendor
            .as_ref()
            .map_or_else(String::new, |v| format!(", vendor \"{v}\" from xenbus.inf"))
    );
    let (summaries, problems) = check_images(
        &borrowed,
        &Expectations {
            kernel: &kernel,
            xen_api: &xen_api,
            version: Some(&expected),
        },
    );
    for summary in &summaries {
        println!("{summary}");
    }
    print_versions(&borrowed, &expected);
    for problem in &problems {
        println!("problem: {problem}");
    }
    println!(
        "images: {} checked, {} problems",
        IMAGES.len(),
        problems.len()
    );
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
