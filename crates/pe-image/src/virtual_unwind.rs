// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The x64 virtual unwind: one frame of a function undone from its `UNWIND_INFO`, as the
//! kernel's `RtlVirtualUnwind` does for a stack walk.
//!
//! An x64 image describes each non-leaf function's prologue in its `.pdata`/`.xdata`: an
//! `UNWIND_INFO` header (version, flags, prologue size, code count, frame register and its
//! scaled offset), then the unwind codes in the reverse order of the prologue's instructions,
//! then either a chained `RUNTIME_FUNCTION` (`UNW_FLAG_CHAININFO`) or a handler's RVA. Undoing
//! the codes in order restores the caller's non-volatile registers and `RSP`; the return
//! address is then popped (or, after `UWOP_PUSH_MACHFRAME`, taken from the machine frame).
//!
//! Within a prologue only the codes of the instructions already run are undone. An address in
//! an epilogue is not recognised (the kernel decodes the epilogue's instructions instead): the
//! walks this serves start from call sites and captured bodies, never from an epilogue.
//!
//! Every read goes through [`UnwindMemory`], so a malformed table or a stack address the
//! caller does not vouch for ends the unwind with an [`UnwindError`], never a fault.

use crate::RuntimeFunction;

/// `UNW_FLAG_EHANDLER`.
pub const UNW_FLAG_EHANDLER: u8 = 1;
/// `UNW_FLAG_UHANDLER`.
pub const UNW_FLAG_UHANDLER: u8 = 2;
/// `UNW_FLAG_CHAININFO`.
pub const UNW_FLAG_CHAININFO: u8 = 4;

/// Chained entries followed at most (a cycle in a hostile image ends here).
const MAX_CHAIN: usize = 32;

/// The unwind operations (`UNWIND_CODE.UnwindOp`).
mod op {
    pub const PUSH_NONVOL: u8 = 0;
    pub const ALLOC_LARGE: u8 = 1;
    pub const ALLOC_SMALL: u8 = 2;
    pub const SET_FPREG: u8 = 3;
    pub const SAVE_NONVOL: u8 = 4;
    pub const SAVE_NONVOL_FAR: u8 = 5;
    /// Version 2's `UWOP_EPILOG` (version 1: the retired `UWOP_SAVE_XMM`).
    pub const EPILOG: u8 = 6;
    /// Version 1's retired `UWOP_SAVE_XMM_FAR` (version 2: `UWOP_SPARE_CODE`).
    pub const SPARE: u8 = 7;
    pub const SAVE_XMM128: u8 = 8;
    pub const SAVE_XMM128_FAR: u8 = 9;
    pub const PUSH_MACHFRAME: u8 = 10;
}

/// The registers an unwind reads and writes.
///
/// The sixteen integer registers in the x64 encoding order (`RAX`, `RCX`, `RDX`, `RBX`, `RSP`, `RBP`, `RSI`, `RDI`, `R8`..`R15`, which is also
/// `CONTEXT`'s order), the sixteen `XMM` registers and `RIP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Registers {
    /// The integer registers, by encoding.
    pub gpr: [u64; 16],
    /// `XMM0`..`XMM15`.
    pub xmm: [u128; 16],
    /// `RIP`.
    pub rip: u64,
}

/// Index of `RSP` in [`Registers::gpr`].
const RSP: usize = 4;

impl Registers {
    /// `RSP`.
    #[must_use]
    pub const fn rsp(&self) -> u64 {
        self.gpr[RSP]
    }

    const fn set_rsp(&mut self, value: u64) {
        self.gpr[RSP] = value;
    }
}

/// What the unwinder may read.
pub trait UnwindMemory {
    /// Fills `out` with the image's bytes at `rva`; `false` when they are not all in the image.
    fn image(&self, rva: u32, out: &mut [u8]) -> bool;
    /// The stack's 8 bytes at `address`, if the caller vouches for them.
    fn stack_u64(&self, address: u64) -> Option<u64>;
    /// The stack's 16 bytes at `address`, if the caller vouches for them.
    fn stack_u128(&self, address: u64) -> Option<u128>;
}

