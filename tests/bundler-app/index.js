// The app the bundler test builds: `import * as sn from 'simdnet'` and nothing simdnet-specific in
// any configuration. It trains a small CNN a few steps on a toy task (which quadrant of an 8×8
// image is brightest) and leaves what happened in window.simdnetResult for the test to read.
import * as sn from 'simdnet';

/** A seeded generator (xorshift32): the same data on every run. */
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
}

async function run() {
  await sn.ready();
  sn.manualSeed(1);
  const rand = rng(7), n = 256;
  const x = new Float32Array(n * 64), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = Math.floor(rand() * 4);
    for (let p = 0; p < 64; p++) {
      const quadrant = ((p >> 5) << 1) | ((p & 7) >> 2);
      x[i * 64 + p] = rand() + (quadrant === y[i] ? 0.5 : 0);
    }
  }
  const model = new sn.Sequential(new sn.Conv2d(1, 4, 3, { padding: 1 }), new sn.ReLU(), new sn.MaxPool2d(2),
    new sn.Flatten(), new sn.Linear(4 * 4 * 4, 4));
  const losses = [];
  await model.fit(sn.tensor(x, [n, 1, 8, 8]), y, {
    epochs: 4, batchSize: 32, seed: 1, verbose: 0,
    optimizer: new sn.Adam(model.parameters(), { lr: 1e-2 }),
    callbacks: { onEpochEnd: (logs) => { losses.push(logs.loss); } },
  });
  return { losses, backend: sn.backendInfo() };
}

window.simdnetResult = run().catch((err) => ({ error: String(err?.stack ?? err) }));
