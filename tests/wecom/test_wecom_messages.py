"""Parsing decrypted callbacks. Samples follow WeCom's documentation (paths 90239, 90240)."""

from __future__ import annotations

import dataclasses

import pytest

from bot.wecom import messages as wm
from bot.wecom.crypto import MalformedXmlError

TEXT = """<xml>
   <ToUserName><![CDATA[toUser]]></ToUserName>
   <FromUserName><![CDATA[fromUser]]></FromUserName>
   <CreateTime>1348831860</CreateTime>
   <MsgType><![CDATA[text]]></MsgType>
   <Content><![CDATA[this is a test]]></Content>
   <MsgId>1234567890123456</MsgId>
   <AgentID>1</AgentID>
</xml>"""

IMAGE = """<xml>
   <ToUserName><![CDATA[toUser]]></ToUserName>
   <FromUserName><![CDATA[fromUser]]></FromUserName>
   <CreateTime>1348831860</CreateTime>
   <MsgType><![CDATA[image]]></MsgType>
   <PicUrl><![CDATA[this is a url]]></PicUrl>
   <MediaId><![CDATA[media_id]]></MediaId>
   <MsgId>1234567890123456</MsgId>
   <AgentID>1</AgentID>
</xml>"""

VOICE = """<xml>
   <ToUserName><![CDATA[toUser]]></ToUserName>
   <FromUserName><![CDATA[fromUser]]></FromUserName>
   <CreateTime>1357290913</CreateTime>
   <MsgType><![CDATA[voice]]></MsgType>
   <MediaId><![CDATA[media_id]]></MediaId>
   <Format><![CDATA[Format]]></Format>
   <MsgId>1234567890123456</MsgId>
   <AgentID>1</AgentID>
</xml>"""

VIDEO = """<xml>
   <ToUserName><![CDATA[toUser]]></ToUserName>
   <FromUserName><![CDATA[fromUser]]></FromUserName>
   <CreateTime>1357290913</CreateTime>
   <MsgType><![CDATA[video]]></MsgType>
   <MediaId><![CDATA[media_id]]></MediaId>
   <ThumbMediaId><![CDATA[thumb_media_id]]></ThumbMediaId>
   <MsgId>1234567890123456</MsgId>
   <AgentID>1</AgentID>
</xml>"""

LOCATION = """<xml>
   <ToUserName><![CDATA[toUser]]></ToUserName>
   <FromUserName><![CDATA[fromUser]]></FromUserName>
   <CreateTime>1351776360</CreateTime>
   <MsgType><![CDATA[location]]></MsgType>
   <Location_X>23.134</Location_X>
   <Location_Y>113.358</Location_Y>
   <Scale>20</Scale>
   <Label><![CDATA[位置信息]]></Label>
   <MsgId>1234567890123456</MsgId>
   <AgentID>1</AgentID>
   <AppType><![CDATA[wxwork]]></AppType>
</xml>"""

LINK = """<xml>
   <ToUserName><![CDATA[toUser]]></ToUserName>
   <FromUserName><![CDATA[fromUser]]></FromUserName>
   <CreateTime>1348831860</CreateTime>
   <MsgType><![CDATA[link]]></MsgType>
   <Title><![CDATA[this is a title!]]></Title>
   <Description><![CDATA[this is a description!]]></Description>
   <Url><![CDATA[URL]]></Url>
   <PicUrl><![CDATA[this is a url]]></PicUrl>
   <MsgId>1234567890123456</MsgId>
   <AgentID>1</AgentID>
</xml>"""

ENTER_AGENT = """<xml>
    <ToUserName><![CDATA[toUser]]></ToUserName>
    <FromUserName><![CDATA[FromUser]]></FromUserName>
    <CreateTime>1408091189</CreateTime>
    <MsgType><![CDATA[event]]></MsgType>
    <Event><![CDATA[enter_agent]]></Event>
    <EventKey><![CDATA[]]></EventKey>
    <AgentID>1</AgentID>
</xml>"""

CLICK = """<xml>
    <ToUserName><![CDATA[toUser]]></ToUserName>
    <FromUserName><![CDATA[FromUser]]></FromUserName>
    <CreateTime>123456789</CreateTime>
    <MsgType><![CDATA[event]]></MsgType>
    <Event><![CDATA[click]]></Event>
    <EventKey><![CDATA[EVENTKEY]]></EventKey>
    <AgentID>1</AgentID>
</xml>"""

VIEW = """<xml>
    <ToUserName><![CDATA[toUser]]></ToUserName>
    <FromUserName><![CDATA[FromUser]]></FromUserName>
    <CreateTime>123456789</CreateTime>
    <MsgType><![CDATA[event]]></MsgType>
    <Event><![CDATA[view]]></Event>
    <EventKey><![CDATA[www.qq.com]]></EventKey>
    <AgentID>1</AgentID>
</xml>"""

