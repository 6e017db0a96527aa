import { type Abi, type Address, type ContractEventName, isAddressEqual, parseEventLogs, type ParseEventLogsReturnType } from "viem";
import { MissingEventError } from "../../errors/sdk.ts";
import type { WriteResult } from "./client.ts";

/** Every `eventName` log emitted by `address` in a receipt, decoded, in log order. */
export function receiptEvents<const abi extends Abi, eventName extends ContractEventName<abi>>(
  result: WriteResult,
  parameters: { abi: abi; address: Address; eventName: eventName },
): ParseEventLogsReturnType<abi, eventName, true> {
  return parseEventLogs({
    abi: parameters.abi,
    eventName: parameters.eventName,
    logs: result.receipt.logs,
  }).filter((l) => isAddressEqual(l.address, parameters.address));
}

/** The first `eventName` log emitted by `address` in a receipt, decoded; throws when absent. */
export function receiptEvent<const abi extends Abi, eventName extends ContractEventName<abi>>(
  result: WriteResult,
  parameters: { abi: abi; address: Address; eventName: eventName },
): ParseEventLogsReturnType<abi, eventName, true>[number] {
  const first = receiptEvents(result, parameters)[0];
  if (!first) throw new MissingEventError({ event: String(parameters.eventName), transactionHash: result.transactionHash });
  return first;
}
