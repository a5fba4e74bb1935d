"""normalize(): one complaint in, everything an admin needs out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from normalizer.location import Gazetteer
from normalizer.pipeline import NormalizedComplaint, normalize
from normalizer.routing import AgencyDirectory, AgencyRouter
from normalizer.text import MAX_CHARS

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SMS = (
    "Selamat pagi min, nama saya Budi Santoso NIK 3317011203850002 hp 0812-3456-7890. "
    "Sy mau lapor jln rusakkk bgt di ds Sumbergirang kec. Lasem udh 2 thn gak diperbaiki, "
    "byk lubang. Mohon segera ditindaklanjuti. Terima kasih 🙏"
)


@dataclass(frozen=True)
class Location:
    """Shaped like channels.base.Location."""

    latitude: float | None = None
    longitude: float | None = None
    label: str | None = None


def run(text: str, directory: AgencyDirectory, gazetteer: Gazetteer, **kw) -> NormalizedComplaint:
    return normalize(text, directory=directory, gazetteer=gazetteer, now=NOW, **kw)


def test_an_sms_complaint_end_to_end(directory: AgencyDirectory, gazetteer: Gazetteer) -> None:
    result = run(SMS, directory, gazetteer)
    assert result.original == SMS
    assert "jalan rusak sekali di desa Sumbergirang" in result.clean_text
    assert result.title.startswith("Jalan rusak sekali di desa Sumbergirang")
    assert [s.kind for s in result.pii] == ["nama", "nik", "telepon"]
    assert "Budi" not in result.masked_text and "[NIK]" in result.masked_text
    assert result.place is not None
    assert (result.place.kecamatan, result.place.village) == ("Lasem", "Sumbergirang")
    assert result.suggested_class.cls == "pengaduan"
    assert result.suggested_agency is not None and result.suggested_agency.code == "DPUPR"
    assert "budi" not in result.signature.text and "rusak" in result.signature.text
    assert result.normalized_at == NOW
    assert not result.truncated


def test_title_and_routing_never_see_personal_data(
    directory: AgencyDirectory, gazetteer: Gazetteer
) -> None:
    result = run(
        "Nama saya Siti Aminah. Siti Aminah tinggal di Leteh, sampah menumpuk.",
        directory,
        gazetteer,
    )
    assert "Siti" not in result.title
    assert all("Siti" not in s.reason for s in result.agencies)
    assert "siti" not in result.signature.text


def test_pin_fills_in_the_place_and_coordinates_are_kept(
    directory: AgencyDirectory, gazetteer: Gazetteer
) -> None:
    result = run("Lampu jalan mati di sini", directory, gazetteer, location=Location(-6.70, 111.44))
    assert result.coordinates == (-6.70, 111.44)
    assert result.place is not None and (result.place.kecamatan, result.place.source) == (
        "Lasem",
        "pin",
    )
    named = run(
        "Lampu jalan mati di kel. Leteh", directory, gazetteer, location=Location(-6.70, 111.44)
    )
    assert named.place is not None and named.place.kecamatan == "Rembang"
    assert named.coordinates == (-6.70, 111.44)


def test_pin_label_is_read_as_a_place(directory: AgencyDirectory, gazetteer: Gazetteer) -> None:
    result = run("Lampu jalan mati", directory, gazetteer, location=Location(label="Desa Dasun"))
    assert result.place is not None and result.place.village == "Dasun"


@pytest.mark.parametrize("bad", [(float("nan"), 111.0), (200.0, 111.0)])
def test_impossible_coordinates_are_dropped(
    directory: AgencyDirectory, gazetteer: Gazetteer, bad: tuple[float, float]
) -> None:
    result = run("Lampu jalan mati", directory, gazetteer, location=Location(*bad))
    assert result.coordinates is None


def test_a_trained_router_is_used(directory: AgencyDirectory, gazetteer: Gazetteer) -> None:
    router = AgencyRouter(directory).train([("anjing liar menggigit warga", "DINTANPAN")] * 5)
    result = run("anjing liar berkeliaran", directory, gazetteer, router=router)
    assert [a.code for a in result.agencies] == ["DINTANPAN"]


def test_oversight_class_routes_to_the_inspectorate(
    directory: AgencyDirectory, gazetteer: Gazetteer
) -> None:
    result = run("Oknum petugas kecamatan meminta uang pelicin, ini pungli", directory, gazetteer)
    assert result.suggested_class.cls == "pengaduan_berkadar_pengawasan"
    assert result.agencies[0].code == "INSPEKTORAT"


def test_huge_text_is_truncated_and_flagged(
    directory: AgencyDirectory, gazetteer: Gazetteer
) -> None:
    result = run("jalan rusak di desa Leteh. " * 2000, directory, gazetteer)
    assert result.truncated
    assert len(result.clean_text) <= MAX_CHARS
    assert result.original.startswith("jalan rusak")


def test_result_is_json_ready(directory: AgencyDirectory, gazetteer: Gazetteer) -> None:
    data = run(SMS, directory, gazetteer).as_dict()
    assert json.loads(json.dumps(data))["place"]["village"] == "Sumbergirang"


def test_not_a_report_is_part_of_the_result(
    directory: AgencyDirectory, gazetteer: Gazetteer
) -> None:
    promo = run("Paket internet 10GB cuma Rp25rb! Aktifkan di *123*5#", directory, gazetteer)
    assert promo.not_report is not None and promo.not_report.kind == "promosi"
    assert promo.not_report.action == "arsipkan"
    assert json.loads(json.dumps(promo.as_dict()))["not_report"]["kind"] == "promosi"
    assert run(SMS, directory, gazetteer).not_report is None


def test_jalan_meaning_go_routes_nowhere_near_public_works(
    directory: AgencyDirectory, gazetteer: Gazetteer
) -> None:
    result = run("mau jalan-jalan ke pantai sama keluarga besok", directory, gazetteer)
    assert "DPUPR" not in [a.code for a in result.agencies]
