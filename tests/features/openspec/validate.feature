Feature: Validate changes and specs as OpenSpec does
  specflow applies OpenSpec's rules with OpenSpec's levels and messages, so a change that
  "openspec validate --strict" accepts passes specflow's strict validation too.

  Background:
    Given an OpenSpec project with the "auth" spec

  Scenario: A valid change passes, even strictly
    Given a change "add-audit" that adds the requirement "Audit" to "auth"
    When I run "specflow validate add-audit --strict"
    Then the command succeeds
    And the output says "Change 'add-audit' is valid"

  Scenario: A requirement without SHALL or MUST only fails strict validation
    Given a change "soften" that adds the requirement "Polite" to "auth" without a keyword
    When I run "specflow validate soften"
    Then the command succeeds
    When I run "specflow validate soften --strict"
    Then the command fails with exit code 1
    And the error says "ADDED \"Polite\" should contain SHALL or MUST"

  Scenario: The JSON report has OpenSpec's shape
    Given a change "add-audit" that adds the requirement "Audit" to "auth"
    When I run "specflow validate --all --strict --json"
    Then the command succeeds
    And the JSON report lists "add-audit" as a valid change and "auth" as a valid spec

  Scenario: Validating again reads an edited file again, in a hub that remembers earlier results
    Given a change "add-audit" that adds the requirement "Audit" to "auth"
    And the project is a hub specflow has used, its files last changed a minute ago
    When I run "specflow validate --all --strict"
    Then the command succeeds
    And specflow remembers the results of "add-audit" and "auth"
    Given the change "add-audit" no longer says SHALL in "Audit"
    When I run "specflow validate --all --strict"
    Then the command fails with exit code 1
    And the error says "ADDED \"Audit\" should contain SHALL or MUST"
