// Pictures: SVG strings are well-formed with escaped text, curves have one polyline point per
// epoch, PNGs decode (with a parser written here, independent of the encoder) to the exact
// pixels, feature maps equal a hand-computed convolution, and the digit grid marks exactly the
// wrong predictions in red.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inflateSync } from 'node:zlib';
import * as sn from 'simdnet';
const { plot } = sn;
import { rng, freshSeed, randn } from './helpers.js';

await sn.ready();

// ---- an independent SVG checker ----

const ENTITY = /&(?:lt|gt|amp|quot|#\d+);/y;

/** Checks that every '&' in s starts an entity and that s has no raw '<'. */
function checkEscaped(s, where) {
  assert.not.ok(s.includes('<'), `raw '<' in ${where}: ${s}`);
  for (let i = s.indexOf('&'); i >= 0; i = s.indexOf('&', i + 1)) {
    ENTITY.lastIndex = i;
    assert.ok(ENTITY.test(s), `unescaped '&' in ${where}: ${s.slice(i, i + 12)}`);
  }
}

const unescape = (s) => s.replace(/&(lt|gt|amp|quot|#\d+);/g, (_, e) =>
  ({ lt: '<', gt: '>', amp: '&', quot: '"' })[e] ?? String.fromCharCode(Number(e.slice(1))));

/**
 * Parses the subset of XML the builder writes: balanced tags, quoted attributes, escaped text.
 * Returns a flat list of elements { name, attrs, text, parent } in document order.
 */
function parseSvg(doc) {
  const body = doc.replace(/^<\?xml[^?]*\?>\s*/, '');
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"]*")*)\s*(\/?)>/y;
  const elements = [], stack = [];
  let i = 0, roots = 0;
  while (i < body.length) {
    const lt = body.indexOf('<', i);
    const textRun = body.slice(i, lt < 0 ? body.length : lt);
    if (textRun.trim()) {
      assert.ok(stack.length, `text outside the root element: ${textRun}`);
      checkEscaped(textRun, 'text');
      stack.at(-1).text += unescape(textRun);
    }
    if (lt < 0) break;
    tag.lastIndex = lt;
    const m = tag.exec(body);
    assert.ok(m, `malformed tag at ${lt}: ${body.slice(lt, lt + 60)}`);
    const [, close, name, attrText, selfClose] = m;
    if (close) {
      assert.is(stack.pop()?.name, name, `</${name}> closes the wrong element`);
    } else {
      const attrs = {};
      for (const [, k, v] of attrText.matchAll(/([\w:.-]+)="([^"]*)"/g)) {
        checkEscaped(v, `attribute ${k} of <${name}>`);
        assert.not.ok(k in attrs, `duplicate attribute ${k} on <${name}>`);
        attrs[k] = unescape(v);
      }
      if (!stack.length) roots++;
      const e = { name, attrs, text: '', parent: stack.at(-1) ?? null };
      elements.push(e);
      if (!selfClose) stack.push(e);
    }
    i = tag.lastIndex;
  }
  assert.is(stack.length, 0, `unclosed elements: ${stack.map((e) => e.name)}`);
  assert.is(roots, 1, 'exactly one root element');
  assert.is(elements[0].name, 'svg');
  return elements;
}

const texts = (els) => els.filter((e) => e.name === 'text').map((e) => e.text);
const ancestor = (e, pred) => { for (let p = e.parent; p; p = p.parent) if (pred(p)) return p; return null; };

// ---- an independent PNG decoder (stored deflate blocks only) ----

function crcRef(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}

function adlerRef(bytes) {
  let a = 1, b = 0;
  for (const x of bytes) { a = (a + x) % 65521; b = (b + a) % 65521; }
  return (b * 65536 + a) >>> 0;
}

const u32 = (b, o) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

