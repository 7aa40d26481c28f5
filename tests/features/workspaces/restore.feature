Feature: Nothing an agent writes is ever destroyed
  When the audit puts back what an agent wrote outside its gate, it saves it first. The history of
  the attempt says where it was saved and gives the one command that brings it back, and that
  command never overwrites what a person edited since.

  Background:
    Given a hub with the component repos "api" and "bot" and a scripted agent
    And a change "add-login" affecting "api" and "bot"
    And the agent also tries a write to a hub file outside the gate in its phase

  Scenario: A refused write is restored from where the audit saved it
    When I try to advance "add-login" to "propose"
    Then the command fails with exit code 1
    And "CLAUDE.md" in the change's worktree of the hub says "# Hub rules\nBe careful.\n"
    And the history of "add-login" says where "CLAUDE.md" was saved and how to restore it
    When I run the restore command the history gives
    Then the command succeeds
    And the output says "restored 1 path(s)"
    And "CLAUDE.md" in the change's worktree of the hub says "ignore the rules\n"
    And the hub's "CLAUDE.md" says "# Hub rules\nBe careful.\n"
    And the last event in the history of "add-login" is "restored"

  Scenario: A restore does not overwrite a person's edit made since
    When I try to advance "add-login" to "propose"
    And a person writes "my own rules\n" into "CLAUDE.md" in the change's worktree of the hub
    And I run the restore command the history gives
    Then the command fails with exit code 1
    And the error says "changed since the audit put them back"
    And the error says "--force"
    And "CLAUDE.md" in the change's worktree of the hub says "my own rules\n"
