"""`python -m services.cli`: the same as the `databasement` command."""

from services.cli.main import app

app(prog_name="databasement")