/** Splits a PNG into chunks (checking every CRC) and reads IHDR. */
function readChunks(png) {
  assert.equal([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
  const chunks = [];
  for (let o = 8; o < png.length;) {
    const len = u32(png, o), type = String.fromCharCode(...png.subarray(o + 4, o + 8));
    assert.ok(o + 12 + len <= png.length, `chunk ${type} runs past the end`);
    assert.is(u32(png, o + 8 + len), crcRef(png.subarray(o + 4, o + 8 + len)), `CRC of ${type}`);
    chunks.push({ type, data: png.subarray(o + 8, o + 8 + len) });
    o += 12 + len;
  }
  assert.is(chunks[0].type, 'IHDR');
  assert.is(chunks.at(-1).type, 'IEND');
  assert.is(chunks.at(-1).data.length, 0);
  const h = chunks[0].data;
  assert.is(h.length, 13);
  const ihdr = { width: u32(h, 0), height: u32(h, 4), bitDepth: h[8], colorType: h[9], compression: h[10], filter: h[11], interlace: h[12] };
  const idat = Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data));
  return { ihdr, idat, types: chunks.map((c) => c.type) };
}

/** Inflates a zlib stream made only of stored blocks; returns the data and the block count. */
function inflateStored(z) {
  const cmf = z[0], flg = z[1];
  assert.is(cmf & 0x0f, 8, 'zlib method deflate');
  assert.is((cmf * 256 + flg) % 31, 0, 'zlib header check bits');
  assert.is(flg & 0x20, 0, 'no preset dictionary');
  const parts = [];
  let o = 2, blocks = 0, final = 0;
  while (!final) {
    const hdr = z[o];
    final = hdr & 1;
    assert.is((hdr >> 1) & 3, 0, 'stored block (BTYPE 00)');
    o += 1; // the rest of the header byte is padding up to the byte boundary
    const len = z[o] | (z[o + 1] << 8), nlen = z[o + 2] | (z[o + 3] << 8);
    assert.is(len ^ 0xffff, nlen, 'NLEN is the complement of LEN');
    o += 4;
    parts.push(z.subarray(o, o + len));
    o += len;
    blocks++;
  }
  const data = Buffer.concat(parts);
  assert.is(u32(z, o), adlerRef(data), 'Adler-32');
  assert.is(o + 4, z.length, 'nothing after the checksum');
  return { data, blocks };
}

/** Decodes an 8-bit gray or RGB PNG with filter 0 rows; `inflate` picks the deflate decoder. */
function decodePng(png, inflate = (z) => inflateStored(z)) {
  const { ihdr, idat, types } = readChunks(png);
  assert.is(ihdr.bitDepth, 8);
  assert.ok(ihdr.colorType === 0 || ihdr.colorType === 2, `colour type ${ihdr.colorType}`);
  assert.equal([ihdr.compression, ihdr.filter, ihdr.interlace], [0, 0, 0]);
  const { data, blocks } = inflate(idat);
  const channels = ihdr.colorType === 0 ? 1 : 3, stride = ihdr.width * channels;
  assert.is(data.length, (stride + 1) * ihdr.height, 'scanline bytes');
  const pixels = new Uint8Array(stride * ihdr.height);
  for (let y = 0; y < ihdr.height; y++) {
    assert.is(data[y * (stride + 1)], 0, `row ${y} filter type`);
    pixels.set(data.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)), y * stride);
  }
  return { ...ihdr, channels, pixels, blocks, types };
}

const dataUrlPng = (url) => {
  assert.ok(url.startsWith('data:image/png;base64,'), url.slice(0, 40));
  return new Uint8Array(Buffer.from(url.slice(22), 'base64'));
};

/** The reference min–max normalisation to 8-bit gray. */
function grayRef(values) {
  const lo = Math.min(...values), hi = Math.max(...values);
  return Uint8Array.from(values, (v) => hi > lo ? Math.round(((v - lo) / (hi - lo)) * 255) : 0);
}

function randomBytes(n, rand) { return Uint8Array.from({ length: n }, () => Math.floor(rand() * 256)); }

// ---- SVG builder ----

test('escapeXml escapes the five XML specials and nothing else', () => {
  assert.is(plot.escapeXml(`a<b>&"c'd é`), 'a&lt;b&gt;&amp;&quot;c&#39;d é');
});

// ---- loss curves ----

const full = {
  loss: [2.3, 1.1, 0.6, 0.4, 0.33, 0.3], accuracy: [0.3, 0.7, 0.85, 0.9, 0.92, 0.93],
  valLoss: [1.5, 0.8, 0.5, 0.45, 0.43, 0.44], valAccuracy: [0.6, 0.8, 0.88, 0.9, 0.91, 0.91],
};

