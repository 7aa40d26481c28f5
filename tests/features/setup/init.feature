Feature: specflow init meets the hub where it is
  A hub's component repos often already link to it through an "openspec" symlink.
  init finds them, lists them, writes them into specflow.yaml when asked,
  explains the shared folders, and never overwrites a file that is there.

  Background:
    Given a git repo "hub" beside the component repos "api" and "web"
    And "api" and "web" each hold an "openspec" link to the hub's openspec folder
    And a sibling folder "notes" that is not a git repo links to the hub too

  Scenario: init lists the repos that already link to the hub
    When I run init in "hub"
    Then the command succeeds
    And the output lists "api" at "../api" and "web" at "../web"
    And the output says "specflow init --yes"
    And the output says "shared:"
    And specflow.yaml has no repos

  Scenario: init --yes writes them into specflow.yaml
    When I run init in "hub" with "--yes"
    Then the command succeeds
    And specflow.yaml lists the repo "api" at "../api"
    And specflow.yaml lists the repo "web" at "../web"
    And specflow.yaml does not list "notes"
    And specflow.yaml explains "shared:"

  Scenario: init never overwrites an existing specflow.yaml
    Given the hub already has a specflow.yaml saying "default_agent: mine"
    When I run init in "hub" with "--yes"
    Then the command succeeds
    And specflow.yaml still says "default_agent: mine"
    And the output says "specflow.yaml already exists"
