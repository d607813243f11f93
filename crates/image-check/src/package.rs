// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The package step behind `package-images`: turns the linker's `.dll` into the shipped `.sys`.
//!
//! `lld-link` names an export table after its output file (`xen.dll`) where MSVC's linker takes
//! the module-definition file's `LIBRARY` name, and importers look xen.sys up by the name they
//! import from (`xen.sys`). So the export table's name is rewritten in place to the image's
//! file name (it is no longer than the linker's: `xen.sys` for `xen.dll`), and the PE checksum
//! is recomputed, since any byte changed invalidates it.

use pe_image::PeImage;

/// The images, as the linker writes them and as the package ships them.
pub const RENAMES: [(&str, &str); 3] = [
    ("xen.dll", "xen.sys"),
    ("xenbus.dll", "xenbus.sys"),
    ("xenfilt.dll", "xenfilt.sys"),
];

/// What [`package_image`] changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packaged {
    /// The packaged image.
    pub bytes: Vec<u8>,
    /// The export table's name before, when it was rewritten.
    pub renamed_from: Option<String>,
}

/// `bytes` packaged as `name`: an export table, if any, renamed to `name`, and the checksum
/// recomputed.
///
/// # Errors
/// When the image cannot be parsed, its export table cannot be read, or `name` is longer than
/// the name the linker wrote (no room to rewrite it in place).
pub fn package_image(bytes: &[u8], name: &str) -> Result<Packaged, String> {
    let mut out = bytes.to_vec();
    let image = PeImage::parse(bytes).map_err(|e| format!("not a PE image: {e}"))?;
    let mut renamed_from = None;
    let exports = image.exports().map_err(|e| format!("export table: {e}"))?;
    if let Some(exports) = exports
        && exports.dll != name.as_bytes()
    {
        let old = String::from_utf8_lossy(exports.dll).into_owned();
        if name.len() > exports.dll.len() {
            return Err(format!(
                "export table name {old} is shorter than {name}: no room to rename it"
            ));
        }
        let at = image
            .rva_to_offset(exports.dll_rva)
            .map_err(|e| format!("export table name: {e}"))?;
        let field = out
            .get_mut(at..at.saturating_add(exports.dll.len()))
            .ok_or("export table name lies outside the file")?;
        field.fill(0);
        field
            .get_mut(..name.len())
            .ok_or("export table name lies outside the file")?
            .copy_from_slice(name.as_bytes());
        renamed_from = Some(old);
    }
    let checksum_at = image.checksum_offset();
    let checksum = pe_image::pe_checksum(&out, checksum_at);
    out.get_mut(checksum_at..checksum_at.saturating_add(4))
        .ok_or("checksum field lies outside the file")?
        .copy_from_slice(&checksum.to_le_bytes());
    Ok(Packaged {
        bytes: out,
        renamed_from,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pe_image::builder::ImageBuilder;

    #[test]
    fn renames_the_export_table_and_fixes_the_checksum() {
        let dll = ImageBuilder::driver()
            .export("xen.dll", &["XenTouch"])
            .build();
        let packaged = package_image(&dll, "xen.sys").unwrap();
        assert_eq!(packaged.renamed_from.as_deref(), Some("xen.dll"));
        let image = PeImage::parse(&packaged.bytes).unwrap();
        assert_eq!(image.exports().unwrap().unwrap().dll, b"xen.sys");
        assert!(image.checksum_is_valid());
        assert_eq!(packaged.bytes.len(), dll.len());
        // Only the name and the checksum changed.
        let changed = dll
            .iter()
            .zip(&packaged.bytes)
            .filter(|(a, b)| a != b)
            .count();
        assert!(changed <= 3 + 4, "{changed} bytes changed");
        // A shorter name is NUL-padded; a longer one does not fit.
        let packaged = package_image(&dll, "x.sys").unwrap();
        let image = PeImage::parse(&packaged.bytes).unwrap();
        assert_eq!(image.exports().unwrap().unwrap().dll, b"x.sys");
        assert!(
            package_image(&dll, "xen-longer.sys")
                .unwrap_err()
                .contains("no room")
        );
    }

    #[test]
    fn images_without_exports_only_get_a_checksum() {
        let mut b = ImageBuilder::driver();
        b.checksum = pe_image::builder::ChecksumSpec::Value(0);
        let sys = b.build();
        let packaged = package_image(&sys, "xenbus.sys").unwrap();
        assert_eq!(packaged.renamed_from, None);
        assert!(PeImage::parse(&packaged.bytes).unwrap().checksum_is_valid());
        // Already right: nothing to rename.
        let sys = ImageBuilder::driver().export("xen.sys", &["A"]).build();
        let packaged = package_image(&sys, "xen.sys").unwrap();
        assert_eq!(packaged.renamed_from, None);
        assert_eq!(packaged.bytes, sys);
        assert!(package_image(b"MZ", "xen.sys").is_err());
    }
}
