//! Validation and pre-decoding of bytecode, after numexpr's `check_program`:
//! nothing reaches a kernel before every rule at the top of `src/opcodes.ts`
//! has been checked, and every refusal names the instruction or register.

use crate::isa::Isa;
use crate::kernels::{self, Fill, Kernel};
use crate::opcodes::{
    DType, OpInfo, RegKind, BYTECODE_VERSION, HEADER_WORDS, INSTR_WORDS, MAGIC, NO_REG, OPCODES,
};
use crate::vm::BLOCK;
use crate::{Error, ErrorCode};

/// The most per-thread scratch (temporaries and broadcast values, [`BLOCK`]
/// elements each) a program may need; a program needing more is refused.
pub const MAX_SCRATCH_BYTES: usize = 64 << 20;

/// The most registers a program may declare (`NO_REG` is not a register).
const MAX_REGS: u32 = 65535;

/// Where a register's block lives.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loc {
    /// No operand.
    Unused,
    /// In place in the caller's array `arg` (outputs first, then inputs).
    Array { arg: usize, size: usize },
    /// At this byte offset of the per-thread scratch.
    Scratch(usize),
}

/// A pre-decoded instruction.
pub(crate) struct Instr {
    pub(crate) kernel: Kernel,
    pub(crate) dst: Loc,
    pub(crate) src: [Loc; 4],
    /// The array whose next block the kernel asks the cache for while it
    /// runs over a large run's block ([`Loc::Unused`]: none); see
    /// [`pair_prefetches`].
    pub(crate) next: Loc,
}

/// Pairs each instruction that reads no array (it computes from the
/// scratch, and memory idles while it runs) with an array that others read
/// before any instruction writes it, taking the arrays in turn: in a large
/// run, that instruction's kernel fetches the array's next block while it
/// computes (`Mode::Ahead`), so the instruction reading it finds it in the
/// cache. Measured at 2^24 float32, 2 threads, median of 21 calls, two
/// processes each (before → after): tanh∘ReLU into `out` (`where`, then
/// `tanh` from the scratch) 4.45–4.52 → 3.88–3.99 ms, Adam as 3 calls
/// 23.9–24.0 → 20.3–21.2 ms, `exp(p * 0.1) + g` 11.7–12.2 → 9.3–9.6 ms,
/// `sum(tanh(p * g))` 8.3–8.5 → 7.6–8.0 ms, fused Adam 17.6–17.7 → 16.6–17.1
/// ms, and 17.9–18.5 → 16.5–16.6 ms (a slower hour) once the outputs its
/// last statement reads back (`m`, `v`, written earlier in the block) no
/// longer took turns from `p`. SGD and ReLU have no such instruction.
fn pair_prefetches(instrs: &mut [Instr]) {
    let is_array = |loc: &Loc| matches!(loc, Loc::Array { .. });
    // The arrays read before the block writes them: an output read back
    // after an instruction of the block wrote it is in the cache already.
    let (mut arrays, mut written): (Vec<Loc>, Vec<Loc>) = (Vec::new(), Vec::new());
    for ins in instrs.iter() {
        for &loc in ins.src.iter().filter(|loc| is_array(loc)) {
            if !arrays.contains(&loc) && !written.contains(&loc) {
                arrays.push(loc);
            }
        }
        if is_array(&ins.dst) {
            written.push(ins.dst);
        }
    }
    let computing = instrs
        .iter_mut()
        .filter(|ins| !ins.src.iter().any(is_array));
    for (ins, &array) in computing.zip(arrays.iter().cycle()) {
        ins.next = array;
    }
}

/// Where a broadcast register's value comes from.
#[derive(Clone, Copy)]
pub(crate) enum Value {
    Const([u8; 8]),
    Scalar(usize),
}

/// A scalar or constant register, filled once per run and thread.
pub(crate) struct Broadcast {
    pub(crate) offset: usize,
    pub(crate) fill: Fill,
    pub(crate) value: Value,
}

/// A validated, pre-decoded program.
pub struct Program {
    /// The ISA the kernels of `instrs` were compiled for (available here).
    isa: Isa,
    pub(crate) instrs: Vec<Instr>,
    pub(crate) broadcasts: Vec<Broadcast>,
    pub(crate) scratch_bytes: usize,
    /// Σ cost of the instructions, per element.
    pub(crate) cost: u64,
    /// Per output slot: the first instruction writing it.
    pub(crate) first_write: Vec<usize>,
    /// Per input slot: the last instruction reading it, if any.
    pub(crate) last_read: Vec<Option<usize>>,
    inputs: Vec<DType>,
    outputs: Vec<DType>,
    scalars: Vec<DType>,
}

