"""Issue 13 §9: every answer carries a Content-Security-Policy without inline script or
style, anti-framing, nosniff and a Referrer-Policy; HSTS only behind https. (The browser tests
drive the real pages — forms, the vendored chart — under this policy.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

PATHS = ["/", "/lapor", "/status", "/publikasi", "/admin/login", "/healthz", "/api/v1/complaints/x"]
TEMPLATES = Path(__file__).resolve().parents[2] / "gateway" / "templates"


@pytest.mark.parametrize("path", PATHS)
def test_every_page_has_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "object-src 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in response.headers  # plain http here


def test_webhooks_and_errors_carry_them_too(client: TestClient) -> None:
    response = client.post("/webhooks/nowhere", content=b"{}")
    assert response.status_code == 404
    assert response.headers["x-content-type-options"] == "nosniff"


def test_hsts_behind_an_https_proxy(client: TestClient) -> None:
    response = client.get("/lapor", headers={"x-forwarded-proto": "https"})
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_the_api_documentation_still_loads_its_bundle(client: TestClient) -> None:
    csp = client.get("/docs").headers["content-security-policy"]
    assert "cdn.jsdelivr.net" in csp and "frame-ancestors 'none'" in csp


def test_no_template_relies_on_inline_script_or_style() -> None:
    """What the policy forbids must not be in the pages: no inline <script> code (a JSON data
    block is not code), no style attribute, no <style> element, no on* handler."""
    offenders = []
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        for match in re.finditer(r"<script(?![^>]*\bsrc=)([^>]*)>", text):
            if "application/json" not in match.group(1):
                offenders.append(f"{template.name}: inline script")
        if re.search(r"\sstyle=\"", text) or "<style" in text:
            offenders.append(f"{template.name}: inline style")
        if re.search(r"\son[a-z]+=\"", text):
            offenders.append(f"{template.name}: inline event handler")
    assert offenders == []
