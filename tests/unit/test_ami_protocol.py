"""The sans-IO AMI core, fed with traffic recorded from a real Asterisk 16.28
(tests/fixtures/ami/, made by record.py) and with hand-written edge cases."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from acd.ami.errors import AmiError, AmiProtocolError
from acd.ami.protocol import (
    MAX_REQUEST_LINES,
    ActionComplete,
    AmiConnection,
    AmiEvent,
    Banner,
    ConnectionState,
    EventReceived,
    Message,
    MessageReader,
    UnmatchedResponse,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "ami"
SCENARIOS = sorted(
    path.name.removesuffix(".txt")
    for path in FIXTURES.glob("*.txt")
    if not path.name.endswith(".sent.txt")
)
BANNER = b"Asterisk Call Manager/5.0.4\r\n"


def recorded(name: str) -> bytes:
    return (FIXTURES / f"{name}.txt").read_bytes()


def connection_that_sent(name: str) -> AmiConnection:
    """A connection that sent the very actions record.py sent, with the same ActionIDs."""
    conn = AmiConnection(action_id_prefix="fixture")
    sent = (FIXTURES / f"{name}.sent.txt").read_bytes()
    frames = [frame + b"\r\n\r\n" for frame in sent.split(b"\r\n\r\n")[:-1]]
    for frame, (message,) in zip(frames, (MessageReader().feed(f) for f in frames)):
        headers = [(n, v) for n, v in message.headers if n not in ("Action", "ActionID")]
        action_id, data = conn.send(message.get("Action", ""), headers)
        assert action_id == message.action_id
        if "\ufffd" not in message.get("Caller", ""):  # the deliberately non-UTF-8 one
            assert data == frame, "send() frames exactly like the recording"
    return conn


def replay(name: str, chunks: list[bytes]) -> tuple[list[AmiEvent], AmiConnection]:
    conn = connection_that_sent(name)
    events = [event for chunk in chunks for event in conn.receive_data(chunk)]
    return events, conn


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in pairwise(bounds)]


def completed(events: list[AmiEvent]) -> dict[str, ActionComplete]:
    return {e.action_id: e for e in events if isinstance(e, ActionComplete)}


def unsolicited(events: list[AmiEvent]) -> list[Message]:
    return [e.message for e in events if isinstance(e, EventReceived)]


# --- recorded traffic: chunking never changes the outcome ---------------------------------

@pytest.mark.parametrize("name", SCENARIOS)
def test_every_recorded_action_is_answered_whatever_the_chunking(name: str) -> None:
    data = recorded(name)
    whole, conn = replay(name, [data])
    assert whole[0] == Banner("5.0.4")
    assert conn.pending() == frozenset()
    assert not any(isinstance(e, UnmatchedResponse) for e in whole)
    byte_by_byte, _ = replay(name, [data[i:i + 1] for i in range(len(data))])
    assert byte_by_byte == whole


@settings(max_examples=60, deadline=None)
@given(data=st.data(), name=st.sampled_from(SCENARIOS))
def test_random_splits_give_the_same_events(data: st.DataObject, name: str) -> None:
    raw = recorded(name)
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=40))
    assert replay(name, split_at(raw, cuts))[0] == replay(name, [raw])[0]


def test_login_success_then_ping_and_logoff() -> None:
    events, _ = replay("login-success", [recorded("login-success")])
    done = completed(events)
    assert done["fixture-1"].response.get("Challenge", "").isdigit()
    assert done["fixture-2"].response.get("Message") == "Authentication accepted"
    # Asterisk sends these two in either order (both orders were seen while recording).
    assert sorted(m.name for m in unsolicited(events)) == ["FullyBooted", "SuccessfulAuth"]
    assert done["fixture-3"].response.get("Ping") == "Pong"
    assert done["fixture-4"].response.name == "Goodbye"


def test_login_failure_is_an_error_response() -> None:
    done = completed(replay("login-failure", [recorded("login-failure")])[0])
    assert done["fixture-2"].is_error
    assert done["fixture-2"].response.get("Message") == "Authentication failed"


def test_list_action_collects_its_events_until_complete() -> None:
    events, _ = replay("core-show-channels", [recorded("core-show-channels")])
    channels = completed(events)["fixture-4"]
    assert channels.response.get("EventList") == "start"
    assert [m.name for m in channels.events] == [
        "CoreShowChannel", "CoreShowChannel", "CoreShowChannelsComplete"]
    assert channels.events[-1].get("ListItems") == "2"
    assert sorted(m.get("Channel", "")[-2:] for m in channels.events[:2]) == [";1", ";2"]
    assert all(m.get("Channel", "").startswith("Local/s@test-") for m in channels.events[:2])
    assert channels.events[0].get("CallerIDName") == "Nguyễn Văn A"
    # Asterisk 16 answers Hangup with a channel regex as a list action too.
    hangup = completed(events)["fixture-5"]
    assert [m.name for m in hangup.events][-1] == "ChannelsHungupListComplete"
    assert not any(m.name == "CoreShowChannel" for m in unsolicited(events))


def test_empty_list_action() -> None:
    done = completed(replay("core-show-channels-empty", [recorded("core-show-channels-empty")])[0])
    assert [m.get("ListItems") for m in done["fixture-3"].events] == ["0"]


@pytest.mark.parametrize(("name", "outcome"), [("originate-async", "Success"),
                                                ("originate-failure", "Failure")])
def test_originate_response_is_an_event_even_with_a_response_header(
        name: str, outcome: str) -> None:
    events, _ = replay(name, [recorded(name)])
    assert completed(events)["fixture-3"].response.get("Message") == (
        "Originate successfully queued")
    (originated,) = [m for m in unsolicited(events) if m.name == "OriginateResponse"]
    assert originated.action_id == "fixture-3"
    assert originated.get("Response") == outcome


def test_command_output_comes_as_output_headers_in_asterisk_16() -> None:
    done = completed(replay("command", [recorded("command")])[0])
    assert done["fixture-3"].response.get("Output", "").startswith("Asterisk 16.28.0")
    assert len(done["fixture-4"].response.get_all("Output")) == 2


def test_unknown_action_is_an_error_response() -> None:
    done = completed(replay("unknown-action", [recorded("unknown-action")])[0])
    assert done["fixture-3"].is_error
    assert "Invalid/unknown command: NoSuchAction" in done["fixture-3"].response.get("Message", "")


def test_user_events_keep_colons_utf8_and_survive_latin1() -> None:
    events, _ = replay("user-event", [recorded("user-event")])
    probe, latin1 = unsolicited(events)
    assert probe.get("Caller") == "Nguyễn Văn A"
    assert probe.get("Note") == "value: with: colons"
    assert probe.action_id == "fixture-3"  # an event with our ActionID, after the response
    assert latin1.get("Caller") == "Jos\ufffd"


def test_empty_values_and_settings() -> None:
    done = completed(replay("core-settings", [recorded("core-settings")])[0])
    assert done["fixture-3"].response.get("SystemName") == ""
    assert done["fixture-3"].response.get("asteriskversion", "").startswith("16.28")


# --- correlation ---------------------------------------------------------------------------

def opened() -> AmiConnection:
    conn = AmiConnection(action_id_prefix="t")
    assert conn.receive_data(BANNER) == [Banner("5.0.4")]
    return conn


def wire(*messages: str) -> bytes:
    return "".join(m.replace("\n", "\r\n") + "\r\n" for m in messages).encode()


def test_interleaved_events_and_actions_are_sorted_out() -> None:
    conn = opened()
    channels, _ = conn.send("CoreShowChannels")
    ping, _ = conn.send("Ping")
    events = conn.receive_data(wire(
        f"Response: Success\nActionID: {channels}\nEventList: start\n",
        "Event: Newchannel\nChannel: PJSIP/agent-1\n",
        f"Event: CoreShowChannel\nActionID: {channels}\nChannel: PJSIP/caller-1\n",
        f"Response: Success\nActionID: {ping}\nPing: Pong\n",
        f"Event: CoreShowChannelsComplete\nActionID: {channels}\nEventList: Complete\n",
    ))
    assert [type(e).__name__ for e in events] == ["EventReceived", "ActionComplete",
                                                   "ActionComplete"]
    assert [e.action_id for e in events if isinstance(e, ActionComplete)] == [ping, channels]
    assert len(completed(events)[channels].events) == 2
    assert conn.pending() == frozenset()


def test_two_list_actions_interleaved() -> None:
    conn = opened()
    first, _ = conn.send("CoreShowChannels")
    second, _ = conn.send("CoreShowChannels")
    events = conn.receive_data(wire(
        f"Response: Success\nActionID: {first}\nEventList: start\n",
        f"Response: Success\nActionID: {second}\nEventList: start\n",
        f"Event: CoreShowChannel\nActionID: {second}\n",
        f"Event: CoreShowChannelsComplete\nActionID: {first}\nEventList: Complete\n",
        f"Event: CoreShowChannelsComplete\nActionID: {second}\nEventList: complete\n",
    ))
    assert [len(e.events) for e in events if isinstance(e, ActionComplete)] == [1, 2]


def test_event_with_our_action_id_before_the_response_is_not_swallowed() -> None:
    conn = opened()
    user_event, _ = conn.send("UserEvent", {"UserEvent": "AcdProbe"})
    events = conn.receive_data(wire(f"Event: UserEvent\nActionID: {user_event}\n",
                                    f"Response: Success\nActionID: {user_event}\n"))
    assert [type(e) for e in events] == [EventReceived, ActionComplete]


@pytest.mark.parametrize("message", [
    "Response: Success\nActionID: someone-else-7\n",
    "Response: Success\nMessage: no ActionID at all\n",
    "Privilege: nothing\nFoo: neither event nor response\n",
])
def test_unmatched_messages_are_reported_not_fatal(message: str) -> None:
    conn = opened()
    conn.send("Ping")
    (event,) = conn.receive_data(wire(message))
    assert isinstance(event, UnmatchedResponse)
    assert len(conn.pending()) == 1


def test_late_reply_after_forget_is_unmatched() -> None:
    conn = opened()
    ping, _ = conn.send("Ping")
    conn.forget(ping)
    (event,) = conn.receive_data(wire(f"Response: Success\nActionID: {ping}\n"))
    assert isinstance(event, UnmatchedResponse)


def test_fail_all_returns_pending_and_closes() -> None:
    conn = opened()
    ids = {conn.send("Originate", {"Channel": "Local/s@test"})[0], conn.send("Ping")[0]}
    assert conn.fail_all() == ids
    assert conn.pending() == frozenset() and conn.state is ConnectionState.CLOSED
    with pytest.raises(AmiProtocolError, match="closed"):
        conn.send("Ping")
    with pytest.raises(AmiProtocolError, match="closed"):
        conn.receive_data(b"Response: Success\r\n\r\n")


def test_default_action_ids_differ_between_connections() -> None:
    assert AmiConnection().send("Ping")[0] != AmiConnection().send("Ping")[0]


# --- framing -------------------------------------------------------------------------------

def test_framing_quirks() -> None:
    conn = opened()
    ping, _ = conn.send("Ping")
    data = (f"\r\nResponse:Success\r\nActionID: {ping}\nTime: 12:30:45\r\n"
            "Junk line without colon\r\n\r\n\r\n").encode()
    (done,) = [e for chunk in split_at(data, [10, 11]) for e in conn.receive_data(chunk)]
    assert isinstance(done, ActionComplete)
    assert done.response.headers == (("Response", "Success"), ("ActionID", ping),
                                     ("Time", "12:30:45"), ("", "Junk line without colon"))


def test_old_response_follows_output_does_not_crash() -> None:
    conn = opened()
    command, _ = conn.send("Command", {"Command": "core show uptime"})
    (done,) = conn.receive_data(wire(
        f"Response: Follows\nPrivilege: Command\nActionID: {command}\n"
        "System uptime: 38 seconds\n--END COMMAND--\n"))
    assert isinstance(done, ActionComplete)
    assert done.response.get_all("") == ("--END COMMAND--",)


def test_split_in_the_middle_of_crlf_and_of_utf8() -> None:
    conn = AmiConnection()
    data = BANNER + "Event: UserEvent\r\nCaller: Nguyễn\r\n\r\n".encode()
    cut = data.index(b"\xe1\xbb\x85") + 1  # inside the 3 bytes of "ễ"
    events = [e for chunk in split_at(data, [len(BANNER) - 1, cut, len(data) - 1])
              for e in conn.receive_data(chunk)]
    assert events[1] == EventReceived(Message((("Event", "UserEvent"), ("Caller", "Nguyễn"))))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_after_the_banner_never_crash(data: bytes) -> None:
    conn = opened()
    conn.send("Ping")
    for event in conn.receive_data(data + b"\r\n\r\n"):
        assert isinstance(event, EventReceived | UnmatchedResponse | ActionComplete)


def test_not_an_ami_server() -> None:
    conn = AmiConnection()
    with pytest.raises(AmiProtocolError, match="not an AMI server"):
        conn.receive_data(b"SSH-2.0-OpenSSH_9.2\r\n")
    assert conn.state is ConnectionState.CLOSED


def test_endless_line_is_refused() -> None:
    reader = MessageReader(max_line_bytes=100)
    with pytest.raises(AmiProtocolError, match="longer than 100"):
        reader.feed(b"Event: " + b"x" * 200)


# --- send(): the one place that refuses unsafe headers ------------------------------------

SAFE_TEXT = st.characters(blacklist_categories=("Cc", "Cs"))
UNSAFE_CHAR = st.characters(whitelist_categories=("Cc", "Cs"))  # CR, LF, NUL, DEL, C1...
NAMES = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters=":"),
                min_size=1, max_size=30)
VALUES = st.text(SAFE_TEXT, max_size=150).filter(lambda v: not v.startswith(" "))


@settings(max_examples=200, deadline=None)
@given(name=NAMES, value=VALUES)
@example(name="CallerID", value="Nguyễn Văn A <0901234567>")
@example(name="Variable", value="DISTRICT_COMPANY=PC Hà Nội: quận Đống Đa")
@example(name="Data", value="")
def test_send_round_trips_every_safe_header(name: str, value: str) -> None:
    if name.lower() in ("action", "actionid"):
        return
    action_id, data = AmiConnection(action_id_prefix="p").send("UserEvent", [(name, value)])
    (message,) = MessageReader().feed(data)
    assert message.headers == (("Action", "UserEvent"), ("ActionID", action_id), (name, value))


@settings(max_examples=200, deadline=None)
@given(before=st.text(SAFE_TEXT, max_size=20), bad=UNSAFE_CHAR, after=st.text(max_size=20),
       where=st.sampled_from(["value", "name", "action"]))
@example(before="Nguyễn", bad="\r", after="\nAction: Originate", where="value")
@example(before="x", bad="\x00", after="", where="name")
def test_send_refuses_control_characters_and_changes_nothing(
        before: str, bad: str, after: str, where: str) -> None:
    conn = opened()
    kept, _ = conn.send("Ping")
    evil = before + bad + after
    action, headers = {"value": ("UserEvent", [("Caller", evil)]),
                       "name": ("UserEvent", [(evil, "x")]),
                       "action": (evil, [])}[where]
    with pytest.raises(AmiProtocolError):
        conn.send(action, headers)
    assert conn.pending() == {kept}
    assert conn.send("Ping")[0] == "t-2", "the refused send did not use an ActionID"


@pytest.mark.parametrize(("action", "headers", "complaint"), [
    ("Ping", {"ActionID": "mine"}, "set by send"),
    ("Ping", {"action": "Originate"}, "set by send"),
    ("Ping", {"Bad Name": "x"}, "header name"),
    ("Ping", {"": "x"}, "header name"),
    ("Ping", {"Tên": "x"}, "header name"),
    ("Ping", {"Name:": "x"}, "header name"),
    ("Ping", {"Caller": " leading space"}, "starts with a space"),
    ("UserEvent", {"Note": "x" * 1100}, "1022 bytes"),
    ("UserEvent", [(f"H{i}", "v") for i in range(MAX_REQUEST_LINES - 1)], "128 lines"),
    ("Ping", {"Number": 42}, "must be str"),
])
def test_send_refuses_what_asterisk_would_misread(action: str, headers: object,
                                                  complaint: str) -> None:
    conn = opened()
    with pytest.raises(AmiProtocolError, match=complaint):
        conn.send(action, headers)  # type: ignore[arg-type]
    assert conn.pending() == frozenset()


def test_repeated_headers_keep_their_order() -> None:
    _, data = AmiConnection(action_id_prefix="p").send("Originate", [
        ("Channel", "Local/s@test"), ("Variable", "CUSTOMER_CODE=KH001"),
        ("Variable", "SKILL=billing")])
    (message,) = MessageReader().feed(data)
    assert message.get_all("variable") == ("CUSTOMER_CODE=KH001", "SKILL=billing")


def test_every_error_has_a_stable_distinct_code() -> None:
    classes: list[type[AmiError]] = [AmiError, *AmiError.__subclasses__()]
    codes = [cls.code for cls in classes]
    assert len(classes) == 7 and len(set(codes)) == len(codes)
    assert all(code == "ami" or code.startswith("ami.") for code in codes)
