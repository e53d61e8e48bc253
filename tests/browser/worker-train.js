// The training both sides of the worker test run (Node in tests/worker-chromium.test.js, the page
// in worker.js): a small CNN from seed 2 on 128 fixed 16×16 images, whose second convolution is
// large enough at batch 64 to be split over threads (38 MFLOP), two epochs of batches of 64, then
// an FNV-1a hash of the bits of its state.

/** The model (seed 2), its data and the fit options, built with the library `sn`. */
export function workerTraining(sn) {
  sn.manualSeed(2);
  const model = new sn.Sequential(new sn.Conv2d(1, 8, 3, { padding: 1 }), new sn.ReLU(), new sn.Conv2d(8, 16, 3, { padding: 1 }), new sn.ReLU(),
    new sn.MaxPool2d(4), new sn.Flatten(), new sn.Linear(256, 4));
  const x = sn.tensor(Float32Array.from({ length: 128 * 256 }, (_, i) => Math.fround(Math.sin(i * 0.731) * 0.9)), [128, 1, 16, 16]);
  const labels = Int32Array.from({ length: 128 }, (_, i) => (i * 7) % 4);
  return { model, x, labels, options: { epochs: 2, batchSize: 64, seed: 5 } };
}

/** An FNV-1a hash of the bits of every value in the model's state. */
export function stateHash(model) {
  let h = 0x811c9dc5;
  for (const t of Object.values(model.stateDict())) {
    const values = t.dtype === 'int64' ? new Uint32Array(t.toInt64Array().buffer) : new Uint32Array(t.toArray().buffer);
    for (const v of values) h = Math.imul(h ^ v, 0x01000193) >>> 0;
  }
  return h;
}
