// Trains a small CNN with the browser bundle and leaves what happened in window.simdnetResult,
// which tests/browser.test.js reads back. Task: which quadrant of an 8×8 image is brightest.
// ?wasmPath=DIR loads the kernels from DIR rather than the builds embedded in the bundle. The
// model then goes through every way a page has to save and load one.
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

/** The Error message `fn` rejects or throws with, or 'no Error'. */
async function messageOf(fn) {
  try { await fn(); } catch (err) { return err.message; }
  return 'no Error';
}

/** The model loaded back from each kind of source a page has: its predictions' largest difference. */
async function loadEveryWay(model, bytes, x) {
  const before = model.predict(x).toArray();
  const blobUrl = URL.createObjectURL(new Blob([bytes]));
  const sources = {
    bytes,
    blob: new Blob([bytes]),
    file: new File([bytes], 'quadrants.safetensors'),
    response: new Response(bytes),
    blobUrl,
    blobUrlObject: new URL(blobUrl),
  };
  const maxDiffs = {};
  for (const [kind, src] of Object.entries(sources)) {
    const after = (await sn.load(src)).predict(x).toArray();
    maxDiffs[kind] = before.reduce((m, v, i) => Math.max(m, Math.abs(v - after[i])), 0);
  }
  URL.revokeObjectURL(blobUrl);
  return maxDiffs;
}

async function run() {
  const wasmPath = new URLSearchParams(location.search).get('wasmPath');
  await sn.ready(wasmPath ? { wasmPath } : {});
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

  const loads = await loadEveryWay(model, bytes, test.x);
  // What needs Node says what a page uses instead.
  const nodeOnly = {
    save: await messageOf(() => model.save('quadrants.safetensors')),
    checkpoint: await messageOf(() => model.fit(train.x, train.labels, { epochs: 1, verbose: 0, checkpoint: 'ckpt.safetensors' })),
    mnist: await messageOf(() => sn.data.mnist({ limit: 10 })),
    fileUrl: await messageOf(() => sn.load(new URL('file:///tmp/m.safetensors'))),
  };
  model.download('quadrants.safetensors');

  return {
    losses,
    accuracy: correct / predicted.length,
    backend: sn.backendInfo(),
    roundTrip: { bytes: bytes.length, outputs: before.length, maxDiff },
    loads,
    nodeOnly,
  };
}

window.simdnetResult = run().catch((err) => ({ error: String(err?.stack ?? err) }));
