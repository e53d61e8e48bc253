// A tiny SVG builder: elements are plain strings, so a picture is cheap to build in Node or the
// browser and needs no DOM. Every attribute value and text run goes through escapeXml, so a
// title such as "loss < 0.1 & falling" cannot break the document.

export type Attrs = Record<string, string | number | undefined>;

/** Escapes the five characters that are special in XML text and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A number short enough for coordinates: at most 2 decimals, no trailing zeros, never "-0". */
export function num(v: number): string {
  const r = Math.round(v * 100) / 100;
  return String(r === 0 ? 0 : r);
}

function attrString(attrs: Attrs): string {
  let s = '';
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    s += ` ${k}="${escapeXml(typeof v === 'number' ? num(v) : v)}"`;
  }
  return s;
}

/**
 * A rough width of `s` in a sans-serif font (about 0.6 em per character, bold a little wider),
 * so a picture can make room for a long title without a DOM to measure it.
 */
export function estimateTextWidth(s: string, fontSize: number, bold = false): number {
  return s.length * fontSize * (bold ? 0.64 : 0.58);
}

/** An element with children (already-built markup strings); self-closing when there are none. */
export function el(name: string, attrs: Attrs = {}, children: string[] = []): string {
  const open = `<${name}${attrString(attrs)}`;
  return children.length ? `${open}>${children.join('')}</${name}>` : `${open}/>`;
}

/** A <text> element: the content is escaped here, callers pass plain text. */
export function text(x: number, y: number, content: string, attrs: Attrs = {}): string {
  return `<text${attrString({ x, y, ...attrs })}>${escapeXml(content)}</text>`;
}

/** An <image> showing a data URL; pixelated so small images scale up as crisp squares. */
export function image(x: number, y: number, width: number, height: number, dataUrl: string, attrs: Attrs = {}): string {
  // Both href spellings: SVG 2 viewers read href, older ones (librsvg, Inkscape) xlink:href.
  return el('image', {
    x, y, width, height, href: dataUrl, 'xlink:href': dataUrl,
    'image-rendering': 'pixelated', style: 'image-rendering:pixelated', preserveAspectRatio: 'none', ...attrs,
  });
}

/** A complete standalone SVG document. */
export function svgDocument(width: number, height: number, children: string[], attrs: Attrs = {}): string {
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + el('svg', {
    xmlns: 'http://www.w3.org/2000/svg', 'xmlns:xlink': 'http://www.w3.org/1999/xlink',
    width, height, viewBox: `0 0 ${num(width)} ${num(height)}`, 'font-family': 'sans-serif', ...attrs,
  }, [el('rect', { x: 0, y: 0, width, height, fill: 'white' }), ...children]) + '\n';
}
