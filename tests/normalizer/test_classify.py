"""Class suggestions with confidence and an Indonesian reason."""

from __future__ import annotations

import pytest

from normalizer.classify import CLASSES, ClassRules, classify, load_class_rules
from normalizer.resources import data_file, read_yaml

EXAMPLES = [
    (
        "road damage",
        "Jalan di desa Leteh rusak parah dan berlubang, mohon segera diperbaiki",
        "pengaduan",
    ),
    (
        "rhetorical question is still a complaint",
        "Kenapa jalan rusak belum diperbaiki?",
        "pengaduan",
    ),
    (
        "how-to question",
        "Bagaimana cara mengurus KTP yang hilang? Apa saja syaratnya?",
        "permintaan_informasi",
    ),
    ("SMS question", "sy mau tanya jadwal posyandu bln ini", "permintaan_informasi"),
    ("when question", "Kapan pencairan BLT tahap 3?", "permintaan_informasi"),
    (
        "illegal levy",
        "Kepala sekolah meminta uang Rp 500.000 untuk seragam, ini pungli",
        "pengaduan_berkadar_pengawasan",
    ),
    (
        "corruption",
        "Dana desa diduga dikorupsi kades, proyeknya fiktif",
        "pengaduan_berkadar_pengawasan",
    ),
    ("bribe", "Petugas minta disogok supaya izin cepat keluar", "pengaduan_berkadar_pengawasan"),
    (
        "civil servant misconduct",
        "Perangkat desa Sumbergirang sering bolos saat jam kerja",
        "pengaduan_berkadar_pengawasan",
    ),
    (
        "maladministration",
        "Ada maladministrasi dalam penerbitan sertifikat",
        "pengaduan_berkadar_pengawasan",
    ),
    ("suggestion", "Usul pak, mohon dibangun taman bermain anak di kelurahan Pacar", "aspirasi"),
    ("advice", "Saran saya sebaiknya jam pelayanan ditambah sampai sore", "aspirasi"),
    ("a nest is no suggestion", "Puskesmas Sarang pelayanannya lambat sekali", "pengaduan"),
    ("no marker at all", "Begini ceritanya", "pengaduan"),
]


@pytest.mark.parametrize(("label", "text", "expected"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_suggested_class(label: str, text: str, expected: str) -> None:
    suggestions = classify(text)
    assert suggestions[0].cls == expected
    assert {s.cls for s in suggestions} == set(CLASSES)
    assert suggestions[0].reason
    confidences = [s.confidence for s in suggestions]
    assert confidences == sorted(confidences, reverse=True)
    assert abs(sum(confidences) - 1) < 0.01


def test_reason_names_the_words_that_matched() -> None:
    top = classify("Ada pungli di kantor kecamatan")[0]
    assert top.cls == "pengaduan_berkadar_pengawasan"
    assert "pungli" in top.reason
    assert top.rules == ("pungli",)


def test_more_evidence_more_confidence() -> None:
    weak = classify("pelayanan lambat")[0]
    strong = classify("pelayanan lambat, antre panjang, petugas kasar, jalan rusak")[0]
    assert weak.cls == strong.cls == "pengaduan"
    assert strong.confidence > weak.confidence


def test_rules_are_configurable() -> None:
    data = read_yaml(data_file("classes.yaml"))
    data["rules"] = [
        {"id": "gaji", "class": "aspirasi", "weight": 9, "phrases": ["gaji"], "reason": "Uji"}
    ]
    rules = ClassRules.from_mapping(data)
    assert classify("gaji guru honorer", rules)[0].cls == "aspirasi"
    assert classify("gaji guru honorer", load_class_rules())[0].cls != "aspirasi"


# Questions from real LAPOR! reports (bench/data/lapor), reworded: a question about how to get
# something is a request for information; "why did I not get it?" is a complaint.
QUESTIONS = [
    ("Bagaimana cara mendapatkan KIP? Anak saya kelas 2 SD", "permintaan_informasi"),
    (
        "Terus saya harus melapor kemana ya untuk mendapatkan kip mohon informasi",
        "permintaan_informasi",
    ),
    ("kartunya tertinggal di kantor pos, lalu bagaimana?", "permintaan_informasi"),
    ("apakah mahasiswa bisa menerima BSM atau tidak?", "permintaan_informasi"),
    ("saya kenapa saya tidak dapat kartu KIP?", "pengaduan"),
    ("mau tanya kenapa anak saya tidak mendapat KIP sedangkan temannya dapat", "pengaduan"),
    ("Kenapa yang mendapat KIP hanya beberapa orang ?", "pengaduan"),
]


@pytest.mark.parametrize(("text", "expected"), QUESTIONS)
def test_questions_are_information_requests_unless_they_complain(text: str, expected: str) -> None:
    assert classify(text)[0].cls == expected
