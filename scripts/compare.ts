/**
 * The seed's workloads side by side: numfuse (Deno), a plain JS loop, NumPy
 * and numexpr, in one run, against a STREAM-style bandwidth measured in the
 * same run. Run it with `deno task compare`.
 *
 * 1. builds the native library and `rust/stream` (`numfuse-stream`), and runs
 *    STREAM copy / add / triad over large float32 arrays with rayon;
 * 2. runs `scripts/compare_numpy.py` under Debian's `/usr/bin/python3`
 *    (`NUMFUSE_PYTHON` overrides it), installing `python3-numpy` and
 *    `python3-numexpr` with apt-get when they are missing and we are root;
 * 3. times numfuse (`evaluate`, and the compiled kernel's positional call)
 *    and the JS loop here, the same way (timeit's: calls per
 *    batch so a batch takes ≥ 20 ms, a warm-up, then the median of 7
 *    batches), each workload first checked against the JS loop;
 * 4. prints one table and writes `docs/seed_benchmark.svg`.
 *
 * Options: `--quick` (three sizes, shorter batches, no chart unless `--svg`
 * follows: a smoke test),
 * `--sizes 64,1728`, `--min-batch 0.02` (seconds), `--repeats 7`,
 * `--svg PATH`, `--no-svg`, `--json PATH` (save the raw numbers), `--from PATH`
 * (print and draw a saved run instead of measuring).
 *
 * @module
 */

import { getNumThreads } from "../mod.ts";
import { cargo, RUST_DIR } from "./cargo.ts";
import { findPython, pythonPath } from "./python.ts";
import {
  selfCheck,
  sizeLabel,
  SIZES,
  state,
  timeIt,
  type Timing,
  type Workload,
  WORKLOADS,
} from "../bench/seed_workloads.ts";

// ── options ─────────────────────────────────────────────────────────────────

interface Options {
  sizes: number[];
  minBatch: number;
  repeats: number;
  streamN: number;
  streamReps: number;
  svg: string | undefined;
  json: string | undefined;
  from: string | undefined;
}

function parseOptions(args: string[]): Options {
  const o: Options = {
    sizes: [...SIZES],
    minBatch: 0.02,
    repeats: 7,
    streamN: 1 << 25,
    streamReps: 10,
    svg: new URL("../docs/seed_benchmark.svg", import.meta.url).pathname,
    json: undefined,
    from: undefined,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const number = () => {
      const v = Number(value());
      if (!(v > 0)) throw new Error(`${a} needs a positive number`);
      return v;
    };
    if (a === "--quick") {
      o.sizes = SIZES.slice(0, 3);
      o.minBatch = 0.005;
      o.repeats = 3;
      o.streamN = 1 << 24;
      o.streamReps = 3;
      o.svg = undefined; // leave the committed chart alone unless --svg follows
    } else if (a === "--sizes") o.sizes = value().split(",").map(Number);
    else if (a === "--min-batch") o.minBatch = number();
    else if (a === "--repeats") o.repeats = Math.round(number());
    else if (a === "--svg") o.svg = value();
    else if (a === "--no-svg") o.svg = undefined;
    else if (a === "--json") o.json = value();
    else if (a === "--from") o.from = value();
    else throw new Error(`unknown argument ${a}`);
  }
  if (o.sizes.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error("bad --sizes");
  return o;
}

// ── processes ───────────────────────────────────────────────────────────────

async function output(cmd: string, args: string[], stderr: "inherit" | "piped" = "inherit") {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr }).output();
  return {
    success: out.success,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: stderr === "piped" ? new TextDecoder().decode(out.stderr) : "",
  };
}

const PYTHON_PACKAGES = ["python3-numpy", "python3-numexpr"];

/** Debian's Python with NumPy and numexpr, installing them if we can. */
async function findNumpyPython(): Promise<string> {
  const python = await findPython(["numpy", "numexpr"], PYTHON_PACKAGES, "compare");
  if (python !== undefined) return python;
  throw new Error(
    `${pythonPath()} cannot import numpy and numexpr: install Debian's ${
      PYTHON_PACKAGES.join(" and ")
    } ` +
      `(apt-get install -y ${PYTHON_PACKAGES.join(" ")}, as root), ` +
      `or set NUMFUSE_PYTHON to a Python that has numpy and numexpr`,
  );
}

