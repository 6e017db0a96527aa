// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Stake-weighted sampling over a growing list of accounts (a Fenwick tree in storage)
/// @notice Entry `i` (1-based, never reused for another account) has a weight; `draw(r)` returns the
/// entry whose cumulative weight range holds `r`, so an entry is drawn with probability
/// `weight / total`. Updates and draws cost `O(log n)` storage reads and writes, whatever `n` is:
/// a flood of entries cannot make a draw unaffordable, and zero-weight entries are never drawn.
library StakeSortition {
    struct Tree {
        uint256 size;
        uint256 total;
        /// Fenwick nodes, 1-based: node `i` sums the weights of entries `(i - lowbit(i), i]`
        mapping(uint256 index => uint256) nodes;
        mapping(uint256 index => uint256) weights;
    }

    /// @dev Appends a zero-weight entry and returns its index. Its node must already hold the sum of
    /// the entries it covers, which are all older than it.
    function append(Tree storage t) internal returns (uint256 index) {
        index = ++t.size;
        uint256 covered = index & (~index + 1);
        if (covered > 1) t.nodes[index] = _prefix(t, index - 1) - _prefix(t, index - covered);
    }

    /// @dev Sets the weight of entry `index` (1-based, `<= size`).
    function set(Tree storage t, uint256 index, uint256 weight) internal {
        uint256 previous = t.weights[index];
        if (previous == weight) return;
        t.weights[index] = weight;
        uint256 size = t.size;
        if (weight > previous) {
            uint256 delta = weight - previous;
            t.total += delta;
            for (uint256 i = index; i <= size; i += i & (~i + 1)) t.nodes[i] += delta;
        } else {
            uint256 delta = previous - weight;
            t.total -= delta;
            for (uint256 i = index; i <= size; i += i & (~i + 1)) t.nodes[i] -= delta;
        }
    }

    /// @dev The entry (1-based) whose cumulative range `[prefix(i-1), prefix(i))` holds `r < total`.
    function draw(Tree storage t, uint256 r) internal view returns (uint256 index) {
        uint256 size = t.size;
        uint256 step = 1;
        while (step <= size >> 1) step <<= 1;
        for (; step != 0; step >>= 1) {
            uint256 next = index + step;
            if (next <= size) {
                uint256 node = t.nodes[next];
                if (node <= r) {
                    index = next;
                    r -= node;
                }
            }
        }
        return index + 1;
    }

    function _prefix(Tree storage t, uint256 index) private view returns (uint256 sum) {
        for (uint256 i = index; i != 0; i &= i - 1) sum += t.nodes[i];
    }
}
