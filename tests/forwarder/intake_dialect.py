"""A made-up SP4N-LAPOR! integration API for the intake side, with its own names: the reports
disposed to the regency under Indonesian paths and fields (nested, naive local timestamps, its
own class and channel words), paged by an offset cursor, and the regency admin's actions
(verifikasi, disposisi, kembalikan, arsip, tanya) keyed by its own idempotency header.

The REST client reaches it only through `MAPPING_YAML`, the way a deployment with real access
would (CORE_REST_MAPPING_FILE). It keeps what it was sent so tests can read it back.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Header, HTTPException, Request

MAPPING_YAML = """\
incoming_path: /integrasi/disposisi-masuk
since_param: setelah
limit_param: batas
incoming_list_field: hasil.laporan
incoming_cursor_field: hasil.kursor
incoming_more_field: hasil.lanjut
incoming_fields:
  core_id: no_tracking
  title: judul
  description: isi
  received_at: tanggal_lapor
  disposed_at: tanggal_disposisi
  category: klasifikasi
  topic: kategori
  source_channel: sumber
  agency_code: instansi.kode
  status: status
  location_text: lokasi.alamat
  latitude: lokasi.lintang
  longitude: lokasi.bujur
  kecamatan: lokasi.kecamatan
  kelurahan: lokasi.desa
  reporter_name: pelapor.nama
  reporter_contact: pelapor.kontak
  anonim: anonim
  rahasia: rahasia
  attachments: lampiran
attachment_fields: {url: tautan, filename: nama, content_type: tipe}
category_values: {"Pengaduan Masyarakat": pengaduan}
channel_values: {"SMS Gateway": sms1708}
naive_timezone: Asia/Jakarta
idempotency_header: X-Kunci-Idempoten
find_key_param: kunci
verify_path: /integrasi/laporan/{core_id}/verifikasi
dispose_path: /integrasi/laporan/{core_id}/disposisi
return_path: /integrasi/laporan/{core_id}/kembalikan
archive_path: /integrasi/laporan/{core_id}/arsip
ask_path: /integrasi/laporan/{core_id}/tanya
followup_text_field: catatan
dispose_agency_field: tujuan.kode
action_reason_field: alasan
ask_question_field: pertanyaan
followup_find_path: /integrasi/laporan/{core_id}/riwayat-aksi
followup_find_list_field: ""
receipt_id_field: data.id_riwayat
receipt_status_field: data.status
"""

# The status each action leaves the report in, in this core's words.
_STATUS_AFTER = {
    "verifikasi": "Terverifikasi",
    "disposisi": "Didisposisikan",
    "kembalikan": "Dikembalikan",
    "arsip": "Diarsipkan",
    "tanya": "Ditunda",
}


def laporan(number: int, **changes: Any) -> dict[str, Any]:
    """One report as this core lists it (a citizen's SMS 1708 report by default)."""
    item: dict[str, Any] = {
        "no_tracking": 7700000 + number,
        "judul": f"Lampu jalan mati {number}",
        "isi": f"Lampu jalan di gang {number} mati sejak minggu lalu.",
        "tanggal_lapor": "2024-05-02 08:30:00",
        "tanggal_disposisi": "2024-05-02 10:00:00",
        "klasifikasi": "Pengaduan Masyarakat",
        "kategori": "Infrastruktur",
        "sumber": "SMS Gateway",
        "instansi": {"kode": "DISHUB", "nama": "Dinas Perhubungan"},
        "status": "Belum Terverifikasi",
        "lokasi": {
            "alamat": "Gang Mawar, Leteh",
            "lintang": "-6.7083",
            "bujur": "111.3412",
            "kecamatan": "Rembang",
            "desa": "Leteh",
        },
        "pelapor": {"nama": "Warga Contoh", "kontak": "+6281100009999"},
        "anonim": "0",
        "rahasia": 0,
        "lampiran": [{"tautan": f"http://lapor.test/f/{number}.jpg", "nama": "foto.jpg"}],
    }
    item.update(changes)
    return item


@dataclass
class IntakeDialectCore:
    listed: list[Any] = field(default_factory=list)  # the disposed reports, in order
    actions: dict[str, dict[str, Any]] = field(default_factory=dict)  # by idempotency key
    requests: list[tuple[str, str, dict[str, Any], str | None]] = field(default_factory=list)
    listings: list[dict[str, str]] = field(default_factory=list)  # query params of each listing
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def dispose(self, *items: Any) -> None:
        """LAPOR!'s national admin disposes reports to the regency."""
        self.listed.extend(items)

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.get("/integrasi/disposisi-masuk")
        async def incoming(request: Request, setelah: int = 0, batas: int = 50) -> dict[str, Any]:
            self.listings.append(dict(request.query_params))
            page = self.listed[setelah : setelah + batas]
            return {
                "hasil": {
                    "laporan": page,
                    "kursor": str(setelah + len(page)),
                    "lanjut": setelah + len(page) < len(self.listed),
                }
            }

        def known(core_id: str) -> bool:
            return any(
                isinstance(item, dict) and str(item.get("no_tracking")) == core_id
                for item in self.listed
            )

        @api.post("/integrasi/laporan/{core_id}/{aksi}", status_code=201)
        async def act(
            core_id: str,
            aksi: str,
            request: Request,
            kunci: str | None = Header(default=None, alias="X-Kunci-Idempoten"),
        ) -> dict[str, Any]:
            body = await request.json()
            self.requests.append(("POST", request.url.path, body, kunci))
            if aksi not in _STATUS_AFTER:
                raise HTTPException(404)
            if not kunci:
                raise HTTPException(400, "kunci wajib")
            if not known(core_id):
                raise HTTPException(404, "laporan tidak ada")
            if kunci not in self.actions:
                self.actions[kunci] = {
                    "id_riwayat": f"aksi-{next(self._ids)}",
                    "laporan": core_id,
                    "aksi": aksi,
                    "isi": body,
                    "status": _STATUS_AFTER[aksi],
                }
            action = self.actions[kunci]
            return {"data": {"id_riwayat": action["id_riwayat"], "status": action["status"]}}

        @api.get("/integrasi/laporan/{core_id}/riwayat-aksi")
        async def find_action(core_id: str, kunci: str) -> list[dict[str, Any]]:
            """A bare list of receipts, each shaped like the action's own answer."""
            action = self.actions.get(kunci)
            found = [action] if action and action["laporan"] == core_id else []
            return [{"data": {"id_riwayat": a["id_riwayat"], "status": a["status"]}} for a in found]

        return api