#[derive(Clone, Copy)]
struct Reg {
    kind: RegKind,
    dtype: DType,
    index: usize,
    fill: Fill,
}

fn bad(message: String) -> Error {
    Error::new(ErrorCode::BadProgram, message)
}

fn kind_name(kind: RegKind) -> &'static str {
    match kind {
        RegKind::Input => "input",
        RegKind::Output => "output",
        RegKind::Scalar => "scalar",
        RegKind::Const => "const",
        RegKind::Temp => "temp",
    }
}

/// The registers' slots of one kind: the dtype of each slot and the first
/// register naming it.
struct Slots {
    kind: RegKind,
    first: Vec<Option<(usize, DType)>>,
}

impl Slots {
    fn new(kind: RegKind, count: usize) -> Slots {
        Slots {
            kind,
            first: vec![None; count],
        }
    }

    fn claim(&mut self, reg: usize, index: usize, dtype: DType) -> Result<(), Error> {
        let name = kind_name(self.kind);
        let count = self.first.len();
        match self.first.get_mut(index) {
            None => Err(bad(format!(
                "register {reg}: {name} slot {index} out of range (n_{name}s = {count})"
            ))),
            Some(Some((other, d))) if *d != dtype => Err(bad(format!(
                "register {reg}: {name} slot {index} is {} here but {} in register {other}",
                dtype.name(),
                d.name()
            ))),
            Some(slot) => {
                slot.get_or_insert((reg, dtype));
                Ok(())
            }
        }
    }

    /// Per slot: the first register naming it, and its dtype.
    fn finish(self) -> Result<Vec<(usize, DType)>, Error> {
        let name = kind_name(self.kind);
        self.first
            .iter()
            .enumerate()
            .map(|(slot, first)| {
                first.ok_or_else(|| {
                    bad(format!(
                        "header: {name} slot {slot} is not named by any register"
                    ))
                })
            })
            .collect()
    }
}

/// Builds the per-instruction locations, laying out the scratch on first use.
struct Layout<'a> {
    regs: &'a [Reg],
    consts: &'a [u32],
    n_outputs: usize,
    locs: Vec<Option<Loc>>,
    broadcasts: Vec<Broadcast>,
    scratch_bytes: usize,
}

impl Layout<'_> {
    fn loc(&mut self, instr: usize, r: usize) -> Result<Loc, Error> {
        if let Some(loc) = self.locs[r] {
            return Ok(loc);
        }
        let reg = self.regs[r];
        let size = reg.dtype.size();
        let loc = match reg.kind {
            RegKind::Output => Loc::Array {
                arg: reg.index,
                size,
            },
            RegKind::Input => Loc::Array {
                arg: self.n_outputs + reg.index,
                size,
            },
            RegKind::Temp | RegKind::Scalar | RegKind::Const => {
                let offset = self.scratch_bytes;
                self.scratch_bytes = offset
                    .checked_add(BLOCK * size)
                    .filter(|&total| total <= MAX_SCRATCH_BYTES)
                    .ok_or_else(|| {
                        bad(format!(
                            "instruction {instr}: register {r} needs more than \
                             {MAX_SCRATCH_BYTES} bytes of scratch per thread in all"
                        ))
                    })?;
                let value = match reg.kind {
                    RegKind::Scalar => Some(Value::Scalar(reg.index)),
                    RegKind::Const => {
                        let w = &self.consts[2 * reg.index..2 * reg.index + 2];
                        let raw = (u64::from(w[0]) | (u64::from(w[1]) << 32)).to_le_bytes();
                        Some(Value::Const(raw))
                    }
                    _ => None,
                };
                if let Some(value) = value {
                    self.broadcasts.push(Broadcast {
                        offset,
                        fill: reg.fill,
                        value,
                    });
                }
                Loc::Scratch(offset)
            }
        };
        self.locs[r] = Some(loc);
        Ok(loc)
    }
}

const OPERAND_NAMES: [&str; 4] = ["a", "b", "c", "d"];

impl Program {
    /// Validates `code` (little-endian u32 words) and pre-decodes it.
    ///
    /// Every rule at the top of `src/opcodes.ts` is checked; a violation is a
    /// [`ErrorCode::BadProgram`] whose message names the instruction or
    /// register. Never panics, whatever the bytes.
    ///
    /// The kernels are those of [`Isa::detected`].
    pub fn new(code: &[u8]) -> Result<Program, Error> {
        Program::with_isa(code, Isa::detected())
    }

