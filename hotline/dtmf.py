"""RFC 4733 (2833) DTMF keypresses as pcap files that SIPp replays into a call.

sip-tester's own captures carry fixed RTP sequence numbers and timestamps per digit, so a key
whose capture is "older" than the previous one (9 then 2) is dropped by Asterisk as out of order.
Here the n-th key of a call gets sequence numbers and a timestamp that always move forward.
"""

from __future__ import annotations

import struct
from pathlib import Path

EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}
PAYLOAD_TYPE = 101
PACKET_MS = 20
TONE_PACKETS = 8      # 160 ms of tone
END_COPIES = 3        # the end packet is sent three times, as RFC 4733 recommends
SSRC = 0x48544C31


def _packet(payload: bytes, when_us: int) -> bytes:
    """One pcap record: Ethernet + IPv4 + UDP around ``payload`` (SIPp rewrites addresses)."""
    udp = struct.pack("!HHHH", 40000, 40000, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])) + udp
    frame = b"\x00" * 12 + b"\x08\x00" + ip
    return struct.pack("<IIII", when_us // 1_000_000, when_us % 1_000_000, len(frame),
                       len(frame)) + frame


def key_pcap(key: str, index: int) -> bytes:
    """The capture of the ``index``-th key (0-based) of a call."""
    event = EVENTS[key]
    seq = 1000 + index * (TONE_PACKETS + END_COPIES + 5)
    timestamp = 80000 + index * 16000
    records = []
    for n in range(TONE_PACKETS + END_COPIES):
        end = n >= TONE_PACKETS
        duration = 160 * min(n + 1, TONE_PACKETS)
        marker = 0x80 if n == 0 else 0
        header = struct.pack("!BBHII", 0x80, marker | PAYLOAD_TYPE,
                             (seq + min(n, TONE_PACKETS)) & 0xFFFF, timestamp, SSRC)
        body = struct.pack("!BBH", event, (0x80 if end else 0) | 10, duration)
        records.append(_packet(header + body, min(n, TONE_PACKETS) * PACKET_MS * 1000 + n))
    # pcap global header: magic, v2.4, GMT offset, accuracy, snaplen, Ethernet
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1) + b"".join(records)


def write_key_pcaps(keys: str, folder: Path) -> list[Path]:
    """One pcap per key of ``keys`` (spaces ignored), numbered in call order."""
    paths = []
    for index, key in enumerate(k for k in keys if k != " "):
        path = folder / f"key{index:02d}.pcap"
        path.write_bytes(key_pcap(key, index))
        paths.append(path)
    return paths
