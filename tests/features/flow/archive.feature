Feature: A change that creates a capability archives the first time
  The built-in workflow asks for a Purpose for every new capability, refuses a proposal
  that would leave OpenSpec's placeholder, and never leaves a change half-archived.

  Background:
    Given a hub with the built-in workflow and an agent that follows the prompts

  Scenario: A new capability goes from draft to archive in one pass
    Given a change "add-search"
    When I advance "add-search" to "propose"
    And I approve "add-search"
    And I advance "add-search" to "archive"
    Then the change "add-search" is archived in state "archive"
    And the living spec "search" has the Purpose the agent wrote
    And OpenSpec validates every spec strictly

  Scenario: A proposal that leaves the placeholder Purpose is refused at propose
    Given the agent leaves out the Purpose
    And a change "add-search"
    When I try to advance "add-search" to "propose"
    Then the command fails with exit code 1
    And the error says "creates the capability 'search' without a '## Purpose'"
    And the change "add-search" is in state "explore"
    And the next action of "add-search" is "fix and retry" with "specflow advance add-search"

  Scenario: The archive refuses a placeholder Purpose before moving anything
    Given a change "add-search"
    When I advance "add-search" to "propose"
    And I approve "add-search"
    And I advance "add-search"
    And someone removes the Purpose from the delta spec of "add-search"
    And I try to advance "add-search"
    Then the command fails with exit code 1
    And the error says "nothing was merged or moved"
    And the change "add-search" is open in state "apply"
    And there is no living spec "search"

  Scenario: A check failing after the archive keeps the change in view, with the fix
    Given the hub has a living spec "notes" whose Purpose is too brief
    And a change "add-search"
    When I advance "add-search" to "propose"
    And I approve "add-search"
    And I try to advance "add-search" to "archive"
    Then the command fails with exit code 1
    And the error says "archived the change, then its checks failed"
    And the status table lists "add-search" with the next action "fix and retry"
    And "specflow show add-search" shows its proposal and "fix and retry: specflow advance add-search"
    And the dashboard's board shows "add-search" among the changes that need me
    When the living spec "notes" gets a Purpose long enough
    And I archive "add-search"
    Then the change "add-search" is archived in state "archive"
    And the status table lists no change