interface StreamResult {
  n: number;
  reps: number;
  /** How many runs of `reps` the best was taken over (absent: 1). */
  runs?: number;
  threads: number;
  copy: { gbs: number; seconds: number };
  add: { gbs: number; seconds: number };
  triad: { gbs: number; seconds: number };
}

async function runStream(o: Options): Promise<StreamResult> {
  const targetDir = Deno.env.get("CARGO_TARGET_DIR") ?? `${RUST_DIR}target`;
  const exe = `${targetDir}/release/numfuse-stream${Deno.build.os === "windows" ? ".exe" : ""}`;
  const r = await output(exe, ["--n", `${o.streamN}`, "--reps", `${o.streamReps}`]);
  if (!r.success) throw new Error(`${exe} failed`);
  return JSON.parse(r.stdout);
}

/** The best of two STREAM runs, per kernel: a busy machine lowers one, rarely both. */
function bestStream(a: StreamResult, b: StreamResult): StreamResult {
  const best = (k: "copy" | "add" | "triad") => a[k].gbs >= b[k].gbs ? a[k] : b[k];
  return {
    ...a,
    runs: (a.runs ?? 1) + (b.runs ?? 1),
    copy: best("copy"),
    add: best("add"),
    triad: best("triad"),
  };
}

interface PythonRun {
  python: string;
  numpy: string;
  numexpr: string;
  numexpr_threads: number;
  relu_numpy: string;
  results: ({ workload: string; n: number; system: "numpy" | "numexpr" } & Timing)[];
}

async function runPython(python: string, o: Options): Promise<PythonRun> {
  const script = new URL("./compare_numpy.py", import.meta.url).pathname;
  const ids = [...new Set(WORKLOADS.map((w) => w.id))];
  const r = await output(python, [
    script,
    "--sizes",
    o.sizes.join(","),
    "--min-batch",
    `${o.minBatch}`,
    "--repeats",
    `${o.repeats}`,
    "--workloads",
    ids.join(","),
  ]);
  if (!r.success) throw new Error(`${python} ${script} failed`);
  return JSON.parse(r.stdout);
}

type System = "numfuse" | "call" | "js" | "numpy" | "numexpr";
const SYSTEMS: readonly System[] = ["numfuse", "call", "js", "numpy", "numexpr"];
const SYSTEM_LABEL: Record<System, string> = {
  numfuse: "numfuse",
  call: "kernel call",
  js: "JS loop",
  numpy: "NumPy",
  numexpr: "numexpr",
};

interface Row {
  workload: Workload;
  n: number;
  times: Partial<Record<System, Timing>>;
}

function timeDeno(o: Options, rows: Row[]): void {
  for (const n of o.sizes) {
    for (const w of WORKLOADS) {
      selfCheck(w, n);
      const row = rows.find((r) => r.workload === w && r.n === n)!;
      const s = state(n);
      row.times.js = timeIt(() => w.js(s), o.minBatch, o.repeats);
      row.times.numfuse = timeIt(() => w.numfuse(s), o.minBatch, o.repeats);
      row.times.call = timeIt(() => w.call(s), o.minBatch, o.repeats);
      console.error(
        `  numfuse  ${w.id.padEnd(13)} n=${`${n}`.padEnd(9)} ${
          (row.times.numfuse.median * 1e6).toFixed(2).padStart(12)
        } µs   (kernel call ${(row.times.call.median * 1e6).toFixed(2)} µs, JS loop ${
          (row.times.js.median * 1e6).toFixed(2)
        } µs)`,
      );
    }
  }
}

// ── the table ───────────────────────────────────────────────────────────────

function fmtTime(s: number | undefined): string {
  if (s === undefined) return "—";
  // The unit is chosen after rounding, so 999.7 ns prints as 1.00 µs, not 1.00e+3 ns.
  const r = Number(s.toPrecision(3));
  if (r < 1e-6) return `${(r * 1e9).toPrecision(3)} ns`;
  if (r < 1e-3) return `${(r * 1e6).toPrecision(3)} µs`;
  if (r < 1) return `${(r * 1e3).toPrecision(3)} ms`;
  return `${r.toPrecision(3)} s`;
}

