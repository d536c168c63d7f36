"""Template card builders and WeCom's limits."""

from __future__ import annotations

import pytest

from bot.wecom import cards
from bot.wecom.cards import Button, Option, Select


def test_check_content_counts_utf8_bytes() -> None:
    assert cards.check_content("a" * 2048) == "a" * 2048
    assert cards.check_content("字" * 682 + "xx")  # 2,048 bytes
    with pytest.raises(ValueError, match="2049 bytes"):
        cards.check_content("字" * 683)
    with pytest.raises(ValueError, match="empty"):
        cards.check_content("")
    with pytest.raises(ValueError):
        cards.check_content("x" * 129, limit=128, what="title")


@pytest.mark.parametrize("task_id", ["a", "rate_1-2@x", "A" * 128, "0123456789"])
def test_valid_task_ids(task_id: str) -> None:
    assert cards.check_task_id(task_id) == task_id


@pytest.mark.parametrize(
    "task_id", ["", "A" * 129, "has space", "评分", "a/b", "a.b", "a:b", "tab\t", "ａ"]
)
def test_invalid_task_ids(task_id: str) -> None:
    with pytest.raises(ValueError, match="task_id"):
        cards.check_task_id(task_id)


def test_text_notice() -> None:
    card = cards.text_notice(
        "本周记录提醒",
        url="https://example.org/records",
        desc="还差 1 条",
        emphasis=("1", "待补记录"),
        fields=[("导师", "张三")],
        source="全生异科导师",
    )
    assert card == {
        "card_type": "text_notice",
        "main_title": {"title": "本周记录提醒", "desc": "还差 1 条"},
        "source": {"desc": "全生异科导师"},
        "horizontal_content_list": [{"keyname": "导师", "value": "张三"}],
        "emphasis_content": {"title": "1", "desc": "待补记录"},
        "card_action": {"type": 1, "url": "https://example.org/records"},
    }
    with pytest.raises(ValueError, match="url"):
        cards.text_notice("x", url="javascript:alert(1)")
    with pytest.raises(ValueError, match="title"):
        cards.text_notice("", url="https://e.org")


def test_news_notice() -> None:
    card = cards.news_notice(
        "活动回顾", url="https://e.org/a", image_url="https://e.org/p.png", task_id="news-1"
    )
    assert card["card_image"] == {"url": "https://e.org/p.png", "aspect_ratio": 2.25}
    assert card["task_id"] == "news-1"
    with pytest.raises(ValueError, match="aspect_ratio"):
        cards.news_notice("x", url="https://e.org", image_url="https://e.org/p", aspect_ratio=3)


def test_button_interaction() -> None:
    card = cards.button_interaction(
        "评分",
        task_id="rate-1",
        buttons=[Button("good", "满意"), Button("bad", "不满意", style=2)],
        replace_text="已评分",
    )
    assert card["button_list"] == [
        {"text": "满意", "style": 1, "key": "good"},
        {"text": "不满意", "style": 2, "key": "bad"},
    ]
    assert card["replace_text"] == "已评分"
    assert "card_action" not in card