/// Why a frame could not be unwound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnwindError {
    /// The `UNWIND_INFO` (or a chained entry, or a code's operand) is not in the image.
    NotInImage {
        /// Where the read was.
        rva: u32,
    },
    /// An `UNWIND_INFO` version other than 1 and 2.
    Version(u8),
    /// An unwind code this unwinder does not know (or one retired in this version).
    Code {
        /// `UnwindOp`.
        op: u8,
        /// `OpInfo`.
        info: u8,
    },
    /// A code whose operand slots run past `CountOfCodes`.
    Truncated,
    /// A stack read the memory refused.
    Stack(u64),
    /// More than [`MAX_CHAIN`] chained entries.
    ChainTooLong,
    /// Address arithmetic overflowed (a hostile offset).
    Overflow,
    /// The program counter is not inside the function.
    NotInFunction,
}

/// What an unwind found besides the caller's registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unwound {
    /// The establisher frame: `RSP` on entry, or the frame register's base when the function
    /// set one up.
    pub establisher_frame: u64,
    /// The primary function's handler (`UNW_FLAG_EHANDLER`/`UNW_FLAG_UHANDLER`): its flags,
    /// its RVA and the RVA of its data.
    pub handler: Option<(u8, u32, u32)>,
    /// Whether a machine frame (`UWOP_PUSH_MACHFRAME`) gave `RIP` and `RSP`.
    pub machine_frame: bool,
    /// Where each integer register restored was read from (what the kernel reports through
    /// `KNONVOLATILE_CONTEXT_POINTERS.IntegerContext`).
    pub gpr_from: [Option<u64>; 16],
    /// Where each `XMM` register restored was read from (`FloatingContext`).
    pub xmm_from: [Option<u64>; 16],
}

/// One parsed `UNWIND_INFO`.
struct Info {
    version: u8,
    flags: u8,
    prolog: u8,
    frame_register: usize,
    frame_offset: u64,
    /// The codes, two bytes each.
    codes: [u8; 512],
    count: usize,
    /// Where the chained entry or the handler starts.
    tail: u32,
}

impl Info {
    fn read(memory: &dyn UnwindMemory, rva: u32) -> Result<Self, UnwindError> {
        let mut header = [0u8; 4];
        if !memory.image(rva, &mut header) {
            return Err(UnwindError::NotInImage { rva });
        }
        let [version_flags, prolog, count, frame] = header;
        let version = version_flags & 7;
        if version != 1 && version != 2 {
            return Err(UnwindError::Version(version));
        }
        let count = usize::from(count);
        let mut codes = [0u8; 512];
        let codes_rva = rva.checked_add(4).ok_or(UnwindError::Overflow)?;
        let bytes = codes
            .get_mut(..count.saturating_mul(2))
            .ok_or(UnwindError::Truncated)?;
        if !memory.image(codes_rva, bytes) {
            return Err(UnwindError::NotInImage { rva: codes_rva });
        }
        // The codes array is padded to an even count.
        let padded = u32::try_from((count + 1) & !1).map_err(|_| UnwindError::Overflow)?;
        let tail = codes_rva
            .checked_add(padded.saturating_mul(2))
            .ok_or(UnwindError::Overflow)?;
        Ok(Self {
            version,
            flags: version_flags >> 3,
            prolog,
            frame_register: usize::from(frame & 0xF),
            frame_offset: u64::from(frame >> 4) * 16,
            codes,
            count,
            tail,
        })
    }

    /// Code `i`: (offset in the prologue, operation, operation info).
    fn code(&self, i: usize) -> Option<(u8, u8, u8)> {
        let at = i.checked_mul(2)?;
        let offset = *self.codes.get(at)?;
        let op_info = *self.codes.get(at.checked_add(1)?)?;
        Some((offset, op_info & 0xF, op_info >> 4))
    }

