"""A seeded generator of realistic Indonesian complaints and labelled duplicate pairs.

Used by the benchmarks (never by the code under test). Complaints are built from problems
(what is wrong), objects with landmarks (where exactly) and places from the demo gazetteer, then
roughened the way citizens write: SMS abbreviations, typos, elongations, shouting, greetings,
reordered sentences, personal data. Pairs are labelled by construction:

- `same_reporter_duplicate`: one reporter sends one complaint twice, rewritten;
- `same_problem`: two reporters describe one problem (same object, landmark and village) in
  their own words;
- `distinct`: another village, another problem at the same spot, the same problem at another
  spot of the same village, another problem by the same reporter, or the same problem months
  later.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from normalizer.location import Gazetteer

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Problem:
    key: str
    agency: str  # the OPD an admin would dispose it to (demo directory codes)
    objects: tuple[str, ...]
    complaints: tuple[str, ...]
    impacts: tuple[str, ...]


PROBLEMS = (
    Problem(
        "jalan",
        "DPUPR",
        ("jalan", "jalan desa", "jalan penghubung"),
        ("rusak parah", "berlubang besar", "rusak dan berlubang", "aspalnya hancur dan berlubang"),
        (
            "Banyak pengendara motor jatuh.",
            "Kalau hujan jadi kubangan.",
            "Anak sekolah susah lewat.",
        ),
    ),
    Problem(
        "lampu",
        "DINPERKIM",
        ("lampu jalan", "lampu penerangan jalan", "PJU"),
        ("mati", "padam semua", "tidak menyala", "mati total"),
        ("Malam hari gelap gulita.", "Rawan begal dan kecelakaan.", "Warga takut lewat malam."),
    ),
    Problem(
        "sampah",
        "DLH",
        ("sampah", "tumpukan sampah", "sampah rumah tangga"),
        ("menumpuk dan bau", "tidak diangkut", "berserakan dan menumpuk", "menggunung dan busuk"),
        ("Baunya sampai ke rumah warga.", "Banyak lalat dan tikus.", "Mengganggu pedagang."),
    ),
    Problem(
        "saluran",
        "DPUPR",
        ("saluran air", "selokan", "gorong-gorong"),
        ("mampet", "tersumbat", "meluap kalau hujan", "penuh lumpur dan mampet"),
        ("Air masuk ke rumah warga.", "Jalan jadi banjir.", "Nyamuk banyak sekali."),
    ),
    Problem(
        "pdam",
        "PDAM",
        ("air PDAM", "aliran air PDAM", "air ledeng PDAM"),
        ("tidak mengalir", "mati", "keruh dan bau", "kecil sekali alirannya"),
        ("Warga terpaksa beli air galon.", "Tidak bisa mandi dan masak.", "Tagihan tetap jalan."),
    ),
    Problem(
        "jembatan",
        "DPUPR",
        ("jembatan", "jembatan kayu", "jembatan kecil"),
        ("retak", "miring dan retak", "hampir ambrol", "papannya lapuk dan patah"),
        ("Warga takut menyeberang.", "Motor tidak berani lewat.", "Sangat membahayakan."),
    ),
    Problem(
        "pohon",
        "DLH",
        ("pohon besar", "pohon tua", "pohon beringin"),
        ("tumbang menutup jalan", "hampir tumbang", "rantingnya patah menimpa kabel"),
        ("Kendaraan tidak bisa lewat.", "Kabel listrik tertimpa.", "Membahayakan pengguna jalan."),
    ),
    Problem(
        "pkl",
        "SATPOLPP",
        ("pedagang kaki lima", "lapak PKL", "PKL"),
        ("berjualan di trotoar", "menutup trotoar", "memakan badan jalan"),
        ("Pejalan kaki terpaksa turun ke jalan.", "Macet setiap sore.", "Parkir jadi semrawut."),
    ),
)

SPOTS = (
    "depan SD N {n}",
    "dekat masjid Al Ikhlas",
    "samping balai desa",
    "depan pasar",
    "dekat pertigaan {name}",
    "belakang puskesmas",
    "di RT {n} RW {m}",
    "dekat makam {name}",
    "depan kantor pos",
    "dekat lapangan bola",
)
SPOT_NAMES = ("Kauman", "Ngemplak", "Karangturi", "Gedong", "Sawahan", "Wetan", "Kulon")
DURATIONS = ("2 minggu", "sebulan", "3 bulan", "setahun", "2 tahun", "berbulan-bulan")
GREETINGS = (
    "Selamat pagi min,",
    "Assalamualaikum,",
    "Yth. Bapak Bupati,",
    "Permisi min,",
    "Lapor,",
)
CLOSINGS = ("Mohon segera ditindaklanjuti.", "Terima kasih.", "Tolong segera diperbaiki.", "")
SMS = {
    "jalan": "jln",
    "tidak": "gak",
    "yang": "yg",
    "sudah": "udh",
    "dengan": "dgn",
    "untuk": "utk",
    "belum": "blm",
    "karena": "krn",
    "tolong": "tlg",
    "sekali": "bgt",
    "desa": "ds",
    "kecamatan": "kec",
    "kelurahan": "kel",
    "bulan": "bln",
    "tahun": "thn",
    "banyak": "byk",
    "sekarang": "skrg",
    "saya": "sy",
    "mohon": "mhn",
}
FIRST_NAMES = ("Budi", "Siti", "Agus", "Dewi", "Eko", "Rina", "Joko", "Tri", "Wahyu", "Sri")
LAST_NAMES = ("Santoso", "Lestari", "Prasetyo", "Wulandari", "Susanto", "Rahayu", "Hidayat")


@dataclass(frozen=True)
class Scene:
    """One real-world problem: what, where exactly, in which village."""

    problem: Problem
    obj: str
    spot: str
    village: str
    kecamatan: str


@dataclass(frozen=True)
class Report:
    text: str
    reporter: str
    created_at: datetime


@dataclass(frozen=True)
class LabelledPair:
    first: Report
    second: Report
    label: str  # same_reporter_duplicate | same_problem | distinct
    variety: str  # how the pair was made


class ComplaintFactory:
    def __init__(self, gazetteer: Gazetteer, seed: int) -> None:
        self.rng = random.Random(seed)
        # Villages whose name is unique in the regency and not an ordinary word, so the
        # label "same village" is unambiguous for the generator.
        counts: dict[str, int] = {}
        for kec in gazetteer.kecamatan:
            for village in kec.villages:
                counts[village.name] = counts.get(village.name, 0) + 1
        self.villages = [
            (v.name, kec.name)
            for kec in gazetteer.kecamatan
            for v in kec.villages
            if counts[v.name] == 1
            and v.name.replace(" ", "").lower() not in gazetteer.needs_context
        ]
        self._reporter = 0

    def reporter(self) -> str:
        self._reporter += 1
        return f"r{self._reporter}"

    def scene(
        self, problem: Problem | None = None, village: tuple[str, str] | None = None
    ) -> Scene:
        rng = self.rng
        problem = problem or rng.choice(PROBLEMS)
        name, kecamatan = village or rng.choice(self.villages)
        spot = rng.choice(SPOTS).format(
            n=rng.randint(1, 5), m=rng.randint(1, 9), name=rng.choice(SPOT_NAMES)
        )
        return Scene(problem, rng.choice(problem.objects), spot, name, kecamatan)

    def describe(self, scene: Scene, *, personal: bool = False) -> str:
        """One reporter's own words for a scene."""
        rng = self.rng
        p = scene.problem
        place = rng.choice(
            (
                f"di desa {scene.village}",
                f"di desa {scene.village} kecamatan {scene.kecamatan}",
                f"desa {scene.village}",
                f"di {scene.village}",
            )
        )
        complaint = rng.choice(p.complaints)
        first = rng.choice(
            (
                f"{scene.obj} {scene.spot} {place} {complaint}.",
                f"{scene.obj.capitalize()} {place} {scene.spot} {complaint}.",
                f"Di {scene.spot} {place}, {scene.obj} {complaint}.",
            )
        )
        sentences = [first[0].upper() + first[1:]]
        if rng.random() < 0.7:
            sentences.append(
                rng.choice(
                    (
                        "Sudah {d} belum ada perbaikan.",
                        "Kondisi ini sudah {d}.",
                        "Sudah {d} dibiarkan.",
                    )
                ).format(d=rng.choice(DURATIONS))
            )
        if rng.random() < 0.6:
            sentences.append(rng.choice(p.impacts))
        if rng.random() < 0.3:
            rng.shuffle(sentences)
        if personal:
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            phone = f"08{rng.randint(11, 59)}{rng.randint(10_000_000, 99_999_999)}"
            sentences.insert(0, f"Nama saya {name}, hp {phone}.")
        if rng.random() < 0.5:
            sentences.insert(0, rng.choice(GREETINGS))
        closing = rng.choice(CLOSINGS)
        if closing:
            sentences.append(closing)
        return " ".join(sentences)

    def rewrite(self, text: str) -> str:
        """The same message sent again: SMS spelling, typos, elongation, shouting, reordering."""
        rng = self.rng
        if rng.random() < 0.4:
            sentences = [s for s in text.split(". ") if s]
            rng.shuffle(sentences)
            text = ". ".join(sentences)
        if rng.random() < 0.6:
            text = sms_style(text, rng)
        text = typos(text, rng, rng.randint(0, 3))
        if rng.random() < 0.3:
            words = text.split()
            i = rng.randrange(len(words))
            if words[i][-1:].isalpha():
                words[i] += words[i][-1] * rng.randint(2, 4)
            text = " ".join(words)
        if rng.random() < 0.1:
            text = text.upper()
        return text

    def complaint(self) -> str:
        """A complaint for the speed benchmark: any scene, any style, sometimes personal data."""
        text = self.describe(self.scene(), personal=self.rng.random() < 0.3)
        return self.rewrite(text) if self.rng.random() < 0.5 else text

    def disposition(self) -> tuple[str, str]:
        """A past complaint with the agency an admin sent it to (for training the router)."""
        scene = self.scene()
        text = self.describe(scene)
        return (self.rewrite(text) if self.rng.random() < 0.5 else text), scene.problem.agency

    def pairs(self, n: int) -> list[LabelledPair]:
        makers = (
            (0.25, self._same_reporter),
            (0.25, self._same_problem),
            (0.12, self._other_village),
            (0.12, self._other_problem_same_spot),
            (0.10, self._same_problem_other_spot),
            (0.08, self._same_reporter_other_problem),
            (0.08, self._months_later),
        )
        weights = [w for w, _ in makers]
        return [self.rng.choices(makers, weights)[0][1]() for _ in range(n)]

    def _time(self, first: datetime, max_hours: float) -> datetime:
        return first + timedelta(hours=self.rng.uniform(0, max_hours))

    def _same_reporter(self) -> LabelledPair:
        scene, who = self.scene(), self.reporter()
        text = self.describe(scene, personal=self.rng.random() < 0.3)
        a = Report(text, who, START)
        b = Report(self.rewrite(text), who, self._time(START, 72))
        return LabelledPair(a, b, "same_reporter_duplicate", "resent, rewritten")

    def _same_problem(self) -> LabelledPair:
        scene = self.scene()
        a = Report(self.describe(scene), self.reporter(), START)
        second = self.describe(scene)
        if self.rng.random() < 0.5:
            second = self.rewrite(second)
        b = Report(second, self.reporter(), self._time(START, 24 * 10))
        return LabelledPair(a, b, "same_problem", "two reporters, own words")

    def _other_village(self) -> LabelledPair:
        scene = self.scene()
        other = self.scene(scene.problem)
        while other.village == scene.village:
            other = self.scene(scene.problem)
        other = Scene(scene.problem, scene.obj, scene.spot, other.village, other.kecamatan)
        a = Report(self.describe(scene), self.reporter(), START)
        b = Report(self.describe(other), self.reporter(), self._time(START, 24 * 5))
        return LabelledPair(a, b, "distinct", "same problem, other village")

    def _other_problem_same_spot(self) -> LabelledPair:
        scene = self.scene()
        problem = self.rng.choice([p for p in PROBLEMS if p is not scene.problem])
        other = Scene(
            problem, self.rng.choice(problem.objects), scene.spot, scene.village, scene.kecamatan
        )
        a = Report(self.describe(scene), self.reporter(), START)
        b = Report(self.describe(other), self.reporter(), self._time(START, 24 * 5))
        return LabelledPair(a, b, "distinct", "other problem, same spot")

    def _same_problem_other_spot(self) -> LabelledPair:
        scene = self.scene()
        other = self.scene(scene.problem, (scene.village, scene.kecamatan))
        while other.spot.split()[0:2] == scene.spot.split()[0:2]:
            other = self.scene(scene.problem, (scene.village, scene.kecamatan))
        a = Report(self.describe(scene), self.reporter(), START)
        b = Report(self.describe(other), self.reporter(), self._time(START, 24 * 5))
        return LabelledPair(a, b, "distinct", "same problem, other spot in the village")

    def _same_reporter_other_problem(self) -> LabelledPair:
        who = self.reporter()
        scene = self.scene()
        problem = self.rng.choice([p for p in PROBLEMS if p is not scene.problem])
        a = Report(self.describe(scene), who, START)
        b = Report(self.describe(self.scene(problem)), who, self._time(START, 24 * 3))
        return LabelledPair(a, b, "distinct", "same reporter, other problem")

    def _months_later(self) -> LabelledPair:
        scene = self.scene()
        a = Report(self.describe(scene), self.reporter(), START)
        b = Report(
            self.describe(scene), self.reporter(), START + timedelta(days=self.rng.randint(60, 200))
        )
        return LabelledPair(a, b, "distinct", "same problem, months later")


def sms_style(text: str, rng: random.Random) -> str:
    words = []
    for word in text.split():
        core = word.rstrip(".,")
        tail = word[len(core) :]
        short = SMS.get(core.lower())
        words.append((short + tail) if short and rng.random() < 0.8 else word)
    text = " ".join(words)
    return text.lower() if rng.random() < 0.7 else text


def typos(text: str, rng: random.Random, count: int) -> str:
    words = text.split()
    for _ in range(count):
        candidates = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
        if not candidates:
            break
        i = rng.choice(candidates)
        word = words[i]
        j = rng.randrange(1, len(word) - 1)
        kind = rng.random()
        if kind < 0.4:
            word = word[:j] + word[j + 1 :]  # a letter dropped
        elif kind < 0.7:
            word = word[:j] + word[j + 1] + word[j] + word[j + 2 :]  # two letters swapped
        else:
            word = word[:j] + rng.choice("aiueonrst") + word[j + 1 :]  # a wrong letter
        words[i] = word
    return " ".join(words)
