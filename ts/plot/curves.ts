// Loss and accuracy per epoch as an SVG picture: the first thing to look at after training.
// Train lines are solid blue, validation lines dashed orange, so the two stay apart in print
// and for readers who do not tell the colours apart.
import { el, estimateTextWidth, num, svgDocument, text } from './svg.js';
import { epochTicks, niceTicks } from './ticks.js';
import { checkOptions, describe, string } from '../options.js';

/** The per-epoch series lossCurvesSvg draws: fit()'s history has them all. */
export interface History {
  /** The training loss of each epoch (at least one). */
  loss: ArrayLike<number>;
  /** The training accuracy of each epoch, drawn in a second panel when present. */
  accuracy?: ArrayLike<number>;
  /** The validation loss of each epoch, drawn dashed beside the training loss. */
  valLoss?: ArrayLike<number>;
  /** The validation accuracy of each epoch. */
  valAccuracy?: ArrayLike<number>;
}

/** The options of lossCurvesSvg(). */
export interface CurvesOptions {
  /** A heading above the panels. */
  title?: string;
}

interface Series { name: 'train' | 'validation'; key: string; values: ArrayLike<number>; }

const STYLE = {
  train: { stroke: '#1f77b4', dash: undefined, label: 'train' },
  validation: { stroke: '#ff7f0e', dash: '7 4', label: 'validation' },
} as const;

const PANEL_W = 440, PANEL_H = 300;
const M = { left: 64, right: 20, top: 36, bottom: 48 };
/** Above this many epochs the per-epoch dots would merge into the line, so only the line is drawn. */
const MAX_MARKERS = 60;

/**
 * An SVG string with a loss panel and, when the history has accuracies, an accuracy panel.
 * Throws on an empty loss series or any non-finite value (a diverged run should be fixed, not
 * drawn with a hole).
 *
 * @example
 * ```js
 * const history = await model.fit(x, y, { epochs: 10, validationSplit: 0.1 });
 * writeFileSync('curves.svg', sn.plot.lossCurvesSvg(history, { title: 'LeNet-5 on MNIST' }));
 * ```
 */
export function lossCurvesSvg(history: History, options: CurvesOptions = {}): string {
  if (!history || typeof history !== 'object') throw new Error(`lossCurvesSvg: expected a history object { loss, accuracy?, valLoss?, valAccuracy? }, got ${describe(history)}`);
  checkOptions('lossCurvesSvg', options, { title: string });
  const series = (key: keyof History, name: Series['name']): Series[] => {
    const values = history[key];
    if (values === undefined || values === null) return [];
    if (typeof values !== 'object' || typeof values.length !== 'number') throw new Error(`lossCurvesSvg: history.${key} must be an array of numbers, got ${describe(values)}`);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new Error(`lossCurvesSvg: history.${key}[${i}] is ${describe(v)}; every value must be a finite number (did training diverge?)`);
      }
    }
    return values.length ? [{ name, key, values }] : [];
  };
  const loss = [...series('loss', 'train'), ...series('valLoss', 'validation')];
  const acc = [...series('accuracy', 'train'), ...series('valAccuracy', 'validation')];
  if (!loss.some((s) => s.key === 'loss')) throw new Error('lossCurvesSvg: history.loss is missing or empty');

  const titleH = options.title ? 32 : 0;
  const panels = [panel('Loss', 'loss', loss, false, 'top')];
  if (acc.length) panels.push(panel('Accuracy', 'accuracy', acc, acc.every((s) => maxOf(s.values) <= 1), 'bottom'));
  const width = Math.max(PANEL_W * panels.length, options.title ? estimateTextWidth(options.title, 17, true) + 24 : 0), height = PANEL_H + titleH;
  const children: string[] = [];
  if (options.title) children.push(text(width / 2, 22, options.title, { 'text-anchor': 'middle', 'font-size': 17, 'font-weight': 'bold' }));
  panels.forEach((p, i) => children.push(el('g', { transform: `translate(${i * PANEL_W},${titleH})` }, p)));
  return svgDocument(width, height, children);
}

