"""Which language a citizen writes in: Indonesian (the default) or English.

A count of very common function words is enough for short chat messages; the bot answers in
English only when a message is clearly English, so a single English loanword changes nothing.
"""

from __future__ import annotations

import re

ENGLISH_WORDS = frozenset(
    "the is are was were a an of to in on at for and or but with this that my your i we you "
    "there please not no yes have has been road street broken hello hi thanks thank help what "
    "where when how why it its from by can could would should will".split()
)
_INDONESIAN = frozenset(
    "yang dan di ke dari ini itu ada tidak tdk gak ga nggak saya sy aku kami kita mohon tolong "
    "jalan jl rusak sudah sdh belum blm dengan dgn untuk utk karena krn pak bu bapak ibu min "
    "kak sangat banget bgt sekali lagi juga atau tapi tp bisa mau akan sejak kapan dimana mana "
    "apa siapa bagaimana gimana halo selamat pagi siang sore malam terima kasih makasih".split()
)
_WORD = re.compile(r"[a-zA-Z]+")


def guess_language(text: str) -> str | None:
    """'en' or 'id' when the text says so clearly, else None (keep the current language)."""
    words = [w.lower() for w in _WORD.findall(text[:2000])]
    if not words:
        return None
    english = sum(w in ENGLISH_WORDS for w in words)
    indonesian = sum(w in _INDONESIAN for w in words)
    if english >= 2 and english > 2 * indonesian:
        return "en"
    if indonesian >= 1 and indonesian >= english:
        return "id"
    return None
