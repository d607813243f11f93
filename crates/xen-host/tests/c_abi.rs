// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! xen.sys's exported C ABI, called from C: `tests/c/xen_abi.c` is compiled with the `cc`
//! crate's compiler against `crates/xen/include/xen.h` and this crate's `include/xen_host.h`,
//! linked against this crate's cdylib (`libxen_host.so`: the `xen` crate's exports plus the host
//! seam) and run. It stands in for Xen and Windows through the host seam and checks argument
//! marshalling, NTSTATUS mapping, the log, unplug and start-option exports end to end.
//!
//! The fake hypervisor decodes hypercall arguments with Xen's own public headers (libxen-dev, or
//! `XEN_INCLUDE`). Without them the test says so loudly and passes, unless `XEN_ABI_REQUIRED=1`
//! (CI), where that is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

use xen_abi_check::c_program::CProgram;

fn required() -> bool {
    std::env::var("XEN_ABI_REQUIRED").is_ok_and(|v| v == "1")
}

/// A directory from which `<xen/xen.h>` is reachable.
fn xen_include() -> Option<PathBuf> {
    let candidates = std::env::var_os("XEN_INCLUDE")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from("/usr/include")]);
    candidates
        .into_iter()
        .find(|dir| dir.join("xen/xen.h").is_file())
}

/// The host cdylib's file name.
const LIBRARY: &str = "libxen_host.so";

/// `crates/xen/include`, where xen.sys's own header lives.
fn xen_header_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../xen/include")
}

/// The directory holding the host cdylib built for this test run.
fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("deps directory").to_path_buf();
    assert!(
        deps.join(LIBRARY).is_file(),
        "{LIBRARY} not found next to {}",
        exe.display()
    );
    deps
}

fn build_c_program(include: &Path, lib_dir: &Path) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = manifest.join("tests/c/xen_abi.c");
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("xen-c-abi");
    std::fs::create_dir_all(&out_dir).unwrap();
    let exe = out_dir.join("xen_abi");
    xen_abi_check::c_program::build(&CProgram {
        source: &src,
        output: &exe,
        includes: &[&manifest.join("include"), &xen_header_dir(), include],
        link: Some((lib_dir, "xen_host")),
        shared: false,
        opt_level: 1,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    exe
}

#[test]
fn c_program_calls_every_export_family_through_the_header() {
    let Some(include) = xen_include() else {
        assert!(
            !required(),
            "Xen public headers missing (XEN_ABI_REQUIRED=1)"
        );
        eprintln!(
            "\n*** SKIPPED: no Xen public headers (<xen/xen.h>); install libxen-dev or set \
             XEN_INCLUDE (XEN_ABI_REQUIRED=1 makes this a failure). ***\n"
        );
        return;
    };
    let lib_dir = library_dir();
    let exe = build_c_program(&include, &lib_dir);
    // Cargo's LD_LIBRARY_PATH would win over the rpath and may find a stale libxen_host.so (e.g.
    // the uplifted one in target/debug); load exactly the library this test run built.
    let output = Command::new(&exe)
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    let summary = stdout
        .lines()
        .find_map(|l| l.strip_prefix("xen c abi: "))
        .unwrap_or_else(|| panic!("no summary line ({}):\n{stdout}\n{stderr}", output.status));
    let passed: u32 = summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(output.status.success(), "C checks failed:\n{stdout}");
    assert!(summary.ends_with(" 0 failed"), "{summary}");
    assert!(passed >= 150, "only {passed} checks ran");
}

/// The C program reaches the real exports: every function `crates/xen/include/xen.h` declares
/// is defined and exported by the library it links, under upstream's name. (xen.sys's own
/// export table is audited by `scripts/check-images`.)
#[test]
fn library_exports_every_header_function() {
    let lib = library_dir().join(LIBRARY);
    let header = std::fs::read_to_string(xen_header_dir().join("xen.h")).unwrap();
    let declared: Vec<&str> = header
        .lines()
        .filter_map(|l| l.strip_prefix("XEN_API "))
        .filter_map(|l| l.split('(').next())
        .filter_map(|l| l.split_whitespace().last())
        .map(|n| n.trim_start_matches('*'))
        .collect();
    assert_eq!(declared.len(), 64, "{declared:?}");
    let nm = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&lib)
        .output();
    let Ok(nm) = nm else {
        eprintln!("*** nm not available; export list not checked ***");
        return;
    };
    let symbols = String::from_utf8_lossy(&nm.stdout);
    let defined: Vec<&str> = symbols
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    for name in &declared {
        assert!(defined.contains(name), "{name} is not exported");
    }
    let seam =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/xen_host.h"))
            .unwrap();
    let host: Vec<&str> = seam
        .lines()
        .filter_map(|l| l.split('(').next())
        .filter_map(|l| l.split_whitespace().last())
        .filter(|n| n.starts_with("XenHost"))
        .collect();
    assert_eq!(host.len(), 5, "{host:?}");
    for name in &host {
        assert!(defined.contains(name), "{name} is not exported");
    }
}
