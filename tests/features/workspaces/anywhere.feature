Feature: Commands find the hub from anywhere
  A person may run specflow in the hub, in one of its component repos (whose openspec link leads
  to the hub) or in a change's worktree, where the worktree's branch names the change so its id
  may be left out. Wherever it runs, specflow's own folder is made only in the hub.

  Background:
    Given a hub with the component repos "api" and "bot" and a scripted agent
    And the repo "bot" links the hub's openspec folder
    And a change "add-login" affecting "api" and "bot"

  Scenario: From a component repo
    When I run "specflow advance add-login --to explore" in the repo "bot"
    Then the command succeeds
    And the change "add-login" is in state "explore"
    When I run "specflow status" in the folder "bot/src" made inside the repo
    Then the command succeeds
    And the output says "add-login"
    And no ".specflow" folder exists outside the hub's own

  Scenario: From a change's worktree, the change id left out
    Given the change "add-login" is in state "apply"
    When I run "specflow history" in the worktree of "api"
    Then the command succeeds
    And the output says "history of add-login"
    When I run "specflow diff --stat" in the worktree of "api"
    Then the output says "src/login.py"
    When I run "specflow status" in the worktree of "bot"
    Then the output says "apply"
    When I run "specflow show" in the worktree of "bot"
    Then the command succeeds
    And no ".specflow" folder exists outside the hub's own
    And the worktree of "api" has nothing untracked

  Scenario: The change id cannot be left out elsewhere
    When I run "specflow history" in the repo "bot"
    Then the command fails with exit code 2
    And the error says "'specflow history' needs a change id"
    And the error says "specflow history ID"

  Scenario: A repo the hub does not list is not taken for it
    Given a repo "stray" next to the hub with a link to the hub's openspec folder
    When I run "specflow advance add-login" in the repo "stray"
    Then the command fails with exit code 1
    And the error says "does not list this repo"
    And no ".specflow" folder exists outside the hub's own

  Scenario: A worktrees folder outside the hub is refused
    Given the hub's specflow.yaml also says "worktrees_dir: .."
    When I run "specflow advance add-login"
    Then the command fails with exit code 1
    And the error says "specflow.yaml:"
    And the error says "worktrees_dir: '..' would put specflow's worktrees at"
    And the error says "use a folder inside the hub"
