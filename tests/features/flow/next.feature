Feature: Status tells what to do next
  Every change in the status table has a next action and the command that does it.

  Background:
    Given a hub with the built-in workflow and an agent that follows the prompts
    And a change "add-search"

  Scenario: The next action follows the change through the built-in workflow
    Then the next action of "add-search" is "advance" with "specflow advance add-search"
    When I advance "add-search" to "propose"
    Then the next action of "add-search" is "approve" with "specflow approve add-search"
    When I approve "add-search"
    And I advance "add-search"
    Then the next action of "add-search" is "archive" with "specflow advance add-search"
    When I advance "add-search"
    Then the next action of "add-search" is "nothing" with no command
