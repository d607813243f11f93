// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The x86_64 machine: entry code, descriptor tables, interrupts and the few privileged
//! instructions the kernel needs.
//!
//! Interrupts and exceptions all run on a per-CPU IST stack (IST1), so they never touch the red
//! zone of the code they interrupt (the precompiled `core` uses one). Interrupts are enabled
//! only inside [`interrupt_window`] and [`halt`].

use core::arch::{asm, global_asm};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

global_asm!(include_str!("entry.S"), options(att_syntax));

/// The most CPUs the kernel brings up.
pub const MAX_CPUS: usize = 2;

/// Selector of the first TSS slot in the GDT; CPU `n` uses `TSS_SELECTOR + 16 * n`.
const TSS_SELECTOR: u16 = 0x18;
/// The kernel code selector.
const CODE_SELECTOR: u16 = 0x08;
/// Bytes in a 64-bit TSS.
const TSS_BYTES: usize = 104;
/// The TSS dword holding the I/O bitmap offset, set to the TSS size (no bitmap).
const IOPB_NONE: u32 = 104 << 16;
/// The IDT limit (256 gates of 16 bytes, minus one).
const IDT_LIMIT: u16 = 4095;

// SAFETY: entry.S defines these symbols with exactly these layouts: `pvh_gdt` is 7 quadwords of
// writable data, `pvh_isr_base` the start of 256 stubs 16 bytes apart and `pvh_ap_start64` the
// secondary-CPU entry; nothing else writes the GDT after boot except `init_cpu` through these atomics.
unsafe extern "C" {
    safe static pvh_gdt: [AtomicU64; 7];
    safe static pvh_isr_base: u8;
    safe fn pvh_ap_start64();
}

/// One page-aligned 4 KiB page that the kernel hands to Xen; accessed only through raw pointers.
#[repr(C, align(4096))]
pub struct Page(UnsafeCell<[u64; 512]>);

// SAFETY: a `Page` is only ever accessed through raw pointers with volatile or atomic
// operations, never through references, so sharing it between CPUs and with Xen is sound.
unsafe impl Sync for Page {}

impl Page {
    /// A zeroed page.
    pub const fn new() -> Self {
        Self(UnsafeCell::new([0; 512]))
    }

    /// The page's address (identity-mapped: also its guest-physical address).
    pub const fn ptr(&self) -> *mut u8 {
        self.0.get().cast::<u8>()
    }

    /// The page as 64-bit words (for structures Xen places in it).
    pub const fn words(&self) -> *mut u64 {
        self.0.get().cast::<u64>()
    }

    /// The page's guest frame number.
    pub fn gfn(&self) -> u64 {
        (self.ptr().addr() as u64) >> 12
    }
}

/// A per-CPU stack.
#[repr(C, align(16))]
struct Stack(UnsafeCell<[u8; 32768]>);

// SAFETY: each stack is used by exactly one CPU, and only by the hardware and that CPU's code.
unsafe impl Sync for Stack {}

impl Stack {
    // Only evaluated in static initialisers, at compile time.
    #[allow(clippy::large_stack_arrays)]
    const fn new() -> Self {
        Self(UnsafeCell::new([0; 32768]))
    }

    fn top(&self) -> u64 {
        let base = self.0.get().cast::<u8>().addr() as u64;
        base + 32768
    }
}

static IST_STACKS: [Stack; MAX_CPUS] = [Stack::new(), Stack::new()];
static AP_STACKS: [Stack; MAX_CPUS] = [Stack::new(), Stack::new()];

/// The TSS of each CPU, as 26 little-endian dwords (IST1 lives at byte 36, unaligned for a u64).
static TSS: [[AtomicU32; TSS_BYTES / 4]; MAX_CPUS] =
    [const { [const { AtomicU32::new(0) }; TSS_BYTES / 4] }; MAX_CPUS];

/// The IDT: 256 gates of two quadwords.
#[repr(C, align(16))]
struct Idt([AtomicU64; 512]);
static IDT: Idt = Idt([const { AtomicU64::new(0) }; 512]);

/// Fills the IDT (once, on the boot CPU): every vector goes to its stub on IST1.
pub fn init_idt() {
    let base = (&raw const pvh_isr_base).addr() as u64;
    for (vector, gate) in IDT.0.chunks_exact(2).enumerate() {
        let handler = base + 16 * vector as u64;
        let low = (handler & 0xffff)
            | (u64::from(CODE_SELECTOR) << 16)
            | (1 << 32) // IST1
            | (0x8e << 40) // present, DPL 0, 64-bit interrupt gate
            | ((handler >> 16) & 0xffff) << 48;
        if let [lo, hi] = gate {
            lo.store(low, Ordering::Relaxed);
            hi.store(handler >> 32, Ordering::Relaxed);
        }
    }
}

