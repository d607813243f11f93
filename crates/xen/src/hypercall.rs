// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Finding Xen and issuing hypercalls (upstream `src/xen/hypercall.c`).
//!
//! Detection looks for the `XenVMMXenVMM` signature at CPUID leaf `0x40000000`, then
//! `0x40000100` (where Xen's leaves move when it also exposes Viridian), and wants a maximum leaf
//! of at least base+2. Since XSA-466 upstream uses no hypercall page: it executes `vmcall`
//! (Intel, Centaur, Zhaoxin) or `vmmcall` (AMD, Hygon) itself, chosen once from the CPU vendor.
//! This module does the same; the choice is a pure function ([`Instruction::for_vendor`]) so it is
//! tested on any host.
//!
//! Every typed wrapper in this crate reaches Xen through the [`Hypervisor`] trait: [`Xen`] (and
//! [`Instruction`]) execute the real instruction, host tests substitute a fake.

use crate::status::{Error, Result};
use xen_headers::errno;

/// The first CPUID leaf at which Xen may publish its signature.
pub const CPUID_FIRST_BASE: u32 = 0x4000_0000;
/// The last CPUID base upstream searches (Xen with Viridian enabled).
pub const CPUID_LAST_BASE: u32 = 0x4000_0100;
/// Distance between the candidate bases.
pub const CPUID_BASE_STRIDE: u32 = 0x100;
/// The 12-byte signature in EBX, ECX, EDX of the base leaf.
pub const XEN_SIGNATURE: &[u8; 12] = b"XenVMMXenVMM";

/// The four registers one CPUID leaf returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cpuid {
    /// EAX.
    pub eax: u32,
    /// EBX.
    pub ebx: u32,
    /// ECX.
    pub ecx: u32,
    /// EDX.
    pub edx: u32,
}

impl Cpuid {
    /// Reads leaf `leaf` (sub-leaf 0) of this CPU.
    #[cfg(target_arch = "x86_64")]
    #[must_use]
    pub fn read(leaf: u32) -> Self {
        let r = core::arch::x86_64::__cpuid(leaf);
        Self {
            eax: r.eax,
            ebx: r.ebx,
            ecx: r.ecx,
            edx: r.edx,
        }
    }

    /// The 12 bytes of a vendor string in leaf 0 (EBX, EDX, ECX: "Genu" "ineI" "ntel").
    #[must_use]
    pub const fn vendor(&self) -> [u8; 12] {
        concat12(self.ebx, self.edx, self.ecx)
    }

    /// The 12 bytes of a hypervisor signature in a hypervisor base leaf (EBX, ECX, EDX).
    #[must_use]
    pub const fn signature(&self) -> [u8; 12] {
        concat12(self.ebx, self.ecx, self.edx)
    }
}

const fn concat12(a: u32, b: u32, c: u32) -> [u8; 12] {
    let (a, b, c) = (a.to_le_bytes(), b.to_le_bytes(), c.to_le_bytes());
    [
        a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3], c[0], c[1], c[2], c[3],
    ]
}

/// The instruction that enters Xen from an HVM or PVH guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Instruction {
    /// Intel VMX `vmcall` (0F 01 C1).
    Vmcall,
    /// AMD SVM `vmmcall` (0F 01 D9).
    Vmmcall,
}

impl Instruction {
    /// Upstream's vendor table: `vmcall` for Intel, Centaur and Zhaoxin, `vmmcall` for AMD and
    /// Hygon; any other vendor is not supported (upstream then fails to load).
    #[must_use]
    pub const fn for_vendor(vendor: &[u8; 12]) -> Option<Self> {
        match vendor {
            b"GenuineIntel" | b"CentaurHauls" | b"  Shanghai  " => Some(Self::Vmcall),
            b"AuthenticAMD" | b"HygonGenuine" => Some(Self::Vmmcall),
            _ => None,
        }
    }

    /// The instruction's mnemonic.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Vmcall => "vmcall",
            Self::Vmmcall => "vmmcall",
        }
    }
}

/// What detection found at Xen's CPUID base leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Detected {
    /// The base leaf holding the signature (`0x40000000` or `0x40000100`).
    pub base: u32,
    /// EAX of the base leaf: the largest hypervisor leaf.
    pub max_leaf: u32,
    /// Major version from leaf base+1.
    pub major: u16,
    /// Minor version from leaf base+1.
    pub minor: u16,
}

