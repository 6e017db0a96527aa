// Small hooks: an async loader that keeps showing the last data while it reloads (numbers do not
// flicker on every block), and a transaction runner with pending / done / failed states.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { type DescribedError, describeError } from "./errors.ts";

export type Loaded<T> = { data: T | undefined; error: unknown; loading: boolean };

/** Runs `load` whenever `deps` change; a newer run wins over a slower older one. */
export function useLoader<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ data: undefined, error: undefined, loading: true });
  const run = useRef(0);
  useEffect(() => {
    const id = ++run.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => id === run.current && setState({ data, error: undefined, loading: false }),
      (error: unknown) => id === run.current && setState((s) => ({ data: s.data, error, loading: false })),
    );
  }, deps);
  return state;
}

export type TxState =
  | { phase: "idle" }
  | { phase: "pending"; label: string }
  | { phase: "done"; label: string; hash?: string | undefined }
  | { phase: "failed"; label: string; error: DescribedError };

/** Runs one transaction at a time and remembers how the last one went. */
export function useTx() {
  const [state, setState] = useState<TxState>({ phase: "idle" });
  const send = useCallback(
    async <R extends { transactionHash?: string | undefined }>(label: string, action: () => Promise<R>, done: (r: R) => string) => {
      setState({ phase: "pending", label });
      try {
        const result = await action();
        setState({ phase: "done", label: done(result), hash: result.transactionHash });
        return result;
      } catch (err) {
        setState({ phase: "failed", label, error: describeError(err) });
        return undefined;
      }
    },
    [],
  );
  return { state, send, busy: state.phase === "pending", reset: () => setState({ phase: "idle" }) };
}
