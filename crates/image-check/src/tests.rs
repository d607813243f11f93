// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The checks over synthetic images: a good set passes, each bad image yields exactly its
//! problems.

use pe_image::builder::{
    CODE, ChecksumSpec, ExportSpec, ImageBuilder, ImportDll, ImportSpec, SectionSpec,
};
use pe_image::{PeImage, file_characteristics, machine, magic, section_flags, subsystem};

use crate::reference::{HAL, KernelExports, NTOSKRNL};
use crate::version::{ExpectedVersion, check_version};
use crate::{Expectations, Summary, check_images, summarize};

fn kernel() -> KernelExports {
    let mut k = KernelExports::new();
    k.add(
        NTOSKRNL,
        [
            "ExAllocatePoolWithTag",
            "KeBugCheckEx",
            "IofCompleteRequest",
        ],
    );
    k.add(HAL, ["KeStallExecutionProcessor"]);
    k
}

fn xen_api() -> Vec<String> {
    vec!["XenTouch".into(), "LogPrintf".into()]
}

fn good_xen() -> ImageBuilder {
    let mut b = ImageBuilder::driver()
        .import("ntoskrnl.exe", &["ExAllocatePoolWithTag"])
        .import("HAL.dll", &["KeStallExecutionProcessor"])
        .export(
            "xen.sys",
            &["DllInitialize", "DllUnload", "XenTouch", "LogPrintf"],
        );
    b.characteristics |= file_characteristics::DLL;
    b
}

fn good_xenbus() -> ImageBuilder {
    ImageBuilder::driver()
        .import("ntoskrnl.exe", &["KeBugCheckEx", "IofCompleteRequest"])
        .import("xen.sys", &["XenTouch", "LogPrintf"])
}

fn good_xenfilt() -> ImageBuilder {
    ImageBuilder::driver()
        .import("xen.sys", &["XenTouch"])
        .import("hal.dll", &["KeStallExecutionProcessor"])
}

/// Runs the checks over the three images (`None`: missing) and returns the problem lines.
fn run(xen: Option<&[u8]>, xenbus: Option<&[u8]>, xenfilt: Option<&[u8]>) -> Vec<String> {
    let kernel = kernel();
    let api = xen_api();
    let (_, problems) = check_images(
        &[
            ("xen.sys", xen),
            ("xenbus.sys", xenbus),
            ("xenfilt.sys", xenfilt),
        ],
        &Expectations {
            kernel: &kernel,
            xen_api: &api,
            version: None,
        },
    );
    problems.iter().map(ToString::to_string).collect()
}

/// Checks `image` in the slot of `name` with the good images in the other two.
fn problems_of(name: &str, image: &ImageBuilder) -> Vec<String> {
    let bytes = image.build();
    let [xen, xenbus, xenfilt] = [good_xen(), good_xenbus(), good_xenfilt()].map(|b| b.build());
    match name {
        "xen.sys" => run(Some(&bytes), Some(&xenbus), Some(&xenfilt)),
        "xenbus.sys" => run(Some(&xen), Some(&bytes), Some(&xenfilt)),
        _ => run(Some(&xen), Some(&xenbus), Some(&bytes)),
    }
}