/// Searches the candidate bases in upstream's order and returns the first with Xen's signature
/// and a maximum leaf of at least base+2. The version comes from leaf base+1 (EAX =
/// `major << 16 | minor`).
pub fn find_xen(mut cpuid: impl FnMut(u32) -> Cpuid) -> Option<Detected> {
    let mut base = CPUID_FIRST_BASE;
    while base <= CPUID_LAST_BASE {
        let leaf = cpuid(base);
        let wanted = base.checked_add(2)?;
        if &leaf.signature() == XEN_SIGNATURE && leaf.max_leaf_at_least(wanted) {
            let version = cpuid(base.checked_add(1)?).eax;
            let [lo0, lo1, hi0, hi1] = version.to_le_bytes();
            return Some(Detected {
                base,
                max_leaf: leaf.eax,
                major: u16::from_le_bytes([hi0, hi1]),
                minor: u16::from_le_bytes([lo0, lo1]),
            });
        }
        base = base.checked_add(CPUID_BASE_STRIDE)?;
    }
    None
}

impl Cpuid {
    const fn max_leaf_at_least(&self, leaf: u32) -> bool {
        self.eax >= leaf
    }
}

/// Something that can issue a Xen hypercall: the real instruction, or a fake in host tests.
pub trait Hypervisor {
    /// Issues hypercall `op` with up to five arguments, which go to RDI, RSI, RDX, R10 and R8 in
    /// that order; missing ones are zero. Returns RAX: negative is `-errno`. More than five
    /// arguments are refused with `-EINVAL` without reaching Xen.
    ///
    /// # Safety
    ///
    /// Every argument Xen reads as a guest address must point to memory that is mapped,
    /// resident and large enough for what `op` does with it, for as long as Xen uses it (the call
    /// itself, or longer for operations that register memory with Xen).
    unsafe fn hypercall(&self, op: u32, args: &[usize]) -> isize;
}

/// The `-EINVAL` a [`Hypervisor`] returns for more than five arguments.
const TOO_MANY_ARGS: isize = -(errno::EINVAL as isize);

/// Pads `args` to the five argument registers.
fn five(args: &[usize]) -> Option<[usize; 5]> {
    let mut regs = [0; 5];
    regs.get_mut(..args.len())?.copy_from_slice(args);
    Some(regs)
}

#[cfg(target_arch = "x86_64")]
impl Hypervisor for Instruction {
    unsafe fn hypercall(&self, op: u32, args: &[usize]) -> isize {
        let Some([a1, a2, a3, a4, a5]) = five(args) else {
            return TOO_MANY_ARGS;
        };
        // SAFETY: the caller guarantees the arguments are valid for `op`.
        unsafe { hypercall5(*self, op, a1, a2, a3, a4, a5) }
    }
}

/// Xen, found by detection, with the hypercall instruction for this CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Xen {
    /// What detection found.
    pub detected: Detected,
    /// The instruction every hypercall uses.
    pub instruction: Instruction,
}

impl Xen {
    /// Detection from any source of CPUID leaves: Xen's base leaf, then the instruction from the
    /// vendor in leaf 0.
    ///
    /// # Errors
    ///
    /// [`Error::NotSupported`] when no base leaf carries Xen's signature with enough leaves, or
    /// the vendor has no known hypercall instruction (upstream fails `DllInitialize` with
    /// `STATUS_NOT_SUPPORTED` in both cases).
    pub fn probe(mut cpuid: impl FnMut(u32) -> Cpuid) -> Result<Self> {
        let detected = find_xen(&mut cpuid).ok_or(Error::NotSupported)?;
        let instruction = Instruction::for_vendor(&cpuid(0).vendor()).ok_or(Error::NotSupported)?;
        Ok(Self {
            detected,
            instruction,
        })
    }

    /// Detection on this CPU.
    ///
    /// # Errors
    ///
    /// As [`Xen::probe`].
    #[cfg(target_arch = "x86_64")]
    pub fn detect() -> Result<Self> {
        Self::probe(Cpuid::read)
    }
}

