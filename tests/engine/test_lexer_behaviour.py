"""migrator.lexer: how migration text is cut into tokens, for every reader of SQL in the
project (the splitter, the catalog's reading of what a migration names, lint, backfills).

Each case is text a migration could hold; what matters is where a string, identifier or
comment starts and ends, because a semicolon or a name inside one is not code."""

from __future__ import annotations

import pytest

from migrator import lexer


def kinds(text: str, family: str) -> list[tuple[str, str]]:
    return [(t.kind.value, t.text) for t in lexer.tokens(text, family) if t.kind != lexer.Kind.SPACE]


CASES = {
    # PostgreSQL
    "standard string: a backslash is a character": (
        "postgres", r"SELECT 'C:\', x", [("word", "SELECT"), ("string", r"'C:\'"), ("punct", ","), ("word", "x")]),
    "escape string: a backslash escapes": (
        "postgres", r"E'it\'s', e'a'", [("string", r"E'it\'s'"), ("punct", ","), ("string", "e'a'")]),
    "a word ending in e is no escape-string prefix": (
        "postgres", "type'x'", [("word", "type"), ("string", "'x'")]),
    "doubled quote inside a string": ("postgres", "'it''s';", [("string", "'it''s'"), ("punct", ";")]),
    "quoted identifier with a doubled quote": (
        "postgres", '"a""b".c', [("quoted", '"a""b"'), ("punct", "."), ("word", "c")]),
    "dollar quote": ("postgres", "AS $$ a; 'b $$ x", [("word", "AS"), ("dollar", "$$ a; 'b $$"), ("word", "x")]),
    "tagged dollar quote holding another": (
        "postgres", "$fn$ $$x$$ $fn$;", [("dollar", "$fn$ $$x$$ $fn$"), ("punct", ";")]),
    "dollar sign inside an identifier": ("postgres", "price$usd$2024 $1", [
        ("word", "price$usd$2024"), ("punct", "$"), ("number", "1")]),
    "dollar quote left open": ("postgres", "SELECT $t$ a; b", [("word", "SELECT"), ("dollar", "$t$ a; b")]),
    "line and block comments": ("postgres", "a -- b;\n/* c; */ d", [
        ("word", "a"), ("comment", "-- b;"), ("comment", "/* c; */"), ("word", "d")]),
    "block comment left open": ("postgres", "a /* b; c", [("word", "a"), ("comment", "/* b; c")]),
    "string left open": ("postgres", "a 'b; c", [("word", "a"), ("string", "'b; c")]),
    "numbers": ("postgres", "1.5e-3 .5 10", [("number", "1.5e-3"), ("number", ".5"), ("number", "10")]),
    "a word may hold letters of any script": ("postgres", "tablé_1", [("word", "tablé_1")]),
    # MySQL / MariaDB
    "hash comment": ("mysql", "a # b; c\nd", [("word", "a"), ("comment", "# b; c"), ("word", "d")]),
    "backslash escape in a string": ("mysql", r"'it\'s', x", [("string", r"'it\'s'"), ("punct", ","), ("word", "x")]),
    "double quotes make a string": ("mysql", r'"a\"b" `c``d`', [("string", r'"a\"b"'), ("quoted", "`c``d`")]),
    "no dollar quotes": ("mysql", "$$ a", [("punct", "$"), ("punct", "$"), ("word", "a")]),
    # SQLite
    "identifiers in double quotes, backquotes and brackets": (
        "sqlite", '"a" `b` [c d]', [("quoted", '"a"'), ("quoted", "`b`"), ("quoted", "[c d]")]),
    "no backslash escape": ("sqlite", r"'a\', b", [("string", r"'a\'"), ("punct", ","), ("word", "b")]),
    "hash is no comment": ("sqlite", "a # b", [("word", "a"), ("punct", "#"), ("word", "b")]),
}


@pytest.mark.parametrize("case", CASES)
def test_tokens(case):
    family, text, expected = CASES[case]
    assert kinds(text, family) == expected


@pytest.mark.parametrize("family", ["postgres", "mysql", "sqlite"])
def test_the_tokens_give_the_text_back_with_their_offsets(family):
    text = "CREATE TABLE \"t\" (a int DEFAULT 'x;y') -- c\n/* d */ ;\t$$ e $$ `f` [g] # h\n'open"
    out = list(lexer.tokens(text, family))
    assert "".join(t.text for t in out) == text
    assert all(text[t.start:t.end] == t.text for t in out)
    assert [t.start for t in out[1:]] == [t.end for t in out[:-1]]


def test_code_leaves_out_whitespace_and_comments_only():
    assert [t.text for t in lexer.code("a /* b */ 'c' -- d\n e", "postgres")] == ["a", "'c'", "e"]


def test_is_word():
    word, quoted = lexer.code('begin "begin"', "postgres")
    assert word.is_word() and word.is_word("BEGIN", "END") and not word.is_word("END")
    assert not quoted.is_word() and not quoted.is_word("BEGIN")


@pytest.mark.parametrize("text, body", [
    ("$$ a $$", " a "), ("$fn$a$fn$", "a"), ("$$$$", ""), ("$t$ open", " open"), ("$$", ""),
])
def test_dollar_body(text, body):
    (token,) = lexer.tokens(text, "postgres")
    assert lexer.dollar_body(token) == body


@pytest.mark.parametrize("name, unquoted", [
    ('"Hot"', "hot"), ('"a""b"', 'a"b'), ("`a``b`", "a`b"), ("[T x]", "t x"), ("Plain", "plain"),
    ('"', ""), ("`", ""), ("[", ""), ('"a', "a"), ("[a]]", "a]"),
])
def test_unquote(name, unquoted):
    assert lexer.unquote(name) == unquoted


MASKED = {
    "comments blanked, newlines kept": ("postgres", "a -- b\n/* c\nd */ e", "a     \n    \n     e"),
    "a string keeps its quotes": ("postgres", "x = 'a;b' AND E'c'", "x = '   ' AND E  '"),
    "identifiers kept": ("sqlite", '"a" [b] `c`', '"a" [b] `c`'),
    "a dollar body blanked": ("postgres", "AS $f$ DROP x; $f$;", "AS " + " " * len("$f$ DROP x; $f$") + ";"),
    "MySQL double-quoted string blanked": ("mysql", 'x = "a" # c', 'x = " "    '),
    "a string left open of one quote": ("postgres", "x '", "x  "),
    "an empty string keeps its quotes": ("sqlite", "DEFAULT '' -- c", "DEFAULT ''     "),
}


@pytest.mark.parametrize("case", MASKED)
def test_mask(case):
    family, text, expected = MASKED[case]
    assert lexer.mask(text, family) == expected
    assert len(lexer.mask(text, family)) == len(text)


@pytest.mark.parametrize("text, expected", [
    ("DO $$ BEGIN DROP TABLE t; -- x\n END $$;", "DO    BEGIN DROP TABLE t;     \n END   ;"),
    ("AS $f$ SELECT 'a' $f$", "AS     SELECT ' '    "),
    ("$t$ open", "    open"),
])
def test_mask_with_bodies_keeps_the_code_of_a_dollar_body(text, expected):
    masked = lexer.mask(text, "postgres", bodies=True)
    assert masked == expected
    assert len(masked) == len(text)
