"""The "bukan laporan" suggestion: spam, promotions, chit-chat and jokes offered for archiving;
real complaints never."""

from __future__ import annotations

import pytest

from normalizer.classify import classify
from normalizer.not_report import not_a_report
from normalizer.routing import AgencyDirectory
from normalizer.text import clean_text


def suggestion(text: str, directory: AgencyDirectory):
    clean = clean_text(text)
    return not_a_report(clean, classify(clean), directory)


# Written for these tests in the style of the messages gateways receive (no real SMS here; the
# real ones are measured in bench/quality_real.py).
NOT_REPORTS = [
    (
        "prize scam",
        "SELAMAT! No Anda terpilih sbg pemenang undian poin, PIN pemenang x7k2m9q, info klik "
        "www.hadiah-undian.example.com",
        "spam",
    ),
    (
        "transfer request",
        "Uangnya di transfer saja ke rekening BRI a/n Sutrisno, sms klo sdh kirim",
        "spam",
    ),
    (
        "operator promotion",
        "Paket internet 10GB cuma Rp25rb! Aktifkan di *123*5# berlaku s/d 31 Maret",
        "promosi",
    ),
    ("chit-chat", "Aku udh di kampus ya, nanti ketemu di kantin aja wkwk", "obrolan"),
    ("greeting only", "halo kak, makasih ya", "obrolan"),
    ("a joke about floods", "nonton drakor tadi malam sampai banjir air mata wkwk", "candaan"),
]


@pytest.mark.parametrize(("label", "text", "kind"), NOT_REPORTS, ids=[n[0] for n in NOT_REPORTS])
def test_not_a_report_is_suggested(
    directory: AgencyDirectory, label: str, text: str, kind: str
) -> None:
    found = suggestion(text, directory)
    assert found is not None and found.kind == kind
    assert found.action == "arsipkan"
    assert 0 < found.strength < 1
    assert found.reason  # says why, quoting what it saw


REPORTS = [
    "Jalan di desa Leteh rusak parah dan berlubang, mohon segera diperbaiki",
    "banjir setinggi lutut di depan rumah kami sejak semalam",
    # chatty, but a report: a problem named
    "kak, lampu jalan di gang 3 mati udh seminggu wkwk gelap bgt",
    # a prize promised by an official who then asks for money: a report of extortion
    "Petugas kelurahan bilang saya pemenang bantuan tapi harus transfer dulu 500rb, ini pungli",
    # real LAPOR! style: a card never received, a question in form
    "anak saya tidak mendapat KIP padahal masih sekolah, kenapa?",
    "Mohon info syarat membuat akta kelahiran",
]


@pytest.mark.parametrize("text", REPORTS)
def test_reports_are_never_called_not_a_report(directory: AgencyDirectory, text: str) -> None:
    assert suggestion(text, directory) is None


def test_the_joke_does_not_make_a_complaint(directory: AgencyDirectory) -> None:
    joke = classify("nonton drakor tadi malam sampai banjir air mata")
    flood = classify("banjir di depan rumah sampai lutut")
    assert "gangguan" not in joke[0].rules + joke[1].rules
    assert "gangguan" in flood[0].rules


def test_politeness_is_no_nuisance() -> None:
    polite = classify("Maaf mengganggu pak, bagaimana cara mendaftar KIP?")
    assert polite[0].cls == "permintaan_informasi"
    assert all("gangguan" not in c.rules for c in polite)
