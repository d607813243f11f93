// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The INF check.
//!
//! Our generated `xenbus.inf` against what upstream's `src/xenbus.inf` installs for the same
//! build options. Every section upstream has (the monitor's when the monitor is
//! built, the filter set-up only in forced-activation builds), the version, the one model line
//! with the platform hardware IDs in upstream's order, the files and where they go, each
//! service with its type, start, error control, binary, group and registry values, and the
//! strings they use. Each assertion is one [`Check`].

use crate::inf::Inf;

/// The build options the INF was generated for (`scripts/gen-inf`'s environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Major, minor, micro, build: the package version.
    pub version: [u16; 4],
    /// `MONITOR`: the monitor service is in the package.
    pub monitor: bool,
    /// `FORCE_ACTIVATE`: the filter is installed from the first boot.
    pub force_activate: bool,
    /// `VENDOR_DEVICE_ID` (four hex digits), when set.
    pub vendor_device: Option<String>,
    /// `INF_ARCH` (`amd64`).
    pub arch: String,
}

/// One assertion and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub what: String,
    /// `None` when it holds, else what was found instead.
    pub failure: Option<String>,
}

#[derive(Default)]
struct Checks(Vec<Check>);

impl Checks {
    fn check(&mut self, what: impl Into<String>, failure: Option<String>) {
        self.0.push(Check {
            what: what.into(),
            failure,
        });
    }

