// Data that does not fit in memory: a 1 GiB IDX file generated with a fixed seed streams through
// an epoch of fit, and the JS heap plus wasm memory stay within 16 MB of where they started, at
// points during the epoch and after it. (About 4 s on 2 cores: 1.5 s to write the file, 2.5 s for
// the epoch.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import v8 from 'node:v8';
import vm from 'node:vm';
import { open, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sn from 'simdnet';
import { rt } from 'simdnet/internal';

await sn.ready();

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

const N = 87382, C = 3, SIDE = 32, VALUES = C * SIDE * SIDE;   // 87,382 images of 12 KiB: 1 GiB and a bit

/**
 * Writes images [N, 3, 32, 32] as big-endian float32 IDX, and N ubyte labels. The pixels are
 * k/255 for seeded bytes k: a 4 MiB block drawn once, written rotated by a seeded offset each
 * time, so the file costs little more than the disk's time.
 */
async function writeIdx(imagesPath, labelsPath, seed) {
  let s = seed >>> 0 || 1;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  // Big-endian float32 k/255, as the bytes of a Uint32Array element.
  const encoded = new Uint32Array(256);
  const view = new DataView(encoded.buffer);
  for (let k = 0; k < 256; k++) view.setFloat32(4 * k, k / 255, false);
  const block = new Uint32Array(1 << 20);
  for (let i = 0; i < block.length; i++) block[i] = encoded[next() & 255];
  const bytes = new Uint8Array(block.buffer);

  const images = await open(imagesPath, 'w');
  const header = Buffer.alloc(20);
  header[2] = 0x0d; header[3] = 4;
  [N, C, SIDE, SIDE].forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  await images.write(header);
  for (let left = N * VALUES * 4; left > 0;) {
    const offset = 4 * (next() % block.length);
    const first = bytes.subarray(offset, Math.min(bytes.length, offset + left));
    await images.write(first);
    left -= first.length;
    if (left > 0) { const rest = bytes.subarray(0, Math.min(offset, left)); await images.write(rest); left -= rest.length; }
  }
  await images.close();

  const labels = await open(labelsPath, 'w');
  const labelHeader = Buffer.alloc(8);
  labelHeader[2] = 0x08; labelHeader[3] = 1;
  labelHeader.writeUInt32BE(N, 4);
  await labels.write(labelHeader);
  await labels.write(Uint8Array.from({ length: N }, () => next() % 10));
  await labels.close();
}

/** Bytes of JS heap, of ArrayBuffers outside it, and of wasm memory, after a full collection. */
function memory() {
  gc(); gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers + rt().memory.buffer.byteLength;
}

test('an epoch over 1 GiB streamed from an IDX file keeps JS heap plus wasm memory within 16 MB', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'simdnet-stream-'));
  try {
    const imagesPath = join(dir, 'images-idx4-float'), labelsPath = join(dir, 'labels-idx1-ubyte');
    await writeIdx(imagesPath, labelsPath, 20240601);
    const bytes = (await stat(imagesPath)).size;
    assert.ok(bytes >= 2 ** 30, `the images file has ${bytes} bytes`);

    sn.manualSeed(0);
    const model = new sn.Sequential(new sn.AvgPool2d(8), new sn.Flatten(), new sn.Linear(48, 10));
    const optimizer = new sn.SGD(model.parameters(), { lr: 0.05 });
    const data = (await sn.data.idxDataset(imagesPath, labelsPath)).shuffle(256).batch(128);
    assert.is(data.size, Math.ceil(N / 128));
    // One step on an in-memory batch first: the layers' buffers for a batch of 128 are the model's,
    // whatever feeds it (and growing the wasm memory for them adds a quarter of its size at once).
    const warm = sn.tensor(new Float32Array(128 * VALUES), [128, C, SIDE, SIDE]);
    await sn.fit(model, sn.data.Dataset.fromTensors(warm, new Int32Array(128)).batch(128), { optimizer, verbose: 0 });
    const start = memory();
    const growth = [];
    // Measured during the epoch too: a reader that held the whole file would show there.
    const probe = { onBatchEnd(logs) { if (logs.batch % 150 === 149) growth.push(memory() - start); } };
    const history = await sn.fit(model, data, { epochs: 1, optimizer, seed: 1, callbacks: [probe], verbose: 0 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    growth.push(memory() - start);

    assert.is(history.batchLoss.length, Math.ceil(N / 128), 'every batch of the file was trained on');
    assert.ok(history.batchLoss.every(Number.isFinite));
    assert.is(growth.length, 5);
    for (const g of growth) assert.ok(g < 16e6, `memory grew by ${(g / 1e6).toFixed(1)} MB (growth at each probe: ${growth.map((b) => (b / 1e6).toFixed(2))} MB)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
