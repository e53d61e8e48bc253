// The model-zoo checks that need VGG-11, run in a process of their own by tests/zoo-vgg.test.js
// (through runChild in tests/zoo-helpers.js): VGG-11 holds 133 million parameters, and a wasm
// memory never shrinks, so in the test process its 1.1 GB would stay for every file after it.
//
//   node --expose-gc tests/zoo-child.js '<jobs as JSON>'
//
// Each job is one of
//   { kind: 'build', builder, options, seed }
//                                          sn.models[builder](options) after sn.manualSeed(seed):
//                                          its parameter and state-value counts, initReport's findings
//   { kind: 'parity', fixture, file?, tooSmall?, files? }
//                                          the fixture's model: PyTorch's state-dict names, shapes
//                                          and order, then runParity's comparisons in train and eval
//                                          mode; with tooSmall, the Error for a 16×16 input (and the
//                                          state unchanged by it); with files, one training step,
//                                          then saved and sn.load-ed back (the same class, options,
//                                          state bit for bit and eval logits bit for bit)
// A failed check throws: its message goes to stderr and the exit code is 1. On success the last
// line of stdout is { results: [one object per job] }.
//
// Between the steps the child collects garbage (--expose-gc): each mode's state dict from the
// formula and each copy of the gradients is half a gigabyte of JavaScript memory for VGG, and
// without a collection they pile up to over 3 GB.
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { readFixture, toSimdnet, findModule, runParity, digest } from './zoo-fixtures.js';
import { initReport, numParameters, stateValues, stateLayout } from './zoo-helpers.js';

await sn.ready();

const collect = () => globalThis.gc?.();

function build({ builder, options, seed }) {
  sn.manualSeed(seed);
  const model = sn.models[builder](options);
  try {
    const init = initReport(sn, builder, model);
    return { numParameters: numParameters(model), stateValues: stateValues(model), init };
  } finally {
    model.dispose();
  }
}

/**
 * runParity of tests/zoo-fixtures.js with a garbage collection after each step that leaves half a
 * gigabyte behind, and the gradients read in place (assertParity allocates no wasm memory);
 * returns per mode the comparisons made and the worst error as a fraction of its tolerance.
 */
function parityRun(model, fx) {
  const reports = runParity(sn, model, fx, { between: collect, gradients: 'view' });
  return Object.fromEntries(Object.entries(reports).map(([mode, rows]) =>
    [mode, { comparisons: rows.length, worstRatio: Math.max(...rows.map((r) => r.error / r.tolerance)) }]));
}

/**
 * A digest of every state-dict tensor (num_batches_tracked as its number): zoo-fixtures' digest,
 * the sum of mix32(bits(v_i) ^ mix32(i)) mod 2^32, which any one changed value changes (mix32 is a
 * bijection) and several changed values leave as it was with a chance of 2^-32.
 */
const digests = (model) => Object.entries(model.stateDict()).map(([k, t]) => [k, t.dtype === 'int64' ? String(t.toInt64Array()) : digest(t.view())]);

/** A 16×16 input: refused (five 2×2 poolings need 32×32), the message kept, the state unchanged. */
function tooSmall(model, name) {
  const before = digests(model);
  model.train();
  let message = null;
  try { model.forward(sn.tensor(new Float32Array(2 * 3 * 16 * 16).fill(0.5), [2, 3, 16, 16])); } catch (err) { message = err.message; }
  assert.ok(message !== null, `${name}: a 16×16 input was not refused`);
  assert.equal(digests(model), before, `${name}: the refused forward changed the state`);
  return message;
}

/** A safetensors file's __metadata__, read from its header alone (decoding would copy every tensor). */
function metadataOf(bytes) {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))).__metadata__;
}

/** The zoo record a model's file gets. */
const recordOf = (model) => JSON.parse(metadataOf(model.toSafetensors())['simdnet.zoo']);

/**
 * From runParity's state: a training step (the weights move off the formula, the running
 * statistics and num_batches_tracked too), the eval logits, the file; the model disposed before
 * sn.load rebuilds it from the file (VGG's memory reused); then the same class, layout, state,
 * eval logits bit for bit, and record. The state is compared by a digest per tensor (see digests)
 * rather than by holding a copy: for VGG each copy is half a gigabyte.
 */
async function files(model, fx) {
  const name = fx.model, Class = model.constructor;
  const { input, labels } = toSimdnet(sn, { ...fx, stateDict: [] });
  model.train();
  for (const path of fx.dropout) findModule(model, path).eval();
  const optimizer = new sn.SGD(model.parameters(), { lr: 0.01 });
  optimizer.zeroGrad();
  new sn.CrossEntropyLoss().forward(model.forward(input), labels).backward();
  optimizer.step();
  optimizer.dispose();
  model.eval();
  const logits = model.forward(input).toArray();
  const state = digests(model);
  assert.ok(state.some(([k, d]) => k.endsWith('num_batches_tracked') && d === '1'), `${name}: the training step counted its batch`);
  const bytes = model.toSafetensors();
  const record = JSON.parse(metadataOf(bytes)['simdnet.zoo']);
  model.dispose();
  collect();
  const loaded = await sn.load(bytes);
  try {
    assert.ok(loaded.constructor === Class, `${name}: loaded as ${loaded.constructor.name}, saved as ${Class.name}`);
    assert.equal(stateLayout(loaded), fx.stateDict.map((e) => [e.name, e.shape]), `${name}: the loaded state-dict layout`);
    assert.equal(digests(loaded), state, `${name}: the loaded state`);
    assert.is(loaded.training, true, 'a loaded model is in training mode, as a new one');
    loaded.eval();
    const again = loaded.forward(input).toArray();
    assert.equal(new Uint32Array(again.buffer), new Uint32Array(logits.buffer), `${name}: eval logits bit for bit`);
    assert.equal(recordOf(loaded), record, `${name}: the loaded model saves with the same record`);
    return { record, bytes: bytes.length, class: Class.name };
  } finally {
    loaded.dispose();
  }
}

async function parity(job) {
  const fx = job.file ? readFixture(job.fixture, job.file) : readFixture(job.fixture);
  const model = sn.models[fx.simdnet.builder](fx.simdnet.options);
  let disposed = false;
  try {
    assert.equal(stateLayout(model), fx.stateDict.map((e) => [e.name, e.shape]), `${fx.model}: state-dict names, shapes and order`);
    const result = { model: fx.model, modes: parityRun(model, fx) };
    if (job.tooSmall) result.tooSmall = tooSmall(model, fx.model);
    if (job.files) {
      disposed = true;   // files() disposes it before loading the copy
      result.files = await files(model, fx);
    }
    return result;
  } finally {
    if (!disposed) model.dispose();
  }
}

const KINDS = { build, parity };

try {
  const jobs = JSON.parse(process.argv[2] ?? '[]');
  const results = [];
  for (const job of jobs) {
    if (!Object.hasOwn(KINDS, job.kind)) throw new Error(`zoo-child: unknown job kind ${JSON.stringify(job.kind)}`);
    results.push(await KINDS[job.kind](job));
    collect();
  }
  console.log(JSON.stringify({ results }));
} catch (err) {
  console.error(err?.stack ?? String(err));
  process.exitCode = 1;
}
