// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The driver package, made and checked on Linux. A host tool beside the layering, run by
//! `scripts/package` and `scripts/test`:
//!
//! * [`inf`] reads INF files and [`inf_check`] holds our generated `xenbus.inf` to upstream's
//!   `src/xenbus.inf` (binary `inf-check`);
//! * [`authenticode`] computes the Authenticode digest of a PE image (what Windows compares
//!   with a catalog's or an embedded signature's) and [`catalog`] writes `xenbus.cat`: a
//!   PKCS#7 `SignedData` whose content is a Microsoft certificate trust list (`szOID_CTL`)
//!   with one member per package file, as `Inf2Cat` makes it (binary `make-cat`). The catalog
//!   is written unsigned; `scripts/package` signs it and the images with osslsigncode.
//!
//! ASN.1, CMS and the hashes come from `RustCrypto`'s crates (`der`, `cms`, `spki`, `sha1`,
//! `sha2`); nothing here is cryptography of its own.

pub mod authenticode;
pub mod catalog;
pub mod inf;
pub mod inf_check;
