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
//!   (the entry point, stray `#[no_mangle]` items) leaks into the export table;
//! * `<name>.res`: the image's version resource ([`version_info`]), as upstream's `xen.rc`,
//!   `xenbus.rc` and `xenfilt.rc` make it through the WDK's `common.ver`; `lld-link` turns the
//!   `.res` file into the `.rsrc` section.
//!
//! The version is the package's one ([`package_version`]): the workspace version (major,
//! minor, micro) and the build number from `XENBUS_BUILD_NUMBER`, the same source
//! `xen_services::PACKAGE_VERSION` (what the images announce to each other) and the INF's
//! `DriverVer` (`scripts/gen-inf`) use. The vendor strings come from `VENDOR_NAME` and
//! `COPYRIGHT`, with the defaults of upstream's build and of `scripts/gen-inf`.
//!
//! Host builds, and Windows-host builds with the `wdk` feature (where wdk-build configures the
//! link), get nothing from here. This crate is a host tool; it sits beside the layering.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// `VENDOR_NAME` when unset (upstream's `build.ps1` default).
pub const DEFAULT_VENDOR_NAME: &str = "Xen Project";
/// `COPYRIGHT` when unset (upstream's `build.ps1` default).
pub const DEFAULT_COPYRIGHT: &str = "Copyright (c) Xen Project.";

/// The package version, major, minor, micro and build, from the workspace version and
/// `build_number` (the value of `XENBUS_BUILD_NUMBER`, 0 when unset).
///
/// # Errors
/// A part that is not a decimal number from 0 to 65535 (each is a 16-bit field of the version
/// resource and of the INF's `DriverVer`), naming it.
pub fn package_version(
    major: &str,
    minor: &str,
    micro: &str,
    build_number: Option<&str>,
) -> Result<[u16; 4], String> {
    let part = |name: &str, text: &str| {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "{name} `{text}` is not a decimal number (0 to 65535)"
            ));
        }
        text.parse::<u16>()
            .map_err(|_| format!("{name} `{text}` does not fit 16 bits (0 to 65535)"))
    };
    Ok([
        part("major version", major)?,
        part("minor version", minor)?,
        part("micro version", micro)?,
        part("XENBUS_BUILD_NUMBER", build_number.unwrap_or("0"))?,
    ])
}

