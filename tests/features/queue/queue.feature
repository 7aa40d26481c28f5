Feature: Phases from a durable queue
  A phase can be queued instead of run in place: the command returns at once with the id of the
  queued run, and the worker of the machine that holds the change runs it. A phase that waits for
  a person's approval goes on as soon as the person approves. A worker killed in the middle of a
  phase runs that phase again, from its checkpoint, when it starts again.

  Background:
    Given a hub with the mini workflow and an agent that writes what it is asked
    And a change "add-login"

  Scenario: A queued phase is run by the machine's worker
    When I run "specflow advance add-login --queue --machine laptop"
    Then the command succeeds
    And the output says "add-login: advance queued for machine 'laptop'"
    And the change "add-login" is in state "draft"
    When the worker of machine "laptop" starts
    Then the change "add-login" reaches the state "think"
    And the history of "add-login" ends with "created, succeeded"

  Scenario: An approval lets a waiting phase go on
    Given the change "add-login" is in state "write"
    And the worker of machine "laptop" is running
    When I run "specflow advance add-login --queue --machine laptop"
    Then the worker of "laptop" says "add-login: waiting for a person's approval"
    When I run "specflow approve add-login"
    Then the change "add-login" reaches the state "done"
    And the history of "add-login" ends with "blocked, approved, succeeded"

  Scenario: A worker killed in the middle of a phase runs it again when it starts again
    Given the agent holds in the middle of its phase
    And the worker of machine "laptop" is running
    When I run "specflow advance add-login --queue --machine laptop"
    And the agent has started 1 time
    And the worker of "laptop" is killed with kill -9
    And the worker of machine "laptop" starts
    And the agent has started 2 times
    And the agent is let go
    Then the change "add-login" reaches the state "think"
    And the history of "add-login" ends with "created, interrupted, succeeded"
