// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Custom errors of the model token (the ERC-20 ones come from OZ's IERC20Errors)
interface IModelTokenErrors {
    /// @notice `initialize` was called on an initialized token or on the implementation itself.
    error ModelTokenAlreadyInitialized();
    /// @notice `initialize` got a zero minter.
    error ModelTokenZeroMinter();
    /// @notice `initialize` got a cap of zero or above `type(uint96).max`.
    error ModelTokenInvalidCap(uint256 capTokens);
    /// @notice `mint` was called by an account other than the minter (the compute ledger).
    error ModelTokenUnauthorizedMinter(address caller);
    /// @notice A mint would take the supply past the cap.
    error ModelTokenCapExceeded(uint256 supplyAfterTokens, uint256 capTokens);
    /// @notice `depositRevenue` was called without value.
    error ModelTokenZeroDeposit();
    /// @notice Deposited revenue would overflow the contract's magnified accounting (unreachable with real ETH).
    error ModelTokenRevenueOverflow();
    /// @notice Sending claimed revenue to `to` failed.
    error ModelTokenTransferFailed(address to);
    /// @notice `claim` to the zero address.
    error ModelTokenZeroRecipient();
    /// @notice A permit signature is past its deadline (same signature as OZ ERC20Permit).
    error ERC2612ExpiredSignature(uint256 deadline);
    /// @notice A permit signature was not signed by `owner` (same signature as OZ ERC20Permit).
    error ERC2612InvalidSigner(address signer, address owner);
}
