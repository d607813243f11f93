// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Build-script helper for the three driver crates: when cargo builds one of them for a Windows
//! target without the `wdk` feature, [`configure`] tells `rust-lld` (as `lld-link`) to make a
//! kernel image of the `cdylib`:
//!
//! * `/DRIVER /SUBSYSTEM:NATIVE,10.0 /ENTRY:DriverEntry /NODEFAULTLIB`: a native-subsystem
//!   driver with no C runtime;
//! * `/RELEASE`: a valid PE checksum, which the loader checks for boot-start drivers;
//! * `/INTEGRITYCHECK`: Windows demands a signature (`FORCE_INTEGRITY`);
//! * `/MERGE:.edata=.rdata /OPT:REF,ICF`: no stray sections, no dead code;
//! * `/MAP`: a map file beside the image, shipped with the symbols;
//! * `/DEF:<name>.def`: a module-definition file written here that names the image (`xen.sys`,
//!   as upstream's `xen.def`) and lists exactly its exports, so nothing else rustc would export
//!   (the entry point, stray `#[no_mangle]` items) leaks into the export table.
//!
//! Host builds, and Windows-host builds with the `wdk` feature (where wdk-build configures the
//! link), get nothing from here. This crate is a host tool; it sits beside the layering.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What to link.
#[derive(Debug, Clone, Copy)]
pub struct Image<'a> {
    /// The image's file name, e.g. `xen.sys`.
    pub name: &'a str,
    /// Names the export table lists (empty for a plain driver).
    pub exports: &'a [&'a str],
    /// Exports marked `PRIVATE` (not in an import library: `DllInitialize`, `DllUnload`).
    pub private_exports: &'a [&'a str],
}

/// The module-definition file for `image`.
#[must_use]
pub fn module_definition(image: &Image<'_>) -> String {
    let mut def = format!("LIBRARY {}\nEXPORTS\n", image.name);
    for name in image.private_exports {
        let _ = writeln!(def, "    {name} PRIVATE");
    }
    for name in image.exports {
        let _ = writeln!(def, "    {name}");
    }
    def
}

/// The function names a C header declares with `XEN_API` (`XEN_API <type> <Name>(`), in order.
#[must_use]
pub fn xen_api_names(header: &str) -> Vec<String> {
    header
        .lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix("XEN_API ")?;
            let before_paren = rest.split('(').next()?;
            let name = before_paren.split_whitespace().last()?;
            let name = name.trim_start_matches('*');
            (!name.is_empty() && rest.contains('(')).then(|| name.to_owned())
        })
        .collect()
}

/// Whether cargo is building the calling crate into a Windows kernel image through our own
/// bindings (a Windows target, `wdk` feature off).
#[must_use]
pub fn building_image() -> bool {
    let windows = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "windows");
    let wdk = std::env::var_os("CARGO_FEATURE_WDK").is_some();
    windows && !wdk
}

/// Emits the linker arguments for `image` (see the crate docs) when [`building_image`].
///
/// # Panics
/// When the module-definition file cannot be written to `OUT_DIR` (a build-script failure that
/// names the file).
pub fn configure(image: &Image<'_>) {
    println!("cargo::rerun-if-env-changed=CARGO_FEATURE_WDK");
    if !building_image() {
        return;
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let def = out.join(format!("{}.def", image.name));
    write_file(&def, &module_definition(image));
    for arg in [
        "/NODEFAULTLIB",
        "/DRIVER",
        "/SUBSYSTEM:NATIVE,10.0",
        "/ENTRY:DriverEntry",
        "/RELEASE",
        "/INTEGRITYCHECK",
        "/MERGE:.edata=.rdata",
        "/OPT:REF,ICF",
        "/MAP",
    ] {
        println!("cargo::rustc-cdylib-link-arg={arg}");
    }
    println!("cargo::rustc-cdylib-link-arg=/DEF:{}", def.display());
}

fn write_file(path: &Path, text: &str) {
    if let Err(e) = std::fs::write(path, text) {
        panic!("driver-link: cannot write {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_definition_names_the_image_and_lists_exports() {
        let def = module_definition(&Image {
            name: "xen.sys",
            exports: &["XenTouch", "LogPrintf"],
            private_exports: &["DllInitialize"],
        });
        assert_eq!(
            def,
            "LIBRARY xen.sys\nEXPORTS\n    DllInitialize PRIVATE\n    XenTouch\n    LogPrintf\n"
        );
    }

    #[test]
    fn xen_api_names_come_from_declarations_only() {
        let h = "#define XEN_API __declspec(dllimport)\n\
                 XEN_API NTSTATUS XenTouch(PCSTR Name,\n    ULONG Major);\n\
                 XEN_API VOID SchedYield(VOID);\n\
                 XEN_API PHYSICAL_ADDRESS\n\
                 VOID XenHostTeardown(VOID);\n\
                 XEN_API NTSTATUS *Weird(VOID);\n";
        assert_eq!(xen_api_names(h), ["XenTouch", "SchedYield", "Weird"]);
    }
}
