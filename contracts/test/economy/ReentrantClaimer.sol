// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ModelToken} from "../../ModelToken.sol";

/// @title A token holder whose receive() tries to claim again (to prove the reentrancy guard)
contract ReentrantClaimer {
    ModelToken public immutable token;
    bool public reentryBlocked;
    uint256 public received;

    constructor(ModelToken token_) {
        token = token_;
    }

    function claim() external returns (uint256) {
        return token.claim(address(this));
    }

    receive() external payable {
        received += msg.value;
        try token.claim(address(this)) returns (uint256) {
            reentryBlocked = false;
        } catch {
            reentryBlocked = true;
        }
    }
}

/// @title A contract that refuses ETH (to prove failed sends revert instead of losing revenue)
contract EtherRejecter {
    receive() external payable {
        revert("no ether");
    }
}
