Feature: Show changes and specs as OpenSpec does
  "specflow show --json" prints the document "openspec show --json" prints, failures included,
  so a tool written for OpenSpec reads specflow's output unchanged.

  Background:
    Given an OpenSpec project with the "auth" spec

  Scenario: A change folder whose name is not kebab-case is shown, not refused
    Given a change "Old_Change" that adds the requirement "Audit" to "auth"
    When I run "specflow show Old_Change --json"
    Then the command succeeds
    And the JSON document shows the change "Old_Change" with 1 delta and no specflow state

  Scenario: A spec without a Purpose cannot be shown, and the JSON says why
    Given the spec "legacy" has no Purpose section
    When I run "specflow show legacy --json"
    Then the command fails with exit code 1
    And the output is OpenSpec's "show_error" status saying "Spec must have a Purpose section"
    And nothing is printed on the error stream

  Scenario: Text in any language stays readable in the JSON
    Given a change "add-cafe" that adds the requirement "Café crème 抹茶" to "auth"
    When I run "specflow show add-cafe --json"
    Then the command succeeds
    And the output says "The system SHALL support café crème 抹茶."

  Scenario: An unknown item gets OpenSpec's suggestions
    When I run "specflow show auht --json"
    Then the command fails with exit code 1
    And the output is OpenSpec's "unknown_item" status saying "Unknown item 'auht'. Did you mean: auth?"
