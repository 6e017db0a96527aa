import { type Address, decodeFunctionData, type Hash, type Hex, isAddressEqual } from "viem";
import { getTransaction } from "viem/actions";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import { DisputedItemNotDecodableError, DisputeNotFoundError } from "../../errors/events.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DisputeKind, toDisputeKind } from "../../protocol/disputeStatus.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";
import { type BlockRangeParameters, scanEvents, scanRange } from "../internal/scan.ts";
import type { LedgerItem } from "../validator/ledgerItem.ts";

export type GetDisputedItemParameters = DeploymentsParameter & BlockRangeParameters & { disputeId: bigint };

export type GetDisputedItemReturnType = {
  disputeId: bigint;
  kind: DisputeKind;
  /** The challenged leaf (Item), or stage s's leaf (ChainBreak). */
  item: LedgerItem;
  /** Stage s+1's leaf of a ChainBreak; undefined for an Item dispute. */
  downstream: LedgerItem | undefined;
  /** The transaction that opened the dispute. */
  transactionHash: Hash;
};

export type GetDisputedItemErrorType = DisputeNotFoundError | DisputedItemNotDecodableError | NoDeploymentError;

/**
 * The leaf (or, for a chain break, both leaves) a dispute is about, exactly as the challenger
 * submitted it: what a committee member re-executes before it votes. The ledger keeps only a
 * digest, so the item is decoded from the calldata of the transaction that emitted the dispute's
 * `DisputeOpened` (found by scanning from the deployment block, or `fromBlock`).
 *
 * @example
 * import { getDisputedItem } from "@shardholder/sdk"
 * const { item, downstream } = await getDisputedItem(client, { deployments, disputeId: 4n })
 * // item.leaf.index, item.leaf.inputActHash, item.worker, …
 */
export async function getDisputedItem(
  client: ShardholderClient,
  parameters: GetDisputedItemParameters,
): Promise<GetDisputedItemReturnType> {
  const { contracts, deployedAtBlock } = await resolveDeployments(client, parameters.deployments);
  const { disputeId } = parameters;
  const [opened] = await scanEvents(client, {
    abi: computeLedgerAbi,
    address: contracts.computeLedger,
    eventName: "DisputeOpened",
    args: { disputeId },
    range: scanRange(deployedAtBlock, parameters),
  });
  if (!opened) throw new DisputeNotFoundError({ disputeId });
  return withTypedErrors(async () => {
    const { transactionHash } = opened;
    const tx = await getTransaction(client, { hash: transactionHash });
    const notDecodable = (reason: string) => new DisputedItemNotDecodableError({ disputeId, transactionHash, reason });
    if (!tx.to || !isAddressEqual(tx.to, contracts.computeLedger)) throw notDecodable("it was not sent to the ledger");
    const decoded = challengedItems(tx.input);
    if (!decoded) throw notDecodable("it is not a challengeItem or challengeChainBreak call");
    const { accused, counterparty, modelId, round, kind } = opened.args;
    // One transaction opens one dispute; the check guards against a decoding that drifted from the event.
    const matches = (i: LedgerItem, worker: Address) => i.modelId === modelId && i.round === round && isAddressEqual(i.worker, worker);
    if (!matches(decoded.item, accused) || (decoded.downstream && !matches(decoded.downstream, counterparty)))
      throw notDecodable("its calldata names another commitment than the dispute");
    return { disputeId, kind: toDisputeKind(kind), item: decoded.item, downstream: decoded.downstream, transactionHash };
  });
}

/** The items of a `challengeItem` / `challengeChainBreak` calldata; undefined for any other call. */
export function challengedItems(input: Hex): { item: LedgerItem; downstream: LedgerItem | undefined } | undefined {
  let call: ReturnType<typeof decodeFunctionData<typeof computeLedgerAbi>>;
  try {
    call = decodeFunctionData({ abi: computeLedgerAbi, data: input });
  } catch {
    return undefined;
  }
  // Decoded arrays are readonly; a LedgerItem's proof is a plain array (it is passed back to writes).
  if (call.functionName === "challengeItem") return { item: { ...call.args[0], proof: [...call.args[0].proof] }, downstream: undefined };
  if (call.functionName === "challengeChainBreak")
    return { item: { ...call.args[0], proof: [...call.args[0].proof] }, downstream: { ...call.args[1], proof: [...call.args[1].proof] } };
  return undefined;
}
