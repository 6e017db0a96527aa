// Building blocks: amounts (readable text, exact wei in the title and `data-wei`), addresses,
// notices for every state (empty, loading, error, wallet), and a transaction's status.
import type { ComponentChildren } from "preact";
import { type DescribedError, describeError } from "../errors.ts";
import { formatAmount, formatEth, shortAddress } from "../format.ts";
import type { TxState } from "../hooks.ts";

export function Eth({ wei, testId, digits }: { wei: bigint; testId?: string | undefined; digits?: number | undefined }) {
  return (
    <span class="num" title={`${wei.toString()} wei`} data-wei={wei.toString()} data-testid={testId}>
      {formatEth(wei, digits)}
    </span>
  );
}

export function Tokens({
  amount,
  symbol,
  decimals = 18,
  testId,
}: {
  amount: bigint;
  symbol: string;
  decimals?: number;
  testId?: string | undefined;
}) {
  return (
    <span class="num" title={`${amount.toString()} (10^-${decimals} ${symbol})`} data-amount={amount.toString()} data-testid={testId}>
      {formatAmount(amount, decimals, 4)} {symbol}
    </span>
  );
}

export function Addr({ address, label }: { address: string; label?: string | undefined }) {
  return (
    <span class="addr" title={address}>
      {label ? <span class="addr-label">{label} </span> : null}
      <code>{shortAddress(address)}</code>
    </span>
  );
}

export function Hash({ hash }: { hash: string }) {
  return (
    <code class="hash" title={hash}>
      {hash.slice(0, 10)}…
    </code>
  );
}

type Tone = "info" | "warn" | "error" | "ok";

export function Notice({
  tone = "info",
  title,
  children,
  testId,
}: {
  tone?: Tone;
  title: string;
  children?: ComponentChildren;
  testId?: string | undefined;
}) {
  return (
    <div class={`notice notice-${tone}`} role={tone === "error" ? "alert" : "status"} data-testid={testId}>
      <strong>{title}</strong>
      {children ? <div class="notice-body">{children}</div> : null}
    </div>
  );
}

export function ErrorNotice({ error, what, testId }: { error: unknown; what: string; testId?: string | undefined }) {
  const d: DescribedError = describeError(error);
  return (
    <Notice tone="error" title={`${what}: ${d.title}`} testId={testId ?? `error-${d.kind}`}>
      {d.detail ? <p class="muted">{d.detail}</p> : null}
    </Notice>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" aria-busy="true">
      <span class="spinner" /> Loading {what}…
    </p>
  );
}

/** The last transaction: sending, done (with its hash) or failed (in words, with the custom error). */
export function TxStatus({ state }: { state: TxState }) {
  if (state.phase === "idle") return null;
  if (state.phase === "pending")
    return (
      <Notice title={`${state.label}…`} testId="tx-pending">
        <span class="spinner" /> Confirm in your wallet if it asks, then wait for the block.
      </Notice>
    );
  if (state.phase === "done")
    return (
      <Notice tone="ok" title={state.label} testId="tx-done">
        {state.hash ? (
          <span>
            Transaction <Hash hash={state.hash} />
          </span>
        ) : null}
      </Notice>
    );
  const { error } = state;
  const title = error.kind === "rejected" ? `${state.label}: rejected` : `${state.label} failed`;
  return (
    <Notice tone={error.kind === "rejected" ? "warn" : "error"} title={title} testId="tx-error">
      <p data-testid={`tx-error-${error.kind}`}>{error.title}</p>
      {error.errorName ? (
        <p class="muted">
          Custom error <code>{error.errorName}</code>
        </p>
      ) : null}
      {error.detail ? <p class="muted">{error.detail}</p> : null}
    </Notice>
  );
}

export function Stat({ label, children, testId }: { label: string; children: ComponentChildren; testId?: string | undefined }) {
  return (
    <div class="stat" data-testid={testId}>
      <div class="stat-label">{label}</div>
      <div class="stat-value">{children}</div>
    </div>
  );
}
