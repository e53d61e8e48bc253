// sn.browser.fromPixels on the page's own image types (and a <video> playing a canvas), each holding
// the same 7×5 RGBA pixels; the results, the pixels and the errors go to window.pixelsResult for
// tests/from-pixels-chromium.test.js, which compares each result with fromPixels of the same bytes
// in Node.
import * as sn from '../../dist/simdnet.browser.js';

const W = 7, H = 5;
const OPTIONS = [{}, { channels: 1 }, { channels: 1, size: [3, 4] }, { size: 9 }];

/** Seeded opaque pixels (xorshift32): opaque, so that no canvas premultiplies them away. */
function pixels() {
  let s = 12345;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s & 255; };
  const data = new Uint8ClampedArray(W * H * 4);
  for (let i = 0; i < data.length; i++) data[i] = i % 4 === 3 ? 255 : next();
  return data;
}

function errorOf(call) {
  try { call(); return null; } catch (err) { return err.message; }
}

async function run() {
  const bytes = pixels();
  const imageData = new ImageData(bytes.slice(), W, H);
  const canvas = document.createElement('canvas');
  canvas.width = W;
  canvas.height = H;
  canvas.getContext('2d').putImageData(imageData, 0, 0);
  const offscreen = new OffscreenCanvas(W, H);
  offscreen.getContext('2d').putImageData(imageData, 0, 0);
  const bitmap = await createImageBitmap(imageData);
  const image = new Image();
  image.src = canvas.toDataURL('image/png');
  await image.decode();
  const frame = new VideoFrame(canvas, { timestamp: 0 });
  // A <video> playing the canvas: its frames are encoded as video is, so they are compared loosely.
  const video = document.createElement('video');
  video.muted = true;
  const stream = canvas.captureStream(0);
  video.srcObject = stream;
  const loaded = new Promise((ok) => video.addEventListener('loadeddata', ok, { once: true }));
  const playing = video.play();
  // A capture stream sends a frame when the canvas changes or one is asked for.
  canvas.getContext('2d').putImageData(imageData, 0, 0);
  stream.getVideoTracks()[0].requestFrame();
  await playing;
  await loaded;
  const fromVideo = sn.browser.fromPixels(video);

  const sources = { ImageData: imageData, HTMLCanvasElement: canvas, OffscreenCanvas: offscreen, ImageBitmap: bitmap, HTMLImageElement: image, VideoFrame: frame };
  const results = {};
  for (const [name, source] of Object.entries(sources)) {
    results[name] = OPTIONS.map((options) => {
      const t = sn.browser.fromPixels(source, options);
      return { shape: t.shape, values: Array.from(t.toArray()) };
    });
  }
  // The canvas a source draws on is its own: fromPixels gave the canvas no context of another kind.
  const untouched = document.createElement('canvas');
  untouched.width = 3;
  untouched.height = 2;
  sn.browser.fromPixels(untouched);
  // A canvas takes one kind of context: 'bitmaprenderer' is refused (null) once a '2d' one exists.
  const ownContextFree = untouched.getContext('bitmaprenderer') !== null;
  frame.close();

  const errors = {
    imageWithoutSource: errorOf(() => sn.browser.fromPixels(new Image())),
    videoWithoutFrame: errorOf(() => sn.browser.fromPixels(document.createElement('video'))),
    closedFrame: errorOf(() => sn.browser.fromPixels(frame)),
    element: errorOf(() => sn.browser.fromPixels(document.body)),
  };
  return { video: { shape: fromVideo.shape, values: Array.from(fromVideo.toArray()), size: [video.videoWidth, video.videoHeight] }, bytes: Array.from(bytes), width: W, height: H, options: OPTIONS, results, errors, ownContextFree };
}

run().then((r) => { window.pixelsResult = r; }, (err) => { window.pixelsResult = { error: err.stack ?? String(err) }; });
