// One model's life on-chain: the loss per round (reported by its miners), its rounds and their
// status, miners and validators per stage, slashes and disputes, inference revenue.
import { useRef } from "preact/hooks";
import { formatEther } from "viem";
import { DisputeKind, DisputeStatus } from "../../../sdk/protocol/disputeStatus.ts";
import { LineChart } from "../components/LineChart.tsx";
import { Addr, ErrorNotice, Eth, Loading, Notice, Stat, Tokens } from "../components/ui.tsx";
import { useApp } from "../context.ts";
import { lossOfModel, loadLossReports } from "../data/loss.ts";
import type { ActivityEvents } from "../data/activityEvents.ts";
import { loadActivity, type ModelActivity, type ModelSummary } from "../data/network.ts";
import { formatLoss } from "../format.ts";
import { useLoader } from "../hooks.ts";
import { statusWords } from "../rounds.ts";

const name = <T extends Record<string, number | string>>(e: T, value: number): string =>
  Object.entries(e).find(([, v]) => v === value)?.[0] ?? String(value);

export function Activity({ model }: { model: ModelSummary }) {
  const { client, config, version } = useApp();
  // The events read so far: each refresh scans only the blocks after them (activityEvents.ts).
  const scanned = useRef<ActivityEvents | undefined>(undefined);
  const activity = useLoader(async () => {
    const { activity: loaded, events } = await loadActivity(client, config.deployments, model, scanned.current);
    scanned.current = events;
    return loaded;
  }, [model.modelId, version]);
  const a = activity.data;
  return (
    <div class="activity" data-testid="activity">
      <h2>
        {model.tokenInfo.name} <span class="muted">on-chain activity</span>
      </h2>
      {activity.error ? <ErrorNotice error={activity.error} what="Could not read the model's activity" /> : null}
      {!a && activity.loading ? <Loading what="rounds and participants" /> : null}
      {a ? (
        <>
          <div class="stats">
            <Stat label="Current round">{a.currentRound.toString()}</Stat>
            <Stat label="Final rounds" testId="final-rounds">
              {a.finalRounds.length}
            </Stat>
            <Stat label="Tokens minted">
              <Tokens amount={model.tokenInfo.totalSupplyTokens} symbol={model.tokenInfo.symbol} />
            </Stat>
            <Stat label="Slashes">{a.miners.reduce((t, m) => t + m.slashes, 0) + a.validators.reduce((t, v) => t + v.slashes, 0)}</Stat>
            <Stat label="Disputes">{a.disputes.length}</Stat>
            <Stat label="Inference revenue to holders">
              <Eth wei={a.holdersWei} testId="holders-revenue" />
            </Stat>
          </div>
          <div class="charts">
            <LossPanel model={model} activity={a} />
            <RevenuePanel activity={a} />
          </div>
          <Rounds a={a} symbol={model.tokenInfo.symbol} />
          <Participants a={a} symbol={model.tokenInfo.symbol} />
          <Disputes a={a} />
        </>
      ) : null}
    </div>
  );
}

