Feature: Archive a change into the living specs
  Archive merges a change's deltas into the main specs exactly as "openspec archive" does,
  then files the change away under a dated folder. If anything would fail, nothing changes.

  Background:
    Given an OpenSpec project with the "auth" spec

  Scenario: Archiving merges the deltas and moves the change
    Given a change "add-audit" that adds the requirement "Audit" to "auth"
    When I run "specflow archive add-audit --yes"
    Then the command succeeds
    And the spec "auth" has the requirements "Login, Logout, Audit"
    And the change "add-audit" is archived under today's date

  Scenario: A delta archive would refuse changes nothing
    Given a change "ghost" that modifies the missing requirement "Ghost" in "auth"
    When I run "specflow archive ghost --yes"
    Then the command fails with exit code 1
    And the error says "auth MODIFIED failed for header \"### Requirement: Ghost\" - not found"
    And the project is unchanged

  Scenario: A change under a workflow is archived by its workflow
    Given a change "add-audit" that adds the requirement "Audit" to "auth"
    And the change "add-audit" is adopted under the "openspec" workflow
    When I run "specflow archive add-audit --yes"
    Then the command fails with exit code 1
    And the error says "specflow advance add-audit"