#[test]
fn good_images_have_no_problems_and_summarize() {
    let [xen, xenbus, xenfilt] = [good_xen(), good_xenbus(), good_xenfilt()].map(|b| b.build());
    assert_eq!(
        run(Some(&xen), Some(&xenbus), Some(&xenfilt)),
        Vec::<String>::new()
    );
    let kernel = kernel();
    let api = xen_api();
    let (summaries, _) = check_images(
        &[
            ("xen.sys", Some(&xen)),
            ("xenbus.sys", Some(&xenbus)),
            ("xenfilt.sys", Some(&xenfilt)),
        ],
        &Expectations {
            kernel: &kernel,
            xen_api: &api,
            version: None,
        },
    );
    let lines: Vec<String> = summaries.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            format!(
                "xen.sys: {} bytes, 2 imports (1 ntoskrnl.exe, 1 HAL.dll, 0 xen.sys)",
                xen.len()
            ),
            format!(
                "xenbus.sys: {} bytes, 4 imports (2 ntoskrnl.exe, 0 HAL.dll, 2 xen.sys)",
                xenbus.len()
            ),
            format!(
                "xenfilt.sys: {} bytes, 2 imports (0 ntoskrnl.exe, 1 HAL.dll, 1 xen.sys)",
                xenfilt.len()
            ),
        ]
    );
    assert_eq!(summarize("xenbus.sys", Some(&xenbus)).to_string(), lines[1]);
    assert_eq!(
        summarize("xen.sys", None),
        Summary::Missing {
            name: "xen.sys".into()
        }
    );
    assert_eq!(summarize("xen.sys", None).to_string(), "xen.sys: missing");
    assert!(
        summarize("xen.sys", Some(b"MZ"))
            .to_string()
            .starts_with("xen.sys: 2 bytes, not a PE image (")
    );
}

#[test]
fn bad_headers_each_reported() {
    let mut b = good_xenfilt();
    b.magic = magic::PE32;
    b.machine = machine::I386;
    b.image_base = 0x1_0000;
    b.subsystem = subsystem::WINDOWS_CUI;
    b.entry_point = Some(0);
    b.checksum = ChecksumSpec::Value(0);
    b.relocations = None;
    b.pdata = false;
    b.dll_characteristics = 0;
    b.sections.push(SectionSpec {
        name: ".wx".into(),
        characteristics: CODE | section_flags::MEM_WRITE,
        data: vec![0xc3; 4],
    });
    let computed = PeImage::parse(&b.build()).unwrap().computed_checksum();
    assert_eq!(
        problems_of("xenfilt.sys", &b),
        [
            "xenfilt.sys: not PE32+: optional header magic 0x10b (PE32+ is 0x20b)".to_owned(),
            "xenfilt.sys: machine 0x014c, not AMD64 (0x8664)".to_owned(),
            "xenfilt.sys: subsystem 3, not NATIVE (1)".to_owned(),
            "xenfilt.sys: no entry point (AddressOfEntryPoint is 0)".to_owned(),
            format!(
                "xenfilt.sys: checksum is 0, not set (should be {computed:#010x}; link with /RELEASE)"
            ),
            "xenfilt.sys: no .reloc section".to_owned(),
            "xenfilt.sys: base relocation directory is missing or empty".to_owned(),
            "xenfilt.sys: no .pdata section".to_owned(),
            "xenfilt.sys: no exception directory (unwind data)".to_owned(),
            "xenfilt.sys: DllCharacteristics 0x0000 lacks NX_COMPAT (0x100)".to_owned(),
            "xenfilt.sys: DllCharacteristics 0x0000 lacks DYNAMIC_BASE (0x40)".to_owned(),
            "xenfilt.sys: DllCharacteristics 0x0000 lacks FORCE_INTEGRITY (0x80)".to_owned(),
            "xenfilt.sys: section .wx is both writable and executable".to_owned(),
        ]
    );
}

#[test]
fn wrong_checksum_and_entry_point_in_data() {
    let mut b = good_xenbus();
    b.checksum = ChecksumSpec::Value(0x1234);
    b.entry_point = Some(0x2000); // .data
    let computed = PeImage::parse(&b.build()).unwrap().computed_checksum();
    assert_eq!(
        problems_of("xenbus.sys", &b),
        [
            "xenbus.sys: entry point 0x2000 is not in an executable section".to_owned(),
            format!("xenbus.sys: checksum 0x00001234 stored, {computed:#010x} computed"),
        ]
    );
}

