/** At most `n` async tasks at a time, started in the order they were asked for. */
export class Lanes {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly n: number) {
    if (!(Number.isInteger(n) && n >= 1)) throw new Error(`Lanes: n must be a positive integer, got ${n}`);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    // a finished task hands its lane straight to the next waiting one
    if (this.active >= this.n) await new Promise<void>((go) => this.waiting.push(go));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
