"""argparse's parser of the CLI, from the declarations in migrator.cli: for the command
lines that migrator.cli.quick_parse leaves (help, abbreviations, errors...)."""

from __future__ import annotations

import argparse
import os
import sys

from migrator.cli import COMMANDS, GLOBAL_OPTIONS
from migrator.errors import ExitStatus


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``, computed the same way without importing
    shutil (and bz2, lzma... behind it), which argparse does for every parser it builds."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
        except (AttributeError, ValueError, OSError):
            columns = 80
    return columns


class HelpFormatter(argparse.HelpFormatter):
    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
        if width is None:  # argparse's default width, as argparse computes it
            width = terminal_columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


class Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # one clear line, exit 2
        print(f"Error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        sys.exit(ExitStatus.USAGE)


def global_options(suppress: bool) -> argparse.ArgumentParser:
    """The options accepted before and after the command."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("global options")
    for option in GLOBAL_OPTIONS:
        kwargs = dict(option.kwargs, default=argparse.SUPPRESS) if suppress else option.kwargs
        g.add_argument(*option.flags, **kwargs)
    return p


class Commands(argparse._SubParsersAction):
    """The subcommands. Each command's parser is built when the command line names it: a
    run parses one command, and building all ten (each with a copy of the global options)
    took longer than everything else argparse does in a run. Help and errors list every
    command, in order, as before."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._builders: dict[str, tuple[str, tuple]] = {}

    def add_command(self, name: str, help_text: str, options=()) -> None:
        """Declare ``name``; its parser, with ``options``, is built when it is used."""
        self._choices_actions.append(self._ChoicesPseudoAction(name, (), help_text))
        self._name_parser_map[name] = None  # a choice now, a parser on first use
        self._builders[name] = (help_text, options)

    def command_parser(self, name: str) -> argparse.ArgumentParser:
        parser = self._name_parser_map[name]
        if parser is None:
            help_text, options = self._builders[name]
            names = list(self._name_parser_map)
            del self._name_parser_map[name]
            parser = self.add_parser(name, description=help_text, parents=[global_options(suppress=True)])
            for later in names[names.index(name) + 1:]:  # keep the declared order
                self._name_parser_map[later] = self._name_parser_map.pop(later)
            for option in options:
                parser.add_argument(*option.flags, **option.kwargs)
        return parser

    def __call__(self, parser, namespace, values, option_string=None):
        if values and values[0] in self._builders:
            self.command_parser(values[0])
        super().__call__(parser, namespace, values, option_string)


def build_parser() -> Parser:
    parser = Parser(prog="migrator", parents=[global_options(suppress=False)],
                    description="Schema migrations for a multi-service platform.")
    # prog: what argparse would compute for it by formatting the usage so far
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser, action=Commands,
                                prog="migrator")
    sub.required = True
    for name, help_text, options in COMMANDS:
        sub.add_command(name, help_text, options)
    return parser
