from appliance.xql.ast import Binary, Call, FieldRef, InList, JsonPath, Literal
from appliance.xql.parser import parse


def test_join_keeps_its_sub_query_alias_and_condition():
    query = parse(
        "dataset = a | join type = left (dataset = b | fields k as bk) as t t.bk = k"
    )

    join = query.pipelines[0].stages[1]
    assert join.name == "join"
    assert join.options["type"] == FieldRef(1, 27, "left")
    assert join.subquery is not None
    assert [s.name for s in join.subquery.stages] == ["dataset", "fields"]
    assert join.alias == "t"
    assert isinstance(join.exprs[0], Binary)
    assert query.datasets() == ["a", "b"]


def test_precedence_and_binds_tighter_than_or():
    query = parse("filter a = 1 or b = 2 and not c in (1, 2)")

    root = query.pipelines[0].stages[0].exprs[0]
    assert isinstance(root, Binary) and root.op == "or"
    assert isinstance(root.right, Binary) and root.right.op == "and"


def test_json_paths_and_calls():
    query = parse('alter x = arrayindex(ev -> [0].name, 0), y = "@e" -> ["a.b"][]')

    first, second = query.pipelines[0].stages[0].assigns
    assert isinstance(first.value, Call) and first.value.name == "arrayindex"
    path = first.value.args[0]
    assert isinstance(path, JsonPath) and path.path == "[0].name"
    assert isinstance(second.value, JsonPath) and second.value.path == '["a.b"][]'


def test_a_modeling_rule_header_and_several_pipelines():
    query = parse(
        "[MODEL: dataset=raw]\nfilter a != null | alter xdm.x = a;\nalter b = 1;"
    )

    assert query.header == {"kind": "MODEL", "dataset": "raw"}
    assert [len(p.stages) for p in query.pipelines] == [2, 1]
    assert query.datasets() == ["raw"]


def test_not_in_and_literals():
    query = parse('filter a not in ("x", 2, true, null)')

    expr = query.pipelines[0].stages[0].exprs[0]
    assert isinstance(expr, InList) and expr.negated
    assert [i.value for i in expr.items if isinstance(i, Literal)] == [
        "x",
        2.0,
        True,
        None,
    ]
