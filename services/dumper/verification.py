"""Compare a restored database's row counts with the counts the manifest recorded at dump time.

Table names: PostgreSQL `schema.table`; MySQL/MariaDB the bare table name.
"""

from shared.events import TableDifference


def differences(expected: dict[str, int], actual: dict[str, int]) -> list[TableDifference]:
    """Every table whose count differs, is missing after the restore, or was not listed."""
    found = []
    for table in sorted(expected.keys() | actual.keys()):
        want, got = expected.get(table), actual.get(table)
        if want != got:
            found.append(TableDifference(table=table, expected=want, actual=got))
    return found