#[test]
fn a_patched_byte_breaks_the_checksum() {
    let mut bytes = good_xen().build();
    let last = bytes.len() - 1;
    bytes[last] = 0x5a;
    let image = PeImage::parse(&bytes).unwrap();
    let (stored, computed) = (image.optional_header().checksum, image.computed_checksum());
    let [xenbus, xenfilt] = [good_xenbus(), good_xenfilt()].map(|b| b.build());
    assert_eq!(
        run(Some(&bytes), Some(&xenbus), Some(&xenfilt)),
        [format!(
            "xen.sys: checksum {stored:#010x} stored, {computed:#010x} computed"
        )]
    );
}

#[test]
fn imports_outside_the_kernel_and_xen_sys() {
    let mut b = good_xenbus()
        .import("kernel32.dll", &["ExitProcess", "Sleep"])
        .import("ntdll.dll", &["RtlZeroMemory"])
        .import(
            "ntoskrnl.exe",
            &["ExAllocatePool2", "KeStallExecutionProcessor"],
        )
        .import("xen.sys", &["SchedYield"]);
    b.imports.push(ImportDll {
        dll: "NTOSKRNL.EXE".into(),
        symbols: vec![
            ImportSpec::Ordinal(12),
            ImportSpec::Name("KeBugCheckEx".into()),
        ],
    });
    b.imports.push(ImportDll {
        dll: "xen.sys".into(),
        symbols: vec![ImportSpec::Ordinal(3)],
    });
    assert_eq!(
        problems_of("xenbus.sys", &b),
        [
            "xenbus.sys: imports from kernel32.dll (2 routines); only ntoskrnl.exe, HAL.dll and \
             xen.sys are allowed",
            "xenbus.sys: imports from ntdll.dll (1 routine); only ntoskrnl.exe, HAL.dll and \
             xen.sys are allowed",
            "xenbus.sys: imports ExAllocatePool2 from ntoskrnl.exe, which is not in the kernel \
             export reference",
            "xenbus.sys: imports KeStallExecutionProcessor from ntoskrnl.exe, which is not in \
             the kernel export reference",
            "xenbus.sys: imports SchedYield from xen.sys, which xen.sys does not export",
            "xenbus.sys: imports ordinal #12 from NTOSKRNL.EXE (not by name)",
            "xenbus.sys: imports ordinal #3 from xen.sys (not by name)",
        ]
    );
}

#[test]
fn xen_sys_imports_nothing_from_itself() {
    let b = good_xen().import("XEN.SYS", &["XenTouch"]);
    assert_eq!(
        problems_of("xen.sys", &b),
        ["xen.sys: imports from itself (XEN.SYS)"]
    );
}

#[test]
fn xen_sys_export_table() {
    let mut b = good_xen();
    b.exports = Some(ExportSpec {
        dll: "xen.dll".into(),
        names: vec![
            "DllInitialize".into(),
            "XenTouch".into(),
            "rust_begin_unwind".into(),
        ],
        forwarders: vec![("LogPrintf".into(), "ntoskrnl.DbgPrint".into())],
        unnamed: 1,
    });
    // xenbus.sys imports LogPrintf, which xen.sys still exports (as a forwarder).
    assert_eq!(
        problems_of("xen.sys", &b),
        [
            "xen.sys: export table names xen.dll, not xen.sys",
            "xen.sys: does not export DllUnload",
            "xen.sys: export LogPrintf forwards to ntoskrnl.DbgPrint",
            "xen.sys: exports rust_begin_unwind, which is neither a XEN_API function nor \
             DllInitialize/DllUnload (leaked symbol)",
            "xen.sys: exports ordinal #5 without a name (leaked symbol)",
        ]
    );
    // Without XenTouch, its importers are reported too.
    b.exports = Some(ExportSpec {
        dll: "xen.sys".into(),
        names: vec![
            "DllInitialize".into(),
            "DllUnload".into(),
            "LogPrintf".into(),
        ],
        ..ExportSpec::default()
    });
    assert_eq!(
        problems_of("xen.sys", &b),
        [
            "xen.sys: does not export XenTouch (XEN_API in crates/xen/include/xen.h)",
            "xenbus.sys: imports XenTouch from xen.sys, which xen.sys does not export",
            "xenfilt.sys: imports XenTouch from xen.sys, which xen.sys does not export",
        ]
    );
    b.exports = None;
    assert_eq!(
        problems_of("xen.sys", &b),
        [
            "xen.sys: no export table",
            "xenbus.sys: imports XenTouch from xen.sys, which xen.sys does not export",
            "xenbus.sys: imports LogPrintf from xen.sys, which xen.sys does not export",
            "xenfilt.sys: imports XenTouch from xen.sys, which xen.sys does not export",
        ]
    );
}

