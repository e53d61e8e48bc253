import { test } from 'uvu';
import * as assert from 'uvu/assert';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as sn from 'simdnet';
import { rt, Block, Heap } from 'simdnet/internal';
import { rng, freshSeed, randn } from './helpers.js';

await sn.ready();

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

test('Heap reuses freed space, coalesces neighbours and grows only when nothing fits', () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 100 });
  const heap = new Heap(memory, 100);
  const a = heap.alloc(1000), b = heap.alloc(1000), c = heap.alloc(1000);
  assert.ok(a % 64 === 0 && b % 64 === 0 && c % 64 === 0, 'aligned to 64 bytes');
  assert.ok(a >= 100 && b >= a + 1000 && c >= b + 1000, 'no overlap');
  heap.release(a, 1000); heap.release(b, 1000);
  assert.is(heap.alloc(2000), a, 'two freed neighbours merge into one span that fits 2000 bytes');
  const before = memory.buffer.byteLength;
  const big = heap.alloc(200000);
  assert.ok(memory.buffer.byteLength >= big + 200000 && memory.buffer.byteLength > before, 'memory grew to fit');
  heap.release(c, 1000); heap.release(big, 200000);
  assert.is(heap.alloc(150000), c, 'the freed tail is reused before growing again');
});

test('Heap growth beyond the memory maximum is a clear Error', () => {
  const heap = new Heap(new WebAssembly.Memory({ initial: 1, maximum: 2 }), 0);
  assert.throws(() => heap.alloc(10 * 65536), /wasm memory cannot grow to allocate 640\.0 KiB for a buffer: the engine refused to grow the memory from 64\.0 KiB to 640\.0 KiB/);
});

test('a training step allocates no wasm memory once shapes are stable', () => {
  const seed = freshSeed(), rand = rng(seed);
  const model = new sn.Sequential(new sn.Linear(20, 16), new sn.Flatten(), new sn.Linear(16, 3));
  const step = () => {
    const x = sn.tensor(Float32Array.from(randn(8 * 20, rand)), [8, 20]);
    const y = model.forward(x);
    model.backward(sn.tensor(Float32Array.from(randn(8 * 3, rand)), y.shape));
  };
  step(); step();
  const inUse = rt().heap.bytesInUse, reserved = rt().heap.bytesReserved;
  for (let i = 0; i < 200; i++) step();
  assert.is(rt().heap.bytesInUse, inUse);
  assert.is(rt().heap.bytesReserved, reserved);
  model.dispose();
});

test('building and disposing models in a loop keeps memory flat', () => {
  const make = () => new sn.Sequential(new sn.Linear(100, 50), new sn.Linear(50, 10));
  make().dispose();
  const inUse = rt().heap.bytesInUse, reserved = rt().heap.bytesReserved;
  for (let i = 0; i < 300; i++) {
    const m = make();
    m.forward(sn.tensor(new Float32Array(400).fill(0.5), [4, 100]));
    m.dispose();
  }
  assert.is(rt().heap.bytesInUse, inUse);
  assert.is(rt().heap.bytesReserved, reserved);
});

test('models dropped without dispose() are reclaimed after garbage collection', async () => {
  const build = () => {
    const m = new sn.Sequential(new sn.Linear(200, 100), new sn.Linear(100, 10));
    m.forward(sn.tensor(new Float32Array(800).fill(0.25), [4, 200]));
  };
  for (let i = 0; i < 5; i++) build();
  gc(); await settle(); gc(); await settle();
  const baseline = rt().heap.bytesInUse;
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 50; i++) build();
    gc(); await settle(); gc(); await settle();
  }
  // 250 models of ~340 KB each would be ~85 MB if nothing were reclaimed.
  assert.ok(rt().heap.bytesInUse <= baseline + 2 * 340000, `in use grew from ${baseline} to ${rt().heap.bytesInUse}`);
});

test('tensors keep working after the wasm memory grows', () => {
  const seed = freshSeed(), rand = rng(seed);
  const layer = new sn.Linear(3, 2);
  const y = layer.forward(sn.tensor(Float32Array.from(randn(6, rand)), [2, 3]));
  const before = y.toArray();
  const grow = new Block(rt().heap.bytesReserved + 8 * 1048576);
  assert.ok(rt().memory.buffer.byteLength > grow.ptr, 'memory grew');
  assert.equal(y.toArray(), before);
  assert.equal(layer.weight.data.toArray().length, 6);
  grow.free();
  layer.dispose();
});

test('toArray() is a copy, and a disposed module\'s tensors refuse to be read', () => {
  const layer = new sn.Linear(2, 2);
  const y = layer.forward(sn.tensor([1, 2], [1, 2]));
  const copy = y.toArray();
  copy[0] = 12345;
  assert.is.not(y.toArray()[0], 12345);
  layer.dispose();
  assert.throws(() => y.toArray(), /memory was released/);
});

test('sn.tensor wraps data without copying it into wasm memory', () => {
  const inUse = rt().heap.bytesInUse;
  const data = new Float32Array(1 << 20);
  for (let i = 0; i < 20; i++) sn.tensor(data, [1024, 1024]);
  assert.is(rt().heap.bytesInUse, inUse);
  assert.throws(() => sn.tensor(new Float32Array(6), [4, 2]), /shape \[4, 2\] needs 8 values, got 6/);
});

