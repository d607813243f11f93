// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The kernel-bindings table: every type, field, bit, constant and status of `ntddk`.
//!
//! Each entry pairs a Rust value with the C expression (against mingw-w64's `ntddk.h`) that
//! must give the same value. One file per module of `ntddk::types` and one for the constants.
//!
//! Rules for entries:
//! - a structure lists **every** field its Rust type declares, under the C name (`Padding*`
//!   fields, which stand for C's `POINTER_ALIGNMENT`, are covered by the next field's offset);
//! - a union member whose type is a named Rust structure is checked through that structure
//!   (`within!`): the member's size, then each of its fields at the member's offset;
//! - a bit-field word is checked bit by bit (`bits!`);
//! - every public constant and type of `ntddk` appears, or is listed in [`super::Documented`]
//!   (the unit tests below read `ntddk`'s sources to make sure).

#![allow(
    clippy::too_many_lines,
    reason = "a table file lists one entry per C definition; that is its point"
)]

mod basic;
mod constants;
mod dma;
mod io;
mod ke;
mod mm;
mod pnp;
mod ps;
mod registry;
mod resources;

use std::collections::BTreeSet;

use super::{Documented, Exemption};
use crate::{Item, Value};

/// Macro prefixes the table must cover completely: every object-like macro `ntddk.h` defines
/// under one of these is mentioned by some item or listed in [`UNCHECKED_MACROS`].
pub const COVERED_PREFIXES: &[&str] = &[
    "IRP_MJ_",
    "IRP_MN_",
    "CmResourceType",
    "CM_RESOURCE_",
    "CONNECT_",
    "CONTEXT_",
    "DO_",
    "DPFLTR_",
    "DRVO_",
    "FILE_DEVICE_",
    "IO_TYPE_",
    "KEY_",
    "MDL_",
    "OBJ_",
    "PNP_DEVICE_",
    "REG_",
];

/// Covered macros the table deliberately leaves out, each with the reason. A pattern ending in
/// `*` excuses every name starting with the part before it.
pub const UNCHECKED_MACROS: &[(&str, &str)] = &[
    (
        "MDL_MAPPING_FLAGS",
        "not an expression in mingw-w64's wdm.h: it names MDL_SYSTEM_VA, which those headers \
         never define",
    ),
    (
        "CONTEXT_EX_*",
        "CONTEXT_EX (extended processor state) is not used by the drivers",
    ),
    (
        "IRP_MN_NORMAL",
        "file-system minor function: the drivers handle no file-system IRPs",
    ),
    ("IRP_MN_DPC", "file-system minor function"),
    ("IRP_MN_MDL", "file-system minor function"),
    ("IRP_MN_COMPLETE", "file-system minor function"),
    ("IRP_MN_COMPRESSED", "file-system minor function"),
    ("IRP_MN_MDL_DPC", "file-system minor function"),
    ("IRP_MN_COMPLETE_MDL", "file-system minor function"),
    ("IRP_MN_COMPLETE_MDL_DPC", "file-system minor function"),
    ("IRP_MN_QUERY_DIRECTORY", "file-system minor function"),
    (
        "IRP_MN_NOTIFY_CHANGE_DIRECTORY",
        "file-system minor function",
    ),
    ("IRP_MN_USER_FS_REQUEST", "file-system minor function"),
    ("IRP_MN_MOUNT_VOLUME", "file-system minor function"),
    ("IRP_MN_VERIFY_VOLUME", "file-system minor function"),
    ("IRP_MN_LOAD_FILE_SYSTEM", "file-system minor function"),
    ("IRP_MN_TRACK_LINK", "file-system minor function"),
    ("IRP_MN_KERNEL_CALL", "file-system minor function"),
    (
        "IRP_MN_LOCK",
        "file-system (byte-range lock) minor function",
    ),
    (
        "IRP_MN_UNLOCK_SINGLE",
        "file-system (byte-range lock) minor function",
    ),
    (
        "IRP_MN_UNLOCK_ALL",
        "file-system (byte-range lock) minor function",
    ),
    (
        "IRP_MN_UNLOCK_ALL_BY_KEY",
        "file-system (byte-range lock) minor function",
    ),
    ("IRP_MN_FLUSH_AND_PURGE", "file-system minor function"),
    ("IRP_MN_SCSI_CLASS", "SCSI class-driver minor function"),
];

