// The demo's drawing-to-MNIST preprocessing (demo/mnistify.js): a drawing anywhere on the pad
// becomes a digit whose longer side is 20 pixels, centred by its centre of mass in 28×28.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mnistify, boundingBox, centreOfMass, resizeArea } from '../demo/mnistify.js';

const PAD = 280;

/** A pad with a filled rectangle of ink, like a thick stroke. */
function padWith(x, y, w, h) {
  const gray = new Uint8Array(PAD * PAD);
  for (let r = y; r < y + h; r++) gray.fill(255, r * PAD + x, r * PAD + x + w);
  return gray;
}

test('an empty pad gives no image', () => {
  assert.is(mnistify(new Uint8Array(PAD * PAD), PAD, PAD), null);
});

test('a tall stroke in a corner is scaled to 20 pixels high and centred by its mass', () => {
  const out = mnistify(padWith(10, 30, 20, 100), PAD, PAD);
  assert.is(out.length, 28 * 28);
  const box = boundingBox(out, 28, 28);
  assert.is(box.h, 20);
  assert.is(box.w, 4); // 20×100 keeps its 1:5 shape
  const { cx, cy } = centreOfMass(out, 28, 28);
  assert.ok(Math.abs(cx - 14) <= 0.5 && Math.abs(cy - 14) <= 0.5, `centre of mass at ${cx}, ${cy}`);
  assert.ok(Math.max(...out) <= 255 && Math.min(...out) >= 0);
});

test('a lopsided digit is shifted by its mass but never cut off', () => {
  // All the ink in the top row of a 200×200 box: the mass is far from the box's centre.
  const gray = padWith(40, 40, 200, 30);
  for (let r = 40; r < 240; r++) gray[r * PAD + 40] = 255;
  const out = mnistify(gray, PAD, PAD);
  const box = boundingBox(out, 28, 28);
  assert.is(box.w, 20);
  assert.is(box.h, 20);
  assert.ok(box.x >= 0 && box.y >= 0 && box.x + box.w <= 28 && box.y + box.h <= 28, JSON.stringify(box));
});

test('area resampling keeps the mean and thin lines', () => {
  const src = new Float32Array(10 * 10);
  for (let r = 0; r < 10; r++) src[r * 10 + 3] = 100; // a one-pixel vertical line
  const out = resizeArea(src, 10, 10, 4, 4);
  const mean = (a) => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(mean(out) - mean(src)) < 1e-4, `${mean(out)} vs ${mean(src)}`);
  assert.ok(out[1] > 0, 'the line survives the shrink');
});

test.run();