    /// Slot `i` as a 16-bit operand.
    fn u16_at(&self, i: usize) -> Option<u16> {
        let at = i.checked_mul(2)?;
        Some(u16::from_le_bytes([
            *self.codes.get(at)?,
            *self.codes.get(at.checked_add(1)?)?,
        ]))
    }

    /// Slots `i` and `i + 1` as a 32-bit operand.
    fn u32_at(&self, i: usize) -> Option<u32> {
        let low = u32::from(self.u16_at(i)?);
        let high = u32::from(self.u16_at(i.checked_add(1)?)?);
        Some(low | high << 16)
    }
}

/// How many slots code `op` takes.
const fn slots(op: u8, info: u8) -> Result<usize, UnwindError> {
    Ok(match op {
        op::PUSH_NONVOL | op::ALLOC_SMALL | op::SET_FPREG | op::PUSH_MACHFRAME => 1,
        op::ALLOC_LARGE if info == 0 => 2,
        op::ALLOC_LARGE if info == 1 => 3,
        op::SAVE_NONVOL | op::SAVE_XMM128 | op::EPILOG => 2,
        op::SAVE_NONVOL_FAR | op::SAVE_XMM128_FAR | op::SPARE => 3,
        _ => return Err(UnwindError::Code { op, info }),
    })
}

/// Unwinds `registers` (a frame of `function`, in the image at `base`, stopped at
/// `registers.rip`) to its caller's.
///
/// # Errors
/// An [`UnwindError`]; `registers` may then be partly unwound.
pub fn virtual_unwind(
    memory: &dyn UnwindMemory,
    base: u64,
    function: RuntimeFunction,
    registers: &mut Registers,
) -> Result<Unwound, UnwindError> {
    let pc = registers
        .rip
        .checked_sub(base)
        .and_then(|r| u32::try_from(r).ok())
        .ok_or(UnwindError::NotInFunction)?;
    if pc < function.begin || pc >= function.end {
        return Err(UnwindError::NotInFunction);
    }
    let mut entry = function;
    let mut primary = true;
    let mut frame = registers.rsp();
    let mut unwound = Unwound {
        establisher_frame: frame,
        handler: None,
        machine_frame: false,
        gpr_from: [None; 16],
        xmm_from: [None; 16],
    };
    for _ in 0..MAX_CHAIN {
        let info = Info::read(memory, entry.unwind_info)?;
        // Within the primary function's prologue only what already ran is undone; a chained
        // entry's prologue ran before the primary function's body.
        let in_prolog = pc
            .checked_sub(entry.begin)
            .filter(|&offset| primary && offset < u32::from(info.prolog));
        let ran = |code_offset: u8| in_prolog.is_none_or(|o| u32::from(code_offset) <= o);
        if let Some(base) = frame_base(&info, registers, ran)? {
            frame = base;
        }
        if primary {
            unwound.establisher_frame = frame;
        }
        let mut i = 0usize;
        while i < info.count {
            let (offset, op, op_info) = info.code(i).ok_or(UnwindError::Truncated)?;
            let n = slots(op, op_info)?;
            let next = i.saturating_add(n);
            if next > info.count {
                return Err(UnwindError::Truncated);
            }
            if ran(offset) {
                apply(
                    memory,
                    &info,
                    i,
                    op,
                    op_info,
                    frame,
                    registers,
                    &mut unwound,
                )?;
            }
            i = next;
        }
        if primary
            && info.flags & (UNW_FLAG_EHANDLER | UNW_FLAG_UHANDLER) != 0
            && info.flags & UNW_FLAG_CHAININFO == 0
        {
            let mut handler = [0u8; 4];
            if !memory.image(info.tail, &mut handler) {
                return Err(UnwindError::NotInImage { rva: info.tail });
            }
            let data = info.tail.checked_add(4).ok_or(UnwindError::Overflow)?;
            unwound.handler = Some((info.flags, u32::from_le_bytes(handler), data));
        }
        if info.flags & UNW_FLAG_CHAININFO == 0 {
            if !unwound.machine_frame {
                let rsp = registers.rsp();
                registers.rip = memory.stack_u64(rsp).ok_or(UnwindError::Stack(rsp))?;
                registers.set_rsp(rsp.checked_add(8).ok_or(UnwindError::Overflow)?);
            }
            return Ok(unwound);
        }
        let mut chained = [0u8; 12];
        if !memory.image(info.tail, &mut chained) {
            return Err(UnwindError::NotInImage { rva: info.tail });
        }
        let word = |at: usize| {
            chained
                .get(at..at.saturating_add(4))
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map_or(0, u32::from_le_bytes)
        };
        entry = RuntimeFunction {
            begin: word(0),
            end: word(4),
            unwind_info: word(8),
        };
        primary = false;
    }
    Err(UnwindError::ChainTooLong)
}

