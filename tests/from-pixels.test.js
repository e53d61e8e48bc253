// sn.browser.fromPixels on RGBA bytes ({ data, width, height }), in Node: channel planes, luma,
// and bilinear resizing (align_corners=False) against a float64 reference written as matrices,
// and against PyTorch's documented values. The DOM sources are tested in Chromium
// (tests/from-pixels-chromium.test.js).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rng } from './helpers.js';

/** Random RGBA bytes of w×h (alpha random too: it must not matter). */
function randomRgba(w, h, seed) {
  const next = rng(seed);
  return { data: Uint8ClampedArray.from({ length: w * h * 4 }, () => Math.floor(next() * 256)), width: w, height: h };
}

/**
 * The interpolation matrix [out][in] of one axis, from PyTorch's definition of bilinear
 * interpolation with align_corners=False: output i samples the input at (i + 0.5)·in/out − 0.5,
 * clamped to [0, in − 1], linearly between the two nearest input indexes.
 */
function axisMatrix(inSize, outSize) {
  return Array.from({ length: outSize }, (_, i) => {
    const row = new Float64Array(inSize);
    const src = Math.min(Math.max((i + 0.5) * inSize / outSize - 0.5, 0), inSize - 1);
    const j = Math.floor(src), t = src - j;
    row[j] += 1 - t;
    row[Math.min(j + 1, inSize - 1)] += t;
    return row;
  });
}

/** Reference [C][oh][ow] in float64: planes (R, G, B or luma) then Wy · plane · Wxᵀ. */
function reference({ data, width, height }, channels, [oh, ow]) {
  const planes = Array.from({ length: channels }, (_, c) => Array.from({ length: height }, (_, y) => Array.from({ length: width }, (_, x) => {
    const p = 4 * (y * width + x);
    return channels === 1 ? 0.299 * data[p] / 255 + 0.587 * data[p + 1] / 255 + 0.114 * data[p + 2] / 255 : data[p + c] / 255;
  })));
  const wy = axisMatrix(height, oh), wx = axisMatrix(width, ow);
  return planes.map((plane) => wy.map((ry) => wx.map((rx) => {
    let s = 0;
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) s += ry[y] * plane[y][x] * rx[x];
    return s;
  })));
}

function assertMatches(t, ref, what) {
  const [C, H, W] = [ref.length, ref[0].length, ref[0][0].length];
  assert.equal(t.shape, [1, C, H, W], what);
  const got = t.toArray();
  let worst = 0;
  for (let c = 0; c < C; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    worst = Math.max(worst, Math.abs(got[(c * H + y) * W + x] - ref[c][y][x]));
  }
  // float32 rounding of values in [0, 1]: 2^-24 relative, so a few 1e-8 at most.
  assert.ok(worst <= 1e-7, `${what}: max |difference| ${worst}`);
}

test('channels 3 gives R, G, B planes of byte / 255; channels 1 gives luma; alpha is dropped', () => {
  // Two pixels: pure red (half transparent), and a grey of 51 (opaque).
  const data = new Uint8ClampedArray([255, 0, 0, 128, 51, 51, 51, 255]);
  const rgb = sn.browser.fromPixels({ data, width: 2, height: 1 });
  assert.equal(rgb.shape, [1, 3, 1, 2]);
  assert.equal([...rgb.toArray()], [1, 0.2, 0, 0.2, 0, 0.2].map(Math.fround));
  const luma = sn.browser.fromPixels({ data, width: 2, height: 1 }, { channels: 1 });
  assert.equal(luma.shape, [1, 1, 1, 2]);
  assert.equal([...luma.toArray()], [0.299, 0.2].map(Math.fround));
  const pure = (r, g, b) => sn.browser.fromPixels({ data: new Uint8Array([r, g, b, 0]), width: 1, height: 1 }, { channels: 1 }).toArray()[0];
  assert.equal([pure(0, 255, 0), pure(0, 0, 255), pure(255, 255, 255), pure(0, 0, 0)], [0.587, 0.114, 1, 0].map(Math.fround));
  // A Node Buffer is a Uint8Array: taken as it is.
  assert.equal([...sn.browser.fromPixels({ data: Buffer.from([10, 20, 30, 40]), width: 1, height: 1 }).toArray()], [10 / 255, 20 / 255, 30 / 255].map(Math.fround));
});

test('at its own size the result is the planes exactly, row by row from the top left', () => {
  const px = randomRgba(7, 5, 11);
  for (const channels of [1, 3]) {
    const t = sn.browser.fromPixels(px, { channels, size: [5, 7] });
    assertMatches(t, reference(px, channels, [5, 7]), `7×5, ${channels} channel(s)`);
    assert.equal(t.toArray(), sn.browser.fromPixels(px, { channels }).toArray(), 'size equal to the source is no resize');
  }
  const rgb = sn.browser.fromPixels(px).toArray();
  const [x, y] = [4, 3];
  for (let c = 0; c < 3; c++) assert.is(rgb[(c * 5 + y) * 7 + x], Math.fround(px.data[4 * (y * 7 + x) + c] / 255));
});

