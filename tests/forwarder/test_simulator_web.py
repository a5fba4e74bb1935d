"""The simulator's web page, where a person plays the LAPOR! admin and agency (Indonesian)."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from forwarder.simulator import CoreSimulator, SimStatus

pytestmark = pytest.mark.anyio


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def _submit(core: CoreSimulator, **payload: object) -> str:
    base = {
        "tracking_code": "LPR-7K3M9Q",
        "title": "Jalan berlubang",
        "description": "Lubang besar di Jl. Pemuda.",
        "category": "pengaduan",
        "source_channel": "whatsapp",
        "received_at": "2024-05-02T01:30:00+00:00",
        "agency_code": "DPUPR",
        "attachments": [],
    }
    report, _ = core.submit("complaint-1", {**base, **payload})
    return report.core_id


async def test_the_list_shows_reports_escaped(http: httpx.AsyncClient, core: CoreSimulator) -> None:
    core_id = _submit(core, title="<script>alert(1)</script> Lampu mati")
    page = await http.get("/")
    assert page.status_code == 200
    assert f"#{core_id}" in page.text
    assert "Belum Terverifikasi" in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Lampu mati" in page.text
    filtered = await http.get("/", params={"status": "closed"})
    assert f"#{core_id}" not in filtered.text


async def test_verify_dispose_and_answer_with_a_photo(
    http: httpx.AsyncClient, core: CoreSimulator
) -> None:
    core_id = _submit(core)
    url = f"/laporan/{core_id}/aksi"
    page = await http.get(f"/laporan/{core_id}")
    assert "Verifikasi" in page.text and "Jawab" not in page.text

    verified = await http.post(url, data={"action": "verify"})
    assert verified.status_code == 303
    shown = await http.get(verified.headers["Location"])
    assert "Verifikasi: berhasil." in shown.text
    await http.post(url, data={"action": "dispose", "agency_code": "DLH"})
    answered = await http.post(
        url,
        data={"action": "answer", "text": "Sudah ditambal & dicek <b>petugas</b>."},
        files={"photo": ("bukti.png", _png(), "image/png")},
    )
    assert answered.status_code == 303
    report = core.get(core_id)
    assert (report.status, report.agency_code) == (SimStatus.ANSWERED, "DLH")
    answer = core.store.events_of(core_id)[-1]
    assert answer.text == "Sudah ditambal & dicek <b>petugas</b>."
    [photo] = answer.attachments
    assert (photo["filename"], photo["content_type"]) == ("bukti.png", "image/png")
    served = await http.get(photo["url"])
    assert served.status_code == 200
    assert served.content == _png()
    detail = (await http.get(f"/laporan/{core_id}")).text
    assert "&lt;b&gt;petugas&lt;/b&gt;" in detail


async def test_a_file_that_is_not_a_photo_is_refused(
    http: httpx.AsyncClient, core: CoreSimulator
) -> None:
    core_id = _submit(core)
    for action in ("verify", "dispose"):
        await http.post(f"/laporan/{core_id}/aksi", data={"action": action})
    refused = await http.post(
        f"/laporan/{core_id}/aksi",
        data={"action": "answer", "text": "Terlampir."},
        files={"photo": ("bukti.png", b"MZ\x90\x00 not an image", "image/png")},
    )
    assert refused.status_code == 422
    assert "bukan foto" in refused.text
    assert core.get(core_id).status is SimStatus.DISPOSED
    empty = await http.post(f"/laporan/{core_id}/aksi", data={"action": "answer", "text": " "})
    assert empty.status_code == 422
    assert "wajib diisi" in empty.text


async def test_an_action_out_of_order_says_so(http: httpx.AsyncClient, core: CoreSimulator) -> None:
    core_id = _submit(core)
    refused = await http.post(f"/laporan/{core_id}/aksi", data={"action": "close"})
    assert refused.status_code == 409
    assert "tidak berlaku" in refused.text
    assert (await http.get("/laporan/123")).status_code == 404


async def test_attachment_links_only_to_http(http: httpx.AsyncClient, core: CoreSimulator) -> None:
    core_id = _submit(
        core,
        attachments=[
            {"url": "javascript:alert(1)", "filename": "x.jpg", "content_type": "image/jpeg"},
            {"url": "https://gw.test/m/2.jpg", "filename": "y.jpg", "content_type": "image/jpeg"},
        ],
    )
    page = (await http.get(f"/laporan/{core_id}")).text
    assert "javascript:" not in page
    assert 'href="https://gw.test/m/2.jpg"' in page


async def test_the_fault_switch_on_the_page(http: httpx.AsyncClient, core: CoreSimulator) -> None:
    switched = await http.post("/gangguan", data={"mode": "unavailable", "remaining": "3"})
    assert switched.status_code == 303
    assert (core.faults.mode.value, core.faults.remaining) == ("unavailable", 3)
    assert "API mati (503)" in (await http.get("/")).text
    await http.post("/gangguan", data={"mode": "none"})
    assert core.faults.mode.value == "none"


async def test_media_names_cannot_escape_the_folder(http: httpx.AsyncClient) -> None:
    assert (await http.get("/media/..%2Fcore.db")).status_code == 404
    assert (await http.get("/media/" + "a" * 32 + ".png")).status_code == 404
