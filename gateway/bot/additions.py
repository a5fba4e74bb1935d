"""Is a message sent after filing about the open complaint, or about something else?

Reporters keep writing after they got their tracking code: more detail, a photo, "tolong
segera". Those belong to the complaint. But a message about a clearly different problem (the
rubbish at another market after a pothole report) appended as "Tambahan" is lost to the agency
it concerns, so the bot asks once instead (gateway/bot/conversation.py, TAMBAH / BARU).

"Clearly different" is judged with the normalizer, the way duplicates are: the new text is
normalised like a complaint and compared with the open one by place (another desa or
kecamatan: the same trouble elsewhere is another complaint, as it would be another cluster),
then by text similarity of their signatures, topic (neither's best agency among the other's
suggestions) and class (both confidently classified, differently): a message in no other place
counts as different only when its text is not alike *and* its topic or class is another. Short
messages and ones that say they add ("tambahan: ...") never do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session

from gateway.complaints.dedup import candidate
from gateway.store.models import Complaint, Status
from normalizer.dedup import DuplicateCandidate, score
from normalizer.pipeline import NormalizedComplaint
from normalizer.text import fold

if TYPE_CHECKING:
    from gateway.parts import Enriching

# Fewer words than this is an answer or a remark ("tolong segera ya"), never a new complaint.
MIN_WORDS = 5
# Signatures at least this alike (0..100, normalizer.dedup.text_similarity) are one problem.
SAME_TEXT = 40.0
# Both classes at least this sure before a different class says "another problem".
CLASS_CONFIDENCE = 0.6
# First words that say "this adds to what I sent".
ADDITION_MARKERS = frozenset({"tambahan", "tambah", "lanjutan", "update", "also", "addition"})


def differs(
    new: NormalizedComplaint,
    open_complaint: DuplicateCandidate,
    open_class: tuple[str, float] | None,
) -> bool:
    """Pure: is the normalised message clearly about another problem than the open complaint
    (`candidate()` of it, and its class with its confidence)?"""
    words = fold(new.original).split()
    if len(words) < MIN_WORDS or words[0] in ADDITION_MARKERS:
        return False
    place = new.place
    mine = DuplicateCandidate(
        signature=new.signature.text,
        kecamatan=place.kecamatan if place else None,
        village=place.village if place else None,
        reporter_id=open_complaint.reporter_id,
        created_at=open_complaint.created_at,
        agencies=tuple(a.code for a in new.agencies[:2]),
    )
    found = score(mine, open_complaint)
    if found.place == "different":
        return True  # the same trouble elsewhere is another complaint (and another cluster)
    if found.text >= SAME_TEXT:
        return False
    suggested = new.suggested_class
    other_class = (
        open_class is not None
        and open_class[1] >= CLASS_CONFIDENCE
        and suggested.confidence >= CLASS_CONFIDENCE
        and suggested.cls != open_class[0]
    )
    return found.topic == "different" or other_class


def class_of(complaint: Complaint) -> tuple[str, float] | None:
    """The complaint's class: the admin's when verified, else the best suggestion."""
    if complaint.category:
        return complaint.category, 1.0
    best = next(iter(complaint.category_suggestions), None)
    if not best or not best.get("category"):
        return None
    return str(best["category"]), float(best.get("score") or 0.0)


def about_something_else(
    gateway: Enriching, session: Session, complaint: Complaint, text: str
) -> bool:
    """Whether `text`, sent after `complaint` was filed, is clearly about another problem."""
    if len(fold(text).split()) < MIN_WORDS:
        return False  # not worth normalising
    normalized = gateway.enricher.normalize_text(session, text)
    # After an answer the reporter responds to it ("petugasnya ramah sekali"), which classes
    # otherwise than a complaint: there, only another place or topic says "another problem".
    answered = complaint.status == Status.ANSWERED
    return differs(normalized, candidate(complaint), None if answered else class_of(complaint))
