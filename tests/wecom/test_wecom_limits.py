"""WeCom's size limits: every message type shaped to them, cut at a UTF-8 character boundary."""

from __future__ import annotations

import copy

import pytest

from bot.wecom import cards, limits
from bot.wecom.limits import LimitError, cut, shape

ELLIPSIS = "…"


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))


# -- cutting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("char", "width"),
    [("a", 1), ("é", 2), ("字", 3), ("😀", 4)],
)
def test_a_cut_ends_on_a_character_boundary_with_an_ellipsis(char: str, width: int) -> None:
    text = "x" + char * 3000  # the leading byte puts every boundary off the limit for width > 1
    shaped = cut(text, 2048)
    assert _bytes(shaped) <= 2048
    assert shaped.endswith(ELLIPSIS)
    assert shaped.encode("utf-8").decode("utf-8") == shaped  # whole characters only
    body = shaped.removesuffix(ELLIPSIS)
    assert text.startswith(body)
    assert _bytes(body) > 2048 - _bytes(ELLIPSIS) - width  # nothing more would have fit


def test_a_text_that_fits_exactly_is_left_alone() -> None:
    exact = "字" * 682 + "ab"  # 2,048 bytes
    assert cut(exact, 2048) == exact
    # one byte more: the last whole character that leaves room for "…" (3 bytes) is kept
    assert cut(exact + "c", 2048) == "字" * 681 + ELLIPSIS


def test_a_cut_in_characters_counts_characters() -> None:
    assert cut("查看详情吧", 4, limits.CHARS) == "查看详…"
    assert cut("详情", 4, limits.CHARS) == "详情"


def test_mixed_emoji_and_chinese_at_the_boundary() -> None:
    text = "😀字" * 600  # 7 bytes a pair
    shaped = cut(text, 2048)
    assert _bytes(shaped) <= 2048 and shaped.endswith(ELLIPSIS)
    assert "\ufffd" not in shaped


# -- each message type --------------------------------------------------------------------


@pytest.mark.parametrize("msgtype", ["text", "markdown"])
def test_text_and_markdown_content_at_most_2048_bytes(msgtype: str) -> None:
    payload = {"msgtype": msgtype, msgtype: {"content": "没有找到“" + "字" * 40_000 + "”"}}
    shaped = shape(payload)
    content = shaped[msgtype]["content"]
    assert _bytes(content) <= 2048 and content.startswith("没有找到“字字") and content[-1] == "…"
    assert _bytes(payload[msgtype]["content"]) > 100_000  # the caller's payload is unchanged


def test_a_short_text_is_returned_as_it_is() -> None:
    payload = {"msgtype": "text", "text": {"content": "您好"}}
    assert shape(payload) == payload


def test_textcard_title_description_and_button() -> None:
    payload = {
        "msgtype": "textcard",
        "textcard": {
            "title": "题" * 100,
            "description": "😀" * 200,
            "url": "https://example.edu/x",
            "btntxt": "查看全部详情",
        },
    }
    card = shape(payload)["textcard"]
    assert _bytes(card["title"]) <= 128 and card["title"].endswith(ELLIPSIS)
    assert _bytes(card["description"]) <= 512 and card["description"].endswith(ELLIPSIS)
    assert card["btntxt"] == "查看全…"
    assert card["url"] == "https://example.edu/x"


def test_news_articles_each_within_their_limits() -> None:
    article = {"title": "标" * 60, "description": "述" * 300, "url": "https://example.edu/a"}
    shaped = shape({"msgtype": "news", "news": {"articles": [article, dict(article)]}})
    for item in shaped["news"]["articles"]:
        assert _bytes(item["title"]) <= 128 and _bytes(item["description"]) <= 512
        assert item["url"] == "https://example.edu/a"


LONG = "长" * 400  # 1,200 bytes


def _every_card() -> list[dict]:
    return [
        cards.text_notice(
            LONG,
            url="https://example.edu/n",
            desc=LONG,
            sub_title=LONG,
            emphasis=(LONG, LONG),
            fields=[(LONG, LONG)],
            source=LONG,
        ),
        cards.news_notice(
            LONG, url="https://example.edu/n", image_url="https://example.edu/p.png", desc=LONG
        ),
        cards.button_interaction(
            LONG,
            task_id="t-1",
            buttons=[cards.Button("k1", LONG), cards.Button("k2", "好")],
            desc=LONG,
            replace_text=LONG,
        ),
        cards.vote_interaction(
            LONG,
            task_id="t-2",
            question_key="q",
            options=[cards.Option("o1", LONG), cards.Option("o2", "李四")],
            submit_key="s",
            submit_text=LONG,
            desc=LONG,
        ),
        cards.multiple_interaction(
            LONG,
            task_id="t-3",
            selects=[cards.Select("q1", LONG, [cards.Option("o1", LONG)])],
            submit_key="s",
            submit_text=LONG,
        ),
    ]


