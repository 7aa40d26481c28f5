Feature: Write gates hold for every adapter
  Whatever the agent does in the change's own worktrees, the audit after its turn puts back
  everything it wrote outside the phase's gate — exactly as it was, only those paths — keeps its
  in-gate work, records each violation in history and fails the transition. The person's own
  checkouts of the hub and the repos are never touched.

  Background:
    Given a hub with the component repos "api" and "bot" and a scripted agent
    And a change "add-login" affecting "api" and "bot"

  Scenario Outline: An agent that escapes its gate is put back, its in-gate work kept
    Given the change "add-login" is in state "<start>"
    And the agent also tries <escape> in its phase
    When I try to advance "add-login" to "<phase>"
    Then the command fails with exit code 1
    And the error says "the agent wrote outside its gate (put back)"
    And the history of "add-login" records <escape> as put back
    And everything outside the gate is exactly as it was
    And the in-gate work of the <phase> phase is kept
    And the change "add-login" is in state "<start>"

    Examples:
      | escape                                 | start   | phase   |
      | a write to a hub file outside the gate | explore | propose |
      | a write to ../x                        | propose | apply   |
      | a write to an absolute path            | propose | apply   |
      | a write through a symlink              | propose | apply   |
      | a deletion                             | explore | propose |
      | a chmod                                | explore | propose |
      | a new symlink out of the gate          | explore | propose |
      | a commit on the hub's branch           | explore | propose |
      | a moved HEAD in the hub                | explore | propose |
      | an explore phase that writes anything  | draft   | explore |

  Scenario: An agent that closes the folder it wrote in cannot hide the write from the audit
    git skips a folder it may not open, and every user but root is bound by a folder's mode bits:
    the audit opens what the agent closed, puts back what it wrote there, and gives the folder
    its owner's access back.
    Given the change "add-login" is in state "explore"
    And the agent also tries a write hidden in a folder it closes in its phase
    When I try to advance "add-login" to "propose" as a user bound by the mode bits
    Then the command fails with exit code 1
    And the error says "the agent wrote outside its gate (put back)"
    And the history of "add-login" records a write hidden in a folder it closes as put back
    And everything outside the gate is exactly as it was
    And the folder "docs" of the change's worktree of the hub can be read by its owner again
    And the change "add-login" is in state "explore"

  Scenario: Apply may only tick tasks: a task it removes comes back, its honest tick kept
    Given the change "add-login" is in state "propose"
    And the agent also tries removing task 1.2 from tasks.md in its phase
    When I try to advance "add-login" to "apply"
    Then the command fails with exit code 1
    And the error says "may only be ticked ('- [ ]' to '- [x]'): lines were added or removed"
    And the hub's tasks.md of "add-login" has task 1.1 ticked and task 1.2 back, open
    And what the agent wrote in tasks.md is saved under refs/specflow/rejected
    And the change "add-login" is in state "propose"

  Scenario: An audit that cannot read its checkpoint fails the attempt and deletes nothing
    Given the agent also tries deleting the checkpoints and pruning git's objects in its phase
    When I try to advance "add-login" to "explore"
    Then the command fails with exit code 1
    And the error says "cannot audit the agent's work: checkpoint #1 is no longer readable in hub"
    And the error says "nothing was put back or removed"
    And "planted.txt" in the change's worktree of the hub says "written by the agent\n"
    And the change "add-login" is in state "draft"

  Scenario: Work inside the gate is kept, commits on the change's branch included
    When I advance "add-login" to "apply"
    Then the change "add-login" is in state "apply"
    And the in-gate work of the apply phase is kept
    And every task of "add-login" is ticked in the hub's tasks.md
