// ready(): a wasm module that is not simdnet's is refused with the missing parts named, leaving the
// library unloaded; a different build or module asked for after loading is refused, not ignored.
// Each case that needs a fresh runtime runs in a child process (ready() loads once per process).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt, KERNEL_EXPORTS } from 'simdnet/internal';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

await sn.ready();

const root = new URL('..', import.meta.url).pathname;
const plainBuild = readFileSync(new URL('../build/simdnet.wasm', import.meta.url));

/** Runs an ES module script in a fresh Node (with the relaxed-SIMD switch as given); returns its JSON output. */
function child(script, args = [], plain = false) {
  const { SIMDNET_RELAXED_SIMD, ...env } = process.env;
  if (plain) env.SIMDNET_RELAXED_SIMD = '0';
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, ...args], { encoding: 'utf8', env, cwd: root });
  return JSON.parse(out);
}

// ---- a tiny wasm writer, for modules that are valid but not simdnet's ----
const uleb = (n) => { const out = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n); return out; };
const sleb = (n) => { const out = []; for (;;) { const b = n & 0x7f; n >>= 7; if ((n === 0 && !(b & 0x40)) || (n === -1 && (b & 0x40))) { out.push(b); return out; } out.push(b | 0x80); } };
const name = (s) => [...uleb(s.length), ...Buffer.from(s)];
const section = (id, items) => { const body = [...uleb(items.length), ...items.flat()]; return [id, ...uleb(body.length), ...body]; };

/**
 * A module importing `memory` ([module, name, minPages] or null) and exporting functions
 * `() → i32` named in `exports` ([name, value] pairs).
 */
function wasmModule({ memory = ['env', 'memory', 1], exports = [] }) {
  const bytes = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  bytes.push(...section(1, [[0x60, 0x00, 0x01, 0x7f]]));
  if (memory) bytes.push(...section(2, [[...name(memory[0]), ...name(memory[1]), 0x02, 0x00, ...uleb(memory[2])]]));
  if (exports.length) {
    bytes.push(...section(3, exports.map(() => [0x00])));
    bytes.push(...section(7, exports.map(([n], i) => [...name(n), 0x00, ...uleb(i)])));
    bytes.push(...section(10, exports.map(([, v]) => { const body = [0x00, 0x41, ...sleb(v), 0x0b]; return [...uleb(body.length), ...body]; })));
  }
  const out = new Uint8Array(bytes);
  assert.ok(WebAssembly.validate(out), 'the test writes a valid module');
  return out;
}

const allKernels = (heapBase) => KERNEL_EXPORTS.map((n) => [n, n === 'heapBase' ? heapBase : 0]);

test('the kernel exports the runtime checks for are exactly the build\'s functions', () => {
  const built = WebAssembly.Module.exports(new WebAssembly.Module(plainBuild)).filter((e) => e.kind === 'function').map((e) => e.name);
  const missing = built.filter((n) => !KERNEL_EXPORTS.includes(n));
  assert.equal(missing, [], `add ${missing.join(', ')} to KERNEL_EXPORTS in ts/runtime/wasm.ts`);
  assert.equal([...KERNEL_EXPORTS].sort(), [...built].sort());
});