#[cfg(target_arch = "x86_64")]
impl Hypervisor for Xen {
    unsafe fn hypercall(&self, op: u32, args: &[usize]) -> isize {
        // SAFETY: the caller's guarantee is passed on unchanged.
        unsafe { self.instruction.hypercall(op, args) }
    }
}

/// A pointer as a hypercall argument. Its provenance is exposed because Xen, outside the Rust
/// abstract machine, reads and writes through it.
pub fn arg<T>(p: *mut T) -> usize {
    p.expose_provenance()
}

/// A read-only pointer as a hypercall argument.
pub fn arg_const<T>(p: *const T) -> usize {
    p.expose_provenance()
}

#[cfg(target_arch = "x86_64")]
pub use self::x86_64::{hypercall0, hypercall1, hypercall2, hypercall3, hypercall4, hypercall5};

#[cfg(target_arch = "x86_64")]
mod x86_64 {
    //! The hypercall instructions, 64-bit ABI: number in RAX, arguments in RDI, RSI, RDX, R10,
    //! R8, result in RAX. Xen may scribble on argument registers it did not use (debug builds do
    //! on purpose), so all five are clobbered.

    use super::Instruction;
    use core::arch::asm;

    /// Issues hypercall `op` with five arguments.
    ///
    /// # Safety
    ///
    /// As [`super::Hypervisor::hypercall`].
    #[must_use]
    #[allow(clippy::many_single_char_names)]
    pub unsafe fn hypercall5(
        insn: Instruction,
        op: u32,
        a: usize,
        b: usize,
        c: usize,
        d: usize,
        e: usize,
    ) -> isize {
        let ret: isize;
        match insn {
            // SAFETY: the caller guarantees the arguments are valid for `op`; the instruction
            // only transfers to Xen, which honours the register contract declared here.
            Instruction::Vmcall => unsafe {
                asm!(
                    "vmcall",
                    inlateout("rax") u64::from(op) => ret,
                    inlateout("rdi") a => _,
                    inlateout("rsi") b => _,
                    inlateout("rdx") c => _,
                    inlateout("r10") d => _,
                    inlateout("r8") e => _,
                    options(nostack),
                );
            },
            // SAFETY: as above, for the AMD instruction.
            Instruction::Vmmcall => unsafe {
                asm!(
                    "vmmcall",
                    inlateout("rax") u64::from(op) => ret,
                    inlateout("rdi") a => _,
                    inlateout("rsi") b => _,
                    inlateout("rdx") c => _,
                    inlateout("r10") d => _,
                    inlateout("r8") e => _,
                    options(nostack),
                );
            },
        }
        ret
    }

    /// Issues hypercall `op` with four arguments.
    ///
    /// # Safety
    ///
    /// As [`super::Hypervisor::hypercall`].
    #[must_use]
    pub unsafe fn hypercall4(
        insn: Instruction,
        op: u32,
        a: usize,
        b: usize,
        c: usize,
        d: usize,
    ) -> isize {
        // SAFETY: the caller's guarantee; the fifth register is an unused zero.
        unsafe { hypercall5(insn, op, a, b, c, d, 0) }
    }

    /// Issues hypercall `op` with three arguments.
    ///
    /// # Safety
    ///
    /// As [`super::Hypervisor::hypercall`].
    #[must_use]
    pub unsafe fn hypercall3(insn: Instruction, op: u32, a: usize, b: usize, c: usize) -> isize {
        // SAFETY: the caller's guarantee; unused registers are zero.
        unsafe { hypercall5(insn, op, a, b, c, 0, 0) }
    }

    /// Issues hypercall `op` with two arguments.
    ///
    /// # Safety
    ///
    /// As [`super::Hypervisor::hypercall`].
    #[must_use]
    pub unsafe fn hypercall2(insn: Instruction, op: u32, a: usize, b: usize) -> isize {
        // SAFETY: the caller's guarantee; unused registers are zero.
        unsafe { hypercall5(insn, op, a, b, 0, 0, 0) }
    }

    /// Issues hypercall `op` with one argument.
    ///
    /// # Safety
    ///
    /// As [`super::Hypervisor::hypercall`].
    #[must_use]
    pub unsafe fn hypercall1(insn: Instruction, op: u32, a: usize) -> isize {
        // SAFETY: the caller's guarantee; unused registers are zero.
        unsafe { hypercall5(insn, op, a, 0, 0, 0, 0) }
    }

