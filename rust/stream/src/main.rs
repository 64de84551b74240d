//! A STREAM-style bandwidth probe: copy (`a = b`), add (`a = b + c`) and
//! triad (`a = b + s * c`) over large `f32` arrays, run with rayon on every
//! thread of the global pool, best of N repetitions.
//!
//! Bytes are counted as STREAM (and its NumPy ports) count them: copy moves
//! 2 arrays, add and triad 3 arrays, of `4 * n` bytes each; write-allocate
//! traffic is not counted.
//!
//! Usage: `numfuse-stream [--n ELEMENTS] [--reps N]`; prints one JSON object.

use rayon::prelude::*;
use std::hint::black_box;
use std::time::Instant;

/// Elements per rayon task: large enough that scheduling is negligible, small
/// enough to balance work across threads.
const CHUNK: usize = 1 << 16;

struct Args {
    n: usize,
    reps: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        n: 1 << 25,
        reps: 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| -> Result<usize, String> {
            it.next()
                .ok_or(format!("{name} needs a value"))?
                .parse::<usize>()
                .map_err(|e| format!("{name}: {e}"))
        };
        match flag.as_str() {
            "--n" => args.n = value("--n")?,
            "--reps" => args.reps = value("--reps")?,
            "-h" | "--help" => {
                return Err("usage: numfuse-stream [--n ELEMENTS] [--reps N]".into());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.n == 0 || args.reps == 0 {
        return Err("--n and --reps must be positive".into());
    }
    Ok(args)
}

/// A vector of `n` copies of `x`, first touched in parallel so its pages are
/// faulted in by the threads that will stream over them.
fn filled(n: usize, x: f32) -> Vec<f32> {
    let mut v: Vec<f32> = Vec::with_capacity(n);
    v.spare_capacity_mut().par_chunks_mut(CHUNK).for_each(|c| {
        c.iter_mut().for_each(|e| {
            e.write(x);
        })
    });
    // SAFETY: every element of the spare capacity was written just above.
    unsafe { v.set_len(n) };
    v
}

/// The best (smallest) wall time of `reps` runs of `f`, in seconds.
fn best_of(reps: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm-up
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("numfuse-stream: {e}");
            std::process::exit(2);
        }
    };
    let n = args.n;
    let mut a = filled(n, 0.0);
    let b = filled(n, 1.0);
    let c = filled(n, 2.0);
    let s = black_box(3.0f32);

    let copy = best_of(args.reps, || {
        a.par_chunks_mut(CHUNK)
            .zip(b.par_chunks(CHUNK))
            .for_each(|(a, b)| a.copy_from_slice(b));
        black_box(&mut a);
    });
    let add = best_of(args.reps, || {
        a.par_chunks_mut(CHUNK)
            .zip(b.par_chunks(CHUNK).zip(c.par_chunks(CHUNK)))
            .for_each(|(a, (b, c))| {
                for ((a, b), c) in a.iter_mut().zip(b).zip(c) {
                    *a = b + c;
                }
            });
        black_box(&mut a);
    });
    let triad = best_of(args.reps, || {
        a.par_chunks_mut(CHUNK)
            .zip(b.par_chunks(CHUNK).zip(c.par_chunks(CHUNK)))
            .for_each(|(a, (b, c))| {
                for ((a, b), c) in a.iter_mut().zip(b).zip(c) {
                    *a = b + s * c;
                }
            });
        black_box(&mut a);
    });

    // Check the last kernel's result so the work cannot be optimized away.
    let want = 1.0 + 3.0 * 2.0;
    if a.iter().step_by(4099).any(|&x| x != want) {
        eprintln!("numfuse-stream: triad gave a wrong result");
        std::process::exit(1);
    }

    let bytes = |arrays: usize| (arrays * n * std::mem::size_of::<f32>()) as f64;
    let gbs = |arrays: usize, secs: f64| bytes(arrays) / secs / 1e9;
    println!(
        "{{\"n\":{n},\"reps\":{reps},\"threads\":{threads},\
         \"copy\":{{\"gbs\":{:.2},\"seconds\":{:.6}}},\
         \"add\":{{\"gbs\":{:.2},\"seconds\":{:.6}}},\
         \"triad\":{{\"gbs\":{:.2},\"seconds\":{:.6}}}}}",
        gbs(2, copy),
        copy,
        gbs(3, add),
        add,
        gbs(3, triad),
        triad,
        reps = args.reps,
        threads = rayon::current_num_threads(),
    );
}
