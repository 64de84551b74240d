/**
 * Builds the npm package in `npm/`: `deno task npm`.
 *
 * 1. builds the Node-API addon (`rust/node`, release) and copies it in as
 *    `numfuse.<triple>.node` (`numfuse.linux-x64-gnu.node`, napi-rs's names);
 * 2. compiles the Node entry `mod_node.ts` (as `mod.ts`) and `src/` — never
 *    `src/ffi_deno.ts` — to ESM JavaScript plus `.d.ts` with the TypeScript
 *    compiler from npm, Deno's own version (dnt cannot be installed here);
 * 3. compiles the shared Node-compatible tests (`SHARED_TESTS`: the e2e,
 *    dtype, N-d, positional-call and phases tests, with the goldens they
 *    read) into `npm/tests/` and the seed workloads
 *    (`bench/seed_workloads.ts`) into `npm/bench/`, where their `../mod.ts`
 *    is the Node entry, and copies in every `.mjs` of `tests/node/` (the
 *    `*_node.mjs` tests and their helpers, such as the concurrency worker);
 * 4. writes `package.json`, copies README and LICENSE;
 * 5. checks that the package exports every name `mod.ts` exports, with the
 *    same declarations (`deno doc`), and records the runtime names for the
 *    Node tests in `npm/tests/exports.json`.
 *
 * The sources are staged in a temporary directory, so the repository is
 * never written outside `npm/` (and cargo's `rust/target/`).
 *
 * @module
 */

import { cargo, RUST_DIR } from "./cargo.ts";

const ROOT = new URL("../", import.meta.url).pathname;
/** Where the package is written. */
export const NPM_DIR = `${ROOT}npm/`;
/**
 * The TypeScript compiler used (from npm, through npx): the version Deno
 * type-checks with, so the package compiles exactly when `deno check` passes.
 */
const TYPESCRIPT = `typescript@${Deno.version.typescript}`;
/** `npx` arguments that run tsc. */
const TSC = ["-y", "-p", TYPESCRIPT, "tsc"];
/** The shared tests that run under Node (they import only `node:` modules and the sources). */
const SHARED_TESTS = [
  "e2e_test.ts",
  "dtype_test.ts",
  "nd_test.ts",
  "call_test.ts",
  "phases_test.ts",
];
/** Data files the shared and addon tests read, under `tests/`. */
const TEST_DATA = ["goldens/nd.json", "goldens/reduce.json"];
/** Files the shared tests import besides the package. */
const TEST_HELPERS = ["reference.ts"];
/** The seed workloads and their timing, which `bench/node_seed.mjs` runs under Node. */
const BENCH_MODULES = ["seed_workloads.ts"];
/** The sources that must never reach the package. */
const DENO_ONLY = ["ffi_deno.ts"];

/** napi-rs's name for this platform: `linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`. */
export function napiTriple(): string {
  const arch = ({ x86_64: "x64", aarch64: "arm64" } as Record<string, string>)[Deno.build.arch] ??
    Deno.build.arch;
  switch (Deno.build.os) {
    case "linux":
      return `linux-${arch}-${Deno.build.target.endsWith("musl") ? "musl" : "gnu"}`;
    case "windows":
      return `win32-${arch}-msvc`;
    default:
      return `${Deno.build.os}-${arch}`;
  }
}

/** The file cargo writes the addon to. */
function cargoAddonPath(): string {
  const file = Deno.build.os === "windows"
    ? "numfuse_node.dll"
    : Deno.build.os === "darwin"
    ? "libnumfuse_node.dylib"
    : "libnumfuse_node.so";
  return `${RUST_DIR}target/release/${file}`;
}