/// Where in a C type a group of fields lives: the C type, the member path leading to the group
/// (empty at the top, or when the Rust union stands for an anonymous C one) and its offset.
#[derive(Clone, Debug)]
pub struct Scope {
    /// The C type every `offsetof` names.
    pub c_type: &'static str,
    /// The C member path of the group, without a trailing dot.
    pub prefix: String,
    /// The group's offset in the C type.
    pub base: usize,
}

impl Scope {
    /// The top of `c_type`.
    #[must_use]
    pub const fn root(c_type: &'static str) -> Self {
        Self {
            c_type,
            prefix: String::new(),
            base: 0,
        }
    }

    /// The C member path of `name` in this scope.
    #[must_use]
    pub fn path(&self, name: &str) -> String {
        match (self.prefix.is_empty(), name.is_empty()) {
            (true, _) => name.to_owned(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}.{name}", self.prefix),
        }
    }

    /// The scope of member `name` (C path; empty for an anonymous C union) at `offset` from
    /// this one.
    #[must_use]
    pub fn child(&self, name: &str, offset: usize) -> Self {
        Self {
            c_type: self.c_type,
            prefix: self.path(name),
            base: self.base + offset,
        }
    }
}

/// Collects the table: checks, exemptions, documented-only definitions, and the Rust names
/// covered (for the completeness tests).
#[derive(Debug, Default)]
pub struct NtTable {
    /// The checks against the headers.
    pub items: Vec<Item>,
    /// Values checked against Microsoft's documentation instead.
    pub exemptions: Vec<Exemption>,
    /// Definitions the headers lack.
    pub documented: Vec<Documented>,
    /// Every Rust type and constant name an entry covers.
    pub rust_names: BTreeSet<&'static str>,
}

/// A Rust integer as a table integer.
pub fn wide<T>(v: T) -> i128
where
    i128: TryFrom<T>,
{
    i128::try_from(v).unwrap_or(i128::MAX)
}

impl NtTable {
    /// Adds an integer check, unless the same check is already there (a union member's size is
    /// reached both from its parent's field list and from `within!`).
    pub fn int(&mut self, c_expr: impl Into<String>, rust: i128) {
        let item = Item {
            c_expr: c_expr.into(),
            rust: Value::Int(rust),
        };
        if !self.items.contains(&item) {
            self.items.push(item);
        }
    }

    /// Adds the size and alignment of a C type.
    pub fn type_layout(&mut self, c_type: &str, size: usize, align: usize) {
        self.int(format!("sizeof({c_type})"), wide(size));
        self.int(format!("_Alignof({c_type})"), wide(align));
    }

    /// Adds the offset and size of member `name` of `scope`.
    pub fn field(&mut self, scope: &Scope, name: &str, offset: usize, size: usize) {
        let path = scope.path(name);
        let c_type = scope.c_type;
        self.int(
            format!("offsetof({c_type}, {path})"),
            wide(scope.base + offset),
        );
        self.int(format!("sizeof((({c_type} *)0)->{path})"), wide(size));
    }

    /// Adds the size of the member at `scope` itself (skipped for an anonymous C union, which
    /// C cannot name).
    pub fn member_size(&mut self, scope: &Scope, size: usize) {
        if !scope.prefix.is_empty() {
            let c_type = scope.c_type;
            self.int(
                format!("sizeof((({c_type} *)0)->{})", scope.prefix),
                wide(size),
            );
        }
    }

    /// Adds an exemption: `c_expr` is not checked against the headers; the Rust value must be
    /// `documented`.
    pub fn exempt(
        &mut self,
        c_expr: impl Into<String>,
        rust: usize,
        documented: usize,
        reason: &'static str,
    ) {
        self.exemptions.push(Exemption {
            c_expr: c_expr.into(),
            rust: wide(rust),
            documented: wide(documented),
            reason,
        });
    }