function fmtRatio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined) return "—";
  const r = a / b;
  return r < 10 ? r.toFixed(2) : r.toFixed(1);
}

/** Bytes one call moves. */
const bytes = (w: Workload, n: number) => w.arrays * 4 * n;

interface Meta {
  date: string;
  cpu: string;
  cpus: number;
  threads: number;
  deno: string;
  v8: string;
  py: PythonRun;
  stream: StreamResult;
  options: Options;
}

function table(rows: Row[], m: Meta): string {
  const head = [
    "workload",
    "elements",
    "numfuse",
    "call",
    "JS loop",
    "NumPy",
    "numexpr",
    "nf/NumPy",
    "call/NumPy",
    "nf/numexpr",
    "nf/JS",
    "nf GB/s",
    "of STREAM",
  ];
  const body = rows.map(({ workload: w, n, times: t }) => {
    const nf = t.numfuse?.median;
    const gbs = nf === undefined ? undefined : bytes(w, n) / nf / 1e9;
    const ceiling = m.stream[w.stream].gbs;
    return [
      w.name,
      sizeLabel(n),
      fmtTime(nf),
      fmtTime(t.call?.median),
      fmtTime(t.js?.median),
      fmtTime(t.numpy?.median),
      fmtTime(t.numexpr?.median),
      fmtRatio(nf, t.numpy?.median),
      fmtRatio(t.call?.median, t.numpy?.median),
      fmtRatio(nf, t.numexpr?.median),
      fmtRatio(nf, t.js?.median),
      gbs === undefined ? "—" : gbs.toFixed(1),
      gbs === undefined ? "—" : `${Math.round(100 * gbs / ceiling)}% ${w.stream}`,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ")
      .trimEnd();
  const out: string[] = [line(head), widths.map((w) => "-".repeat(w)).join("  ")];
  let last = "";
  for (let i = 0; i < body.length; i++) {
    const name = rows[i].workload.name;
    if (last && name !== last) out.push("");
    last = name;
    out.push(line(body[i]));
  }
  const s = m.stream;
  return [
    `numfuse seed benchmark, ${m.date}`,
    `machine: ${m.cpu}, ${m.cpus} logical CPUs; numfuse threads: ${m.threads}`,
    `Deno ${m.deno} (V8 ${m.v8}); Python ${m.py.python}, NumPy ${m.py.numpy}, ` +
    `numexpr ${m.py.numexpr} (${m.py.numexpr_threads} threads)`,
    `STREAM (rust/stream, rayon, ${s.threads} threads, ${s.n} float32, best of ${
      (s.runs ?? 1) * s.reps
    }${s.runs === 2 ? ", before and after the workloads" : ""}): ` +
    `copy ${s.copy.gbs.toFixed(1)} GB/s, add ${s.add.gbs.toFixed(1)} GB/s, ` +
    `triad ${s.triad.gbs.toFixed(1)} GB/s`,
    `time per call: median of ${m.options.repeats} batches of ≥ ${
      m.options.minBatch * 1e3
    } ms after a warm-up; nf/X = numfuse time / X time (< 1: numfuse is faster)`,
    "numfuse: evaluate(expression, variables, options); call: the same kernel compiled once and",
    "called positionally (kernel.call(p) / kernel.callInto(out, p, g)).",
    "",
    ...out,
    "",
    "GB/s: bytes numfuse moves per call / its time; arrays counted per evaluate call (inputs read",
    "once, outputs written once): sgd 3, adam 3 + 3 + 4 = 10, fused adam 7 (reads p g m v,",
    "writes p m v), relu and tanh 2 (x 4 bytes x elements).",
    "of STREAM: against triad for sgd and adam (read-read-write), copy for relu and tanh",
    `(read-write). STREAM's arrays (${m.stream.n} float32 each) are sized to miss cache; a workload`,
    "whose arrays fit in cache (below 4096², and at 4096² where the L3 is large) can pass 100%.",
    `NumPy relu is ${m.py.relu_numpy} (as in the seed); numexpr, numfuse: where(p > 0, p, 0).`,
    'relu/tanh∘relu return a new array; "into out (reused)" write into a buffer allocated once:',
    "NumPy np.maximum(p, 0, out=q) (np.tanh(..., out=q)), numexpr and numfuse out=q.",
  ].join("\n");
}

// ── the chart ───────────────────────────────────────────────────────────────

const COLOR: Record<System, string> = {
  numfuse: "#d62728",
  call: "#9467bd",
  js: "#7f7f7f",
  numpy: "#1f77b4",
  numexpr: "#ff7f0e",
};

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function marker(system: System, x: number, y: number): string {
  const c = COLOR[system], r = 3.5;
  const p = (pts: [number, number][]) =>
    `<polygon points="${
      pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(" ")
    }" fill="${c}"/>`;
  switch (system) {
    case "numfuse":
      return `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r}" fill="${c}"/>`;
    case "call":
      return `<circle cx="${x.toFixed(1)}" cy="${
        y.toFixed(1)
      }" r="${r}" fill="#ffffff" stroke="${c}" stroke-width="1.5"/>`;
    case "js":
      return `<rect x="${(x - r).toFixed(1)}" y="${(y - r).toFixed(1)}" width="${2 * r}" height="${
        2 * r
      }" fill="${c}"/>`;
    case "numpy":
      return p([[x, y - r - 1], [x + r + 0.5, y + r], [x - r - 0.5, y + r]]);
    case "numexpr":
      return p([[x, y - r - 1], [x + r + 1, y], [x, y + r + 1], [x - r - 1, y]]);
  }
}

const TIME_TICK = [
  "1 ns",
  "10 ns",
  "100 ns",
  "1 µs",
  "10 µs",
  "100 µs",
  "1 ms",
  "10 ms",
  "100 ms",
  "1 s",
  "10 s",
];
const SIZE_TICK = ["1", "10", "100", "1k", "10k", "100k", "1M", "10M", "100M", "1G"];

function svg(rows: Row[], m: Meta): string {
  const names = [...new Set(rows.map((r) => r.workload.name))];
  const cols = 2, pw = 440, ph = 300, top = 92;
  const ml = 62, mr = 14, mt = 30, mb = 44; // inside each panel
  const width = cols * pw + 10, height = top + Math.ceil(names.length / cols) * ph + 54;
  const ns = rows.map((r) => r.n);
  const ts = rows.flatMap((r) => SYSTEMS.map((s) => r.times[s]?.median)).filter((t) =>
    t !== undefined && t > 0
  ) as number[];
  // x: the sizes plus a quarter decade each side; y: whole decades
  const x0 = Math.log10(Math.min(...ns)) - 0.25, x1 = Math.log10(Math.max(...ns)) + 0.25;
  const y0 = Math.floor(Math.log10(Math.min(...ts))), y1 = Math.ceil(Math.log10(Math.max(...ts)));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="16" y="26" font-size="18" font-weight="bold">numfuse vs JS loop, NumPy and numexpr: time per call (float32, log-log)</text>`,
    `<text x="16" y="46" font-size="12" fill="#444">${
      esc(
        `${m.date} · ${m.cpu}, ${m.cpus} CPUs · Deno ${m.deno} · NumPy ${m.py.numpy} · numexpr ${m.py.numexpr} · lower is better`,
      )
    }</text>`,
  ];
  // legend
  let lx = 16;
  for (const s of [...SYSTEMS, "floor"] as const) {
    const y = 72;
    if (s === "floor") {
      out.push(
        `<line x1="${lx}" y1="${y}" x2="${
          lx + 26
        }" y2="${y}" stroke="#000" stroke-width="1.2" stroke-dasharray="5,4"/>`,
        `<text x="${lx + 32}" y="${
          y + 4
        }" font-size="13">STREAM floor (bytes moved / STREAM GB/s)</text>`,
      );
      continue;
    }
    out.push(
      `<line x1="${lx}" y1="${y}" x2="${lx + 26}" y2="${y}" stroke="${
        COLOR[s]
      }" stroke-width="2"/>`,
      marker(s, lx + 13, y),
      `<text x="${lx + 32}" y="${y + 4}" font-size="13">${SYSTEM_LABEL[s]}</text>`,
    );
    lx += 32 + SYSTEM_LABEL[s].length * 7.5 + 22;
  }
  names.forEach((name, k) => {
    const ox = 5 + (k % cols) * pw, oy = top + Math.floor(k / cols) * ph;
    const w = pw - ml - mr, h = ph - mt - mb;
    const X = (n: number) => ox + ml + (Math.log10(n) - x0) / (x1 - x0) * w;
    const Y = (t: number) => oy + mt + (y1 - Math.log10(t)) / (y1 - y0) * h;
    const mine = rows.filter((r) => r.workload.name === name).sort((a, b) => a.n - b.n);
    out.push(
      `<g>`,
      `<text x="${ox + ml}" y="${oy + 20}" font-size="14" font-weight="bold">${esc(name)}</text>`,
      `<rect x="${ox + ml}" y="${oy + mt}" width="${w}" height="${h}" fill="none" stroke="#999"/>`,
    );
    for (let e = Math.ceil(x0); e <= x1; e++) {
      const x = X(10 ** e);
      out.push(
        `<line x1="${x.toFixed(1)}" y1="${oy + mt}" x2="${x.toFixed(1)}" y2="${
          oy + mt + h
        }" stroke="#e4e4e4"/>`,
        `<text x="${x.toFixed(1)}" y="${oy + mt + h + 16}" font-size="11" text-anchor="middle">${
          SIZE_TICK[e] ?? `1e${e}`
        }</text>`,
      );
    }
    for (let e = y0; e <= y1; e++) {
      const y = Y(10 ** e);
      out.push(
        `<line x1="${ox + ml}" y1="${y.toFixed(1)}" x2="${ox + ml + w}" y2="${
          y.toFixed(1)
        }" stroke="#e4e4e4"/>`,
        `<text x="${ox + ml - 5}" y="${(y + 4).toFixed(1)}" font-size="11" text-anchor="end">${
          TIME_TICK[e + 9] ?? `1e${e} s`
        }</text>`,
      );
    }
    out.push(
      `<text x="${ox + ml + w / 2}" y="${
        oy + ph - 10
      }" font-size="12" text-anchor="middle">elements</text>`,
      `<text x="${ox + 14}" y="${
        oy + mt + h / 2
      }" font-size="12" text-anchor="middle" transform="rotate(-90 ${ox + 14} ${
        oy + mt + h / 2
      })">time per call</text>`,
    );
    // the bandwidth floor: a straight line in log-log, clipped to the panel
    const wl = mine[0].workload, gbs = m.stream[wl.stream].gbs;
    const floor = (n: number) => bytes(wl, n) / (gbs * 1e9);
    const fa = Math.max(10 ** x0, 10 ** y0 / floor(1)),
      fb = Math.min(10 ** x1, 10 ** y1 / floor(1));
    if (fa < fb) {
      out.push(
        `<line x1="${X(fa).toFixed(1)}" y1="${Y(floor(fa)).toFixed(1)}" x2="${
          X(fb).toFixed(1)
        }" y2="${
          Y(floor(fb)).toFixed(1)
        }" stroke="#000" stroke-width="1.2" stroke-dasharray="5,4"/>`,
      );
    }
    for (const s of SYSTEMS) {
      const pts = mine.filter((r) => r.times[s]).map((r) => [X(r.n), Y(r.times[s]!.median)]);
      if (!pts.length) continue;
      out.push(
        `<polyline points="${
          pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(" ")
        }" fill="none" stroke="${COLOR[s]}" stroke-width="2" stroke-linejoin="round"/>`,
        ...pts.map(([a, b]) => marker(s, a, b)),
      );
    }
    out.push(`</g>`);
  });
  const footer = [
    `deno task compare · median of ${m.options.repeats} batches ≥ ${
      m.options.minBatch * 1e3
    } ms · STREAM (Rust, rayon, same run): triad ${
      m.stream.triad.gbs.toFixed(1)
    } GB/s (sgd, adam), copy ${m.stream.copy.gbs.toFixed(1)} GB/s (relu, tanh)`,
    `NumPy relu: ${m.py.relu_numpy} (the seed's); "into out": np.maximum(p, 0, out=q) · kernel call: compile once, kernel.call(p)`,
    "on a shared machine, ratios are more meaningful than absolute times",
  ];
  out.push(
    ...footer.map((t, i) =>
      `<text x="16" y="${height - 38 + 14 * i}" font-size="11" fill="#444">${esc(t)}</text>`
    ),
    `</svg>`,
  );
  return out.join("\n") + "\n";
}

