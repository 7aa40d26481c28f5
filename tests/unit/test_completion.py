"""Shell completion: each script parses in its shell and completes commands, flags and change ids.

The scripts run in the real shells.  bash's completing function is driven as bash drives it
(``COMP_WORDS``/``COMP_CWORD``); fish answers ``complete -C``; zsh's ``compadd``/``_describe`` only
work inside a key-bound widget, so they are replaced by functions that print what they are given.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HubFixture

BIN = Path(sys.executable).parent  # where the ``specflow`` console script is installed


def script(shell: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "specflow", "completion", shell], capture_output=True, text=True, check=True
    )
    return out.stdout


def shell_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **extra}


@pytest.fixture
def hub_with_ids(hub: HubFixture) -> HubFixture:
    """Open changes add-login and fix-typo, an archived one, and a spec 'auth'."""
    for cid in ("add-login", "fix-typo"):
        hub.write(f"openspec/changes/{cid}/proposal.md", "## Why\nx\n")
    hub.write("openspec/changes/archive/2025-01-01-old-work/proposal.md", "## Why\nx\n")
    hub.write("openspec/specs/auth/spec.md", "# auth\n")
    return hub


def bash_complete(
    path: Path, cwd: Path, *words: str, env: dict[str, str] | None = None, line: str | None = None
) -> list[str]:
    """What bash offers for the last of ``words`` (``specflow`` first, each as typed), as a user's
    TAB would at the end of ``line`` (the words joined by blanks unless given: bash cuts the
    line's words at ``COMP_WORDBREAKS`` too, so ``-C a:b`` is the words ``a``, ``:``, ``b``)."""
    driver = (
        'source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE=$SF_LINE; COMP_POINT=${#COMP_LINE}; '
        '_specflow; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    line_env = {**(env or shell_env()), "SF_LINE": " ".join(words) if line is None else line}
    out = subprocess.run(
        ["bash", "-c", driver, str(path), *words], cwd=cwd, env=line_env, capture_output=True, text=True
    )
    assert (out.returncode, out.stderr) == (0, "")
    return [line for line in out.stdout.splitlines() if line]


# zsh's ``compadd``/``_describe`` work only inside a key-bound widget: these print what they are given
ZSH_DRIVER = (
    'compadd() { [[ $1 == -- ]] && shift; if (( $# )); then print -l -- "$@"; fi; }; '
    '_describe() { print -l -- "${(@P)${@[-1]}}"; }; '
    '_directories() { print "(folders)"; }; _files() { print "(files)"; }; '
    'source "$0"; words=("$@"); CURRENT=$#; _specflow'
)


def zsh_complete(path: Path, cwd: Path, *words: str, env: dict[str, str] | None = None) -> list[str]:
    """What zsh offers for the last of ``words``, each as typed."""
    out = subprocess.run(
        ["zsh", "-fc", ZSH_DRIVER, str(path), *words], cwd=cwd, env=env or shell_env(), capture_output=True, text=True
    )
    assert (out.returncode, out.stderr) == (0, "")
    return out.stdout.splitlines()


def fish_quote(text: str) -> str:
    """``text`` as one fish word: in fish's single quotes a backslash escapes a quote and itself."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def fish_complete(path: Path, cwd: Path, line: str, env: dict[str, str] | None = None) -> list[str]:
    """What fish offers at the end of the command line ``line``."""
    command = f"source {fish_quote(str(path))}; complete -C {fish_quote(line)}"
    out = subprocess.run(
        ["fish", "--no-config", "-c", command], cwd=cwd, env=env or shell_env(), capture_output=True, text=True
    )
    assert (out.returncode, out.stderr) == (0, "")
    return [row.split("\t")[0] for row in out.stdout.splitlines()]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_script_parses_in_its_shell(shell: str, tmp_path: Path) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    path = tmp_path / f"specflow.{shell}"
    path.write_text(script(shell), encoding="utf-8")
    out = subprocess.run([shell, "-n", str(path)], capture_output=True, text=True)
    assert (out.returncode, out.stderr) == (0, "")


def test_bash_completes_commands_flags_choices_and_change_ids(hub_with_ids: HubFixture, tmp_path: Path) -> None:
    path = tmp_path / "specflow.bash"
    path.write_text(script("bash"), encoding="utf-8")
    root = hub_with_ids.root
    assert bash_complete(path, root, "specflow", "adv") == ["advance"]
    assert bash_complete(path, root, "specflow", "c") == ["clean", "checkpoints", "completion"]
    # open change ids from the hub around the current folder, or the one -C names
    assert bash_complete(path, root, "specflow", "advance", "") == ["add-login", "fix-typo"]
    assert bash_complete(path, tmp_path, "specflow", "-C", str(root), "status", "f") == ["fix-typo"]
    assert bash_complete(path, tmp_path, "specflow", "status", "-C", str(root), "--json", "a") == ["add-login"]
    # show and validate take a change or a spec
    assert bash_complete(path, root, "specflow", "show", "") == ["add-login", "fix-typo", "auth"]
    # a command's own flags and the global ones, after the command
    assert bash_complete(path, root, "specflow", "status", "--") == [
        "--help",
        "--json",
        "--all",
        "--watch",
        "--debug",
        "--no-color",
    ]
    assert bash_complete(path, root, "specflow", "advance", "add-login", "--dr") == ["--dry-run"]
    # the values of an option with choices, and of a positional with choices
    assert bash_complete(path, root, "specflow", "list", "--sort", "") == ["recent", "name"]
    assert bash_complete(path, root, "specflow", "repos", "add-login", "") == ["add", "remove", "list"]
    assert bash_complete(path, root, "specflow", "completion", "") == ["bash", "zsh", "fish"]
    # no id after the last positional; outside any hub, no ids and no error
    assert bash_complete(path, root, "specflow", "status", "add-login", "") == []
    assert bash_complete(path, tmp_path, "specflow", "advance", "") == []


def test_zsh_completes_commands_and_change_ids(hub_with_ids: HubFixture, tmp_path: Path) -> None:
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed")
    path = tmp_path / "specflow.zsh"
    path.write_text(script("zsh"), encoding="utf-8")

    def offers(*words: str) -> list[str]:
        return zsh_complete(path, hub_with_ids.root, *words)

    assert "advance:run the change's next transition(s): prompt, agent, audit, checks" in offers("specflow", "")
    assert offers("specflow", "advance", "") == ["add-login", "fix-typo"]
    assert offers("specflow", "show", "--json", "") == ["add-login", "fix-typo", "auth"]
    assert offers("specflow", "list", "--sort", "") == ["recent", "name"]
    assert offers("specflow", "-C", "") == ["(folders)"]
    assert "--no-color" in offers("specflow", "status", "--")


def test_fish_completes_commands_and_change_ids(hub_with_ids: HubFixture, tmp_path: Path) -> None:
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed")
    path = tmp_path / "specflow.fish"
    path.write_text(script("fish"), encoding="utf-8")

    def offers(line: str) -> list[str]:
        return fish_complete(path, hub_with_ids.root, line)

    assert offers("specflow adv") == ["advance"]
    assert offers("specflow advance ") == ["add-login", "fix-typo"]
    assert offers(f"specflow -C {shlex.quote(str(hub_with_ids.root))} show ") == ["add-login", "auth", "fix-typo"]
    assert offers("specflow list --sort ") == ["name", "recent"]
    assert offers("specflow status --no-") == ["--no-color"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_a_hub_typed_with_a_tilde_a_variable_quotes_or_a_backslash_is_found(
    shell: str, hub_with_ids: HubFixture, tmp_path: Path
) -> None:
    """Each shell gives completion the words as typed: '-C ~/work/hub' arrives with its tilde, a
    quoted path with its quotes (fish alone removes them).  Before, such a hub offered nothing."""
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    path = tmp_path / f"specflow.{shell}"
    path.write_text(script(shell), encoding="utf-8")
    home = tmp_path / "home"
    (home / "my work").mkdir(parents=True)
    (home / "my work" / "hub").symlink_to(hub_with_ids.root)
    elsewhere = tmp_path / "elsewhere"  # no hub around the shell's folder: ids come from -C alone
    elsewhere.mkdir()
    env = shell_env(HOME=str(home), WORK=str(home / "my work"))

    def offers(*words: str) -> list[str]:
        if shell == "fish":
            return fish_complete(path, elsewhere, " ".join(words), env=env)
        complete = zsh_complete if shell == "zsh" else bash_complete
        return complete(path, elsewhere, *words, env=env)

    typed = ["~/my\\ work/hub", '"$HOME/my work/hub"', "'" + str(home / "my work" / "hub") + "'", "$WORK/hub"]
    for word in typed:
        assert [o for o in offers("specflow", "-C", word, "status", "f") if o.startswith("f")] == ["fix-typo"], word
    # a hub that is not there offers nothing, and says nothing
    assert offers("specflow", "-C", "~/nowhere", "status", "") == []


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("~/hub", "/home/me/hub"),
        ("~", "/home/me"),
        ('"~/hub"', "~/hub"),  # a quoted tilde is a plain character
        ("$HOME/hub", "/home/me/hub"),
        ("${HOME}/my\\ hub", "/home/me/my hub"),
        ('"$DIR/hub"', "/w d/hub"),
        ("'$DIR/hub'", "$DIR/hub"),
        ('"a\\"b\\q"', 'a"b\\q'),  # inside double quotes a backslash escapes only $ ` " \\ and a line break
        ("$UNSET/hub", "/hub"),
        ("$(touch pwned)", "$(touch pwned)"),  # nothing runs
        ("`touch pwned`", "`touch pwned`"),
        ('"open', "open"),
    ],
)
def test_shell_word_reads_a_word_as_a_posix_shell_does(typed: str, read: str) -> None:
    from specflow.cli.completion import shell_word

    assert shell_word(typed, {"HOME": "/home/me", "DIR": "/w d"}) == read


@pytest.mark.parametrize(
    ("handed", "read"),
    [
        ("~/hub", "/home/me/hub"),
        ("$DIR/hub", "/w d/hub"),
        ("/it's/a\\b/hub", "/it's/a\\b/hub"),  # a path's own quote and backslash stay
        ('/"x"/hub', '/"x"/hub'),
    ],
)
def test_shell_word_reads_a_word_fish_has_unquoted_for_its_tilde_and_variables_alone(handed: str, read: str) -> None:
    from specflow.cli.completion import shell_word

    assert shell_word(handed, {"HOME": "/home/me", "DIR": "/w d"}, unquoted=True) == read


def test_fish_finds_a_hub_whose_path_holds_a_quote_or_a_backslash(hub_with_ids: HubFixture, tmp_path: Path) -> None:
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed")
    path = tmp_path / "specflow.fish"
    path.write_text(script("fish"), encoding="utf-8")
    home = tmp_path / "home"
    (home / "it's").mkdir(parents=True)
    (home / "it's" / "hub").symlink_to(hub_with_ids.root)
    (home / "back\\slash").mkdir()
    (home / "back\\slash" / "hub").symlink_to(hub_with_ids.root)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = shell_env(HOME=str(home))
    for typed in (
        "~/it\\'s/hub",
        '"$HOME/it\'s/hub"',
        "~/back\\\\slash/hub",
        "'" + str(home / "back\\slash" / "hub") + "'",
    ):
        offers = fish_complete(path, elsewhere, f"specflow -C {typed} status f", env=env)
        assert [o for o in offers if o.startswith("f")] == ["fix-typo"], typed


def test_the_scripts_follow_the_parser(cli: Any) -> None:
    """Every command and every flag of every command is in each script: they are generated from it."""
    from specflow.cli.completion import read_parser
    from specflow.cli.main import COMMANDS, build_parser

    global_options, commands = read_parser(build_parser(None, full=True))
    assert [c.name for c in commands] == list(COMMANDS)
    assert [f for o in global_options for f in o.flags] == ["-h", "--help", "--version", "-C", "--debug", "--no-color"]
    for shell in ("bash", "zsh", "fish"):
        code, text, _ = cli("completion", shell)
        assert code == 0
        for c in commands:
            assert c.name in text
            for o in c.options:
                long_flags = [f for f in o.flags if f.startswith("--")]
                for f in long_flags:
                    assert (f"-l {f[2:]}" if shell == "fish" else f) in text, (shell, c.name, f)


def test_complete_lists_open_change_ids_and_specs(hub_with_ids: HubFixture, cli: Any, tmp_path: Path) -> None:
    assert cli("-C", hub_with_ids.root, "__complete", "ids") == (0, "add-login\nfix-typo\n", "")
    assert cli("-C", hub_with_ids.root, "__complete", "items") == (0, "add-login\nfix-typo\nauth\n", "")
    assert cli("-C", tmp_path / "nowhere", "__complete", "ids") == (0, "", "")


def test_an_unknown_shell_is_a_usage_error(cli: Any) -> None:
    code, out, err = cli("completion", "tcsh")
    assert (code, out) == (2, "")
    assert "argument shell: invalid choice: 'tcsh' (choose from 'bash', 'zsh', 'fish')" in err


HEAVY = ("pydantic", "jinja2", "transitions", "ruamel", "rich", "starlette", "uvicorn", "dbos")


@pytest.mark.parametrize("argv", [["completion", "bash"], ["__complete", "ids"], ["--help"]])
def test_completion_runs_on_the_light_start_path(argv: list[str], hub_with_ids: HubFixture) -> None:
    """A TAB press starts a process: it must not load the heavy libraries."""
    probe = (
        "import json, sys\n"
        "from specflow.cli.main import main\n"
        f"main({argv!r})\n"
        "sys.stderr.write('MODULES ' + json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=hub_with_ids.root, capture_output=True, text=True)
    loaded = set(json.loads(out.stderr.split("MODULES ", 1)[1]))
    assert "specflow" in loaded
    assert sorted(set(HEAVY) & loaded) == []


def test_bash_reads_a_hub_path_with_a_colon_as_one_word(hub_with_ids: HubFixture, tmp_path: Path) -> None:
    """bash cuts words at ':' before completion sees them; the script glues the pieces back."""
    path = tmp_path / "specflow.bash"
    path.write_text(script("bash"), encoding="utf-8")
    (tmp_path / "a:b").mkdir()
    (tmp_path / "a:b" / "hub").symlink_to(hub_with_ids.root)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    left, right = f"{tmp_path}/a", "b/hub"
    line = f"specflow -C {left}:{right} status f"
    assert bash_complete(path, elsewhere, "specflow", "-C", left, ":", right, "status", "f", line=line) == ["fix-typo"]
    # a folder being typed after -C: the offer replaces the text after the colon, as bash puts it
    line = f"specflow -C {left}:b/h"
    assert bash_complete(path, elsewhere, "specflow", "-C", left, ":", "b/h", line=line) == ["b/hub"]