test('a disposed module or optimizer refuses to run instead of reading or writing freed memory', () => {
  const model = new sn.Sequential(new sn.Linear(3, 2), new sn.ReLU());
  const opt = new sn.Adam(model.parameters());
  const x = sn.tensor([1, 2, 3], [1, 3]);
  const y = model.forward(x);
  const loss = new sn.MSELoss().forward(y, sn.tensor([0, 0], [1, 2]));
  model.dispose();
  // The freed blocks go to the next allocation: a stray write would land in this one.
  const other = new sn.Linear(3, 2);
  const otherWeights = other.weight.data.toArray();
  assert.throws(() => model.forward(x), /Sequential \(2 layers\): this module was disposed/);
  assert.throws(() => model.at(0).forward(x), /Linear\(in_features=3, out_features=2, bias=True\): this module was disposed/);
  assert.throws(() => model.backward(sn.tensor([1, 1], [1, 2])), /this module was disposed/);
  assert.throws(() => loss.backward(), /this module was disposed/);
  assert.throws(() => opt.step(), /Adam: params\[0\] belongs to a module that was disposed/);
  assert.throws(() => opt.zeroGrad(), /memory was released/);
  assert.throws(() => model.zeroGrad(), /memory was released/);
  assert.equal(other.weight.data.toArray(), otherWeights);
  // A disposed layer inside a live model stops the model too.
  const inner = new sn.Linear(3, 2), outer = new sn.Sequential(inner, new sn.ReLU());
  inner.dispose();
  assert.throws(() => outer.forward(x), /Linear\(in_features=3, out_features=2, bias=True\): this module was disposed/);
  const live = new sn.Linear(3, 2), liveOpt = new sn.SGD(live.parameters(), { lr: 0.1 });
  liveOpt.dispose();
  assert.throws(() => liveOpt.step(), /SGD: the optimizer was disposed/);
  other.dispose(); live.dispose(); outer.dispose();
});

test('a layer disposed between forward and backward stops backward, though the forward found nothing disposed', () => {
  const model = new sn.Sequential(new sn.Linear(3, 2), new sn.ReLU());
  const loss = new sn.MSELoss().forward(model.forward(sn.tensor([1, 2, 3], [1, 3])), sn.tensor([0, 0], [1, 2]));
  model.at(0).dispose();
  assert.throws(() => loss.backward(), /Linear\(in_features=3, out_features=2, bias=True\): this module was disposed/);
  model.dispose();
});

/** Takes every free byte below the heap's top and forbids growth; returns the undo. */
function exhaustHeap(heap) {
  heap.limitTo(heap.topOffset);
  const taken = [];
  for (let size = 1 << 20; size >= 64; size >>= 1) {
    for (;;) {
      try { taken.push(heap.alloc(size)); } catch { break; }
    }
  }
  return () => { for (const ptr of taken) heap.release(ptr); heap.limitTo(Infinity); };
}

test('fit retries a step refused for memory once, after finalizers ran, and repeats exactly', async () => {
  const heap = rt().heap;
  const make = () => { sn.manualSeed(1); return new sn.Sequential(new sn.Linear(20, 64), new sn.ReLU(), new sn.Dropout(0.2), new sn.Linear(64, 3)); };
  const x = sn.tensor(Float32Array.from({ length: 40 * 20 }, (_, i) => Math.sin(i)), [40, 20]);
  const y = Int32Array.from({ length: 40 }, (_, i) => i % 3);
  const options = { epochs: 2, batchSize: 20, seed: 3, verbose: 0 };
  const reference = make();
  const expected = await reference.fit(x, y, options);
  reference.dispose();
  // Counts refusals: the first step must really have been refused.
  const alloc = heap.alloc;
  let refused = 0;
  heap.alloc = function (...args) { try { return alloc.apply(this, args); } catch (err) { refused++; throw err; } };
  try {
    // Still held: the retry finds no more memory, and fit fails cleanly.
    let held = new sn.Linear(400, 200);
    held.forward(sn.tensor(new Float32Array(400), [1, 400]));
    const model = make();
    const before = model.stateDict()['0.weight'].toArray();
    const optimizer = new sn.Adam(model.parameters());
    let restore = exhaustHeap(heap);
    refused = 0;
    model.eval();
    const err = await model.fit(x, y, { ...options, optimizer }).then(() => null, (e) => e);
    assert.ok(err instanceof sn.WasmMemoryError, String(err));
    assert.match(err.message, /^fit: epoch 1, batch 1: Sequential \(4 layers\): simdnet: wasm memory cannot grow to allocate .* dispose\(\) the ones no longer needed.*; training stopped and the weights are those from before this step$/);
    assert.is(refused, 2, 'one refusal, then one more on the retry');
    assert.equal(model.stateDict()['0.weight'].toArray(), before);
    assert.is(model.training, false, 'the mode is put back');
    // Dropped without dispose() and collected: its memory comes back through a finalizer, which
    // runs only between tasks; the refused first step yields, and the retry succeeds.
    restore();
    held = null;
    const fresh = make();
    const freshOptimizer = new sn.Adam(fresh.parameters());
    (() => { new sn.Linear(400, 200).forward(sn.tensor(new Float32Array(400), [1, 400])); })();
    restore = exhaustHeap(heap);
    refused = 0;
    gc();
    const history = await fresh.fit(x, y, { ...options, optimizer: freshOptimizer });
    assert.is(refused, 1, 'the first attempt was refused');
    assert.equal(history.loss, expected.loss, 'the retried step drew the same dropout masks');
    restore();
    model.dispose(); fresh.dispose();
  } finally {
    heap.alloc = alloc;
    heap.limitTo(Infinity);
  }
});

test.run();
