Feature: A merge lists every problem of every repo at once
  Before merging anything, specflow looks at every repo of the change. When any of them cannot be
  merged now, nothing is merged, and one refusal lists every problem, each with its fix.

  Scenario: Three repos, three problems, one refusal
    Given a hub with the component repos "api", "bot" and "web" and a scripted agent
    And a change "add-login" affecting "api", "bot" and "web"
    And the change "add-login" is in state "apply"
    And a person has an untracked "src/login.py" in the checkout of "api"
    And a person has edited "bot.py" in the checkout of "bot"
    And "web" has a commit on main that conflicts with the change
    When I run "specflow merge add-login"
    Then the command fails with exit code 1
    And the error says "3 problem(s) in 3 repo(s) (api, bot, web)"
    And the error says "api: the merge would overwrite untracked files"
    And the error says "bot: the checkout of main"
    And the error says "web: merging specflow/add-login into main would conflict in: index.html"
    And the error has a fix for each problem
    And no main branch of "api", "bot" and "web" moved
    And the person's files in "api" and "bot" are untouched
