Feature: A change can be discarded, and restored while its branches are kept
  Discarding stops what runs, removes the change's worktrees, records why, and takes the
  change out of the open changes and out of OpenSpec's list.

  Background:
    Given a hub with the built-in workflow and an agent that follows the prompts
    And a change "add-search"
    And a change "add-export"

  Scenario: Discard, then status and OpenSpec's list
    When I advance "add-search" to "propose"
    And I approve "add-search"
    And I advance "add-search"
    And I discard "add-search" because "superseded by add-export"
    Then the status table lists only "add-export"
    And OpenSpec's list does not show "add-search"
    And OpenSpec finds nothing wrong with the discarded change
    And "add-search" has no worktree and its branch "specflow/add-search" is kept
    And the last history event of "add-search" says it was discarded because "superseded by add-export"
    When I restore "add-search"
    Then the change "add-search" is open in state "apply"
    And the next action of "add-search" is "archive" with "specflow advance add-search"

  Scenario: Discard stops a running attempt
    Given the agent takes 30 seconds
    When an advance of "add-search" is running
    And I discard "add-search" because "taking too long"
    Then the running advance has stopped
    And the status table lists only "add-export"
    And the history of "add-search" records the outcomes "created, interrupted, discarded"

  Scenario: A change discarded with its branches cannot be restored
    When I advance "add-search" to "propose"
    And I approve "add-search"
    And I advance "add-search"
    And I discard "add-search" with its branches
    Then the branch "specflow/add-search" is gone
    When I try to restore "add-search"
    Then the command fails with exit code 1
    And the error says "was discarded with its branches deleted"