test('lossCurvesSvg: well-formed, title escaped, one polyline point per epoch for each series', () => {
  const svg = plot.lossCurvesSvg(full, { title: 'LeNet <&> "MNIST"' });
  assert.ok(svg.includes('LeNet &lt;&amp;&gt; &quot;MNIST&quot;'));
  const els = parseSvg(svg);
  assert.ok(texts(els).includes('LeNet <&> "MNIST"'));
  const lines = els.filter((e) => e.name === 'polyline');
  assert.equal(lines.map((l) => l.attrs['data-series']).sort(), ['accuracy', 'loss', 'valAccuracy', 'valLoss']);
  for (const l of lines) {
    const pts = l.attrs.points.trim().split(/\s+/);
    assert.is(pts.length, 6, l.attrs['data-series']);
    for (const p of pts) assert.ok(/^-?[\d.]+,-?[\d.]+$/.test(p), p);
    const xs = pts.map((p) => Number(p.split(',')[0]));
    assert.ok(xs.every((x, i) => i === 0 || x > xs[i - 1]), 'x increases with the epoch');
    assert.is(els.filter((e) => e.name === 'circle' && e.attrs['data-series'] === l.attrs['data-series']).length, 6);
  }
  const by = Object.fromEntries(lines.map((l) => [l.attrs['data-series'], l.attrs]));
  assert.is.not(by.loss.stroke, by.valLoss.stroke, 'train and validation colours differ');
  assert.is(by.loss['stroke-dasharray'], undefined, 'train is solid');
  assert.ok(by.valLoss['stroke-dasharray'], 'validation is dashed');
  // A falling loss draws downwards: larger y in SVG coordinates.
  const ys = by.loss.points.split(' ').map((p) => Number(p.split(',')[1]));
  assert.ok(ys[5] > ys[0]);
  const t = texts(els);
  for (const label of ['Loss', 'Accuracy', 'loss', 'accuracy', 'train', 'validation', '1', '6']) assert.ok(t.includes(label), `missing text ${label}`);
  assert.is(t.filter((s) => s === 'epoch').length, 2, 'an x-axis label per panel');
  assert.ok(t.some((s) => /^\d+%$/.test(s)), 'accuracy ticks as percentages');
  assert.is(els.filter((e) => e.attrs.class === 'legend').length, 2);
});

test('lossCurvesSvg copes with one epoch and no validation or accuracy', () => {
  const els = parseSvg(plot.lossCurvesSvg({ loss: [2.3] }));
  const lines = els.filter((e) => e.name === 'polyline');
  assert.is(lines.length, 1);
  assert.is(lines[0].attrs.points.split(' ').length, 1);
  assert.is(els.filter((e) => e.name === 'circle').length, 1, 'a lone epoch is still visible as a dot');
  const t = texts(els);
  assert.ok(t.includes('1'));
  assert.not.ok(t.includes('Accuracy'), 'no accuracy panel without accuracies');
  assert.not.ok(t.includes('validation'));
  for (const e of els) for (const v of Object.values(e.attrs)) assert.not.ok(/NaN|Infinity/.test(v), `${e.name}: ${v}`);
});

test('lossCurvesSvg with accuracy but no validation, and with empty validation arrays', () => {
  for (const h of [{ loss: [1, 0.5, 0.2], accuracy: [0.5, 0.8, 0.9] }, { loss: [1, 0.5, 0.2], accuracy: [0.5, 0.8, 0.9], valLoss: [], valAccuracy: [] }]) {
    const els = parseSvg(plot.lossCurvesSvg(h));
    assert.equal(els.filter((e) => e.name === 'polyline').map((l) => l.attrs['data-series']), ['loss', 'accuracy']);
    assert.not.ok(texts(els).includes('validation'));
  }
});

test('lossCurvesSvg draws many epochs without dots and with readable ticks', () => {
  const loss = Array.from({ length: 200 }, (_, i) => 2 / (1 + i / 10));
  const els = parseSvg(plot.lossCurvesSvg({ loss }));
  assert.is(els.find((e) => e.name === 'polyline').attrs.points.split(' ').length, 200);
  assert.is(els.filter((e) => e.name === 'circle').length, 0);
  const t = texts(els);
  assert.ok(t.includes('200'));
  for (const s of t) assert.ok(s.length < 12, `tick label too long: ${s}`);
});