CARD_EVENT_SEVERAL = """<xml>
    <ToUserName><![CDATA[toUser]]></ToUserName>
    <FromUserName><![CDATA[FromUser]]></FromUserName>
    <CreateTime>123456789</CreateTime>
    <MsgType><![CDATA[event]]></MsgType>
    <Event><![CDATA[template_card_event]]></Event>
    <EventKey><![CDATA[key111]]></EventKey>
    <TaskId><![CDATA[taskid111]]></TaskId>
    <CardType><![CDATA[text_notice]]></CardType>
    <ResponseCode><![CDATA[ResponseCode]]></ResponseCode>
    <AgentID>1</AgentID>
    <SelectedItems>
        <SelectedItem>
            <QuestionKey><![CDATA[QuestionKey1]]></QuestionKey>
            <OptionIds>
                <OptionId><![CDATA[OptionId1]]></OptionId>
                <OptionId><![CDATA[OptionId2]]></OptionId>
            </OptionIds>
        </SelectedItem>
        <SelectedItem>
            <QuestionKey><![CDATA[QuestionKey2]]></QuestionKey>
            <OptionIds>
                <OptionId><![CDATA[OptionId3]]></OptionId>
                <OptionId><![CDATA[OptionId4]]></OptionId>
            </OptionIds>
        </SelectedItem>
    </SelectedItems>
</xml>"""

CARD_EVENT_ONE = """<xml>
    <ToUserName><![CDATA[ww1]]></ToUserName>
    <FromUserName><![CDATA[zhangsan]]></FromUserName>
    <CreateTime>1700000000</CreateTime>
    <MsgType><![CDATA[event]]></MsgType>
    <Event><![CDATA[template_card_event]]></Event>
    <EventKey><![CDATA[submit]]></EventKey>
    <TaskId><![CDATA[rate-42]]></TaskId>
    <CardType><![CDATA[vote_interaction]]></CardType>
    <ResponseCode><![CDATA[rc-1]]></ResponseCode>
    <AgentID>1000002</AgentID>
    <SelectedItems>
        <SelectedItem>
            <QuestionKey><![CDATA[score]]></QuestionKey>
            <OptionIds><OptionId><![CDATA[5]]></OptionId></OptionIds>
        </SelectedItem>
    </SelectedItems>
</xml>"""

CARD_BUTTON = """<xml><ToUserName><![CDATA[ww1]]></ToUserName>
<FromUserName><![CDATA[lisi]]></FromUserName><CreateTime>1700000001</CreateTime>
<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>
<EventKey><![CDATA[approve]]></EventKey><TaskId><![CDATA[task-9]]></TaskId>
<CardType><![CDATA[button_interaction]]></CardType>
<ResponseCode><![CDATA[rc-2]]></ResponseCode><AgentID>1000002</AgentID></xml>"""


def test_text() -> None:
    message = wm.parse_message(TEXT)
    assert message == wm.TextMessage(
        to_user="toUser",
        from_user="fromUser",
        create_time=1348831860,
        agent_id=1,
        msg_type="text",
        msg_id="1234567890123456",
        content="this is a test",
    )
    assert message.dedupe_key == "msg:1234567890123456"


def test_image() -> None:
    message = wm.parse_message(IMAGE.encode())
    assert isinstance(message, wm.ImageMessage)
    assert (message.media_id, message.pic_url) == ("media_id", "this is a url")


def test_voice() -> None:
    message = wm.parse_message(VOICE)
    assert isinstance(message, wm.VoiceMessage)
    assert (message.media_id, message.format) == ("media_id", "Format")


def test_video() -> None:
    message = wm.parse_message(VIDEO)
    assert isinstance(message, wm.VideoMessage)
    assert (message.media_id, message.thumb_media_id) == ("media_id", "thumb_media_id")


def test_location() -> None:
    message = wm.parse_message(LOCATION)
    assert isinstance(message, wm.LocationMessage)
    assert message.latitude == pytest.approx(23.134)
    assert message.longitude == pytest.approx(113.358)
    assert (message.scale, message.label) == (20, "位置信息")


def test_link() -> None:
    message = wm.parse_message(LINK)
    assert isinstance(message, wm.LinkMessage)
    assert message.title == "this is a title!"
    assert message.description == "this is a description!"
    assert (message.url, message.pic_url) == ("URL", "this is a url")


def test_enter_agent() -> None:
    event = wm.parse_message(ENTER_AGENT)
    assert isinstance(event, wm.EnterAgentEvent)
    assert isinstance(event, wm.Event)
    assert (event.event, event.event_key, event.from_user) == ("enter_agent", "", "FromUser")
    assert event.dedupe_key == "evt:FromUser:1408091189:enter_agent::"


