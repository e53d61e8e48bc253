// The public save/load methods: model.toSafetensors / loadSafetensors / save, Sequential.fromSafetensors,
// sn.load, and fit's per-epoch checkpoint.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sn from 'simdnet';

await sn.ready();
const dir = mkdtempSync(join(tmpdir(), 'simdnet-save-'));
const bits = (model) => Object.values(model.stateDict()).map((t) => (t.dtype === 'int64' ? [...t.toInt64Array()].map(String) : [...new Uint32Array(t.toArray().buffer)]));

const trainedModel = async () => {
  sn.manualSeed(11);
  const model = new sn.Sequential(new sn.Conv2d(1, 4, 3, { padding: 1 }), new sn.BatchNorm2d(4), new sn.ReLU(), new sn.MaxPool2d(2),
    new sn.Flatten(), new sn.Dropout(0.25), new sn.Linear(4 * 14 * 14, 10));
  const { images, labels } = await sn.data.mnist({ limit: 128 });
  await model.fit(images, labels, { epochs: 1, batchSize: 32, verbose: 0 });
  return { model, images };
};

test('toSafetensors → Sequential.fromSafetensors rebuilds the same model, bit for bit', async () => {
  const { model, images } = await trainedModel();
  const copy = sn.Sequential.fromSafetensors(model.toSafetensors());
  assert.is(String(copy), String(model));
  assert.equal(bits(copy), bits(model));
  copy.eval(); model.eval();
  assert.equal(copy.forward(images).toArray(), model.forward(images).toArray());
});

test('loadSafetensors into an existing model; a mismatched file leaves it unchanged', async () => {
  const { model } = await trainedModel();
  const other = sn.models.lenet5();
  const before = bits(other);
  assert.throws(() => other.loadSafetensors(model.toSafetensors(), 'model.safetensors'), /model\.safetensors/);
  assert.equal(bits(other), before);
  const twin = new sn.Sequential(new sn.Conv2d(1, 4, 3, { padding: 1 }), new sn.BatchNorm2d(4), new sn.ReLU(), new sn.MaxPool2d(2),
    new sn.Flatten(), new sn.Dropout(0.25), new sn.Linear(4 * 14 * 14, 10));
  twin.loadSafetensors(model.toSafetensors());
  assert.equal(bits(twin), bits(model));
});

test('model.save(path) and sn.load(path) round trip; fit writes a checkpoint every epoch', async () => {
  const { model } = await trainedModel();
  const path = join(dir, 'model.safetensors');
  await model.save(path);
  assert.equal(bits(await sn.load(path)), bits(model));
  const checkpoint = join(dir, 'ckpt.safetensors');
  const { images, labels } = await sn.data.mnist({ limit: 64 });
  const saved = [];
  await model.fit(images, labels, { epochs: 2, verbose: 0, checkpoint, callbacks: { onEpochEnd: () => saved.push(readdirSync(dir).includes('ckpt.safetensors')) } });
  assert.equal(bits(await sn.load(checkpoint)), bits(model));
  assert.equal(readdirSync(dir).sort(), ['ckpt.safetensors', 'model.safetensors'], 'no temporary files left');
  assert.ok(readFileSync(checkpoint).length > 0);
});

test('a Sequential cannot contain itself', () => {
  const a = new sn.Sequential(new sn.ReLU());
  const b = new sn.Sequential(a);
  assert.throws(() => a.add(a), /cannot contain itself/);
  assert.throws(() => a.add(b), /cannot contain itself/);
});

test('a layer cannot appear twice in one model: its saved activations would serve both places', () => {
  const relu = new sn.ReLU(), first = new sn.Linear(4, 4);
  const model = new sn.Sequential(first, relu, new sn.Linear(4, 4));
  assert.throws(() => model.add(relu), /Sequential\.add: ReLU\(\) is already in this model/);
  assert.throws(() => new sn.Sequential(first, new sn.Sequential(new sn.Tanh(), first)), /Linear\(in_features=4, out_features=4, bias=True\) is already in this model/);
  assert.throws(() => model.add(new sn.Sequential(new sn.Tanh(), relu)), /ReLU\(\) is already in this model/);
  assert.is(model.length, 3, 'a refused layer is not added');
  // Another model may hold the same layer (one forward and backward at a time).
  assert.not.throws(() => new sn.Sequential(first, new sn.ReLU()));
});

test.run();