/// Loads this CPU's TSS (with its IST stack) and the IDT. `cpu` is the vCPU id.
pub fn init_cpu(cpu: usize) {
    let (Some(tss), Some(ist)) = (TSS.get(cpu), IST_STACKS.get(cpu)) else {
        return;
    };
    let [b0, b1, b2, b3, b4, b5, b6, b7] = ist.top().to_le_bytes();
    if let (Some(lo), Some(hi), Some(iopb)) = (tss.get(9), tss.get(10), tss.get(25)) {
        lo.store(u32::from_le_bytes([b0, b1, b2, b3]), Ordering::Relaxed);
        hi.store(u32::from_le_bytes([b4, b5, b6, b7]), Ordering::Relaxed);
        // I/O permission bitmap offset = the TSS size: no bitmap.
        iopb.store(IOPB_NONE, Ordering::Relaxed);
    }
    let base = tss.as_ptr().addr() as u64;
    let limit = (TSS_BYTES - 1) as u64;
    let low = (limit & 0xffff)
        | ((base & 0xff_ffff) << 16)
        | (0x89 << 40) // present, 64-bit TSS (available)
        | (((base >> 24) & 0xff) << 56);
    let slot = 3 + 2 * cpu;
    if let (Some(lo), Some(hi)) = (pvh_gdt.get(slot), pvh_gdt.get(slot + 1)) {
        lo.store(low, Ordering::SeqCst);
        hi.store(base >> 32, Ordering::SeqCst);
    }
    let Some(selector) = u16::try_from(cpu)
        .ok()
        .and_then(|c| c.checked_mul(16))
        .and_then(|offset| offset.checked_add(TSS_SELECTOR))
    else {
        return;
    };
    // SAFETY: the descriptor at `selector` was just written as an available 64-bit TSS whose
    // memory is a static that lives forever.
    unsafe { asm!("ltr {0:x}", in(reg) selector, options(nostack, preserves_flags)) };
    let idtr = DescriptorPointer {
        limit: IDT_LIMIT,
        base: IDT.0.as_ptr().addr() as u64,
    };
    // SAFETY: the IDT is a static that lives forever and whose gates point at our stubs.
    unsafe {
        asm!("lidt [{0}]", in(reg) &raw const idtr, options(readonly, nostack, preserves_flags));
    }
}

#[repr(C, packed)]
struct DescriptorPointer {
    limit: u16,
    base: u64,
}

/// The vCPU this code runs on, from the task register (each CPU loads its own TSS).
pub fn cpu_id() -> usize {
    let selector: u16;
    // SAFETY: `str` only reads the task register.
    unsafe { asm!("str {0:x}", out(reg) selector, options(nomem, nostack, preserves_flags)) };
    usize::from(selector.saturating_sub(TSS_SELECTOR) / 16)
}

/// The register state saved by the interrupt stubs, lowest address first.
#[repr(C)]
#[derive(Debug)]
pub struct Frame {
    /// General-purpose registers, r15 first.
    pub gprs: [u64; 15],
    /// The vector.
    pub vector: u64,
    /// The error code (0 when the CPU pushes none).
    pub error: u64,
    /// Interrupted RIP.
    pub rip: u64,
    /// Interrupted CS.
    pub cs: u64,
    /// Interrupted RFLAGS.
    pub rflags: u64,
    /// Interrupted RSP.
    pub rsp: u64,
    /// Interrupted SS.
    pub ss: u64,
}

/// Called by the common interrupt stub, on the IST stack, with interrupts off.
#[unsafe(no_mangle)]
extern "C" fn pvh_interrupt(frame: *mut Frame) {
    // SAFETY: the stub passes the address of the frame it just pushed; nothing else aliases it
    // while this handler runs, and the stub restores the registers from it on return (so a
    // handler may change them, as the CR8 emulation does).
    let frame = unsafe { &mut *frame };
    crate::events::interrupt(frame);
}

/// Enables interrupts for a moment so that a pending upcall is taken, then disables them.
pub fn interrupt_window() {
    // SAFETY: interrupts run on the IST stack and restore all state they touch; `sti` takes
    // effect after `nop`, so a pending interrupt is delivered between `nop` and `cli`.
    unsafe { asm!("sti", "nop", "nop", "cli", options(nomem, nostack)) };
}

/// Halts until the next interrupt with interrupts enabled (HLT with IF=0 would take the vCPU
/// down), then disables them again.
pub fn halt() {
    // SAFETY: as `interrupt_window`; `sti; hlt` cannot miss an interrupt that arrives between the
    // two instructions.
    unsafe { asm!("sti", "hlt", "cli", options(nomem, nostack)) };
}