    /// Adds a documented-only definition.
    pub fn documented(
        &mut self,
        name: &'static str,
        rust: impl Into<String>,
        source: &'static str,
    ) {
        self.rust_names.insert(name);
        self.documented.push(Documented {
            name,
            rust: rust.into(),
            source,
        });
    }

    /// Records that `name` (a Rust type or constant) is covered.
    pub fn covers(&mut self, name: &'static str) {
        self.rust_names.insert(name);
    }
}

/// The size of the field a projection closure points at.
#[must_use]
pub const fn field_size<T, F>(_projection: fn(&T) -> *const F) -> usize {
    size_of::<F>()
}

/// Offsets and sizes of fields of Rust type `$rust` in `$scope`:
/// `fields!(t, &scope, IRP { Type, Size, IoStatus.Status as "IoStatus.Pointer" });`
macro_rules! fields {
    (
        $t:expr,
        $scope:expr,
        $rust:ty { $($field:ident $(. $sub:ident)* $(as $c_name:literal)?),* $(,)? }
    ) => {{
        let scope: &$crate::nt::table::Scope = $scope;
        $(
            $t.field(
                scope,
                $crate::nt::table::fields!(@name $field $(. $sub)* $(as $c_name)?),
                ::core::mem::offset_of!($rust, $field $(. $sub)*),
                $crate::nt::table::field_size(|s: &$rust| &raw const s.$field $(. $sub)*),
            );
        )*
    }};
    (@name $field:ident $(. $sub:ident)* as $c_name:literal) => { $c_name };
    (@name $field:ident $(. $sub:ident)*) => {
        concat!(stringify!($field) $(, ".", stringify!($sub))*)
    };
}

/// Size, alignment and fields of a type whose C and Rust names agree:
/// `layout!(t, KEVENT { Header });`. Returns the type's [`Scope`] for [`within!`].
macro_rules! layout {
    ($t:expr, $rust:ident { $($fields:tt)* }) => {{
        let scope = $crate::nt::table::Scope::root(stringify!($rust));
        $t.covers(stringify!($rust));
        $t.type_layout(
            stringify!($rust),
            ::core::mem::size_of::<ntddk::$rust>(),
            ::core::mem::align_of::<ntddk::$rust>(),
        );
        $crate::nt::table::fields!($t, &scope, ntddk::$rust { $($fields)* });
        scope
    }};
}

/// A union member or nested structure of Rust type `$inner`, reached from a value of Rust type
/// `$outer` (the type of `$scope`) by `$path`: checks its size, then its fields; returns its
/// [`Scope`].
///
/// `within!(t, &irp, IRP, Tail.Overlay: IRP_TAIL_OVERLAY { Thread, ... })`. The closure in the
/// expansion makes the compiler check that the member really has type `$inner`. Write
/// `$path as ""` for a Rust union that stands for an anonymous C one.
macro_rules! within {
    (
        $t:expr,
        $scope:expr,
        $outer:ident,
        $head:ident $(. $rest:ident)* $(as $c_path:literal)? : $inner:ident { $($fields:tt)* }
    ) => {{
        let parent: &$crate::nt::table::Scope = $scope;
        let view: fn(&ntddk::$outer) -> *const ntddk::$inner = |s| &raw const s.$head $(. $rest)*;
        let _ = view;
        let child = parent.child(
            $crate::nt::table::within!(@name $head $(. $rest)* $(as $c_path)?),
            ::core::mem::offset_of!(ntddk::$outer, $head $(. $rest)*),
        );
        $t.covers(stringify!($inner));
        $t.member_size(&child, ::core::mem::size_of::<ntddk::$inner>());
        $crate::nt::table::fields!($t, &child, ntddk::$inner { $($fields)* });
        child
    }};
    (@name $head:ident $(. $rest:ident)* as $c_path:literal) => { $c_path };
    (@name $head:ident $(. $rest:ident)*) => {
        concat!(stringify!($head) $(, ".", stringify!($rest))*)
    };
}

