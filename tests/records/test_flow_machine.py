"""The guided record flow as a pure state machine: questions, answers, refusals (no app)."""

import dataclasses
import json
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet

from bot.core.models import RecordKind
from bot.records import answers
from bot.records.answers import (
    Day,
    Hour,
    Month,
    MonthTap,
    Named,
    Note,
    Picked,
    Place,
    Refusal,
    Save,
    SkipNote,
    Title,
    TitleChoice,
    Who,
    read_text,
    step,
)
from bot.records.care import unseal
from bot.records.flow import TALK, Flow, Situation, new_flow, with_photo
from bot.records.names import Student
from bot.records.questions import (
    CARE_NOTE_PROMPT,
    EMPTY_ROSTER,
    NEXT_PAGE,
    PAGE_SIZE,
    Buttons,
    PickStudents,
    Prompt,
    Ready,
    next_question,
)

KEY = Fernet.generate_key().decode("ascii")
ZHANG, LI, WANG = Student(1, "张三"), Student(2, "李四"), Student(3, "张珊")


def situation(students=(ZHANG, LI, WANG), **changes) -> Situation:
    fields = dict(
        now=datetime(2025, 11, 20, 4, 0, tzinfo=UTC),  # 12:00 in Shanghai, a Thursday
        zone=ZoneInfo("Asia/Shanghai"),
        year_starts=date(2025, 9, 1),
        year_ends=date(2026, 8, 31),
        students=tuple(students),
        base_url="https://bot.example.edu",
        care_key=KEY,
    )
    return Situation(**(fields | changes))


def ask(flow: Flow, where: Situation | None = None):
    return next_question(flow, where or situation())


def take(flow: Flow, answer, where: Situation | None = None) -> Flow:
    """The asked flow after ``answer``; fails the test on a refusal."""
    where = where or situation()
    taken = step(ask(flow, where).flow, answer, where)
    assert not isinstance(taken, Refusal), taken
    return taken


def test_a_contact_is_asked_step_by_step_and_then_ready():
    where = situation()
    flow = new_flow(RecordKind.CONTACT.value)
    question = ask(flow)
    assert isinstance(question, PickStudents)
    assert question.flow.step == "students"
    assert question.title == "个别交流：选择学生"
    assert [o.text for o in question.options] == ["张三", "李四", "张珊"]
    assert question.flow.shown_ids == (1, 2, 3)
    assert flow.step == "" and flow.shown_ids == ()  # the machine never changes a flow

    flow = take(flow, Picked((2, 1)))
    assert flow.student_ids == (1, 2) and flow.students_done
    question = ask(flow)
    assert isinstance(question, Buttons) and question.flow.step == "time"
    assert [b.value for b in question.buttons] == ["0", "1", "2"]

    flow = take(flow, Day(date(2025, 11, 19), time(19, 0)))
    assert (flow.day, flow.at) == ("2025-11-19", "19:00")
    flow = take(flow, Place(True, "线上"))
    question = ask(flow)
    assert question.flow.step == "note"
    assert [(b.text, b.secondary) for b in question.buttons] == [("跳过", True)]

    flow = take(flow, Note("聊选课"))
    question = ask(flow)
    assert isinstance(question, Buttons) and question.title == "确认个别交流"
    assert question.fields == (
        ("时间", "11月19日 19:00"),
        ("学生", "张三、李四"),
        ("地点", "线上"),
        ("内容", "聊选课"),
    )
    flow = take(flow, Save())
    assert isinstance(ask(flow, where), Ready)


def test_a_tap_for_another_step_is_refused_as_a_used_card():
    flow = ask(new_flow(RecordKind.CONTACT.value)).flow
    assert step(flow, Save(), situation()) == Refusal(answers.USED_CARD)


def test_a_talk_asks_whom_first_and_becomes_that_kind():
    question = ask(new_flow(TALK))
    assert isinstance(question, Buttons) and question.title == "记录沟通"
    assert [b.value for b in question.buttons] == ["counsellor", "leader"]
    flow = take(new_flow(TALK), Who(RecordKind.LEADER_TALK))
    assert flow.kind == "leader_talk"
    assert ask(flow).flow.step == "time"


def test_only_own_students_are_taken_from_the_card():
    flow = take(new_flow(RecordKind.CONTACT.value), Picked((1, 99)))
    assert flow.student_ids == (1,)


def test_nothing_ticked_is_refused_and_the_card_asked_again():
    flow = ask(new_flow(RecordKind.CONTACT.value)).flow
    refusal = step(flow, Picked(()), situation())
    assert isinstance(refusal, Refusal) and refusal.text == "请至少勾选一位学生。"
    assert isinstance(ask(refusal.flow), PickStudents)


def test_academy_activities_may_have_no_students():
    flow = new_flow(RecordKind.ACADEMY_BOOKING.value, title="x", day="2025-11-20", place_done=True)
    flow = take(flow, Picked(()))
    assert flow.students_done and ask(flow).flow.step == "confirm"


