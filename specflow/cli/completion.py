"""Shell completion for bash, zsh and fish, generated from the argparse parser so it never drifts.

The parser is read into a small table (commands, their flags, what each flag's value and each
positional argument is); each shell's script is that table written as ``case``/``switch``
functions plus one completing function.  Change and spec ids come from ``specflow __complete
ids|items [HUB]``, which lists ``openspec/changes/*`` and the specs without loading anything else.
``HUB`` is the word given to ``-C`` as it was typed (``~/work/hub``, ``"$HOME/my hub"``): the
shells hand completion the words unexpanded, and specflow reads it as the shell would.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from specflow.engine.hublocation import find_hub
from specflow.errors import SpecflowError
from specflow.openspec.discovery import change_ids, spec_ids
from specflow.structs import Struct, field

if TYPE_CHECKING:
    from specflow.cli.context import CliContext

SHELLS = ("bash", "zsh", "fish")

# What to offer for a value: a change id, a change or spec id, a folder, a file, one of some
# words, or nothing.  Positionals named ``id`` are change ids and ``item`` change-or-spec ids.
IDS, ITEMS, DIR, FILE, NONE = "ids", "items", "dir", "file", "none"


class Option(Struct):
    flags: list[str]
    help: str
    value: str | None  # None: a switch; else a kind or "choices:a b c"


class CommandSpec(Struct):
    name: str
    help: str
    options: list[Option] = field(default_factory=list)
    positionals: list[str] = field(default_factory=list)  # a kind per position
    repeats: bool = False  # the last positional takes more than one value


def _kind(action: argparse.Action) -> str:
    if action.choices:
        return "choices:" + " ".join(str(c) for c in action.choices)
    if action.dest == "id":
        return IDS
    if action.dest == "item":
        return ITEMS
    if action.dest == "hub" or (action.metavar or "") in ("HUB", "PATH", "DIR"):
        return DIR
    if action.type is Path or action.dest in ("path", "gate") or (action.metavar or "") == "FILE":
        return FILE
    return NONE


def _options(parser: argparse.ArgumentParser) -> list[Option]:
    found = []
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        takes_value = action.nargs != 0
        found.append(Option(list(action.option_strings), action.help or "", _kind(action) if takes_value else None))
    return found


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[argparse.ArgumentParser] | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def _command(name: str, parser: argparse.ArgumentParser) -> CommandSpec:
    spec = CommandSpec(name, parser.description or "", _options(parser))
    nested = _subparsers(parser)
    if nested is not None:  # ``workflows list|show|validate``: its actions, then their options and files
        spec.positionals.append("choices:" + " ".join(nested.choices))
        seen = {flag for o in spec.options for flag in o.flags}
        for sub in nested.choices.values():
            for o in _options(sub):
                if not seen.intersection(o.flags):
                    spec.options.append(o)
                    seen.update(o.flags)
        spec.positionals.append(FILE)
        spec.repeats = True
        return spec
    for action in parser._actions:
        if action.option_strings:
            continue
        spec.positionals.append(_kind(action))
        spec.repeats = action.nargs in ("*", "+", argparse.REMAINDER)
    return spec


def read_parser(parser: argparse.ArgumentParser) -> tuple[list[Option], list[CommandSpec]]:
    """The main parser's options and every command, as completion needs them."""
    sub = _subparsers(parser)
    commands = [] if sub is None else [_command(name, p) for name, p in sub.choices.items()]
    return _options(parser), commands


# -- scripts -------------------------------------------------------------------------------


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _sh_tables(global_options: list[Option], commands: list[CommandSpec]) -> list[str]:
    """The table as POSIX ``case`` functions, which bash and zsh both read."""
    lines = ["_specflow_commands() {", f"    echo {_sh_quote(' '.join(c.name for c in commands))}", "}", ""]
    globals_ = " ".join(f for o in global_options for f in o.flags)
    lines += ["_specflow_options() {", '    case "$1" in']
    for c in commands:
        flags = " ".join(f for o in c.options for f in o.flags)
        lines.append(f"        {c.name}) echo {_sh_quote(flags)} ;;")
    lines += [f"        *) echo {_sh_quote(globals_)} ;;", "    esac", "}", ""]
    lines += ["# what an option's value is; empty for a switch", "_specflow_value() {", '    case "$1 $2" in']
    for o in global_options:
        if o.value is not None:
            lines += [f"        *' {f}') echo {_sh_quote(o.value)} ;;" for f in o.flags]
    for c in commands:
        for o in c.options:
            if o.value is not None:
                lines += [f"        '{c.name} {f}') echo {_sh_quote(o.value)} ;;" for f in o.flags]
    lines += ["    esac", "}", ""]
    lines += ["# what the Nth positional argument of a command is (N from 0)", "_specflow_positional() {"]
    lines.append('    case "$1 $2" in')
    for c in commands:
        for i, kind in enumerate(c.positionals):
            lines.append(f"        '{c.name} {i}') echo {_sh_quote(kind)} ;;")
        if c.repeats and c.positionals:
            lines.append(f"        '{c.name} '*) echo {_sh_quote(c.positionals[-1])} ;;")
    lines += ["    esac", "}", ""]
    return lines


