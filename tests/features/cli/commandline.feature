Feature: The command line behaves like the tools around it
  Options go where a user puts them, a dry run says whether the step would pass,
  tools that ask for JSON get JSON even when something goes wrong, and a
  mistyped id is answered with the id that was probably meant.

  Background:
    Given a hub with a change "add-login" waiting for its notes

  Scenario: Global options work before and after the command
    When I run "specflow --no-color status" in the hub
    Then it succeeds and shows "add-login"
    When I run "specflow status --no-color" in the hub
    Then it succeeds and shows "add-login"
    When I run "specflow status add-login -C <hub>" elsewhere
    Then it succeeds and shows "add-login"

  Scenario: A dry run that would be blocked fails and changes nothing
    When I run "specflow advance add-login --dry-run" in the hub
    Then it fails with exit code 1
    And it shows "FAILS  given the file "notes.md" exists"
    And the error says "would be blocked: 1 given step(s) do not hold"
    And the change "add-login" is still in state "draft"

  Scenario: A dry run that would pass succeeds
    Given the change "add-login" has its notes
    When I run "specflow advance add-login --dry-run" in the hub
    Then it succeeds and shows "ok  given the file "notes.md" exists"
    And the change "add-login" is still in state "draft"

  Scenario Outline: With --json every error is JSON on stdout, with its exit code
    When I run "<command>" in the hub
    Then it fails with exit code <code>
    And stdout is a JSON error saying "<error>" with exit code <code>
    And nothing is written on stderr

    Examples:
      | command                                    | code | error                                        |
      | specflow status --bogus --json             | 2    | unrecognized arguments: --bogus              |
      | specflow --json stauts                     | 2    | unknown command 'stauts'                     |
      | specflow status add-logn --json            | 1    | (did you mean 'add-login'?)                  |
      | specflow advance add-login --dry-run --json | 1    | would be blocked                             |
      | specflow advance add-login --json          | 1    | cannot advance 'add-login' from 'draft'      |

  Scenario: A mistyped id is answered with an open change, an archived change or a spec
    Given the change "old-work" was archived
    And the hub has a spec "auth-session"
    When I run "specflow status add-logn" in the hub
    Then the error says "no change 'add-logn'"
    And the error says "(did you mean 'add-login'?)"
    When I run "specflow history old-wrk" in the hub
    Then the error says "(did you mean the archived change 'old-work'?)"
    When I run "specflow status auth-sesion" in the hub
    Then the error says "(did you mean the spec 'auth-session'?)"
