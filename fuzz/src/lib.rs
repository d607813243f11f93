// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The bodies of the fuzz targets, one module per parser of untrusted input, and what they
//! share: a single-threaded platform ([`platform::FuzzPlatform`]), the xen.sys services
//! ([`xen::FuzzXen`]), pages the fuzzer plays the other side of ([`page::SharedPages`]) and the
//! input encoding ([`input`]).
//!
//! Each `targets::<name>` module has `run(data)`, which libFuzzer calls through
//! `fuzz_targets/<name>.rs`, and `seeds()`, the hand-made seed corpus that
//! `examples/seeds.rs` writes to `corpus/<name>/`. Every target asserts the invariants its
//! module documents, so a violated invariant is a crash like any panic. `docs/fuzzing.md`
//! says how to run them and what the campaigns found.

#![allow(
    clippy::missing_panics_doc,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    clippy::similar_names,
    clippy::too_many_lines
)]

pub mod input;
pub mod page;
pub mod platform;
pub mod xen;

/// The targets, by name.
pub mod targets {
    pub mod acpi_madt;
    pub mod balloon;
    pub mod console_ring;
    pub mod evtchn_2l;
    pub mod evtchn_fifo;
    pub mod gnttab_entry;
    pub mod interface_query;
    pub mod kprintf;
    pub mod log_level;
    pub mod pdo_identity;
    pub mod pnp_bus;
    pub mod pnp_resources;
    pub mod range_set;
    pub mod registry_values;
    pub mod start_options;
    pub mod store_ring;
    pub mod unplug;
    pub mod xenfilt_filter;
}

/// A target: its name, its body and its seeds.
pub struct Target {
    /// The name (the fuzz target's binary and the corpus directory).
    pub name: &'static str,
    /// Runs one input.
    pub run: fn(&[u8]),
    /// The hand-made seeds: a file name and its bytes.
    pub seeds: fn() -> Vec<(&'static str, Vec<u8>)>,
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "acpi_madt",
        run: targets::acpi_madt::run,
        seeds: targets::acpi_madt::seeds,
    },
    Target {
        name: "balloon",
        run: targets::balloon::run,
        seeds: targets::balloon::seeds,
    },
    Target {
        name: "console_ring",
        run: targets::console_ring::run,
        seeds: targets::console_ring::seeds,
    },
    Target {
        name: "evtchn_2l",
        run: targets::evtchn_2l::run,
        seeds: targets::evtchn_2l::seeds,
    },
    Target {
        name: "evtchn_fifo",
        run: targets::evtchn_fifo::run,
        seeds: targets::evtchn_fifo::seeds,
    },
    Target {
        name: "gnttab_entry",
        run: targets::gnttab_entry::run,
        seeds: targets::gnttab_entry::seeds,
    },
    Target {
        name: "interface_query",
        run: targets::interface_query::run,
        seeds: targets::interface_query::seeds,
    },
    Target {
        name: "kprintf",
        run: targets::kprintf::run,
        seeds: targets::kprintf::seeds,
    },
    Target {
        name: "log_level",
        run: targets::log_level::run,
        seeds: targets::log_level::seeds,
    },
    Target {
        name: "pdo_identity",
        run: targets::pdo_identity::run,
        seeds: targets::pdo_identity::seeds,
    },
    Target {
        name: "pnp_bus",
        run: targets::pnp_bus::run,
        seeds: targets::pnp_bus::seeds,
    },
    Target {
        name: "pnp_resources",
        run: targets::pnp_resources::run,
        seeds: targets::pnp_resources::seeds,
    },
    Target {
        name: "range_set",
        run: targets::range_set::run,
        seeds: targets::range_set::seeds,
    },
    Target {
        name: "registry_values",
        run: targets::registry_values::run,
        seeds: targets::registry_values::seeds,
    },
    Target {
        name: "start_options",
        run: targets::start_options::run,
        seeds: targets::start_options::seeds,
    },
    Target {
        name: "store_ring",
        run: targets::store_ring::run,
        seeds: targets::store_ring::seeds,
    },
    Target {
        name: "unplug",
        run: targets::unplug::run,
        seeds: targets::unplug::seeds,
    },
    Target {
        name: "xenfilt_filter",
        run: targets::xenfilt_filter::run,
        seeds: targets::xenfilt_filter::seeds,
    },
];
