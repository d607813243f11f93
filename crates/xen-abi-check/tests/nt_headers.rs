// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The kernel-bindings proof: every table entry against mingw-w64's DDK headers, compiled for
//! x64 Windows to assembly. Without the cross compiler or headers the tests say so loudly and
//! pass, unless `NT_ABI_REQUIRED=1` (CI), where their absence is a failure.

use xen_abi_check::{Error, Item, Value, nt};

fn required() -> bool {
    std::env::var("NT_ABI_REQUIRED").is_ok_and(|v| v == "1")
}

fn skip(e: &Error, what: &str) {
    eprintln!(
        "\n*** SKIPPED: {e}: {what} NOT exercised (NT_ABI_REQUIRED=1 makes this a failure). ***\n"
    );
}

#[test]
fn every_size_offset_bit_and_constant_matches_the_ddk_headers() {
    match nt::run() {
        Ok(report) => {
            let mismatches: Vec<String> =
                report
                    .report
                    .mismatches()
                    .map(|o| format!("{}: C {}, Rust {}", o.item.c_expr, o.c, o.item.rust))
                    .chain(report.exemptions.iter().filter(|e| !e.matches()).map(|e| {
                        format!("{}: documented {}, Rust {}", e.c_expr, e.documented, e.rust)
                    }))
                    .collect();
            println!("{}", report.summary());
            assert!(
                mismatches.is_empty(),
                "{} mismatches:\n{}",
                mismatches.len(),
                mismatches.join("\n")
            );
            assert!(
                report.report.uncovered.is_empty(),
                "ntddk.h macros with no table entry (check them or excuse them with a reason):\n{}",
                report.report.uncovered.join("\n")
            );
            assert!(report.checked() >= 300, "{}", report.summary());
            assert!(report.passed());
        }
        Err(e @ Error::Missing(_)) if !required() => skip(&e, "the kernel-bindings check"),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_wrong_rust_value_is_reported_as_a_mismatch() {
    let compiler = match nt::compiler() {
        Ok(compiler) => compiler,
        Err(e @ Error::Missing(_)) if !required() => {
            skip(&e, "mismatch detection");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let item = |c_expr: &str, rust: i128| Item {
        c_expr: c_expr.into(),
        rust: Value::Int(rust),
    };
    let items = vec![
        item("sizeof(IRP)", 208),
        item("sizeof(IRP)", 200),
        item(
            "offsetof(IO_STACK_LOCATION, Parameters.QueryInterface.Version)",
            18,
        ),
        item(
            "offsetof(IO_STACK_LOCATION, Parameters.QueryInterface.Version)",
            16,
        ),
        item("CM_RESOURCE_MEMORY_LARGE_64_MAXLEN", 0xFFFF_FFFF_0000_0000),
        item("CM_RESOURCE_MEMORY_LARGE_64_MAXLEN", -0x1_0000_0000),
        item("STATUS_PENDING", 0x103),
        item("STATUS_UNSUCCESSFUL", -0x3FFF_FFFF),
        item("STATUS_UNSUCCESSFUL", 0xC000_0001),
    ];
    let report = nt::run_items(&compiler, items).unwrap();
    let matched: Vec<bool> = report
        .outcomes
        .iter()
        .map(xen_abi_check::Outcome::matches)
        .collect();
    assert_eq!(
        matched,
        [true, false, true, false, true, false, true, true, false]
    );
    assert_eq!(
        report.summary_for(nt::NAME),
        "nt-abi: 9 checked, 4 mismatches"
    );
}

#[test]
fn an_expression_that_is_not_a_constant_names_its_item() {
    let compiler = match nt::compiler() {
        Ok(compiler) => compiler,
        Err(e @ Error::Missing(_)) if !required() => {
            skip(&e, "probe error reporting");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let items = vec![
        Item {
            c_expr: "sizeof(KEVENT)".into(),
            rust: Value::Int(24),
        },
        Item {
            c_expr: "NO_SUCH_MACRO_ANYWHERE".into(),
            rust: Value::Int(0),
        },
    ];
    match nt::run_items(&compiler, items) {
        Err(Error::Probe(msg)) => assert!(msg.contains("item 1: NO_SUCH_MACRO_ANYWHERE"), "{msg}"),
        other => panic!("expected a probe error, got {other:?}"),
    }
}