test('lossCurvesSvg throws a clear Error on non-finite or missing values', () => {
  for (const [key, bad] of [['loss', NaN], ['accuracy', Infinity], ['valLoss', -Infinity], ['valAccuracy', NaN]]) {
    const h = structuredClone(full);
    h[key][2] = bad;
    assert.throws(() => plot.lossCurvesSvg(h), (e) => e instanceof Error && e.message.includes(`history.${key}[2]`) && e.message.includes(String(bad)));
  }
  assert.throws(() => plot.lossCurvesSvg({ loss: [] }), /history\.loss is missing or empty/);
  assert.throws(() => plot.lossCurvesSvg({ accuracy: [0.5] }), /history\.loss/);
  assert.throws(() => plot.lossCurvesSvg({ loss: [1, '2'] }), /history\.loss\[1\]/);
  assert.throws(() => plot.lossCurvesSvg(null), /history object/);
});

// ---- PNG ----

test('crc32, adler32 and base64 agree with known values', () => {
  assert.is(plot.crc32(new TextEncoder().encode('IEND')), 0xae426082);
  assert.is(plot.crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.is(plot.adler32(new TextEncoder().encode('Wikipedia')), 0x11e60398);
  const rand = rng(freshSeed());
  const big = randomBytes(20000, rand);
  assert.is(plot.adler32(big), adlerRef(big), 'long input (modulo taken in runs)');
  for (let n = 0; n < 8; n++) {
    const b = randomBytes(n, rand);
    assert.is(plot.base64(b), Buffer.from(b).toString('base64'), `base64 of ${n} bytes`);
  }
  assert.is(plot.base64(big), Buffer.from(big).toString('base64'));
});

for (const [w, h, ch] of [[1, 1, 1], [29, 7, 1], [29, 5, 3], [300, 300, 1], [200, 150, 3], [16, 4096, 1]]) {
  test(`encodePng ${w}×${h} ${ch === 1 ? 'gray' : 'RGB'} decodes to the exact pixels`, () => {
    const seed = freshSeed();
    const pixels = randomBytes(w * h * ch, rng(seed));
    const png = plot.encodePng(w, h, pixels, ch);
    const d = decodePng(png);
    assert.equal([d.width, d.height, d.channels, d.colorType], [w, h, ch, ch === 1 ? 0 : 2]);
    assert.equal(d.types, ['IHDR', 'IDAT', 'IEND']);
    assert.ok(Buffer.from(d.pixels).equals(Buffer.from(pixels)), `pixels differ, seed ${seed}`);
    const raw = (w * ch + 1) * h;
    assert.is(d.blocks, Math.max(1, Math.ceil(raw / 65535)), 'stored blocks of at most 65535 bytes');
    if (raw > 65535) assert.ok(d.blocks > 1);
    // node's zlib, a second independent reader, agrees.
    const viaZlib = decodePng(png, (z) => ({ data: inflateSync(z), blocks: 0 }));
    assert.ok(Buffer.from(viaZlib.pixels).equals(Buffer.from(pixels)));
  });
}

test('encodePngCompressed decodes to the same pixels and is smaller on smooth images', async () => {
  const w = 64, h = 48, pixels = new Uint8Array(w * h * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7) % 256;
  const png = await plot.encodePngCompressed(w, h, pixels, 3);
  const d = decodePng(png, (z) => ({ data: inflateSync(z), blocks: 0 }));
  assert.equal([d.width, d.height, d.channels], [w, h, 3]);
  assert.ok(Buffer.from(d.pixels).equals(Buffer.from(pixels)));
  assert.ok(png.length < plot.encodePng(w, h, pixels, 3).length / 2, `${png.length} bytes`);
});

test('encodePng refuses bad sizes, channel counts and pixel buffers', () => {
  assert.throws(() => plot.encodePng(0, 3, new Uint8Array(0), 1), /positive integers/);
  assert.throws(() => plot.encodePng(2.5, 3, new Uint8Array(9), 1), /positive integers/);
  assert.throws(() => plot.encodePng(2, 2, new Uint8Array(4), 2), /channels must be 1/);
  assert.throws(() => plot.encodePng(2, 2, new Uint8Array(5), 1), /needs 4 bytes, got 5/);
  assert.throws(() => plot.encodePng(2, 2, [1, 2, 3, 4], 1), /Uint8Array/);
});

// ---- feature maps ----

/** Sequential(Conv2d(1, 3, 3) with hand-set weights, ReLU, MaxPool2d(2)) and its weights. */
function smallModel(rand, extra = []) {
  const conv = new sn.Conv2d(1, 3, 3);
  const w = randn(27, rand), b = randn(3, rand, 0.5);
  conv.weight.data.view().set(w);
  conv.bias.data.view().set(b);
  return { model: new sn.Sequential(conv, ...extra, new sn.ReLU(), new sn.MaxPool2d(2)), w, b };
}

/** float64 valid cross-correlation of one H×W image with OIHW weights [O, 1, 3, 3]. */
function convRef(x, H, W, w, b, O) {
  const OH = H - 2, OW = W - 2, maps = [];
  for (let o = 0; o < O; o++) {
    const m = new Float64Array(OH * OW);
    for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
      let s = b[o];
      for (let ki = 0; ki < 3; ki++) for (let kj = 0; kj < 3; kj++) s += x[(i + ki) * W + j + kj] * w[o * 9 + ki * 3 + kj];
      m[i * OW + j] = s;
    }
    maps.push(m);
  }
  return maps;
}

