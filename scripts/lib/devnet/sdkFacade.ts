// The SDK calls the devnet's operator side makes (the dapp client imports `shardholder/sdk` itself).
export { getSlashes } from "../../../sdk/actions/disputes/getSlashes.ts";
export { claimRevenue } from "../../../sdk/actions/holders/claimRevenue.ts";
export { getClaimable } from "../../../sdk/actions/holders/getClaimable.ts";
export { getAcceptedCommitments } from "../../../sdk/actions/miner/getAcceptedCommitments.ts";
export { getModel } from "../../../sdk/actions/models/getModel.ts";
export { registerModel } from "../../../sdk/actions/models/registerModel.ts";
