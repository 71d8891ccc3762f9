/** A source of random integers in [lo, hi] (a bot's `randomInt`, or Math.random in a driver). */
export type RandomInt = (lo: number, hi: number) => number;

/** Random integers in [lo, hi] from Math.random. */
export const mathRandomInt: RandomInt = (lo, hi) => lo + Math.floor(Math.random() * (hi - lo + 1));

/** How a walker walks: map size (a square from 0), speed and move rate. */
export interface WalkSpec {
  /** Side of the map (the default scene map is 1000 × 1000). */
  readonly size: number;
  /** Units per second (stay under the scene's maxSpeed). */
  readonly speed: number;
  /** Moves per second. */
  readonly hz: number;
}

/**
 * The random walk of the scene bots (bots scenario scene-walk and bench/scene.ts' driver):
 * a fixed step per move, a turn of up to ±45° one move in ten, and a bounce off the map edges.
 * The state is plain fields so a driver of thousands of walkers keeps no closure per walker.
 */
export class RandomWalk {
  x: number;
  y: number;
  dir: number;
  private readonly step: number;
  private readonly size: number;
  private readonly rand: RandomInt;

  constructor(spec: WalkSpec, rand: RandomInt) {
    this.rand = rand;
    this.size = spec.size;
    this.step = spec.speed / spec.hz;
    this.x = rand(0, spec.size);
    this.y = rand(0, spec.size);
    this.dir = (rand(0, 359) * Math.PI) / 180;
  }

  /** Puts the walker where the server has it (the Enter reply, a Correction). */
  place(x: number, y: number): void {
    this.x = x;
    this.y = y;
  }

  /** Takes the next step; the new position is in x, y (and the heading in dir). */
  next(): void {
    if (this.rand(0, 9) === 0) this.dir += ((this.rand(0, 90) - 45) * Math.PI) / 180;
    let x = this.x + Math.cos(this.dir) * this.step;
    let y = this.y + Math.sin(this.dir) * this.step;
    if (x < 0 || x > this.size || y < 0 || y > this.size) {
      this.dir += Math.PI;
      x = Math.min(this.size, Math.max(0, x));
      y = Math.min(this.size, Math.max(0, y));
    }
    this.x = x;
    this.y = y;
  }
}
