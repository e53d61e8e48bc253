// Which build is loaded: the suite runs once on the relaxed-SIMD (FMA) build where the engine
// accepts it, and once more on the plain SIMD build (SIMDNET_RELAXED_SIMD=0).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt } from 'simdnet/internal';

test('ready() loads the build the environment asks for, once', async () => {
  const info = await sn.ready();
  const first = rt();
  assert.equal(await sn.ready(), sn.backendInfo(), 'ready() resolves to backendInfo()');
  assert.equal(Object.keys(info), ['relaxedSimd', 'memoryBytes', 'threads', 'sharedMemory', 'fallbackReason', 'splitCalls']);
  assert.is(info.memoryBytes, first.memory.buffer.byteLength);
  assert.is(rt(), first, 'a second call keeps the same runtime');
  assert.is(info.relaxedSimd, first.relaxedSimd);
  const wantPlain = process.env.SIMDNET_RELAXED_SIMD === '0';
  if (wantPlain) assert.is(rt().relaxedSimd, false);
  else assert.is(rt().relaxedSimd, true, 'Node 20 accepts the relaxed build once its flag is set');
  assert.ok(typeof rt().kernels.gemm === 'function' && rt().memory instanceof WebAssembly.Memory);
});

test('a build passed in as bytes reports its own kind', async () => {
  const { readFileSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  // A fresh process, since ready() loads once per process.
  const script = `import * as sn from 'simdnet'; import { readFileSync } from 'node:fs';
    await sn.ready({ wasm: readFileSync(process.argv[1]) }); console.log(JSON.stringify(sn.backendInfo().relaxedSimd));`;
  for (const [file, relaxed] of [['simdnet.wasm', false], ['simdnet-relaxed.wasm', true]]) {
    const path = new URL(`../build/${file}`, import.meta.url).pathname;
    assert.ok(readFileSync(path).length > 0);
    // Without SIMDNET_RELAXED_SIMD=0 (the plain pass sets it): that would leave Node's relaxed-SIMD flag off.
    const { SIMDNET_RELAXED_SIMD, ...env } = process.env;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, path], { encoding: 'utf8', env, cwd: new URL('..', import.meta.url).pathname });
    assert.is(JSON.parse(out), relaxed, file);
  }
});

test.run();
