// SPDX-License-Identifier: MIT
pragma solidity ^0.8.10;

/// @title MockAggregatorV3
/// @notice Test-only Chainlink price feed whose answer anyone may set.
/// @dev Speaks both faces a consumer may use: Aave's AaveOracle reads `latestAnswer()`,
///      off-chain readers use `latestRoundData()`. Every update opens a new round and emits
///      Chainlink's `AnswerUpdated`, like a real aggregator does.
contract MockAggregatorV3 {
  uint8 public immutable decimals;
  string public description;
  uint256 public constant version = 4;

  // uint256 keys and round ids, as in Chainlink's AggregatorInterface (same selectors).
  uint256 public latestRound;
  mapping(uint256 => int256) public getAnswer;
  mapping(uint256 => uint256) public getTimestamp;

  event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);

  constructor(uint8 decimals_, string memory description_, int256 initialAnswer) {
    decimals = decimals_;
    description = description_;
    updateAnswer(initialAnswer);
  }

  function updateAnswer(int256 answer) public {
    latestRound += 1;
    getAnswer[latestRound] = answer;
    getTimestamp[latestRound] = block.timestamp;
    emit AnswerUpdated(answer, latestRound, block.timestamp);
  }

  function latestAnswer() external view returns (int256) {
    return getAnswer[latestRound];
  }

  function latestTimestamp() external view returns (uint256) {
    return getTimestamp[latestRound];
  }

  function latestRoundData()
    external
    view
    returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
  {
    uint256 r = latestRound;
    return (uint80(r), getAnswer[r], getTimestamp[r], getTimestamp[r], uint80(r));
  }
}