function LossPanel({ model, activity }: { model: ModelSummary; activity: ModelActivity }) {
  const { config } = useApp();
  const reports = useLoader(() => loadLossReports(), [activity.finalRounds.length]);
  const loss = reports.data ? lossOfModel(reports.data, config.chainId, model.token, activity.finalRounds) : undefined;
  return (
    <figure class="panel" data-testid="loss-panel">
      <figcaption>Loss per final round</figcaption>
      {reports.error ? <ErrorNotice error={reports.error} what="Could not read the loss reports" /> : null}
      {reports.data && !loss ? (
        <Notice title="No loss report for this model" testId="no-loss">
          Loss is measured off-chain by the miners. The app shows the reports its server was given (<code>--loss</code>, or the{" "}
          <code>runs/*/summary.json</code> a devnet writes) when they name this chain and token.
        </Notice>
      ) : null}
      {loss && loss.points.length === 0 ? <Notice title="No final round has a reported loss yet" /> : null}
      {loss && loss.points.length > 0 ? (
        <>
          <LineChart
            points={loss.points.map((p) => ({ x: Number(p.round), y: p.loss, label: `round ${p.round}: ${formatLoss(p.loss)} nats` }))}
            xLabel="round"
            yLabel="cross-entropy (nats)"
            formatY={formatLoss}
            testId="loss-chart"
          />
          {loss.points.some((p) => p.evalLoss !== undefined) ? (
            <>
              <h4 class="small">Held-out loss after each round</h4>
              <LineChart
                points={loss.points
                  .filter((p) => p.evalLoss !== undefined)
                  .map((p) => ({
                    x: Number(p.round),
                    y: p.evalLoss as number,
                    label: `round ${p.round}: ${formatLoss(p.evalLoss as number)} nats held-out`,
                  }))}
                xLabel="round"
                yLabel="held-out cross-entropy (nats)"
                formatY={formatLoss}
                testId="eval-loss-chart"
              />
            </>
          ) : null}
          <p class="muted small">
            Reported by the last stage's miner (training: mean cross-entropy of the round's training batches; held-out: the corpus' eval
            split, forwarded through the pipeline after the round), not stored on-chain; from <code>{loss.source}</code>.
            {loss.unreported.length ? ` Final rounds without a report: ${loss.unreported.join(", ")}.` : ""}
          </p>
        </>
      ) : null}
    </figure>
  );
}

function RevenuePanel({ activity }: { activity: ModelActivity }) {
  const points = [
    { x: 0, y: 0, label: "start" },
    ...activity.fulfilled.map((p, i) => ({
      x: i + 1,
      y: Number(formatEther(p.cumulativeHoldersWei)),
      label: `request ${p.requestId}: +${formatEther(p.holdersWei)} ETH`,
    })),
  ];
  return (
    <figure class="panel" data-testid="revenue-panel">
      <figcaption>Cumulative inference revenue to token holders</figcaption>
      {activity.fulfilled.length === 0 ? (
        <Notice title="No paid inference yet">
          {activity.requests ? `${activity.requests} request(s) paid, none fulfilled yet.` : "Try the model to make the first one."}
        </Notice>
      ) : (
        <>
          <LineChart
            points={points}
            xLabel="inferences fulfilled"
            yLabel="ETH to holders"
            formatY={(y) => (y === 0 ? "0" : Number(y.toPrecision(3)).toString())}
            color="#1f8a4c"
            testId="revenue-chart"
          />
          <p class="muted small">
            {activity.fulfilled.length} of {activity.requests} paid requests fulfilled; fees <Eth wei={activity.feesWei} />, of which{" "}
            <Eth wei={activity.holdersWei} /> went to the holders.
          </p>
        </>
      )}
    </figure>
  );
}

function Rounds({ a, symbol }: { a: ModelActivity; symbol: string }) {
  return (
    <>
      <h3>Rounds</h3>
      <table class="table" data-testid="rounds">
        <thead>
          <tr>
            <th>Round</th>
            <th>Status</th>
            <th class="right">Commitments</th>
            <th class="right">Units counted</th>
            <th class="right">Emission</th>
            <th class="right">Minted</th>
            <th class="right">Disputes</th>
            <th class="right">Slashes</th>
          </tr>
        </thead>
        <tbody>
          {a.rounds.map((r) => (
            <tr key={r.round.toString()} data-testid="round-row" data-status={r.status}>
              <td>{r.round.toString()}</td>
              <td>
                <span class={`pill status-${r.status}`}>{statusWords[r.status]}</span>
                {r.openDisputes ? <span class="muted"> {r.openDisputes} open</span> : null}
              </td>
              <td class="right">{r.commitments}</td>
              <td class="right">{r.units.toString()}</td>
              <td class="right">{r.emissionTokens ? <Tokens amount={r.emissionTokens} symbol={symbol} /> : "–"}</td>
              <td class="right">{r.mintedTokens ? <Tokens amount={r.mintedTokens} symbol={symbol} /> : "–"}</td>
              <td class="right">{r.disputes}</td>
              <td class="right">{r.slashes}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function Participants({ a, symbol }: { a: ModelActivity; symbol: string }) {
  return (
    <div class="two-col">
      <div>
        <h3>Miners by stage</h3>
        {a.miners.length === 0 ? <p class="muted">No commitment accepted yet.</p> : null}
        <table class="table" data-testid="miners">
          <tbody>
            {a.miners.map((m) => (
              <tr key={`${m.stage}${m.worker}`}>
                <td>stage {m.stage}</td>
                <td>
                  <Addr address={m.worker} />
                </td>
                <td class="right">
                  {m.commitments} round{m.commitments === 1 ? "" : "s"}, {m.units.toString()} units{m.voided ? `, ${m.voided} voided` : ""}
                </td>
                <td class="right">{m.tokens ? <Tokens amount={m.tokens} symbol={symbol} /> : "–"}</td>
                <td class="right">
                  {m.slashes ? (
                    <span class="bad">
                      slashed {m.slashes}× (<Eth wei={m.slashedWei} />)
                    </span>
                  ) : (
                    "not slashed"
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div>
        <h3>Validators</h3>
        {a.validators.length === 0 ? <p class="muted">No item attested on-chain yet.</p> : null}
        <table class="table" data-testid="validators">
          <tbody>
            {a.validators.map((v) => (
              <tr key={v.validator}>
                <td>
                  <Addr address={v.validator} />
                </td>
                <td>{v.byStage.map((s) => `stage ${s.stage}: ${s.items} items, ${s.units} units`).join("; ") || "no attestations"}</td>
                <td class="right">{v.tokens ? <Tokens amount={v.tokens} symbol={symbol} /> : "–"}</td>
                <td class="right">{v.slashes ? <span class="bad">slashed {v.slashes}×</span> : "not slashed"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function Disputes({ a }: { a: ModelActivity }) {
  if (a.disputes.length === 0) return <p class="muted">No disputes: nobody challenged this model's work.</p>;
  return (
    <>
      <h3>Disputes</h3>
      <table class="table" data-testid="disputes">
        <tbody>
          {a.disputes.map((d) => (
            <tr key={d.disputeId.toString()}>
              <td>#{d.disputeId.toString()}</td>
              <td>round {d.round.toString()}</td>
              <td>{name(DisputeKind, d.kind)}</td>
              <td>
                accused <Addr address={d.accused} />
              </td>
              <td>
                by <Addr address={d.challenger} />
              </td>
              <td>
                <span class="pill">{name(DisputeStatus, d.status)}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