    /// Issues hypercall `op` without arguments.
    ///
    /// # Safety
    ///
    /// As [`super::Hypervisor::hypercall`].
    #[must_use]
    pub unsafe fn hypercall0(insn: Instruction, op: u32) -> isize {
        // SAFETY: the caller's guarantee; unused registers are zero.
        unsafe { hypercall5(insn, op, 0, 0, 0, 0, 0) }
    }
}

#[cfg(test)]
pub(crate) mod fake {
    //! A fake hypervisor for the wrappers' host tests: it records every call and answers with a
    //! closure that may read and write the argument structures like Xen would.

    use super::Hypervisor;
    use std::cell::RefCell;
    use std::vec::Vec;

    /// One recorded hypercall.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Call {
        pub op: u32,
        pub args: Vec<usize>,
    }

    pub struct Fake<F: Fn(u32, &[usize]) -> isize> {
        pub calls: RefCell<Vec<Call>>,
        answer: F,
    }

    impl<F: Fn(u32, &[usize]) -> isize> Fake<F> {
        pub const fn new(answer: F) -> Self {
            Self {
                calls: RefCell::new(Vec::new()),
                answer,
            }
        }

        pub fn only_call(&self) -> Call {
            let calls = self.calls.borrow();
            assert_eq!(calls.len(), 1, "{calls:?}");
            calls[0].clone()
        }
    }

    impl<F: Fn(u32, &[usize]) -> isize> Hypervisor for Fake<F> {
        unsafe fn hypercall(&self, op: u32, args: &[usize]) -> isize {
            self.calls.borrow_mut().push(Call {
                op,
                args: args.to_vec(),
            });
            (self.answer)(op, args)
        }
    }

    /// A fake that answers every call with `rc`.
    pub fn returning(rc: isize) -> Fake<impl Fn(u32, &[usize]) -> isize> {
        Fake::new(move |_, _| rc)
    }

    /// The structure Xen would see at argument `index` (dereferencing it is the caller's
    /// responsibility).
    pub fn at<T>(args: &[usize], index: usize) -> *mut T {
        core::ptr::with_exposed_provenance_mut(args[index])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn regs(eax: u32, text: &[u8; 12]) -> Cpuid {
        let word = |i: usize| u32::from_le_bytes([text[i], text[i + 1], text[i + 2], text[i + 3]]);
        Cpuid {
            eax,
            ebx: word(0),
            ecx: word(4),
            edx: word(8),
        }
    }

    fn vendor_leaf(text: &[u8; 12]) -> Cpuid {
        let word = |i: usize| u32::from_le_bytes([text[i], text[i + 1], text[i + 2], text[i + 3]]);
        Cpuid {
            eax: 0xd,
            ebx: word(0),
            edx: word(4),
            ecx: word(8),
        }
    }

    fn cpu(leaves: &[(u32, Cpuid)]) -> impl FnMut(u32) -> Cpuid + use<> {
        let map: BTreeMap<u32, Cpuid> = leaves.iter().copied().collect();
        move |leaf| map.get(&leaf).copied().unwrap_or_default()
    }

    #[test]
    fn vendor_table_matches_upstream() {
        assert_eq!(
            Instruction::for_vendor(b"GenuineIntel"),
            Some(Instruction::Vmcall)
        );
        assert_eq!(
            Instruction::for_vendor(b"CentaurHauls"),
            Some(Instruction::Vmcall)
        );
        assert_eq!(
            Instruction::for_vendor(b"  Shanghai  "),
            Some(Instruction::Vmcall)
        );
        assert_eq!(
            Instruction::for_vendor(b"AuthenticAMD"),
            Some(Instruction::Vmmcall)
        );
        assert_eq!(
            Instruction::for_vendor(b"HygonGenuine"),
            Some(Instruction::Vmmcall)
        );
        for unknown in [
            b"GenuineIotel",
            b"VIA VIA VIA ",
            b"            ",
            b"authenticamd",
        ] {
            assert_eq!(Instruction::for_vendor(unknown), None);
        }
    }

    #[test]
    fn vendor_dwords_from_the_spec_read_as_their_strings() {
        // Upstream compares EBX, ECX, EDX dwords; the string order is EBX, EDX, ECX.
        let leaf = |ebx, ecx, edx| Cpuid {
            eax: 0,
            ebx,
            ecx,
            edx,
        };
        assert_eq!(
            &leaf(0x756E_6547, 0x6C65_746E, 0x4965_6E69).vendor(),
            b"GenuineIntel"
        );
        assert_eq!(
            &leaf(0x6874_7541, 0x444D_4163, 0x6974_6E65).vendor(),
            b"AuthenticAMD"
        );
        assert_eq!(
            &leaf(0x746E_6543, 0x736C_7561, 0x4872_7561).vendor(),
            b"CentaurHauls"
        );
        assert_eq!(
            &leaf(0x6853_2020, 0x2020_6961, 0x6867_6E61).vendor(),
            b"  Shanghai  "
        );
        assert_eq!(
            &leaf(0x6F67_7948, 0x656E_6975, 0x6E65_476E).vendor(),
            b"HygonGenuine"
        );
    }

    #[test]
    fn xen_at_the_first_base_is_found_with_its_version() {
        let found = find_xen(cpu(&[
            (0x4000_0000, regs(0x4000_0005, b"XenVMMXenVMM")),
            (
                0x4000_0001,
                Cpuid {
                    eax: 0x0004_0011,
                    ..Cpuid::default()
                },
            ),
        ]));
        assert_eq!(
            found,
            Some(Detected {
                base: 0x4000_0000,
                max_leaf: 0x4000_0005,
                major: 4,
                minor: 17
            })
        );
    }

    #[test]
    fn xen_behind_viridian_is_found_at_the_second_base() {
        let found = find_xen(cpu(&[
            (0x4000_0000, regs(0x4000_0006, b"Microsoft Hv")),
            (0x4000_0100, regs(0x4000_0102, b"XenVMMXenVMM")),
            (
                0x4000_0101,
                Cpuid {
                    eax: 0x0004_0010,
                    ..Cpuid::default()
                },
            ),
        ]))
        .map(|d| (d.base, d.major, d.minor));
        assert_eq!(found, Some((0x4000_0100, 4, 16)));
    }

    #[test]
    fn too_few_leaves_or_no_signature_is_not_xen() {
        // max leaf must be >= base+2.
        assert_eq!(
            find_xen(cpu(&[(0x4000_0000, regs(0x4000_0001, b"XenVMMXenVMM"))])),
            None
        );
        assert_eq!(
            find_xen(cpu(&[(0x4000_0100, regs(0x4000_0101, b"XenVMMXenVMM"))])),
            None
        );
        assert_eq!(
            find_xen(cpu(&[(0x4000_0000, regs(0x4000_0010, b"KVMKVMKVM\0\0\0"))])),
            None
        );
        // Upstream stops after 0x40000100.
        assert_eq!(
            find_xen(cpu(&[(0x4000_0200, regs(0x4000_0210, b"XenVMMXenVMM"))])),
            None
        );
    }

    #[test]
    fn probe_needs_xen_and_a_known_vendor() {
        let xen = (0x4000_0000, regs(0x4000_0002, b"XenVMMXenVMM"));
        let amd = Xen::probe(cpu(&[xen, (0, vendor_leaf(b"AuthenticAMD"))]));
        assert_eq!(amd.map(|x| x.instruction), Ok(Instruction::Vmmcall));
        let intel = Xen::probe(cpu(&[xen, (0, vendor_leaf(b"GenuineIntel"))]));
        assert_eq!(intel.map(|x| x.instruction), Ok(Instruction::Vmcall));
        assert_eq!(
            Xen::probe(cpu(&[xen, (0, vendor_leaf(b"SomeoneElse!"))])),
            Err(Error::NotSupported)
        );
        assert_eq!(
            Xen::probe(cpu(&[(0, vendor_leaf(b"GenuineIntel"))])),
            Err(Error::NotSupported)
        );
    }

    #[test]
    fn more_than_five_arguments_never_reach_xen() {
        // SAFETY: the call is refused before any instruction runs.
        let rc = unsafe { Instruction::Vmcall.hypercall(17, &[0; 6]) };
        assert_eq!(rc, -22);
        assert_eq!(five(&[1, 2]), Some([1, 2, 0, 0, 0]));
    }
}