# Walks the words before the cursor: the command, the -C hub, and how many positionals came.
_SH_SCAN = """\
_specflow_scan() {
    _sf_cmd="" _sf_hub="" _sf_npos=0 _sf_done=0
    local i=$1 last=$2 w
    shift 2
    while [ "$i" -lt "$last" ]; do
        eval "w=\\${$i}"
        if [ "$_sf_done" = 1 ]; then
            [ -n "$_sf_cmd" ] && _sf_npos=$((_sf_npos + 1))
        else
            case "$w" in
                --) _sf_done=1 ;;
                -*)
                    if [ -n "$(_specflow_value "$_sf_cmd" "$w")" ]; then
                        i=$((i + 1))
                        [ "$w" = -C ] && eval "_sf_hub=\\${$i}"
                    fi ;;
                *)
                    if [ -z "$_sf_cmd" ]; then _sf_cmd=$w; else _sf_npos=$((_sf_npos + 1)); fi ;;
            esac
        fi
        i=$((i + 1))
    done
}

_specflow_ids() {
    specflow __complete "$1" "$_sf_hub" 2>/dev/null
}

# what to offer for the word under the cursor: a kind, "options" or "commands"
_specflow_what() {
    local prev=$1 cur=$2 kind
    if [ -n "$prev" ]; then
        kind=$(_specflow_value "$_sf_cmd" "$prev")
        if [ -n "$kind" ]; then echo "$kind"; return; fi
    fi
    case "$cur" in -*) echo options; return ;; esac
    if [ -z "$_sf_cmd" ]; then echo commands; return; fi
    kind=$(_specflow_positional "$_sf_cmd" "$_sf_npos")
    echo "${kind:-none}"
}
"""

_BASH = """\
# bash cuts a word at each ':' (COMP_WORDBREAKS): '-C ~/a:b/hub' arrives as '~/a' ':' 'b/hub'.
# The pieces are glued back where the line has no blank between them.
_specflow_words() {
    local line=${COMP_LINE:0:COMP_POINT} i w rest
    _sf_words=() _sf_cword=-1
    for ((i = 0; i <= COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        rest=${line#"${line%%[![:blank:]]*}"}
        if ((i > 0)) && [[ $rest == "$line" && ( $w == :* || ${_sf_words[_sf_cword]} == *: ) ]]; then
            _sf_words[_sf_cword]+=$w
        else
            _sf_cword=$((_sf_cword + 1))
            _sf_words[_sf_cword]=$w
        fi
        line=${rest#"$w"}
    done
}

_specflow() {
    local _sf_words _sf_cword
    _specflow_words
    local cur=${_sf_words[_sf_cword]} prev="" what
    [ "$_sf_cword" -gt 1 ] && prev=${_sf_words[_sf_cword-1]}
    _specflow_scan 1 "$_sf_cword" "${_sf_words[@]:1}"
    what=$(_specflow_what "$prev" "$cur")
    COMPREPLY=()
    case "$what" in
        commands) COMPREPLY=($(compgen -W "$(_specflow_commands)" -- "$cur")) ;;
        options) COMPREPLY=($(compgen -W "$(_specflow_options "$_sf_cmd")" -- "$cur")) ;;
        ids|items) COMPREPLY=($(compgen -W "$(_specflow_ids "$what")" -- "$cur")) ;;
        choices:*) COMPREPLY=($(compgen -W "${what#choices:}" -- "$cur")) ;;
        dir) COMPREPLY=($(compgen -d -- "$cur")) ;;
        file) COMPREPLY=($(compgen -f -- "$cur")) ;;
    esac
    # bash puts each offer in place of the text after the word's last ':' only
    if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
        local glued=${cur%"${cur##*:}"}
        COMPREPLY=("${COMPREPLY[@]#"$glued"}")
    fi
}
complete -o default -F _specflow specflow
"""

