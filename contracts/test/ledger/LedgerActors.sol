// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ComputeLedger} from "../../ComputeLedger.sol";

/// @dev A staker contract that cannot receive ETH (proves transfer failures revert, not vanish).
contract EthRejectingStaker {
    ComputeLedger internal immutable _ledger;

    constructor(ComputeLedger ledger_) payable {
        _ledger = ledger_;
    }

    function stakeAndUnbond() external {
        _ledger.stake{value: address(this).balance}(address(this), address(this));
        _ledger.requestUnbond();
    }

    function withdraw() external {
        _ledger.withdrawStake();
    }
}

/// @dev A staker whose receive hook tries to re-enter the ledger while being paid.
contract ReentrantStaker {
    ComputeLedger internal immutable _ledger;
    bool public reentered;

    constructor(ComputeLedger ledger_) payable {
        _ledger = ledger_;
    }

    function stakeAndUnbond() external {
        _ledger.stake{value: address(this).balance}(address(this), address(this));
        _ledger.requestUnbond();
    }

    function withdraw() external {
        _ledger.withdrawStake();
    }

    receive() external payable {
        reentered = true;
        _ledger.withdrawStake();
    }
}

/// @dev Exposes the emission library to fuzz tests.
contract EmissionHarness {
    function emissionAt(uint128 tokensPerRound, uint256 decayBps, uint64 round) external pure returns (uint256) {
        return EmissionMathProxy.emissionAt(tokensPerRound, decayBps, round);
    }
}

import {EmissionMath as EmissionMathProxy} from "../../ledger/EmissionMath.sol";
