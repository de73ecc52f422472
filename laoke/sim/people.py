"""Who the customers are: Chinese names, phones, birthdays and family (faker zh_CN, seeded).

Nothing here reads the wall clock: birthdays are drawn from fixed year ranges (faker's
`date_of_birth` counts back from today, which would make a seed depend on the day).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import date

from faker import Faker

from events import normalise_phone

VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
PLATE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"  # no I or O on Chinese plates


@dataclass(frozen=True)
class Relative:
    relation: str
    name: str
    birthday: date


@dataclass(frozen=True)
class Identity:
    name: str
    phone: str  # 11 national digits, as the DMS stores it
    birthday: date
    male: bool
    family: tuple[Relative, ...] = field(default_factory=tuple)


def _birthday(rng: random.Random, first_year: int, last_year: int) -> date:
    return date(rng.randint(first_year, last_year), rng.randint(1, 12), rng.randint(1, 28))


class People:
    """Draws identities for one dealership; phones are unique and valid for CN."""

    def __init__(self, seed: int, rng: random.Random) -> None:
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.rng = rng
        self.phones: set[str] = set()
        self.vins: set[str] = set()

    def phone(self) -> str:
        while True:
            raw = str(self.fake.phone_number())
            if raw in self.phones or not raw.isdigit():
                continue
            try:
                normalise_phone(raw)
            except ValueError:
                continue
            self.phones.add(raw)
            return raw

    def identity(self) -> Identity:
        rng = self.rng
        male = rng.random() < 0.6
        name = self.fake.name_male() if male else self.fake.name_female()
        birthday = _birthday(rng, 1955, 2000)
        family: list[Relative] = []
        if rng.random() < 0.7:
            spouse = self.fake.name_female() if male else self.fake.name_male()
            year = birthday.year + rng.randint(-6, 6)
            family.append(Relative("spouse", spouse, _birthday(rng, year, year)))
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            child = self.fake.last_name() + self.fake.first_name()
            year = min(birthday.year + rng.randint(22, 38), 2024)
            family.append(Relative("child", child, _birthday(rng, year, year)))
        if rng.random() < 0.2:
            year = birthday.year - rng.randint(22, 35)
            family.append(Relative("parent", self.fake.name(), _birthday(rng, year, year)))
        return Identity(name, self.phone(), birthday, male, tuple(family))

    def vin(self) -> str:
        while True:
            # LSG: a Chinese-built GM prefix; the rest random from the VIN alphabet.
            vin = "LSG" + "".join(self.rng.choice(VIN_ALPHABET) for _ in range(14))
            if vin not in self.vins:
                self.vins.add(vin)
                return vin


def plate_of(vin: str) -> str:
    """The car's licence plate, Beijing style (京 + letter + 5), from its VIN: no draw from
    the seeded generator, so adding plates left every other simulated value unchanged."""
    digest = hashlib.sha256(vin.encode()).digest()
    letter = PLATE_ALPHABET[digest[0] % 24]
    rest = "".join(PLATE_ALPHABET[b % len(PLATE_ALPHABET)] for b in digest[1:6])
    return f"京{letter}{rest}"


def phone_variant(phone: str, rng: random.Random) -> str:
    """The same number as another system types it (intake normalises all of these)."""
    a, b, c = phone[:3], phone[3:7], phone[7:]
    return rng.choice((f"+86 {a}-{b}-{c}", f"{a} {b} {c}", f"86{phone}", f"+86{phone}"))
