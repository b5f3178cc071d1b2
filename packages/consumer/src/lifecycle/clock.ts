/**
 * Time as the lifecycle tasks see it: injected, so the stall watchdog and the slow-processor
 * timing can be tested by moving a clock by hand instead of waiting.
 */
export interface Clock {
  now(): number;
  /** Calls `tick` every `ms` until the returned stop function is called; never keeps the process alive. */
  every(ms: number, tick: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  every(ms, tick) {
    const timer = setInterval(tick, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};
