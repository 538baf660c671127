// Generates libs/policy-runtime/capabilities.json: the OPA capabilities an enforcer can honour.
//
// A builtin is listed when the enforcer can evaluate it:
//   - OPA's WASM target compiles it natively (found empirically: we build a probe module that calls
//     every builtin and read the module's `builtins` export, which lists what it wants from the host),
//   - or the opa-wasm SDK implements it in JavaScript (SDK_BUILTINS),
//   - or @portcullis/policy-runtime provides it (PROVIDED_BUILTINS).
// The non-builtin fields come from `opa capabilities --current`; wasm_abi_versions from the SDK,
// so a future OPA that emits an ABI the SDK cannot load is rejected at build time.
//
// Usage: node scripts/gen-capabilities.mjs            (writes the file)
//        node scripts/gen-capabilities.mjs --stdout   (prints it)
//        node scripts/gen-capabilities.mjs --check    (exit 1 if the committed file is stale)
// Needs the compiled runtime (npx tsc -p tsconfig.json) and opa (OPA_BIN, else the pinned build
// in .tools/bin, installed on demand like every other script does).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, ensureTool } from './tools.mjs';

const OUT = join(ROOT, 'libs', 'policy-runtime', 'capabilities.json');
const require = createRequire(import.meta.url);

// Compiled away by the planner or served by the ABI itself (opa_println), never a host call.
const ALWAYS_NATIVE = ['eq', 'assign', 'print', 'internal.print'];
// Only meaningful to `opa test`, never inside a bundle an enforcer runs.
const NEVER = ['internal.test_case'];

function runtime() {
  const entry = join(ROOT, 'dist', 'libs', 'policy-runtime', 'src', 'index.js');
  if (!existsSync(entry))
    throw new Error(`${entry} missing: compile first (npx tsc -p tsconfig.json)`);
  return require(entry);
}

/** Reads the host-builtin table a compiled module exports, without evaluating anything. */
function hostImports(wasm) {
  const memory = new WebAssembly.Memory({ initial: 32 });
  const trap = () => {
    throw new Error('probe module must not call the host');
  };
  const env = { memory, opa_abort: trap, opa_println: trap };
  for (let i = 0; i <= 4; i++) env[`opa_builtin${i}`] = trap;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(wasm), { env });
  const addr = instance.exports.opa_json_dump(instance.exports.builtins());
  const bytes = new Uint8Array(memory.buffer);
  let end = addr;
  while (bytes[end] !== 0) end++;
  return new Set(Object.keys(JSON.parse(new TextDecoder().decode(bytes.subarray(addr, end)))));
}

/** Builtins OPA's WASM compiler implements inside the module. */
function wasmNative(opa, builtins, readBundleFile) {
  const probeable = builtins.filter(
    (b) =>
      b.decl.result &&
      !b.decl.variadic &&
      !b.deprecated &&
      !ALWAYS_NATIVE.includes(b.name) &&
      !NEVER.includes(b.name),
  );
  // Every operand is `input.aN` (type any), so each call type-checks whatever its declared types.
  const lines = ['package probe', ''];
  for (const b of probeable) {
    const args = (b.decl.args ?? []).map((_, i) => `input.a${i}`).join(', ');
    lines.push(`results contains x if { x := ${b.name}(${args}) }`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-caps-'));
  try {
    writeFileSync(join(dir, 'probe.rego'), lines.join('\n') + '\n');
    const bundle = join(dir, 'bundle.tar.gz');
    execFileSync(
      opa,
      ['build', '-t', 'wasm', '-e', 'probe/results', '-o', bundle, join(dir, 'probe.rego')],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const wasm = readBundleFile(readFileSync(bundle), '/policy.wasm');
    if (!wasm) throw new Error('opa build produced no policy.wasm');
    const host = hostImports(wasm);
    return new Set([
      ...probeable.filter((b) => !host.has(b.name)).map((b) => b.name),
      ...ALWAYS_NATIVE,
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function generateCapabilities() {
  const opa = ensureTool('opa');
  const { PROVIDED_BUILTINS, SDK_BUILTINS, readBundleFile } = runtime();
  const current = JSON.parse(
    execFileSync(opa, ['capabilities', '--current'], { encoding: 'utf8' }),
  );
  const sdkCaps = JSON.parse(
    readFileSync(
      join(ROOT, 'node_modules', '@open-policy-agent', 'opa-wasm', 'capabilities.json'),
      'utf8',
    ),
  );
  const native = wasmNative(opa, current.builtins, readBundleFile);
  const allowed = new Set([...native, ...SDK_BUILTINS, ...PROVIDED_BUILTINS]);
  const known = new Set(current.builtins.map((b) => b.name));
  const unknown = [...SDK_BUILTINS, ...PROVIDED_BUILTINS].filter((n) => !known.has(n));
  if (unknown.length > 0)
    throw new Error(
      `this opa does not declare builtins the runtime provides: ${unknown.join(', ')}`,
    );
  const capabilities = {
    builtins: current.builtins.filter((b) => allowed.has(b.name) && !b.deprecated),
    ...Object.fromEntries(Object.entries(current).filter(([key]) => key !== 'builtins')),
    wasm_abi_versions: sdkCaps.wasm_abi_versions,
  };
  return JSON.stringify(capabilities, null, 2) + '\n';
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = generateCapabilities();
  if (process.argv.includes('--stdout')) {
    process.stdout.write(text);
  } else if (process.argv.includes('--check')) {
    const committed = existsSync(OUT) ? readFileSync(OUT, 'utf8') : '';
    if (committed !== text) {
      process.stderr.write(
        `${OUT} is stale: run node scripts/gen-capabilities.mjs and commit the result\n`,
      );
      process.exit(1);
    }
  } else {
    writeFileSync(OUT, text);
    const count = JSON.parse(text).builtins.length;
    process.stderr.write(`wrote ${OUT} (${count} builtins)\n`);
  }
}
