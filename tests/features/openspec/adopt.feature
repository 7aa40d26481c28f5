Feature: Adopt in-flight OpenSpec changes
  Existing changes are put under a workflow in the state their files show,
  and the adoption is recorded in their history.

  Background:
    Given an OpenSpec project with the "auth" spec

  Scenario: The state is inferred from the change's files
    Given a change "add-audit" that adds the requirement "Audit" to "auth"
    And the tasks of "add-audit" are all done
    When I run "specflow adopt add-audit --workflow openspec"
    Then the command succeeds
    And the change "add-audit" is in state "apply" of workflow "openspec"
    And the history of "add-audit" records an adoption into "apply"

  Scenario: Adopting everything skips nothing and refuses nothing twice
    Given a change "add-audit" that adds the requirement "Audit" to "auth"
    And a change "notes-only" with only exploration notes
    When I run "specflow adopt --all --workflow openspec"
    Then the command succeeds
    And the change "add-audit" is in state "propose" of workflow "openspec"
    And the change "notes-only" is in state "explore" of workflow "openspec"
    When I run "specflow adopt add-audit"
    Then the command fails with exit code 1
    And the error says "already managed by specflow"
