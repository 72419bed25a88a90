"""`databasement`: the command-line client of the Databasement API (Typer + Rich)."""