#[test]
fn drivers_export_nothing() {
    let mut b = good_xenfilt().export("xenfilt.sys", &["DriverEntry"]);
    if let Some(e) = b.exports.as_mut() {
        e.unnamed = 1;
    }
    assert_eq!(
        problems_of("xenfilt.sys", &b),
        [
            "xenfilt.sys: exports DriverEntry (leaked symbol: a driver exports nothing)",
            "xenfilt.sys: exports ordinal #2 (leaked symbol: a driver exports nothing)",
        ]
    );
}

#[test]
fn missing_and_unreadable_images() {
    let xen = good_xen().build();
    assert_eq!(
        run(Some(&xen), None, Some(b"not a PE image")),
        [
            "xenbus.sys: missing",
            "xenfilt.sys: not a PE image: DOS header e_magic: bad signature 0x6f6e at file offset 0x0",
        ]
    );
    // With xen.sys missing, imports from it cannot be checked; only the absence is reported.
    let [xenbus, xenfilt] = [good_xenbus(), good_xenfilt()].map(|b| b.build());
    assert_eq!(
        run(None, Some(&xenbus), Some(&xenfilt)),
        ["xen.sys: missing"]
    );
}

#[test]
fn corrupt_tables_are_problems_not_panics() {
    let mut bytes = good_xenbus().build();
    let (reloc_at, name_at) = {
        let image = PeImage::parse(&bytes).unwrap();
        let reloc = image
            .data_directory(pe_image::directory::BASERELOC)
            .unwrap();
        let import = image.data_directory(pe_image::directory::IMPORT).unwrap();
        (
            image.rva_to_offset(reloc.rva).unwrap() + 4,
            // The second DLL's name.
            image.rva_to_offset(import.rva).unwrap() + 20 + 12,
        )
    };
    bytes[reloc_at..reloc_at + 4].copy_from_slice(&0u32.to_le_bytes());
    bytes[name_at..name_at + 4].copy_from_slice(&0x00ff_0000u32.to_le_bytes());
    let image = PeImage::parse(&bytes).unwrap();
    let (stored, computed) = (image.optional_header().checksum, image.computed_checksum());
    let [xen, xenfilt] = [good_xen(), good_xenfilt()].map(|b| b.build());
    assert_eq!(
        run(Some(&xen), Some(&bytes), Some(&xenfilt)),
        [
            format!("xenbus.sys: checksum {stored:#010x} stored, {computed:#010x} computed"),
            "xenbus.sys: base relocations: base relocation block SizeOfBlock (too small or odd): \
             bad entry 0x0 at RVA 0x5000"
                .to_owned(),
            "xenbus.sys: import table: import DLL name: 1 bytes at RVA 0xff0000 are not in the \
             file's mapped data"
                .to_owned(),
        ]
    );
}

/// `b` with the version resource the build gives `name` at `version`.
fn with_version(mut b: ImageBuilder, name: &str, version: [u16; 4]) -> ImageBuilder {
    let info = driver_link::version_info(name, version, "Xen Project", "(c) Xen Project", false);
    b.resources = vec![(16, 1, 0x0409, info.to_bytes().unwrap())];
    b
}

