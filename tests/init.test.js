import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';

await sn.ready();

const stats = (a) => {
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  const std = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
  return { mean, std, min: Math.min(...a), max: Math.max(...a) };
};

test('calculateGain and fans follow torch.nn.init', () => {
  assert.is(sn.init.calculateGain('relu'), Math.SQRT2);
  assert.is(sn.init.calculateGain('tanh'), 5 / 3);
  assert.is(sn.init.calculateGain('leaky_relu', Math.sqrt(5)), Math.sqrt(2 / 6));
  assert.equal(sn.init.fans([16, 6, 5, 5]), { fanIn: 150, fanOut: 400 });
  assert.equal(sn.init.fans([120, 400]), { fanIn: 400, fanOut: 120 });
  assert.throws(() => sn.init.fans([7]), /at least 2 dimensions, got \[7\]/);
});

test('kaimingUniform: U(±gain·√(3/fan)), fan_in or fan_out', () => {
  const conv = new sn.Conv2d(8, 32, 3);                   // fan_in 72, fan_out 288
  sn.init.kaimingUniform(conv.weight, { nonlinearity: 'relu' });
  let s = stats(conv.weight.data.toArray());
  const bound = Math.SQRT2 * Math.sqrt(3 / 72);
  assert.ok(s.max <= bound && s.min >= -bound && s.max > 0.95 * bound && s.min < -0.95 * bound, JSON.stringify(s));
  assert.ok(Math.abs(s.std - bound / Math.sqrt(3)) < 0.05 * bound, `std ${s.std}`);
  sn.init.kaimingUniform(conv.weight, { nonlinearity: 'relu', mode: 'fan_out' });
  s = stats(conv.weight.data.toArray());
  assert.ok(s.max <= Math.SQRT2 * Math.sqrt(3 / 288) && s.max > 0.95 * Math.SQRT2 * Math.sqrt(3 / 288));
});

test('kaimingNormal, xavierUniform and xavierNormal have the documented spread', () => {
  const lin = new sn.Linear(300, 200);
  sn.init.kaimingNormal(lin.weight, { nonlinearity: 'relu' });
  let s = stats(lin.weight.data.toArray());
  assert.ok(Math.abs(s.std - Math.SQRT2 / Math.sqrt(300)) < 0.03 * s.std && Math.abs(s.mean) < 0.02 * s.std, JSON.stringify(s));
  sn.init.xavierUniform(lin.weight);
  s = stats(lin.weight.data.toArray());
  const bound = Math.sqrt(6 / 500);
  assert.ok(s.max <= bound && s.min >= -bound && s.max > 0.99 * bound, JSON.stringify(s));
  sn.init.xavierNormal(lin.weight, 2);
  s = stats(lin.weight.data.toArray());
  assert.ok(Math.abs(s.std - 2 * Math.sqrt(2 / 500)) < 0.03 * s.std, JSON.stringify(s));
  sn.init.constant_(lin.bias, 0.25);
  assert.ok(lin.bias.data.toArray().every((v) => v === 0.25));
});

test('manualSeed makes initialisation repeatable; other seeds differ', () => {
  sn.manualSeed(42);
  const a = new sn.Conv2d(3, 4, 3).weight.data.toArray();
  sn.manualSeed(42);
  const b = new sn.Conv2d(3, 4, 3).weight.data.toArray();
  sn.manualSeed(43);
  const c = new sn.Conv2d(3, 4, 3).weight.data.toArray();
  assert.equal(a, b);
  assert.not.equal(a, c);
});

test.run();