/** One panel's markup, in panel coordinates. Fractions in [0, 1] are labelled as percentages. */
function panel(title: string, yLabel: string, series: Series[], percent: boolean, legendAt: 'top' | 'bottom'): string[] {
  const x0 = M.left, x1 = PANEL_W - M.right, y0 = PANEL_H - M.bottom, y1 = M.top;
  const epochs = Math.max(...series.map((s) => s.values.length));
  let lo = Infinity, hi = -Infinity;
  for (const s of series) { lo = Math.min(lo, minOf(s.values)); hi = Math.max(hi, maxOf(s.values)); }
  const ticks = niceTicks(lo, hi);
  if (percent) { ticks.lo = Math.max(ticks.lo, 0); ticks.hi = Math.min(ticks.hi, 1); ticks.values = ticks.values.filter((v) => v >= 0 && v <= 1); }
  // A single epoch sits in the middle of the x axis instead of on its left edge.
  const [e0, e1] = epochs > 1 ? [1, epochs] : [0, 2];
  const sx = (e: number) => x0 + ((e - e0) / (e1 - e0)) * (x1 - x0);
  const sy = (v: number) => y0 - ((v - ticks.lo) / (ticks.hi - ticks.lo)) * (y0 - y1);
  const label = (v: number) => percent ? `${(v * 100).toFixed(Math.max(0, ticks.decimals - 2))}%` : v.toFixed(ticks.decimals);

  const out: string[] = [];
  out.push(text((x0 + x1) / 2, 22, title, { 'text-anchor': 'middle', 'font-size': 15, 'font-weight': 'bold' }));
  for (const v of ticks.values) {
    const y = sy(v);
    out.push(el('line', { x1: x0, y1: y, x2: x1, y2: y, stroke: '#e6e6e6', 'stroke-width': 1 }));
    out.push(el('line', { x1: x0 - 5, y1: y, x2: x0, y2: y, stroke: '#333' }));
    out.push(text(x0 - 8, y + 4, label(v), { 'text-anchor': 'end', 'font-size': 11, fill: '#333' }));
  }
  for (const e of epochTicks(epochs)) {
    const x = sx(e);
    out.push(el('line', { x1: x, y1: y0, x2: x, y2: y0 + 5, stroke: '#333' }));
    out.push(text(x, y0 + 18, String(e), { 'text-anchor': 'middle', 'font-size': 11, fill: '#333' }));
  }
  out.push(el('line', { x1: x0, y1: y0, x2: x1, y2: y0, stroke: '#333', class: 'axis' }));
  out.push(el('line', { x1: x0, y1: y0, x2: x0, y2: y1, stroke: '#333', class: 'axis' }));
  out.push(text((x0 + x1) / 2, PANEL_H - 10, 'epoch', { 'text-anchor': 'middle', 'font-size': 12 }));
  out.push(text(16, (y0 + y1) / 2, yLabel, { 'text-anchor': 'middle', 'font-size': 12, transform: `rotate(-90 16 ${num((y0 + y1) / 2)})` }));

  for (const s of series) {
    const st = STYLE[s.name];
    const pts: string[] = [];
    for (let i = 0; i < s.values.length; i++) pts.push(`${num(sx(i + 1))},${num(sy(s.values[i]))}`);
    out.push(el('polyline', { 'data-series': s.key, points: pts.join(' '), fill: 'none', stroke: st.stroke, 'stroke-width': 2, 'stroke-dasharray': st.dash, 'stroke-linejoin': 'round' }));
    if (s.values.length <= MAX_MARKERS) {
      for (let i = 0; i < s.values.length; i++) {
        out.push(el('circle', { 'data-series': s.key, cx: sx(i + 1), cy: sy(s.values[i]), r: 3, fill: st.stroke }));
      }
    }
  }
  out.push(legend(series, x1, legendAt === 'top' ? y1 + 8 : y0 - 8 - series.length * 18 - 8));
  return out;
}

/** A boxed key, right-aligned at x, one row per series. */
function legend(series: Series[], right: number, top: number): string {
  const w = 112, h = series.length * 18 + 8, left = right - w - 8;
  const rows = series.map((s, i) => {
    const st = STYLE[s.name], y = top + 13 + i * 18;
    return el('line', { x1: left + 8, y1: y - 4, x2: left + 36, y2: y - 4, stroke: st.stroke, 'stroke-width': 2, 'stroke-dasharray': st.dash }) +
      text(left + 42, y, st.label, { 'font-size': 12 });
  });
  return el('g', { class: 'legend' }, [el('rect', { x: left, y: top, width: w, height: h, fill: 'white', 'fill-opacity': 0.85, stroke: '#bbb' }), ...rows]);
}

function minOf(a: ArrayLike<number>): number { let m = Infinity; for (let i = 0; i < a.length; i++) m = Math.min(m, a[i]); return m; }
function maxOf(a: ArrayLike<number>): number { let m = -Infinity; for (let i = 0; i < a.length; i++) m = Math.max(m, a[i]); return m; }