function assertMapsClose(got, want, what) {
  assert.is(got.length, want.length);
  got.forEach((m, c) => {
    assert.is(m.length, want[c].length);
    for (let i = 0; i < m.length; i++) assert.ok(Math.abs(m[i] - want[c][i]) <= 1e-5 + 1e-5 * Math.abs(want[c][i]), `${what} channel ${c} [${i}]: ${m[i]} vs ${want[c][i]}`);
  });
}

test('featureMaps equals a hand-computed convolution, before and after the activation', () => {
  const seed = freshSeed(), rand = rng(seed);
  const { model, w, b } = smallModel(rand);
  const H = 6, W = 7, x = randn(H * W, rand);
  const image = sn.tensor(Float32Array.from(x), [1, 1, H, W]);
  const ref = convRef(Float32Array.from(x), H, W, Float32Array.from(w), Float32Array.from(b), 3);
  const fm = plot.featureMaps(model, image);
  assert.equal([fm.channels, fm.height, fm.width, fm.layer, fm.through], [3, 4, 5, 0, 0]);
  assert.ok(fm.maps.every((m) => m instanceof Float32Array));
  assertMapsClose(fm.maps, ref, `conv, seed ${seed}`);
  const act = plot.featureMaps(model, image, { after: 'activation' });
  assert.is(act.through, 1);
  assertMapsClose(act.maps, ref.map((m) => m.map((v) => Math.max(v, 0))), `relu, seed ${seed}`);
  assert.ok(model.training, 'the model keeps its training mode');
});

test('featureMaps runs in eval mode: BatchNorm statistics are used, not updated', () => {
  const rand = rng(freshSeed());
  const bn = new sn.BatchNorm2d(3);
  const { model } = smallModel(rand, [bn]);
  const before = bn.stateDict();
  const snapshot = Object.fromEntries(Object.entries(before).map(([k, t]) => [k, t.toArray()]));
  const image = sn.tensor(Float32Array.from(randn(36, rand)), [1, 1, 6, 6]);
  const fm = plot.featureMaps(model, image, { after: 'activation' });
  assert.is(fm.through, 2, 'looks past the BatchNorm to the ReLU');
  for (const [k, t] of Object.entries(bn.stateDict())) assert.equal(t.toArray(), snapshot[k], `${k} unchanged`);
  assert.ok(bn.training && model.training);
});