def test_a_care_record_takes_one_student_only():
    flow = ask(new_flow(RecordKind.CARE.value)).flow
    refusal = step(flow, Picked((1, 2)), situation())
    assert isinstance(refusal, Refusal)
    assert refusal.text == "一条关爱记录只记一位学生，请只勾选一位。"
    assert refusal.flow.student_ids == ()
    assert isinstance(ask(refusal.flow), PickStudents)
    assert ask(refusal.flow).multiple is False


def test_the_next_page_keeps_the_card_open_even_with_students_chosen():
    roster = [Student(i, f"学生{i:02d}") for i in range(1, PAGE_SIZE + 5)]
    where = situation(roster)
    first = ask(new_flow(RecordKind.CONTACT.value), where)
    assert first.title == "个别交流：选择学生（第1/2页）"
    assert first.options[-1].value == NEXT_PAGE
    flow = take(first.flow, Picked((1,), more=True), where)
    second = ask(flow, where)
    assert isinstance(second, PickStudents) and second.title.endswith("（第2/2页）")
    assert second.flow.shown_ids == tuple(range(PAGE_SIZE + 1, PAGE_SIZE + 5))
    assert "已选：学生01" in second.prompt
    # ticking on page 2 keeps what was chosen on page 1
    flow = take(second.flow, Picked((PAGE_SIZE + 1,)), where)
    assert flow.student_ids == (1, PAGE_SIZE + 1)
    assert ask(flow, where).flow.step == "time"


def test_a_page_past_the_end_starts_again_at_the_first():
    flow = new_flow(RecordKind.CONTACT.value, page=5, picking=True)
    question = ask(flow)
    assert question.flow.page == 0 and question.flow.shown_ids == (1, 2, 3)


def test_a_typed_name_ticks_the_student_and_shows_the_card_again():
    flow = ask(new_flow(RecordKind.CONTACT.value)).flow
    answer = read_text(flow, "李四", situation())
    assert answer == Named("李四", (LI,))
    flow = take(flow, answer)
    question = ask(flow)
    assert isinstance(question, PickStudents)
    assert [o.text for o in question.options if o.checked] == ["李四"]


def test_an_ambiguous_name_offers_its_candidates():
    flow = ask(new_flow(RecordKind.CONTACT.value)).flow
    answer = read_text(flow, "zs", situation())
    assert isinstance(answer, Named) and set(answer.found) == {ZHANG, WANG}
    question = ask(take(flow, answer))
    assert question.prompt.startswith("“zs”可能是：")
    assert {o.text for o in question.options} == {"张三", "张珊"}


def test_an_unknown_name_is_refused():
    flow = ask(new_flow(RecordKind.CONTACT.value)).flow
    refusal = read_text(flow, "赵六", situation())
    assert refusal == Refusal("在您本学年的学生中没有找到“赵六”。请换个写法，或在卡片中勾选。")


def test_an_empty_roster_is_said_instead_of_a_card():
    question = ask(new_flow(RecordKind.CONTACT.value), situation(()))
    assert question == Prompt(question.flow, EMPTY_ROSTER)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("本月", "2025-11-20"),
        ("上个月", "2025-10-31"),
        ("10月", "2025-10-31"),
        ("11", "2025-11-20"),
    ],
)
def test_months_typed(text, day):
    flow = ask(new_flow(RecordKind.MONTHLY_PLAN.value)).flow
    assert take(flow, read_text(flow, text, situation())).day == day


def test_a_month_outside_the_year_or_unreadable_is_refused():
    flow = ask(new_flow(RecordKind.MONTHLY_PLAN.value)).flow
    assert read_text(flow, "十三月", situation()) == Refusal(
        "没有看懂这个月份。可以点击卡片上的按钮，或发送：本月、上月、11月"
    )
    refusal = step(flow, Month(date(2025, 8, 31)), situation())
    assert isinstance(refusal, Refusal) and "不在本学年" in refusal.text


def test_last_month_is_offered_only_inside_the_year():
    early = situation(now=datetime(2025, 9, 10, 4, 0, tzinfo=UTC))
    question = ask(new_flow(RecordKind.MONTHLY_PLAN.value), early)
    assert [b.text for b in question.buttons] == ["本月（9月）"]
    question = ask(new_flow(RecordKind.MONTHLY_PLAN.value))
    assert [b.text for b in question.buttons] == ["本月（11月）", "上月（10月）"]
    assert take(question.flow, MonthTap(last=True)).day == "2025-10-31"


def test_times_typed_are_read_and_checked():
    flow = take(new_flow(RecordKind.CONTACT.value), Picked((1,)))
    flow = ask(flow).flow
    assert read_text(flow, "11月18日 19:00", situation()) == Day(date(2025, 11, 18), time(19, 0))
    assert read_text(flow, "昨天", situation()) == Day(date(2025, 11, 19))
    future = read_text(flow, "11月25日", situation())
    assert isinstance(future, Refusal) and "还没有到" in future.text
    assert read_text(flow, "", situation()) == read_text(flow, "随便", situation())
    assert read_text(flow, "随便", situation()) == Refusal(
        "没有看懂这个时间。可以发送：今天、昨天、周三、11月20日、11月20日 19:00"
    )


