// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The INF check over our template, expanded as `scripts/gen-inf` does, and the catalog read
//! back.

use package_tool::catalog::{CatalogSpec, Kind, Member, read_members, unsigned_catalog};
use package_tool::inf::Inf;
use package_tool::inf_check::{Options, check_inf};

/// The template with `values` for its tokens; a line with an empty token is dropped.
fn expand(values: &[(&str, &str)]) -> String {
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../inf/xenbus.inx"))
            .unwrap();
    let mut out = String::new();
    'line: for line in template.lines() {
        let mut line = line.to_owned();
        for (k, v) in values {
            let token = format!("@{k}@");
            if line.contains(&token) {
                if v.is_empty() {
                    continue 'line;
                }
                line = line.replace(&token, v);
            }
        }
        assert!(!line.contains('@'), "unexpanded token in {line}");
        out.push_str(&line);
        out.push_str("\r\n");
    }
    out
}

fn tokens(force: &str, vendor: &str, monitor: &str) -> Vec<(&'static str, String)> {
    vec![
        ("VENDOR_NAME", "Xen Project".into()),
        ("PRODUCT_NAME", "Xen".into()),
        ("MAJOR_VERSION", "9".into()),
        ("MINOR_VERSION", "1".into()),
        ("MICRO_VERSION", "0".into()),
        ("BUILD_NUMBER", "7".into()),
        ("INF_DATE", "06/01/2026".into()),
        ("INF_ARCH", "amd64".into()),
        ("FORCE_ACTIVATE", force.into()),
        ("VENDOR_DEVICE_ID", vendor.into()),
        ("MONITOR", monitor.into()),
    ]
}

fn failures(inf: &str, options: &Options) -> Vec<String> {
    check_inf(&Inf::parse(inf), options)
        .into_iter()
        .filter_map(|c| c.failure.map(|f| format!("{}: {f}", c.what)))
        .collect()
}

fn options(force: bool, vendor: Option<&str>, monitor: bool) -> Options {
    Options {
        version: [9, 1, 0, 7],
        monitor,
        force_activate: force,
        vendor_device: vendor.map(Into::into),
        arch: "amd64".into(),
    }
}

#[test]
fn template_matches_upstream_in_every_variant() {
    for (force, vendor, monitor) in [
        ("", "", ""),
        ("1", "C000", "1"),
        ("", "C000", ""),
        ("1", "", "1"),
    ] {
        let t = tokens(force, vendor, monitor);
        let values: Vec<(&str, &str)> = t.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let inf = expand(&values);
        let o = options(
            !force.is_empty(),
            (!vendor.is_empty()).then_some(vendor),
            !monitor.is_empty(),
        );
        assert_eq!(
            failures(&inf, &o),
            Vec::<String>::new(),
            "{force}/{vendor}/{monitor}"
        );
    }
}

#[test]
fn separate_model_lines_and_a_stale_version_fail() {
    let t = tokens("", "", "");
    let values: Vec<(&str, &str)> = t.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let inf = expand(&values).replace(
        "%XenBusName%=XenBus_Inst,\\\r\nPCI\\VEN_5853&DEV_0002,\\\r\n",
        "%XenBusName%=XenBus_Inst,PCI\\VEN_5853&DEV_0002\r\n%XenBusName%=XenBus_Inst,\\\r\n",
    );
    let mut o = options(false, None, false);
    o.version = [9, 1, 0, 8];
    let f = failures(&inf, &o);
    assert!(
        f.iter()
            .any(|f| f.starts_with("[Inst.NT<arch>] has one model line")),
        "{f:?}"
    );
    assert!(
        f.iter()
            .any(|f| f.starts_with("[Version] DriverVer version")),
        "{f:?}"
    );
}

#[test]
fn catalog_lists_every_member_by_name_and_digest() {
    let pe = pe_image::builder::ImageBuilder::driver().build();
    let spec = CatalogSpec {
        members: vec![
            Member::of_file("xen.sys", &pe).unwrap(),
            Member::of_file("xenbus.inf", b"[Version]\r\n").unwrap(),
        ],
        hardware_ids: vec!["PCI\\VEN_5853&DEV_0002".into()],
        os: "_v100_X64".into(),
        os_attr: "2:10.0".into(),
        time: 1_780_000_000,
    };
    assert_eq!(spec.members[0].kind, Kind::Pe);
    assert_eq!(spec.members[1].kind, Kind::Flat);
    let cat = unsigned_catalog(&spec).unwrap();
    assert_eq!(unsigned_catalog(&spec).unwrap(), cat, "reproducible");
    let mut listed = read_members(&cat).unwrap();
    listed.sort();
    let mut want: Vec<_> = spec
        .members
        .iter()
        .map(|m| (m.name.clone(), m.digest.clone()))
        .collect();
    want.sort();
    assert_eq!(listed, want);
    let mut dup = spec;
    dup.members.push(Member::of_file("copy.sys", &pe).unwrap());
    assert!(
        unsigned_catalog(&dup)
            .unwrap_err()
            .contains("same contents")
    );
}
