// What the ONNX tests share: ONNX Runtime (onnxruntime-web, its wasm build, in Node) run on an
// exported file and compared with simdnet's eval-mode forward, and onnx.checker run on exported
// files through Debian's python3-onnx.
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import * as ort from 'onnxruntime-web';
import * as sn from 'simdnet';

ort.env.wasm.numThreads = 1;   // no worker threads: the machine's cores are shared
ort.env.logLevel = 'error';

/** onnxruntime-web, set up for the tests. */
export { ort };

/**
 * The agreement required between ONNX Runtime and simdnet: the largest absolute difference over
 * all outputs, divided by the largest absolute simdnet output, at most 1e-5 (a relative error
 * measured against the output's scale: one element near zero cannot make it meaningless).
 */
export const RELATIVE_ERROR = 1e-5;
/** The batch sizes each file runs at: the batch dimension is dynamic. */
export const BATCH_SIZES = [1, 3];

export function relativeError(actual, expected) {
  let diff = 0, scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

/**
 * Runs the ONNX file `bytes` in ONNX Runtime on inputs drawn from `rand` at each of BATCH_SIZES and
 * asserts it agrees with `model` in eval mode within RELATIVE_ERROR; `what` names the case. The
 * caller exports the model (in eval mode where its layers need it); the forward runs in eval mode.
 */
export async function assertRuntimeAgrees(bytes, model, inputShape, rand, what) {
  model.eval();
  const session = await ort.InferenceSession.create(bytes);
  assert.equal(session.inputNames, ['input']);
  assert.equal(session.outputNames, ['output']);
  for (const n of BATCH_SIZES) {
    const shape = [n, ...inputShape];
    const x = new Float32Array(shape.reduce((a, b) => a * b)).map(() => 2 * rand() - 1);
    const expected = model.forward(sn.tensor(x, shape));
    const { output } = await session.run({ input: new ort.Tensor('float32', x, shape) });
    assert.equal([...output.dims], [...expected.shape], `output shape at batch ${n}`);
    const err = relativeError(output.data, expected.toArray());
    assert.ok(err <= RELATIVE_ERROR, `${what} batch ${n}: relative error ${err} > ${RELATIVE_ERROR}`);
  }
  await session.release();
}

const CHECKER = [
  'import json, sys',
  'import onnx',
  'files = json.loads(sys.argv[1])',
  'newest = onnx.defs.onnx_opset_version()',
  'checked = skipped = 0',
  'for f in files:',
  '    if f["opset"] > newest:',
  '        skipped += 1',
  '        continue',
  '    m = onnx.load(f["path"])',
  '    onnx.checker.check_model(m, full_check=True)',
  '    checked += 1',
  'print(json.dumps({"checked": checked, "skipped": skipped, "newest": newest, "version": onnx.__version__}))',
].join('\n');

/**
 * onnx.checker.check_model(full_check=True) on every file ({ path, opset }) whose opset the
 * installed onnx knows; returns { checked, skipped, newest, version }, or null when /usr/bin/python3
 * cannot import onnx outside CI (in CI, where .ci/run installs python3-onnx and sets SIMDNET_CI,
 * that fails the test). `where` prefixes what is printed.
 */
export function onnxChecker(files, where) {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    if (process.env.SIMDNET_CI) assert.unreachable(`CI must have python3-onnx (.ci/run installs it): ${probe.stderr || probe.error}`);
    console.log(`${where}: onnx.checker skipped: /usr/bin/python3 cannot import onnx (apt-get install python3-onnx): ${(probe.stderr || String(probe.error)).trim().split('\n').at(-1)}`);
    return null;
  }
  const run = spawnSync('/usr/bin/python3', ['-c', CHECKER, JSON.stringify(files)], { encoding: 'utf8' });
  assert.is(run.status, 0, `onnx.checker failed:\n${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1));
}

/** Non-trivial running statistics and affine parameters for every BatchNorm of the model. */
export function randomizeBatchNorms(model, rand) {
  for (const m of model.modules()) {
    if (!(m instanceof sn.BatchNorm1d || m instanceof sn.BatchNorm2d)) continue;
    m.runningMean.view().forEach((_, i, a) => { a[i] = rand() - 0.5; });
    m.runningVar.view().forEach((_, i, a) => { a[i] = 0.3 + 2 * rand(); });
    if (m.weight) m.weight.data.view().forEach((_, i, a) => { a[i] = 0.5 + rand(); });
    if (m.bias) m.bias.data.view().forEach((_, i, a) => { a[i] = rand() - 0.5; });
  }
}
