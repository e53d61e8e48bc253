// TensorFlow.js on one backend, as the harness reports it: out-of-the-box check, the composed
// gradient where wasm needs it, per-layer profile and throughput.
import { useBackend } from './tfjs-load.js';
import { tfjsProfile, tfjsThroughput, trainingFails } from './tfjs.js';
import { MISSING_KERNEL, lacksBackpropFilter, registerComposedBackpropFilter, checkBackpropFilter } from './tfjs-backprop-filter.js';

/**
 * Plan per backend: the cpu backend takes ~3 s for one training step at batch 64, so it gets few
 * samples, and in --quick only the largest batch is trained and no per-layer profile is taken.
 */
function plan(backend, quick, batch, profileBatch) {
  if (backend === 'wasm') {
    return { profile: quick ? { repeats: 3, warmup: 1 } : { repeats: 7, warmup: 2 },
      timing: quick ? { samples: 3, warmup: 1, minMs: 20 } : { samples: 7, warmup: 2, minMs: 60 } };
  }
  const trainSamples = quick ? (batch === profileBatch ? 1 : 0) : 3;
  return { profile: quick ? null : { repeats: 3, warmup: 1 },
    timing: { samples: quick ? 3 : 5, trainSamples, warmup: 1, minMs: quick ? 20 : 60 } };
}

export async function runTfjsBackend(loaded, backend, { batches, profileBatch, quick, progress, notes }) {
  const { tf, version } = loaded;
  const info = await useBackend(loaded, backend);
  const entry = { label: `TF.js ${version} ${backend}`, short: `tfjs-${backend}`, version, ...info, throughput: [] };
  if (backend === 'wasm') {
    entry.label += info.simd ? ' (SIMD, 1 thread)' : ' (no SIMD, 1 thread)';
    const failure = trainingFails(tf);
    if (failure) {
      entry.shipped = { label: `${entry.label}, as shipped`, error: failure };
      if (!lacksBackpropFilter(tf, backend)) throw new Error(`TF.js ${backend}: training fails: ${failure}`);
      registerComposedBackpropFilter(tf, backend);
      const err = checkBackpropFilter(tf);
      entry.composedKernel = { kernel: MISSING_KERNEL, maxAbsErrorVsFloat64: err };
      entry.label += '*';
      entry.short += '*';
      notes.push(`TF.js ${version} wasm cannot train LeNet-5 as shipped: "${failure}". ` +
        `Rows marked * register ${MISSING_KERNEL} for wasm as a composition of kernels it has ` +
        `(transposes and a conv2d with the batch as channels; max |error| vs a float64 loop ${err.toExponential(1)}).`);
      if (trainingFails(tf)) throw new Error('TF.js wasm still fails to train with the composed kernel');
    }
  } else {
    entry.label += ' (1 thread)';
  }
  const p = plan(backend, quick, profileBatch, profileBatch);
  if (p.profile) {
    progress(`${entry.short} per-layer, batch ${profileBatch}`);
    entry.profile = tfjsProfile(tf, profileBatch, p.profile);
  } else {
    notes.push(`TF.js ${backend}: per-layer profile skipped in --quick (one step takes seconds).`);
  }
  for (const batch of batches) {
    progress(`${entry.short} throughput, batch ${batch}`);
    const t = tfjsThroughput(tf, batch, plan(backend, quick, batch, profileBatch).timing);
    if (!t.train) t.trainNote = 'skipped in --quick';
    entry.throughput.push(t);
  }
  return entry;
}
