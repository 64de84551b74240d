//! A test-only bytecode builder, a PRNG, and a typed-array helper.

use numfuse_core::opcodes::{
    DType, RegKind, BYTECODE_VERSION, HEADER_WORDS, MAGIC, NO_REG, OPCODES,
};
use numfuse_core::{run, ArrayArg, Error, Isa, Program, RunArgs};

/// Builds bytecode; slot counts follow the registers added.
#[derive(Default)]
pub struct Builder {
    regs: Vec<u32>,
    consts: Vec<u64>,
    instrs: Vec<[u32; 3]>,
    n_inputs: u32,
    n_outputs: u32,
    n_scalars: u32,
}

fn reg_word(kind: RegKind, dtype: DType, index: u32) -> u32 {
    kind as u32 | (dtype as u32) << 8 | index << 16
}

/// The opcode number of a name like `add_fff`.
pub fn opcode(name: &str) -> u16 {
    OPCODES
        .iter()
        .position(|o| o.name == name)
        .unwrap_or_else(|| panic!("no opcode {name}")) as u16
}

impl Builder {
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Adds a raw register word; returns its index.
    pub fn reg_raw(&mut self, word: u32) -> u16 {
        self.regs.push(word);
        (self.regs.len() - 1) as u16
    }

    pub fn input(&mut self, slot: u32, dtype: DType) -> u16 {
        self.n_inputs = self.n_inputs.max(slot + 1);
        self.reg_raw(reg_word(RegKind::Input, dtype, slot))
    }

    pub fn output(&mut self, slot: u32, dtype: DType) -> u16 {
        self.n_outputs = self.n_outputs.max(slot + 1);
        self.reg_raw(reg_word(RegKind::Output, dtype, slot))
    }

    pub fn scalar(&mut self, slot: u32, dtype: DType) -> u16 {
        self.n_scalars = self.n_scalars.max(slot + 1);
        self.reg_raw(reg_word(RegKind::Scalar, dtype, slot))
    }

    pub fn temp(&mut self, dtype: DType) -> u16 {
        self.reg_raw(reg_word(RegKind::Temp, dtype, 0))
    }

    /// A constant register; `bits` is the pool entry (f64 or i64 bits).
    pub fn constant(&mut self, dtype: DType, bits: u64) -> u16 {
        self.consts.push(bits);
        let index = self.consts.len() as u32 - 1;
        self.reg_raw(reg_word(RegKind::Const, dtype, index))
    }

    /// `dst := name(args...)`; missing operands are NO_REG.
    pub fn op(&mut self, name: &str, dst: u16, args: &[u16]) -> &mut Builder {
        let mut ops = [NO_REG; 4];
        ops[..args.len()].copy_from_slice(args);
        self.raw([
            u32::from(opcode(name)) | u32::from(dst) << 16,
            u32::from(ops[0]) | u32::from(ops[1]) << 16,
            u32::from(ops[2]) | u32::from(ops[3]) << 16,
        ])
    }

    pub fn raw(&mut self, instr: [u32; 3]) -> &mut Builder {
        self.instrs.push(instr);
        self
    }

    pub fn words(&self) -> Vec<u32> {
        let mut w = vec![
            MAGIC,
            BYTECODE_VERSION,
            self.regs.len() as u32,
            self.instrs.len() as u32,
            self.consts.len() as u32,
            self.n_inputs,
            self.n_outputs,
            self.n_scalars,
        ];
        assert_eq!(w.len(), HEADER_WORDS);
        w.extend(&self.regs);
        for c in &self.consts {
            w.extend([*c as u32, (*c >> 32) as u32]);
        }
        for i in &self.instrs {
            w.extend(i);
        }
        w
    }

    pub fn bytes(&self) -> Vec<u8> {
        to_bytes(&self.words())
    }

    pub fn build(&self) -> Result<Program, Error> {
        Program::new(&self.bytes())
    }

    /// Builds with the kernels of `isa` (which must be available, so that
    /// the test runs what it names).
    pub fn build_for(&self, isa: Isa) -> Result<Program, Error> {
        let p = Program::with_isa(&self.bytes(), isa)?;
        assert_eq!(p.isa(), isa, "{isa:?} is not available");
        Ok(p)
    }
}

pub fn to_bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// xorshift64*.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A typed array as raw bytes at the end of a u64 buffer: the elements end
/// exactly where the allocation does, so a kernel reading or writing past
/// them leaves the allocation (which AddressSanitizer reports).
#[derive(Clone, Debug)]
pub struct Buf {
    pub dtype: DType,
    pub words: Vec<u64>,
    pub len: usize,
}

impl Buf {
    pub fn zeros(dtype: DType, len: usize) -> Buf {
        Buf {
            dtype,
            words: vec![0; ((len * dtype.size() + 7) / 8).max(1)],
            len,
        }
    }

    /// Where the elements start, in bytes from the start of `words`: a
    /// multiple of the element size, which divides 8.
    fn offset(&self) -> usize {
        8 * self.words.len() - self.len * self.dtype.size()
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the last len elements' bytes of the u64 buffer.
        unsafe {
            std::slice::from_raw_parts(
                self.words.as_ptr().cast::<u8>().add(self.offset()),
                self.len * self.dtype.size(),
            )
        }
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, uniquely borrowed.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.words.as_mut_ptr().cast::<u8>().add(self.offset()),
                self.len * self.dtype.size(),
            )
        }
    }

    /// Element `i`'s raw bits, zero-extended.
    pub fn get(&self, i: usize) -> u64 {
        let s = self.dtype.size();
        let mut b = [0u8; 8];
        b[..s].copy_from_slice(&self.bytes()[i * s..(i + 1) * s]);
        u64::from_le_bytes(b)
    }

    pub fn set(&mut self, i: usize, bits: u64) {
        let s = self.dtype.size();
        self.bytes_mut()[i * s..(i + 1) * s].copy_from_slice(&bits.to_le_bytes()[..s]);
    }

    pub fn arg(&mut self) -> ArrayArg {
        let offset = self.offset();
        ArrayArg {
            // SAFETY: at most one past the end of the buffer (when len is 0).
            ptr: unsafe { self.words.as_mut_ptr().cast::<u8>().add(offset) },
            len: self.len,
        }
    }
}

/// Runs `program` with owned buffers: outputs first, then inputs.
pub fn run_bufs(
    program: &Program,
    outputs: &mut [Buf],
    inputs: &mut [Buf],
    scalars: &[[u8; 8]],
    threads: usize,
) -> Result<(), Error> {
    let n = outputs.first().or(inputs.first()).map_or(0, |b| b.len);
    let arrays: Vec<ArrayArg> = outputs
        .iter_mut()
        .chain(inputs.iter_mut())
        .map(Buf::arg)
        .collect();
    let args = RunArgs {
        n,
        arrays: &arrays,
        scalars,
        threads,
    };
    // SAFETY: every buffer is owned here, holds len elements and is u64-aligned.
    unsafe { run(program, &args) }
}
