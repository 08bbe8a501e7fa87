from appliance.api.openapi import undocumented_rules


def test_every_route_is_documented(app):
    assert undocumented_rules(app) == []


def test_document_is_openapi_3_1_and_lists_every_route(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    paths = set(document["paths"])
    rules = {
        rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
    }

    assert document["openapi"] == "3.1.0"
    assert rules <= paths
    assert document["paths"]["/api/v1/jobs/{job_id}"]["get"]["parameters"][0][
        "schema"
    ] == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}


def test_every_schema_reference_resolves(client):
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    refs = []

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    assert refs
    assert all(ref.split("/")[-1] in schemas for ref in refs)
