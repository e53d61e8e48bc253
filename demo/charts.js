// The page's own small pictures, updated many times a second while training or drawing:
// a running per-batch loss line (sn.plot.lossCurvesSvg draws per epoch) and probability bars.

// As tall as sn.plot.lossCurvesSvg's panels, which it stands beside.
const W = 300, H = 300, M = { left: 44, right: 12, top: 36, bottom: 48 };
/** More points than pixels only costs time: longer runs are averaged down to this many. */
const MAX_POINTS = 400;

/** An SVG line of every batch's loss so far, with dotted lines where epochs begin. */
export function batchLossSvg(losses, batchesPerEpoch) {
  const n = losses.length;
  const points = downsample(losses, MAX_POINTS);
  const hi = Math.max(...points, 1e-6);
  const x0 = M.left, x1 = W - M.right, y0 = H - M.bottom, y1 = M.top;
  const sx = (i) => x0 + (points.length > 1 ? (i / (points.length - 1)) * (x1 - x0) : 0);
  const sy = (v) => y0 - (v / hi) * (y0 - y1);
  const line = points.map((v, i) => `${sx(i).toFixed(1)},${sy(v).toFixed(1)}`).join(' ');
  const epochLines = [];
  for (let b = batchesPerEpoch; b < n; b += batchesPerEpoch) {
    const x = x0 + (b / Math.max(1, n - 1)) * (x1 - x0);
    epochLines.push(`<line x1="${x.toFixed(1)}" y1="${y1}" x2="${x.toFixed(1)}" y2="${y0}" stroke="#aaa" stroke-dasharray="2 3"/>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">
  <rect width="${W}" height="${H}" fill="white"/>
  ${epochLines.join('')}
  <line x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}" stroke="#333"/><line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}" stroke="#333"/>
  <text x="${(x0 + x1) / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">Loss per batch</text>
  <text x="${x0 - 6}" y="${y1 + 4}" text-anchor="end">${hi.toFixed(2)}</text>
  <text x="${x0 - 6}" y="${y0 + 4}" text-anchor="end">0</text>
  <text x="${(x0 + x1) / 2}" y="${H - 10}" text-anchor="middle" font-size="12">batch (${n} so far)</text>
  <polyline points="${line}" fill="none" stroke="#1f77b4" stroke-width="1.5" stroke-linejoin="round"/>
</svg>`;
}

/** Averages consecutive values so at most `max` remain. */
function downsample(values, max) {
  if (values.length <= max) return Array.from(values);
  const out = [], step = values.length / max;
  for (let i = 0; i < max; i++) {
    const a = Math.floor(i * step), b = Math.floor((i + 1) * step);
    let s = 0;
    for (let k = a; k < b; k++) s += values[k];
    out.push(s / (b - a));
  }
  return out;
}

/** Ten labelled bars in `container`, made once; returns a function that shows probabilities. */
export function probabilityBars(container) {
  const rows = Array.from({ length: 10 }, (_, k) => {
    const row = document.createElement('div');
    row.className = 'bar';
    row.dataset.class = String(k);
    row.innerHTML = `<span class="digit">${k}</span><span class="track"><span class="fill"></span></span><span class="pct"></span>`;
    container.append(row);
    return row;
  });
  return (probs) => {
    let best = 0;
    for (let k = 1; k < 10; k++) if (probs && probs[k] > probs[best]) best = k;
    rows.forEach((row, k) => {
      const p = probs ? probs[k] : 0;
      row.dataset.p = String(p);
      row.classList.toggle('best', Boolean(probs) && k === best);
      row.querySelector('.fill').style.width = `${(p * 100).toFixed(1)}%`;
      row.querySelector('.pct').textContent = probs ? `${(p * 100).toFixed(1)}%` : '';
    });
  };
}
