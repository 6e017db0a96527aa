/**
 * Runs `pass` every `pollMs` until `stop()`, reporting a failed pass (an RPC hiccup) to `onError`
 * and trying again on the next: the shape of the miner's background duties (answering availability
 * demands, defending voided commitments).
 */
export function pollUntilStopped(
  pass: () => Promise<unknown>,
  pollMs: number,
  onError: (err: unknown) => void,
): { stop: () => Promise<void> } {
  let stopped = false;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopped) {
      try {
        await pass();
      } catch (err) {
        onError(err);
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, pollMs);
      });
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
