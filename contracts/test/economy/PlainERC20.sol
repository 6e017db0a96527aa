// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title A plain OpenZeppelin ERC-20: the gas baseline for ModelToken transfers
contract PlainERC20 is ERC20 {
    constructor() ERC20("Plain", "PLN") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}

/// @title A plain OpenZeppelin ERC-20 with EIP-2612 permit: the gas baseline for ModelToken permits
contract PlainERC20Permit is ERC20, ERC20Permit {
    constructor() ERC20("Plain", "PLN") ERC20Permit("Plain") {}
}
