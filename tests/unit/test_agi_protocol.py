"""The AGI conversation core: framing, escaping, replies, HANGUP, illegal use."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.agi.errors import AgiArgumentError, AgiProtocolError
from ivr.agi.protocol import (
    MAX_COMMAND_BYTES,
    MAX_LINE_BYTES,
    AgiConversation,
    CommandRejected,
    EnvironmentReceived,
    HangupNotice,
    Reply,
    State,
    _parse_reply_general,
    _reply,
    build_command,
    parse_reply,
    quote_arg,
    quote_args,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "agi"


def res_agi_parse_args(line: str) -> list[str]:
    """A line-by-line port of parse_args() in Asterisk's res/res_agi.c (16 and 22 alike)."""
    argv: list[str] = []
    cur: list[str] | None = None
    quoted = escaped = False
    whitespace = True
    for ch in line:
        if ch == '"' and not escaped:
            quoted = not quoted
            if quoted and whitespace:
                cur = []
                argv.append("")  # placeholder, filled below
                whitespace = False
            escaped = False
        elif ch in " \t" and not quoted and not escaped:
            if cur is not None:
                argv[-1] = "".join(cur)
                cur = None
            whitespace = True
        elif ch == "\\" and not escaped:
            escaped = True
        else:
            if whitespace:
                cur = []
                argv.append("")
                whitespace = False
            assert cur is not None
            cur.append(ch)
            escaped = False
    if cur is not None:
        argv[-1] = "".join(cur)
    return argv


def open_conversation(*extra_env: bytes) -> AgiConversation:
    conv = AgiConversation()
    events = conv.receive_data(
        b"agi_network: yes\nagi_request: agi://127.0.0.1/ivr\nagi_channel: PJSIP/trunk-1\n"
        b"agi_uniqueid: 1700000000.1\n" + b"".join(extra_env) + b"\n"
    )
    assert isinstance(events[-1], EnvironmentReceived)
    return conv


# -- escaping ---------------------------------------------------------------------------------

safe_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x7f")
    .filter(lambda c: ord(c) >= 0x20),
    max_size=200,
)


@given(st.lists(safe_text, max_size=8))
@settings(max_examples=400)
def test_quoted_arguments_come_back_exactly_through_asterisks_parser(args: list[str]) -> None:
    line = build_command("SET VARIABLE", *args).decode("utf-8")
    assert line.endswith("\n") and "\n" not in line[:-1]
    assert res_agi_parse_args(line[:-1]) == ["SET", "VARIABLE", *args]


@pytest.mark.parametrize(
    "value",
    ["say \"hi\"", "back\\slash", "trailing\\", "\\\"", "", " ",
     "Tiền điện tháng 11: 1.250.000 đồng", "Quận 1, TP. Hồ Chí Minh"],
)
def test_awkward_values_round_trip(value: str) -> None:
    line = build_command("SET VARIABLE", "X", value).decode()
    assert res_agi_parse_args(line[:-1]) == ["SET", "VARIABLE", "X", value]


@given(safe_text, st.sampled_from(["\n", "\r", "\x00", "\x1b", "\x7f"]), safe_text)
def test_control_characters_are_refused(before: str, bad: str, after: str) -> None:
    with pytest.raises(AgiArgumentError, match="control character"):
        quote_arg(before + bad + after)


def test_over_long_command_lines_are_refused_not_truncated() -> None:
    build_command("VERBOSE", "x" * (MAX_COMMAND_BYTES - 20))
    with pytest.raises(AgiArgumentError, match="at most 2048"):
        build_command("VERBOSE", "x" * MAX_COMMAND_BYTES)
    # multi-byte characters count as bytes
    with pytest.raises(AgiArgumentError, match="bytes"):
        build_command("VERBOSE", "đ" * 1100)


def test_too_many_arguments_and_bad_command_words_are_refused() -> None:
    with pytest.raises(AgiArgumentError, match="too many"):
        build_command("EXEC", *["a"] * 130)
    for bad in ["stream file", "STREAM FILE\n", "EXEC;HANGUP", ""]:
        with pytest.raises(AgiArgumentError, match="not an AGI command"):
            build_command(bad)


def test_non_text_argument_is_refused() -> None:
    with pytest.raises(AgiArgumentError, match="must be text"):
        quote_arg(5)  # type: ignore[arg-type]
    with pytest.raises(AgiArgumentError, match="must be text, got int"):
        build_command("SET VARIABLE", "X", 5)  # type: ignore[arg-type]


def _outcome(function: object, *args: object) -> object:
    try:
        return function(*args)  # type: ignore[operator]
    except (AgiArgumentError, AgiProtocolError) as exc:
        return type(exc), str(exc)


