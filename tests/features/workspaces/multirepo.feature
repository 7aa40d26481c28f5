Feature: One change across two repos
  A change that affects two component repos works in one worktree per repo, on the branch
  specflow/<id>, with the hub's openspec/ and shared folders linked in; the agent ticks the hub's
  own tasks.md through the link; the work is reviewed with diff, merged with a merge commit
  naming the change, and the worktrees are removed once the change is archived.

  Background:
    Given a hub with the component repos "api" and "bot" and a scripted agent
    And a change "add-login" affecting "api" and "bot"

  Scenario: From worktrees to merge to clean
    When I advance "add-login" to "apply"
    Then each of "api" and "bot" has a worktree on "specflow/add-login" with the hub linked in
    And the setup of "api" ran with its output in ".git/specflow/logs/add-login/setup-api.log"
    And every task of "add-login" is ticked in the hub's tasks.md
    When I run "specflow workspace add-login --repo api"
    Then the output says ".specflow/worktrees/add-login/api"
    When I run "specflow diff add-login --stat"
    Then the output says "src/login.py | 2 ++"
    And the output says "bot.py | 2 +-"
    When I run "specflow advance add-login"
    Then the command fails with exit code 1
    And the error says "specflow/add-login is not merged into main in api"
    When I run "specflow merge add-login"
    Then the command succeeds
    And "api" has the merge commit "specflow: merge change add-login" on main
    And "bot" has the merge commit "specflow: merge change add-login" on main
    When I run "specflow advance add-login"
    Then the change "add-login" is in state "done"
    When I run "specflow clean add-login"
    Then the command fails with exit code 1
    And the error says "is not archived"
    When the change "add-login" is archived by hand
    And I run "specflow clean add-login"
    Then the command succeeds
    And the worktrees of "add-login" are gone and its branches kept

  Scenario: A failed setup stops the phase with the log path, the state unchanged
    Given the change "add-login" is in state "propose"
    And the setup of "api" fails
    When I try to advance "add-login" to "apply"
    Then the command fails with exit code 1
    And the error says "setup of repo 'api' (echo npm ERR! cannot install; exit 7) failed with exit code 7"
    And the error says ".git/specflow/logs/add-login/setup-api.log"
    And the change "add-login" is in state "propose"
