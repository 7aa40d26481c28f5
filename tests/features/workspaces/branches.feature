Feature: A change is its branches
  Every change works only in its own worktrees, on the branch specflow/<id> in the hub and in
  each repo it affects, and specflow commits what its agent did after every attempt. Changes
  that run side by side never see each other's work, and the person's own checkouts of the hub
  and of the repos are never touched. An approved proposal is published to the hub's main
  branch; merging lands every branch of the change.

  Background:
    Given a hub with the component repos "api" and "bot" and a scripted agent

  Scenario: Four changes advance at the same time, and each keeps all its work
    Given the changes "one, two, three, four", each affecting "api" and "bot"
    And the agents wait in their propose phase until they are let go
    When I start advancing "one, two, three, four" to "apply"
    And the agents of "one, two, three, four" are all at work
    And the agents are let go
    Then every run I started succeeded
    And each of "one, two, three, four" is in state "apply" with its own proposal, ticked tasks and code on its branches
    And the checkouts of the hub and of the repos are as they were

  Scenario: A person's edits made while an agent works are never touched
    Given a change "add-login" affecting "api" and "bot"
    And the agents wait in their propose phase until they are let go
    When I start advancing "add-login" to "apply"
    And the agents of "add-login" are all at work
    And a person adds "my own line\n" to "docs/style.md" in the hub's checkout
    And a person adds "# my own line\n" to "src/app.py" in the checkout of "api"
    And the agents are let go
    Then every run I started succeeded
    And the person's edits are there, byte for byte
    And no attempt of "add-login" recorded a write outside its gate

  Scenario: An agent that never commits: specflow commits its work, and merge lands it
    Given a change "add-login" affecting "api" and "bot"
    And the agent never commits its work
    When I advance "add-login" to "apply"
    Then the branches of "add-login" in "api" and "bot" hold the agent's work, committed by specflow
    And the worktrees of "add-login" hold nothing uncommitted
    When I run "specflow merge add-login"
    Then the command succeeds
    And "api" has the merge commit "specflow: merge change add-login" on main
    And "bot" has the merge commit "specflow: merge change add-login" on main
    And the hub's main branch has the change "add-login" with every task ticked

  Scenario: Approving a change publishes its proposal to the hub's main branch
    Given a change "add-login" affecting "api" and "bot"
    And the change "add-login" is in state "propose"
    When I run "specflow approve add-login"
    Then the command succeeds
    And the hub's main branch has the proposal of "add-login"
    And the hub's checkout has nothing uncommitted

  Scenario: Publishing refuses over a person's file in its way, and writes nothing
    Given a change "add-login" affecting "api" and "bot"
    And the change "add-login" is in state "propose"
    And a person has an untracked "openspec/changes/add-login/proposal.md" in the hub's checkout
    When I run "specflow approve add-login"
    Then the command fails with exit code 1
    And the error says "publishing of 'add-login' refused, nothing was merged"
    And the error says "openspec/changes/add-login/proposal.md"
    And the history of "add-login" has no approval
    And the person's file "openspec/changes/add-login/proposal.md" in the hub's checkout is as they wrote it

  Scenario: Reaching the final state lands the change on main, or says why not and how to land it
    Given a change "add-login" affecting "api" and "bot"
    And the change "add-login" is in state "apply"
    When I run "specflow merge add-login"
    And a person stages "notes.txt" in the hub's checkout
    And I run "specflow advance add-login"
    Then the command succeeds
    And the change "add-login" is in state "done"
    And the output says "the change's hub branch did not land on its base"
    And the output says "staged changes, which the merge commit would take in: notes.txt"
    And the output says "specflow merge add-login"
    And the hub's main branch has "add-login" in state "apply"
    When the person unstages "notes.txt" in the hub's checkout
    And I run "specflow merge add-login"
    Then the command succeeds
    And the hub's main branch has "add-login" in state "done"

  Scenario: A change made before changes had branches continues on its own branch
    Given a change "old-one" affecting "api" and "bot", made on the hub's checkout as specflow did before
    When I run "specflow advance old-one"
    Then the command succeeds
    And the output says "moved change 'old-one' onto its branch specflow/old-one"
    And the change "old-one" is in state "explore"
    And the hub's checkout has nothing uncommitted
