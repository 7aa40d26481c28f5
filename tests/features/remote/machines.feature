Feature: Several machines through git alone
  A change is its branches: its folder and records travel on its hub branch, its work on its repo
  branches. "specflow push" sends them and their checkpoints to the remotes, "specflow pull" brings
  them to another clone, and the change goes on there from the commits the first machine made.
  While a machine runs a phase of a change whose branches are on a remote, it holds the change's
  lease there: another machine is refused, and may take over only once the lease has expired. When
  both machines advanced the change, merging its hub branches merges their histories without
  conflict.

  Background:
    Given two machines "alpha" and "beta" with clones of one hub and of its repo "api"

  Scenario: A change pushed from one machine is pulled and continued on the other
    Given on "alpha" the change "add-login" has run its first phase
    When on "alpha" I run "specflow push add-login"
    Then the command succeeds
    And the output says "api: specflow/add-login pushed on origin"
    When on "beta" I try to advance "add-login"
    Then the error says "bring it here with 'specflow pull add-login'"
    When on "beta" I run "specflow pull add-login"
    Then the command succeeds
    And the output says "hub: specflow/add-login created from origin/specflow/add-login"
    And the output says "api: specflow/add-login created from origin/specflow/add-login"
    And on "beta" the change "add-login" is in state "first"
    When on "beta" I advance "add-login"
    Then the change "add-login" is in state "second"
    And the work log in the "api" worktree on "beta" reads "first on alpha" then "second on beta"
    When on "beta" I run "specflow status add-login"
    Then the output says "ran on     beta (second succeeded"

  Scenario: A lease keeps the other machine out until it expires, then it is taken over
    Given on "alpha" the change "add-login" has run its first phase
    And "alpha" pushed it and "beta" pulled it
    And "alpha" holds the lease of "add-login" for 2 seconds, as a run that died leaves it
    When on "beta" I try to advance "add-login"
    Then the error says "change 'add-login' is held by machine 'alpha'"
    And the error says "until"
    When on "beta" I run "specflow advance add-login --take-over"
    Then the error says "--take-over works only once the lease has expired"
    When the lease of "alpha" has expired
    And on "beta" I try to advance "add-login"
    Then the error says "that lease has expired"
    When on "beta" I run "specflow advance add-login --take-over"
    Then the command succeeds
    And the output says "took over the expired lease of machine 'alpha'"
    And the change "add-login" is in state "second"
    And no machine holds the lease of "add-login"

  Scenario: Both machines advance the change and their histories merge with a correct state
    Given on "alpha" the change "add-login" exists
    And "alpha" pushed it and "beta" pulled it
    When on "beta" I advance "add-login"
    And on "alpha" I advance "add-login" to "second"
    And on "alpha" I run "specflow push add-login"
    Then the command succeeds
    When on "beta" I run "specflow pull add-login"
    Then the error says "hub: specflow/add-login has diverged from origin/specflow/add-login"
    When "beta" merges the hub branch of "add-login" that "alpha" pushed, through git
    Then the merge had no conflict
    And on "beta" the change "add-login" is in state "second"
    And the history on "beta" has the attempts of "beta" and then of "alpha"
    When on "beta" I run "specflow status"
    Then the command succeeds
    And the output says "second"