def test_places_typed_and_tapped():
    flow = ask(new_flow(RecordKind.CONTACT.value, student_ids=[1], day="2025-11-20")).flow
    typed = take(flow, read_text(flow, "图书馆", situation()))
    assert (typed.online, typed.place, typed.place_done) == (False, "图书馆", True)
    skipped = take(flow, Place())
    assert (skipped.online, skipped.place, skipped.place_done) == (None, None, True)
    offline = take(flow, Place(False))
    assert (offline.online, offline.place) == (False, None)


def test_a_care_note_is_kept_only_sealed():
    flow = new_flow(RecordKind.CARE.value, student_ids=[1], day="2025-11-20")
    question = ask(flow)
    assert question == Prompt(question.flow, CARE_NOTE_PROMPT)
    flow = take(flow, read_text(question.flow, "情绪低落，约了下周再聊", situation()))
    assert flow.note is None and flow.note_done
    assert unseal(KEY, flow.sealed_note) == "情绪低落，约了下周再聊"
    assert "情绪低落" not in repr(flow)
    assert ("内容", "已填写（加密保存）") in ask(flow).fields


def test_a_skipped_note_keeps_no_note():
    flow = new_flow(RecordKind.PUBLICITY.value, title="推文")
    flow = take(flow, SkipNote())
    assert flow.note is None and flow.note_done


def test_title_choices_and_typed_titles():
    flow = ask(new_flow(RecordKind.ACADEMY_BOOKING.value)).flow
    assert take(flow, TitleChoice("booking")).title == "预约书院空间"
    assert step(flow, TitleChoice("nope"), situation()) == Refusal(answers.DEAD_BUTTON)
    assert read_text(flow, "x" * 300, situation()) == Title("x" * 200)


def test_an_uploadable_kind_links_the_upload_page():
    question = ask(new_flow(RecordKind.SEMESTER_PLAN.value))
    assert isinstance(question, Prompt) and question.markdown
    assert "如有学期工作计划文件" in question.text
    assert "(https://bot.example.edu/m/upload?purpose=semester_plan)" in question.text
    publicity = ask(new_flow(RecordKind.PUBLICITY.value))
    assert not publicity.markdown and publicity.text.endswith("发送“取消”可退出。")


def test_confirm_by_text():
    flow = new_flow(RecordKind.PUBLICITY.value, title="推文", note_done=True)
    flow = ask(flow).flow
    assert read_text(flow, "确认", situation()) == Save()
    assert read_text(flow, "嗯", situation()) == Refusal(
        "请点击卡片上的“保存”，或发送“确认”保存、“取消”放弃。"
    )


def test_who_by_text():
    flow = ask(new_flow(TALK)).flow
    assert read_text(flow, "辅导员 王老师", situation()) == Who(RecordKind.COUNSELLOR_TALK)
    assert read_text(flow, "副院长", situation()) == Who(RecordKind.LEADER_TALK)
    assert isinstance(read_text(flow, "同学", situation()), Refusal)


def test_text_to_a_flow_asking_nothing_typed_is_refused():
    assert read_text(new_flow(TALK), "你好", situation()) == Refusal(answers.TAP_TO_GO_ON)


def test_a_flow_survives_the_trip_through_redis_json_unchanged():
    flow = with_photo(
        new_flow(RecordKind.CONTACT.value, student_ids=[1, 2], problems=["?"], picking=True),
        "media-1",
    )
    body = json.loads(json.dumps(dataclasses.asdict(flow), ensure_ascii=False))
    assert Flow(**body) == flow
    assert Flow(**body).student_ids == (1, 2)


def test_only_the_last_nine_photos_are_kept():
    flow = new_flow(RecordKind.CONTACT.value)
    for number in range(12):
        flow = with_photo(flow, f"m{number}")
    assert flow.media_ids == tuple(f"m{n}" for n in range(3, 12))


def test_a_past_day_without_a_time_asks_the_hour_never_noon():
    flow = take(new_flow(RecordKind.CONTACT.value), Picked((1,)))
    flow = take(flow, Day(date(2025, 11, 18)))
    assert flow.needs_hour and flow.at is None
    question = ask(flow)
    assert isinstance(question, Buttons) and question.title == "个别交流：几点"
    assert question.flow.step == "time" and "11月18日几点" in question.prompt
    assert read_text(question.flow, "25:00", situation()).text.startswith("时间“25:00”不存在")
    assert read_text(question.flow, "晚上8点", situation()) == Hour(time(20, 0))
    flow = take(flow, Hour(time(20, 0)))
    assert (flow.day, flow.at, flow.needs_hour) == ("2025-11-18", "20:00", False)
    assert ask(flow).flow.step == "place"
    today = take(new_flow(RecordKind.CONTACT.value), Picked((1,)))
    assert not take(today, Day(date(2025, 11, 20))).needs_hour  # today: now, shown to confirm
