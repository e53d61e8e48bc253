// Runs bench/pytorch.py with a Python that has torch, in the same harness run; a missing torch is
// a note, never an error.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = fileURLToPath(new URL('./pytorch.py', import.meta.url));

/**
 * The first of `python` (an explicit choice), `python3` on PATH and /usr/bin/python3 that can
 * import torch: a pyenv or venv python3 first on PATH often lacks it while the system one has it.
 */
export function findTorchPython(python) {
  const candidates = python ? [python] : ['python3', '/usr/bin/python3'];
  const tried = [];
  for (const exe of candidates) {
    const r = spawnSync(exe, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return { python: exe, torch: r.stdout.trim() };
    tried.push(`${exe}: ${r.error ? r.error.code : (r.stderr.trim().split('\n').at(-1) || `exit ${r.status}`)}`);
  }
  return { error: `PyTorch not found (${tried.join('; ')}); on Debian: apt-get install python3-torch` };
}

/** Runs the script; resolves to its JSON, or to { error } when it fails. */
export function runPytorch(python, { batches, profileBatches, quick, nets = [], netBatches = [], netBatchesFor = {}, manualBatches = [], zoo = null, threads = 1, netProfile = true }) {
  const args = [SCRIPT, '--batches', batches.join(','), '--profile-batches', profileBatches.join(',')];
  if (nets.length) args.push('--nets', nets.join(','), '--net-batches', netBatches.join(','));
  const overrides = Object.entries(netBatchesFor).filter(([k]) => nets.includes(k));
  if (overrides.length) args.push('--net-batches-for', overrides.map(([k, b]) => `${k}=${b.join(',')}`).join(';'));
  if (manualBatches.length) args.push('--manual-batches', manualBatches.join(','));
  if (zoo) args.push('--zoo', zoo);
  if (quick) args.push('--quick');
  if (threads !== 1) args.push('--threads', String(threads));
  if (!netProfile) args.push('--no-net-profile');
  return new Promise((resolve) => {
    // The BLAS and OpenMP pools get the same count, whatever torch.set_num_threads manages.
    const n = String(threads);
    const env = { ...process.env, OMP_NUM_THREADS: n, MKL_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n };
    const child = spawn(python, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill(), 15 * 60_000);
    child.on('error', (e) => { clearTimeout(timer); resolve({ error: `${python}: ${e.message}` }); });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) { resolve({ error: `bench/pytorch.py exited with ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}` }); return; }
      try { resolve(JSON.parse(out)); } catch { resolve({ error: `bench/pytorch.py printed no JSON: ${out.slice(0, 200)}` }); }
    });
  });
}

/**
 * The harness's entry for PyTorch: label, LeNet-5's per-layer summary at `profileBatch` and
 * throughput at `batches` (none when `batches` is empty), per network of `nets` its throughput
 * at `netBatches` (or `netBatchesFor[key]`) and per-module summary at the largest of them (or
 * { error }), and LeNet-5's hand-written SGD loop at `manualBatches` (`manual`).
 */
export async function runPytorchEntry({ python, batches, profileBatch, quick, summarizeProfile, nets = [], netBatches = [], netBatchesFor = {}, manualBatches = [] }) {
  const found = findTorchPython(python);
  if (found.error) return { label: 'PyTorch', short: 'pytorch', error: found.error };
  const d = await runPytorch(found.python, { batches, profileBatches: batches.length ? [profileBatch] : [], quick, nets, netBatches, netBatchesFor, manualBatches });
  if (d.error) return { label: `PyTorch ${found.torch}`, short: 'pytorch', error: d.error };
  const runs = d.profiles[String(profileBatch)];
  return {
    label: labelOf(d), short: 'pytorch',
    python: found.python, torch: d.torch, threads: d.threads, blas: d.blas, throughput: d.throughput,
    note: labelOf(d).includes('reference BLAS') ? 'PyTorch runs on the reference BLAS here, which makes its linear layers several times slower than usual; apt-get install libopenblas0-pthread gives the usual figures.' : null,
    profile: runs ? summarizeProfile(runs, profileBatch, `median of ${runs.length} steps timed module by module`) : null,
    nets: Object.fromEntries(Object.entries(d.nets ?? {}).map(([key, n]) => [key, pytorchNet(n, summarizeProfile)])),
    manual: d.manual ?? [],
  };
}

/** One network's figures from the script: throughput rows as they are, the profile runs summarised. */
function pytorchNet(n, summarizeProfile) {
  if (n.error) return { error: n.error };
  const { batch, runs } = n.profile;
  const profile = runs.error ? { batch, error: runs.error }
    : summarizeProfile(runs, batch, `median of ${runs.length} steps, each module timed by hooks`);
  return { throughput: n.throughput, profile };
}

/** The label the report gives PyTorch: version, threads, BLAS. */
function labelOf(d) {
  const blas = /openblas/i.test(d.blas) ? 'OpenBLAS' : /mkl/i.test(d.blas) ? 'MKL' : /\/blas\/libblas/.test(d.blas) ? 'reference BLAS' : d.blas;
  return `PyTorch ${d.torch} (${d.threads} thread${d.threads === 1 ? '' : 's'}, ${blas})`;
}

/**
 * PyTorch's times for the shape zoo's cases (bench/zoo.js): { label, torch, results: [{ shape,
 * batch, ms: { forward, inputGrad, weightGrad } } | { shape, batch, error }] }, or { label, error }.
 */
export async function runPytorchZoo({ python, shapes, cases, quick }) {
  const found = findTorchPython(python);
  if (found.error) return { label: 'PyTorch', error: found.error };
  const dir = mkdtempSync(join(tmpdir(), 'simdnet-zoo-'));
  try {
    const file = join(dir, 'cases.json');
    writeFileSync(file, JSON.stringify({ shapes, cases: cases.map(({ shape, batch }) => ({ shape, batch })) }));
    const d = await runPytorch(found.python, { batches: [], profileBatches: [], quick, zoo: file });
    if (d.error) return { label: `PyTorch ${found.torch}`, error: d.error };
    return { label: labelOf(d), python: found.python, torch: d.torch, threads: d.threads, blas: d.blas, results: d.zoo };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * PyTorch's training img/s (SGD with momentum, cross-entropy) of each network of `nets` at `batch`
 * on each thread count of `counts`, one script run per count: { label, python (the one with
 * torch), nets: { key: [{ threads, rate } | { threads, error }] } }, or { label, error }.
 */
export async function runPytorchThreads({ python, nets, batch, counts, quick }) {
  const found = findTorchPython(python);
  if (found.error) return { label: 'PyTorch', error: found.error };
  const out = Object.fromEntries(nets.map((key) => [key, []]));
  let label = `PyTorch ${found.torch}`;
  for (const threads of counts) {
    const d = await runPytorch(found.python, { batches: [], profileBatches: [], quick, nets, netBatches: [batch], threads, netProfile: false });
    if (d.error) return { label, error: d.error };
    label = labelOf(d).replace(/ \(\d+ threads?, /, ' (');
    for (const key of nets) {
      const row = d.nets[key]?.throughput?.[0];
      out[key].push(row?.train ? { threads, rate: row.train.imgPerSec.median } : { threads, error: row?.error ?? d.nets[key]?.error ?? 'no figures' });
    }
  }
  return { label, python: found.python, nets: out };
}
