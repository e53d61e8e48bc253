// model.summary(): a row per layer call of a shape-only dry run, named by module path.
import { Module, withDryRunHook } from '../module.js';
import { formatShape } from '../tensor.js';
import { pathOf } from '../autograd/state.js';
import { layerTypeOf } from '../io/architecture.js';
import { describe } from '../options.js';

/**
 * A table of the layers a forward of one sample of each `inputShape` (without the batch
 * dimension) runs, in the order they run, with their module paths, output shapes and parameter
 * counts, as torchsummary prints it, then the total parameter count and memory. Works for any
 * module: the forward runs as a shape-only dry run (nothing is computed or changed).
 */
export function summary(model: Module, inputShapes: readonly (readonly number[])[]): string {
  if (inputShapes.length === 0) throw new Error('summary: give the shape of one sample (without the batch dimension), such as [1, 28, 28]');
  for (const s of inputShapes) {
    if (!Array.isArray(s) || !s.every((d) => Number.isSafeInteger(d) && d > 0)) {
      throw new Error(`summary: inputShape must be one sample's shape without the batch dimension, an array of positive integers such as [1, 28, 28], got ${describe(s)}`);
    }
  }
  const rows: [string, string, string][] = [];
  // A batch of 2: training-mode BatchNorm refuses a single value per channel.
  withDryRunHook((frame, m, shape) => {
    if (m.forward !== Module.prototype.forward) return;   // a module with a forward of its own: its layers have rows
    const path = pathOf(frame);
    const type = layerTypeOf(m) ?? m.constructor.name;
    rows.push([path ? `${path} ${type}` : type, formatShape([-1, ...shape.slice(1)]), ownParameterCount(m).toLocaleString('en-US')]);
  }, () => model.outputShape(...inputShapes.map((s) => [2, ...s])));
  if (rows.length === 0) {
    // A layer as the model: its own row.
    const shape = model.outputShape(...inputShapes.map((s) => [2, ...s]));
    rows.push([layerTypeOf(model) ?? model.constructor.name, formatShape([-1, ...shape.slice(1)]), model.parameterCount().toLocaleString('en-US')]);
  }
  // Paths that are indexes (a Sequential's layers) right-aligned, so that the types line up past layer 9.
  if (rows.every((r) => /^\d+ /.test(r[0]))) {
    const width = Math.max(...rows.map((r) => r[0].indexOf(' ')));
    for (const r of rows) r[0] = r[0].padStart(r[0].length + width - r[0].indexOf(' '));
  }
  const head: [string, string, string] = ['Layer (type)', 'Output Shape', 'Param #'];
  const all = [head, ...rows];
  const widths = head.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  const line = (r: string[]) => `${r[0].padEnd(widths[0])}  ${r[1].padStart(widths[1])}  ${r[2].padStart(widths[2])}`;
  const rule = '-'.repeat(widths[0] + widths[1] + widths[2] + 4);
  const total = model.parameterCount();
  return [
    rule, line(head), rule.replace(/-/g, '='),
    ...rows.map(line),
    rule.replace(/-/g, '='),
    `Input shape: ${inputShapes.map((s) => formatShape([-1, ...s])).join(', ')}`,
    `Total params: ${total.toLocaleString('en-US')}`,
    `Trainable params: ${total.toLocaleString('en-US')}`,
    `Parameter memory: ${(total * 4 / 1048576).toFixed(2)} MiB`,
    rule,
  ].join('\n');
}

/** The parameters of m itself (not of modules inside it). */
function ownParameterCount(m: Module): number {
  const inner = new Set(m.children().flatMap(([, c]) => c.parameters()));
  return m.parameters().filter((p) => !inner.has(p)).reduce((n, p) => n + p.size, 0);
}
