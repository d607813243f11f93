// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `cargo run -p pe-image --example dump -- FILE...`: prints what the parser reads from each PE
//! file (headers, sections, imports, exports, relocation and unwind counts, checksum), in a form
//! easy to compare with `x86_64-w64-mingw32-objdump -p FILE`.

use std::process::ExitCode;

use pe_image::{ExportTarget, Import, PeImage};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn dump(path: &str, data: &[u8]) -> Result<(), pe_image::Error> {
    let image = PeImage::parse(data)?;
    let fh = image.file_header();
    let oh = image.optional_header();
    println!("{path}:");
    println!(
        "  machine {:#06x} characteristics {:#06x} magic {:#05x}",
        fh.machine, fh.characteristics, oh.magic
    );
    println!(
        "  entry {:#x} image base {:#x} size of image {:#x} section alignment {:#x}",
        oh.entry_point, oh.image_base, oh.size_of_image, oh.section_alignment
    );
    println!(
        "  subsystem {} dll characteristics {:#06x} checksum {:#010x} computed {:#010x}",
        oh.subsystem,
        oh.dll_characteristics,
        oh.checksum,
        image.computed_checksum()
    );
    for s in image.sections() {
        println!(
            "  section {:<8} va {:#010x} vsize {:#010x} raw {:#010x}+{:#x} flags {:#010x}{}{}",
            text(s.name()),
            s.virtual_address,
            s.virtual_size,
            s.pointer_to_raw_data,
            s.size_of_raw_data,
            s.characteristics,
            if s.is_writable() { " W" } else { "" },
            if s.is_executable() { " X" } else { "" },
        );
    }
    for i in 0..image.data_directory_count() {
        if let Some(d) = image.data_directory(i) {
            println!("  directory {i:2} rva {:#010x} size {:#x}", d.rva, d.size);
        }
    }
    for descriptor in image.imports() {
        let descriptor = descriptor?;
        println!("  import {}", text(descriptor.dll));
        for entry in descriptor.entries() {
            match entry?.import {
                Import::Name { hint, name } => println!("    {hint:5} {}", text(name)),
                Import::Ordinal(ordinal) => println!("    #{ordinal}"),
            }
        }
    }
    if let Some(exports) = image.exports()? {
        println!(
            "  exports of {} (base {}, {} functions, {} names)",
            text(exports.dll),
            exports.ordinal_base,
            exports.function_count(),
            exports.name_count()
        );
        for export in exports.names() {
            let export = export?;
            match export.target {
                ExportTarget::Rva(rva) => {
                    println!("    {:5} {rva:#010x} {}", export.ordinal, text(export.name));
                }
                ExportTarget::Forwarder(to) => println!(
                    "    {:5} {} -> {}",
                    export.ordinal,
                    text(export.name),
                    text(to)
                ),
            }
        }
    }
    let (mut blocks, mut fixups, mut dir64) = (0usize, 0usize, 0usize);
    for block in image.base_relocations()? {
        let block = block?;
        blocks += 1;
        for r in block.entries().filter(|r| !r.is_padding()) {
            fixups += 1;
            dir64 += usize::from(r.is_dir64());
        }
    }
    println!("  relocations: {blocks} blocks, {fixups} fix-ups, {dir64} DIR64");
    let mut functions = 0usize;
    for f in image.runtime_functions()? {
        f?;
        functions += 1;
    }
    println!("  runtime functions: {functions}");
    Ok(())
}

fn main() -> ExitCode {
    let mut status = ExitCode::SUCCESS;
    for path in std::env::args().skip(1) {
        match std::fs::read(&path) {
            Ok(data) => {
                if let Err(e) = dump(&path, &data) {
                    println!("{path}: {e}");
                    status = ExitCode::FAILURE;
                }
            }
            Err(e) => {
                println!("{path}: {e}");
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}
