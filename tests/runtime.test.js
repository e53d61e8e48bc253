// Which build is loaded: the suite runs once on the relaxed-SIMD (FMA) build where the engine
// accepts it, and once more on the plain SIMD build (SIMDNET_RELAXED_SIMD=0).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt } from 'simdnet/internal';

test('ready() loads the build the environment asks for, once', async () => {
  const first = await sn.ready();
  assert.is(await sn.ready(), first, 'a second call returns the same runtime');
  const wantPlain = process.env.SIMDNET_RELAXED_SIMD === '0';
  if (wantPlain) assert.is(rt().relaxedSimd, false);
  else assert.is(rt().relaxedSimd, true, 'Node 20 accepts the relaxed build once its flag is set');
  assert.ok(typeof rt().kernels.gemm === 'function' && rt().memory instanceof WebAssembly.Memory);
});

test.run();
