Feature: Phases that need no terminal
  A phase can run in a process of its own: the command that starts it returns at once and says
  where to follow it, the phase goes on when the terminal is gone, and it can be cancelled.

  Background:
    Given a hub with the mini workflow and an agent that waits for a signal
    And a change "add-login"

  Scenario: A phase started in the background goes on after its terminal is gone
    When I run "specflow advance add-login --background" in a terminal that then closes
    Then the command said where to follow it: "status --watch", "ui" and the run's log
    And the board shows "add-login" running "think" with the agent's current tool call "Read openspec/specs"
    When the agent is let go
    Then the change "add-login" reaches the state "think"

  Scenario: Cancelling a phase stops it and leaves the change waiting for a person
    When I run "specflow advance add-login --background" in a terminal that then closes
    And the board shows "add-login" running "think" with the agent's current tool call "Read openspec/specs"
    And I cancel the phase of "add-login"
    Then the board shows "add-login" in the needs-you lane because it was "interrupted"
    And the live board in a terminal shows "add-login" with "retry think"