// ── main ────────────────────────────────────────────────────────────────────

/** The CPU's model name (Deno may read `/proc` only with --allow-all, so ask lscpu or sysctl). */
async function cpuModel(): Promise<string> {
  const tries: [string, string[], RegExp][] = [
    ["lscpu", [], /^Model name:\s*(.+)$/m],
    ["sysctl", ["-n", "machdep.cpu.brand_string"], /^(.+)$/m],
  ];
  for (const [cmd, args, re] of tries) {
    try {
      const r = await output(cmd, args, "piped");
      const m = r.success ? r.stdout.match(re) : null;
      if (m) return m[1].trim();
    } catch {
      // no such command here
    }
  }
  return `${Deno.build.arch} CPU`;
}

/** Builds, then measures everything: STREAM, NumPy and numexpr, numfuse and the JS loop. */
async function measure(o: Options): Promise<{ rows: Row[]; meta: Meta }> {
  console.error("compare: building the native library and numfuse-stream");
  await cargo("build", "--release", "-p", "numfuse-ffi", "-p", "numfuse-stream");
  const python = await findNumpyPython();

  console.error(`compare: STREAM (${o.streamN} float32, best of ${o.streamReps})`);
  const before = await runStream(o);
  console.error(`compare: NumPy and numexpr (${python})`);
  const py = await runPython(python, o);
  console.error("compare: numfuse and the JS loop");
  const rows: Row[] = [];
  for (const w of WORKLOADS) for (const n of o.sizes) rows.push({ workload: w, n, times: {} });
  timeDeno(o, rows);
  console.error("compare: STREAM again");
  const stream = bestStream(before, await runStream(o));
  for (const r of py.results) {
    for (const row of rows.filter((x) => x.workload.id === r.workload && x.n === r.n)) {
      row.times[r.system] = { median: r.median, best: r.best, loops: r.loops, repeats: r.repeats };
    }
  }
  const meta: Meta = {
    date: new Date().toISOString().slice(0, 10),
    cpu: await cpuModel(),
    cpus: navigator.hardwareConcurrency,
    threads: getNumThreads(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    py,
    stream,
    options: o,
  };
  return { rows, meta };
}

interface Saved extends Meta {
  rows: ({ workload: string; id: string; n: number } & Partial<Record<System, Timing>>)[];
}

/** A run saved with `--json`. */
async function load(path: string): Promise<{ rows: Row[]; meta: Meta }> {
  const saved: Saved = JSON.parse(await Deno.readTextFile(path));
  const { rows: raw, ...meta } = saved;
  const rows = raw.map((r): Row => {
    const workload = WORKLOADS.find((w) => w.name === r.workload);
    if (!workload) throw new Error(`${path}: unknown workload ${r.workload}`);
    const times: Partial<Record<System, Timing>> = {};
    for (const s of SYSTEMS) if (r[s]) times[s] = r[s];
    return { workload, n: r.n, times };
  });
  return { rows, meta };
}

async function main(): Promise<void> {
  const o = parseOptions(Deno.args);
  const { rows, meta } = o.from ? await load(o.from) : await measure(o);
  console.log(table(rows, meta));
  if (o.svg) {
    const dir = o.svg.includes("/") ? o.svg.slice(0, o.svg.lastIndexOf("/")) : ".";
    await Deno.mkdir(dir || "/", { recursive: true });
    await Deno.writeTextFile(o.svg, svg(rows, meta));
    // in deno fmt's layout, so that `deno fmt --check` passes on the committed chart
    const fmt = await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "-q", o.svg],
      cwd: new URL("..", import.meta.url).pathname,
      stdout: "null",
      stderr: "inherit",
    }).output();
    if (!fmt.success) console.error(`compare: deno fmt ${o.svg} failed (the chart is fine)`);
    console.error(`compare: wrote ${o.svg}`);
  }
  if (o.json && !o.from) {
    const raw: Saved["rows"] = rows.map((r) => ({
      workload: r.workload.name,
      id: r.workload.id,
      n: r.n,
      ...r.times,
    }));
    const saved: Saved = { ...meta, rows: raw };
    await Deno.writeTextFile(o.json, JSON.stringify(saved, null, 1) + "\n");
    console.error(`compare: wrote ${o.json}`);
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error(`compare: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
