// The training worker's script (see worker/index.ts for the page's side): it loads the page's
// compiled kernels, rebuilds the model from its file, runs fit on the data it was sent, reports
// every batch and epoch, sends the weights as a file at the end of a batch when the page asks
// (job.sync()), and sends the trained model back as a file. Node runs it as
// dist/worker/entry.js in a worker thread; a page runs it from a string that the build bundles
// (scripts/embed-worker.js), so it holds the whole library but not the wasm builds.
import * as sn from '../index.js';
import { platform } from '#platform';
import type { Port } from '../platform/platform.js';
import { readyFromModule } from '../runtime/wasm.js';
import type { AbortMessage, DataMessage, StartMessage, SyncPoint, SyncRequest, WorkerMessage } from './protocol.js';
import { lossOf, optimizerOf } from './specs.js';

const port = platform.parentPort();
if (port) listen(port);

function listen(port: Port): void {
  const controller = new AbortController();
  const sync = { wanted: false };
  const send = (m: WorkerMessage, transfer: Transferable[] = []) => port.post(m, transfer);
  port.onMessage((m) => {
    const message = m as StartMessage | AbortMessage | SyncRequest;
    if (message.type === 'abort') controller.abort();
    else if (message.type === 'sync') sync.wanted = true;
    else if (message.type === 'start') {
      train(message, controller.signal, sync, send).catch((err: Error) => {
        send({ type: 'error', name: err?.name ?? 'Error', message: String(err?.message ?? err) });
      });
    }
  });
}

/**
 * Runs fit on the model and data of `m`. At the end of a batch with `sync.wanted` set, the model's
 * state goes to the page as a file (its buffer moved, not copied): serialising reads the weights
 * and writes none, so the training goes on to the weights it would reach unsynced.
 */
async function train(m: StartMessage, signal: AbortSignal, sync: { wanted: boolean }, send: (m: WorkerMessage, transfer?: Transferable[]) => void): Promise<void> {
  await readyFromModule(m.module, m.shared, m.threads);
  const model = sn.io.modelFromSafetensors(m.model, 'the model given to worker.fit');
  const [x, y] = dataOf(m.data);
  const optimizer = m.optimizer ? optimizerOf(m.optimizer, model) : undefined;
  const loss = m.loss ? lossOf(m.loss) : undefined;
  let epochStart = 0, seen = 0, steps = 0;
  const history = await sn.fit(model, x, y, {
    ...m.options, optimizer, loss, signal, verbose: 0,
    validationData: m.validationData ? dataOf(m.validationData) : undefined,
    callbacks: {
      onEpochBegin() { epochStart = performance.now(); seen = 0; },
      onBatchEnd(logs) {
        seen += logs.size;
        steps++;
        send({ type: 'batch', logs: { ...logs, imagesPerSecond: seen / ((performance.now() - epochStart) / 1000) } });
        if (sync.wanted) {
          sync.wanted = false;
          sendWeights(model, { steps, epoch: logs.epoch, batch: logs.batch }, send);
        }
      },
      onEpochEnd(logs) { send({ type: 'epoch', logs }); },
    },
  });
  const bytes = sn.io.modelToSafetensors(model);
  send({ type: 'done', history, model: bytes, info: sn.backendInfo() }, [bytes.buffer]);
}

/**
 * Answers a sync with the model as a file. fit's step guard stops training at the first non-finite
 * weight, so at a batch's end the file can always be written.
 */
function sendWeights(model: sn.Module, point: SyncPoint, send: (m: WorkerMessage, transfer?: Transferable[]) => void): void {
  const bytes = sn.io.modelToSafetensors(model);
  send({ type: 'sync', model: bytes, point }, [bytes.buffer]);
}

/** x as a Tensor and y as labels or a Tensor target. */
function dataOf(d: DataMessage): [sn.Tensor, sn.Target] {
  return [sn.tensor(d.x, d.xShape), d.labels ?? sn.tensor(d.targets!, d.targetShape)];
}
