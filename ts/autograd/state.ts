// Who is running: the stack of module calls (it names module paths in errors and gives functional
// ops the module whose buffers they use), whether gradients are recorded (sn.noGrad), and the
// shape-only dry runs that check a forward before anything runs. Module-level state: kernels
// and forward passes run one at a time, as they do in a single JS thread.
import { WasmMemoryError } from '../runtime/heap.js';

/** What the call stack needs of a module (module.ts implements it; a type, so no import cycle). */
export interface FrameModule {
  label(): string;
  children(): [string, FrameModule][];
}

/** One module call in progress. */
export interface Frame {
  readonly module: FrameModule;
  readonly parent: Frame | null;
  /** The pass (outermost call, or dry run) this call belongs to. */
  readonly pass: number;
  /** Inside a layer's own forwardDevice: nothing records there (the layer back-propagates itself). */
  readonly quiet: boolean;
  /** Set while the module's forwardDevice runs (a layer's kernels). */
  leafRunning: boolean;
  /** Functional ops run so far in this call: their sequence numbers key their buffers. */
  ops: number;
}

let top: Frame | null = null;
let passes = 0;
let gradEnabled = true;
let dryRuns = 0;

/** The innermost module call in progress, or null outside any. */
export function currentFrame(): Frame | null { return top; }

/** Enters a module call: a new pass when no call is in progress. */
export function pushFrame(module: FrameModule): Frame {
  const parent = top;
  const frame: Frame = {
    module, parent, pass: parent ? parent.pass : ++passes,
    quiet: parent !== null && (parent.quiet || parent.leafRunning), leafRunning: false, ops: 0,
  };
  top = frame;
  return frame;
}

/** Leaves a module call (the innermost one). */
export function popFrame(frame: Frame): void { top = frame.parent; }

/** Whether gradients are enabled (false inside sn.noGrad). */
export function isGradEnabled(): boolean { return gradEnabled; }

/** Whether what runs now records itself for backward: grad enabled, a real run, not inside a layer's kernels. */
export function isRecording(): boolean {
  return gradEnabled && dryRuns === 0 && !(top !== null && (top.quiet || top.leafRunning));
}

/** Whether a shape-only dry run is in progress. */
export function isDryRun(): boolean { return dryRuns > 0; }

/**
 * Counts the moments after which results of ops outside modules may be overwritten: the end of a
 * backward through a whole graph, and the start of an sn.noGrad block outside any module.
 */
let releases = 0;
/** The count of those moments (functional/site.ts restarts its pool when it changes). */
export function releaseEpoch(): number { return releases; }

/**
 * Runs `fn` with gradient recording off, as PyTorch's `with torch.no_grad():`, and returns its
 * result: forward calls and functional ops record nothing for backward (faster, and a layer may
 * then run more than once in one forward). Layers still run in their own mode (train/eval): use
 * `model.eval()` as well for inference. Nests; only synchronous work inside `fn` is covered (the
 * part of an async function after its first await runs later, outside).
 *
 * @example
 * ```js
 * model.eval();
 * const probs = sn.noGrad(() => sn.softmax(model.forward(x), 1).toArray());
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new Error(`sn.noGrad: expected a function to run, got ${typeof fn}`);
  const was = gradEnabled;
  if (was && top === null) releases++;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = was;
  }
}

/**
 * Runs `fn` as a shape-only dry run: its own pass and call stack (errors name paths from the
 * module it starts with), restored afterwards.
 */
export function dryRun<T>(fn: () => T): T {
  const saved = top;
  top = null;
  dryRuns++;
  try {
    return fn();
  } finally {
    dryRuns--;
    top = saved;
  }
}

// ---- module paths ----

/**
 * The path of `child` inside `parent`: its name among parent's children ('conv1'), or deeper when
 * it sits in a container parent holds but does not run itself ('blocks.0' in a ModuleList); '?'
 * when it is not registered in parent at all.
 */