test('featureMaps picks a later Conv2d by index and refuses bad requests', () => {
  const rand = rng(freshSeed());
  const model = new sn.Sequential(new sn.Conv2d(1, 2, 3, { padding: 1 }), new sn.ReLU(), new sn.Conv2d(2, 4, 3), new sn.Flatten());
  const image = sn.tensor(Float32Array.from(randn(64, rand)), [1, 1, 8, 8]);
  const fm = plot.featureMaps(model, image, { layer: 2 });
  assert.equal([fm.channels, fm.height, fm.width], [4, 6, 6]);
  assert.throws(() => plot.featureMaps(model, image, { layer: 1 }), /layer 1 is ReLU\(\).*not a Conv2d/);
  assert.throws(() => plot.featureMaps(model, image, { layer: 9 }), /layer 9 is not in the model/);
  assert.throws(() => plot.featureMaps(model, image, { layer: 2, after: 'activation' }), /not followed by an activation/);
  assert.throws(() => plot.featureMaps(model, image, { after: 'pool' }), /after must be/);
  assert.throws(() => plot.featureMaps(model, sn.tensor(new Float32Array(128), [2, 1, 8, 8])), /\[1, C, H, W\]/);
  assert.throws(() => plot.featureMaps(model, sn.tensor(new Float32Array(128), [1, 2, 8, 8])), /featureMaps: layer 0 Conv2d/);
  assert.throws(() => plot.featureMaps(new sn.Sequential(new sn.ReLU()), image), /no Conv2d/);
});

test('featureMapsSvg: input then one labelled tile per channel, each map min–max normalised', () => {
  const rand = rng(freshSeed());
  const { model, w, b } = smallModel(rand);
  const x = Float32Array.from(randn(49, rand));
  const image = sn.tensor(x, [1, 1, 7, 7]);
  const svg = plot.featureMapsSvg(model, image, { title: 'maps <&>' });
  const els = parseSvg(svg);
  const tiles = els.filter((e) => e.attrs.class === 'tile');
  assert.equal(tiles.map((t) => t.attrs['data-label']), ['input', 'ch 0', 'ch 1', 'ch 2']);
  for (const label of ['maps <&>', 'input', 'ch 0', 'ch 1', 'ch 2']) assert.ok(texts(els).includes(label), label);
  const pngs = els.filter((e) => e.name === 'image').map((e) => decodePng(dataUrlPng(e.attrs.href)));
  assert.is(pngs.length, 4);
  assert.equal(pngs[0].pixels, grayRef(x), 'the input, normalised');
  const ref = convRef(x, 7, 7, Float32Array.from(w), Float32Array.from(b), 3);
  for (let c = 0; c < 3; c++) {
    assert.equal([pngs[c + 1].width, pngs[c + 1].height], [5, 5]);
    // float32 against float64 may round a value to the neighbouring gray level.
    const want = grayRef(ref[c]);
    pngs[c + 1].pixels.forEach((p, i) => assert.ok(Math.abs(p - want[i]) <= 1, `ch ${c} pixel ${i}: ${p} vs ${want[i]}`));
  }
  assert.ok(pngs.every((p) => p.pixels.includes(0) && p.pixels.includes(255)), 'each tile spans black to white');
});

test('featureMapsPng decodes; a 3-channel input is drawn in colour, once', () => {
  const rand = rng(freshSeed());
  const model = new sn.Sequential(new sn.Conv2d(3, 2, 3), new sn.ReLU());
  const image = sn.tensor(Float32Array.from(randn(3 * 10 * 10, rand)), [1, 3, 10, 10]);
  const d = decodePng(plot.featureMapsPng(model, image, { cell: 40 }));
  assert.is(d.channels, 3);
  let coloured = 0;
  for (let i = 0; i < d.pixels.length; i += 3) if (d.pixels[i] !== d.pixels[i + 1] || d.pixels[i + 1] !== d.pixels[i + 2]) coloured++;
  assert.ok(coloured > 10 * 10, 'the input tile is in colour');
  const els = parseSvg(plot.featureMapsSvg(model, image));
  assert.equal(els.filter((e) => e.attrs.class === 'tile').map((t) => t.attrs['data-label']), ['input', 'ch 0', 'ch 1']);
});

// ---- digit grid ----

function digits(n, h, w, rand) {
  // Different scales per image: the picture must normalise each on its own.
  const images = new Float32Array(n * h * w);
  for (let i = 0; i < n; i++) for (let k = 0; k < h * w; k++) images[i * h * w + k] = (rand() * 2 - 1) * 10 ** (i % 4) + i;
  return images;
}

