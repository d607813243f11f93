// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The one table: every structure, field, type, constant and string of `xen-headers`, with the C
//! expression that must give the same value. One file per Xen header, mirroring `xen-headers`.
//!
//! Rules for entries:
//! - a structure lists **every** field the C structure declares (Rust-only padding fields are
//!   covered by the structure's size and the next field's offset);
//! - a field whose Rust name differs from C (`ref_`) names its C spelling with `as "ref"`;
//! - nested fields and union members are written as paths (`u.interdomain.dom`);
//! - every public constant of a `xen-headers` module appears once.

#![allow(
    clippy::too_many_lines,
    reason = "a table file lists one entry per C definition; that is its point"
)]

mod errno;
mod event_channel;
mod features;
mod grant_table;
mod hvm;
mod io;
mod memory;
mod sched;
mod vcpu;
mod version;
mod xen;

use crate::{Item, Value};

/// Macro prefixes the table must cover completely.
///
/// Every object-like macro the Xen headers define (for the probe's interface version) under one of these prefixes is either checked by
/// the table or listed in [`EXEMPT`] with a reason. This is what makes "nothing forgotten" a
/// checked property rather than a hope.
pub const COVERED_PREFIXES: &[&str] = &[
    "__HYPERVISOR_",
    "VIRQ_",
    "DOMID_",
    "CONSOLEIO_",
    "EVTCHNOP_",
    "EVTCHNSTAT_",
    "EVTCHN_FIFO_",
    "GNTTABOP_",
    "GTF_",
    "_GTF_",
    "GNTMAP_",
    "_GNTMAP_",
    "GNTCOPY_",
    "_GNTCOPY_",
    "GNTST_",
    "XENMEM_",
    "XENMAPSPACE_",
    "XENMAPIDX_",
    "HVMOP_",
    "HVM_PARAM_",
    "SCHEDOP_",
    "SHUTDOWN_",
    "VCPUOP_",
    "XENVER_",
    "XENFEAT_",
    "XENSTORE_",
    "XS_WRITE_",
];

/// Covered macros the table deliberately does not check, each with the reason. A pattern ending
/// in `*` exempts every name starting with the part before it.
pub const EXEMPT: &[(&str, &str)] = &[
    (
        "__HYPERVISOR_arch_*",
        "architecture-private hypercall slots, unused by x86 guests",
    ),
    (
        "__HYPERVISOR_dom0_op",
        "old alias of platform_op for dom0 tools",
    ),
    (
        "__HYPERVISOR_VIRT_START",
        "PV guest address-space layout, not used by HVM guests",
    ),
    (
        "__HYPERVISOR_VIRT_END",
        "PV guest address-space layout, not used by HVM guests",
    ),
    ("__HYPERVISOR_COMPAT_VIRT_START", "32-bit PV layout"),
    (
        "VIRQ_ARCH_*",
        "architecture-private VIRQ slots, unused on x86",
    ),
    (
        "GNTTABOP_error_msgs",
        "a brace initialiser, not an expression; its strings and length are checked element by \
         element through a compound literal",
    ),
];

/// Collects table entries.
#[derive(Debug, Default)]
pub struct Table {
    items: Vec<Item>,
}

impl Table {
    /// Adds an integer check.
    pub fn int(&mut self, c_expr: impl Into<String>, rust: impl Into<i128>) {
        self.items.push(Item {
            c_expr: c_expr.into(),
            rust: Value::Int(rust.into()),
        });
    }

    /// Adds a string check.
    pub fn string(&mut self, c_expr: impl Into<String>, rust: &str) {
        self.items.push(Item {
            c_expr: c_expr.into(),
            rust: Value::Str(rust.into()),
        });
    }

    /// Adds the size and alignment of a C type.
    pub fn type_layout(&mut self, c_type: &str, size: usize, align: usize) {
        self.int(format!("sizeof({c_type})"), widen(size));
        self.int(format!("_Alignof({c_type})"), widen(align));
    }

    /// Adds the offset and size of one field of a C type.
    pub fn field(&mut self, c_type: &str, c_field: &str, offset: usize, size: usize) {
        self.int(format!("offsetof({c_type}, {c_field})"), widen(offset));
        self.int(format!("sizeof((({c_type} *)0)->{c_field})"), widen(size));
    }

    /// The collected items.
    #[must_use]
    pub fn into_items(self) -> Vec<Item> {
        self.items
    }
}

/// A `usize` as a table integer (sizes on this host always fit).
fn widen(v: usize) -> i128 {
    i128::try_from(v).unwrap_or(i128::MAX)
}

/// The size of the field a projection closure points at.
#[must_use]
pub const fn field_size<T, F>(_projection: fn(&T) -> *const F) -> usize {
    size_of::<F>()
}

/// Size, alignment and every field of a structure or union:
/// `layout!(t, "struct vcpu_info", VcpuInfo { evtchn_upcall_pending, arch.cr2, ref_ as "ref" });`
macro_rules! layout {
    ($t:expr, $c_type:literal, $rust:ty { $($field:ident $(. $sub:ident)* $(as $c_name:literal)?),* $(,)? }) => {{
        $t.type_layout($c_type, ::core::mem::size_of::<$rust>(), ::core::mem::align_of::<$rust>());
        $(
            $t.field(
                $c_type,
                layout!(@name $field $(. $sub)* $(as $c_name)?),
                ::core::mem::offset_of!($rust, $field $(. $sub)*),
                $crate::table::field_size(|s: &$rust| &raw const s.$field $(. $sub)*),
            );
        )*
    }};
    (@name $field:ident $(. $sub:ident)* as $c_name:literal) => { $c_name };
    (@name $field:ident $(. $sub:ident)*) => {
        concat!(stringify!($field) $(, ".", stringify!($sub))*)
    };
}

/// Size and alignment of a scalar typedef: `typedef!(t, "xen_pfn_t", XenPfn);`.
macro_rules! typedef {
    ($t:expr, $c_type:literal, $rust:ty) => {
        $t.type_layout(
            $c_type,
            ::core::mem::size_of::<$rust>(),
            ::core::mem::align_of::<$rust>(),
        )
    };
}

/// Integer constants, C name first: `consts!(t, m; EVTCHNOP_send => EVTCHNOP_SEND, ...);`
/// where `m` is the `xen-headers` module holding the Rust constants.
macro_rules! consts {
    ($t:expr, $module:path; $($c_name:ident => $rust:ident),* $(,)?) => {{
        use $module as m;
        $( $t.int(stringify!($c_name), m::$rust); )*
    }};
}

pub(crate) use {consts, layout, typedef};

/// Every check, in a stable order.
#[must_use]
pub fn all() -> Vec<Item> {
    let mut t = Table::default();
    xen::items(&mut t);
    errno::items(&mut t);
    event_channel::items(&mut t);
    grant_table::items(&mut t);
    memory::items(&mut t);
    sched::items(&mut t);
    vcpu::items(&mut t);
    version::items(&mut t);
    features::items(&mut t);
    hvm::items(&mut t);
    io::items(&mut t);
    t.into_items()
}