_ZSH = """\
_specflow() {
    local cur=${words[CURRENT]} prev="" what
    local -a cmds
    (( CURRENT > 2 )) && prev=${words[CURRENT-1]}
    _specflow_scan 1 $((CURRENT - 1)) "${(@)words[2,-1]}"
    what=$(_specflow_what "$prev" "$cur")
    case "$what" in
        commands)
            cmds=(%(described)s)
            _describe -t commands 'specflow command' cmds ;;
        options) compadd -- ${=$(_specflow_options "$_sf_cmd")} ;;
        ids|items) compadd -- ${(f)"$(_specflow_ids "$what")"} ;;
        choices:*) compadd -- ${=what#choices:} ;;
        dir) _directories ;;
        file) _files ;;
    esac
}
if (( $+functions[compdef] )); then
    compdef _specflow specflow
fi
"""


def bash_script(global_options: list[Option], commands: list[CommandSpec]) -> str:
    head = ['# specflow completion for bash: eval "$(specflow completion bash)" in ~/.bashrc', ""]
    return "\n".join(head + _sh_tables(global_options, commands)) + _SH_SCAN + "\n" + _BASH


def zsh_script(global_options: list[Option], commands: list[CommandSpec]) -> str:
    head = ["#compdef specflow", '# specflow completion for zsh: eval "$(specflow completion zsh)" in ~/.zshrc', ""]
    described = " ".join(_sh_quote(f"{c.name}:{c.help}") for c in commands)
    body = _ZSH.replace("%(described)s", described)
    # zsh arrays count from 1: the scan's positional parameters are words 2.. of the line
    return "\n".join(head + _sh_tables(global_options, commands)) + _SH_SCAN + "\n" + body


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def fish_script(global_options: list[Option], commands: list[CommandSpec]) -> str:
    lines = [
        "# specflow completion for fish: specflow completion fish > ~/.config/fish/completions/specflow.fish",
        "complete -c specflow -f",
        "",
        "function __specflow_value --argument-names cmd flag",
        '    switch "$cmd $flag"',
    ]
    for o in global_options:
        if o.value is not None:
            lines += [f"        case '* {f}'\n            echo {_fish_quote(o.value)}" for f in o.flags]
    for c in commands:
        for o in c.options:
            if o.value is not None:
                lines += [f"        case '{c.name} {f}'\n            echo {_fish_quote(o.value)}" for f in o.flags]
    lines += ["    end", "end", "", "function __specflow_positional --argument-names cmd n", '    switch "$cmd $n"']
    for c in commands:
        for i, kind in enumerate(c.positionals):
            lines.append(f"        case '{c.name} {i}'\n            echo {_fish_quote(kind)}")
        if c.repeats and c.positionals:
            lines.append(f"        case '{c.name} *'\n            echo {_fish_quote(c.positionals[-1])}")
    lines += ["    end", "end", "", _FISH]
    for c in commands:
        lines.append(f"complete -c specflow -n 'not __specflow_command' -a {c.name} -d {_fish_quote(c.help)}")
    lines.append("")
    for o in global_options:
        lines.append("complete -c specflow " + _fish_flags(o))
    for c in commands:
        for o in c.options:
            lines.append(f"complete -c specflow -n '__specflow_command_is {c.name}' " + _fish_flags(o))
    lines.append("complete -c specflow -n __specflow_wants_ids -a '(__specflow_ids)'")
    lines.append("complete -c specflow -n __specflow_wants_choices -a '(__specflow_choices)'")
    lines.append("complete -c specflow -n __specflow_wants_file -F")
    return "\n".join(lines) + "\n"


def _fish_flags(o: Option) -> str:
    parts = []
    for f in o.flags:
        parts.append(f"-l {f[2:]}" if f.startswith("--") else f"-s {f[1:]}")
    if o.value == FILE:
        parts.append("-r -F")
    elif o.value is not None:  # -x: a value, and no file names among the offers
        parts.append("-x")
        if o.value.startswith("choices:"):
            parts.append(f"-a {_fish_quote(o.value[len('choices:') :])}")
        elif o.value == DIR:
            parts.append("-a '(__fish_complete_directories)'")
    parts.append(f"-d {_fish_quote(o.help)}")
    return " ".join(parts)


