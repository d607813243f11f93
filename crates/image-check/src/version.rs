// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The version resource check.
//!
//! Every image carries a `VS_VERSION_INFO` resource whose fixed and string versions are the package version, with the strings upstream's `.rc` files give
//! (`CompanyName`, `FileDescription`, `InternalName`, `OriginalFilename`, `ProductName`,
//! `LegalCopyright`), a driver file type and US English / Unicode.

use std::fmt::Write as _;

use pe_image::PeImage;
use pe_image::version::VersionInfo;

/// What the version resources must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedVersion {
    /// Major, minor, micro, build (`xen_services::PACKAGE_VERSION`).
    pub version: [u16; 4],
    /// The vendor (`CompanyName`), when known (the INF's `Vendor` string).
    pub vendor: Option<String>,
}

impl ExpectedVersion {
    /// The package version as text (`9.1.0.0`).
    #[must_use]
    pub fn text(&self) -> String {
        let [a, b, c, d] = self.version;
        format!("{a}.{b}.{c}.{d}")
    }
}

/// `VOS_NT_WINDOWS32`, `VFT_DRV`, `VFT2_DRV_SYSTEM`, `VS_FF_DEBUG`.
const VOS_NT_WINDOWS32: u32 = 0x0004_0004;
const VFT_DRV: u32 = 3;
const VFT2_DRV_SYSTEM: u32 = 7;

/// What one image's version resource says, for the info line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// `FileVersion` (the fixed part).
    pub version: [u16; 4],
    /// `OriginalFilename`.
    pub original_filename: String,
    /// `CompanyName`.
    pub company: String,
}

/// Checks the version resource of `image` (named `name`); returns what it found and the
/// problems, each naming the field.
#[must_use]
pub fn check_version(
    image: &PeImage<'_>,
    name: &str,
    expect: &ExpectedVersion,
) -> (Option<Found>, Vec<String>) {
    let mut problems = Vec::new();
    let data = match image.resources() {
        Ok(Some(r)) => match r.version() {
            Ok(Some(d)) => d,
            Ok(None) => return (None, vec!["no version resource (RT_VERSION)".into()]),
            Err(e) => return (None, vec![format!("resource directory: {e}")]),
        },
        Ok(None) => {
            return (
                None,
                vec!["no resource directory (no version resource)".into()],
            );
        }
        Err(e) => return (None, vec![format!("resource directory: {e}")]),
    };
    let info = match VersionInfo::parse(data) {
        Ok(i) => i,
        Err(e) => return (None, vec![format!("version resource: {e}")]),
    };
    let f = info.fixed;
    let show = |v: [u16; 4]| format!("{}.{}.{}.{}", v[0], v[1], v[2], v[3]);
    for (field, have) in [
        ("FILEVERSION", f.file_version),
        ("PRODUCTVERSION", f.product_version),
    ] {
        if have != expect.version {
            problems.push(format!(
                "version resource {field} {}, package version {}",
                show(have),
                expect.text()
            ));
        }
    }
    if (f.file_os, f.file_type, f.file_subtype) != (VOS_NT_WINDOWS32, VFT_DRV, VFT2_DRV_SYSTEM) {
        problems.push(format!(
            "version resource FILEOS/FILETYPE/FILESUBTYPE {:#x}/{:#x}/{:#x}, expected \
             VOS_NT_WINDOWS32/VFT_DRV/VFT2_DRV_SYSTEM",
            f.file_os, f.file_type, f.file_subtype
        ));
    }
    match info.translation() {
        Ok(Some((0x0409, 1200))) => {}
        Ok(other) => problems.push(format!(
            "version resource Translation {other:?}, expected (0x409, 1200)"
        )),
        Err(e) => problems.push(format!("version resource: {e}")),
    }
    let upper = name.to_ascii_uppercase();
    let product = upper.split('.').next().unwrap_or(&upper).to_owned();
    let text = expect.text();
    let strings = vec![
        ("FileVersion", Some(text.clone())),
        ("ProductVersion", Some(text)),
        ("InternalName", Some(upper.clone())),
        ("OriginalFilename", Some(upper)),
        ("ProductName", Some(product.clone())),
        ("FileDescription", Some(product)),
        ("CompanyName", expect.vendor.clone()),
        ("LegalCopyright", None),
    ];
    let mut found = Found {
        version: f.file_version,
        original_filename: String::new(),
        company: String::new(),
    };
    for (key, want) in strings {
        match info.string(key) {
            Ok(Some(have)) => {
                let have = have.to_string();
                match key {
                    "OriginalFilename" => found.original_filename.clone_from(&have),
                    "CompanyName" => found.company.clone_from(&have),
                    _ => {}
                }
                if have.is_empty() || want.as_ref().is_some_and(|w| *w != have) {
                    let mut m = format!("version resource {key} \"{have}\"");
                    if let Some(w) = want {
                        let _ = write!(m, ", expected \"{w}\"");
                    }
                    problems.push(m);
                }
            }
            Ok(None) => problems.push(format!("version resource has no {key}")),
            Err(e) => {
                problems.push(format!("version resource: {e}"));
                break;
            }
        }
    }
    (Some(found), problems)
}
