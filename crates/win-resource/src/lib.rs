// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Writes Win32 resources without Microsoft's resource compiler: a `VS_VERSIONINFO` block
//! ([`version::VersionInfo`]) and the `.res` file that carries it ([`res::res_file`]).
//! `lld-link` takes a `.res` file as an input and turns it into the image's `.rsrc` section
//! itself, so a build script can give every driver image the version resource upstream's
//! `xen.rc`, `xenbus.rc` and `xenfilt.rc` give theirs (through the WDK's `common.ver`).
//!
//! A host tool beside the layering: it runs in the driver crates' build scripts
//! (`crates/driver-link`). The reader of what it writes is `pe-image` (`PeImage::resources`,
//! `pe_image::version`), which the image audit uses; the tests here parse every block they
//! write with that reader.

pub mod res;
pub mod version;

use std::fmt;

/// Why a resource cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// `what` is longer than its 16- or 32-bit length field allows (`len` bytes).
    TooLong {
        /// The block or string.
        what: String,
        /// Its length in bytes.
        len: usize,
    },
    /// A key or value holds a NUL, which would end it early.
    EmbeddedNul {
        /// The key or value.
        what: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { what, len } => {
                write!(f, "{what}: {len} bytes do not fit its length field")
            }
            Self::EmbeddedNul { what } => write!(f, "{what}: holds a NUL character"),
        }
    }
}

impl std::error::Error for Error {}
