"""The OpenAPI document says what the API does (issue #18): every status an operation can
answer, problem+json with the shared Problem schema, closed request bodies, a schema for every
JSON answer. tests/portal/test_api_schemathesis.py checks the handlers against it."""
from __future__ import annotations

import pytest
from werkzeug.exceptions import BadRequest

from portal.access import ANY_SCOPE, ATTR
from portal.api import PROBLEM_MIMETYPE, build_openapi

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def operations(app):
    """(path, method, spec, access rule) of every documented operation, as served."""
    served = build_openapi(app)["paths"]
    for view in app.view_functions.values():
        for path, method, _spec in getattr(view, "_openapi", []):
            yield path, method, served[path][method], getattr(view, ATTR, None)


def test_every_operation_lists_the_statuses_it_can_answer(app):
    missing = []
    for path, method, spec, rule in operations(app):
        statuses = set(spec["responses"])
        expected = set()
        if rule is not None and rule.kind == "api":
            expected.add("401")
            if rule.scope != ANY_SCOPE:
                expected.add("403")
        parameters = spec.get("parameters", [])
        if any(p["in"] == "path" for p in parameters):
            expected.add("404")
        if any(p["in"] == "query" for p in parameters):
            expected.add("400")
        if "application/json" in spec.get("requestBody", {}).get("content", {}):
            expected |= {"400", "413", "422"}
        if expected - statuses:
            missing.append(f"{method.upper()} {path}: {sorted(expected - statuses)}")
        assert not any(s.startswith("5") for s in statuses), (path, method)
    assert missing == []


def test_every_error_is_problem_json_with_the_shared_schema(app):
    for path, method, spec, _rule in operations(app):
        for status, response in spec["responses"].items():
            if status.startswith("4"):
                assert response["content"] == {PROBLEM_MIMETYPE: {"schema": PROBLEM_REF}}, (path, method, status)


def test_the_problem_schema_lists_every_member_the_api_writes(app):
    problem = build_openapi(app)["components"]["schemas"]["Problem"]
    assert problem["required"] == ["type", "title", "status"]
    assert problem["additionalProperties"] is False
    assert {"errors", "controles", "retry_after", "detail"} <= set(problem["properties"])


def test_every_json_body_is_closed(app):
    """`additionalProperties: false`: the handlers answer 422 to an unknown property."""
    for path, method, spec, _rule in operations(app):
        body = spec.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None:
            assert body["schema"]["additionalProperties"] is False, (path, method)


def test_every_success_says_what_it_returns(app):
    """Every 2xx has a content schema (GET /afas/equipements, /cdap/motifs, /edi/avis-paiement…
    had a description only); a JSON object lists its always-present keys in `required`."""
    for path, method, spec, _rule in operations(app):
        for status, response in spec["responses"].items():
            if status.startswith("2"):
                assert response.get("content"), (path, method, status)
                for media_type, content in response["content"].items():
                    schema = content.get("schema")
                    assert schema, (path, method, status, media_type)
                    if media_type == "application/json" and schema.get("type") == "object":
                        assert set(schema["required"]) == set(schema["properties"]), (path, method)


def test_a_blank_integer_parameter_is_refused_where_asked(app):
    from portal.inputs import int_arg
    with app.test_request_context("/?page=&n=3"):
        assert int_arg("page", 1) == 1  # pages: a GET form sends `?page=`
        assert int_arg("n", 1, blank_is_absent=False) == 3
        with pytest.raises(BadRequest):
            int_arg("page", 1, blank_is_absent=False)
