"""Realistic synthetic ``get_hero_profile`` payloads (no real one is public).

Shape and id ranges follow what is known of the game: PascalCase keys, the ``{"result":
{"ProfileData": ...}}`` envelope, troop ids around 6xxx, pets 13xxx, kingdoms 3xxx, Parse-style
10-character object ids, about 700 troops, 100 pets, 40 kingdoms, teams and PvP regions. A login
payload carries the bulky account sections too (quests, event history) and weighs 2-3 MB.
Everything is derived from ``seed``, so a seed always gives the same payload.
"""

from __future__ import annotations

import json
import random
import string
from typing import Any

TROOP_IDS = range(6000, 7000)
PET_IDS = range(13000, 13200)
KINGDOM_IDS = range(3000, 3050)
ARTIFACT_IDS = range(1000, 1030)
CLASSES = ("Sentinel", "Stormcaller", "Warlock", "Runemaster", "Shadowblade", "Dragonsoul", "Bloodwarden",
           "Wildheart", "Archmage", "Carnifex", "Stormchild", "Deathknight")
LOGIN_PAYLOAD_BYTES = 2_600_000
_SYLLABLES = ("dra", "kor", "ael", "thu", "mir", "gal", "zen", "vor", "lyn", "osh", "ruk", "bel", "tas", "qua")