    /// As [`Program::new`], with the kernels compiled for `isa`, or for the
    /// best available ISA below it if this CPU lacks `isa` (see [`Isa::clamp`]).
    pub fn with_isa(code: &[u8], isa: Isa) -> Result<Program, Error> {
        let isa = isa.clamp();
        if code.len() % 4 != 0 {
            return Err(bad(format!(
                "header: program is {} bytes, not a whole number of 4-byte words",
                code.len()
            )));
        }
        let words: Vec<u32> = code
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        if words.len() < HEADER_WORDS {
            return Err(bad(format!(
                "header: program has {} words, fewer than the {HEADER_WORDS}-word header",
                words.len()
            )));
        }
        let (header, body) = words.split_at(HEADER_WORDS);
        let mut fields = [0u32; HEADER_WORDS];
        fields.copy_from_slice(header);
        let [magic, version, n_regs, n_instrs, n_consts, n_inputs, n_outputs, n_scalars] = fields;
        if magic != MAGIC {
            return Err(bad(format!(
                "header: magic is {magic:#010x}, expected {MAGIC:#010x} (\"NFB1\")"
            )));
        }
        if version != BYTECODE_VERSION {
            return Err(bad(format!(
                "header: bytecode version is {version}, this VM runs version {BYTECODE_VERSION}"
            )));
        }
        if n_regs > MAX_REGS {
            return Err(bad(format!(
                "header: n_regs is {n_regs}, more than {MAX_REGS}"
            )));
        }
        let expected = HEADER_WORDS as u64
            + u64::from(n_regs)
            + 2 * u64::from(n_consts)
            + INSTR_WORDS as u64 * u64::from(n_instrs);
        if expected != words.len() as u64 {
            return Err(bad(format!(
                "header: {n_regs} registers, {n_consts} constants and {n_instrs} instructions \
                 make {expected} words, but the program has {}",
                words.len()
            )));
        }
        let slots = u64::from(n_inputs) + u64::from(n_outputs) + u64::from(n_scalars);
        if slots > u64::from(n_regs) {
            return Err(bad(format!(
                "header: {slots} input, output and scalar slots but only {n_regs} registers \
                 to name them"
            )));
        }
        // The word count matches, so every count below indexes within `words`.
        let (n_regs, n_instrs, n_consts) = (n_regs as usize, n_instrs as usize, n_consts as usize);
        let (reg_words, rest) = body.split_at(n_regs);
        let (const_words, instr_words) = rest.split_at(2 * n_consts);

        let mut inputs = Slots::new(RegKind::Input, n_inputs as usize);
        let mut outputs = Slots::new(RegKind::Output, n_outputs as usize);
        let mut scalars = Slots::new(RegKind::Scalar, n_scalars as usize);
        let mut regs = Vec::with_capacity(n_regs);
        for (r, &w) in reg_words.iter().enumerate() {
            let reg = decode_register(r, w, n_consts)?;
            match reg.kind {
                RegKind::Input => inputs.claim(r, reg.index, reg.dtype)?,
                RegKind::Output => outputs.claim(r, reg.index, reg.dtype)?,
                RegKind::Scalar => scalars.claim(r, reg.index, reg.dtype)?,
                RegKind::Const | RegKind::Temp => {}
            }
            regs.push(reg);
        }
        let dtypes = |slots: &[(usize, DType)]| slots.iter().map(|&(_, d)| d).collect::<Vec<_>>();
        let output_regs = outputs.finish()?;
        let (inputs, outputs) = (dtypes(&inputs.finish()?), dtypes(&output_regs));
        let scalars = dtypes(&scalars.finish()?);

        let mut layout = Layout {
            regs: &regs,
            consts: const_words,
            n_outputs: outputs.len(),
            locs: vec![None; n_regs],
            broadcasts: Vec::new(),
            scratch_bytes: 0,
        };
        let mut temp_written = vec![false; n_regs];
        let mut first_write = vec![usize::MAX; outputs.len()];
        let mut last_read = vec![None; inputs.len()];
        let mut instrs = Vec::with_capacity(n_instrs);
        let mut cost = 0u64;
        for (i, w) in instr_words.chunks_exact(INSTR_WORDS).enumerate() {
            let opcode = (w[0] & 0xFFFF) as usize;
            let dst = (w[0] >> 16) as usize;
            let operands = [w[1] & 0xFFFF, w[1] >> 16, w[2] & 0xFFFF, w[2] >> 16];
            let info = OPCODES.get(opcode).ok_or_else(|| {
                bad(format!(
                    "instruction {i}: unknown opcode {opcode} (there are {})",
                    OPCODES.len()
                ))
            })?;
            let mut src = [Loc::Unused; 4];
            for (k, &operand) in operands.iter().enumerate() {
                let name = OPERAND_NAMES[k];
                let r = operand as usize;
                let Some(&want) = info.args.get(k) else {
                    if operand != u32::from(NO_REG) {
                        return Err(bad(format!(
                            "instruction {i}: operand {name} is register {r}, but opcode {} \
                             takes {} operand(s)",
                            info.name,
                            info.args.len()
                        )));
                    }
                    continue;
                };
                let reg = operand_register(i, name, r, &regs, info)?;
                if reg.dtype != want {
                    return Err(bad(format!(
                        "instruction {i}: operand {name} is register {r} of dtype {}, opcode {} \
                         needs {}",
                        reg.dtype.name(),
                        info.name,
                        want.name()
                    )));
                }
                let written = match reg.kind {
                    RegKind::Temp => temp_written[r],
                    RegKind::Output => first_write[reg.index] != usize::MAX,
                    RegKind::Input => {
                        last_read[reg.index] = Some(i);
                        true
                    }
                    RegKind::Scalar | RegKind::Const => true,
                };
                if !written {
                    return Err(bad(format!(
                        "instruction {i}: operand {name} reads register {r} ({}) before any \
                         instruction writes it",
                        kind_name(reg.kind)
                    )));
                }
                src[k] = layout.loc(i, r)?;
            }
            let reg = dst_register(i, dst, &regs, info)?;
            match reg.kind {
                RegKind::Temp => temp_written[dst] = true,
                _ => {
                    let first = &mut first_write[reg.index];
                    *first = (*first).min(i);
                }
            }
            let kernel = kernels::kernel_for(info, isa).ok_or_else(|| {
                bad(format!(
                    "instruction {i}: opcode {} has no kernel in this VM",
                    info.name
                ))
            })?;
            instrs.push(Instr {
                kernel,
                dst: layout.loc(i, dst)?,
                src,
                next: Loc::Unused,
            });
            cost = cost.saturating_add(u64::from(info.cost));
        }
        pair_prefetches(&mut instrs);
        if let Some(slot) = first_write.iter().position(|&i| i == usize::MAX) {
            return Err(bad(format!(
                "register {}: output slot {slot} is never written",
                output_regs[slot].0
            )));
        }
        Ok(Program {
            isa,
            instrs,
            broadcasts: layout.broadcasts,
            scratch_bytes: layout.scratch_bytes,
            cost,
            first_write,
            last_read,
            inputs,
            outputs,
            scalars,
        })
    }

