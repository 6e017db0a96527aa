// Try the model: a prompt, a fee, and the SDK's `infer` — the endpoint is found on-chain, the fee
// is escrowed by the signing wallet, and the text is shown only once it hashes to what the
// serving operator committed to on-chain; with how the fee was split.
import { useEffect, useState } from "preact/hooks";
import { splitInferenceFee } from "../../../sdk/actions/inference/estimateInferenceFee.ts";
import { infer, type InferProgress, type InferReturnType } from "../../../sdk/actions/inference/infer.ts";
import { Addr, ErrorNotice, Eth, Hash, Notice } from "../components/ui.tsx";
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

type Run =
  | { phase: "idle" }
  | { phase: "running"; steps: InferProgress[] }
  | { phase: "done"; steps: InferProgress[]; prompt: string; result: InferReturnType }
  | { phase: "failed"; steps: InferProgress[]; error: unknown };

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
  const ready = canSign && model !== undefined && model.endpoints > 0 && feeWei !== undefined && !tooLow && prompt.length > 0 && run.phase !== "running";

  const go = async () => {
    if (!model || feeWei === undefined) return;
    const steps: InferProgress[] = [];
    setRun({ phase: "running", steps });
    try {
      const signer = await signerOf(w, config);
      const result = await infer(signer, {
        deployments: config.deployments,
        modelId: model.modelId,
        prompt,
        feeWei,
        maxFeeWei: feeWei,
        pollingInterval: 500,
        onProgress: (p) => {
          steps.push(p);
          setRun({ phase: "running", steps: [...steps] });
        },
      });
      setRun({ phase: "done", steps: [...steps], prompt, result });
    } catch (error) {
      setRun({ phase: "failed", steps: [...steps], error });
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
        Your wallet pays the fee into the escrow; a serving pipeline found on-chain generates the text and is paid only when it records the text's hash on-chain. The page
        shows the text only if it hashes to that record. If nobody delivers before the deadline, the fee is refunded.
      </p>
      {w.kind === "none" ? <NoWallet what="pay for an inference" /> : null}
      <div class="try">
        <label class="field">
          Model
          <select value={modelId?.toString() ?? ""} onChange={(e) => setModelId(BigInt(e.currentTarget.value))} data-testid="try-model">
            {list.map((m) => (
              <option key={m.modelId.toString()} value={m.modelId.toString()}>
                {m.tokenInfo.name} (#{m.modelId.toString()}) · {m.endpoints ? `${m.endpoints} endpoint${m.endpoints === 1 ? "" : "s"}` : "not served"}
              </option>
            ))}
          </select>
        </label>
        {model && model.endpoints === 0 ? <Notice tone="warn" title="Nobody serves this model now">No serving pipeline announced an endpoint on-chain; a request would find no one to take it.</Notice> : null}
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
            Split on fulfilment: protocol <Eth wei={split.protocolFeeWei} />, {model.stageCount} serving operators <Eth wei={split.operatorFeeWeiPerStage} /> each, token holders{" "}
            <Eth wei={split.holdersWei} />.
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
            <span class="spinner" /> {run.steps.length === 0 ? "Checking the prompt, the fee and your funds; finding an endpoint on-chain" : run.steps.length === 1 ? "Escrowing the fee" : "Waiting for the pipeline to generate and fulfil"}…
          </li>
        ) : null}
      </ol>
      {run.phase === "failed" ? <ErrorNotice error={run.error} what="The inference did not complete" testId="infer-error" /> : null}
      {run.phase === "done" ? <Result prompt={run.prompt} r={run.result} /> : null}
    </div>
  );
}

function Result({ prompt, r }: { prompt: string; r: InferReturnType }) {
  const operators = r.operatorFeeWeiPerStage * BigInt(r.stageOperators.length);
  return (
    <div class="card result">
      <p class="generated">
        <span class="prompt">{prompt}</span>
        <span data-testid="infer-text">{r.text}</span>
      </p>
      <p class="muted small">
        Verified: the text hashes to <Hash hash={r.outputHash} />, the output hash recorded on-chain by <Addr address={r.fulfiller} /> (request #{r.requestId.toString()}).
      </p>
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
