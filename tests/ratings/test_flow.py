"""The rating journey through signed callbacks: cards out, taps in, refusals, reminders,
flags, the weekly limit, monthly guidance and the office's export."""

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from openpyxl import load_workbook

from bot.core.models import (
    AcademicYear,
    AuditEntry,
    Rating,
    RatingRequest,
    RatingRequestStatus,
    Record,
    RecordKind,
    RecordParticipant,
)
from bot.ratings import flags, jobs
from tests.ratings.conftest import POLICY, add_activity, outbox_rows

FOUR = ["zhangsan", "lisi", "zhousong", "wangwu1"]


def _send(database, now=None) -> int:
    return jobs.send_rating_cards(database, now or datetime.now(UTC), policy=POLICY)


def _card(database, userid):
    rows = outbox_rows(database, "template_card", userid)
    assert rows, f"no card for {userid}"
    return rows[-1].payload["template_card"]


def _ratings(database):
    with database.session() as session:
        return session.execute(
            sa.select(Rating.student_id, Rating.level, Rating.attended).order_by(Rating.id)
        ).all()


def _key(card, text):
    return next(b["key"] for b in card["button_list"] if b["text"] == text)


def test_one_identical_card_per_activity_for_all_participants(database, world):
    record_id = add_activity(database, world, FOUR)
    add_activity(database, world, ["lisi"], ended=timedelta(hours=-1), title="还没结束")
    add_activity(database, world, ["lisi"], ended=timedelta(days=8), title="太久以前")
    assert _send(database) == 4
    rows = outbox_rows(database, "template_card")
    assert sorted(r.userid for r in rows) == sorted(FOUR)
    assert len({r.payload_hash for r in rows}) == 1
    card = rows[0].payload["template_card"]
    assert card["task_id"].startswith(f"rate-{record_id}-")
    with database.session() as session:
        requests = session.scalars(sa.select(RatingRequest)).all()
    assert {r.task_id for r in requests} == {card["task_id"]}
    assert all(r.status == RatingRequestStatus.PENDING for r in requests)
    assert _send(database) == 0  # a second run adds nothing
    assert len(outbox_rows(database, "template_card")) == 4


def test_a_tap_is_stored_and_the_card_updated_in_place(database, world, phone):
    add_activity(database, world, FOUR)
    _send(database)
    card = _card(database, "zhangsan")
    phone.new("zhangsan")
    phone.tap("zhangsan", card, _key(card, "满意"))
    assert _ratings(database) == [(world.ids["zhangsan"], 4, True)]
    update = outbox_rows(database, "update_template_card", "zhangsan")
    assert len(update) == 1
    body = update[0].payload["update_template_card"]
    assert body["button"]["replace_name"] == "已评价：满意，谢谢！"
    assert body["response_code"].startswith("rc-")
    assert phone.new("zhangsan") == []  # no extra text
    with database.session() as session:
        statuses = {
            sid: status
            for sid, status in session.execute(
                sa.select(RatingRequest.student_id, RatingRequest.status)
            )
        }
    assert statuses[world.ids["zhangsan"]] == RatingRequestStatus.ANSWERED
    assert statuses[world.ids["lisi"]] == RatingRequestStatus.PENDING


def test_a_second_tap_changes_nothing(database, world, phone):
    add_activity(database, world, FOUR)
    _send(database)
    card = _card(database, "zhangsan")
    phone.tap("zhangsan", card, _key(card, "非常满意"))
    phone.new("zhangsan")
    phone.tap("zhangsan", card, _key(card, "非常不满意"))
    assert "已经评价过" in phone.last_text("zhangsan")
    assert _ratings(database) == [(world.ids["zhangsan"], 5, True)]
    assert len(outbox_rows(database, "update_template_card", "zhangsan")) == 1


def test_nobody_but_participants_may_rate(database, world, phone):
    add_activity(database, world, ["zhangsan", "lisi"])
    _send(database)
    card = _card(database, "zhangsan")
    for outsider in ("zhousong", "zhaoliu", "wanglaoshi"):  # own student, other's, the mentor
        phone.new(outsider)
        phone.tap(outsider, card, _key(card, "非常满意"))
        assert "只有参加这项活动的同学才能评价" in phone.last_text(outsider)
    assert _ratings(database) == []


def test_a_tap_after_the_window_changes_nothing(database, world, phone):
    long_ago = datetime.now(UTC) - timedelta(days=8)
    add_activity(database, world, FOUR, now=long_ago)
    _send(database, long_ago)
    card = _card(database, "lisi")
    phone.tap("lisi", card, _key(card, "满意"))
    assert "评价已截止" in phone.last_text("lisi")
    assert _ratings(database) == []


