"""The mysql input filter: mysqldump output passes; a client command outside a string fails."""

import pytest

from services.dumper.mysql_guard import MysqlInputGuard, RefusedInputError

DUMP = b"""/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19
/*!40101 SET NAMES utf8mb4 */;
CREATE TABLE `t\\x` (a text) /* a \\ comment */;
# another \\ comment
INSERT INTO `t\\x` VALUES ('a\\\\b\\nc\\''),("d\\"\\\\"),('\\\\');
DELIMITER ;;
CREATE PROCEDURE p() BEGIN SELECT 'x\\';\\n' ; END ;;
DELIMITER ;
--
"""


def run(data: bytes, step: int | None = None) -> bytes:
    guard = MysqlInputGuard()
    step = step or len(data)
    out = [guard.feed(data[i : i + step]) for i in range(0, len(data), step)]
    return b"".join([*out, guard.finish()])


class TestMysqlInputGuard:
    @pytest.mark.parametrize("step", [None, 1, 2, 3, 11])
    def test_mysqldump_output_passes_unchanged(self, step):
        assert run(DUMP, step) == DUMP

    @pytest.mark.parametrize(
        ("data", "line"),
        [
            (b"SELECT 1;\n\\! touch x\n", 2),
            (b"SELECT 'a'; \\! touch x\n", 1),
            (b"/*!50003 \\! touch x */;\n", 1),
            (b"SELECT 1;\n/*M!999999\\- enable the sandbox mode */ \\! x\n", 2),
            (b"SELECT 'a\\'';\n\\. /etc/x\n", 2),
        ],
    )
    def test_a_client_command_outside_a_string_is_refused(self, data, line):
        expected = (
            f"the dump contains a mysql client command outside a string (line {line}): refused"
        )
        for step in (None, 1):
            with pytest.raises(RefusedInputError) as caught:
                run(data, step)
            assert str(caught.value) == expected
