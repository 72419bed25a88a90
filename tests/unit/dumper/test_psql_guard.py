"""The psql input filter: pg_dump's output passes unchanged at any cut; a backslash command
outside COPY data, or SQL psql could read differently, is refused with the line."""

import pytest

from services.dumper.psql_guard import PsqlInputGuard, RefusedInputError

DUMP = b"""--
-- PostgreSQL database dump
--

\\restrict abc123

SET standard_conforming_strings = on;
CREATE TABLE public.t (a text, "b""c" integer DEFAULT 0);
CREATE FUNCTION public.f() RETURNS text LANGUAGE sql
BEGIN ATOMIC
 SELECT 'x;y'::text;
 SELECT CASE WHEN true THEN 'a' ELSE 'b' END;
END;
CREATE FUNCTION public.g() RETURNS text LANGUAGE plpgsql AS $_$
begin
\\! not a command: inside the body
return 'a\\';
end $_$;
COMMENT ON TABLE public.t IS 'matches \\d+ and it''s fine';
COMMENT ON COLUMN public.t.a IS U&'d\\0061t' || B'01' || X'1F' || N'n';
CREATE TABLE public.u$x (id integer);
COPY public.t (a, "b""c") FROM stdin;
\\N\t1
\\\\!\t2
x\\.\t3
\\.
COPY public.u$x (id) FROM stdin;
\\.
SELECT E'it''s \\' still a string';
/* nested /* comment */ \\! still the comment */
-- \\! a comment
\\unrestrict abc123

"""
EXPECTED = DUMP.replace(b"\\restrict abc123", b"").replace(b"\\unrestrict abc123", b"")


def run(data: bytes, step: int | None = None, **options) -> bytes:
    guard = PsqlInputGuard(**options)
    step = step or len(data) or 1
    out = [guard.feed(data[i : i + step]) for i in range(0, len(data), step)]
    return b"".join([*out, guard.finish()])


def refusal(data: bytes, step: int | None = None, **options) -> str:
    with pytest.raises(RefusedInputError) as caught:
        run(data, step, **options)
    return str(caught.value)


class TestPgDumpOutputPasses:
    @pytest.mark.parametrize("step", [None, 1, 2, 3, 5, 64])
    def test_the_dump_passes_whole_at_any_cut_without_its_restrict_lines(self, step):
        assert run(DUMP, step) == EXPECTED

    def test_our_own_restrict_key_goes_first(self):
        assert run(DUMP, restrict_key="k3y") == b"\\restrict k3y\n" + EXPECTED

    def test_a_dump_without_restrict_lines_passes(self):
        assert run(EXPECTED, 7) == EXPECTED

    def test_copy_into_tables_named_like_keywords_is_copy(self):
        data = b"COPY public.stdin (a) FROM stdin;\n\\N\n\\.\nCOPY from FROM stdin;\n\\N\n\\.\n"
        assert run(data, 3) == data

    def test_a_long_copy_line_passes_in_pieces(self):
        data = b"COPY t (a) FROM stdin;\n" + b"\\\\" * 100_000 + b"\n\\.\nSELECT 1;\n"
        assert run(data, 4096) == data


class TestRefused:
    @pytest.mark.parametrize(
        ("data", "line"),
        [
            (b"SELECT 1;\n\\! touch x\n", 2),
            (b"SELECT 1; \\! touch x\n", 1),
            (b"COPY t FROM stdin;\n\\.\n\\! x\n", 3),
            (b"COPY t FROM stdin; \\! x\n\\.\n", 1),
            (b"SELECT ( ;COPY t FROM stdin;\n\\! x\n", 2),
            (b"CREATE FUNCTION begin() ; COPY t FROM stdin;\n\\! x\n", 2),
            (b"COPY (SELECT 1 FROM stdin) TO stdout;\n\\! x\n", 2),
            (b"SELECT $a$ x $a$ \\! y\n", 1),
            (b"SELECT 1;\n\\restrict abc\n", 2),
            (b"\\restrict a\n\\unrestrict b\n", 2),
            (b"\\restrict a\n\\unrestrict a\n\\! x\n", 3),
            (b"SELECT 'it''s' \\o |cmd\n", 1),
        ],
    )
    def test_a_backslash_command_outside_copy_data(self, data, line):
        expected = f"the dump contains a psql command outside COPY data (line {line}): refused"
        assert refusal(data) == expected
        assert refusal(data, 1) == expected

    def test_sql_after_the_unrestrict_line(self):
        message = refusal(b"\\restrict a\nSELECT 1;\n\\unrestrict a\n-- fine\nDROP TABLE t;\n")
        assert message == "the dump continues after its \\unrestrict line (line 5): refused"

    @pytest.mark.parametrize(
        "data",
        [
            b"SELECT 'a\\' ; \\! x '\n",  # ends differently with standard_conforming_strings off
            b"SELECT E'\xe9\\' \\! x';\n",  # a multibyte encoding may swallow the backslash
            b"SELECT '\x81\\\\' ; \\! x '\n",
        ],
    )
    def test_a_string_psql_could_end_elsewhere(self, data):
        assert "whose end depends on psql's settings (line 1): refused" in refusal(data)

    def test_such_a_string_passes_where_psql_is_restricted_by_our_key(self):
        """pg_dump writes `'C:\\'` for a value ending in a backslash; restricted psql itself
        refuses any command, so the filter reads it as pg_dump meant it."""
        data = b"COMMENT ON TABLE t IS 'C:\\';\nSELECT E'\xc3\xa9\\n';\n"
        assert run(data, 1, restrict_key="k") == b"\\restrict k\n" + data
        assert "psql command" in refusal(b"SELECT 'C:\\'; \\! x\n", restrict_key="k")

    def test_a_nul_byte(self):
        assert (
            refusal(b"SELECT 1;\nSELECT 2\0;\n") == "the dump contains a NUL byte (line 2): refused"
        )

    def test_digits_run_into_end_inside_a_function(self):
        data = b"CREATE FUNCTION f() BEGIN ATOMIC SELECT 1end; COPY t FROM stdin;\n"
        assert "BEGIN, END or CASE" in refusal(data)
        assert run(data, begin_blocks=False) == data

    def test_nothing_of_the_refused_piece_is_passed_on(self):
        guard = PsqlInputGuard()
        assert guard.feed(b"SELECT 1;\n") == b"SELECT 1;\n"
        with pytest.raises(RefusedInputError):
            guard.feed(b"SELECT 2;\n\\! x\n")


class TestStatementsPsqlKeepsTogether:
    def test_begin_atomic_keeps_copy_inside_one_statement(self):
        """psql 14+ sends nothing at a `;` inside BEGIN ... END, so no COPY starts there."""
        data = b"CREATE FUNCTION f() BEGIN ATOMIC COPY t FROM stdin; END;\n\\N\n"
        assert "psql command" in refusal(data)

    def test_without_begin_blocks_the_semicolon_ends_it(self):
        data = b"CREATE FUNCTION begin(); COPY t FROM stdin;\n\\N\n\\.\n"
        assert run(data, begin_blocks=False) == data
