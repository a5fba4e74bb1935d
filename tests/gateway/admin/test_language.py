"""The admin's language is the admin's own choice: a visit to the citizen's form in English (a
koordinator trying `/lapor?lang=en` in the same browser) must not turn the inbox English, and
the other way round."""

from __future__ import annotations

from tests.gateway.admin.conftest import Admin


def _lang(html: str) -> str:
    return html.split('<html lang="', 1)[1].split('"', 1)[0]


def test_the_citizens_language_does_not_change_the_admins(clients: dict[str, Admin]) -> None:
    koor = clients["koor"]
    assert _lang(koor.get("/lapor?lang=en").text) == "en"
    assert _lang(koor.get("/lapor").text) == "en"  # the citizen's choice is remembered ...

    inbox = koor.get("/admin").text
    assert _lang(inbox) == "id" and "Kotak Masuk" in inbox  # ... for citizens' pages only

    assert _lang(koor.get("/admin?lang=en").text) == "en"
    assert _lang(koor.get("/admin").text) == "en"  # the admin's choice is remembered too
    assert _lang(koor.get("/lapor?lang=id").text) == "id"
    inbox = koor.get("/admin").text
    assert _lang(inbox) == "en" and "Inbox" in inbox


def test_the_login_page_follows_the_admins_choice_not_the_citizens(
    clients: dict[str, Admin],
) -> None:
    visitor = clients["anonymous"]
    visitor.get("/status?lang=en")
    assert _lang(visitor.get("/admin/login").text) == "id"
    visitor.get("/admin/login?lang=en")
    assert _lang(visitor.get("/admin/login").text) == "en"
    assert _lang(visitor.get("/status?lang=id").text) == "id"
    assert _lang(visitor.get("/admin/login").text) == "en"
