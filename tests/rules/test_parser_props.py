"""Property tests: format → parse round trip on random trees, garbage never crashes."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lanner.rules.ast import (
    And,
    BinaryCheck,
    FieldRef,
    ListValue,
    MacroRef,
    Node,
    Not,
    Or,
    Transformer,
    UnaryCheck,
    ValRef,
    Value,
)
from lanner.rules.errors import ConditionSyntaxError
from lanner.rules.parser import (
    BARE_STRING_RE,
    IDENTIFIER_RE,
    NUMBER_RE,
    format_condition,
    parse_condition,
)

KEYWORDS = {"and", "or", "not"}

identifiers = st.from_regex(IDENTIFIER_RE, fullmatch=True).filter(lambda s: s not in KEYWORDS)
field_names = st.builds(
    lambda a, b: f"{a}.{b}",
    st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True),
    st.from_regex(r"[a-z][a-z0-9_]{0,6}(\.[a-z][a-z0-9_]{0,4})?", fullmatch=True),
)
any_text = st.text(max_size=12)
fields = st.builds(FieldRef, field_names, st.none() | any_text)
bare_values = st.builds(Value, st.from_regex(BARE_STRING_RE, fullmatch=True), st.just(False))
quoted_values = st.builds(Value, any_text, st.just(True))
values = bare_values | quoted_values
numbers = st.builds(Value, st.from_regex(NUMBER_RE, fullmatch=True), st.just(False))

transformers = st.recursive(
    fields,
    lambda inner: st.builds(
        Transformer,
        st.sampled_from(["tolower", "toupper", "b64", "basename", "len"]),
        st.tuples(inner),
    ),
    max_leaves=3,
)
lhs = fields | transformers.filter(lambda t: isinstance(t, Transformer))
dynamic_rhs = st.builds(ValRef, fields) | transformers.filter(lambda t: isinstance(t, Transformer))
lists = st.builds(ListValue, st.lists(values, max_size=4).map(tuple))

checks = st.one_of(
    st.builds(UnaryCheck, lhs, st.just("exists")),
    st.builds(BinaryCheck, lhs, st.sampled_from(["<", "<=", ">", ">="]), numbers | dynamic_rhs),
    st.builds(
        BinaryCheck,
        lhs,
        st.sampled_from(["=", "==", "!=", "contains", "glob", "regex", "startswith", "endswith"]),
        values | dynamic_rhs,
    ),
    st.builds(
        BinaryCheck,
        lhs,
        st.sampled_from(["=", "startswith", "icontains"]),
        lists,
        st.sampled_from(["oneof", "anyof", "allof"]),
    ),
    st.builds(
        BinaryCheck,
        lhs,
        st.sampled_from(["in", "intersects", "pmatch"]),
        lists | st.builds(Value, identifiers, st.just(False)) | dynamic_rhs,
    ),
    st.builds(MacroRef, identifiers),
)


def _trees(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    many = st.lists(children, min_size=2, max_size=3).map(tuple)
    return st.one_of(st.builds(Not, children), st.builds(And, many), st.builds(Or, many))


conditions = st.recursive(checks, _trees, max_leaves=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions)
def test_format_then_parse_gives_the_same_tree(node: Node) -> None:
    text = format_condition(node)
    assert parse_condition(text) == node
    assert format_condition(parse_condition(text)) == text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab. ()=!<>,'\"\\[]notrandvl0x")), max_size=40))
def test_condition_like_garbage_parses_or_raises_syntax_error(text: str) -> None:
    try:
        node = parse_condition(text)
    except ConditionSyntaxError as err:
        assert err.pos is not None
        assert 0 <= err.pos <= len(text)
        return
    # Whatever parsed must print to text that parses back to the same tree.
    assert parse_condition(format_condition(node)) == node


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_parses_or_raises_syntax_error(text: str) -> None:
    with contextlib.suppress(ConditionSyntaxError):
        parse_condition(text)


@settings(max_examples=200, deadline=None)
@given(conditions, st.data())
def test_mutated_valid_text_parses_or_raises_syntax_error(node: Node, data: st.DataObject) -> None:
    text = format_condition(node)
    cut = data.draw(st.integers(0, len(text)))
    insert = data.draw(st.text(alphabet="()\"' ,=[]\\", max_size=2))
    with contextlib.suppress(ConditionSyntaxError):
        parse_condition(text[:cut] + insert + text[cut + 1 :])