/// The frame register's base (its value less the scaled offset) once the prologue has set it
/// up; `None` when the function has none or it is not set up yet.
fn frame_base(
    info: &Info,
    registers: &Registers,
    ran: impl Fn(u8) -> bool,
) -> Result<Option<u64>, UnwindError> {
    if info.frame_register == 0 {
        return Ok(None);
    }
    let set_fpreg = (0..info.count)
        .filter_map(|i| info.code(i))
        .find(|&(_, op, _)| op == op::SET_FPREG);
    if !set_fpreg.is_some_and(|(offset, _, _)| ran(offset)) {
        return Ok(None);
    }
    let value = registers
        .gpr
        .get(info.frame_register)
        .copied()
        .ok_or(UnwindError::Truncated)?;
    value
        .checked_sub(info.frame_offset)
        .map(Some)
        .ok_or(UnwindError::Overflow)
}

/// Undoes code `i` (operation `op`, info `op_info`); `frame` is the base `SAVE_*` offsets are
/// counted from.
#[allow(clippy::too_many_arguments)]
fn apply(
    memory: &dyn UnwindMemory,
    info: &Info,
    i: usize,
    op: u8,
    op_info: u8,
    frame: u64,
    registers: &mut Registers,
    unwound: &mut Unwound,
) -> Result<(), UnwindError> {
    let at = |base: u64, offset: u64| base.checked_add(offset).ok_or(UnwindError::Overflow);
    let read = |address: u64| memory.stack_u64(address).ok_or(UnwindError::Stack(address));
    let read128 = |address: u64| {
        memory
            .stack_u128(address)
            .ok_or(UnwindError::Stack(address))
    };
    let operand16 = || {
        i.checked_add(1)
            .and_then(|j| info.u16_at(j))
            .map(u64::from)
            .ok_or(UnwindError::Truncated)
    };
    let operand32 = || {
        i.checked_add(1)
            .and_then(|j| info.u32_at(j))
            .map(u64::from)
            .ok_or(UnwindError::Truncated)
    };
    let register = usize::from(op_info);
    let rsp = registers.rsp();
    match op {
        op::PUSH_NONVOL => {
            let value = read(rsp)?;
            set(&mut registers.gpr, register, value)?;
            set(&mut unwound.gpr_from, register, Some(rsp))?;
            registers.set_rsp(at(rsp, 8)?);
        }
        op::ALLOC_LARGE => {
            let size = if op_info == 0 {
                operand16()?.saturating_mul(8)
            } else {
                operand32()?
            };
            registers.set_rsp(at(rsp, size)?);
        }
        op::ALLOC_SMALL => registers.set_rsp(at(
            rsp,
            u64::from(op_info).saturating_add(1).saturating_mul(8),
        )?),
        op::SET_FPREG => registers.set_rsp(frame),
        op::SAVE_NONVOL | op::SAVE_NONVOL_FAR => {
            let offset = if op == op::SAVE_NONVOL {
                operand16()?.saturating_mul(8)
            } else {
                operand32()?
            };
            let address = at(frame, offset)?;
            set(&mut registers.gpr, register, read(address)?)?;
            set(&mut unwound.gpr_from, register, Some(address))?;
        }
        op::SAVE_XMM128 | op::SAVE_XMM128_FAR => {
            let offset = if op == op::SAVE_XMM128 {
                operand16()?.saturating_mul(16)
            } else {
                operand32()?
            };
            let address = at(frame, offset)?;
            set(&mut registers.xmm, register, read128(address)?)?;
            set(&mut unwound.xmm_from, register, Some(address))?;
        }
        op::PUSH_MACHFRAME => {
            // RIP, CS, EFLAGS, RSP, SS above an optional error code.
            let top = match op_info {
                0 => rsp,
                1 => at(rsp, 8)?,
                _ => return Err(UnwindError::Code { op, info: op_info }),
            };
            registers.rip = read(top)?;
            let caller_rsp = read(at(top, 24)?)?;
            registers.set_rsp(caller_rsp);
            unwound.machine_frame = true;
        }
        // Version 2's epilogue descriptions do nothing to a body's unwind (in version 1 the
        // operation is the retired UWOP_SAVE_XMM).
        op::EPILOG if info.version == 2 => {}
        _ => return Err(UnwindError::Code { op, info: op_info }),
    }
    Ok(())
}

