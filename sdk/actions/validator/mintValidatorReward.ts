import type { Address } from "viem";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { ComputeLedgerNotFinalizedError, ComputeLedgerNothingToMintError } from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import {
  decodeWrite,
  type DeploymentsParameter,
  type WriteParameters,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteResult,
  type WriteReturnType,
} from "../internal/client.ts";
import { receiptEvent } from "../internal/events.ts";

export type MintValidatorRewardParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & { modelId: bigint; round: bigint; validator: Address };

export type MintValidatorRewardReturnType<wait extends boolean = true> = WriteReturnType<
  WriteResult & {
    /** Token wei minted to the validator's payout address. */
    tokens: bigint;
    payout: Address;
    /** The validator's attested units of the round. */
    units: bigint;
  },
  wait
>;

export type MintValidatorRewardErrorType =
  ComputeLedgerNotFinalizedError | ComputeLedgerNothingToMintError | AccountRequiredError | NoDeploymentError;

/**
 * Mints a validator's share of a finalized round's validator pool (`validatorTokens * units /
 * attestedUnits`) to its payout address; anyone may call it. A validator slashed for attesting a
 * proven-fraudulent item of the round gets `ComputeLedgerNothingToMintError`.
 *
 * @example
 * import { mintValidatorReward } from "@shardholder/sdk"
 * const { tokens } = await mintValidatorReward(walletClient, { deployments, modelId: 1n, round: 0n, validator })
 */
export async function mintValidatorReward<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: MintValidatorRewardParameters<wait>,
): Promise<MintValidatorRewardReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const sent = await sendContractWrite(
    client,
    {
      action: "mintValidatorReward",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "mintValidatorReward",
      args: [parameters.modelId, parameters.round, parameters.validator],
      account: parameters.account,
    },
    parameters,
  );
  return decodeWrite(sent, (result) => {
    const { args } = receiptEvent(result, { abi: computeLedgerAbi, address: contracts.computeLedger, eventName: "ValidatorRewardMinted" });
    return { ...result, tokens: args.tokens, payout: args.payout, units: args.units };
  });
}
