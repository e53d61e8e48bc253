// A 3×5 bitmap font for captions in PNG pictures (an SVG picture uses real text instead). It
// covers digits, lower-case letters and a little punctuation: enough for "pred 7", "true 3",
// "ch 12", "input". Each glyph is five rows of three bits, most significant bit on the left.
export const GLYPH_WIDTH = 3;
export const GLYPH_HEIGHT = 5;

const GLYPHS: Record<string, readonly number[]> = {
  ' ': [0, 0, 0, 0, 0],
  '0': [7, 5, 5, 5, 7], '1': [2, 6, 2, 2, 7], '2': [7, 1, 7, 4, 7], '3': [7, 1, 3, 1, 7],
  '4': [5, 5, 7, 1, 1], '5': [7, 4, 7, 1, 7], '6': [7, 4, 7, 5, 7], '7': [7, 1, 2, 2, 2],
  '8': [7, 5, 7, 5, 7], '9': [7, 5, 7, 1, 7],
  a: [0, 6, 1, 7, 7], b: [4, 4, 7, 5, 7], c: [0, 7, 4, 4, 7], d: [1, 1, 7, 5, 7],
  e: [0, 7, 7, 4, 7], f: [3, 4, 6, 4, 4], g: [0, 7, 5, 3, 6], h: [4, 4, 7, 5, 5],
  i: [2, 0, 2, 2, 2], j: [1, 0, 1, 5, 7], k: [4, 5, 6, 6, 5], l: [6, 2, 2, 2, 7],
  m: [0, 7, 7, 5, 5], n: [0, 6, 5, 5, 5], o: [0, 7, 5, 5, 7], p: [0, 7, 5, 7, 4],
  q: [0, 7, 5, 7, 1], r: [0, 7, 4, 4, 4], s: [0, 3, 6, 1, 6], t: [2, 7, 2, 2, 3],
  u: [0, 5, 5, 5, 7], v: [0, 5, 5, 5, 2], w: [0, 5, 5, 7, 7], x: [0, 5, 2, 2, 5],
  y: [0, 5, 7, 1, 6], z: [0, 7, 1, 4, 7],
  '/': [1, 1, 2, 4, 4], '-': [0, 0, 7, 0, 0], '.': [0, 0, 0, 0, 2], ':': [0, 2, 0, 2, 0],
  '?': [7, 1, 3, 0, 2],
};

/** The rows of a character; upper case prints as lower case, anything unknown as '?'. */
export function glyph(ch: string): readonly number[] {
  return GLYPHS[ch] ?? GLYPHS[ch.toLowerCase()] ?? GLYPHS['?'];
}
