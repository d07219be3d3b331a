"""The OpenAPI document says what the API does: the 400 for a body that is not JSON, links."""

from __future__ import annotations

from typing import Any

from tests.vhs.test_api_auth import assert_problem


def _spec(client: Any) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").json


def test_a_body_that_is_not_json_is_a_documented_400(client, make_user, api_token):
    headers = api_token(make_user()) | {"Content-Type": "application/json"}
    resp = client.patch("/api/v1/me", data=b"\xf1t", headers=headers)
    assert_problem(resp, 400, "invalid_json")
    spec = _spec(client)
    responses = spec["paths"]["/api/v1/me"]["patch"]["responses"]
    assert responses["400"] == {"$ref": "#/components/responses/BAD_REQUEST"}
    assert responses["413"] == {"$ref": "#/components/responses/REQUEST_ENTITY_TOO_LARGE"}
    assert responses["415"] == {"$ref": "#/components/responses/UNSUPPORTED_MEDIA_TYPE"}
    # Any request may carry characters no field may hold: the edge's 400 is documented too.
    get = spec["paths"]["/api/v1/me"]["get"]["responses"]
    assert "400" in get and "415" not in get


def test_every_link_points_at_an_operation_of_the_document(client):
    spec = _spec(client)
    found = 0
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for status, response in operation.get("responses", {}).items():
                for name, link in response.get("links", {}).items():
                    found += 1
                    prefix = "#/paths/"
                    assert link["operationRef"].startswith(prefix), name
                    target_path, target_method = link["operationRef"][len(prefix) :].rsplit("/", 1)
                    target_path = target_path.replace("~1", "/").replace("~0", "~")
                    target_item = spec["paths"][target_path]
                    target = target_item[target_method]
                    declared = target_item.get("parameters", []) + target.get("parameters", [])
                    names = {p["name"] for p in declared}
                    where = f"{method.upper()} {path} {status} {name}"
                    assert set(link.get("parameters", {})) <= names, where
                    assert link.get("requestBody") is None or "requestBody" in target, where
    assert found >= 70
