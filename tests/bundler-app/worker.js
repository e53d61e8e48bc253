// The bundler test's app that trains in a Web Worker: sn.worker.fit, with nothing about workers in
// any configuration (the worker's script is inside the package's JavaScript). It trains the same
// small CNN as index.js in the worker and, for comparison, with fit on the page, and reports the
// worker's per-epoch losses and whether both gave the same weights, bit for bit.
import * as sn from 'simdnet';

/** A seeded generator (xorshift32): the same data on every run. */
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
}

const build = () => {
  sn.manualSeed(1);
  return new sn.Sequential(new sn.Conv2d(1, 4, 3, { padding: 1 }), new sn.ReLU(), new sn.MaxPool2d(2), new sn.Flatten(), new sn.Linear(4 * 4 * 4, 4));
};

async function run() {
  await sn.ready();
  const rand = rng(7), n = 256;
  const x = new Float32Array(n * 64), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = Math.floor(rand() * 4);
    for (let p = 0; p < 64; p++) x[i * 64 + p] = rand() + ((((p >> 5) << 1) | ((p & 7) >> 2)) === y[i] ? 0.5 : 0);
  }
  const xs = sn.tensor(x, [n, 1, 8, 8]);
  const inWorker = build(), onPage = build();
  const job = sn.worker.fit(inWorker, xs, y, { epochs: 4, batchSize: 32, seed: 1, optimizer: { type: 'Adam', lr: 1e-2 } });
  const losses = [];
  job.on('epoch', (logs) => { losses.push(logs.loss); });
  await job.done;
  await onPage.fit(xs, y, { epochs: 4, batchSize: 32, seed: 1, verbose: 0, optimizer: new sn.Adam(onPage.parameters(), { lr: 1e-2 }) });
  const bits = (m) => m.parameters().flatMap((p) => Array.from(new Uint32Array(p.data.toArray().buffer)));
  const a = bits(inWorker), b = bits(onPage);
  return { losses, sameWeights: a.length === b.length && a.every((v, i) => v === b[i]), workerInfo: job.workerInfo };
}

window.simdnetResult = run().catch((err) => ({ error: String(err?.stack ?? err) }));
