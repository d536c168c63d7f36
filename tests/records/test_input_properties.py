"""Every registered card key and text command, fed random, truncated and hostile fields by
every kind of person: no handler raises (a raise is the generic apology in the chat).

The callbacks are parsed from the XML WeCom sends and go through the app's dispatcher in a
database transaction, as the webhook runs them; only signing and de-duplication are skipped
(``tests/records/test_hostile_inputs.py`` goes through the signed endpoint)."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.chat import dispatch
from bot.core.storage import app_file_store
from bot.devtools.simulator.callbacks import Envelope
from bot.wecom import messages as wm
from handlers import build_dispatcher

_clock = itertools.count(int(time.time()) * 1000)

ODD = [
    "", "0", "1", "2", "5", "-1", "+1", "1.5", "99999999999999999999", str(2**31), str(2**63),
    "9" * 5000, "²", "٣", "１２", "NaN", "sNaN", "-Infinity", "1e999999999", "academy",
    "college-1", "college-", "college-99999999999999999999", "college-²", "save", "cancel",
    "last", "this", "next", "counsellor", "leader", "online", "offline", "skip", "full",
    "examples", "#1", "#99999999999999999999", "a b", "..", "@", "张三", "本月", "11月",
]  # fmt: skip
HOSTILE = [
    "99999999999999999999", str(2**63), "9" * 5000, "0", "-1", "²", "٣", "１２", "NaN",
    "sNaN", "-Infinity", "1e999999999", "college-99999999999999999999", "a:b",
]  # fmt: skip
HOSTILE += [f"#{word}" for word in HOSTILE]
_WORD = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Cn", "Co")), min_size=0, max_size=12
)
FIELD = st.one_of(st.sampled_from(ODD), st.sampled_from([f"#{odd}" for odd in ODD]), _WORD)
PEOPLE = ["mentor", "other_mentor", "student", "college_admin", "academy_admin"]
COMMANDS = sorted(word for r in build_dispatcher().routers for word in r.commands)
SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def run(app, database, world):
    """Parse one callback's XML and act on it as the webhook would; a raise fails the test."""
    dispatcher = app.extensions["dispatcher"]
    settings_ = app.extensions["settings"]

    def act(xml: str) -> None:
        message = wm.parse_message(xml)
        with app.app_context(), database.session() as session:
            dispatch.handle(
                message,
                session=session,
                settings=settings_,
                dispatcher=dispatcher,
                now=datetime.now(UTC),
                store=app.extensions["redis"],
                files=app_file_store(app),
            )

    return act


def _envelope(app, world, who: str) -> Envelope:
    config = app.extensions["settings"]
    return Envelope(config.WECOM_CORP_ID, config.WECOM_AGENT_ID, getattr(world, who), 0)


def _card_keys(app) -> list[tuple[str, int]]:
    dispatcher = app.extensions["dispatcher"]
    return sorted(
        (name, len(key.fields)) for r in dispatcher.routers for name, key in r.card_keys.items()
    )


@st.composite
def card_keys(draw, known: list[tuple[str, int]]) -> str:
    name, count = draw(st.sampled_from(known))
    fields = draw(st.lists(FIELD, min_size=0, max_size=count + 2))
    key = ":".join([name, *fields])
    if draw(st.booleans()):  # a key cut short anywhere
        key = key[: draw(st.integers(0, len(key)))]
    return key


def test_no_card_tap_raises(app, world, run):
    known = _card_keys(app)
    assert {"rate", "rec_who", "cycle_submit", "help"} <= {name for name, _ in known}

    @SETTINGS
    @given(
        who=st.sampled_from(PEOPLE),
        key=card_keys(known),
        selected=st.lists(st.tuples(st.sampled_from(["students", "x"]), st.lists(FIELD))),
    )
    def tap(who: str, key: str, selected: list[tuple[str, list[str]]]) -> None:
        envelope = _envelope(app, world, who)
        stamp = next(_clock)
        xml = Envelope(envelope.corp_id, envelope.agent_id, envelope.from_user, stamp).card_tap(
            event_key=key,
            task_id=f"task-{stamp}",
            card_type="button_interaction",
            response_code=f"rc-{stamp}",
            selected=[(question, [o for o in options if o]) for question, options in selected],
        )
        run(xml)

    tap()


def test_every_command_is_tried():
    assert {"查看", "删除", "修改", "答复", "更正", "开启考核"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_no_command_raises(app, world, run, command):
    @settings(SETTINGS, max_examples=25)
    @given(who=st.sampled_from(PEOPLE), words=st.lists(FIELD, max_size=4))
    def say(who: str, words: list[str]) -> None:
        envelope = _envelope(app, world, who)
        stamp = next(_clock)
        text = " ".join([command, *words])
        run(Envelope(envelope.corp_id, envelope.agent_id, envelope.from_user, stamp).text(
            text, stamp
        ))  # fmt: skip

    say()


def test_every_command_with_each_hostile_word(app, world, run):
    """The sweep hypothesis may miss: each command with one hostile word, from an office
    person (who may use every command) and a mentor."""
    for command in COMMANDS:
        for who in ("academy_admin", "mentor"):
            envelope = _envelope(app, world, who)
            for word in HOSTILE:
                stamp = next(_clock)
                run(Envelope(envelope.corp_id, envelope.agent_id, envelope.from_user, stamp).text(
                    f"{command} {word}", stamp
                ))  # fmt: skip
