Feature: Any command agent reports its cost, tokens and tool calls
  A command agent may write JSON event lines on its stderr: its session, the tools it calls,
  its text, the tokens it used and what it cost. specflow reads them as it reads Claude Code's
  stream, so status shows what a change has cost and a budget stops a change that spent it.
  Plain lines are still progress, and a line specflow cannot read never stops the agent.

  Background:
    Given a hub with the mini workflow and a command agent that reports in event lines
    And a change "add-login"

  Scenario: The cost and tokens the agent reports show in status
    Given each phase of the agent costs $0.60 and uses 1200 input and 300 output tokens
    When I advance "add-login"
    Then the status table shows "add-login" has cost "$0.60"
    And the status of "add-login" shows the phase "think" cost "$0.6000" with tokens "1200/300"
    And the history of "add-login" records the session "session-think" and 1 tool call
    And the advance showed the tool call "Read openspec/changes/add-login/proposal.md"

  Scenario: A budget lets the change go on while money is left
    Given each phase of the agent costs $0.30 and uses 1200 input and 300 output tokens
    And the mini workflow requires "the change has cost less than $0.50" before writing
    When I advance "add-login"
    And I advance "add-login"
    Then the change "add-login" is in state "write"

  Scenario: A budget stops the change once the agent has spent it
    Given each phase of the agent costs $0.60 and uses 1200 input and 300 output tokens
    And the mini workflow requires "the change has cost less than $0.50" before writing
    When I advance "add-login"
    And I try to advance "add-login"
    Then the command fails with exit code 1
    And the error says "the change has cost $0.6000 (think $0.6000), which is not less than its budget of $0.5"
    And the change "add-login" is in state "think"

  Scenario: Lines specflow cannot read are progress or warnings, never failures
    Given the agent also writes a broken event line, an event of an unknown kind and a plain line
    When I advance "add-login"
    Then the change "add-login" is in state "think"
    And the advance showed the progress line "{"specflow": 1, "event": "cost", "usd": 0.1"
    And the advance showed the progress line "thinking hard"
    And the advance showed the warning "event line 3: unknown event "teleport" ignored (known: cost, session, text, tokens, tool)"
