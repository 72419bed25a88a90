"""Secrets from the user without echo or argv: a flag, stdin, or a hidden prompt."""

import sys

import typer

from services.cli.errors import CliError


def read_secret(value: str | None, *, from_stdin: bool, prompt: str) -> str:
    """`value` when given, else the first line of stdin when asked, else a hidden prompt."""
    if value is not None and from_stdin:
        raise CliError(f"give the {prompt.lower()} either as an option or on stdin, not both")
    if value is not None:
        return value
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise CliError(f"stdin held no {prompt.lower()}")
        return line
    if not sys.stdin.isatty():
        raise CliError(f"no {prompt.lower()} given: use the option, its -stdin form, or a terminal")
    secret: str = typer.prompt(prompt, hide_input=True)
    return secret