    /// The ISA this program's kernels run.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Array input slots.
    pub fn n_inputs(&self) -> usize {
        self.inputs.len()
    }

    /// Array output slots.
    pub fn n_outputs(&self) -> usize {
        self.outputs.len()
    }

    /// Per-call scalar slots.
    pub fn n_scalars(&self) -> usize {
        self.scalars.len()
    }

    /// The dtype of an input slot. Panics if `slot >= n_inputs()`.
    pub fn input_dtype(&self, slot: usize) -> DType {
        self.inputs[slot]
    }

    /// The dtype of an output slot. Panics if `slot >= n_outputs()`.
    pub fn output_dtype(&self, slot: usize) -> DType {
        self.outputs[slot]
    }

    /// The dtype of a scalar slot. Panics if `slot >= n_scalars()`.
    pub fn scalar_dtype(&self, slot: usize) -> DType {
        self.scalars[slot]
    }
}

fn decode_register(r: usize, w: u32, n_consts: usize) -> Result<Reg, Error> {
    let (kind_code, dtype_code, index) = (w & 0xFF, (w >> 8) & 0xFF, (w >> 16) as usize);
    let kind = RegKind::from_code(kind_code)
        .ok_or_else(|| bad(format!("register {r}: unknown kind code {kind_code}")))?;
    let dtype = DType::from_code(dtype_code)
        .ok_or_else(|| bad(format!("register {r}: unknown dtype code {dtype_code}")))?;
    let fill = kernels::fill_for(dtype).ok_or_else(|| {
        bad(format!(
            "register {r}: dtype {} is not supported by this VM",
            dtype.name()
        ))
    })?;
    match kind {
        RegKind::Const if index >= n_consts => Err(bad(format!(
            "register {r}: const slot {index} out of range (n_consts = {n_consts})"
        ))),
        RegKind::Temp if index != 0 => Err(bad(format!(
            "register {r}: temp index is {index}, must be 0"
        ))),
        _ => Ok(Reg {
            kind,
            dtype,
            index,
            fill,
        }),
    }
}

