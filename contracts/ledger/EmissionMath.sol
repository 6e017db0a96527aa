// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Per-round emission with geometric decay
library EmissionMath {
    uint256 internal constant RAY = 1e27;
    uint256 internal constant BPS = 10_000;

    /// @notice `tokensPerRound * (1 - decayBps/1e4)^round`, rounded down.
    /// @dev Exponentiation by squaring in 27-decimal fixed point: at most 64 squarings for any
    /// uint64 round, each rounding down, so the result never exceeds the exact value and the
    /// relative error stays below ~128 / 1e27 per factor.
    function emissionAt(uint256 tokensPerRound, uint256 decayBps, uint64 round) internal pure returns (uint256) {
        if (round == 0 || decayBps == 0) return tokensPerRound;
        if (decayBps >= BPS) return 0;
        uint256 base = (BPS - decayBps) * (RAY / BPS);
        uint256 factor = RAY;
        uint256 n = round;
        while (true) {
            if (n & 1 == 1) factor = factor * base / RAY;
            n >>= 1;
            if (n == 0 || factor == 0) break;
            base = base * base / RAY;
        }
        return tokensPerRound * factor / RAY;
    }
}