/** Runs a command with inherited output; throws when it fails. */
async function run(cmd: string, args: string[], cwd = ROOT): Promise<void> {
  const { success, code } = await new Deno.Command(cmd, {
    args,
    cwd,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!success) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${code})`);
}

/** Runs a command and returns its stdout; throws with its stderr when it fails. */
async function capture(cmd: string, args: string[], cwd = ROOT): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (exit ${out.code}): ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/** Copies the sources the package is compiled from into `stage`. */
async function stageSources(stage: string): Promise<void> {
  await Deno.mkdir(`${stage}/src`, { recursive: true });
  await Deno.mkdir(`${stage}/tests`, { recursive: true });
  await Deno.mkdir(`${stage}/bench`, { recursive: true });
  await Deno.copyFile(`${ROOT}mod_node.ts`, `${stage}/mod.ts`);
  for await (const entry of Deno.readDir(`${ROOT}src`)) {
    const name = entry.name;
    if (!entry.isFile || !name.endsWith(".ts") || name.endsWith("_test.ts")) continue;
    if (DENO_ONLY.includes(name)) continue;
    await Deno.copyFile(`${ROOT}src/${name}`, `${stage}/src/${name}`);
  }
  for (const name of [...SHARED_TESTS, ...TEST_HELPERS]) {
    await Deno.copyFile(`${ROOT}tests/${name}`, `${stage}/tests/${name}`);
  }
  for (const name of BENCH_MODULES) {
    await Deno.copyFile(`${ROOT}bench/${name}`, `${stage}/bench/${name}`);
  }
  // The staged graph must not reach the Deno binding (tsc would also fail on it).
  for (const dir of [stage, `${stage}/src`, `${stage}/tests`, `${stage}/bench`]) {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !entry.name.endsWith(".ts")) continue;
      // Code lines only: doc comments may show the Deno entry as an example.
      const code = (await Deno.readTextFile(`${dir}/${entry.name}`)).split("\n")
        .filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line)).join("\n");
      for (const deno of DENO_ONLY) {
        if (new RegExp(`["'][^"']*/${deno.replace(".", "\\.")}["']`).test(code)) {
          throw new Error(
            `${entry.name} refers to ${deno}, which the npm package must not include`,
          );
        }
      }
    }
  }
  // `node:module` is the one Node module the package imports; declared here
  // so that no Node typings have to be installed.
  await Deno.writeTextFile(
    `${stage}/node_shim.d.ts`,
    `declare module "node:module" {\n  export function createRequire(path: string | URL): (id: string) => unknown;\n}\n`,
  );
}

/** Compiles the staged package (type-checked, with declarations) and tests (transpiled only). */
async function compile(stage: string): Promise<void> {
  const compilerOptions = {
    target: "ES2022",
    module: "ES2022",
    moduleResolution: "bundler",
    lib: ["ES2022", "DOM"],
    types: [],
    strict: true,
    skipLibCheck: true,
    isolatedModules: true,
    allowImportingTsExtensions: true,
    rewriteRelativeImportExtensions: true,
    rootDir: ".",
    outDir: NPM_DIR,
    newLine: "lf",
    noEmitOnError: true,
  };
  await Deno.writeTextFile(
    `${stage}/tsconfig.json`,
    JSON.stringify({
      compilerOptions: { ...compilerOptions, declaration: true },
      files: ["mod.ts", "node_shim.d.ts"],
    }),
  );
  // The tests import node:test and node:assert, for which there are no
  // typings here; they were type-checked by `deno check` already.
  await Deno.writeTextFile(
    `${stage}/tsconfig.tests.json`,
    JSON.stringify({
      compilerOptions: { ...compilerOptions, noCheck: true, noEmitOnError: false },
      files: [
        ...SHARED_TESTS.map((t) => `tests/${t}`),
        ...BENCH_MODULES.map((b) => `bench/${b}`),
      ],
    }),
  );
  await run("npx", [...TSC, "-p", `${stage}/tsconfig.json`]);
  await run("npx", [...TSC, "-p", `${stage}/tsconfig.tests.json`]);
  await rewriteDeclarations(NPM_DIR);
}

/**
 * tsc rewrites `./x.ts` to `./x.js` in the JavaScript but keeps `./x.ts` in
 * the declarations, which a consumer's TypeScript cannot resolve; the
 * declarations get the `.js` specifiers too (resolved to the `.d.ts` beside).
 */
async function rewriteDeclarations(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}${entry.name}`;
    if (entry.isDirectory) await rewriteDeclarations(`${path}/`);
    else if (entry.name.endsWith(".d.ts")) {
      const lines = (await Deno.readTextFile(path)).split("\n");
      const code = (line: string) => !/^\s*\*/.test(line); // doc comments keep their examples
      await Deno.writeTextFile(
        path,
        lines.map((line) =>
          code(line) ? line.replace(/(["'])(\.{1,2}\/[^"']*)\.ts\1/g, "$1$2.js$1") : line
        ).join("\n"),
      );
    }
  }
}

/** `mod.ts`'s version, from `deno.json`. */
async function version(): Promise<string> {
  return JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).version ?? "0.0.0";
}

async function writePackageJson(): Promise<void> {
  const pkg = {
    name: "numfuse",
    version: await version(),
    description:
      "numexpr for Node: array expressions compiled to bytecode and run by a native VM over TypedArrays, in one pass, on every core",
    license: "MIT",
    type: "module",
    main: "./mod.js",
    types: "./mod.d.ts",
    exports: { ".": { types: "./mod.d.ts", import: "./mod.js" } },
    engines: { node: ">=18" },
    files: ["mod.js", "mod.d.ts", "src/", "numfuse.*.node", "README.md", "LICENSE"],
    keywords: ["numexpr", "typedarray", "simd", "vm", "expression", "napi"],
  };
  await Deno.writeTextFile(`${NPM_DIR}package.json`, JSON.stringify(pkg, null, 2) + "\n");
}

/** Copies README.md and LICENSE from the repository root into the package. */
async function copyDocs(): Promise<void> {
  for (const name of ["README.md", "LICENSE"]) {
    await Deno.copyFile(`${ROOT}${name}`, `${NPM_DIR}${name}`);
  }
}

interface DocSymbol {
  name: string;
  declarations: { kind: string }[];
}

/** The exported symbols of a module, as `deno doc --json` describes them. */
async function docSymbols(path: string): Promise<DocSymbol[]> {
  const doc = JSON.parse(await capture(Deno.execPath(), ["doc", "--json", path]));
  return Object.values(doc.nodes as Record<string, { symbols: DocSymbol[] }>)
    .flatMap((n) => n.symbols);
}

/** Drops source locations, which differ between two modules re-exporting the same declaration. */
function withoutLocations(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (k, v) => k === "location" ? undefined : v));
}

