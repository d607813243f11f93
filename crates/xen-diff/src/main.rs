// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `sim-vs-xen [--strict] [--label LABEL] TRANSCRIPT`: replays a transcript recorded on real
//! Xen against the simulator.
//!
//! It prints every divergence (a diagnosed one with its bug id from docs/sim-vs-xen.md), then
//! `sim-vs-xen: N hypercalls replayed, D divergences`, followed by `(K known simulator bugs,
//! ...)` when some are known. It exits 1 on any divergence that is not a known simulator bug
//! (with `--strict`, on any divergence at all) and 2 when the transcript cannot be read or is
//! incomplete. `SIM_VS_XEN_VERBOSE=1` also prints the environment set-up.

use std::process::ExitCode;
use xen_diff::{Transcript, known::known, replay};

/// Unknown divergences shown in full.
const SHOWN: usize = 10;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    let strict = args.next_if(|a| a == "--strict").is_some();
    let label = if args.next_if(|a| a == "--label").is_some() {
        args.next()
    } else {
        None
    };
    let name = label.map_or_else(|| "sim-vs-xen".to_owned(), |l| format!("sim-vs-xen ({l})"));
    let verbose = std::env::var_os("SIM_VS_XEN_VERBOSE").is_some();
    let Some(path) = args.next() else {
        eprintln!("usage: sim-vs-xen TRANSCRIPT");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("sim-vs-xen: {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let transcript = match Transcript::parse(&text) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("sim-vs-xen: {path}: {e}");
            return ExitCode::from(2);
        }
    };
    if transcript.end.is_none() {
        eprintln!("sim-vs-xen: {path}: transcript has no XTR-END (the run did not finish)");
        return ExitCode::from(2);
    }
    let report = replay(&transcript);
    if verbose {
        for line in &report.setup {
            println!("{name}: setup: {line}");
        }
    }
    let shown = if verbose { usize::MAX } else { SHOWN };
    let (known_bugs, unknown): (Vec<_>, Vec<_>) =
        report.divergences.iter().partition(|d| known(d).is_some());
    for d in &known_bugs {
        let bug = known(d).map_or("?", |k| k.bug);
        println!("{name}: known simulator bug {bug}: {d}");
    }
    for d in unknown.iter().take(shown) {
        println!("{name}: DIVERGENCE {d}");
    }
    if unknown.len() > shown {
        println!("{name}: ... {} more", unknown.len() - shown);
    }
    if known_bugs.is_empty() {
        println!("{name}: {}", report.summary());
    } else {
        println!(
            "{name}: {} ({} known simulator bugs, docs/sim-vs-xen.md)",
            report.summary(),
            known_bugs.len()
        );
    }
    if unknown.is_empty() && (!strict || known_bugs.is_empty()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