    #[allow(
        clippy::needless_pass_by_value,
        reason = "callers build the values in place"
    )]
    fn eq<T: PartialEq + std::fmt::Debug>(&mut self, what: impl Into<String>, have: T, want: T) {
        let failure = (have != want).then(|| format!("found {have:?}, expected {want:?}"));
        self.check(what, failure);
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The lines of `section` without a key, as field lists.
fn entries(inf: &Inf, section: &str) -> Vec<Vec<String>> {
    inf.section(section)
        .map(|s| {
            s.lines
                .iter()
                .filter(|l| l.key.is_none())
                .map(|l| l.fields.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// The keys of `section`, in order.
fn keys(inf: &Inf, section: &str) -> Vec<String> {
    inf.section(section)
        .map(|s| s.lines.iter().filter_map(|l| l.key.clone()).collect())
        .unwrap_or_default()
}

/// A `DriverVer` date: `mm/dd/yyyy`.
fn is_inf_date(date: &str) -> bool {
    let parts: Vec<&str> = date.split('/').collect();
    let num = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
    matches!(parts.as_slice(), [m, d, y] if num(m, 2) && num(d, 2) && num(y, 4)
        && (1..=12).contains(&m.parse::<u8>().unwrap_or(0))
        && (1..=31).contains(&d.parse::<u8>().unwrap_or(0)))
}

const SYSTEM_CLASS: &str = "{4d36e97d-e325-11ce-bfc1-08002be10318}";
const HDC_CLASS: &str = "{4d36e96a-e325-11ce-bfc1-08002be10318}";
const REQUEST_KEY: &str = "SYSTEM\\CurrentControlSet\\Services\\xenbus_monitor\\Request";
const UNPLUG_KEY: &str = "SYSTEM\\CurrentControlSet\\Services\\XEN\\Unplug";

/// Runs every check of `inf` for the build `options`.
#[must_use]
#[allow(
    clippy::too_many_lines,
    reason = "one table of upstream's INF, read top to bottom like the INF"
)]
pub fn check_inf(inf: &Inf, options: &Options) -> Vec<Check> {
    let mut c = Checks::default();
    let [major, minor, micro, build] = options.version;
    let models = format!("Inst.NT{}", options.arch);

    // Sections: upstream's, in the variant built.
    let mut sections = vec![
        "Version",
        "DestinationDirs",
        "SourceDisksNames",
        "SourceDisksFiles",
        "XenBus_CopyFiles",
        "Manufacturer",
        models.as_str(),
        "XenBus_Inst",
        "XenBus_Inst.HW",
        "XenBus_Inst.Services",
        "XenBus_Service",
        "XenBus_Parameters",
        "XenBus_Interrupts",
        "XenBus_Unplug",
        "XenFilt_Service",
        "XenFilt_Parameters",
        "Strings",
    ];
    let monitor_sections = ["Monitor_CopyFiles", "Monitor_Service", "Monitor_Parameters"];
    if options.monitor {
        sections.extend(monitor_sections);
    }
    if options.force_activate {
        sections.push("XenFilt_Filters");
    }
    for s in &sections {
        c.check(
            format!("section [{s}]"),
            inf.section(s).is_none().then(|| "missing".into()),
        );
    }
    let mut unexpected: Vec<&str> = inf
        .sections
        .iter()
        .map(|s| s.name.as_str())
        .filter(|n| !sections.iter().any(|s| s.eq_ignore_ascii_case(n)))
        .collect();
    unexpected.sort_unstable();
    c.eq(
        "no section upstream lacks in this variant",
        unexpected,
        Vec::new(),
    );

    // [Version].
    for (key, want) in [
        ("Signature", "$Windows NT$"),
        ("Class", "System"),
        ("ClassGUID", SYSTEM_CLASS),
        ("CatalogFile", "xenbus.cat"),
        ("PnpLockdown", "1"),
    ] {
        c.eq(
            format!("[Version] {key}"),
            inf.value("Version", key),
            Some(want.to_owned()),
        );
    }
    let vendor = inf.value("Strings", "Vendor");
    c.eq(
        "[Version] Provider is %Vendor%",
        inf.value("Version", "Provider"),
        vendor.clone(),
    );
    c.check(
        "[Strings] Vendor is set",
        vendor
            .as_ref()
            .is_none_or(String::is_empty)
            .then(|| "empty or missing".into()),
    );
    c.eq(
        "[Version] DriverPackageDisplayName is %DiskDesc%",
        inf.value("Version", "DriverPackageDisplayName"),
        inf.value("Strings", "DiskDesc"),
    );
    let driver_ver = inf.values("Version", "DriverVer");
    let (date, version) = match driver_ver.first().map(Vec::as_slice) {
        Some([d, v]) => (d.clone(), v.clone()),
        _ => (String::new(), String::new()),
    };
    c.check(
        "[Version] DriverVer date is mm/dd/yyyy",
        (!is_inf_date(&date)).then(|| format!("found {date:?}")),
    );
    c.eq(
        "[Version] DriverVer version is the package version",
        version,
        format!("{major}.{minor}.{micro}.{build}"),
    );

    // Files.
    c.eq(
        "[DestinationDirs] DefaultDestDir",
        inf.value("DestinationDirs", "DefaultDestDir"),
        Some("12".into()),
    );
    c.eq(
        "[DestinationDirs] Monitor_CopyFiles",
        inf.value("DestinationDirs", "Monitor_CopyFiles"),
        options.monitor.then(|| "11".into()),
    );
    c.eq(
        "[SourceDisksNames] 0",
        inf.value("SourceDisksNames", "0"),
        inf.value("Strings", "DiskDesc"),
    );
    let mut files = strings(&["xen.sys", "xenbus.sys", "xenfilt.sys"]);
    if options.monitor {
        files.push("xenbus_monitor.exe".into());
    }
    c.eq(
        "[SourceDisksFiles] files",
        keys(inf, "SourceDisksFiles"),
        files.clone(),
    );
    for f in &files {
        c.eq(
            format!("[SourceDisksFiles] {f} on disk 0"),
            inf.value("SourceDisksFiles", f),
            Some("0,,".into()),
        );
    }
    c.eq(
        "[XenBus_CopyFiles] copies the three images",
        entries(inf, "XenBus_CopyFiles"),
        vec![
            strings(&["xen.sys"]),
            strings(&["xenbus.sys"]),
            strings(&["xenfilt.sys"]),
        ],
    );
    let monitor_exe = format!("xenbus_monitor_{major}_{minor}_{micro}_{build}.exe");
    if options.monitor {
        c.eq(
            "[Monitor_CopyFiles] copies the versioned monitor",
            entries(inf, "Monitor_CopyFiles"),
            vec![vec![monitor_exe.clone(), "xenbus_monitor.exe".into()]],
        );
    }

    // Models: one line, the platform IDs in upstream's order.
    c.eq(
        "[Manufacturer] %Vendor%=Inst,NT<arch>",
        inf.values("Manufacturer", vendor.as_deref().unwrap_or("%Vendor%")),
        vec![vec!["Inst".into(), format!("NT{}", options.arch)]],
    );
    let mut ids = vec!["XenBus_Inst".to_owned()];
    if let Some(id) = &options.vendor_device {
        ids.push(format!("PCI\\VEN_5853&DEV_{id}&SUBSYS_{id}5853&REV_01"));
    }
    ids.extend(strings(&[
        "PCI\\VEN_5853&DEV_0002",
        "PCI\\VEN_5853&DEV_0001",
    ]));
    let model_lines = inf
        .section(&models)
        .map(|s| s.lines.clone())
        .unwrap_or_default();
    c.eq("[Inst.NT<arch>] has one model line", model_lines.len(), 1);
    c.eq(
        "[Inst.NT<arch>] the model line's install section and hardware IDs",
        model_lines.first().map(|l| l.fields.clone()),
        Some(ids),
    );
    c.eq(
        "[Inst.NT<arch>] the model is %XenBusName%",
        model_lines.first().and_then(|l| l.key.clone()),
        inf.value("Strings", "XenBusName"),
    );

    // The install section.
    let mut copy = vec![strings(&["XenBus_CopyFiles"])];
    if options.monitor {
        copy.push(strings(&["Monitor_CopyFiles"]));
    }
    c.eq(
        "[XenBus_Inst] CopyFiles",
        inf.values("XenBus_Inst", "CopyFiles"),
        copy,
    );
    c.eq(
        "[XenBus_Inst] FeatureScore",
        inf.value("XenBus_Inst", "FeatureScore"),
        Some("0xFE".into()),
    );
    c.eq(
        "[XenBus_Inst.HW] AddReg",
        inf.value("XenBus_Inst.HW", "AddReg"),
        Some("XenBus_Interrupts".into()),
    );
    c.eq(
        "[XenBus_Interrupts] MSI and group policy",
        entries(inf, "XenBus_Interrupts"),
        vec![
            strings(&["HKR", "Interrupt Management", "", "0x00000010"]),
            strings(&[
                "HKR",
                "Interrupt Management\\MessageSignaledInterruptProperties",
                "",
                "0x00000010",
            ]),
            strings(&[
                "HKR",
                "Interrupt Management\\MessageSignaledInterruptProperties",
                "MSISupported",
                "0x00010001",
                "1",
            ]),
            strings(&[
                "HKR",
                "Interrupt Management\\GroupPolicy",
                "",
                "0x00010001",
                "1",
            ]),
        ],
    );

    // Services.
    let mut services = Vec::new();
    if options.monitor {
        services.push(strings(&[
            "xenbus_monitor",
            "0x00000800",
            "Monitor_Service",
        ]));
    }
    services.push(strings(&["xenbus", "0x00000002", "XenBus_Service"]));
    services.push(strings(&["xenfilt", "", "XenFilt_Service", ""]));
    c.eq(
        "[XenBus_Inst.Services] services (xen.sys has none)",
        inf.values("XenBus_Inst.Services", "AddService"),
        services,
    );
    for (section, binary) in [
        ("XenBus_Service", "xenbus.sys"),
        ("XenFilt_Service", "xenfilt.sys"),
    ] {
        for (key, want) in [
            ("ServiceType", "0x1"),
            ("StartType", "0x0"),
            ("ErrorControl", "0x1"),
            ("ServiceBinary", &format!("%12%\\{binary}")),
            ("LoadOrderGroup", "Boot Bus Extender"),
        ] {
            c.eq(
                format!("[{section}] {key}"),
                inf.value(section, key),
                Some(want.to_owned()),
            );
        }
    }
    c.eq(
        "[XenBus_Service] DisplayName",
        inf.value("XenBus_Service", "DisplayName"),
        inf.value("Strings", "XenBusName"),
    );
    c.eq(
        "[XenFilt_Service] DisplayName",
        inf.value("XenFilt_Service", "DisplayName"),
        inf.value("Strings", "XenFiltName"),
    );
    c.eq(
        "[XenBus_Service] AddReg",
        inf.values("XenBus_Service", "AddReg"),
        vec![strings(&["XenBus_Parameters", "XenBus_Unplug"])],
    );
    let mut filt_addreg = vec![strings(&["XenFilt_Parameters"])];
    if options.force_activate {
        filt_addreg.push(strings(&["XenFilt_Filters"]));
    }
    c.eq(
        "[XenFilt_Service] AddReg",
        inf.values("XenFilt_Service", "AddReg"),
        filt_addreg,
    );

    // Registry values.
    c.eq(
        "[XenBus_Parameters] classes and the request key",
        entries(inf, "XenBus_Parameters"),
        vec![
            strings(&["HKR", "Parameters", "", "0x00000010"]),
            strings(&[
                "HKR",
                "Parameters",
                "SupportedClasses",
                "0x00010000",
                "VIF",
                "VBD",
                "VKBD",
                "IFACE",
                "CONS",
            ]),
            strings(&[
                "HKR",
                "Parameters",
                "SyntheticClasses",
                "0x00010000",
                "IFACE",
                "CONS",
            ]),
            strings(&["HKR", "Parameters", "RequestKey", "0x00000000", REQUEST_KEY]),
        ],
    );
    c.eq(
        "[XenBus_Unplug] NICS and DISKS",
        entries(inf, "XenBus_Unplug"),
        vec![
            strings(&["HKLM", UNPLUG_KEY, "NICS", "0x00010001", "0"]),
            strings(&["HKLM", UNPLUG_KEY, "DISKS", "0x00010001", "0"]),
        ],
    );
    let mut filt = vec![
        strings(&["HKR", "Parameters", "", "0x00000010"]),
        strings(&["HKR", "Parameters", "*PNP0A03", "0x00000000", "PCI"]),
        strings(&[
            "HKR",
            "Parameters",
            "Internal_IDE_Channel",
            "0x00000000",
            "IDE",
        ]),
    ];
    if options.force_activate {
        filt.push(strings(&[
            "HKR",
            "Parameters\\Precedence",
            "PCI\\VEN_5853&DEV_0001",
            "0x00010001",
            "0x0001",
        ]));
        filt.push(strings(&[
            "HKR",
            "Parameters\\Precedence",
            "PCI\\VEN_5853&DEV_0002",
            "0x00010001",
            "0x0002",
        ]));
        if let Some(id) = &options.vendor_device {
            filt.push(vec![
                "HKR".into(),
                "Parameters\\Precedence".into(),
                format!("PCI\\VEN_5853&DEV_{id}"),
                "0x00010001".into(),
                format!("0x{id}"),
            ]);
        }
    }
    c.eq(
        "[XenFilt_Parameters] filter parameters",
        entries(inf, "XenFilt_Parameters"),
        filt,
    );
    if options.force_activate {
        c.eq(
            "[XenFilt_Filters] UpperFilters of the System and HDC classes",
            entries(inf, "XenFilt_Filters"),
            vec![
                vec![
                    "HKLM".into(),
                    format!("SYSTEM\\CurrentControlSet\\Control\\Class\\{SYSTEM_CLASS}"),
                    "UpperFilters".into(),
                    "0x00010008".into(),
                    "XENFILT".into(),
                ],
                vec![
                    "HKLM".into(),
                    format!("SYSTEM\\CurrentControlSet\\Control\\Class\\{HDC_CLASS}"),
                    "UpperFilters".into(),
                    "0x00010008".into(),
                    "XENFILT".into(),
                ],
            ],
        );
    }
    if options.monitor {
        for (key, want) in [
            ("ServiceType", "0x10".to_owned()),
            ("StartType", "0x2".to_owned()),
            ("ErrorControl", "0x1".to_owned()),
            ("ServiceBinary", format!("%11%\\{monitor_exe}")),
            ("AddReg", "Monitor_Parameters".to_owned()),
        ] {
            c.eq(
                format!("[Monitor_Service] {key}"),
                inf.value("Monitor_Service", key),
                Some(want),
            );
        }
        let s = |k: &str| inf.value("Strings", k).unwrap_or_default();
        c.eq(
            "[Monitor_Parameters] request key and dialog",
            entries(inf, "Monitor_Parameters"),
            vec![
                strings(&["HKR", "Parameters", "", "0x00000010"]),
                strings(&["HKR", "Parameters", "RequestKey", "0x00000000", REQUEST_KEY]),
                vec![
                    "HKR".into(),
                    "Parameters".into(),
                    "DialogTitle".into(),
                    "0x00000000".into(),
                    s("DialogTitle"),
                ],
                vec![
                    "HKR".into(),
                    "Parameters".into(),
                    "DialogText".into(),
                    "0x00000000".into(),
                    s("DialogText"),
                ],
                vec![
                    "HKR".into(),
                    "Parameters".into(),
                    "DialogQuestion".into(),
                    "0x00000000".into(),
                    s("DialogQuestion"),
                ],
            ],
        );
        c.eq(
            "[Strings] DialogText",
            inf.value("Strings", "DialogText"),
            Some("needs to restart the system to complete installation.".into()),
        );
    }
    c.0
}
