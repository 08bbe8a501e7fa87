import re

import pytest

from appliance.auth.roles import Role
from tests.fakes.access import PASSWORD, make_account

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """Return the CSRF token a rendered form carries."""
    match = CSRF.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def sign_in(client, username: str, password: str = PASSWORD):
    """Sign in through the console's form; return the answer."""
    form = client.get("/admin/login")
    return client.post(
        "/admin/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_of(form.get_data(as_text=True)),
            "next": "/admin/",
        },
    )


@pytest.fixture
def accounts(db, settings):
    for role in Role:
        make_account(db, settings, role.value, role)


@pytest.fixture
def as_role(app, accounts):
    """Return a function giving a test client signed in with that role."""

    def make(role: Role):
        client = app.test_client()
        answer = sign_in(client, role.value)
        assert answer.status_code == 303, answer.get_data(as_text=True)
        return client

    return make


def post_form(client, url: str, page: str, data: dict):
    """Post a form with the CSRF token taken from ``page``."""
    html = client.get(page).get_data(as_text=True)
    return client.post(url, data={**data, "csrf_token": csrf_of(html)})
