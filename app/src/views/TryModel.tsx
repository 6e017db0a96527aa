// Try the model: a prompt, a fee, and the SDK's `inferStream` — the endpoint is found on-chain, the
// fee is escrowed by the signing wallet, the text appears piece by piece as the pipeline generates
// it (marked unverified), and is replaced by the text that hashes to what the serving operator
// committed to on-chain once the fulfilment lands; with how the fee was split.
import { useEffect, useState } from "preact/hooks";
import { splitInferenceFee } from "../../../sdk/actions/inference/estimateInferenceFee.ts";
import type { InferProgress, InferReturnType } from "../../../sdk/actions/inference/infer.ts";
import { inferStream } from "../../../sdk/actions/inference/inferStream.ts";
import { Addr, ErrorNotice, Eth, Hash, Notice } from "../components/ui.tsx";
import { describeError } from "../errors.ts";
import { useApp } from "../context.ts";
import type { ModelSummary } from "../data/network.ts";
import { formatEth, parseEthInput } from "../format.ts";
import type { Loaded } from "../hooks.ts";
import { onRightChain, signerOf } from "../wallet.ts";
import { NoWallet } from "./WalletControl.tsx";

const stepWords: Record<InferProgress["step"], string> = {
  uploaded: "Prompt delivered to the serving endpoint",
  requested: "Fee escrowed on-chain",
  fulfilled: "Fulfilment recorded on-chain",
};

/** What the endpoint streamed so far: unverified text, and how many pieces it came in. */
type Streamed = { prompt: string; text: string; pieces: number };

type Run =
  | { phase: "idle" }
  | { phase: "running"; steps: InferProgress[]; streamed: Streamed }
  /** `streamError`: the stream broke or disagreed with the fulfilled text; the verified `result` stands. */
  | { phase: "done"; steps: InferProgress[]; streamed: Streamed; result: InferReturnType; streamError?: unknown }
  | { phase: "failed"; steps: InferProgress[]; streamed: Streamed; error: unknown };