test('ready({ wasm }) with a foreign module names what is missing, and a later ready() still loads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'simdnet-ready-'));
  try {
    const cases = [
      ['no imports, no exports', wasmModule({ memory: null }),
        /^simdnet: ready\(\{ wasm \}\): not simdnet's kernel module: it imports nothing, but simdnet's kernels import exactly one thing, the memory env\.memory$/],
      ['another memory import', wasmModule({ memory: ['js', 'mem', 1], exports: allKernels(1024) }),
        /^simdnet: ready\(\{ wasm \}\): not simdnet's kernel module: it imports js\.mem \(memory\), but simdnet's kernels import exactly one thing/],
      ['two kernels only', wasmModule({ exports: [['heapBase', 1024], ['gemm', 0]] }),
        new RegExp(`^simdnet: ready\\(\\{ wasm \\}\\): not simdnet's kernel module \\(or one of another version\\): it lacks ${KERNEL_EXPORTS.length - 2} of the ${KERNEL_EXPORTS.length} kernel functions: relaxedSimdBuild, gemmScratchFloats, countNonFinite, fill, addInto, biasRows, and ${KERNEL_EXPORTS.length - 8} more$`)],
      ['every name, but a heap base of 0', wasmModule({ exports: allKernels(0) }),
        /^simdnet: ready\(\{ wasm \}\): not simdnet's kernel module: its heapBase\(\) returns 0, expected an offset inside the first 16384 KiB$/],
      ['every name, but no build kind', wasmModule({ exports: allKernels(1024).map(([n, v]) => [n, n === 'relaxedSimdBuild' ? 7 : v]) }),
        /^simdnet: ready\(\{ wasm \}\): not simdnet's kernel module: its relaxedSimdBuild\(\) returns 7, expected 0 or 1$/],
      ['a memory larger than simdnet\'s', wasmModule({ memory: ['env', 'memory', 300], exports: allKernels(1024) }),
        /^simdnet: ready\(\{ wasm \}\): the module cannot run on simdnet's memory \(256\.\.65536 pages\): /],
      ['not wasm at all', new TextEncoder().encode('{"not": "wasm"}'),
        /^simdnet: ready\(\{ wasm \}\): the 15 bytes are not a WebAssembly module this engine can compile/],
    ];
    const paths = cases.map(([, bytes], i) => { const p = join(dir, `${i}.wasm`); writeFileSync(p, bytes); return p; });
    const script = `import * as sn from 'simdnet'; import { readFileSync } from 'node:fs'; import { rt } from 'simdnet/internal';
      const messages = [];
      for (const path of process.argv.slice(1)) {
        try { await sn.ready({ wasm: readFileSync(path) }); messages.push('loaded'); } catch (e) { messages.push(e.message); }
        try { rt(); messages.push('a runtime is set'); } catch {}
      }
      await sn.ready();
      const y = new sn.Linear(2, 1, { bias: false }).forward(sn.tensor(new Float32Array([1, 2]), [1, 2]));
      console.log(JSON.stringify({ messages, works: y.shape }));`;
    const { messages, works } = child(script, paths);
    assert.is(messages.length, cases.length, messages.join('\n'));
    cases.forEach(([what, , re], i) => assert.match(messages[i], re, what));
    assert.equal(works, [1, 1], 'ready() after the refusals loads the packaged build');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('after loading, asking for another build or module is refused; the same options or none return the runtime', () => {
  const script = `import * as sn from 'simdnet'; import { readFileSync } from 'node:fs';
    const plain = readFileSync(process.argv[1]);
    const out = {};
    const attempt = async (key, options) => { try { out[key] = JSON.stringify(await sn.ready(options)) === JSON.stringify(first) ? 'same' : 'other'; } catch (e) { out[key] = e.message; } };
    const pending = sn.ready(process.argv[2] === 'bytes' ? { wasm: plain } : {});
    // Asked while the first call is still loading (the other build, unless bytes were given): compared with what it loads.
    const early = sn.ready({ relaxedSimd: process.env.SIMDNET_RELAXED_SIMD === '0' }).then(() => 'same', (e) => e.message);
    const first = await pending;
    out.early = await early;
    out.relaxed = first.relaxedSimd;
    await attempt('none', undefined);
    await attempt('empty', {});
    await attempt('relaxedFalse', { relaxedSimd: false });
    await attempt('relaxedTrue', { relaxedSimd: true });
    await attempt('sameBytes', { wasm: new Uint8Array(plain) });
    await attempt('otherBytes', { wasm: plain.subarray(0, 100) });
    console.log(JSON.stringify(out));`;
  const path = new URL('../build/simdnet.wasm', import.meta.url).pathname;
  const already = (build, given) => `the kernels are already loaded \\(the ${build} build${given ? ', from the wasm given to the first ready\\(\\)' : ''}\\); `;

  // Default in Node 20: the relaxed-SIMD build.
  const relaxed = child(script, [path, 'default']);
  assert.is(relaxed.relaxed, true);
  const refusedFalse = new RegExp(`^simdnet: ready\\(\\{ relaxedSimd: false \\}\\): ${already('relaxed-SIMD', false)}the build is chosen at the first ready\\(\\) call \\(pass relaxedSimd there, or set SIMDNET_RELAXED_SIMD=0 in Node before it\\)$`);
  assert.match(relaxed.early, refusedFalse);
  assert.match(relaxed.relaxedFalse, refusedFalse);
  assert.equal([relaxed.none, relaxed.empty, relaxed.relaxedTrue], ['same', 'same', 'same']);
  assert.match(relaxed.sameBytes, new RegExp(`^simdnet: ready\\(\\{ wasm \\}\\): ${already('relaxed-SIMD', false)}the wasm to load is chosen at the first ready\\(\\) call$`));

  // The plain build chosen by the environment: relaxed SIMD asked for later is refused.
  const plain = child(script, [path, 'default'], true);
  assert.is(plain.relaxed, false);
  assert.match(plain.early, /^simdnet: ready\(\{ relaxedSimd: true \}\): the kernels are already loaded \(the plain SIMD build\); the build is chosen at the first ready\(\) call/);
  assert.equal([plain.none, plain.empty, plain.relaxedFalse], ['same', 'same', 'same']);
  assert.match(plain.relaxedTrue, /relaxedSimd: true.*already loaded \(the plain SIMD build\)/);

  // Bytes given first: the same bytes again are fine, other bytes are not.
  const bytes = child(script, [path, 'bytes']);
  assert.is(bytes.relaxed, false);
  assert.equal([bytes.early, bytes.none, bytes.relaxedFalse, bytes.sameBytes], ['same', 'same', 'same', 'same']);
  assert.match(bytes.otherBytes, new RegExp(`^simdnet: ready\\(\\{ wasm \\}\\): ${already('plain SIMD', true)}the wasm to load is chosen at the first ready\\(\\) call$`));
});

test('ready refuses options of the wrong type and keeps the loaded runtime', async () => {
  const loaded = rt();
  for (const [options, re] of [
    [{ relaxedSimd: 'no' }, /^simdnet: ready\(\{ relaxedSimd \}\): expected true or false, got a string$/],
    [{ relaxedSimd: 0 }, /^simdnet: ready\(\{ relaxedSimd \}\): expected true or false, got a number$/],
    [{ wasm: 5 }, /^simdnet: ready\(\{ wasm \}\): expected the module's bytes \(an ArrayBuffer or a typed array\), a URL, a Response, or a WebAssembly\.Module, or an object of them per build \(\{ simd, relaxedSimd \}\), got a number$/],
    [{ wasm: [0, 97, 115, 109] }, /got an array$/],
    [null, /^simdnet: ready\(options\): options must be an object, got null$/],
  ]) {
    let message = '';
    try { await sn.ready(options); } catch (e) { message = e.message; }
    assert.match(message, re);
    assert.is(rt(), loaded);
  }
});

test.run();
