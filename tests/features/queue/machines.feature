Feature: A pushed change goes on through the queue on any machine
  Several machines share one queue database. A change whose branches are pushed to their remotes
  is queued for any machine: the first free worker brings the change from the remote, holds the
  change's lease while the phase runs, and pushes the result before it lets the lease go. A
  machine that dies in the middle of a phase stops renewing its lease; once the lease has expired,
  the worker of another machine takes the run over. It records the lost attempt as interrupted,
  runs the phase again from what was pushed, and pushes it. The machine that died, started again,
  does not run the phase a second time. A run waiting for a person's approval holds no lease: once
  the worker of its machine has not been seen for a lease's term, another machine's worker takes
  the run and goes on with it when the approval comes.

  Background:
    Given two machines "alpha" and "beta" sharing one queue database and the remotes of one hub
    And on "alpha" the change "add-login" was made and pushed

  Scenario: A pushed change is run by whichever machine's worker is free
    When on "alpha" I run "specflow advance add-login --queue"
    Then the command succeeds
    And the output says "add-login: advance queued for any machine"
    When the worker of "beta" starts
    Then on "beta" the change "add-login" reaches the state "think"
    And on "beta" the history of "add-login" reads "created, succeeded"
    And the remote has the change "add-login" as "beta" left it
    When on "alpha" I run "specflow pull add-login"
    Then the command succeeds
    And on "alpha" the history of "add-login" reads "created, succeeded"

  Scenario: A machine killed in the middle of a phase is replaced once its lease has expired
    Given the agent of "alpha" holds in the middle of its phase
    And the worker of "alpha" starts
    When on "alpha" I run "specflow advance add-login --queue"
    And the agent of "alpha" has started
    And the worker of "beta" starts
    And the worker of "alpha" is killed with kill -9
    Then the worker of "beta" says "machine 'alpha' stopped in the middle of a phase"
    And on "beta" the change "add-login" reaches the state "think"
    And on "beta" the history of "add-login" reads "created, interrupted, succeeded"
    And on "beta" the interrupted attempt of "add-login" is recorded as run on "alpha"
    And the remote has the change "add-login" as "beta" left it
    When the worker of "alpha" starts again
    Then the worker of "alpha" says "0 run(s) left pending by this machine taken back"
    When on "alpha" I run "specflow pull add-login"
    Then the command succeeds
    And on "alpha" the history of "add-login" reads "created, interrupted, succeeded"
    And the agent of "alpha" has started only once

  Scenario: A run waiting for an approval on a machine that is gone goes on on another machine
    Given on "alpha" the change "add-login" was advanced to "write" and pushed
    And the worker of "alpha" starts
    When on "alpha" I run "specflow advance add-login --queue"
    Then the worker of "alpha" says "add-login: waiting for a person's approval"
    When the worker of "alpha" is killed with kill -9
    And the worker of "beta" starts
    Then the worker of "beta" says "machine 'alpha' has not been seen for"
    When on "alpha" I run "specflow approve add-login --by ada"
    Then the command succeeds
    And the worker of "beta" says "add-login: ada approved it; waiting for the approval to be pushed"
    When on "alpha" I run "specflow push add-login"
    Then the command succeeds
    And on "beta" the change "add-login" reaches the state "done"
    And on "beta" the history of "add-login" reads "created, succeeded, succeeded, blocked, approved, succeeded"
    And the remote has the change "add-login" as "beta" left it