/// Enables interrupts (for a hypercall that must sleep with them on, such as `SCHEDOP_block`).
pub fn enable_interrupts() {
    // SAFETY: interrupts run on the IST stack and restore all state they touch.
    unsafe { asm!("sti", options(nomem, nostack)) };
}

/// Disables interrupts.
pub fn disable_interrupts() {
    // SAFETY: only clears IF.
    unsafe { asm!("cli", options(nomem, nostack)) };
}

/// Spin-loop hint.
pub fn pause() {
    core::hint::spin_loop();
}

/// The time-stamp counter.
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC only reads the counter.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// CR0, CR3, CR4 and EFER of this CPU, for starting another CPU in the same mode.
pub fn control_registers() -> [u64; 4] {
    let (cr0, cr3, cr4): (u64, u64, u64);
    // SAFETY: reading control registers has no side effects at CPL 0.
    unsafe { asm!("mov {0}, cr0", out(reg) cr0, options(nomem, nostack, preserves_flags)) };
    // SAFETY: as above.
    unsafe { asm!("mov {0}, cr3", out(reg) cr3, options(nomem, nostack, preserves_flags)) };
    // SAFETY: as above.
    unsafe { asm!("mov {0}, cr4", out(reg) cr4, options(nomem, nostack, preserves_flags)) };
    let (lo, hi): (u32, u32);
    // SAFETY: EFER (0xc0000080) exists on every x86_64 CPU; RDMSR only reads it.
    unsafe {
        asm!("rdmsr", in("ecx") 0xc000_0080_u32, out("eax") lo, out("edx") hi,
             options(nomem, nostack, preserves_flags));
    }
    [cr0, cr3, cr4, u64::from(hi) << 32 | u64::from(lo)]
}

/// The stack `cpu` runs its thread on outside the stand-in's scheduler, `low..high`: the boot
/// stack for vCPU 0, its own stack for a secondary CPU.
pub fn cpu_stack(cpu: usize) -> Option<(u64, u64)> {
    if cpu == 0 {
        // SAFETY: labels of entry.S (the boot stack's two ends); only their addresses are used.
        unsafe extern "C" {
            safe static pvh_bsp_stack: [u8; 0];
            safe static pvh_bsp_stack_top: [u8; 0];
        }
        return Some((
            (&raw const pvh_bsp_stack).addr() as u64,
            (&raw const pvh_bsp_stack_top).addr() as u64,
        ));
    }
    let top = AP_STACKS.get(cpu)?.top();
    Some((top.saturating_sub(32768), top))
}

/// Where a secondary CPU starts, and the top of its stack.
pub fn ap_entry(cpu: usize) -> Option<(u64, u64)> {
    let stack = AP_STACKS.get(cpu)?;
    let entry = (pvh_ap_start64 as *const ()).addr() as u64;
    Some((entry, stack.top()))
}

/// The local APIC's MMIO page (xAPIC mode; Xen emulates it).
const LAPIC_BASE: usize = 0xfee0_0000;
/// Spurious-interrupt vector register: bit 8 software-enables the APIC.
const LAPIC_SVR: usize = 0xf0;
/// End-of-interrupt register.
const LAPIC_EOI: usize = 0xb0;

fn lapic_write(register: usize, value: u32) {
    let reg = core::ptr::with_exposed_provenance_mut::<u32>(LAPIC_BASE + register);
    // SAFETY: the LAPIC page is identity-mapped and emulated by Xen; a 32-bit aligned write to
    // one of its registers has no effect on memory.
    unsafe { reg.write_volatile(value) };
}

/// Software-enables this CPU's local APIC (spurious vector 0xff). Xen delivers per-vCPU upcall
/// vectors (`HVMOP_set_evtchn_upcall_vector`) through the virtual LAPIC only when it is enabled.
pub fn enable_lapic() {
    lapic_write(LAPIC_SVR, 0x1ff);
}

/// Signals end of interrupt to this CPU's local APIC.
pub fn lapic_eoi() {
    lapic_write(LAPIC_EOI, 0);
}

/// Interrupt command register, low and high halves.
const LAPIC_ICR_LOW: usize = 0x300;
const LAPIC_ICR_HIGH: usize = 0x310;
/// An INIT IPI, asserted (edge-triggered, fixed destination).
const ICR_INIT_ASSERT: u32 = 0x4500;

/// Sends an INIT IPI to the local APIC with id `apic_id` (Xen resets that vCPU: it is down and
/// no longer initialised).
pub fn lapic_send_init(apic_id: u8) {
    lapic_write(LAPIC_ICR_HIGH, u32::from(apic_id) << 24);
    lapic_write(LAPIC_ICR_LOW, ICR_INIT_ASSERT);
}
