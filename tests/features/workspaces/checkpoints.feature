Feature: Checkpoints and rollback
  Before every agent turn each workspace of the change is checkpointed; a user can list the
  checkpoints and revert to any of them, and a revert can itself be reverted.

  Background:
    Given a hub with the component repos "api" and "bot" and a scripted agent
    And a change "add-login" affecting "api" and "bot"

  Scenario: Roll back an agent turn, then undo the rollback
    Given the change "add-login" is in state "propose"
    When I run "specflow checkpoints add-login"
    Then the command succeeds
    And the output says "explore"
    And the output says "propose"
    When I run "specflow revert add-login --to 2"
    Then the command fails with exit code 1
    And the error says "pass --yes"
    When I run "specflow revert add-login --to 2 --yes"
    Then the command succeeds
    And the output says "restored checkpoint #2"
    And the output says "state propose -> explore"
    And the change "add-login" is in state "explore"
    And the file "proposal.md" of "add-login" does not exist
    When I run "specflow revert add-login --to 3 --yes"
    Then the command succeeds
    And the change "add-login" is in state "propose"
    And the file "proposal.md" of "add-login" says "## Why\nUsers must log in.\n"
