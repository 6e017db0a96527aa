// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ModelToken} from "../../ModelToken.sol";

/// @title A token holder whose receive() re-enters the token: claims again, then hands its tokens to an
/// accomplice who claims too (to prove checks-effects-interactions pays each accrual exactly once)
contract ReentrantClaimer {
    ModelToken public immutable token;
    address public immutable accomplice;
    uint256 public received;
    uint256 public reentrantClaimPaid;
    uint256 public accompliceClaimPaid;
    bool private _entered;

    constructor(ModelToken token_, address accomplice_) {
        token = token_;
        accomplice = accomplice_;
    }

    function claim() external returns (uint256) {
        return token.claim(address(this));
    }

    receive() external payable {
        received += msg.value;
        if (_entered) return;
        _entered = true;
        reentrantClaimPaid = token.claim(address(this));
        token.transfer(accomplice, token.balanceOf(address(this)));
        accompliceClaimPaid = token.claimable(accomplice);
    }
}

/// @title A contract that refuses ETH (to prove failed sends revert instead of losing revenue)
contract EtherRejecter {
    receive() external payable {
        revert("no ether");
    }
}
