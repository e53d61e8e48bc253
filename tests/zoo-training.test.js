// Training zoo models as people do: fit with augmentation (random crops with padding, horizontal
// flips) on a small task they can learn, the loss finite and falling, and after the first step no
// training step takes wasm memory (the heap's bytes in use and reserved, and its live blocks,
// counted by wrapping the allocator as tests/memory.test.js does).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt } from 'simdnet/internal';

await sn.ready();

/**
 * n images 3×32×32 of 4 classes told apart by colour (class c < 3: channel c raised by 1; class 3:
 * every channel lowered by 1) under uniform noise of width 1: a cue random crops and flips keep.
 */
function colourTask(n, seed) {
  let s = seed >>> 0;
  const rand = () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
  const x = new Float32Array(n * 3 * 32 * 32), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 4;
    y[i] = c;
    for (let ch = 0; ch < 3; ch++) {
      const cue = c === 3 ? -1 : ch === c ? 1 : 0;
      for (let p = 0; p < 1024; p++) x[(i * 3 + ch) * 1024 + p] = cue + rand() - 0.5;
    }
  }
  return { x: sn.tensor(x, [n, 3, 32, 32]), y };
}

/** Counts the heap's allocations and releases while `f` runs. */
async function countingBlocks(f) {
  const heap = rt().heap, alloc = heap.alloc, release = heap.release;
  const counts = { allocs: 0, releases: 0 };
  heap.alloc = function (...args) { const p = alloc.apply(this, args); counts.allocs++; return p; };
  heap.release = function (...args) { release.apply(this, args); counts.releases++; };
  try {
    return await f(counts);
  } finally {
    heap.alloc = alloc;
    heap.release = release;
  }
}

for (const [builder, options, seed] of [['resnet20', {}, 2], ['mobilenetV2', { widthMult: 0.5, numClasses: 10 }, 3]]) {
  test(`${builder}(${JSON.stringify(options)}) fits with random crops and flips: the loss falls, and after the first step no step takes memory`, async () => {
    sn.manualSeed(seed);
    const model = sn.models[builder](options);
    const { x, y } = colourTask(64, 7 + seed);
    const heap = rt().heap;
    try {
      const { history, steps } = await countingBlocks(async (counts) => {
        let first = null;
        const steps = [];
        const probe = {
          onBatchEnd(logs) {
            const now = { inUse: heap.bytesInUse, reserved: heap.bytesReserved, live: counts.allocs - counts.releases, allocs: counts.allocs };
            first ??= now;
            steps.push({ ...logs, ...now, first });
          },
        };
        // 10 epochs: after 5, MobileNetV2's training accuracy still swings with the rounding of
        // the kernels (0.375 to 0.55 between the relaxed and plain SIMD builds, or between two
        // orders of summing a weight gradient); after 10 it is above 0.5 with each.
        const history = await model.fit(x, y, {
          epochs: 10, batchSize: 16, seed, verbose: 0, callbacks: probe,
          transforms: [sn.transforms.randomCrop(32, { padding: 4 }), sn.transforms.randomHorizontalFlip()],
        });
        return { history, steps };
      });
      assert.is(steps.length, 40);
      for (const s of steps.slice(1)) {
        const at = `epoch ${s.epoch}, batch ${s.batch}`;
        assert.is(s.allocs, s.first.allocs, `${at}: the heap allocated after the first step`);
        assert.ok(s.live <= s.first.live, `${at}: ${s.live - s.first.live} more live blocks than after the first step`);
        assert.ok(s.inUse <= s.first.inUse, `${at}: ${s.inUse - s.first.inUse} more bytes in use`);
        assert.is(s.reserved, s.first.reserved, `${at}: the wasm memory grew`);
      }
      assert.ok(history.batchLoss.every(Number.isFinite), history.batchLoss.join(' '));
      const [start, end] = [history.loss[0], history.loss.at(-1)];
      // Chance over 10 outputs is ln 10 ≈ 2.3; PyTorch's MobileNetV2 (width 0.5) goes from about 1.9 to 1.1 on this task.
      assert.ok(start < 3.5 && end < 0.8 * start, `epoch losses ${history.loss.map((l) => l.toFixed(3)).join(' ')}`);
      assert.ok(history.accuracy.at(-1) > 0.4, `training accuracy ${history.accuracy.join(' ')} (chance 0.25)`);
    } finally {
      model.dispose();
    }
  });
}

test.run();
