// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IModelToken} from "./interfaces/IModelToken.sol";

/// @title RevenueClaimer: claims the caller's revenue from many model tokens in one transaction
/// @notice Stateless and holds no funds: each token's `claimFor` pays the caller directly. The loop runs
/// over the caller's own calldata list (never over users); a token with nothing claimable is skipped.
/// Only pass tokens you trust (e.g. `ModelRegistry.tokenOf`): each entry is called as given.
contract RevenueClaimer {
    /// @notice Claims the caller's revenue from every token in `tokens`, paid straight to the caller.
    /// @return totalWei Sum paid across the tokens.
    function claimAll(IModelToken[] calldata tokens) external returns (uint256 totalWei) {
        for (uint256 i; i < tokens.length; ++i) {
            totalWei += tokens[i].claimFor(msg.sender);
        }
    }

    /// @notice What `claimAll` would pay `account` now, per token and in total.
    function claimableAll(address account, IModelToken[] calldata tokens)
        external
        view
        returns (uint256[] memory amountsWei, uint256 totalWei)
    {
        amountsWei = new uint256[](tokens.length);
        for (uint256 i; i < tokens.length; ++i) {
            amountsWei[i] = tokens[i].claimable(account);
            totalWei += amountsWei[i];
        }
    }
}