/// `registers[index] = value`.
fn set<T>(registers: &mut [T; 16], index: usize, value: T) -> Result<(), UnwindError> {
    let slot = registers.get_mut(index).ok_or(UnwindError::Truncated)?;
    *slot = value;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation, clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use alloc::vec::Vec;

    const BASE: u64 = 0x1_4000_0000;

    /// An image of unwind data at RVA 0x100.. and a stack of words.
    struct Machine {
        image: Vec<u8>,
        stack: BTreeMap<u64, u64>,
    }

    impl Machine {
        fn new() -> Self {
            Self {
                image: alloc::vec![0; 0x1000],
                stack: BTreeMap::new(),
            }
        }

        fn put(&mut self, rva: u32, bytes: &[u8]) {
            let at = rva as usize;
            self.image[at..at + bytes.len()].copy_from_slice(bytes);
        }

        /// Writes an `UNWIND_INFO` at `rva`: version 1, `flags`, prologue size, frame register
        /// and scaled offset, the codes, then `tail` (after the even padding).
        fn info(&mut self, rva: u32, flags: u8, prolog: u8, frame: u8, codes: &[u16], tail: &[u8]) {
            let mut bytes = alloc::vec![1 | flags << 3, prolog, codes.len() as u8, frame];
            for c in codes {
                bytes.extend_from_slice(&c.to_le_bytes());
            }
            if codes.len() % 2 == 1 {
                bytes.extend_from_slice(&[0, 0]);
            }
            bytes.extend_from_slice(tail);
            self.put(rva, &bytes);
        }

        fn words(&mut self, at: u64, words: &[u64]) {
            for (i, w) in words.iter().enumerate() {
                self.stack.insert(at + 8 * i as u64, *w);
            }
        }
    }

    impl UnwindMemory for Machine {
        fn image(&self, rva: u32, out: &mut [u8]) -> bool {
            let start = rva as usize;
            self.image
                .get(start..start + out.len())
                .map(|bytes| out.copy_from_slice(bytes))
                .is_some()
        }

        fn stack_u64(&self, address: u64) -> Option<u64> {
            self.stack.get(&address).copied()
        }

        fn stack_u128(&self, address: u64) -> Option<u128> {
            let low = u128::from(self.stack_u64(address)?);
            let high = u128::from(self.stack_u64(address + 8)?);
            Some(low | high << 64)
        }
    }

    /// A code: offset in the prologue, operation, info.
    const fn code(offset: u8, op: u8, info: u8) -> u16 {
        offset as u16 | ((op | info << 4) as u16) << 8
    }

    const RBX: u8 = 3;
    const RBP: u8 = 5;
    const RSI: u8 = 6;
    const R12: u8 = 12;

    fn function(begin: u32, end: u32, info: u32) -> RuntimeFunction {
        RuntimeFunction {
            begin,
            end,
            unwind_info: info,
        }
    }

    /// `push rbp; push rbx; sub rsp, 0x28` (offsets 1, 2, 6), the body from 6.
    fn push_push_alloc(m: &mut Machine) -> RuntimeFunction {
        m.info(
            0x100,
            0,
            6,
            0,
            &[
                code(6, op::ALLOC_SMALL, 4),
                code(2, op::PUSH_NONVOL, RBX),
                code(1, op::PUSH_NONVOL, RBP),
            ],
            &[],
        );
        // Body RSP 0x9000: 0x28 of locals, saved RBX, saved RBP, the return address.
        m.words(0x9028, &[0xB0B0, 0xB9B9, 0x1234_5678]);
        function(0x2000, 0x2100, 0x100)
    }

    fn at(rip_rva: u64, rsp: u64) -> Registers {
        let mut r = Registers {
            rip: BASE + rip_rva,
            ..Registers::default()
        };
        r.gpr[RSP] = rsp;
        r
    }

    #[test]
    fn a_body_frame_gives_back_the_pushed_registers_and_the_return_address() {
        let mut m = Machine::new();
        let f = push_push_alloc(&mut m);
        let mut r = at(0x2040, 0x9000);
        let out = virtual_unwind(&m, BASE, f, &mut r).unwrap();
        assert_eq!(r.gpr[usize::from(RBX)], 0xB0B0);
        assert_eq!(r.gpr[usize::from(RBP)], 0xB9B9);
        assert_eq!((r.rip, r.rsp()), (0x1234_5678, 0x9040));
        assert_eq!(out.establisher_frame, 0x9000);
        assert_eq!((out.handler, out.machine_frame), (None, false));
        assert_eq!(out.gpr_from[usize::from(RBX)], Some(0x9028));
        assert_eq!(out.gpr_from[usize::from(RBP)], Some(0x9030));
        assert_eq!(out.gpr_from[usize::from(RSI)], None);
    }

    #[test]
    fn inside_the_prologue_only_the_instructions_that_ran_are_undone() {
        let mut m = Machine::new();
        let f = push_push_alloc(&mut m);
        // After `push rbp; push rbx` (offset 2): RSP points at saved RBX.
        let mut r = at(0x2002, 0x9028);
        virtual_unwind(&m, BASE, f, &mut r).unwrap();
        assert_eq!(r.gpr[usize::from(RBX)], 0xB0B0);
        assert_eq!((r.rip, r.rsp()), (0x1234_5678, 0x9040));
        // At the first instruction nothing ran: the return address is on top.
        let mut r = at(0x2000, 0x9038);
        virtual_unwind(&m, BASE, f, &mut r).unwrap();
        assert_eq!(
            (r.rip, r.rsp(), r.gpr[usize::from(RBX)]),
            (0x1234_5678, 0x9040, 0)
        );
    }

    #[test]
    fn a_frame_register_saves_and_large_allocations_are_undone_from_the_frame_base() {
        let mut m = Machine::new();
        // push rbp (1); sub rsp, 0x1000 (ALLOC_LARGE/0: 0x200 * 8) (8); lea rbp, [rsp+0x20]
        // (frame RBP, offset 2 * 16) (13); mov [rsp+0x30], rsi (SAVE_NONVOL 6) (18);
        // movaps [rsp+0x40], xmm6 (SAVE_XMM128 4) (23). The body moved RSP (an alloca).
        m.info(
            0x200,
            0,
            23,
            RBP | 2 << 4,
            &[
                code(23, op::SAVE_XMM128, 6),
                4,
                code(18, op::SAVE_NONVOL, RSI),
                6,
                code(13, op::SET_FPREG, 0),
                code(8, op::ALLOC_LARGE, 0),
                0x200,
                code(1, op::PUSH_NONVOL, RBP),
            ],
            &[],
        );
        let frame = 0x20_000u64;
        m.words(frame + 0x30, &[0x5151]);
        m.words(frame + 0x40, &[0x6666, 0x7777]);
        m.words(frame + 0x1000, &[0xBBBB, 0xCAFE]);
        let mut r = at(0x3100, 0x1_0000);
        r.gpr[usize::from(RBP)] = frame + 0x20;
        let out = virtual_unwind(&m, BASE, function(0x3000, 0x3200, 0x200), &mut r).unwrap();
        assert_eq!(out.establisher_frame, frame);
        assert_eq!(r.gpr[usize::from(RSI)], 0x5151);
        assert_eq!(r.xmm[6], 0x7777_u128 << 64 | 0x6666);
        assert_eq!(out.xmm_from[6], Some(frame + 0x40));
        assert_eq!(out.gpr_from[usize::from(RSI)], Some(frame + 0x30));
        assert_eq!(r.gpr[usize::from(RBP)], 0xBBBB);
        assert_eq!((r.rip, r.rsp()), (0xCAFE, frame + 0x1010));
    }

    #[test]
    fn far_saves_and_32_bit_allocations_take_two_operand_slots() {
        let mut m = Machine::new();
        m.info(
            0x300,
            0,
            20,
            0,
            &[
                code(20, op::SAVE_NONVOL_FAR, R12),
                0x0008,
                0x0001,
                code(12, op::ALLOC_LARGE, 1),
                0x0010,
                0x0001,
            ],
            &[],
        );
        m.words(0x40_000 + 0x1_0008, &[0x1212]);
        m.words(0x40_000 + 0x1_0010, &[0xFEED]);
        let mut r = at(0x4020, 0x40_000);
        virtual_unwind(&m, BASE, function(0x4000, 0x4100, 0x300), &mut r).unwrap();
        assert_eq!(r.gpr[usize::from(R12)], 0x1212);
        assert_eq!((r.rip, r.rsp()), (0xFEED, 0x40_000 + 0x1_0018));
    }

    #[test]
    fn a_machine_frame_gives_rip_and_rsp_without_popping_a_return_address() {
        let mut m = Machine::new();
        m.info(0x400, 0, 0, 0, &[code(0, op::PUSH_MACHFRAME, 1)], &[]);
        // Error code, RIP, CS, EFLAGS, RSP, SS.
        m.words(0x5000, &[0xE, 0xAAAA, 0x10, 0x202, 0x7_0000, 0x18]);
        let mut r = at(0x5010, 0x5000);
        let out = virtual_unwind(&m, BASE, function(0x5000, 0x5100, 0x400), &mut r).unwrap();
        assert!(out.machine_frame);
        assert_eq!((r.rip, r.rsp()), (0xAAAA, 0x7_0000));
    }

    #[test]
    fn a_chained_entry_is_undone_after_the_primary_one_whole() {
        let mut m = Machine::new();
        // The parent: push rbx at offset 1 of a prologue of 1.
        m.info(0x500, 0, 1, 0, &[code(1, op::PUSH_NONVOL, RBX)], &[]);
        // The fragment: alloc 0x10 at offset 4, chained to the parent's entry.
        let mut tail = Vec::new();
        for w in [0x6000u32, 0x6010, 0x500] {
            tail.extend_from_slice(&w.to_le_bytes());
        }
        m.info(
            0x540,
            UNW_FLAG_CHAININFO,
            4,
            0,
            &[code(4, op::ALLOC_SMALL, 1)],
            &tail,
        );
        m.words(0x8010, &[0xB0B0, 0x4321]);
        // Inside the fragment's body: its own alloc, then the parent's push, all undone.
        let mut r = at(0x6108, 0x8000);
        let out = virtual_unwind(&m, BASE, function(0x6100, 0x6200, 0x540), &mut r).unwrap();
        assert_eq!(out.establisher_frame, 0x8000);
        assert_eq!(r.gpr[usize::from(RBX)], 0xB0B0);
        assert_eq!((r.rip, r.rsp()), (0x4321, 0x8020));
    }

    #[test]
    fn a_handler_is_reported_with_its_data() {
        let mut m = Machine::new();
        m.info(
            0x600,
            UNW_FLAG_EHANDLER,
            0,
            0,
            &[],
            &0x7777u32.to_le_bytes(),
        );
        m.words(0x9000, &[0x1]);
        let mut r = at(0x7000, 0x9000);
        let out = virtual_unwind(&m, BASE, function(0x7000, 0x7010, 0x600), &mut r).unwrap();
        assert_eq!(out.handler, Some((UNW_FLAG_EHANDLER, 0x7777, 0x608)));
    }

    #[test]
    fn hostile_tables_and_stacks_end_with_an_error() {
        let mut m = Machine::new();
        let f = push_push_alloc(&mut m);
        // Outside the function.
        let mut r = at(0x2100, 0x9000);
        assert_eq!(
            virtual_unwind(&m, BASE, f, &mut r),
            Err(UnwindError::NotInFunction)
        );
        let mut r = Registers::default();
        assert_eq!(
            virtual_unwind(&m, BASE, f, &mut r),
            Err(UnwindError::NotInFunction)
        );
        // A stack the memory does not vouch for.
        let mut r = at(0x2040, 0x10_0000);
        assert_eq!(
            virtual_unwind(&m, BASE, f, &mut r),
            Err(UnwindError::Stack(0x10_0028))
        );
        // Unknown and retired operations; an operand past the count.
        for (codes, err) in [
            (&[code(0, 11, 0)][..], UnwindError::Code { op: 11, info: 0 }),
            (
                &[code(0, op::EPILOG, 0), 0][..],
                UnwindError::Code { op: 6, info: 0 },
            ),
            (
                &[code(0, op::ALLOC_LARGE, 2)][..],
                UnwindError::Code { op: 1, info: 2 },
            ),
            (
                &[code(0, op::PUSH_MACHFRAME, 2)][..],
                UnwindError::Code { op: 10, info: 2 },
            ),
            (&[code(0, op::SAVE_NONVOL, 3)][..], UnwindError::Truncated),
        ] {
            m.info(0x700, 0, 0, 0, codes, &[]);
            m.words(0xA000, &[0x1, 0x1, 0x1, 0x1, 0x1]);
            let mut r = at(0x8000, 0xA000);
            assert_eq!(
                virtual_unwind(&m, BASE, function(0x8000, 0x8010, 0x700), &mut r),
                Err(err),
                "{codes:x?}"
            );
        }
        // Version 3; unwind data outside the image; a chain that points at itself.
        m.put(0x800, &[3, 0, 0, 0]);
        let mut r = at(0x8000, 0xA000);
        assert_eq!(
            virtual_unwind(&m, BASE, function(0x8000, 0x8010, 0x800), &mut r),
            Err(UnwindError::Version(3))
        );
        assert_eq!(
            virtual_unwind(&m, BASE, function(0x8000, 0x8010, 0xFFFF_FFF0), &mut r),
            Err(UnwindError::NotInImage { rva: 0xFFFF_FFF0 })
        );
        let mut tail = Vec::new();
        for w in [0x8000u32, 0x8010, 0x900] {
            tail.extend_from_slice(&w.to_le_bytes());
        }
        m.info(0x900, UNW_FLAG_CHAININFO, 0, 0, &[], &tail);
        assert_eq!(
            virtual_unwind(&m, BASE, function(0x8000, 0x8010, 0x900), &mut r),
            Err(UnwindError::ChainTooLong)
        );
    }
}
