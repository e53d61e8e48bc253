// The training both sides of the threads test run (Node in tests/threads-chromium.test.js, the
// page in threads.js): ResNet-20 from seed 3, two SGD steps on a fixed batch, then an FNV-1a hash
// of every weight's bits.

/** Trains ResNet-20 two steps with the library `sn` on a fixed batch of 6 and returns its weights' hash. */
export function trainedWeightsHash(sn) {
  sn.manualSeed(3);
  const model = sn.models.resnet20();
  const opt = new sn.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const lossFn = new sn.CrossEntropyLoss();
  const n = 6 * 3 * 32 * 32;
  const x = sn.tensor(Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * 0.731) * 0.9)), [6, 3, 32, 32]);
  const labels = [0, 1, 2, 3, 4, 5];
  try {
    for (let s = 0; s < 2; s++) {
      lossFn.forward(model.forward(x), labels).backward();
      opt.step();
      opt.zeroGrad();
    }
    let h = 0x811c9dc5;
    for (const p of model.parameters()) {
      for (const v of new Uint32Array(p.data.toArray().buffer)) h = Math.imul(h ^ v, 0x01000193) >>> 0;
    }
    return h;
  } finally {
    opt.dispose();
    model.dispose();
  }
}
