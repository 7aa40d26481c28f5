Feature: specflow doctor checks a hub's setup before any agent runs
  Every check names what it found; each failure comes with its fix,
  and one failure is enough for doctor to exit with code 1.

  Background:
    Given a hub with the component repo "api"
    And a scripted agent as the default agent

  Scenario: A hub with a wrong repo path, a missing base branch and a missing agent program
    Given the repo "web" is configured at "../web-typo"
    And the base branch of "api" is configured as "release"
    And the default agent runs the program "/opt/nowhere/agent"
    When I run doctor
    Then the command fails with exit code 1
    And doctor fails "repo web" saying "../web-typo does not exist"
    And the fix for "repo web" says "correct its 'path:' in specflow.yaml"
    And doctor fails "repo api: base branch" saying "branch 'release' does not exist"
    And the fix for "repo api: base branch" says "git -C"
    And doctor fails "agent scripted" saying "program '/opt/nowhere/agent' not found"
    And the fix for "agent scripted" says "correct the agent's 'command:' in specflow.yaml"
    And doctor reports "git" as ok
    And doctor reports "repo api" as ok

  Scenario: A hub whose setup is complete
    When I run doctor
    Then the command succeeds
    And doctor reports "config" as ok
    And doctor reports "repo api" as ok
    And doctor reports "repo api: base branch" as ok
    And doctor reports "repo api: link openspec" as ok
    And doctor reports "agent scripted" as ok
    And the output says "everything specflow needs is in place"

  Scenario: The checks as JSON
    Given the base branch of "api" is configured as "release"
    When I run doctor with "--json"
    Then the command fails with exit code 1
    And the JSON lists "repo api: base branch" as "fail" with a fix

  Scenario: advance with a broken repo path stops before the agent and records no attempt
    Given the repo "web" is configured at "../web-typo"
    And a change "add-web" affecting "web" whose next phase works in the repos' worktrees
    When I advance "add-web"
    Then the command fails with exit code 1
    And the error says "../web-typo does not exist"
    And the error's fix says "correct its 'path:' in specflow.yaml"
    And the agent never ran
    And the history of "add-web" records no attempt and the change is still in "draft"
