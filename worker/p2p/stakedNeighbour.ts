import { getStaker } from "../../sdk/actions/miner/getStaker.ts";
import type { ShardholderClient } from "../../sdk/actions/internal/client.ts";
import type { Deployments } from "../../sdk/deployments/types.ts";
import type { HelloDomain, IsStakedNeighbour } from "./hello.ts";

/**
 * The chain's answer to "may this signer speak for a pipeline neighbour": `worker` has an active
 * stake in the ComputeLedger (not unbonding, not jailed) and `signer` is its current signing key.
 * Stakes are not per model or stage in the ledger, so any staked worker may take any stage; what
 * the hello binds is the model, stage and libp2p peer id it signed. A failed read refuses the
 * neighbour (it may connect again), it never lets it in.
 *
 * @example
 * const isStakedNeighbour = stakedNeighbourOnChain(client, deployments)
 */
export function stakedNeighbourOnChain(client: ShardholderClient, deployments: Deployments): IsStakedNeighbour {
  return async ({ worker, signer }) => {
    const s = await getStaker(client, { deployments, account: worker });
    return s.stakeWei > 0n && !s.unbonding && !s.jailed && s.signingKey.toLowerCase() === signer.toLowerCase();
  };
}

/** The hello domain of a deployment: the ComputeLedger's EIP-712 domain on its chain. */
export function helloDomainOf(deployments: Deployments): HelloDomain {
  return { chainId: deployments.chainId, ledger: deployments.contracts.computeLedger };
}