/// Size and alignment of typedefs whose C and Rust names agree: `typedefs!(t, [ULONG, KIRQL]);`.
macro_rules! typedefs {
    ($t:expr, [$($name:ident),* $(,)?]) => {{
        $(
            $t.covers(stringify!($name));
            $t.type_layout(
                stringify!($name),
                ::core::mem::size_of::<ntddk::$name>(),
                ::core::mem::align_of::<ntddk::$name>(),
            );
        )*
    }};
}

/// Size, alignment and signedness of integer typedefs: `integers!(t, [ULONG, LONG]);`.
macro_rules! integers {
    ($t:expr, [$($name:ident),* $(,)?]) => {{
        $(
            $crate::nt::table::typedefs!($t, [$name]);
            $t.int(
                concat!("((", stringify!($name), ")-1 < 0)"),
                i128::from(ntddk::$name::MIN != 0),
            );
        )*
    }};
}

/// Function-pointer typedefs: `fn_pointers!(t, [PKDEFERRED_ROUTINE => KDEFERRED_ROUTINE]);`
/// checks the C pointer typedef against `Option` of the Rust function type.
macro_rules! fn_pointers {
    ($t:expr, [$($c_name:ident => $rust:ident),* $(,)?]) => {{
        $(
            $t.covers(stringify!($rust));
            $t.type_layout(
                stringify!($c_name),
                ::core::mem::size_of::<Option<ntddk::$rust>>(),
                ::core::mem::align_of::<Option<ntddk::$rust>>(),
            );
        )*
    }};
}

/// Integer constants whose C and Rust names agree, optionally cast in C to the Rust type's C
/// spelling: `consts!(t, [IRP_MJ_PNP, DO_BUFFERED_IO]);`,
/// `consts!(t, as "CSHORT" [MDL_INTERNAL]);`.
macro_rules! consts {
    ($t:expr, [$($name:ident),* $(,)?]) => {{
        $(
            $t.covers(stringify!($name));
            $t.int(stringify!($name), $crate::nt::table::wide(ntddk::$name));
        )*
    }};
    ($t:expr, as $c_type:literal [$($name:ident),* $(,)?]) => {{
        $(
            $t.covers(stringify!($name));
            $t.int(
                concat!("(", $c_type, ")", stringify!($name)),
                $crate::nt::table::wide(ntddk::$name),
            );
        )*
    }};
}

/// One-bit fields of a bit-field word: `bits!(t, DEVICE_CAPABILITIES, Flags, [DeviceD1, ...]);`
/// checks that setting C's bit field `X` alone sets exactly the Rust mask
/// `DEVICE_CAPABILITIES::X` in the `ULONG` at the Rust word's offset (GCC folds the compound
/// literal to a constant).
macro_rules! bits {
    ($t:expr, $rust:ident, $word:ident, [$($bit:ident),* $(,)?]) => {{
        let index = ::core::mem::offset_of!(ntddk::$rust, $word) / size_of::<u32>();
        let word: fn(&ntddk::$rust) -> *const ntddk::ULONG = |s| &raw const s.$word;
        let _ = word;
        $(
            $t.int(
                format!(
                    concat!(
                        "((union {{ {ty} s; ULONG w[sizeof({ty}) / sizeof(ULONG)]; }})",
                        "{{ .s = {{ .{bit} = 1 }} }}).w[{index}]",
                    ),
                    ty = stringify!($rust),
                    bit = stringify!($bit),
                    index = index,
                ),
                i128::from(ntddk::$rust::$bit),
            );
        )*
    }};
}

pub(crate) use {bits, consts, fields, fn_pointers, integers, layout, typedefs, within};

