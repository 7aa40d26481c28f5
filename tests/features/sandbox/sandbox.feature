Feature: A sandbox holds every agent at the system call
  Whatever an agent tries, it can write only inside its phase's gate: the sandbox refuses
  everything else before it happens, and the attempt's history names the layer that held it.
  Where no sandbox can run, a hub that requires one refuses to start the agent.

  Scenario Outline: A read-only phase writes nothing, whatever its agent tries
    Given a hub with the mini workflow and an agent that writes everywhere
    And the hub's sandbox is "<layer>"
    And a change "add-login"
    When I advance "add-login"
    Then the change "add-login" is in state "think"
    And the agent was refused writing "CLAUDE.md", "../outside.txt" and "openspec/changes/add-login/notes.md"
    And nothing outside the gate changed
    And the last attempt of "add-login" was held by "<layer>" with no write to put back

    Examples:
      | layer      |
      | bubblewrap |
      | landlock   |

  Scenario: A hub that requires a sandbox refuses to run an agent with the sandbox off
    Given a hub with the mini workflow and an agent that writes everywhere
    And the hub requires a sandbox but turns it off
    And a change "add-login"
    When I try to advance "add-login"
    Then the command fails with exit code 1 saying "require_sandbox is true but the sandbox is turned off"
    And the change "add-login" is still in state "draft" with no attempt recorded

  Scenario: An agent that forges specflow's records where they used to live gains nothing
    Given a hub with the mini workflow and an agent that forges specflow's records in ".specflow/" and edits "CLAUDE.md"
    And a change "add-login"
    When I try to advance "add-login"
    Then the command fails with exit code 1 saying "the agent wrote outside its gate (put back)"
    And the change "add-login" is in state "draft"
    And "CLAUDE.md" is as it was before the agent ran
    And the last attempt of "add-login" reports "CLAUDE.md" put back

  Scenario: Tags, notes, modes and ignored files an agent changes are put back and reported
    Given a hub with the mini workflow and an agent that tags, annotates, chmods "CLAUDE.md" and edits the ignored "local.env"
    And a change "add-login"
    When I try to advance "add-login"
    Then the command fails with exit code 1 saying "the agent wrote outside its gate (put back)"
    And the hub has no tag or note the agent made
    And "CLAUDE.md" and "local.env" are as they were before the agent ran, modes included
    And the last attempt of "add-login" reports "refs/tags/v9" as "ref", "refs/notes/commits" as "ref", "CLAUDE.md" as "mode" and "local.env" as "modified"
