// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Real-peer test (a `harness = false` target): the store suite against Debian's real daemons.
//!
//! Prints one line per daemon, `xenstored-c: N passed, 0 failed` and
//! `xenstored-ocaml: N passed, 0 failed`. Usage:
//! `cargo test -p xenstored-harness --test xenstored-suite -- [c|ocaml|all] [--filter TEXT]`.
//! A daemon that cannot run here is reported as SKIPPED (a failure when
//! `XENSTORED_REQUIRED=1`). Exit status: 0 if nothing failed.

use std::process::ExitCode;

use xenstored_harness::{Impl, suite, unavailable};

fn main() -> ExitCode {
    let mut which = Impl::ALL.to_vec();
    let mut filter = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--filter" {
            filter = args.next();
        } else if arg == "all" {
            which = Impl::ALL.to_vec();
        } else if let Some(imp) = Impl::parse(&arg) {
            which = vec![imp];
        } else if !arg.starts_with('-') {
            eprintln!("usage: xenstored-suite [c|ocaml|all] [--filter TEXT]");
            return ExitCode::from(2);
        }
        // Other flags come from `cargo test` (`--quiet`, `--nocapture`...): ignored.
    }
    // Never hang: a whole run takes about a second; give up loudly after two minutes (the
    // daemons die with us, see `Daemon::start`).
    std::thread::spawn(|| {
        std::thread::sleep(std::time::Duration::from_mins(2));
        println!("xenstored-suite: TIMED OUT after 120 s");
        std::process::exit(1);
    });
    let required = std::env::var("XENSTORED_REQUIRED").is_ok_and(|v| v == "1");
    let mut bad = false;
    for imp in which {
        if let Some(why) = unavailable(imp) {
            println!(
                "{}: SKIPPED (set XENSTORED_REQUIRED=1 to fail instead): {why}",
                imp.name()
            );
            bad |= required;
            continue;
        }
        match suite::run(imp, filter.as_deref()) {
            Ok(outcome) => {
                for (name, why) in &outcome.failed {
                    println!("{}: FAILED {name}: {why}", imp.name());
                }
                println!(
                    "{}: {} passed, {} failed",
                    imp.name(),
                    outcome.passed,
                    outcome.failed.len()
                );
                bad |= !outcome.failed.is_empty();
            }
            Err(why) => {
                println!("{}: could not start: {why}", imp.name());
                bad = true;
            }
        }
    }
    if bad {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