_FISH = """\
# the command, the -C hub and the positionals before the cursor
function __specflow_scan
    set -g __sf_cmd ''
    set -g __sf_hub ''
    set -g __sf_npos 0
    set -l words (commandline -opc)
    set -l i 2
    while test $i -le (count $words)
        set -l w $words[$i]
        if string match -q -- '-*' $w
            set -l value (__specflow_value "$__sf_cmd" $w)
            if test -n "$value"
                set i (math $i + 1)
                if test "$w" = -C; and test $i -le (count $words)
                    set -g __sf_hub $words[$i]
                end
            end
        else if test -z "$__sf_cmd"
            set -g __sf_cmd $w
        else
            set -g __sf_npos (math $__sf_npos + 1)
        end
        set i (math $i + 1)
    end
end

function __specflow_command
    __specflow_scan
    test -n "$__sf_cmd"
end

function __specflow_command_is --argument-names name
    __specflow_scan
    test "$__sf_cmd" = "$name"
end

function __specflow_kind
    __specflow_scan
    test -n "$__sf_cmd"; or return 1
    set -l words (commandline -opc)
    set -l value (__specflow_value "$__sf_cmd" $words[-1])
    if test -n "$value"
        return 1
    end
    __specflow_positional $__sf_cmd $__sf_npos
end

function __specflow_wants_ids
    string match -q -r '^(ids|items)$' -- (__specflow_kind)
end

function __specflow_wants_choices
    string match -q 'choices:*' -- (__specflow_kind)
end

function __specflow_wants_file
    set -l kind (__specflow_kind)
    test "$kind" = file
end

# fish hands the words with quotes and backslashes already taken out: 'unquoted' says so
function __specflow_ids
    specflow __complete (__specflow_kind) "$__sf_hub" unquoted 2>/dev/null
end

function __specflow_choices
    string split ' ' -- (string replace 'choices:' '' -- (__specflow_kind))
end
"""


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    """The completion script for ``shell`` (bash, zsh or fish), read from ``parser``."""
    global_options, commands = read_parser(parser)
    write = {"bash": bash_script, "zsh": zsh_script, "fish": fish_script}[shell]
    return write(global_options, commands)


# -- specflow __complete -------------------------------------------------------------------


def complete(argv: Sequence[str], ctx: CliContext) -> int:
    """``specflow __complete ids|items [HUB [unquoted]]``: open change ids (and spec ids), one a line.

    ``HUB`` is the word after ``-C`` as typed (read by ``shell_word``; ``unquoted``: as fish hands
    it, its quotes and backslashes already read); without it, the hub is the one ``-C`` names or
    the one around the current folder.  Quiet by design: outside a hub, or on any problem, it
    prints nothing and exits 0.
    """
    kind = argv[0] if argv else IDS
    typed = argv[1] if len(argv) > 1 else ""
    unquoted = argv[2:3] == ["unquoted"]
    hub = shell_word(typed, unquoted=unquoted) if typed else ctx.hub_arg
    try:
        root = find_hub(Path(hub) if hub else None)
    except (SpecflowError, OSError):
        return 0
    names = change_ids(root / "openspec" / "changes")
    if kind == ITEMS:
        names += spec_ids(root / "openspec" / "specs")
    for name in names:
        ctx.out(name)
    return 0


_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*)")
_ESCAPED_IN_DOUBLE = frozenset('$`"\\\n')


def shell_word(word: str, env: Mapping[str, str] = os.environ, *, unquoted: bool = False) -> str:
    """``word`` as a POSIX shell would read it as an argument: quotes and backslashes removed, a
    leading ``~`` or ``~user`` and ``$NAME``/``${NAME}`` (outside single quotes) expanded.

    Completion sees the words on the command line as typed, so ``-C ~/hub`` reaches it with its
    tilde.  Nothing is run: ``$(...)`` and backquotes stay as they are, an unset variable is
    empty, and a quote left open ends with the word.  ``unquoted``: fish hands its words with
    quotes and backslashes already read, so those are the path's own characters; only the
    tilde and the variables are left to expand.
    """
    out: list[str] = []
    i = 0
    if word.startswith("~"):
        prefix = word.split("/", 1)[0]
        if unquoted or not any(c in prefix for c in "'\"\\$"):  # a quoted tilde is a plain character
            home = env.get("HOME") if prefix == "~" else None
            out.append(home if home is not None else os.path.expanduser(prefix))
            i = len(prefix)
    quote = ""
    while i < len(word):
        c = word[i]
        i += 1
        if unquoted and c != "$":
            out.append(c)
        elif quote == "'":
            if c == "'":
                quote = ""
            else:
                out.append(c)
        elif c == "\\":
            following = word[i : i + 1]
            if quote and following not in _ESCAPED_IN_DOUBLE:
                out.append(c)  # inside double quotes a backslash stays before other characters
                continue
            if following != "\n":  # a backslash before a line break joins the lines
                out.append(following)
            i += 1
        elif c == '"':
            quote = "" if quote else '"'
        elif c == "'" and not quote:
            quote = "'"
        elif c == "$" and (name := _VARIABLE.match(word, i)):
            out.append(env.get(name.group(1) or name.group(2), ""))
            i = name.end()
        else:
            out.append(c)
    return "".join(out)