def test_click_and_view() -> None:
    click = wm.parse_message(CLICK)
    view = wm.parse_message(VIEW)
    assert isinstance(click, wm.ClickEvent)
    assert click.event_key == "EVENTKEY"
    assert isinstance(view, wm.ViewEvent)
    assert view.event_key == "www.qq.com"
    assert click.dedupe_key != view.dedupe_key


def test_template_card_event_with_several_options() -> None:
    event = wm.parse_message(CARD_EVENT_SEVERAL)
    assert isinstance(event, wm.TemplateCardEvent)
    assert event.event_key == "key111"
    assert event.task_id == "taskid111"
    assert event.card_type == "text_notice"
    assert event.response_code == "ResponseCode"
    assert event.agent_id == 1
    assert event.selected_items == (
        ("QuestionKey1", ("OptionId1", "OptionId2")),
        ("QuestionKey2", ("OptionId3", "OptionId4")),
    )
    assert event.selected("QuestionKey2") == ("OptionId3", "OptionId4")
    assert event.selected("nothing") == ()
    assert event.dedupe_key == "evt:FromUser:123456789:template_card_event:key111:taskid111"


def test_template_card_event_with_one_option_is_still_a_sequence() -> None:
    event = wm.parse_message(CARD_EVENT_ONE)
    assert isinstance(event, wm.TemplateCardEvent)
    assert event.selected_items == (wm.SelectedItem("score", ("5",)),)
    key, options = event.selected_items[0]
    assert (key, options) == ("score", ("5",))


def test_template_card_button_without_selections() -> None:
    event = wm.parse_message(CARD_BUTTON)
    assert isinstance(event, wm.TemplateCardEvent)
    assert (event.event_key, event.task_id, event.card_type) == (
        "approve",
        "task-9",
        "button_interaction",
    )
    assert event.selected_items == ()


def test_same_tap_twice_has_the_same_key_and_other_taps_differ() -> None:
    one = wm.parse_message(CARD_BUTTON)
    again = wm.parse_message(CARD_BUTTON)
    other_task = wm.parse_message(CARD_BUTTON.replace("task-9", "task-10"))
    assert one.dedupe_key == again.dedupe_key
    assert one.dedupe_key != other_task.dedupe_key


def test_long_keys_are_hashed_to_a_bounded_length() -> None:
    event = wm.parse_message(CARD_BUTTON.replace("approve", "k" * 1000))
    assert len(event.dedupe_key) <= wm.MAX_PLAIN_KEY
    assert event.dedupe_key.startswith("evt:")


def test_messages_are_frozen() -> None:
    message = wm.parse_message(TEXT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.content = "changed"  # type: ignore[misc]


def test_unknown_event_and_message() -> None:
    subscribe = wm.parse_message(CLICK.replace("click", "subscribe"))
    assert isinstance(subscribe, wm.UnknownMessage)
    assert subscribe.event == "subscribe"
    assert subscribe.fields["EventKey"] == "EVENTKEY"
    assert subscribe.dedupe_key.startswith("evt:FromUser:123456789:subscribe")
    file_message = wm.parse_message(TEXT.replace("[text]", "[file]"))
    assert isinstance(file_message, wm.UnknownMessage)
    assert file_message.msg_type == "file"
    assert file_message.dedupe_key == "msg:1234567890123456"


@pytest.mark.parametrize(
    "xml",
    [
        "",
        "not xml",
        "<xml><FromUserName>a</FromUserName>",
        "<other/>",
        "<xml><MsgType>text</MsgType><CreateTime>1</CreateTime></xml>",  # no sender
        "<xml><FromUserName>a</FromUserName><MsgType>text</MsgType></xml>",  # no time
        "<xml><FromUserName>a</FromUserName><CreateTime>x</CreateTime>"
        "<MsgType>text</MsgType></xml>",
        "<xml><FromUserName>a</FromUserName><CreateTime>1</CreateTime></xml>",  # no type
        LOCATION.replace("23.134", "north"),
        TEXT.replace("<AgentID>1", "<AgentID>one"),
    ],
)
def test_malformed_refused(xml: str) -> None:
    with pytest.raises(MalformedXmlError):
        wm.parse_message(xml)


@pytest.mark.parametrize(
    "xml",
    [
        """<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>
        <xml><FromUserName>&b;</FromUserName><CreateTime>1</CreateTime>
        <MsgType>text</MsgType><Content>&b;</Content><MsgId>1</MsgId></xml>""",
        """<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>
        <xml><FromUserName>u</FromUserName><CreateTime>1</CreateTime>
        <MsgType>text</MsgType><Content>&x;</Content><MsgId>1</MsgId></xml>""",
        """<!DOCTYPE xml SYSTEM "http://example.invalid/x.dtd"><xml/>""",
        """<!DOCTYPE xml><xml><FromUserName>u</FromUserName></xml>""",
    ],
)
def test_hostile_xml_refused(xml: str) -> None:
    with pytest.raises(MalformedXmlError):
        wm.parse_message(xml)
