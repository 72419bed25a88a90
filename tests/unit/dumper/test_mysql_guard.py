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


def outcome(data: bytes, step: int) -> bytes | str:
    try:
        return run(data, step)
    except RefusedInputError as exc:
        return str(exc)


class TestFastReading:
    """The one-regex pass over safe runs decides exactly as the token-by-token reading."""

    TOKENS = (b"a", b" ", b"\n", b"'", b'"', b"`", b"\\", b"#", b"-", b"--", b"-- ", b"/", b"*")
    MORE = (
        b"/*",
        b"*/",
        b"/*!",
        b"/*M!",
        b"\r",
        b"\t",
        b"/*M!999999\\- enable the sandbox mode */",
    )

    def test_random_inputs_in_random_pieces(self, monkeypatch):
        import random

        from services.dumper import mysql_guard

        rng = random.Random(13)
        cases = [
            b"".join(rng.choice(self.TOKENS + self.MORE) for _ in range(rng.randint(1, 40)))
            for _ in range(3000)
        ]
        steps = [rng.choice((1, 2, 3, 5, 1000)) for _ in cases]
        fast = [outcome(case, step) for case, step in zip(cases, steps, strict=True)]
        monkeypatch.setattr(mysql_guard, "_SAFE_RUN", mysql_guard.re.compile(b""))
        slow = [outcome(case, step) for case, step in zip(cases, steps, strict=True)]
        assert fast == slow
        assert any(isinstance(o, str) for o in fast)
        assert any(isinstance(o, bytes) for o in fast)