/**
 * Checks that the Node entry exports what `mod.ts` exports, with the same
 * declarations, and that a TypeScript consumer of the package sees every one
 * of them (types as types, values as values); returns the names of the
 * runtime (value) exports.
 */
async function checkExports(): Promise<string[]> {
  const deno = await docSymbols(`${ROOT}mod.ts`);
  const node = await docSymbols(`${ROOT}mod_node.ts`);
  const problems: string[] = [];
  for (const s of deno) {
    const n = node.find((x) => x.name === s.name);
    if (!n) problems.push(`mod_node.ts does not export ${s.name}`);
    else if (
      JSON.stringify(withoutLocations(n.declarations)) !==
        JSON.stringify(withoutLocations(s.declarations))
    ) {
      problems.push(`mod_node.ts exports ${s.name} with a different declaration than mod.ts`);
    }
  }
  for (const s of node) {
    if (!deno.some((x) => x.name === s.name)) problems.push(`${s.name} is not exported by mod.ts`);
  }
  if (problems.length > 0) {
    throw new Error(`The Node entry's exports differ from mod.ts's:\n  ${problems.join("\n  ")}`);
  }
  const VALUE_KINDS = ["function", "class", "variable", "enum", "namespace"];
  const isValue = (s: DocSymbol) => s.declarations.some((d) => VALUE_KINDS.includes(d.kind));
  const consumer = await Deno.makeTempDir({ prefix: "numfuse_npm_check_" });
  try {
    // Types are imported by name (a missing one fails even unused, and
    // generic ones need no arguments); values are used as values, which
    // fails for a type-only export.
    const values = deno.filter(isValue).map((s) => s.name);
    const types = deno.filter((s) => !isValue(s)).map((s) => s.name);
    const lines = [
      `import { ${values.join(", ")} } from "${NPM_DIR}mod.js";`,
      `import type { ${types.join(", ")} } from "${NPM_DIR}mod.js";`,
      `export const values: unknown[] = [${values.join(", ")}];`,
    ];
    await Deno.writeTextFile(`${consumer}/package.json`, `{ "type": "module" }\n`);
    await Deno.writeTextFile(`${consumer}/check.ts`, lines.join("\n") + "\n");
    await Deno.writeTextFile(
      `${consumer}/tsconfig.json`,
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          lib: ["ES2022"],
          types: [],
          strict: true,
          noEmit: true,
        },
        files: ["check.ts"],
      }),
    );
    await run("npx", [...TSC, "-p", `${consumer}/tsconfig.json`]);
  } finally {
    await Deno.remove(consumer, { recursive: true });
  }
  return deno.filter(isValue).map((s) => s.name).sort();
}

/** Builds `npm/`; returns the path of the addon in it. */
export async function buildNpm(): Promise<string> {
  await cargo("build", "--release", "-p", "numfuse-node");
  await Deno.remove(NPM_DIR, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${NPM_DIR}tests/node`, { recursive: true });
  const stage = await Deno.makeTempDir({ prefix: "numfuse_npm_" });
  try {
    await stageSources(stage);
    await compile(stage);
  } finally {
    await Deno.remove(stage, { recursive: true });
  }
  const addon = `${NPM_DIR}numfuse.${napiTriple()}.node`;
  await Deno.copyFile(cargoAddonPath(), addon);
  await Deno.mkdir(`${NPM_DIR}tests/goldens`, { recursive: true });
  for (const name of TEST_DATA) {
    await Deno.copyFile(`${ROOT}tests/${name}`, `${NPM_DIR}tests/${name}`);
  }
  for await (const entry of Deno.readDir(`${ROOT}tests/node`)) {
    if (entry.isFile && entry.name.endsWith(".mjs")) {
      await Deno.copyFile(`${ROOT}tests/node/${entry.name}`, `${NPM_DIR}tests/node/${entry.name}`);
    }
  }
  // tests/dtype_test.ts reads NumPy's promotion and casting tables from the goldens.
  await Deno.mkdir(`${NPM_DIR}tests/goldens`, { recursive: true });
  await Deno.copyFile(`${ROOT}tests/goldens/numpy.json`, `${NPM_DIR}tests/goldens/numpy.json`);
  await writePackageJson();
  await copyDocs();
  const values = await checkExports();
  await Deno.writeTextFile(`${NPM_DIR}tests/exports.json`, JSON.stringify(values) + "\n");
  console.log(
    `build_npm: wrote ${NPM_DIR} (${addon.slice(NPM_DIR.length)}; exports ${values.join(", ")})`,
  );
  return addon;
}

if (import.meta.main) {
  await buildNpm();
}
