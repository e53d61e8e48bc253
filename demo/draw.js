// The drawing pad: white ink on black like MNIST, drawn with pointer events (mouse, touch and
// pen alike). Calls onChange while drawing and after clearing; toMnist() reads the ink back.
import * as sn from '../dist/simdnet.browser.js';
import { mnistify } from './mnistify.js';

/** Ink width in canvas pixels: about MNIST's stroke relative to its 20-pixel box on a 280 pad. */
const LINE_WIDTH = 20;

export class DrawingPad {
  constructor(canvas, onChange) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d', { willReadFrequently: true });
    this.onChange = onChange;
    this.last = null;
    this.clear();
    canvas.addEventListener('pointerdown', (e) => {
      // Capture: a stroke that leaves the pad keeps drawing until the button is released.
      canvas.setPointerCapture(e.pointerId);
      this.last = this.point(e);
      this.stroke(this.last, this.last);
    });
    canvas.addEventListener('pointermove', (e) => {
      if (!this.last) return;
      // Coalesced events: a fast stroke would otherwise be drawn as a few straight segments.
      for (const ev of e.getCoalescedEvents?.() ?? [e]) {
        const p = this.point(ev);
        this.stroke(this.last, p);
        this.last = p;
      }
    });
    const end = () => { this.last = null; };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
  }

  /** Canvas pixel coordinates of an event: CSS may show the pad at another size. */
  point(e) {
    const r = this.canvas.getBoundingClientRect();
    return { x: (e.clientX - r.left) * (this.canvas.width / r.width), y: (e.clientY - r.top) * (this.canvas.height / r.height) };
  }

  stroke(a, b) {
    const { ctx } = this;
    ctx.strokeStyle = 'white';
    ctx.lineWidth = LINE_WIDTH;
    ctx.lineCap = ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
    this.onChange();
  }

  clear() {
    this.ctx.fillStyle = 'black';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.onChange();
  }

  /** The drawing as an MNIST-like 28×28 image (0..255), or null when the pad is empty. */
  toMnist() {
    const { width, height } = this.canvas;
    // The pad's luma in [0, 1], [1, 1, H, W]: white ink on black, so the ink itself. Back to the
    // 0..255 grey levels mnistify takes (for the grey pixels of the pad, exactly the old bytes).
    const luma = sn.browser.fromPixels(this.canvas, { channels: 1 }).toArray();
    const gray = Uint8Array.from(luma, (v) => Math.round(v * 255));
    return mnistify(gray, width, height);
  }
}