def test_a_deleted_record_or_a_forged_key_changes_nothing(database, world, phone):
    record_id = add_activity(database, world, FOUR)
    _send(database)
    card = _card(database, "lisi")
    for key in ("rate:abc:5", f"rate:{record_id}:9", f"rate:{record_id}", "rate:999999:5"):
        phone.new("lisi")
        phone.tap("lisi", card, key)
        assert "未记录" in phone.last_text("lisi")
    with database.session() as session:
        session.get(Record, record_id).deleted_at = datetime.now(UTC)
    phone.tap("lisi", card, _key(card, "满意"))
    assert "评价已截止" in phone.last_text("lisi")
    assert _ratings(database) == []


def test_did_not_attend_is_recorded_and_two_flag_the_record_for_the_college(database, world, phone):
    record_id = add_activity(database, world, FOUR, title="茶话会")
    _send(database)
    card = _card(database, "zhangsan")
    phone.tap("zhangsan", card, _key(card, "我没参加"))
    body = outbox_rows(database, "update_template_card", "zhangsan")[0].payload
    assert body["update_template_card"]["button"]["replace_name"] == "已记录：我没参加，谢谢告知"
    assert outbox_rows(database, userid=world.college_admin) == []
    phone.tap("lisi", card, _key(card, "我没参加"))
    phone.tap("zhousong", card, _key(card, "一般"))
    assert sorted(_ratings(database)) == sorted(
        [
            (world.ids["zhangsan"], None, False),
            (world.ids["lisi"], None, False),
            (world.ids["zhousong"], 3, True),
        ]
    )
    notices = outbox_rows(database, userid=world.college_admin)
    assert len(notices) == 1
    text = notices[0].payload["text"]["content"]
    assert "茶话会" in text and "2 名参加者" in text and "王老师" in text
    assert "张三" not in text and "李四" not in text
    assert outbox_rows(database, userid=world.other_admin) == []
    with database.session() as session:
        assert flags.is_flagged(session, record_id)
    phone.tap("wangwu1", card, _key(card, "我没参加"))
    assert len(outbox_rows(database, userid=world.college_admin)) == 1  # flagged once


def test_at_most_three_cards_a_week_the_oldest_lapse_quietly(database, world):
    now = datetime.now(UTC)
    ids = [
        add_activity(database, world, ["zhangsan"], ended=timedelta(hours=h), title=f"活动{h}")
        for h in (5, 4, 3, 2)
    ]
    assert _send(database, now) == 3
    with database.session() as session:
        requests = {
            r.record_id: r
            for r in session.scalars(
                sa.select(RatingRequest).where(RatingRequest.student_id == world.ids["zhangsan"])
            )
        }
    assert requests[ids[0]].status == RatingRequestStatus.LAPSED  # the oldest
    assert requests[ids[0]].sent_at is None
    assert all(requests[i].status == RatingRequestStatus.PENDING for i in ids[1:])
    assert len(outbox_rows(database, userid="zhangsan")) == 3
    add_activity(database, world, ["zhangsan", "lisi"], ended=timedelta(hours=1))
    assert _send(database, now) == 1  # lisi only; zhangsan's week is full
    assert len(outbox_rows(database, userid="zhangsan")) == 3


def test_one_reminder_after_two_days_to_those_who_have_not_answered(database, world, phone):
    sent = datetime.now(UTC) - timedelta(days=2, hours=1)
    add_activity(database, world, FOUR, now=sent)
    _send(database, sent)
    card = _card(database, "zhangsan")
    phone.tap("zhangsan", card, _key(card, "满意"))
    early = sent + timedelta(days=1)
    assert jobs.send_rating_reminders(database, early, policy=POLICY) == 0
    now = datetime.now(UTC)
    assert jobs.send_rating_reminders(database, now, policy=POLICY) == 3
    reminded = outbox_rows(database, "text")
    assert sorted(r.userid for r in reminded) == ["lisi", "wangwu1", "zhousong"]
    assert len({r.payload_hash for r in reminded}) == 1
    assert "读书沙龙" in reminded[0].payload["text"]["content"]
    assert jobs.send_rating_reminders(database, now + timedelta(hours=5), policy=POLICY) == 0


def test_requests_lapse_after_the_window(database, world):
    sent = datetime.now(UTC) - timedelta(days=8)
    add_activity(database, world, FOUR, now=sent)
    _send(database, sent)
    assert jobs.send_rating_reminders(database, datetime.now(UTC), policy=POLICY) == 0
    with database.session() as session:
        statuses = set(session.scalars(sa.select(RatingRequest.status)))
    assert statuses == {RatingRequestStatus.LAPSED}


def _contact(database, world, student, at):
    with database.session() as session:
        record = Record(
            year_id=world.year_id,
            mentor_id=world.ids["wanglaoshi"],
            kind=RecordKind.CONTACT,
            title="聊选课",
            occurred_at=at,
            created_at=at,
            updated_at=at,
        )
        record.participants = [RecordParticipant(student_id=world.ids[student])]
        session.add(record)


