Feature: The dashboard shows every change and steers it
  From a browser, people see every change by what it needs, start a phase that runs in the
  background and watch its agent's tool calls arrive live, approve, read the diff and revert.

  Background:
    Given the example hub with the change "add-greeting-endpoint" across api and bot
    And the dashboard is open in a browser

  Scenario: An advance started from the page shows the agent's tool calls live
    Then the board shows "add-greeting-endpoint" in the "open" lane
    When I open the page of "add-greeting-endpoint"
    And I press "advance"
    Then the change "add-greeting-endpoint" reaches the state "explore"
    And every tool call of the agent appeared on the page within 1 second of the call
    And a screenshot of the page is kept as "change-live.png"

  Scenario: A phase started from a terminal shows up live on the board
    Given the example hub has an agent "slow" that reads "specs/greetings" and waits for a signal
    When I run "specflow advance add-greeting-endpoint --agent slow" in a terminal
    Then the board shows "add-greeting-endpoint" in the "running" lane
    And the card of "add-greeting-endpoint" shows the tool call "Read specs/greetings"
    When the agent is let go
    Then the board shows "add-greeting-endpoint" in the "open" lane

  Scenario: Approving from the board moves the card
    Given "add-greeting-endpoint" has been explored and proposed
    Then the board shows "add-greeting-endpoint" in the "needs-you" lane
    And the card of "add-greeting-endpoint" says where its last phase ran
    And a screenshot of the page is kept as "board.png"
    When I press "approve" on the card of "add-greeting-endpoint"
    Then the board shows "add-greeting-endpoint" in the "open" lane

  Scenario: The diff shows the change's code, and a revert from the page restores the files
    Given "add-greeting-endpoint" has been applied
    When I open the page of "add-greeting-endpoint"
    Then the diff shows "service.py" of the api repo with "def greet("
    And a screenshot of the page is kept as "change-diff.png"
    When I revert to the first checkpoint taken before apply
    Then "service.py" in the api worktree no longer has "def greet("
