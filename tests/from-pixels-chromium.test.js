// sn.browser.fromPixels in headless Chromium on the page's image types — ImageData, a canvas, an
// OffscreenCanvas, an ImageBitmap, a decoded PNG <img> and a VideoFrame, all holding the same
// pixels — gives exactly what fromPixels gives in Node for those RGBA bytes; a <video> playing
// the canvas gives them within 4/255. Uses Debian's
// Chromium (apt-get install -y chromium), as tests/browser.test.js.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { inChromium } from './chromium.js';

// Guards against a hung browser or page, not speed checks: the page takes well under a second.
const STEP_TIMEOUT_MS = 15_000;
const TEST_TIMEOUT_MS = 40_000;

test('fromPixels reads canvases, ImageData, images, bitmaps and video frames in Chromium as their RGBA bytes in Node', async () => {
  const { out, problems } = await inChromium('the fromPixels browser test', { stepTimeoutMs: STEP_TIMEOUT_MS, testTimeoutMs: TEST_TIMEOUT_MS }, async (page, origin) => {
    await page.goto(`${origin}/tests/browser/pixels.html`);
    await page.waitForFunction(() => window.pixelsResult !== undefined);
    return page.evaluate(() => window.pixelsResult);
  });
  assert.is(out.error, undefined, out.error);
  assert.equal(problems, [], problems.join('\n'));

  const rgba = { data: Uint8ClampedArray.from(out.bytes), width: out.width, height: out.height };
  const expected = out.options.map((options) => sn.browser.fromPixels(rgba, options));
  assert.equal(Object.keys(out.results), ['ImageData', 'HTMLCanvasElement', 'OffscreenCanvas', 'ImageBitmap', 'HTMLImageElement', 'VideoFrame']);
  for (const [name, results] of Object.entries(out.results)) {
    results.forEach((r, i) => {
      const what = `${name}, ${JSON.stringify(out.options[i])}`;
      assert.equal(r.shape, expected[i].shape, what);
      assert.equal(r.values, Array.from(expected[i].toArray()), `${what}: the same values as the RGBA bytes give in Node`);
    });
  }
  // A <video> playing the canvas (captureStream): video frames may pass through a colour
  // conversion, so within 4/255; the pixels are random, so a wrong or blank frame is far off.
  assert.equal(out.video.size, [7, 5]);
  assert.equal(out.video.shape, [1, 3, 5, 7]);
  const direct = Array.from(expected[0].toArray());
  const off = Math.max(...out.video.values.map((v, i) => Math.abs(v - direct[i])));
  assert.ok(off <= 4 / 255, `the video's frame differs from its canvas by up to ${off * 255}/255`);
  assert.equal(out.results.ImageData[0].shape, [1, 3, 5, 7]);
  assert.equal(out.results.ImageData[3].shape, [1, 3, 9, 9]);
  assert.ok(out.ownContextFree, 'reading a canvas gave it no 2d context of its own');

  const { errors } = out;
  assert.match(errors.imageWithoutSource, /^sn\.browser\.fromPixels: the HTMLImageElement is 0×0 pixels: nothing to read$/);
  assert.match(errors.videoWithoutFrame, /^sn\.browser\.fromPixels: the HTMLVideoElement has no frame yet/);
  assert.match(errors.closedFrame, /^sn\.browser\.fromPixels: the VideoFrame is closed \(frame\.close\(\) was called\)$/);
  assert.match(errors.element, /^sn\.browser\.fromPixels: source must be RGBA bytes .* got an? HTMLBodyElement$/);
});

test.run();
