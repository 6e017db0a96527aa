// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title Model token interface: an ERC-20 whose holders earn the model's inference revenue
interface IModelToken is IERC20 {
    /// @notice `amountWei` of revenue arrived from `depositor`; it is distributed to the holders of this block
    /// (or held, while the supply is below `minDistributionSupply`).
    // solhint-disable-next-line gas-indexed-events
    event RevenueDeposited(address indexed depositor, uint256 amountWei);
    /// @notice `account` claimed `amountWei` of revenue, sent to `to`.
    // solhint-disable-next-line gas-indexed-events
    event RevenueClaimed(address indexed account, address indexed to, uint256 amountWei);
    /// @notice The token was initialized by the registry.
    // solhint-disable-next-line gas-indexed-events
    event ModelTokenInitialized(string name, string symbol, address indexed minter, uint256 capTokens);

    /// @notice Adds `msg.value` to the revenue of current holders (held until the first mint if supply is 0).
    function depositRevenue() external payable;
    /// @notice Mints `amountTokens` to `to`; only the compute ledger can call it, never past the cap.
    function mint(address to, uint256 amountTokens) external;
    /// @notice Revenue `account` can claim now, in wei.
    function claimable(address account) external view returns (uint256);
    /// @notice Sends all of the caller's claimable revenue to the caller; returns the amount in wei (the
    /// cheapest claim: no argument).
    function claim() external returns (uint256);
    /// @notice Sends all of the caller's claimable revenue to `to`; returns the amount in wei.
    function claim(address to) external returns (uint256);
    /// @notice Claims for `account` and sends to `account` (used by the batch claimer); returns wei paid.
    function claimFor(address account) external returns (uint256);
}
