// Trains a small CNN with the browser bundle and leaves what happened in window.simdnetResult,
// which tests/browser.test.js reads back. Task: which quadrant of an 8×8 image is brightest.
import * as sn from '../../dist/simdnet.browser.js';

const SIZE = 8, HALF = SIZE / 2;

/** A small seeded generator (xorshift32), so the data is the same on every run. */
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
}

/** n noisy images with one quadrant brightened; the label is that quadrant (0..3). */
function quadrants(n, seed) {
  const rand = rng(seed);
  const pixels = new Float32Array(n * SIZE * SIZE);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const q = Math.floor(rand() * 4);
    labels[i] = q;
    const top = (q >> 1) * HALF, left = (q & 1) * HALF;
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const inside = y >= top && y < top + HALF && x >= left && x < left + HALF;
        pixels[i * SIZE * SIZE + y * SIZE + x] = rand() + (inside ? 0.3 : 0);
      }
    }
  }
  return { x: sn.tensor(pixels, [n, 1, SIZE, SIZE]), labels };
}

async function run() {
  await sn.ready();
  sn.manualSeed(1);
  const model = new sn.Sequential(
    new sn.Conv2d(1, 4, 3, { padding: 1 }), new sn.ReLU(), new sn.MaxPool2d(2),
    new sn.Flatten(), new sn.Linear(4 * HALF * HALF, 4));
  const train = quadrants(512, 7);
  const test = quadrants(256, 8);

  const losses = [];
  await model.fit(train.x, train.labels, {
    epochs: 8, batchSize: 32, seed: 1, verbose: 0,
    optimizer: new sn.Adam(model.parameters(), { lr: 3e-3 }),
    callbacks: { onEpochEnd: (logs) => { losses.push(logs.loss); } },
  });

  model.eval();
  const predicted = model.predictClasses(test.x);
  let correct = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === test.labels[i]) correct++;

  // Round trip through the file format, entirely in memory as a page would keep it.
  const bytes = model.toSafetensors();
  const copy = sn.Sequential.fromSafetensors(bytes, 'page');
  const before = model.predict(test.x).toArray();
  const after = copy.predict(test.x).toArray();
  let maxDiff = 0;
  for (let i = 0; i < before.length; i++) maxDiff = Math.max(maxDiff, Math.abs(before[i] - after[i]));

  return {
    losses,
    accuracy: correct / predicted.length,
    backend: sn.backendInfo(),
    roundTrip: { bytes: bytes.length, outputs: before.length, maxDiff },
  };
}

window.simdnetResult = run().catch((err) => ({ error: String(err?.stack ?? err) }));