# any text, with the characters that need escaping or are refused well represented
any_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(' "\\\x00\n\r\t\x7f\x85\u00a0\u2028()=-_'),
        st.characters(blacklist_categories=("Cs",)),
    ),
    max_size=30,
)


@given(st.lists(st.one_of(any_text, st.integers()), max_size=5))
@settings(max_examples=500)
def test_quote_args_is_quote_arg_on_each_argument(args: list[str]) -> None:
    # the short cut must quote, escape and refuse exactly as quote_arg does
    assert _outcome(quote_args, tuple(args)) == _outcome(
        lambda: " ".join(map(quote_arg, args))
    )


# -- environment ------------------------------------------------------------------------------


def test_recorded_asterisk_environment_parses_in_any_split() -> None:
    raw = (FIXTURES / "environment-asterisk16.txt").read_bytes()
    whole = AgiConversation().receive_data(raw)
    assert len(whole) == 1 and isinstance(whole[0], EnvironmentReceived)
    env = whole[0].environment
    assert env.request.startswith("agi://127.0.0.1")
    assert env.channel.startswith("PJSIP/")
    assert env.uniqueid
    for size in (1, 3, 17):
        conv = AgiConversation()
        events = []
        for i in range(0, len(raw), size):
            events += conv.receive_data(raw[i : i + size])
        assert events == whole


def test_arguments_are_collected_in_order() -> None:
    conv = AgiConversation()
    (event,) = conv.receive_data(
        b"agi_request: agi://h/ivr\nagi_arg_2: b\nagi_arg_1: a\nagi_arg_3: \n\n"
    )
    assert isinstance(event, EnvironmentReceived)
    assert event.environment.args == ("a", "b", "")


@pytest.mark.parametrize(
    "raw, why",
    [
        (b"hello world\n\n", "malformed AGI environment line 1"),
        (b"agi_request agi://x\n\n", "malformed AGI environment line 1"),
        (b"agi_channel: PJSIP/x\n\n", "without agi_request"),
        (b"AGI_REQUEST: x\n\n", "malformed"),
        (b"agi_request: x" + b"y" * 9000, "longer than"),
        (b"".join(b"agi_v%d: 1\n" % i for i in range(300)), "longer than 200 lines"),
    ],
)
def test_malformed_environment_is_a_clear_protocol_error(raw: bytes, why: str) -> None:
    with pytest.raises(AgiProtocolError, match=why):
        AgiConversation().receive_data(raw)


def test_non_utf8_environment_does_not_crash() -> None:
    conv = AgiConversation()
    (event,) = conv.receive_data(b"agi_request: x\nagi_callerid: \xff\xfe\xc3\n\n")
    assert isinstance(event, EnvironmentReceived)
    assert "\ufffd" in event.environment.get("agi_callerid")


# -- replies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, result, data, extras",
    [
        ("200 result=0", 0, None, {}),
        ("200 result=49 endpos=12000", 49, None, {"endpos": "12000"}),
        ("200 result=1 (timeout) endpos=800", 1, "timeout", {"endpos": "800"}),
        ("200 result=1 (value with (parens) inside)", 1, "value with (parens) inside", {}),
        ("200 result=1 (a) b)", 1, "a) b", {}),
        ("200 result=-1 endpos=0", -1, None, {"endpos": "0"}),
        ("200 result=1 ()", 1, "", {}),
    ],
)
def test_reply_lines(line: str, result: int, data: str | None, extras: dict[str, str]) -> None:
    reply = parse_reply(line)
    assert (reply.result, reply.data, dict(reply.extras)) == (result, data, extras)


@pytest.mark.parametrize(
    "line",
    ["200 result=", "200 ok", "abc", "200 result=1 (unclosed", "200 result=+1", "200 result=1_0",
     "200 result=- ", "200 result=1 endpos", "200 result=1 é=1", "200 result=1 (a) b"],
)
def test_malformed_reply_lines(line: str) -> None:
    with pytest.raises(AgiProtocolError):
        parse_reply(line)


reply_text = st.text(alphabet=st.sampled_from("0123456789-=() \tabz_éx١"), max_size=16)


@given(st.one_of(
    st.builds("200 result={}{}".format, st.sampled_from(["0", "1", "-1", "49", "١", "+1", ""]),
              reply_text),
    st.builds("{}{}".format, st.sampled_from(["200 ", "200 result=1 (", "510 ", ""]), reply_text),
))
@settings(max_examples=1000)
def test_reply_short_cuts_agree_with_the_general_parser(line: str) -> None:
    assert _outcome(parse_reply, line) == _outcome(_parse_reply_general, line)


def test_fast_reply_is_an_equal_frozen_reply() -> None:
    reply = _reply(1, "bar", {"endpos": "5"}, "200 result=1 (bar) endpos=5")
    assert reply == Reply(1, "bar", {"endpos": "5"}, "200 result=1 (bar) endpos=5")
    assert type(reply) is Reply
    with pytest.raises(AttributeError):
        reply.result = 2  # type: ignore[misc]


