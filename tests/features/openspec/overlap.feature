Feature: Overlapping changes are caught before they collide
  Two open changes whose deltas name the same requirement are invisible to OpenSpec
  until one archives. The step "no other open change touches the same requirements"
  makes a workflow stop and say which change and which requirement overlap.

  Background:
    Given a git hub with the "auth" spec and a workflow guarded by the overlap step

  Scenario: An overlapping change blocks the transition, naming the other change
    Given a change "tighten-login" that modifies "Login" in "auth", adopted under the guarded workflow
    And a change "drop-login" that removes "Login" from "auth", adopted under the guarded workflow
    When I run "specflow advance tighten-login"
    Then the command fails with exit code 1
    And the error says "drop-login (auth: \"Login\")"
    And the change "tighten-login" is in state "draft" of workflow "guarded"

  Scenario: Once the other change is gone the transition goes through
    Given a change "tighten-login" that modifies "Login" in "auth", adopted under the guarded workflow
    When I run "specflow advance tighten-login"
    Then the command succeeds
    And the change "tighten-login" is in state "ready" of workflow "guarded"
