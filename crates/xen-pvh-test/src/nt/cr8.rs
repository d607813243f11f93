// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The IRQL register, `cr8`, as the images use it on this machine.
//!
//! Windows drivers keep their IRQL in `cr8` (`KeGetCurrentIrql`, `KeRaiseIrql` and
//! `KeLowerIrql` are inline `mov reg, cr8` / `mov cr8, reg` in the images). On real AMD or Intel
//! hardware a guest accesses `cr8` without an exit. Under QEMU's software emulation of SVM (the
//! project's test machine) with Xen 4.17, measured:
//!
//! * a write (`mov cr8, reg`) runs natively: it sets the virtual task priority, which Xen
//!   mirrors into the virtual local APIC's TPR register (`0xFEE00080`, bits 7:4);
//! * a read (`mov reg, cr8`) traps to Xen, whose instruction emulator does not handle `cr8`
//!   (Xen logs "CR access emulation failed") and injects a general-protection fault.
//!
//! So the stand-in handles that fault: [`emulate`] decodes the faulting instruction and, if it
//! is a `mov` from `cr8`, loads the register with the IRQL read from the local APIC's TPR and
//! resumes after it. Any other general-protection fault stays fatal. The stand-in itself reads
//! the IRQL the same way ([`current`]) and sets it with a plain write ([`set`]), so drivers and
//! kernel share the one register, as on Windows.
//!
//! A further fact of this machine shapes the run: a `cr8` write while Xen holds a virtual
//! interrupt the vCPU cannot take yet aborts QEMU 10 (`tcg_handle_interrupt: assertion failed:
//! (bql_locked())`: its SVM `cr8` write helper raises the virtual interrupt without the lock
//! when the VMCB's `V_IRQ` is set). The stand-in runs with interrupts off, so it configures no
//! upcall delivery (no callback vector, no per-vCPU upcall vector). Xen still sets `V_IRQ` at
//! times to ask for an interrupt window (seen while the 8259's IRR held the PIT's IRQ 0 behind
//! its mask, the local APIC's IRR empty, `LVT0` masked): the abort then came at the first
//! `cr8` write, deterministically for a given kernel, in most HVM boots. So every kernel
//! routine entry opens a one-instruction interrupt window ([`interrupt_window`]): a pending
//! window request makes the `sti` exit to Xen, which re-evaluates and clears `V_IRQ`; with none
//! pending it costs no exit. Nothing is delivered through it (every source is masked; a stray
//! vector would be counted by `events::STRAY`).

use crate::arch::Frame;
use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};

/// `cr8` reads emulated.
pub static EMULATED: AtomicU64 = AtomicU64::new(0);

/// The local APIC's task-priority register (xAPIC MMIO; Xen emulates it).
const LAPIC_TPR: usize = 0xfee0_0080;

/// This CPU's IRQL: `cr8`, read back through the local APIC's TPR.
pub fn current() -> u8 {
    let p = core::ptr::with_exposed_provenance::<u32>(LAPIC_TPR);
    // SAFETY: the local APIC page is identity-mapped and emulated by Xen; reading TPR has no
    // side effect.
    let tpr = unsafe { p.read_volatile() };
    u8::try_from((tpr >> 4) & 0xf).unwrap_or(0)
}

/// Sets this CPU's IRQL (`mov cr8`, which does not trap here).
pub fn set(level: u8) {
    let value = u64::from(level & 0xf);
    // SAFETY: writing cr8 at CPL 0 only sets the task priority; the stand-in runs with
    // interrupts off, so no interrupt it relies on is masked or unmasked by it.
    unsafe { asm!("mov cr8, {}", in(reg) value, options(nomem, nostack, preserves_flags)) };
}

/// Opens a one-instruction interrupt window (`sti; nop; cli`) on an HVM guest: see the module
/// docs. Interrupts stay off before and after.
pub fn interrupt_window() {
    if crate::boot::is_hvm() {
        // SAFETY: interrupts are enabled for one instruction; every vector has a handler (the
        // IDT's stubs), and the handler returns with the flags it interrupted.
        unsafe { asm!("sti", "nop", "cli", options(nomem, nostack)) };
    }
}

/// The saved general-purpose register `reg` (0 RAX ... 15 R15) of `frame` (R15 saved first, RAX
/// last; RSP separately).
fn gpr(frame: &mut Frame, reg: u8) -> Option<&mut u64> {
    let index = match reg {
        0 => 14,
        1 => 13,
        2 => 12,
        3 => 11,
        4 => return Some(&mut frame.rsp),
        5 => 10,
        6 => 9,
        7 => 8,
        8..=15 => 15 - usize::from(reg),
        _ => return None,
    };
    frame.gprs.get_mut(index)
}

/// Emulates the `mov reg, cr8` that raised the general-protection fault in `frame`; false if
/// the instruction is anything else.
pub fn emulate(frame: &mut Frame) -> bool {
    let Ok(rip) = usize::try_from(frame.rip) else {
        return false;
    };
    // Only code the stand-in runs: a loaded driver's code, or the kernel's own image.
    if !(super::loader::is_loaded_code(frame.rip) || (0x10_0000..0x1000_0000).contains(&rip)) {
        return false;
    }
    let p = core::ptr::with_exposed_provenance::<[u8; 4]>(rip);
    // SAFETY: `rip` is in mapped, readable code (checked above), where the faulting instruction
    // starts; the four bytes read are that instruction (a `mov` from a control register is four
    // bytes with its REX prefix) or the code right after it.
    let [rex, escape, opcode, modrm] = unsafe { p.read_unaligned() };
    // REX with R set (control register 8 + ModRM.reg 0), 0F 20, register form.
    if rex & 0xf4 != 0x44 || escape != 0x0f || opcode != 0x20 {
        return false;
    }
    if modrm & 0xc0 != 0xc0 || modrm & 0x38 != 0 {
        return false;
    }
    let reg = (modrm & 7) | if rex & 1 != 0 { 8 } else { 0 };
    let irql = current();
    let Some(r) = gpr(frame, reg) else {
        return false;
    };
    *r = u64::from(irql);
    frame.rip += 4;
    EMULATED.fetch_add(1, Ordering::Relaxed);
    true
}