def test_monthly_guidance_cards_for_students_contacted_last_month(database, world, phone):
    zone = POLICY.zone
    with database.session() as session:
        starts = session.get(AcademicYear, world.year_id).starts_on
    now = datetime(starts.year, 11, 2, 10, 0, tzinfo=zone)  # October is in the world's year
    month_before = (now - timedelta(days=5)).replace(day=10)
    _contact(database, world, "zhangsan", month_before)
    _contact(database, world, "zhangsan", month_before + timedelta(days=3))
    _contact(database, world, "lisi", month_before)
    _contact(database, world, "zhousong", now - timedelta(hours=1))  # this month: not yet
    assert jobs.send_monthly_guidance_cards(database, now, policy=POLICY) == 2
    with database.session() as session:
        guidance = session.scalars(
            sa.select(Record).where(Record.kind == RecordKind.MONTHLY_GUIDANCE)
        ).all()
        assert len(guidance) == 1
        assert sorted(p.student_id for p in guidance[0].participants) == sorted(
            [world.ids["zhangsan"], world.ids["lisi"]]
        )
        assert guidance[0].title == f"{month_before.month}月个别指导"
    card = _card(database, "lisi")
    assert card["main_title"]["title"] == "月度指导评价"
    # the card comes in November about October: it names the month, never 本月
    month = f"{month_before.month}月"
    assert card["main_title"]["desc"] == f"请评价王老师老师{month}对您的个别指导"
    assert {"keyname": "内容", "value": f"{month}个别指导"} in card["horizontal_content_list"]
    assert "本月" not in json.dumps(card, ensure_ascii=False)
    assert jobs.send_monthly_guidance_cards(database, now, policy=POLICY) == 0
    assert jobs.send_rating_cards(database, now, policy=POLICY) == 0


def test_mentors_see_aggregates_only_from_three_ratings(database, world, phone):
    add_activity(database, world, FOUR)
    _send(database)
    card = _card(database, "zhangsan")
    phone.tap("zhangsan", card, _key(card, "非常满意"))
    phone.tap("lisi", card, _key(card, "不满意"))
    phone.say(world.mentor, "我的")
    text = phone.last_text(world.mentor)
    assert "暂无" in text
    phone.tap("zhousong", card, _key(card, "满意"))
    phone.say(world.mentor, "我的")
    text = phone.last_text(world.mentor)
    assert "66.7%" in text
    for name in ("张三", "李四", "周松"):
        assert name not in text
    pushed = outbox_rows(database, userid=world.mentor)
    assert not any(r.msgtype == "template_card" for r in pushed)


def test_the_office_exports_every_rating_for_audit(database, world, phone, runner, tmp_path):
    add_activity(database, world, FOUR)
    _send(database)
    card = _card(database, "zhangsan")
    phone.tap("zhangsan", card, _key(card, "满意"))
    phone.tap("lisi", card, _key(card, "我没参加"))
    phone.tap("zhousong", card, _key(card, "我没参加"))
    target = tmp_path / "ratings.xlsx"
    result = runner.invoke(args=["ratings", "export", str(target)])
    assert result.exit_code == 0, result.output
    assert "已导出 3 条评价" in result.output
    book = load_workbook(target)
    rows = list(book["评价明细"].iter_rows(values_only=True))
    assert rows[0][0] == "记录编号"
    assert sorted((row[8], row[9]) for row in rows[1:]) == [
        ("周松", "我没参加"),
        ("张三", "满意"),
        ("李四", "我没参加"),
    ]
    summary = list(book["活动汇总"].iter_rows(values_only=True))[1]
    assert summary[6:] == (1, 100.0, 2, "是")
    with database.session() as session:
        entry = session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "export"))
    assert entry.entity == "rating" and entry.after["ratings"] == 3


def test_cli_jobs(database, world, runner):
    add_activity(database, world, FOUR)
    result = runner.invoke(args=["ratings", "send-due"])
    assert result.exit_code == 0, result.output
    assert "评价卡片 4 张" in result.output
    result = runner.invoke(args=["ratings", "remind"])
    assert result.exit_code == 0 and "评价提醒 0 条" in result.output


def test_monthly_cards_can_be_switched_off(database, world):
    from dataclasses import replace

    with database.session() as session:
        starts = session.get(AcademicYear, world.year_id).starts_on
    now = datetime(starts.year, 11, 2, 10, 0, tzinfo=POLICY.zone)
    _contact(database, world, "zhangsan", now - timedelta(days=10))
    off = replace(POLICY, monthly_cards=False)
    assert jobs.send_monthly_guidance_cards(database, now, policy=off) == 0
    assert jobs.send_rating_cards(database, now, policy=off) == 0
    assert jobs.send_rating_cards(database, now, policy=POLICY) == 1
