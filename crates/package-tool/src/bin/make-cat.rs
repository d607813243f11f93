// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `make-cat [--time SECONDS] [--out FILE] DIR`: writes the unsigned catalog of the package in
//! `DIR` (default output `DIR/xenbus.cat`): every file `DIR/xenbus.inf` lists in
//! `[SourceDisksFiles]`, and the INF itself, with the hardware IDs of its model line. The time
//! (`thisUpdate`) defaults to `SOURCE_DATE_EPOCH`, else now.
//!
//! `make-cat --verify [--catalog FILE] DIR`: recomputes the digest of every package file and
//! compares it with the catalog (signed or not); a changed, missing or unlisted file fails.
//! Prints `catalog: N files, M match`.
//!
//! Exit status 1 on a mismatch, 2 when the package cannot be read.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use package_tool::catalog::{CatalogSpec, Member, read_members, unsigned_catalog};
use package_tool::inf::Inf;

const INF: &str = "xenbus.inf";

/// The package files (the INF's source files, then the INF) and the model line's hardware IDs.
fn package(dir: &Path) -> Result<(Vec<String>, Vec<String>), String> {
    let path = dir.join(INF);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let inf = Inf::parse(&text);
    let mut files: Vec<String> = inf
        .section("SourceDisksFiles")
        .ok_or_else(|| format!("{}: no [SourceDisksFiles]", path.display()))?
        .lines
        .iter()
        .filter_map(|l| l.key.clone())
        .collect();
    files.push(INF.into());
    let models = inf
        .values(
            "Manufacturer",
            inf.value("Strings", "Vendor").as_deref().unwrap_or(""),
        )
        .first()
        .and_then(|f| f.get(1).cloned())
        .map(|decoration| format!("Inst.{decoration}"));
    let hardware_ids = models
        .and_then(|m| inf.section(&m).cloned())
        .map(|s| {
            s.lines
                .iter()
                .flat_map(|l| l.fields.iter().skip(1).cloned())
                .collect()
        })
        .unwrap_or_default();
    Ok((files, hardware_ids))
}

fn members(dir: &Path, files: &[String]) -> Result<Vec<Member>, String> {
    files
        .iter()
        .map(|f| {
            let path = dir.join(f);
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            Member::of_file(f, &bytes)
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

fn verify(dir: &Path, catalog: &Path) -> Result<bool, String> {
    let (files, _) = package(dir)?;
    let bytes = std::fs::read(catalog).map_err(|e| format!("{}: {e}", catalog.display()))?;
    let listed = read_members(&bytes).map_err(|e| format!("{}: {e}", catalog.display()))?;
    let mut ok = 0usize;
    for m in members(dir, &files)? {
        match listed
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(&m.name))
        {
            Some((_, digest)) if *digest == m.digest => ok += 1,
            Some((_, digest)) => println!(
                "catalog: {} changed: catalog {}, file {}",
                m.name,
                hex(digest),
                hex(&m.digest)
            ),
            None => println!("catalog: {} not in the catalog", m.name),
        }
    }
    for (name, _) in &listed {
        if !files.iter().any(|f| f.eq_ignore_ascii_case(name)) {
            println!("catalog: {name} listed but not a package file");
        }
    }
    println!("catalog: {} files, {ok} match", files.len());
    Ok(ok == files.len() && listed.len() == files.len())
}

fn run(args: &[String]) -> Result<bool, String> {
    let mut time = None;
    let mut out: Option<PathBuf> = None;
    let mut check = false;
    let mut dir = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--time" => time = Some(it.next().ok_or("--time needs a value")?.clone()),
            "--out" | "--catalog" => out = Some(it.next().ok_or("--out needs a file")?.into()),
            "--verify" => check = true,
            _ if a.starts_with('-') => return Err(format!("unknown option {a}")),
            _ => dir = Some(PathBuf::from(a)),
        }
    }
    let dir = dir.ok_or("usage: make-cat [--verify] [--time SECONDS] [--out FILE] DIR")?;
    let out = out.unwrap_or_else(|| dir.join("xenbus.cat"));
    if check {
        return verify(&dir, &out);
    }
    let time = match time.or_else(|| std::env::var("SOURCE_DATE_EPOCH").ok()) {
        Some(t) => t
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("time `{t}` is not seconds since 1970"))?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs(),
    };
    let (files, hardware_ids) = package(&dir)?;
    let spec = CatalogSpec {
        members: members(&dir, &files)?,
        hardware_ids,
        os: "_v100_X64".into(),
        os_attr: "2:10.0".into(),
        time,
    };
    let bytes = unsigned_catalog(&spec)?;
    std::fs::write(&out, bytes).map_err(|e| format!("{}: {e}", out.display()))?;
    println!(
        "catalog: {} unsigned, {} files ({})",
        out.display(),
        files.len(),
        files.join(", ")
    );
    Ok(true)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("make-cat: {e}");
            ExitCode::from(2)
        }
    }
}
