// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `xenchild-image LINKED OUT`: the last step of `scripts/build-child-driver`. Takes the image
//! mingw-w64's linker wrote (`LINKED`), writes it to `OUT` with its PE checksum recomputed (the
//! stand-in kernel's loader, like Windows for boot drivers, refuses a wrong one) and audits the
//! result, host-side:
//!
//! * the audit of `scripts/check-images` (`image_check::check_images`): PE32+, AMD64, native
//!   subsystem, entry point in code, valid checksum, `DIR64` relocations, unwind data, the
//!   hardening flags, no writable and executable section, imports by name only from
//!   `ntoskrnl.exe` and `HAL.dll` and each one in the real kernel's export list (mingw-w64's
//!   import libraries plus `crates/image-check/kernel-exports-extra.txt`), no export table;
//! * the stand-in kernel's own loader steps (`pe_image::load`, what `crates/xen-pvh-test` runs
//!   before calling `DriverEntry`): every header checked, the image copied, relocated to a
//!   kernel address and its imports bound by name to kernel routines.
//!
//! * a child driver's rules on top: imports only from `ntoskrnl.exe` and `HAL.dll` (not from
//!   `xen.sys`, which the audit allows our own images), and exactly the routines listed in the
//!   comment at the top of `xenchild.c`.
//!
//! Prints the image's info line, its imports per DLL (what a kernel hosting it must provide),
//! one `problem: ...` line per problem and last `xenchild.sys: 1 image checked, N problems`.
//! Exit status 0 without problems, 1 with, 2 when the audit cannot run (bad usage, no import
//! libraries).
//!
//! This crate is a workspace of its own (see `Cargo.toml`); the driver's C sources beside it are
//! compiled by the script, not by cargo.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use image_check::package::package_image;
use image_check::reference::{self, KernelExports};
use image_check::{Expectations, check_images};
use pe_image::{Import, PeImage, load};

/// The image's file name.
const NAME: &str = "xenchild.sys";
/// The kernel export supplement, as printed.
const EXTRA_DISPLAY: &str = "crates/image-check/kernel-exports-extra.txt";
/// A kernel-space base other than the linker's `ImageBase`, so that every fix-up moves.
const LOAD_BASE: u64 = 0xFFFF_F806_1234_0000;
/// Where the resolver pretends kernel routines live (one 16-byte slot each).
const ROUTINES_BASE: u64 = 0xFFFF_F800_0010_0000;

const USAGE: &str = "usage: xenchild-image LINKED OUT";

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [linked, out] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match run(linked, out) {
        Ok(problems) if problems.is_empty() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(why) => {
            eprintln!("xenchild-image: {why}");
            ExitCode::from(2)
        }
    }
}

/// Packages, audits and loads the image; returns the problems (already printed).
fn run(linked: &Path, out: &Path) -> Result<Vec<String>, String> {
    let bytes = std::fs::read(linked).map_err(|e| format!("{}: {e}", linked.display()))?;
    let packaged = package_image(&bytes, NAME).map_err(|e| format!("{}: {e}", linked.display()))?;
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(out, &packaged.bytes).map_err(|e| format!("{}: {e}", out.display()))?;

    let extra =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../image-check/kernel-exports-extra.txt");
    let kernel = KernelExports::load(&reference::mingw_lib_dir(), &extra, EXTRA_DISPLAY)?;

    let (summaries, audit) = check_images(
        &[(NAME, Some(packaged.bytes.as_slice()))],
        &Expectations {
            kernel: &kernel,
            xen_api: &[],
            version: None,
        },
    );
    for summary in &summaries {
        println!("{summary}");
    }
    let mut problems: Vec<String> = audit.iter().map(ToString::to_string).collect();
    match PeImage::parse(&packaged.bytes) {
        Ok(image) => {
            let imports = imports(&image);
            for (dll, names) in &imports {
                println!("imports from {dll} ({}): {}", names.len(), names.join(" "));
            }
            problems.extend(child_rules(&imports)?);
            match load_as_the_stand_in_does(&image, &kernel) {
                Ok(line) => println!("{line}"),
                Err(why) => problems.push(format!("{NAME}: loader: {why}")),
            }
        }
        Err(e) => problems.push(format!("{NAME}: not a PE image: {e}")),
    }
    for problem in &problems {
        println!("problem: {problem}");
    }
    println!("{NAME}: 1 image checked, {} problems", problems.len());
    Ok(problems)
}