/// The problems of the three images against package version 9.1.0.5 and vendor `Xen Project`.
fn version_problems(
    xen: &ImageBuilder,
    xenbus: &ImageBuilder,
    xenfilt: &ImageBuilder,
) -> Vec<String> {
    let kernel = kernel();
    let api = xen_api();
    let expected = ExpectedVersion {
        version: [9, 1, 0, 5],
        vendor: Some("Xen Project".into()),
    };
    let [xen, xenbus, xenfilt] = [xen, xenbus, xenfilt].map(ImageBuilder::build);
    let (_, problems) = check_images(
        &[
            ("xen.sys", Some(&xen)),
            ("xenbus.sys", Some(&xenbus)),
            ("xenfilt.sys", Some(&xenfilt)),
        ],
        &Expectations {
            kernel: &kernel,
            xen_api: &api,
            version: Some(&expected),
        },
    );
    problems.iter().map(ToString::to_string).collect()
}

const V: [u16; 4] = [9, 1, 0, 5];

#[test]
fn version_resources_with_the_package_version_pass() {
    let xen = with_version(good_xen(), "xen.sys", V);
    let xenbus = with_version(good_xenbus(), "xenbus.sys", V);
    let xenfilt = with_version(good_xenfilt(), "xenfilt.sys", V);
    assert_eq!(
        version_problems(&xen, &xenbus, &xenfilt),
        Vec::<String>::new()
    );
    let bytes = xen.build();
    let image = PeImage::parse(&bytes).unwrap();
    let expected = ExpectedVersion {
        version: V,
        vendor: None,
    };
    let (found, problems) = check_version(&image, "xen.sys", &expected);
    assert!(problems.is_empty());
    let found = found.unwrap();
    assert_eq!(found.version, V);
    assert_eq!(found.original_filename, "XEN.SYS");
    assert_eq!(found.company, "Xen Project");
}

#[test]
fn a_missing_or_stale_version_resource_is_a_problem() {
    let xen = good_xen();
    let xenbus = with_version(good_xenbus(), "xenbus.sys", [9, 1, 0, 4]);
    let xenfilt = with_version(good_xenfilt(), "xenbus.sys", V);
    assert_eq!(
        version_problems(&xen, &xenbus, &xenfilt),
        [
            "xen.sys: no resource directory (no version resource)",
            "xenbus.sys: version resource FILEVERSION 9.1.0.4, package version 9.1.0.5",
            "xenbus.sys: version resource PRODUCTVERSION 9.1.0.4, package version 9.1.0.5",
            "xenbus.sys: version resource FileVersion \"9.1.0.4\", expected \"9.1.0.5\"",
            "xenbus.sys: version resource ProductVersion \"9.1.0.4\", expected \"9.1.0.5\"",
            "xenfilt.sys: version resource InternalName \"XENBUS.SYS\", expected \"XENFILT.SYS\"",
            "xenfilt.sys: version resource OriginalFilename \"XENBUS.SYS\", expected \"XENFILT.SYS\"",
            "xenfilt.sys: version resource ProductName \"XENBUS\", expected \"XENFILT\"",
            "xenfilt.sys: version resource FileDescription \"XENBUS\", expected \"XENFILT\"",
        ]
    );
}

#[test]
fn a_vendor_other_than_the_infs_is_a_problem() {
    let info = driver_link::version_info("xen.sys", V, "Someone", "(c)", false);
    let mut xen = good_xen();
    xen.resources = vec![(16, 1, 0x0409, info.to_bytes().unwrap())];
    let xenbus = with_version(good_xenbus(), "xenbus.sys", V);
    let xenfilt = with_version(good_xenfilt(), "xenfilt.sys", V);
    assert_eq!(
        version_problems(&xen, &xenbus, &xenfilt),
        ["xen.sys: version resource CompanyName \"Someone\", expected \"Xen Project\""]
    );
}
