// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Building the C programs the C-caller tests run.
//!
//! xen.sys's exports through `include/xen.h`, the child driver against the interface headers
//! and kprintf's variadic callers are compiled with the same host compiler and the same
//! strictness as the probe: C11, `-Wall -Wextra -Werror`.

use std::path::Path;
use std::process::Command;

use crate::Error;

/// What to build.
#[derive(Clone, Copy, Debug)]
pub struct CProgram<'a> {
    /// The C source.
    pub source: &'a Path,
    /// The executable or shared library to write.
    pub output: &'a Path,
    /// `-I` directories, in order.
    pub includes: &'a [&'a Path],
    /// A library to link, `(directory, name)`: `-L dir -lname` with the directory as rpath.
    pub link: Option<(&'a Path, &'a str)>,
    /// Build a shared library (`-shared -fPIC`) instead of an executable.
    pub shared: bool,
    /// `-O` level.
    pub opt_level: u32,
}

/// Compiles `program`.
///
/// # Errors
/// [`Error::Probe`] with the compiler's diagnostics when no compiler is found or it fails.
pub fn build(program: &CProgram<'_>) -> Result<(), Error> {
    let compiler = cc::Build::new()
        .cargo_metadata(false)
        .target(env!("XEN_ABI_CHECK_TARGET"))
        .host(env!("XEN_ABI_CHECK_HOST"))
        .opt_level(program.opt_level)
        .debug(false)
        .warnings(false)
        .try_get_compiler()
        .map_err(|e| Error::Probe(format!("no C compiler: {e}")))?;
    let mut cmd: Command = compiler.to_command();
    if program.shared {
        cmd.args(["-shared", "-fPIC"]);
    }
    cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(program.output);
    for dir in program.includes {
        cmd.arg("-I").arg(dir);
    }
    cmd.arg(program.source);
    if let Some((dir, name)) = program.link {
        cmd.arg("-L")
            .arg(dir)
            .arg(format!("-l{name}"))
            .arg(format!("-Wl,-rpath,{}", dir.display()));
    }
    let out = cmd
        .output()
        .map_err(|e| Error::Probe(format!("cannot start the C compiler: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Probe(format!(
            "compiling {} failed ({}):\n{}",
            program.source.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}
