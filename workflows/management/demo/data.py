"""The demo's words and facts, read from a data file (workflows/demo/huangyan.toml): places,
committees, sectors, the concerns constituents raise and every note the history writes. The
code of the demo holds no prose; this checks, as it reads, that every value the domain stores
(a redirect channel, an engagement channel, a feedback method...) is one the domain knows."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from casework.choices import (
    EngagementChannel,
    EngagementMethod,
    FeedbackMethod,
    OutputType,
    RedirectChannel,
    Satisfaction,
    ServiceKind,
)

HUANGYAN = Path(__file__).resolve().parents[2] / "demo" / "huangyan.toml"


@dataclass(frozen=True)
class Theme:
    """A concern constituents raise; its texts name the places of the case ({town}...)."""

    key: str
    category: str
    title: str
    situations: tuple[str, ...]
    suggestions: tuple[str, ...]
    towns: tuple[str, ...]
    phrase: str = ""  # policy themes: what the output that gathers them is about
    dept: str = ""  # policy themes: the department that answers
    resolution: str = ""  # small matters: how staff resolved it directly
    channel: str = ""  # personal matters: where they are redirected
    reason: int = -1  # personal matters: index of the reject reason


@dataclass(frozen=True)
class Sector:
    name: str
    categories: tuple[str, ...]  # the categories its members raise most
    workplaces: tuple[str, ...]  # where its constituents work (may name places)
    conveners: int


@dataclass(frozen=True)
class Demo:
    organisations: dict[str, str]
    term: dict[str, Any]
    sessions: list[tuple[int, str, date]]
    townships: list[str]
    groups: dict[str, list[str]]  # named groups of townships (urban, rural, mountain...)
    places: dict[str, Any]
    committees: list[dict[str, Any]]
    categories: list[tuple[str, str | None]]  # (name, committee; None: the default intake one)
    reject_reasons: list[tuple[str, bool]]
    departments: list[dict[str, Any]]
    people: dict[str, Any]
    sectors: list[Sector]
    policy: list[Theme]
    small: list[Theme]
    personal: list[Theme]
    texts: dict[str, Any]
    outputs: dict[str, Any]
    engagements: dict[str, Any]
    services: dict[str, Any]

    @property
    def default_intake(self) -> str:
        return next(c["name"] for c in self.committees if c.get("default_intake"))


def _towns(spec: list[str] | None, everywhere: list[str], groups: dict[str, list[str]]) -> tuple[str, ...]:
    if spec is None:
        return tuple(everywhere)
    towns: list[str] = []
    for item in spec:
        towns += groups.get(item, [item])
    unknown = set(towns) - set(everywhere)
    assert not unknown, f"themes name unknown townships: {unknown}"
    return tuple(towns)


def _theme(raw: dict[str, Any], everywhere: list[str], groups: dict[str, list[str]]) -> Theme:
    fields = {**raw, "situations": tuple(raw["situations"]), "suggestions": tuple(raw["suggestions"])}
    fields["towns"] = _towns(raw.get("towns"), everywhere, groups)
    assert not fields.get("channel") or fields["channel"] in RedirectChannel.values, raw["key"]
    return Theme(**fields)


def _same_keys(table: dict[str, Any], values: list[str], what: str) -> None:
    assert set(table) == set(values), f"{what}: expected the keys {values}, found {list(table)}"


def load(path: Path = HUANGYAN) -> Demo:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    townships = raw["townships"]
    everywhere = townships.pop("all")
    themes = {kind: [_theme(t, everywhere, townships) for t in raw["themes"][kind]] for kind in raw["themes"]}
    texts, outputs, engagements = raw["texts"], raw["outputs"], raw["engagements"]
    _same_keys(texts["redirected"], RedirectChannel.values, "texts.redirected")
    _same_keys(texts["feedback_method"], FeedbackMethod.values, "texts.feedback_method")
    _same_keys(texts["satisfaction"], Satisfaction.values, "texts.satisfaction")
    _same_keys(outputs["titles"], OutputType.values, "outputs.titles")
    _same_keys(engagements["channels"], EngagementMethod.values, "engagements.channels")
    _same_keys(engagements["notes"], EngagementMethod.values, "engagements.notes")
    _same_keys(raw["services"]["notes"], ServiceKind.values, "services.notes")
    for channels in engagements["channels"].values():
        assert set(channels) <= set(EngagementChannel.values), channels
    term = dict(raw["term"])
    sessions = [(s["number"], s["name"], s["opens_on"]) for s in term.pop("sessions")]
    return Demo(
        organisations=raw["organisations"],
        term=term,
        sessions=sessions,
        townships=everywhere,
        groups=townships,
        places=raw["places"],
        committees=raw["committees"],
        categories=[(c["name"], c.get("committee")) for c in raw["categories"]],
        reject_reasons=[(r["text"], r.get("active", True)) for r in raw["reject_reasons"]],
        departments=raw["departments"],
        people=raw["people"],
        sectors=[
            Sector(s["name"], tuple(s["categories"]), tuple(s["workplaces"]), s.get("conveners", 1))
            for s in raw["sectors"]
        ],
        policy=themes["policy"],
        small=themes["small"],
        personal=themes["personal"],
        texts=texts,
        outputs=outputs,
        engagements=engagements,
        services=raw["services"],
    )
