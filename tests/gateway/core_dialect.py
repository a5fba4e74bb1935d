"""A made-up SP4N-LAPOR! integration API with its own names (Indonesian paths and fields, its
own event ids, no `origin_key` in its events), to run the REST backend through a mapping file
(CORE_REST_MAPPING_FILE) on 127.0.0.1, the way a deployment with real access would.

It keeps what it was sent so tests can read it back, and idempotency keys like a real core.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Header, HTTPException, Request

# The mapping a deployment would write for this dialect (docs/core-api.md, "Mapping a real core").
MAPPING_YAML = """\
submit_path: /integrasi/laporan
find_path: /integrasi/laporan/cari
find_key_param: kunci
find_list_field: data.laporan
events_path: /integrasi/riwayat
since_param: setelah
events_field: data.riwayat
cursor_field: data.kursor
more_field: data.lagi
idempotency_header: X-Kunci-Idempoten
ref_id_field: data.id_tracking
ref_status_field: data.status
progress_path: /integrasi/laporan/{core_id}/proses
answer_path: /integrasi/laporan/{core_id}/tindak-lanjut
close_path: /integrasi/laporan/{core_id}/tutup
followup_find_path: /integrasi/laporan/{core_id}/tindak-lanjut
followup_find_list_field: data
followup_text_field: isi
followup_attachments_field: lampiran
close_reason_field: alasan
receipt_id_field: data.id_riwayat
receipt_status_field: data.status
attachment_fields: {url: tautan, filename: nama, content_type: tipe}
event_fields:
  event_id: id_riwayat
  core_id: id_tracking
  kind: jenis
  occurred_at: waktu
  text: isi
  status: status
  attachments: lampiran
  origin_key: ""
event_kinds: {status: status, jawaban: answer, tutup: closed}
"""

_STATUS = {"proses": "Proses", "tindak-lanjut": "Selesai", "tutup": "Ditutup"}
_KIND = {"proses": "status", "tindak-lanjut": "jawaban", "tutup": "tutup"}


@dataclass
class DialectCore:
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)  # by id_tracking
    keys: dict[str, str] = field(default_factory=dict)  # idempotency key -> id or event id
    history: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, Any], str | None]] = field(default_factory=list)
    # False: a core whose answer to a follow-up names it differently from its own event (the
    # gateway must then recognise its own words by what they say).
    receipts_are_event_ids: bool = True
    _ids: itertools.count = field(default_factory=lambda: itertools.count(8101))

    def agency_answers(self, core_id: str, text: str) -> None:
        """The agency answers in LAPOR! itself (not through the gateway): news for the gateway."""
        self._event(core_id, "jawaban", "Selesai", text, [])

    def _event(
        self, core_id: str, kind: str, status: str, text: str, attachments: list[Any]
    ) -> dict[str, Any]:
        event = {
            "id_riwayat": f"r-{len(self.history) + 1}",
            "id_tracking": core_id,
            "jenis": kind,
            "status": status,
            "isi": text,
            "lampiran": attachments,
            "waktu": datetime.now(UTC).isoformat(),
        }
        self.history.append(event)
        self.reports[core_id]["status"] = status
        return event

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.post("/integrasi/laporan", status_code=201)
        async def submit(
            request: Request, kunci: str | None = Header(default=None, alias="X-Kunci-Idempoten")
        ) -> dict[str, Any]:
            body = await request.json()
            self.requests.append(("POST", request.url.path, body, kunci))
            if not kunci:
                raise HTTPException(400, "kunci wajib")
            if kunci not in self.keys:
                core_id = str(next(self._ids))
                self.keys[kunci] = core_id
                self.reports[core_id] = {"body": body, "status": "Belum Terverifikasi"}
            core_id = self.keys[kunci]
            return {"data": {"id_tracking": core_id, "status": self.reports[core_id]["status"]}}

        @api.get("/integrasi/laporan/cari")
        async def find(kunci: str) -> dict[str, Any]:
            core_id = self.keys.get(kunci)
            if core_id is None:
                return {"data": {"laporan": []}}
            return {
                "data": {
                    "laporan": [{"id_tracking": core_id, "status": self.reports[core_id]["status"]}]
                }
            }

        @api.post("/integrasi/laporan/{core_id}/{what}", status_code=201)
        async def followup(
            core_id: str,
            what: str,
            request: Request,
            kunci: str | None = Header(default=None, alias="X-Kunci-Idempoten"),
        ) -> dict[str, Any]:
            body = await request.json()
            self.requests.append(("POST", request.url.path, body, kunci))
            if core_id not in self.reports or what not in _STATUS or not kunci:
                raise HTTPException(404 if core_id not in self.reports else 400)
            if kunci not in self.keys:
                text = body.get("isi") or body.get("alasan") or ""
                event = self._event(
                    core_id, _KIND[what], _STATUS[what], text, body.get("lampiran", [])
                )
                self.keys[kunci] = event["id_riwayat"]
            receipt = self.keys[kunci]
            if not self.receipts_are_event_ids:
                receipt = "tl-" + receipt
            return {"data": {"id_riwayat": receipt, "status": _STATUS[what]}}

        @api.get("/integrasi/laporan/{core_id}/tindak-lanjut")
        async def find_followup(core_id: str, kunci: str) -> dict[str, Any]:
            event_id = self.keys.get(kunci)
            found = [e for e in self.history if e["id_riwayat"] == event_id]
            return {"data": [{"id_riwayat": e["id_riwayat"], "status": e["status"]} for e in found]}

        @api.get("/integrasi/riwayat")
        async def events(setelah: int = 0, limit: int = 100) -> dict[str, Any]:
            page = self.history[setelah : setelah + limit]
            return {
                "data": {
                    "riwayat": page,
                    "kursor": str(setelah + len(page)),
                    "lagi": setelah + len(page) < len(self.history),
                }
            }

        return api
