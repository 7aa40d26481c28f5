Feature: A change runs through its workflow
  Every transition is guarded by its given steps, runs the phase's agent,
  is checked by its then steps and is recorded in the change's history.

  Background:
    Given a hub with the mini workflow and a scripted agent
    And a change "add-login"

  Scenario: A change goes through every phase
    When I advance "add-login"
    Then the change "add-login" is in state "think"
    And the file "notes.md" of "add-login" contains "notes about add-login"
    When I advance "add-login"
    Then the change "add-login" is in state "write"
    When I approve "add-login"
    And I advance "add-login"
    Then the change "add-login" is in state "done"
    And the history of "add-login" records the outcomes "created, succeeded, succeeded, approved, succeeded"

  Scenario: A guard blocks with its reason
    When I advance "add-login"
    And I advance "add-login"
    And I try to advance "add-login"
    Then the command fails with exit code 1
    And the error says "the proposal is approved: nobody has approved the proposal yet"
    And the change "add-login" is in state "write"

  Scenario: A then failure keeps the state and tells the next prompt why
    Given the agent forgets the "Why" section
    When I advance "add-login"
    And I try to advance "add-login"
    Then the command fails with exit code 1
    And the error says "proposal.md does not contain 'Why'"
    And the change "add-login" is in state "think"
    Given the agent remembers the "Why" section
    When I advance "add-login"
    Then the change "add-login" is in state "write"
    And the last prompt said "proposal.md does not contain 'Why'"

  Scenario: An approval stops holding when the proposal changes
    When I advance "add-login" to "write"
    And I approve "add-login"
    And the proposal of "add-login" is edited
    And I try to advance "add-login"
    Then the error says "the proposal changed after"

  Scenario: A custom trigger sends the proposal back
    When I advance "add-login" to "write"
    And I fire the trigger "reject" on "add-login"
    Then the change "add-login" is in state "think"

  Scenario: A custom step from specflow.yaml
    Given a step module "teamsteps" defining "the ticket is linked"
    And the mini workflow requires "the ticket is linked" before thinking
    When I try to advance "add-login"
    Then the error says "the ticket is linked: no TICKET file in the hub"
    Given the hub has a TICKET file
    When I advance "add-login"
    Then the change "add-login" is in state "think"

  Scenario: A killed run is recovered by the next advance
    Given an advance of "add-login" was killed mid-phase
    Then the status of "add-login" is "interrupted"
    And the private temporary folder of the agent killed in "add-login" is left behind
    When I advance "add-login"
    Then the change "add-login" is in state "think"
    And the history of "add-login" records the outcomes "created, interrupted, succeeded"
    And the killed agent's private temporary folder is gone

  Scenario: Two advances of one change: exactly one runs
    Given the agent waits for my go-ahead
    When two advances of "add-login" start together
    Then one of them is refused as locked while the other's agent works
    When I give the agent the go-ahead
    Then the other advance succeeds
    And the change "add-login" is in state "think"

  Scenario: The lock still holds when its file is deleted
    Given the agent waits for my go-ahead
    When an advance of "add-login" has its agent working
    And someone deletes the lock file of "add-login"
    Then another advance of "add-login" is refused as locked
    When I give the agent the go-ahead
    Then the advance that held the lock succeeds
    And the change "add-login" is in state "think"

  Scenario: Two different changes advance in parallel
    Given a change "add-logout"
    And the agent waits for my go-ahead
    When "add-login" and "add-logout" advance together
    Then both agents are working at the same time
    When I give the agent the go-ahead
    Then both advances succeed
    And the change "add-login" is in state "think"
    And the change "add-logout" is in state "think"

  Scenario: A state file of the wrong shape is named, and the other changes still show
    Given a change "fix-typo"
    And the state file of "add-login" says its state is the number 3
    When I try to advance "add-login"
    Then the command fails with exit code 1
    And the error says "state.json:1: corrupted state file: 'state' is a number (3), expected a string"
    And the error says "fix: correct 'state' or restore the file from git"
    When I run "specflow status"
    Then the command succeeds
    And the output says "fix-typo"
    And the output says "add-login is broken"

  Scenario: A history line of the wrong shape is named with its line
    Given a change "fix-typo"
    And a history line of "add-login" has a number for its time
    When I run "specflow status add-login"
    Then the command fails with exit code 1
    And the error says "history.jsonl:2: corrupted history: 'time' is a number (1), expected a string"
    And the error says "fix: correct or delete line 2"
    When I run "specflow status"
    Then the command succeeds
    And the output says "add-login is broken"
    And the output says "fix-typo"
