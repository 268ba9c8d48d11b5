// Per-series step arrays carved from shared slabs. A node's output has one values and one presence
// array per series; allocating each as its own ArrayBuffer costs an off-heap allocation and GC
// bookkeeping per series, which dominated selector-heavy queries. Views into a few large buffers
// are cheap, and a whole slab is released when its last view goes.

const MAX_SLAB_ELEMENTS = 1 << 20;

export class StepArrays {
  private f64 = new Float64Array(0);
  private f64Pos = 0;
  private u8 = new Uint8Array(0);
  private u8Pos = 0;
  private readonly slabElements: number;

  /** `expectedSeries` sizes the first slab (so a node usually needs one). */
  constructor(
    private readonly steps: number,
    expectedSeries = 64,
  ) {
    this.slabElements = Math.max(steps, Math.min(MAX_SLAB_ELEMENTS, steps * Math.max(1, expectedSeries)));
  }

  /** A zeroed Float64Array of `steps` elements. */
  values(): Float64Array {
    const steps = this.steps;
    if (this.f64Pos + steps > this.f64.length) {
      this.f64 = new Float64Array(this.slabElements);
      this.f64Pos = 0;
    }
    const a = this.f64.subarray(this.f64Pos, this.f64Pos + steps);
    this.f64Pos += steps;
    return a;
  }

  /** A zeroed Uint8Array of `steps` elements. */
  present(): Uint8Array {
    const steps = this.steps;
    if (this.u8Pos + steps > this.u8.length) {
      this.u8 = new Uint8Array(this.slabElements);
      this.u8Pos = 0;
    }
    const a = this.u8.subarray(this.u8Pos, this.u8Pos + steps);
    this.u8Pos += steps;
    return a;
  }

  /** Gives back the latest values()/present() pair, which must not be used any more (zeroed for reuse). */
  releaseLast(values: Float64Array, present: Uint8Array): void {
    if (values.buffer === this.f64.buffer && values.byteOffset === (this.f64Pos - this.steps) * 8) {
      this.f64Pos -= this.steps;
      values.fill(0);
    }
    if (present.buffer === this.u8.buffer && present.byteOffset === this.u8Pos - this.steps) {
      this.u8Pos -= this.steps;
      present.fill(0);
    }
  }
}