/// The whole table, in a stable order.
#[must_use]
pub fn all() -> NtTable {
    let mut t = NtTable::default();
    basic::items(&mut t);
    io::items(&mut t);
    pnp::items(&mut t);
    dma::items(&mut t);
    resources::items(&mut t);
    ke::items(&mut t);
    mm::items(&mut t);
    ps::items(&mut t);
    registry::items(&mut t);
    constants::items(&mut t);
    t
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::all;

    /// The `ntddk` and `ntstatus` sources, read at test time so a new file is seen too.
    fn sources(relative: &str) -> Vec<(PathBuf, String)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(relative);
        let mut files: Vec<PathBuf> = if dir.is_dir() {
            std::fs::read_dir(&dir)
                .unwrap()
                .map(|entry| entry.unwrap().path())
                .filter(|path| path.extension().is_some_and(|e| e == "rs"))
                .collect()
        } else {
            vec![dir]
        };
        files.sort();
        files
            .into_iter()
            .map(|path| {
                let text = std::fs::read_to_string(&path).unwrap();
                (path, text)
            })
            .collect()
    }

    /// Top-level public items of the given kinds (`pub const NAME`, `pub struct NAME`, ...).
    fn public_items<'a>(text: &'a str, kinds: &[&str]) -> Vec<&'a str> {
        text.lines()
            .filter_map(|line| {
                kinds.iter().find_map(|kind| {
                    let rest = line.strip_prefix("pub ")?.strip_prefix(kind)?;
                    rest.strip_prefix(' ')?
                        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .next()
                        .filter(|name| *name != "fn")
                })
            })
            .collect()
    }

    fn missing(relative: &str, kinds: &[&str]) -> Vec<String> {
        let table = all();
        let mut missing = Vec::new();
        for (path, text) in sources(relative) {
            for name in public_items(&text, kinds) {
                if !table.rust_names.contains(name) {
                    missing.push(format!("{}: {name}", path.display()));
                }
            }
        }
        missing
    }

    #[test]
    fn the_item_scanner_sees_top_level_public_items_only() {
        let text = "pub const A: u8 = 1;\npub struct B {\n    pub const C: u8 = 2;\n}\n\
                    pub type D = u8;\npub union E {}\npub(crate) const F: u8 = 0;\n\
                    pub const fn g() {}\n";
        assert_eq!(
            public_items(text, &["const", "struct", "type", "union"]),
            ["A", "B", "D", "E"]
        );
    }

    #[test]
    fn every_ntddk_constant_is_checked_or_documented() {
        let mut absent = missing("ntddk/src/consts", &["const"]);
        absent.extend(missing("ntddk/src/types", &["const"]));
        absent.extend(missing("ntddk/src/irql.rs", &["const"]));
        assert!(
            absent.is_empty(),
            "constants with no table entry (add them to src/nt/table/):\n{}",
            absent.join("\n")
        );
    }

    #[test]
    fn every_ntddk_type_is_checked_or_documented() {
        let absent = missing("ntddk/src/types", &["struct", "union", "type"]);
        assert!(
            absent.is_empty(),
            "types with no table entry (add them to src/nt/table/):\n{}",
            absent.join("\n")
        );
    }

    #[test]
    fn every_ntstatus_value_is_checked() {
        let absent = missing("ntstatus/src/lib.rs", &["const"]);
        assert!(
            absent.is_empty(),
            "NTSTATUS values with no table entry (add them to src/nt/table/constants.rs):\n{}",
            absent.join("\n")
        );
    }

    #[test]
    fn the_table_is_large_and_free_of_contradictions() {
        let table = all();
        assert!(table.items.len() >= 300);
        let mut seen = std::collections::BTreeMap::new();
        for item in &table.items {
            if let Some(previous) = seen.insert(item.c_expr.as_str(), &item.rust) {
                assert_eq!(
                    previous, &item.rust,
                    "{} checked twice, differently",
                    item.c_expr
                );
            }
        }
        for exemption in &table.exemptions {
            assert!(
                !table
                    .items
                    .iter()
                    .any(|item| item.c_expr == exemption.c_expr),
                "{} is both checked and exempt",
                exemption.c_expr
            );
        }
    }
}