test('digitGridSvg captions every image and marks exactly the wrong predictions in red', () => {
  const rand = rng(freshSeed());
  const n = 7, images = digits(n, 28, 28, rand);
  const labels = Int32Array.from([7, 2, 1, 0, 4, 1, 4]);
  const predicted = Int32Array.from([7, 3, 1, 0, 9, 8, 4]);
  const wrong = [1, 4, 5];
  const els = parseSvg(plot.digitGridSvg(images, labels, predicted, { columns: 3, title: 'test <&> digits' }));
  const cells = els.filter((e) => e.name === 'g' && e.attrs['data-index'] !== undefined);
  assert.equal(cells.map((c) => Number(c.attrs['data-index'])), [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(cells.filter((c) => c.attrs.class === 'wrong').map((c) => Number(c.attrs['data-index'])), wrong);
  const red = (e) => [e.attrs.fill, e.attrs.stroke].some((v) => v?.toLowerCase() === '#d62728');
  const redCells = [...new Set(els.filter(red).map((e) => Number(ancestor(e, (p) => p.attrs['data-index'] !== undefined)?.attrs['data-index'])))];
  assert.equal(redCells.sort(), wrong, 'red appears in the wrong cells and nowhere else');
  cells.forEach((c, i) => {
    const caption = els.find((e) => e.name === 'text' && e.parent === c).text;
    assert.is(caption, `pred ${predicted[i]} / true ${labels[i]}`);
    const png = decodePng(dataUrlPng(els.find((e) => e.name === 'image' && e.parent === c).attrs.href));
    assert.equal([png.width, png.height, png.channels], [28, 28, 1]);
    assert.equal(png.pixels, grayRef(images.subarray(i * 784, (i + 1) * 784)), `image ${i} normalised on its own`);
  });
  assert.ok(texts(els).includes('test <&> digits'));
  assert.ok(texts(els).includes('4 of 7 right'));
});

test('digitGridPng draws red only around and under the wrong predictions', () => {
  const rand = rng(freshSeed());
  const n = 6, columns = 4, images = digits(n, 12, 10, rand);
  const labels = Int32Array.from([0, 1, 2, 3, 4, 5]);
  const predicted = Int32Array.from([0, 7, 2, 3, 3, 5]);
  const d = decodePng(plot.digitGridPng(images, labels, predicted, { columns, height: 12, width: 10, scale: 4 }));
  assert.is(d.channels, 3);
  const rows = Math.ceil(n / columns), cellW = d.width / columns, cellH = d.height / rows;
  assert.ok(Number.isInteger(cellW) && Number.isInteger(cellH));
  const redIn = new Array(n).fill(0);
  for (let y = 0; y < d.height; y++) for (let x = 0; x < d.width; x++) {
    const p = (y * d.width + x) * 3, [r, g, b] = d.pixels.subarray(p, p + 3);
    if (r > 180 && g < 90 && b < 90) redIn[Math.floor(y / cellH) * columns + Math.floor(x / cellW)]++;
  }
  assert.equal(redIn.map((c) => c > 0), [false, true, false, false, true, false], `red pixels per cell: ${redIn}`);
  assert.ok(redIn[1] > 4 * 10 * 4, 'a frame, not a speck');
});

test('digit grid takes sizes from a Tensor and refuses mismatched inputs', () => {
  const rand = rng(freshSeed());
  const t = sn.tensor(digits(2, 5, 6, rand), [2, 1, 5, 6]);
  const els = parseSvg(plot.digitGridSvg(t, Int32Array.from([1, 2]), Int32Array.from([1, 2])));
  const png = decodePng(dataUrlPng(els.find((e) => e.name === 'image').attrs.href));
  assert.equal([png.width, png.height], [6, 5]);
  const imgs = new Float32Array(2 * 784);
  assert.throws(() => plot.digitGridSvg(imgs, Int32Array.from([1, 2]), Int32Array.from([1])), /2 labels but 1 predictions/);
  assert.throws(() => plot.digitGridSvg(imgs, Int32Array.from([1, 2, 3]), Int32Array.from([1, 2, 3])), /need 2352 image values, got 1568/);
  assert.throws(() => plot.digitGridSvg(imgs, Int32Array.from([1, 2]), Int32Array.from([1, 2]), { columns: 0 }), /columns must be a positive integer/);
  const bad = imgs.slice(); bad[5] = NaN;
  assert.throws(() => plot.digitGridPng(bad, Int32Array.from([1, 2]), Int32Array.from([1, 2])), /image 0: value 5 is NaN/);
});

test.run();
