// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title Per-round emission with geometric decay
library EmissionMath {
    /// @dev 36-decimal fixed point: base^2 (< 1e72) fits in 256 bits, and the amount is carried
    /// scaled by ONE (tokensPerRound < 2^128, so < 2^248) so tiny factors keep their precision.
    uint256 internal constant ONE = 1e36;
    uint256 internal constant BPS = 10_000;

    /// @notice `tokensPerRound * (1 - decayBps/1e4)^round`, rounded down.
    /// @dev Exponentiation by squaring: at most 64 iterations for any uint64 round; each step rounds
    /// down, so the result never exceeds the exact value (tested against a stepwise reference).
    function emissionAt(uint128 tokensPerRound, uint256 decayBps, uint64 round) internal pure returns (uint256) {
        if (round == 0 || decayBps == 0) return tokensPerRound;
        if (decayBps >= BPS) return 0;
        uint256 base = (BPS - decayBps) * (ONE / BPS);
        uint256 amount = uint256(tokensPerRound) * ONE;
        uint256 n = round;
        while (true) {
            if (n & 1 == 1) amount = Math.mulDiv(amount, base, ONE);
            n >>= 1;
            if (n == 0 || amount == 0) break;
            base = base * base / ONE;
        }
        return amount / ONE;
    }
}