test('bilinear resizing matches the float64 reference: odd sizes, up and down, 1 and 3 channels', () => {
  const cases = [[7, 5, [3, 2]], [7, 5, [11, 13]], [5, 9, [4, 4]], [3, 3, [1, 1]], [1, 1, [3, 5]], [6, 4, [1, 9]], [13, 1, [2, 6]], [8, 6, 3]];
  for (const [w, h, size] of cases) {
    const px = randomRgba(w, h, w * 31 + h);
    const [oh, ow] = typeof size === 'number' ? [size, size] : size;
    for (const channels of [1, 3]) {
      assertMatches(sn.browser.fromPixels(px, { channels, size }), reference(px, channels, [oh, ow]), `${w}×${h} → ${ow}×${oh}, ${channels} channel(s)`);
    }
  }
});

test('resizing gives PyTorch\'s values for interpolate(mode=\'bilinear\', align_corners=False)', () => {
  /** A grey image whose luma is v / 255 for each of `values` (rows of bytes). */
  const grey = (rows) => ({ data: Uint8ClampedArray.from(rows.flat().flatMap((v) => [v, v, v, 255])), width: rows[0].length, height: rows.length });
  const times255 = (t) => Array.from(t.toArray(), (v) => Math.round(v * 255 * 1e4) / 1e4);
  // torch.nn.Upsample's documented example: [[1, 2], [3, 4]] doubled, mode='bilinear'.
  assert.equal(times255(sn.browser.fromPixels(grey([[1, 2], [3, 4]]), { channels: 1, size: 4 })),
    [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4]);
  // Halving samples between each 2×2 block's pixels: their mean.
  const block = [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]];
  assert.equal(times255(sn.browser.fromPixels(grey(block), { channels: 1, size: [2, 2] })), [2.5, 4.5, 10.5, 12.5]);
  // 3 → 2 along a row: sources at 0.25 and 1.75.
  assert.equal(times255(sn.browser.fromPixels(grey([[0, 40, 200]]), { channels: 1, size: [1, 2] })), [10, 160]);
});

test('bad sources and options are refused naming what was expected', () => {
  const px = randomRgba(3, 2, 1);
  const cases = [
    [() => sn.browser.fromPixels({ data: new Uint8ClampedArray(23), width: 3, height: 2 }), /^sn\.browser\.fromPixels: data must hold width × height × 4 = 3 × 2 × 4 = 24 RGBA bytes, got 23$/],
    [() => sn.browser.fromPixels({ data: new Float32Array(24), width: 3, height: 2 }), /^sn\.browser\.fromPixels: data must be a Uint8ClampedArray or Uint8Array of RGBA bytes, got a Float32Array of 24 values$/],
    [() => sn.browser.fromPixels({ data: [...px.data], width: 3, height: 2 }), /data must be a Uint8ClampedArray or Uint8Array of RGBA bytes, got an Array of 24 numbers$/],
    [() => sn.browser.fromPixels({ data: px.data, width: 3.5, height: 2 }), /^sn\.browser\.fromPixels: width must be a positive integer \(pixels per row\), got 3\.5$/],
    [() => sn.browser.fromPixels({ data: px.data, width: 3 }), /^sn\.browser\.fromPixels: height must be a positive integer \(rows\), got undefined$/],
    [() => sn.browser.fromPixels(px, { channels: 4 }), /^sn\.browser\.fromPixels: channels must be 1 or 3, got 4$/],
    [() => sn.browser.fromPixels(px, { size: [0, 3] }), /^sn\.browser\.fromPixels: size must be a positive integer or \[height, width\], two positive integers, got an Array of 2 numbers$/],
    [() => sn.browser.fromPixels(px, { size: 2.5 }), /size must be a positive integer or \[height, width\]/],
    [() => sn.browser.fromPixels(px, { size: [2, 3, 4] }), /size must be a positive integer or \[height, width\]/],
    [() => sn.browser.fromPixels(px, { channel: 1 }), /^sn\.browser\.fromPixels: unknown option 'channel'; did you mean 'channels'\?/],
    [() => sn.browser.fromPixels(px, { size: [40000, 40000] }), /an output of 3×40000×40000 values is more than 268435456/],
    [() => sn.browser.fromPixels('cat.png'), /^sn\.browser\.fromPixels: source must be RGBA bytes \(\{ data, width, height \} or an ImageData\) or an image a canvas can draw .* got the string 'cat\.png'; this environment has no canvas \(Node\), so only RGBA bytes can be read here$/],
    // An object shaped like an image element, in Node: there is no canvas to read it with.
    [() => sn.browser.fromPixels({ naturalWidth: 28, naturalHeight: 28, width: 28, height: 28 }), /got an object with keys naturalWidth, naturalHeight, width, height; this environment has no canvas/],
  ];
  for (const [call, message] of cases) assert.throws(call, message);
});

test('the tensor feeds a model as any input does', async () => {
  await sn.ready();
  sn.manualSeed(1);
  const model = new sn.Sequential(new sn.Conv2d(3, 2, 3), new sn.Flatten(), new sn.Linear(2 * 3 * 5, 4));
  const x = sn.browser.fromPixels(randomRgba(9, 7, 5), { size: [5, 7] });
  assert.equal(model.forward(x).shape, [1, 4]);
  model.dispose();
});

test.run();