function nameIn(parent: FrameModule, child: FrameModule): string {
  const seen = new Set<FrameModule>([parent]);
  let level: [string, FrameModule][] = [['', parent]];
  try {
    // Breadth first, so the shortest path wins; bounded by the modules there are.
    while (level.length) {
      const next: [string, FrameModule][] = [];
      for (const [path, m] of level) {
        for (const [name, c] of m.children()) {
          const p = path ? `${path}.${name}` : name;
          if (c === child) return p;
          if (!seen.has(c)) { seen.add(c); next.push([p, c]); }
        }
      }
      level = next;
    }
  } catch {
    // A module whose children cannot be listed (an unregistered array): no name.
  }
  return '?';
}

/** The state_dict-style path of a call from the root call of its pass: 'layer2.1.conv1', '' for the root. */
export function pathOf(frame: Frame): string {
  const names: string[] = [];
  for (let f: Frame | null = frame; f?.parent; f = f.parent) names.push(nameIn(f.parent.module, f.module));
  return names.reverse().join('.');
}

/** How errors name a module call: `layer2.1.conv1 (Conv2d(…))`, `layer 0 (Linear(…))`, or the root's label. */
export function describeFrame(frame: Frame): string {
  const path = pathOf(frame);
  const label = frame.module.label();
  if (!path) return label;
  return `${/^\d/.test(path) ? 'layer ' : ''}${path} (${label})`;
}

/** Errors already given their module path (a WeakMap: the package's side-effect check counts it as pure). */
const annotated = new WeakMap<object, true>();

/**
 * The Error `err` with the module path of the call where it arose put in front (replacing the
 * module's own label when the message starts with it), once: outer calls pass it on unchanged.
 * At the root of a pass only a composite module's label is added (a layer's messages name it
 * already). Errors other than Error and WasmMemoryError (a TypeError in user code) are left as they are.
 */
export function annotateError(err: unknown, frame: Frame, leaf: boolean): unknown {
  if (!(err instanceof Error) || annotated.has(err)) return err;
  annotated.set(err, true);
  if (frame.parent === null && leaf) return err;
  if (err.constructor !== Error && !(err instanceof WasmMemoryError)) return err;
  const label = frame.module.label();
  const where = describeFrame(frame);
  const message = err.message.startsWith(label) ? where + err.message.slice(label.length)
    : `${where}: ${err.message}`;
  if (message === err.message) return err;
  const out = err instanceof WasmMemoryError ? new WasmMemoryError(message, err.bytesRequested, err.bytesInUse)
    : new Error(message, { cause: err });
  annotated.set(out, true);
  return out;
}

// ---- profiling ----

/** Receives the times of layer calls and functional ops while profile() runs. */
export interface Profiler {
  /**
   * The forward of row `row` (a layer call, or an op named `what`, at module path `path`) took `ms`;
   * `into` names the row of the call it was fused with (a BatchNorm before a ReLU), whose row then
   * names both and takes this one's forward and backward times.
   */
  forward(row: string, path: string, what: FrameModule | string, ms: number, into?: string | null): void;
  /** The backward of row `row` took `ms`. */
  backward(row: string, ms: number): void;
  /**
   * The forward time of put-off results written when something read them (Block.defer), so far:
   * each was added to its own layer's row, and profileClock() leaves it out of the reader's.
   */
  deferredMs: number;
}

/**
 * The clock layer and op times are read from while profiling: performance.now() without the time
 * spent writing put-off results (profiler.deferredMs), which belongs to the layer that put them off.
 */
export function profileClock(): number { return performance.now() - (profiler?.deferredMs ?? 0); }

/** The profiler listening now, or null (the common case: nothing is timed). */
export let profiler: Profiler | null = null;

/** Sets (or, with null, removes) the profiler. */
export function setProfiler(p: Profiler | null): void { profiler = p; }

// ---- the end of a graph ----

/** A backward through a whole graph is done (loss.backward()): results of ops outside modules may be overwritten now. */
export function endOfGraph(): void { releases++; }