/// The version resource of `image` at `version`, as upstream's `.rc` files make theirs.
///
/// (`CompanyName` the vendor, `ProductName`, `FileDescription`, `InternalName` and
/// `OriginalFilename` the image's name in capitals, `FileVersion` = `ProductVersion` =
/// `M.m.u.b`, `VFT_DRV`/`VFT2_DRV_SYSTEM`, `VOS_NT_WINDOWS32`, US English, Unicode).
#[must_use]
pub fn version_info(
    image: &str,
    version: [u16; 4],
    vendor: &str,
    copyright: &str,
    debug: bool,
) -> win_resource::version::VersionInfo {
    use win_resource::version as v;
    let upper = image.to_ascii_uppercase();
    let product = upper.split('.').next().unwrap_or(&upper).to_owned();
    let [a, b, c, d] = version;
    let text = format!("{a}.{b}.{c}.{d}");
    let strings = [
        ("CompanyName", vendor),
        ("FileDescription", &product),
        ("FileVersion", &text),
        ("InternalName", &upper),
        ("LegalCopyright", copyright),
        ("OriginalFilename", &upper),
        ("ProductName", &product),
        ("ProductVersion", &text),
    ];
    v::VersionInfo {
        fixed: v::Fixed {
            file_version: version,
            product_version: version,
            file_flags_mask: v::FILE_FLAGS_MASK,
            file_flags: if debug { v::VS_FF_DEBUG } else { 0 },
            file_os: v::VOS_NT_WINDOWS32,
            file_type: v::VFT_DRV,
            file_subtype: v::VFT2_DRV_SYSTEM,
        },
        language: win_resource::res::LANG_EN_US,
        strings: strings
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

/// The `.res` file holding `info` as the image's `VS_VERSION_INFO` resource.
///
/// # Errors
/// When a string is too long for the resource format or holds a NUL.
pub fn version_res(info: &win_resource::version::VersionInfo) -> Result<Vec<u8>, String> {
    use win_resource::res;
    let data = info.to_bytes().map_err(|e| e.to_string())?;
    res::res_file(&[res::Resource {
        type_id: res::RT_VERSION,
        name_id: res::VS_VERSION_INFO,
        language: res::LANG_EN_US,
        memory_flags: res::MEMORY_MOVEABLE_PURE,
        data,
    }])
    .map_err(|e| e.to_string())
}

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
    write_file(&def, module_definition(image));
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
    match image_version_res(image) {
        Ok(bytes) => {
            let res = out.join(format!("{}.res", image.name));
            write_file(&res, &bytes);
            println!("cargo::rustc-cdylib-link-arg={}", res.display());
        }
        Err(e) => println!(
            "cargo::error=driver-link: {} version resource: {e}",
            image.name
        ),
    }
}

/// The `.res` file of `image` from the build environment (see the crate docs).
fn image_version_res(image: &Image<'_>) -> Result<Vec<u8>, String> {
    for var in ["XENBUS_BUILD_NUMBER", "VENDOR_NAME", "COPYRIGHT"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let env = |name: &str| std::env::var(name).ok();
    let build = env("XENBUS_BUILD_NUMBER");
    let version = package_version(
        &env("CARGO_PKG_VERSION_MAJOR").unwrap_or_default(),
        &env("CARGO_PKG_VERSION_MINOR").unwrap_or_default(),
        &env("CARGO_PKG_VERSION_PATCH").unwrap_or_default(),
        build.as_deref().filter(|b| !b.is_empty()),
    )?;
    let vendor = env("VENDOR_NAME").unwrap_or_else(|| DEFAULT_VENDOR_NAME.to_owned());
    let copyright = env("COPYRIGHT").unwrap_or_else(|| DEFAULT_COPYRIGHT.to_owned());
    let debug = env("PROFILE").is_some_and(|p| p == "debug");
    version_res(&version_info(
        image.name, version, &vendor, &copyright, debug,
    ))
}

fn write_file(path: &Path, text: impl AsRef<[u8]>) {
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
    fn package_version_takes_16_bit_decimal_parts() {
        assert_eq!(package_version("9", "1", "0", None), Ok([9, 1, 0, 0]));
        assert_eq!(
            package_version("9", "1", "0", Some("65535")),
            Ok([9, 1, 0, 65535])
        );
        assert_eq!(
            package_version("9", "1", "0", Some("65536")),
            Err("XENBUS_BUILD_NUMBER `65536` does not fit 16 bits (0 to 65535)".into())
        );
        assert_eq!(
            package_version("9", "1", "0", Some("12a")),
            Err("XENBUS_BUILD_NUMBER `12a` is not a decimal number (0 to 65535)".into())
        );
        assert!(package_version("9", "", "0", None).is_err());
        assert!(package_version("9", "-1", "0", None).is_err());
    }

    #[test]
    fn version_info_carries_upstreams_strings() {
        let info = version_info("xenfilt.sys", [9, 1, 0, 7], "Vendor", "(c) V", false);
        let get = |k: &str| {
            info.strings
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("CompanyName"), Some("Vendor"));
        assert_eq!(get("LegalCopyright"), Some("(c) V"));
        assert_eq!(get("ProductName"), Some("XENFILT"));
        assert_eq!(get("FileDescription"), Some("XENFILT"));
        assert_eq!(get("InternalName"), Some("XENFILT.SYS"));
        assert_eq!(get("OriginalFilename"), Some("XENFILT.SYS"));
        assert_eq!(get("FileVersion"), Some("9.1.0.7"));
        assert_eq!(get("ProductVersion"), Some("9.1.0.7"));
        assert_eq!(info.fixed.file_version, [9, 1, 0, 7]);
        assert_eq!((info.fixed.file_type, info.fixed.file_subtype), (3, 7));
        assert_eq!(info.fixed.file_flags, 0);
        assert!(version_res(&info).unwrap().len() > 32);
    }

    /// An independent reader: binutils' `windres` (mingw-w64, installed by `scripts/setup`)
    /// decompiles the `.res` file back to resource-script text. Skipped when it is missing.
    #[test]
    fn version_res_reads_back_through_windres() {
        let windres = "x86_64-w64-mingw32-windres";
        if std::process::Command::new(windres)
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("skipped: {windres} not installed (scripts/setup installs it)");
            return;
        }
        let info = version_info("xenbus.sys", [9, 1, 0, 321], "Xen Project", "(c) X", false);
        let path = std::env::temp_dir().join(format!("driver-link-{}.res", std::process::id()));
        std::fs::write(&path, version_res(&info).unwrap()).unwrap();
        let out = std::process::Command::new(windres)
            .args(["-J", "res", "-O", "rc", "-i"])
            .arg(&path)
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rc = String::from_utf8_lossy(&out.stdout);
        for line in [
            "1 VERSIONINFO MOVEABLE PURE",
            " FILEVERSION 9, 1, 0, 321",
            " PRODUCTVERSION 9, 1, 0, 321",
            " FILEFLAGSMASK 0x3f",
            " FILEOS 0x40004",
            " FILETYPE 0x3",
            " FILESUBTYPE 0x7",
            "    BLOCK \"040904B0\"",
            "      VALUE \"CompanyName\", \"Xen Project\"",
            "      VALUE \"FileDescription\", \"XENBUS\"",
            "      VALUE \"FileVersion\", \"9.1.0.321\"",
            "      VALUE \"InternalName\", \"XENBUS.SYS\"",
            "      VALUE \"LegalCopyright\", \"(c) X\"",
            "      VALUE \"OriginalFilename\", \"XENBUS.SYS\"",
            "      VALUE \"ProductName\", \"XENBUS\"",
            "      VALUE \"ProductVersion\", \"9.1.0.321\"",
            "    VALUE \"Translation\", 0x409, 1200",
        ] {
            assert!(
                rc.lines().any(|l| l == line),
                "windres lacks `{line}`:\n{rc}"
            );
        }
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