def _name(rng: random.Random, words: int = 2) -> str:
    return " ".join("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).title() for _ in range(words))


def parse_object_id(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(10))


def namecode_for(seed: int) -> str:
    return f"SF{seed:08d}"


def _troop(rng: random.Random) -> dict[str, Any]:
    return {
        "Amount": rng.choice((0, 1, 1, 2, 3, 4, 7, 12, 40)),
        "Level": rng.randint(1, 20),
        "CurrentRarity": rng.randint(0, 6),
        "EliteLevel": rng.randint(0, 10),
        "FusionCards": rng.randint(0, 30),
        "OrbFusionCards": rng.randint(0, 5),
        "TraitsOwned": rng.randint(0, 3),
        "Invasions": rng.randint(0, 500),
        "ShinyLevelProgress": rng.randint(0, 100),
        "OrbsUsed": [rng.randint(1, 9) for _ in range(rng.randint(0, 2))],
    }


def _kingdom_progress(rng: random.Random, troop_ids: list[int]) -> dict[str, Any]:
    return {
        "PowerRank": rng.randint(0, 10),
        "Status": rng.randint(0, 3),
        "Income": rng.randint(0, 300),
        "ChallengeTier": rng.randint(0, 8),
        "Invasions": rng.randint(0, 200),
        "Tasks": [{"Id": rng.randint(1, 99), "Done": rng.random() < 0.5} for _ in range(3)],
        "Explore": {"Level": rng.randint(0, 15), "Cleared": rng.randint(0, 60)},
        "TrialsTeam": {"Troops": rng.sample(troop_ids, 4), "Banner": rng.randint(1, 50)},
        "FactionRenown": rng.randint(0, 10000),
    }


def _quest(rng: random.Random, number: int) -> dict[str, Any]:
    return {
        "Id": 500000 + number,
        "Kingdom": rng.choice(KINGDOM_IDS),
        "Progress": rng.randint(0, 100),
        "Completed": rng.random() < 0.8,
        "CompletedAt": 1_600_000_000_000 + rng.randint(0, 10**11),
        "Rewards": [{"Type": rng.choice(("Gold", "Souls", "Gems", "Keys")), "Amount": rng.randint(1, 5000)}
                    for _ in range(3)],
        "Text": " ".join(_name(rng, 1) for _ in range(25)),
    }


def generate_profile(
    seed: int = 0,
    *,
    troops: int = 700,
    pets: int = 100,
    kingdoms: int = 40,
    login: bool = False,
    pad_to_bytes: int | None = None,
    envelope: bool = True,
) -> dict[str, Any]:
    """One hero's profile. ``login`` pads it to a login payload's weight; ``pad_to_bytes`` to any weight
    (the padding is the login-only ``Quests`` section)."""
    rng = random.Random(seed)
    troop_ids = sorted(rng.sample(TROOP_IDS, troops))
    pet_ids = sorted(rng.sample(PET_IDS, pets))
    kingdom_ids = sorted(rng.sample(KINGDOM_IDS, kingdoms))
    server_time = 1_760_000_000_000 + seed * 1000
    profile: dict[str, Any] = {
        "Id": parse_object_id(rng),
        "Name": _name(rng),
        "NameCode": namecode_for(seed),
        "username": f"hero_{seed}",
        "Level": rng.randint(1, 1500),
        "Race": rng.randint(0, 6),
        "Gender": rng.randint(0, 1),
        "Class": rng.choice(CLASSES),
        "PortraitId": rng.randint(1, 400),
        "TitleId": rng.randint(1, 300),
        "FlairId": rng.randint(0, 40),
        "HonorRank": rng.randint(0, 10),
        "EquippedWeaponId": rng.randint(1000, 1500),
        "EquippedPetId": pet_ids[0] if pet_ids else None,
        "GuildId": parse_object_id(random.Random(seed // 30)),  # about 30 heroes per guild
        "GuildName": _name(random.Random(seed // 30)),
        "GuildRank": rng.randint(0, 4),
        "PvpTier": rng.randint(0, 10),
        "ServerTime": server_time,
        "LastLogin": server_time - rng.randint(0, 10**8),
        "LastPlayed": server_time - rng.randint(0, 10**7),
        "Attack": rng.randint(10, 200),
        "Armor": rng.randint(10, 200),
        "MaxHealth": rng.randint(10, 200),
        "SpellPower": rng.randint(10, 200),
        "TroopMagicBonus": rng.randint(0, 30),
        "Gold": rng.randint(0, 10**9),
        "Souls": rng.randint(0, 10**7),
        "Troops": {str(t): _troop(rng) for t in troop_ids},
        "Pets": {str(p): {"Amount": rng.randint(0, 5), "Level": rng.randint(1, 20), "XP": rng.randint(0, 10**6),
                          "AscensionLevel": rng.randint(0, 4), "OrbFusionCards": rng.randint(0, 3)}
                 for p in pet_ids},
        "Artifacts": {str(a): {"Level": rng.randint(0, 15), "XP": rng.randint(0, 10**6)}
                      for a in rng.sample(ARTIFACT_IDS, 12)},
        "KingdomLevels": {str(k): rng.randint(1, 15) for k in kingdom_ids},
        "Progress": {str(k): _kingdom_progress(rng, troop_ids) for k in kingdom_ids},
        "Teams": [{"Name": f"Team {n + 1}", "Banner": rng.choice(kingdom_ids), "TeamLevel": rng.randint(0, 40),
                   "Class": rng.choice(CLASSES), "Troops": rng.sample(troop_ids, 4),
                   "OverrideData": {"Weapon": rng.randint(1000, 1500)}}
                  for n in range(rng.randint(3, 8))] if troops >= 4 else [],
        "PvpRegions": {str(r): {"Team": {"Troops": rng.sample(troop_ids, 4) if troops >= 4 else []},
                                "Stats": {"Wins": rng.randint(0, 999), "Losses": rng.randint(0, 99)},
                                "MostUsedTroop": {"TroopId": rng.choice(troop_ids) if troops else None,
                                                  "Uses": rng.randint(0, 999)},
                                "Season": rng.randint(1, 40)}
                       for r in range(1, 13)},
        "PvpStats": {"InvadesWon": rng.randint(0, 10**5), "InvadesLost": rng.randint(0, 10**4),
                     "DefendsWon": rng.randint(0, 10**4), "DefendsLost": rng.randint(0, 10**4),
                     "MostInvadedKingdom": {"KingdomId": rng.choice(kingdom_ids) if kingdoms else None},
                     "MostUsedTroop": {"TroopId": rng.choice(troop_ids) if troops else None}},
        "ClassData": {c: {"Level": rng.randint(0, 100), "Talents": [rng.randint(0, 3) for _ in range(7)]}
                      for c in rng.sample(CLASSES, 6)},
    }
    target = LOGIN_PAYLOAD_BYTES if login and pad_to_bytes is None else pad_to_bytes
    if target:
        size = len(json.dumps(profile))
        quests = profile["Quests"] = []
        while size < target:
            quest = _quest(rng, len(quests))
            quests.append(quest)
            size += len(json.dumps(quest)) + 2
    return {"result": {"ProfileData": profile}} if envelope else profile


def generate_catalog(seed: int = 0, *, troops: int = 60, pets: int = 20, kingdoms: int = 50,
                     artifacts: int = 10) -> dict[str, list[dict[str, Any]]]:
    """A small catalog in the format ``frontline starforge seed-catalog`` loads. It covers only part of
    the id ranges on purpose: the rest of a generated profile gets placeholder catalog rows."""
    rng = random.Random(seed)

    def entries(ids: range, count: int, prefix: str, extra: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"id": i, "kid": f"{prefix}_{i}", "name": _name(rng), "description": f"A generated {prefix}.",
                 "rarity": rng.randint(0, 6), **extra} for i in ids[:count]]

    return {
        "troops": entries(TROOP_IDS, troops, "troop", {"kingdom_id": KINGDOM_IDS[0], "colors": 3}),
        "pets": entries(PET_IDS, pets, "pet", {"mana_color": "Blue"}),
        "kingdoms": entries(KINGDOM_IDS, kingdoms, "kingdom", {}),
        "artifacts": entries(ARTIFACT_IDS, artifacts, "artifact", {}),
    }
