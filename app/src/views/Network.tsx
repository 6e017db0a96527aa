// Network: every model with its terms; the selected model's activity below (Activity.tsx).
import { useEffect, useState } from "preact/hooks";
import { Addr, ErrorNotice, Eth, Loading, Notice, Tokens } from "../components/ui.tsx";
import type { ModelSummary } from "../data/network.ts";
import { formatBps, formatDuration } from "../format.ts";
import type { Loaded } from "../hooks.ts";
import { Activity } from "./Activity.tsx";

export function NetworkView({ models }: { models: Loaded<ModelSummary[]> }) {
  const [selected, setSelected] = useState<bigint | undefined>(undefined);
  const list = models.data;
  useEffect(() => {
    if (list?.length && (selected === undefined || !list.some((m) => m.modelId === selected))) setSelected(list[0]?.modelId);
  }, [list]);
  const model = list?.find((m) => m.modelId === selected);
  return (
    <section>
      <h2>Models</h2>
      {models.error ? <ErrorNotice error={models.error} what="Could not list the models" /> : null}
      {!list && models.loading ? <Loading what="models" /> : null}
      {list && list.length === 0 ? (
        <Notice title="No models registered yet" testId="no-models">
          Nobody registered a model on this chain. A designer registers one with the SDK's <code>registerModel</code>;{" "}
          <code>npm start</code> runs a devnet that does.
        </Notice>
      ) : null}
      <div class="models">
        {list?.map((m) => (
          <ModelCard key={m.modelId.toString()} m={m} active={m.modelId === selected} onSelect={() => setSelected(m.modelId)} />
        ))}
      </div>
      {model ? <Activity model={model} /> : null}
    </section>
  );
}

function ModelCard({ m, active, onSelect }: { m: ModelSummary; active: boolean; onSelect: () => void }) {
  const t = m.tokenInfo;
  const holdersBps = 10_000 - m.protocolFeeBps - m.operatorFeeBps;
  return (
    <article class={`card model ${active ? "active" : ""}`} data-testid="model-row" data-model-id={m.modelId.toString()}>
      <header class="card-head">
        <h3>
          {t.name}{" "}
          <span class="muted">
            ({t.symbol}) · model #{m.modelId.toString()}
          </span>
        </h3>
        <button class={active ? "" : "primary"} onClick={onSelect} disabled={active} data-testid={`select-model-${m.modelId}`}>
          {active ? "Shown below" : "Show activity"}
        </button>
      </header>
      <dl class="terms">
        <dt>Pipeline</dt>
        <dd>
          {m.stageCount} stages · {m.microbatchesPerRound} microbatches per round
        </dd>
        <dt>Emission</dt>
        <dd>
          <Tokens amount={m.emission.tokensPerRound} symbol={t.symbol} /> per round, −{formatBps(m.emission.decayBps)} each round, cap{" "}
          <Tokens amount={m.emission.capTokens} symbol={t.symbol} />
        </dd>
        <dt>Minted so far</dt>
        <dd>
          <Tokens amount={t.totalSupplyTokens} symbol={t.symbol} testId={`supply-${m.modelId}`} /> (
          {((Number(t.totalSupplyTokens) / Number(t.capTokens || 1n)) * 100).toFixed(3)} % of the cap)
        </dd>
        <dt>Emission shares</dt>
        <dd>
          designer {formatBps(m.designerEmissionBps)}, validators {formatBps(m.validatorEmissionBps)}, miners the rest, by verified units
        </dd>
        <dt>Inference fee</dt>
        <dd>
          at least <Eth wei={m.minRequestFeeWei} />: protocol {formatBps(m.protocolFeeBps)}, serving operators {formatBps(m.operatorFeeBps)}
          , token holders {formatBps(holdersBps)}
        </dd>
        <dt>Windows</dt>
        <dd>
          commit {formatDuration(m.timing.commitWindowSec)}, challenge {formatDuration(m.timing.challengeWindowSec)}, vote{" "}
          {formatDuration(m.timing.voteWindowSec)}
        </dd>
        <dt>Stakes</dt>
        <dd>
          miners <Eth wei={m.minWorkerStakeWei} />, validators <Eth wei={m.minValidatorStakeWei} />
        </dd>
        <dt>Serving</dt>
        <dd>{m.endpoints === 0 ? "no endpoint announced" : `${m.endpoints} endpoint${m.endpoints === 1 ? "" : "s"} announced`}</dd>
        <dt>Designer</dt>
        <dd>
          <Addr address={m.designer} />
        </dd>
        <dt>Token</dt>
        <dd>
          <Addr address={m.token} />
        </dd>
      </dl>
    </article>
  );
}