def test_unknown_command_and_usage_replies() -> None:
    conv = open_conversation()
    conv.send("FROBNICATE")
    assert conv.receive_data(b"510 Invalid or unknown command\n") == [
        CommandRejected(510, "Invalid or unknown command")
    ]
    conv.send("STREAM FILE")
    assert conv.receive_data(b"520-Invalid command syntax.  Proper usage follows:\n") == []
    (event,) = conv.receive_data(
        b" Usage: STREAM FILE <filename> <escape digits>\n520 End of proper usage.\n"
    )
    assert isinstance(event, CommandRejected) and event.status == 520
    assert "Usage: STREAM FILE" in event.message
    assert conv.state is State.IDLE


def test_inline_hangup_before_the_reply_and_dead_channel() -> None:
    conv = open_conversation()
    conv.send("STREAM FILE", "welcome", "12")
    events = conv.receive_data(b"HANGUP\n200 result=-1 endpos=4000\n")
    assert isinstance(events[0], HangupNotice) and isinstance(events[1], Reply)
    assert conv.hung_up
    conv.send("CHANNEL STATUS")
    (event,) = conv.receive_data(
        b"511 Command Not Permitted on a dead channel or intercept routine\n"
    )
    assert event == CommandRejected(
        511, "Command Not Permitted on a dead channel or intercept routine"
    )


@pytest.mark.parametrize("chunking", ["whole", "bytewise", "with HANGUP"])
@pytest.mark.parametrize(
    "wire", [b"200 result=0 endpos=1234\n", b"200 result=1 (bar)\r\n", b"200 result=1 (\xffbar)\n"]
)
def test_a_reply_is_the_same_however_it_arrives(chunking: str, wire: bytes) -> None:
    conv = open_conversation()
    conv.send("STREAM FILE", "x", "")
    if chunking == "whole":
        events = conv.receive_data(wire)
    elif chunking == "bytewise":
        events = [e for i in range(len(wire)) for e in conv.receive_data(wire[i : i + 1])]
    else:
        events = conv.receive_data(b"HANGUP\n" + wire)[1:]
    assert events == [parse_reply(wire.decode(errors="replace").rstrip("\r\n"))]
    assert conv.state is State.IDLE


@pytest.mark.parametrize("tail", [b"\n", b"\nHANGUP\n"])
def test_an_over_long_line_is_refused_even_in_one_chunk(tail: bytes) -> None:
    conv = open_conversation()
    conv.send("GET VARIABLE", "X")
    line = b"200 result=1 (" + b"x" * MAX_LINE_BYTES + b")"
    with pytest.raises(AgiProtocolError, match="longer than"):
        conv.receive_data(line + tail)
    conv = open_conversation()
    conv.send("GET VARIABLE", "X")
    longest = b"200 result=1 (" + b"x" * (MAX_LINE_BYTES - 16) + b")\n"
    assert len(longest) == MAX_LINE_BYTES
    (reply,) = conv.receive_data(longest + tail[1:])[:1]
    assert isinstance(reply, Reply) and reply.data == "x" * (MAX_LINE_BYTES - 16)


def test_hangup_while_idle_is_an_event() -> None:
    conv = open_conversation()
    assert conv.receive_data(b"HANGUP\n") == [HangupNotice()]
    assert conv.hung_up and conv.state is State.IDLE


# -- illegal use leaves the state unchanged ---------------------------------------------------


def test_sending_before_the_environment_is_refused() -> None:
    conv = AgiConversation()
    with pytest.raises(AgiProtocolError, match="reading environment"):
        conv.send("ANSWER")
    assert conv.state is State.ENVIRONMENT


def test_two_commands_in_flight_are_refused() -> None:
    conv = open_conversation()
    conv.send("ANSWER")
    with pytest.raises(AgiProtocolError, match="awaiting reply"):
        conv.send("ANSWER")
    assert conv.state is State.AWAITING_REPLY
    assert isinstance(conv.receive_data(b"200 result=0\n")[0], Reply)


def test_bad_argument_leaves_the_conversation_idle() -> None:
    conv = open_conversation()
    with pytest.raises(AgiArgumentError):
        conv.send("SET VARIABLE", "X", "a\nb")
    assert conv.state is State.IDLE


def test_unsolicited_reply_is_a_protocol_error() -> None:
    conv = open_conversation()
    with pytest.raises(AgiProtocolError, match="unexpected line while idle"):
        conv.receive_data(b"200 result=0\n")


def test_closed_conversation_refuses_data() -> None:
    conv = open_conversation()
    conv.close()
    with pytest.raises(AgiProtocolError, match="closed"):
        conv.receive_data(b"HANGUP\n")
