"""Rows per table counted from the dump stream: COPY sections and extended INSERT tuples."""

import pytest

from services.dumper.rowcount import MysqlRowCounter, PostgresRowCounter, row_counter

PG_DUMP = b"""--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
CREATE FUNCTION public.f() RETURNS text
    LANGUAGE sql
    AS $$ SELECT 'COPY x' $$;

--
-- Data for Name: items; Type: TABLE DATA; Schema: public; Owner: postgres
--

COPY public.items (id, note, raw) FROM stdin;
1\tplain\t\\\\x00
2\ta value that is \\\\.\t\\N
3\tline one\\nline two\\n\\\\.\\n\t\\\\x2e5c
4\t\\\\.\t\\N
\\.


--
-- Data for Name: empty; Type: TABLE DATA; Schema: public; Owner: postgres
--

COPY public.empty (id) FROM stdin;
\\.


COPY "My Schema"."odd ""name"", here" (id, "x y") FROM stdin;
1\ta
2\tb
\\.


COPY public.no_columns  FROM stdin;


\\.


--
-- PostgreSQL database dump complete
--
"""
PG_ROWS = {
    "public.items": 4,
    "public.empty": 0,
    'My Schema.odd "name", here': 2,
    "public.no_columns": 2,
}

MARIA_DUMP = b"""-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB
/*!40101 SET NAMES utf8mb4 */;

--
-- Table structure for table `items`
--

CREATE TABLE `items` (
  `id` int(11) NOT NULL,
  `note` varchar(64) DEFAULT 'a (default), with parens',
  PRIMARY KEY (`id`)
);

--
-- Dumping data for table `items`
--

LOCK TABLES `items` WRITE;
INSERT INTO `items` VALUES
(1,'plain'),
(2,'it\\'s (here)'),
(3,'x),(y'),
(4,'ends in a backslash \\\\'),
(5,'both \\\\\\' and '' and \\\\\\\\'),
(6,'semi; colon ;\\n(new) line'),
(7,NULL),
(8,0x28272927),
(9,_binary '\\0\\'(\\'\\\\\\n');
INSERT INTO `items` VALUES
(10,'a second statement');
UNLOCK TABLES;

--
-- Dumping data for table `empty`
--

LOCK TABLES `empty` WRITE;
UNLOCK TABLES;

--
-- Dumping data for table `we``ird (t`
--

LOCK TABLES `we``ird (t` WRITE;
INSERT INTO `we``ird (t` VALUES (1,'a'),(2,'),('),(3,'\\'),(\\''),(4,''''),(5,'(');
UNLOCK TABLES;

--
-- Dumping routines for database 'shop'
--
DELIMITER ;;
CREATE PROCEDURE `p`()
BEGIN
INSERT INTO `items` VALUES (100,'not data');
END ;;
DELIMITER ;

--
-- Dumping data for table `gen`
--

INSERT INTO `gen` (`a`, `c`) VALUES (1,'x'),(2,'y');
-- Dump completed
"""
MARIA_ROWS = {"items": 10, "empty": 0, "we`ird (t": 5, "gen": 2}


def counted_in_blocks(counter_type: str, dump: bytes, size: int) -> dict[str, int]:
    counter = row_counter(counter_type)
    for start in range(0, len(dump), size):
        counter.feed(bytearray(dump[start : start + size]))
    return counter.table_rows


class TestPostgres:
    def test_counts_the_rows_of_every_copy_section(self) -> None:
        counter = PostgresRowCounter()
        counter.feed(PG_DUMP)
        assert counter.table_rows == PG_ROWS

    @pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 11, 64, 333])
    def test_any_block_boundary_counts_the_same(self, size: int) -> None:
        assert counted_in_blocks("postgresql", PG_DUMP, size) == PG_ROWS

    def test_an_unfinished_section_counts_the_rows_so_far(self) -> None:
        counter = PostgresRowCounter()
        counter.feed(b"COPY public.t (a) FROM stdin;\n1\n2\n3")
        assert counter.table_rows == {"public.t": 2}

    def test_a_dump_without_data_has_no_tables(self) -> None:
        counter = PostgresRowCounter()
        counter.feed(b"CREATE TABLE public.t (a int);\n-- COPY public.t FROM stdin;\n")
        assert counter.table_rows == {}


class TestMysql:
    def test_counts_tuples_whatever_the_strings_hold(self) -> None:
        counter = MysqlRowCounter()
        counter.feed(MARIA_DUMP)
        assert counter.table_rows == MARIA_ROWS

    @pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 13, 64, 500])
    def test_any_block_boundary_counts_the_same(self, size: int) -> None:
        assert counted_in_blocks("mariadb", MARIA_DUMP, size) == MARIA_ROWS

    def test_a_single_line_insert_as_mysqldump_writes_it(self) -> None:
        counter = MysqlRowCounter()
        counter.feed(
            b"-- Dumping data for table `t`\n"
            b"INSERT INTO `t` VALUES (1,'a;b'),(2,'c\\\\'),(3,'(((');\n"
            b"INSERT INTO `t` VALUES (4,'d');\n"
        )
        assert counter.table_rows == {"t": 4}

    def test_a_raw_semicolon_and_newline_inside_a_string_do_not_end_the_statement(self) -> None:
        counter = MysqlRowCounter()
        counter.feed(b"INSERT INTO `t` VALUES (1,'a;\n(b'),(2,'c');\nINSERT INTO `u` VALUES (1);\n")
        assert counter.table_rows == {"t": 2, "u": 1}

    def test_inserts_in_routine_bodies_are_not_rows(self) -> None:
        counter = MysqlRowCounter()
        counter.feed(
            b"DELIMITER ;;\nINSERT INTO `t` VALUES (1),(2);\nEND ;;\nDELIMITER ;\n"
            b"INSERT INTO `t` VALUES (3);\n"
        )
        assert counter.table_rows == {"t": 1}

    def test_mysql_uses_the_same_counter(self) -> None:
        assert isinstance(row_counter("mysql"), MysqlRowCounter)
        assert isinstance(row_counter("postgresql"), PostgresRowCounter)
