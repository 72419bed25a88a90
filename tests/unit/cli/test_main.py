"""The `databasement` command ends with one sentence and an exit code, never a traceback."""

import pytest

from services.cli import main as cli_main
from services.cli.errors import EXIT_FAILED, CliError


class TestErrorsAtTheBoundary:
    def test_cli_error_is_one_line_on_stderr_with_its_exit_code(self, monkeypatch, capsys):
        def failing(*_args, **_kwargs):
            raise CliError("backup failed: shop: pg_dump: permission denied", exit_code=EXIT_FAILED)

        monkeypatch.setattr(cli_main.typer.Typer, "__call__", failing)
        with pytest.raises(SystemExit) as exited:
            cli_main.app()
        captured = capsys.readouterr()
        assert exited.value.code == EXIT_FAILED
        assert captured.err == "databasement: backup failed: shop: pg_dump: permission denied\n"
        assert captured.out == ""

    def test_unexpected_exception_is_still_one_sentence(self, monkeypatch, capsys):
        def broken(*_args, **_kwargs):
            raise KeyError("items")

        monkeypatch.setattr(cli_main.typer.Typer, "__call__", broken)
        with pytest.raises(SystemExit) as exited:
            cli_main.app()
        err = capsys.readouterr().err
        assert exited.value.code == 1
        assert err.count("\n") == 1
        assert "Traceback" not in err
