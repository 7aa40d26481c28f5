Feature: Approvals mean what they say
  An approval binds the artifacts a person read. A rejection, or a step back before the
  approval, voids it, and status says so.

  Background:
    Given a hub with the built-in workflow and an agent that follows the prompts
    And a change "add-search"

  Scenario: Approve needs a proposal
    When I try to approve "add-search"
    Then the command fails with exit code 1
    And the error says "change 'add-search' has no proposal.md"
    And the history of "add-search" records the outcomes "created"

  Scenario: A rejection voids the approval
    When I advance "add-search" to "propose"
    And I approve "add-search"
    And I fire the trigger "reject" on "add-search"
    Then the change "add-search" is in state "explore"
    And the last history event of "add-search" voided the approval of "Dev Eloper"
    When I advance "add-search"
    Then the change "add-search" is in state "propose"
    And the next action of "add-search" is "approve" with "specflow approve add-search"
    And "specflow status add-search" says "approval voided: rejected (reject: propose -> explore)"
    When I try to advance "add-search"
    Then the error says "was voided: rejected"

  Scenario: Status shows an approval voided by an edit
    When I advance "add-search" to "propose"
    And I approve "add-search"
    Then the next action of "add-search" is "advance" with "specflow advance add-search"
    When the proposal of "add-search" is edited
    Then "specflow status add-search" says "approval voided: the proposal changed after Dev Eloper approved it at"
    And the next action of "add-search" is "approve" with "specflow approve add-search"
