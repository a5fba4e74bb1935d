"""Issue 14 in the gateway: duplicates are found by text wherever they come from, with the place
as evidence — not as a gate — and streets, dusun, RT/RW and landmarks keep problems apart.

Each case files complaints the way every channel does (`create.file_complaint`: enrichment,
then the duplicate look-up through `dedup_key`), from different reporters unless it says so.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from gateway.bot.reporters import identify
from gateway.clock import utcnow
from gateway.complaints import dedup
from gateway.complaints.create import file_complaint
from gateway.context import Gateway
from gateway.store.models import Complaint, DedupKey, Status
from tests.gateway.factories import new_code
from tests.gateway.test_enrich_dedup import _directory


def _file(gateway: Gateway, sender: str, text: str, *, minutes: int = 0) -> Complaint:
    now = utcnow()
    with gateway.db.session() as session:
        reporter, _ = identify(session, "twilio_sms", sender, now=now)
        complaint = Complaint(
            tracking_code=new_code(),
            reporter_id=reporter.id,
            origin_channel="twilio_sms",
            reply_channel="twilio_sms",
            reply_address=sender,
            original_text=text,
            received_at=now + timedelta(minutes=minutes),
        )
        file_complaint(gateway, session, complaint, now=now)
        session.commit()
        session.refresh(complaint)
        return complaint


def _reload(gateway: Gateway, complaint: Complaint) -> Complaint:
    with gateway.db.read_session() as session:
        found = session.get(Complaint, complaint.id)
        assert found is not None
        return found


def test_exact_duplicates_without_a_village_are_clustered(gateway: Gateway) -> None:
    """Of 410 exact duplicates in a LAPOR! import, 4 were clustered: no village, no cluster."""
    _directory(gateway)
    text = (
        "Sudah tiga hari sampah menumpuk di pinggir jalan dekat terminal bus, baunya "
        "menyengat dan banyak lalat, mohon segera diangkut"
    )
    first = _file(gateway, "+6281255551001", text)
    second = _file(gateway, "+6281255551002", text, minutes=30)
    third = _file(gateway, "+6281255551003", text.lower() + "!!", minutes=90)
    assert first.kelurahan is None and first.kecamatan is None  # no known village in the text
    assert _reload(gateway, second).cluster_id == first.id
    assert _reload(gateway, third).cluster_id == first.id
    with gateway.db.read_session() as session:
        keys = session.scalars(select(DedupKey.key).where(DedupKey.complaint_id == first.id)).all()
    assert any(k.startswith("x:") for k in keys) and not any(k.startswith("v:") for k in keys)


def test_a_common_hamlet_name_does_not_link_two_provinces(gateway: Gateway) -> None:
    """ "dusun Krajan" exists all over Java; it was read as kecamatan Kragan (Rembang) and linked
    complaints from two provinces."""
    _directory(gateway)
    first = _file(
        gateway,
        "+6281255551011",
        "Jalan di dusun Krajan rusak parah dan berlubang besar, sering ada pengendara jatuh, "
        "Kabupaten Sleman",
    )
    second = _file(
        gateway,
        "+6281255551012",
        "Jalan di dusun Krajan rusak parah berlubang, banyak pengendara motor jatuh, "
        "Kabupaten Jember Jawa Timur",
        minutes=60,
    )
    assert first.kecamatan is None and second.kecamatan is None  # not "Kragan"
    assert first.place_parts["hamlets"] == ["krajan"]
    assert _reload(gateway, second).cluster_id is None


def test_another_street_in_the_same_village_is_another_problem(gateway: Gateway) -> None:
    """ "Jalan rusak di Jl. A, desa L" and the same sentence with Jl. B were merged every time."""
    _directory(gateway)
    sender = "+6281255551021"
    first = _file(
        gateway, sender, "Jalan rusak berlubang di Jl. Diponegoro, desa Leteh kecamatan Rembang"
    )
    # The same reporter, the same sentence, another street: neither merged nor clustered.
    same_reporter = _file(
        gateway, sender, "Jalan rusak berlubang di Jl. Gatot Subroto, desa Leteh kecamatan Rembang"
    )
    other_reporter = _file(
        gateway,
        "+6281255551022",
        "Jalan rusak berlubang di Jl. Kartini, desa Leteh kecamatan Rembang",
    )
    for later in (same_reporter, other_reporter):
        found = _reload(gateway, later)
        assert found.status == Status.RECEIVED
        assert found.merged_into_id is None and found.cluster_id is None
    # ... while the same street from another reporter is the same problem.
    again = _file(
        gateway,
        "+6281255551023",
        "jalan rusak dan berlubang di Jl Diponegoro desa Leteh kec Rembang",
        minutes=45,
    )
    assert _reload(gateway, again).cluster_id == first.id


def test_another_dusun_or_rt_keeps_them_apart(gateway: Gateway) -> None:
    _directory(gateway)
    _file(
        gateway,
        "+6281255551031",
        "Lampu penerangan jalan mati total di dusun Ngemplak RT 02, desa Sumbergirang kec Lasem",
    )
    other_dusun = _file(
        gateway,
        "+6281255551032",
        "Lampu penerangan jalan mati total di dusun Sudo RT 02, desa Sumbergirang kec Lasem",
    )
    other_rt = _file(
        gateway,
        "+6281255551033",
        "Lampu penerangan jalan mati total di dusun Ngemplak RT 05, desa Sumbergirang kec Lasem",
    )
    assert _reload(gateway, other_dusun).cluster_id is None
    assert _reload(gateway, other_rt).cluster_id is None


def test_the_judgements_say_why(gateway: Gateway) -> None:
    """What the complaint page shows: the clustered one and the near miss, each with reasons."""
    _directory(gateway)
    first = _file(
        gateway, "+6281255551041", "Jalan rusak berlubang di Jl. Diponegoro, desa Leteh kec Rembang"
    )
    near_miss = _file(
        gateway, "+6281255551042", "Jalan rusak berlubang di Jl. Kartini, desa Leteh kec Rembang"
    )
    with gateway.db.read_session() as session:
        mine = session.get(Complaint, first.id)
        assert mine is not None
        judged = {other.id: j for other, j in dedup.considered(gateway, session, mine)}
    judgement = judged[near_miss.id]
    assert judgement.decision == "distinct"
    assert [f.code for f in judgement.conflicts] == ["different_street"]
    detail = judgement.conflicts[0].detail
    assert "diponegoro" in detail and "kartini" in detail


def test_the_complaints_sharing_most_keys_are_judged_first(gateway: Gateway) -> None:
    """With a million open complaints, dozens of unrelated ones in the same village share one
    loose band key with a new complaint; judging them all was most of a look-up's cost. Only
    the MAX_KEY_CANDIDATES sharing the most keys are judged, so the duplicate, filed first
    (the lowest id), is still among them."""
    _directory(gateway)
    text = "Jembatan gantung di dusun Krajan desa Leteh ambrol, warga tidak bisa lewat ke sawah"
    duplicate = _file(gateway, "+6281255551901", text)
    probe = _file(gateway, "+6281255551902", text, minutes=5)
    keys = dedup.keys_for(probe)
    assert len(keys) > 9  # text keys and, the village known, its loose band keys
    others = [
        Complaint(tracking_code=new_code(), origin_channel="twilio_sms", received_at=utcnow())
        for _ in range(dedup.MAX_KEY_CANDIDATES + 20)
    ]
    with gateway.db.session() as session:
        for other in others:
            session.add(other)
        session.flush()
        for i, other in enumerate(others):  # each shares one loose key, as noise does
            session.add(DedupKey(complaint_id=other.id, key=keys[-1 - i % 16], created_at=utcnow()))
        session.commit()
        found = dedup._candidate_ids(session, probe, dedup.thresholds(gateway), keys)
    assert duplicate.id in found
    assert len(found) <= dedup.MAX_KEY_CANDIDATES + 1  # + the reporter's own recent ones