/// The routines imported, sorted, per DLL as the image names it.
fn imports(image: &PeImage<'_>) -> BTreeMap<String, Vec<String>> {
    let mut by_dll: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for descriptor in image.imports().flatten() {
        let names = by_dll
            .entry(String::from_utf8_lossy(descriptor.dll).into_owned())
            .or_default();
        for entry in descriptor.entries().flatten() {
            names.push(match entry.import {
                Import::Name { name, .. } => String::from_utf8_lossy(name).into_owned(),
                Import::Ordinal(ordinal) => format!("#{ordinal}"),
            });
        }
        names.sort_unstable();
    }
    by_dll
}

/// The routines the comment at the top of `xenchild.c` lists: the words of the ` *   ` lines
/// after the one that says "Imports, all from ntoskrnl.exe".
fn documented_imports(source: &str) -> Vec<String> {
    let mut names: Vec<String> = source
        .lines()
        .skip_while(|line| !line.contains("Imports, all from ntoskrnl.exe"))
        .skip(1)
        .skip_while(|line| !line.starts_with(" *   "))
        .take_while(|line| line.starts_with(" *   "))
        .flat_map(|line| line.trim_start_matches(" *").split_whitespace())
        .map(str::to_owned)
        .collect();
    names.sort_unstable();
    names
}

/// A child driver imports only kernel routines, exactly those `xenchild.c` documents.
fn child_rules(imports: &BTreeMap<String, Vec<String>>) -> Result<Vec<String>, String> {
    let mut problems = Vec::new();
    let mut kernel = Vec::new();
    for (dll, names) in imports {
        if dll.eq_ignore_ascii_case("ntoskrnl.exe") {
            kernel.extend(names.iter().cloned());
        } else if dll.eq_ignore_ascii_case("HAL.dll") {
            problems.push(format!(
                "{NAME}: imports from {dll} ({}), which xenchild.c does not list",
                names.join(" ")
            ));
        } else if dll.eq_ignore_ascii_case("xen.sys") {
            problems.push(format!(
                "{NAME}: imports from {dll} ({}): a child driver imports only the kernel",
                names.join(" ")
            ));
        }
        // Any other DLL is the audit's problem already.
    }
    kernel.sort_unstable();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("xenchild.c");
    let source = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let documented = documented_imports(&source);
    if documented.is_empty() {
        return Err(format!(
            "{}: no import list in its top comment",
            path.display()
        ));
    }
    let undocumented: Vec<&str> = kernel
        .iter()
        .filter(|n| documented.binary_search(n).is_err())
        .map(String::as_str)
        .collect();
    let unused: Vec<&str> = documented
        .iter()
        .filter(|n| kernel.binary_search(n).is_err())
        .map(String::as_str)
        .collect();
    if !undocumented.is_empty() {
        problems.push(format!(
            "{NAME}: imports {} from ntoskrnl.exe, which the list in xenchild.c lacks",
            undocumented.join(" ")
        ));
    }
    if !unused.is_empty() {
        problems.push(format!(
            "{NAME}: xenchild.c lists {}, which the image does not import",
            unused.join(" ")
        ));
    }
    Ok(problems)
}

/// `pe_image::load`'s steps, as the stand-in kernel runs them: checked, copied, relocated to
/// [`LOAD_BASE`], every import bound to a routine the real kernel exports.
fn load_as_the_stand_in_does(
    image: &PeImage<'_>,
    kernel: &KernelExports,
) -> Result<String, String> {
    let info = load::check_loadable(image).map_err(|e| e.to_string())?;
    let size = usize::try_from(info.size_of_image).map_err(|e| e.to_string())?;
    let mut memory = vec![0u8; size];
    load::copy_to(image, &mut memory).map_err(|e| e.to_string())?;
    let relocated = load::relocate(image, &mut memory, LOAD_BASE).map_err(|e| e.to_string())?;
    let mut slots = 0u64;
    let bound = load::bind_imports(image, &mut memory, |dll, name| {
        let (dll, name) = (
            std::str::from_utf8(dll).ok()?,
            std::str::from_utf8(name).ok()?,
        );
        kernel.exports(dll, name).then(|| {
            slots = slots.saturating_add(1);
            ROUTINES_BASE.saturating_add(slots.saturating_mul(16))
        })
    })
    .map_err(|e| e.to_string())?;
    Ok(format!(
        "loader (pe_image::load, as the stand-in kernel): {size} bytes mapped at {LOAD_BASE:#x}, \
         {relocated} relocations applied, {bound} imports bound, entry point at RVA {:#x}",
        info.entry_point
    ))
}