def _texts(node: object, path: str = "") -> dict[str, str]:
    """Every string in a card by its path (list positions as [])."""
    if isinstance(node, dict):
        found: dict[str, str] = {}
        for name, value in node.items():
            found.update(_texts(value, f"{path}.{name}" if path else name))
        return found
    if isinstance(node, list):
        found = {}
        for item in node:
            found.update(_texts(item, f"{path}[]"))
        return found
    return {path: node} if isinstance(node, str) else {}


@pytest.mark.parametrize("card", _every_card(), ids=lambda card: card["card_type"])
def test_every_template_card_text_is_cut_to_its_ceiling(card: dict) -> None:
    shaped = shape({"msgtype": "template_card", "template_card": card})["template_card"]
    ceilings = {limit.path: limit for limit in limits.LIMITS["template_card"]}
    texts = _texts(shaped)
    long_ones = [path for path, text in _texts(card).items() if text.startswith("长长")]
    assert long_ones, "the card carries long texts"
    for path in long_ones:
        limit = ceilings[path]  # every text the builders make has a limit
        assert _bytes(texts[path]) <= limit.size, path
        assert texts[path].endswith(ELLIPSIS), path
    # ids and links are untouched
    assert shaped.get("task_id") == card.get("task_id")
    assert shaped.get("card_action") == card.get("card_action")


def test_a_card_update_is_shaped_like_a_card() -> None:
    card = cards.button_interaction("标题", task_id="t-9", buttons=[cards.Button("k", LONG)])
    body = {"response_code": "rc", "template_card": card}
    shaped = shape({"msgtype": "update_template_card", "update_template_card": body})
    button = shaped["update_template_card"]["template_card"]["button_list"][0]
    assert _bytes(button["text"]) <= limits.CARD_LABEL_BYTES and button["text"].endswith("…")
    assert button["key"] == "k"
    replaced = shape(
        {
            "msgtype": "update_template_card",
            "update_template_card": {"response_code": "rc", "button": {"replace_name": LONG}},
        }
    )
    name = replaced["update_template_card"]["button"]["replace_name"]
    assert _bytes(name) <= limits.CARD_LABEL_BYTES


def test_the_card_ceilings_keep_todays_cards_whole() -> None:
    title = "2025-2026 学年导师考核：计算机与物联网学院评分"  # 27 characters (26 recommended)
    desc = "找不到？直接发送姓名、拼音或首字母搜索\n没有学生参加可以不选，直接点“下一步”"
    card = cards.vote_interaction(
        title,
        task_id="t",
        question_key="q",
        options=[cards.Option("o", "张三")],
        submit_key="s",
        desc=desc,
    )
    shaped = shape({"msgtype": "template_card", "template_card": card})["template_card"]
    assert shaped["main_title"] == {"title": title, "desc": desc}


# -- ids are ours: too long is a programming error ----------------------------------------


def _vote(**changes: object) -> dict:
    card = cards.vote_interaction(
        "标题",
        task_id="t",
        question_key="q",
        options=[cards.Option("o", "张三")],
        submit_key="s",
    )
    card = copy.deepcopy(card)
    for path, value in changes.items():
        node = card
        *parents, name = path.split("__")
        for parent in parents:
            node = node[parent][0] if isinstance(node[parent], list) else node[parent]
        node[name] = value
    return {"msgtype": "template_card", "template_card": card}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("task_id", "t" * 129),
        ("checkbox__question_key", "q" * 1025),
        ("checkbox__option_list__id", "o" * 129),
        ("submit_button__key", "s" * 1025),
        ("card_action", {"type": 1, "url": "https://example.edu/" + "x" * 2048}),
    ],
)
def test_an_id_too_long_is_refused_not_cut(path: str, value: object) -> None:
    with pytest.raises(LimitError, match="WeCom allows at most"):
        shape(_vote(**{path: value}))


def test_a_button_key_too_long_is_refused() -> None:
    card = cards.button_interaction("标题", task_id="t", buttons=[cards.Button("k", "好")])
    card["button_list"][0]["key"] = "k" * 1025
    with pytest.raises(LimitError, match="button_list"):
        shape({"msgtype": "template_card", "template_card": card})


def test_a_textcard_url_too_long_is_refused() -> None:
    long_url = "https://example.edu/" + "x" * 2048
    payload = {
        "msgtype": "textcard",
        "textcard": {"title": "t", "description": "d", "url": long_url},
    }
    with pytest.raises(LimitError):
        shape(payload)


def test_messages_without_limits_pass_through() -> None:
    image = {"msgtype": "image", "image": {"storage_key": "k" * 5000, "filename": "a.png"}}
    assert shape(image) is image
