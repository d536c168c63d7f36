"""The plaintext XML WeCom sends to the app, built the way WeCom builds it.

Used by the simulator's chat page and by tests; the crypto (``WeComCrypto.build_callback``)
wraps it into a signed, encrypted callback.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def _cdata(value: object) -> str:
    return "<![CDATA[" + str(value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


@dataclass(frozen=True)
class Envelope:
    """Who and when: the fields every callback carries."""

    corp_id: str
    agent_id: int
    from_user: str
    create_time: int

    def _head(self, msg_type: str) -> str:
        return (
            f"<ToUserName>{_cdata(self.corp_id)}</ToUserName>"
            f"<FromUserName>{_cdata(self.from_user)}</FromUserName>"
            f"<CreateTime>{self.create_time}</CreateTime>"
            f"<MsgType>{_cdata(msg_type)}</MsgType>"
        )

    def text(self, content: str, msg_id: int | str) -> str:
        return (
            f"<xml>{self._head('text')}<Content>{_cdata(content)}</Content>"
            f"<MsgId>{msg_id}</MsgId><AgentID>{self.agent_id}</AgentID></xml>"
        )

    def image(self, media_id: str, pic_url: str, msg_id: int | str) -> str:
        return (
            f"<xml>{self._head('image')}<PicUrl>{_cdata(pic_url)}</PicUrl>"
            f"<MediaId>{_cdata(media_id)}</MediaId><MsgId>{msg_id}</MsgId>"
            f"<AgentID>{self.agent_id}</AgentID></xml>"
        )

    def event(self, event: str, event_key: str = "") -> str:
        return (
            f"<xml>{self._head('event')}<Event>{_cdata(event)}</Event>"
            f"<EventKey>{_cdata(event_key)}</EventKey><AgentID>{self.agent_id}</AgentID></xml>"
        )

    def change_contact(
        self, change_type: str, userid: str, *, new_userid: str = "", name: str = ""
    ) -> str:
        """A contact-book event (doc 90970): WeCom sends it from ``sys``; an update_user that
        changed the member's userid carries NewUserID, one that changed the name Name."""
        extra = f"<NewUserID>{_cdata(new_userid)}</NewUserID>" if new_userid else ""
        extra += f"<Name>{_cdata(name)}</Name>" if name else ""
        return (
            f"<xml>{self._head('event')}<Event>{_cdata('change_contact')}</Event>"
            f"<ChangeType>{_cdata(change_type)}</ChangeType><UserID>{_cdata(userid)}</UserID>"
            f"{extra}<AgentID>{self.agent_id}</AgentID></xml>"
        )

    def location(self, latitude: float, longitude: float, precision: float = 30.0) -> str:
        """上报地理位置 (event LOCATION), sent when the person enters the app if the app asks."""
        return (
            f"<xml>{self._head('event')}<Event>{_cdata('LOCATION')}</Event>"
            f"<Latitude>{latitude:.6f}</Latitude><Longitude>{longitude:.6f}</Longitude>"
            f"<Precision>{precision:.6f}</Precision><AgentID>{self.agent_id}</AgentID>"
            "<AppType><![CDATA[wxwork]]></AppType></xml>"
        )

    def card_menu(self, *, event_key: str, task_id: str, card_type: str, response_code: str) -> str:
        """template_card_menu_event: a choice in a card's top-right menu (action_menu)."""
        return (
            f"<xml>{self._head('event')}<Event>{_cdata('template_card_menu_event')}</Event>"
            f"<EventKey>{_cdata(event_key)}</EventKey><TaskId>{_cdata(task_id)}</TaskId>"
            f"<CardType>{_cdata(card_type)}</CardType>"
            f"<ResponseCode>{_cdata(response_code)}</ResponseCode>"
            f"<AgentID>{self.agent_id}</AgentID></xml>"
        )

    def card_tap(
        self,
        *,
        event_key: str,
        task_id: str,
        card_type: str,
        response_code: str,
        selected: Iterable[tuple[str, Iterable[str]]] = (),
    ) -> str:
        items = "".join(
            "<SelectedItem>"
            f"<QuestionKey>{_cdata(question)}</QuestionKey><OptionIds>"
            + "".join(f"<OptionId>{_cdata(option)}</OptionId>" for option in options)
            + "</OptionIds></SelectedItem>"
            for question, options in selected
        )
        selected_xml = f"<SelectedItems>{items}</SelectedItems>" if items else ""
        return (
            f"<xml>{self._head('event')}<Event>{_cdata('template_card_event')}</Event>"
            f"<EventKey>{_cdata(event_key)}</EventKey><TaskId>{_cdata(task_id)}</TaskId>"
            f"<CardType>{_cdata(card_type)}</CardType>"
            f"<ResponseCode>{_cdata(response_code)}</ResponseCode>"
            f"<AgentID>{self.agent_id}</AgentID>{selected_xml}</xml>"
        )
