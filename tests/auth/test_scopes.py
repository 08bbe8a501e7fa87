from appliance.auth.api_keys import KNOWN_SCOPES
from appliance.auth.guard import ROLE_ATTRIBUTE, SCOPE_ATTRIBUTE


def test_every_guarded_route_has_a_scope_a_key_can_hold(app):
    missing = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if not hasattr(view, ROLE_ATTRIBUTE):
            continue
        scope = getattr(view, SCOPE_ATTRIBUTE) or rule.endpoint.split(".")[0]
        if scope not in KNOWN_SCOPES:
            missing[rule.rule] = scope

    assert missing == {}, (
        "add these scopes to KNOWN_SCOPES in appliance/auth/api_keys.py"
    )