fn operand_register(
    i: usize,
    name: &str,
    r: usize,
    regs: &[Reg],
    info: &OpInfo,
) -> Result<Reg, Error> {
    if r == usize::from(NO_REG) {
        return Err(bad(format!(
            "instruction {i}: operand {name} is missing, opcode {} takes {} operand(s)",
            info.name,
            info.args.len()
        )));
    }
    regs.get(r).copied().ok_or_else(|| {
        bad(format!(
            "instruction {i}: operand {name} is register {r}, out of range (n_regs = {})",
            regs.len()
        ))
    })
}

fn dst_register(i: usize, r: usize, regs: &[Reg], info: &OpInfo) -> Result<Reg, Error> {
    let reg = regs.get(r).copied().ok_or_else(|| {
        bad(format!(
            "instruction {i}: dst is register {r}, out of range (n_regs = {})",
            regs.len()
        ))
    })?;
    if !matches!(reg.kind, RegKind::Temp | RegKind::Output) {
        return Err(bad(format!(
            "instruction {i}: dst is register {r} ({}); dst must be a temp or an output",
            kind_name(reg.kind)
        )));
    }
    if reg.dtype != info.ret {
        return Err(bad(format!(
            "instruction {i}: dst is register {r} of dtype {}, opcode {} returns {}",
            reg.dtype.name(),
            info.name,
            info.ret.name()
        )));
    }
    Ok(reg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::Mode;

    /// A kernel that is never run: the pairing only reads locations.
    unsafe fn idle(
        _: usize,
        _: *mut u8,
        _: *const u8,
        _: *const u8,
        _: *const u8,
        _: *const u8,
        _: Mode,
    ) -> u32 {
        0
    }

    fn instr(dst: Loc, src: &[Loc]) -> Instr {
        let mut all = [Loc::Unused; 4];
        all[..src.len()].copy_from_slice(src);
        Instr {
            kernel: idle,
            dst,
            src: all,
            next: Loc::Unused,
        }
    }

    fn array(arg: usize) -> Loc {
        Loc::Array { arg, size: 4 }
    }

    fn paired(instrs: &[Instr]) -> Vec<Option<usize>> {
        instrs
            .iter()
            .map(|ins| match ins.next {
                Loc::Array { arg, .. } => Some(arg),
                Loc::Unused => None,
                Loc::Scratch(_) => panic!("paired with a scratch register"),
            })
            .collect()
    }

    #[test]
    fn instructions_that_read_no_array_prefetch_the_arrays_others_read_in_turn() {
        let (t0, t1, zero) = (Loc::Scratch(0), Loc::Scratch(16384), Loc::Scratch(32768));
        // tanh(where(p > 0, p, 0)) into out: where reads p (arg 1), tanh
        // reads the scratch.
        let mut relu = vec![
            instr(t0, &[array(1), zero, array(1), zero]),
            instr(array(0), &[t0]),
        ];
        pair_prefetches(&mut relu);
        assert_eq!(paired(&relu), [None, Some(1)]);

        // Three readers of g, m, v (args 2, 3, 4; m twice), four computing
        // instructions: g, m, v, then g again; a reader is never paired.
        let mut adam = vec![
            instr(t0, &[array(2), array(3)]),
            instr(t1, &[t0, zero]),
            instr(t0, &[array(3), array(4)]),
            instr(t1, &[t0]),
            instr(t0, &[t1, zero]),
            instr(array(0), &[t0, t1]),
        ];
        pair_prefetches(&mut adam);
        assert_eq!(
            paired(&adam),
            [None, Some(2), None, Some(3), Some(4), Some(2)]
        );

        // An output read back after an instruction of the block wrote it
        // (fused Adam's m in p's statement) is in the cache: only the input
        // is paired, with both computing instructions.
        let mut back = vec![
            instr(array(0), &[array(2), zero]),
            instr(t0, &[array(0)]),
            instr(t1, &[t0]),
            instr(array(1), &[t1, zero]),
        ];
        pair_prefetches(&mut back);
        assert_eq!(paired(&back), [None, None, Some(2), Some(2)]);

        // Nothing reads an array: nothing to prefetch.
        let mut constant = vec![instr(t0, &[zero, zero]), instr(array(0), &[t0])];
        pair_prefetches(&mut constant);
        assert_eq!(paired(&constant), [None, None]);
    }
}