export function TryModelView({ models }: { models: Loaded<ModelSummary[]> }) {
  const { config, wallet, refresh } = useApp();
  const list = models.data ?? [];
  const [modelId, setModelId] = useState<bigint | undefined>(undefined);
  const [prompt, setPrompt] = useState("The jury said ");
  const [feeText, setFeeText] = useState("");
  const [run, setRun] = useState<Run>({ phase: "idle" });
  useEffect(() => {
    if (modelId === undefined && list.length) setModelId((list.find((m) => m.endpoints > 0) ?? list[0])?.modelId);
  }, [list]);
  const model = list.find((m) => m.modelId === modelId);
  useEffect(() => {
    if (model && feeText === "") setFeeText(formatEth(model.minRequestFeeWei, 18).replace(" ETH", ""));
  }, [model?.modelId]);
  const feeWei = parseEthInput(feeText);
  // The escrow's own arithmetic on the model's terms (no request needed).
  const split = model && feeWei !== undefined ? splitInferenceFee(feeWei, model) : undefined;

  const w = wallet.wallet;
  const canSign = w.kind !== "none" && onRightChain(w, config);
  const tooLow = model !== undefined && feeWei !== undefined && feeWei < model.minRequestFeeWei;
  const ready =
    canSign &&
    model !== undefined &&
    model.endpoints > 0 &&
    feeWei !== undefined &&
    !tooLow &&
    prompt.length > 0 &&
    run.phase !== "running";

  const go = async () => {
    if (!model || feeWei === undefined) return;
    const steps: InferProgress[] = [];
    const streamed: Streamed = { prompt, text: "", pieces: 0 };
    const update = () => setRun({ phase: "running", steps: [...steps], streamed: { ...streamed } });
    update();
    try {
      const signer = await signerOf(w, config);
      const stream = await inferStream(signer, {
        deployments: config.deployments,
        modelId: model.modelId,
        prompt,
        feeWei,
        maxFeeWei: feeWei,
        pollingInterval: 500,
        onProgress: (p) => {
          steps.push(p);
          update();
        },
      });
      let streamError: unknown;
      try {
        for await (const piece of stream) {
          streamed.text += piece;
          streamed.pieces += 1;
          update();
        }
      } catch (err) {
        // A broken or disagreeing stream: what counts is the verified result, awaited below.
        streamError = err;
      }
      const result = await stream.result;
      setRun({ phase: "done", steps: [...steps], streamed: { ...streamed }, result, streamError });
    } catch (error) {
      setRun({ phase: "failed", steps: [...steps], streamed: { ...streamed }, error });
    }
    refresh();
  };

  if (models.data && list.length === 0)
    return (
      <section>
        <h2>Try a model</h2>
        <Notice title="No models registered yet" testId="no-models">
          There is no model to ask. Once one is trained and served (the devnet does both), you can prompt it here.
        </Notice>
      </section>
    );
  return (
    <section>
      <h2>Try a model</h2>
      <p class="muted">
        Your wallet pays the fee into the escrow; a serving pipeline found on-chain generates the text and is paid only when it records the
        text's hash on-chain. The page shows the text only if it hashes to that record. If nobody delivers before the deadline, the fee is
        refunded.
      </p>
      {w.kind === "none" ? <NoWallet what="pay for an inference" /> : null}
      <div class="try">
        <label class="field">
          Model
          <select value={modelId?.toString() ?? ""} onChange={(e) => setModelId(BigInt(e.currentTarget.value))} data-testid="try-model">
            {list.map((m) => (
              <option key={m.modelId.toString()} value={m.modelId.toString()}>
                {m.tokenInfo.name} (#{m.modelId.toString()}) ·{" "}
                {m.endpoints ? `${m.endpoints} endpoint${m.endpoints === 1 ? "" : "s"}` : "not served"}
              </option>
            ))}
          </select>
        </label>
        {model && model.endpoints === 0 ? (
          <Notice tone="warn" title="Nobody serves this model now">
            No serving pipeline announced an endpoint on-chain; a request would find no one to take it.
          </Notice>
        ) : null}
        <label class="field">
          Prompt
          <textarea rows={3} maxLength={4096} value={prompt} onInput={(e) => setPrompt(e.currentTarget.value)} data-testid="prompt" />
        </label>
        <label class="field narrow">
          Fee (ETH)
          <input value={feeText} onInput={(e) => setFeeText(e.currentTarget.value)} inputMode="decimal" data-testid="fee" />
        </label>
        {feeWei === undefined ? <p class="bad">Type an amount of ETH, e.g. 0.001.</p> : null}
        {tooLow && model ? <p class="bad">The model asks at least {formatEth(model.minRequestFeeWei)} per request.</p> : null}
        {split && model ? (
          <p class="muted" data-testid="fee-estimate">
            Split on fulfilment: protocol <Eth wei={split.protocolFeeWei} />, {model.stageCount} serving operators{" "}
            <Eth wei={split.operatorFeeWeiPerStage} /> each, token holders <Eth wei={split.holdersWei} />.
          </p>
        ) : null}
        <button class="primary" disabled={!ready} onClick={go} data-testid="infer-button">
          {run.phase === "running" ? "Generating…" : `Pay ${feeWei !== undefined ? formatEth(feeWei) : ""} and generate`}
        </button>
      </div>
      <RunView run={run} />
    </section>
  );
}

function RunView({ run }: { run: Run }) {
  if (run.phase === "idle") return null;
  return (
    <div class="run" data-testid="infer-run">
      <ol class="steps">
        {run.steps.map((s) => (
          <li key={s.step} class="done">
            {stepWords[s.step]}
            {s.step === "uploaded" ? <span class="muted"> ({s.url})</span> : null}
            {s.step === "requested" ? (
              <span class="muted">
                {" "}
                (request #{s.requestId.toString()}, <Hash hash={s.transactionHash} />)
              </span>
            ) : null}
          </li>
        ))}
        {run.phase === "running" ? (
          <li class="pending">
            <span class="spinner" /> {pendingWords(run.steps, run.streamed)}…
          </li>
        ) : null}
      </ol>
      {run.phase !== "done" && run.streamed.text ? <StreamedText streamed={run.streamed} /> : null}
      {run.phase === "failed" ? <ErrorNotice error={run.error} what="The inference did not complete" testId="infer-error" /> : null}
      {run.phase === "done" ? <Result run={run} /> : null}
    </div>
  );
}

/** What the page is waiting for, from the steps done and the text streamed so far. */
function pendingWords(steps: InferProgress[], streamed: Streamed): string {
  if (steps.length === 0) return "Checking the prompt, the fee and your funds; finding an endpoint on-chain";
  if (steps.length === 1) return "Escrowing the fee";
  if (steps.length === 2) return streamed.text ? "Generating (the text streams in below)" : "Waiting for the pipeline to start generating";
  return "Fetching the text and checking it against the fulfilled hash";
}

/** The endpoint's text as it streams in: shown at once, but not yet checked against the chain. */
function StreamedText({ streamed }: { streamed: Streamed }) {
  return (
    <div class="card result streaming">
      <p class="generated">
        <span class="prompt">{streamed.prompt}</span>
        <span data-testid="infer-stream" data-pieces={streamed.pieces}>
          {streamed.text}
        </span>
      </p>
      <p class="muted small">
        Streamed by the serving endpoint as it generates; unverified until the fulfilment is on-chain and the text hashes to it.
      </p>
    </div>
  );
}

function Result({ run }: { run: Extract<Run, { phase: "done" }> }) {
  const r = run.result;
  const operators = r.operatorFeeWeiPerStage * BigInt(r.stageOperators.length);
  return (
    <div class="card result" data-testid="infer-result" data-streamed-pieces={run.streamed.pieces}>
      <p class="generated">
        <span class="prompt">{run.streamed.prompt}</span>
        <span data-testid="infer-text">{r.text}</span>
      </p>
      <p class="muted small">
        Verified: the text hashes to <Hash hash={r.outputHash} />, the output hash recorded on-chain by <Addr address={r.fulfiller} />{" "}
        (request #{r.requestId.toString()}
        {run.streamed.pieces ? `; streamed in ${run.streamed.pieces} piece${run.streamed.pieces === 1 ? "" : "s"}` : ""}).
      </p>
      {run.streamError ? (
        <Notice tone="warn" title="The streamed text was not what the pipeline fulfilled" testId="stream-mismatch">
          {describeError(run.streamError).title} Shown above: the verified text.
        </Notice>
      ) : null}
      <table class="table split" data-testid="fee-split">
        <tbody>
          <tr>
            <td>Protocol</td>
            <td class="right">
              <Eth wei={r.protocolFeeWei} testId="split-protocol" />
            </td>
          </tr>
          <tr>
            <td>Serving operators ({r.stageOperators.length} stages)</td>
            <td class="right">
              <Eth wei={operators} testId="split-operators" />
            </td>
          </tr>
          <tr>
            <td>Token holders</td>
            <td class="right">
              <Eth wei={r.holdersWei} testId="split-holders" />
            </td>
          </tr>
          <tr class="total">
            <td>Fee paid</td>
            <td class="right">
              <Eth wei={r.feeWei} testId="split-fee" />
            </td>
          </tr>
        </tbody>
      </table>
    </div>
  );
}