@pytest.mark.parametrize(
    ("buttons", "message"),
    [
        ([], "at least one"),
        ([Button(f"k{i}", "x") for i in range(7)], "at most 6"),
        ([Button("same", "a"), Button("same", "b")], "unique"),
        ([Button("", "a")], "key"),
        ([Button("k" * 1025, "a")], "1024"),
        ([Button("k", "")], "text"),
        ([Button("k", "a", style=5)], "style"),
    ],
)
def test_button_interaction_limits(buttons: list[Button], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cards.button_interaction("t", task_id="t-1", buttons=buttons)


def test_six_buttons_are_fine() -> None:
    buttons = [Button(f"k{i}", f"按钮{i}") for i in range(6)]
    assert len(cards.button_interaction("t", task_id="t", buttons=buttons)["button_list"]) == 6


def test_interactive_cards_need_a_valid_task_id() -> None:
    with pytest.raises(ValueError, match="task_id"):
        cards.button_interaction("t", task_id="", buttons=[Button("k", "a")])
    with pytest.raises(ValueError, match="task_id"):
        cards.vote_interaction(
            "t", task_id="bad id", question_key="q", options=[Option("1", "a")], submit_key="s"
        )


def test_vote_interaction() -> None:
    card = cards.vote_interaction(
        "满意度",
        task_id="vote-1",
        question_key="score",
        options=[Option("1", "一般"), Option("2", "满意", checked=True)],
        submit_key="vote:1",
    )
    assert card["checkbox"] == {
        "question_key": "score",
        "option_list": [
            {"id": "1", "text": "一般", "is_checked": False},
            {"id": "2", "text": "满意", "is_checked": True},
        ],
        "mode": 0,
    }
    assert card["submit_button"] == {"text": "提交", "key": "vote:1"}


def test_vote_interaction_limits() -> None:
    def vote(options: list[Option], multiple: bool = False) -> dict:
        return cards.vote_interaction(
            "t",
            task_id="v",
            question_key="q",
            options=options,
            submit_key="s",
            multiple=multiple,
        )

    assert len(vote([Option(str(i), "x") for i in range(20)])["checkbox"]["option_list"]) == 20
    with pytest.raises(ValueError, match="at most 20"):
        vote([Option(str(i), "x") for i in range(21)])
    with pytest.raises(ValueError, match="at least one"):
        vote([])
    with pytest.raises(ValueError, match="unique"):
        vote([Option("1", "a"), Option("1", "b")])
    with pytest.raises(ValueError, match="at most one"):
        vote([Option("1", "a", True), Option("2", "b", True)])
    assert (
        vote([Option("1", "a", True), Option("2", "b", True)], multiple=True)["checkbox"]["mode"]
        == 1
    )


def test_multiple_interaction() -> None:
    card = cards.multiple_interaction(
        "安排",
        task_id="m-1",
        selects=[Select("when", "时间", [Option("sat", "周六")], selected_id="sat")],
        submit_key="m:1",
        submit_text="确定",
    )
    assert card["select_list"] == [
        {
            "question_key": "when",
            "title": "时间",
            "option_list": [{"id": "sat", "text": "周六"}],
            "selected_id": "sat",
        }
    ]
    assert card["submit_button"] == {"text": "确定", "key": "m:1"}


def test_multiple_interaction_limits() -> None:
    def multiple(selects: list[Select]) -> dict:
        return cards.multiple_interaction("t", task_id="m", selects=selects, submit_key="s")

    one = [Option("a", "A")]
    ten = [Option(str(i), "x") for i in range(10)]
    assert len(multiple([Select(f"q{i}", "t", ten) for i in range(3)])["select_list"]) == 3
    with pytest.raises(ValueError, match="at most 3"):
        multiple([Select(f"q{i}", "t", one) for i in range(4)])
    with pytest.raises(ValueError, match="at most 10"):
        multiple([Select("q", "t", [Option(str(i), "x") for i in range(11)])])
    with pytest.raises(ValueError, match="unique"):
        multiple([Select("q", "t", one), Select("q", "u", one)])
    with pytest.raises(ValueError, match="selected_id"):
        multiple([Select("q", "t", one, selected_id="zzz")])
    with pytest.raises(ValueError, match="at least one"):
        multiple([])


def test_an_option_id_longer_than_128_bytes_is_refused() -> None:
    options = [Option("字" * 43, "张三")]  # 129 bytes
    with pytest.raises(ValueError, match="option id is longer than 128 bytes"):
        cards.vote_interaction(
            "t", task_id="t-1", question_key="q", options=options, submit_key="s"
        )


def test_fit_desc_keeps_whole_lines_within_what_wecom_shows():
    from bot.wecom.cards import fit_desc

    assert fit_desc(["短", "也短"]) == ("短\n也短", False)
    long = "长" * 45
    assert fit_desc([long, "找不到？直接发送姓名"]) == ("找不到？直接发送姓名", True)
    assert fit_desc(["a" * 40, "bbbb"]) == ("a" * 40, True)  # 40 + 1 + 4 > 44
    assert fit_desc(["a" * 39, "bbbb"]) == ("a" * 39 + "\nbbbb", False)
    assert fit_desc([]) == ("", False)
