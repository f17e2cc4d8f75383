"""Softphones outside the server's network: SIP over TLS on its own port, SRTP media (SDES keys
in the TLS-protected SDP). baresip registers as an operator over TLS with the self-signed
certificate `hotline up` made, answers an ACD call with SRTP and hears the caller; a wrong
password is refused over TLS as over UDP; the key stays 0600 and out of every log; a site's own
certificate replaces the self-signed one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hotline import config, processes, tls

from ..speech_audio import generated, ulaw
from .baresip import Baresip
from .conftest import Hotline
from .test_acd import log_out

pytestmark = pytest.mark.e2e

CALLER_TONE_HZ = 1250  # what the SIPp caller sends once it has asked for an operator


def _cli(hotline: Hotline, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hotline.cli", "--runtime",
                           str(hotline.settings.runtime), *args], capture_output=True, text=True,
                          timeout=180, cwd=config.PROJECT_ROOT, check=False)


def _served_certificate(hotline: Hotline) -> str:
    """The subject of the certificate the TLS port presents (openssl s_client)."""
    result = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{hotline.settings.tls_port}"],
        input="", capture_output=True, text=True, timeout=30, check=False)
    subject = [line for line in result.stdout.splitlines() if line.startswith("subject=")]
    assert subject, result.stdout + result.stderr
    assert "Protocol  : TLSv1.2" in result.stdout or "TLSv1.3" in result.stdout, result.stdout
    return subject[0]


def test_an_operator_over_tls_with_srtp_answers_and_hears_the_caller(
        hotline: Hotline, tmp_path: Path) -> None:
    settings = hotline.settings
    tone = ulaw(generated(tmp_path, "tone", 30, "synth", "30", "sine", str(CALLER_TONE_HZ),
                          "vol", "0.5"))
    with Baresip("op15", settings.operator_passwords["op15"], "127.0.0.1", settings.tls_port,
                 "tls", srtp=True) as phone:
        try:
            assert processes.controller_request(settings, "agent op15 login")["state"] == \
                "available"
            # the caller asks for an operator, then plays the tone for the rest of the call
            (record,) = hotline.call("0 ~", caller="0909000777", delay_ms=6000, wait_s=40,
                                     speech=str(tone), hangup_after_s=14.0)
        finally:
            log_out(hotline, "op15")
        assert phone.established() == ["sip:0909000777@127.0.0.1"]
        # the hotline offered SRTP keys and the phone answered with its own: the media was
        # SRTP both ways (optimistic SDES keeps RTP/AVP on the m= line)
        assert len(phone.sdp_lines("crypto")) >= 2, phone.log()[-3000:]
        # what the phone decrypted is the caller's tone
        level = phone.tone_level(CALLER_TONE_HZ)
        assert level > 0.3, f"the {CALLER_TONE_HZ} Hz tone is {level:.3f} of what op15 heard"
        assert phone.tone_level(440) < 0.05  # its own tone did not come back
    assert record is not None and record["operator"] == "op15"
    assert record["queue_status"] == "ANSWERED"


def test_a_wrong_password_is_refused_over_tls(hotline: Hotline) -> None:
    with Baresip("op16", "not-the-password", "127.0.0.1", hotline.settings.tls_port, "tls",
                 registered=False) as phone:
        assert phone.registration() in ("401 Unauthorized", "403 Forbidden")
    assert "op16" not in processes.asterisk_cli(hotline.settings, "pjsip show contacts")


def test_the_key_is_private_and_no_log_or_output_shows_it(hotline: Hotline) -> None:
    settings = hotline.settings
    certificate = tls.files(settings)
    assert certificate.self_signed
    assert certificate.key.parent.stat().st_mode & 0o777 == 0o700
    assert certificate.key.stat().st_mode & 0o777 == 0o600
    assert "19001122 hotline" in _served_certificate(hotline)
    # every line of the key's body (the first one is the same for every RSA key)
    body = [line for line in certificate.key.read_text().splitlines()[2:-1] if len(line) > 40]
    assert len(body) > 10
    shown = [_cli(hotline, *args) for args in (("status", "--json"), ("up",))]
    for result in shown:
        assert result.returncode == 0, result.stderr
        assert not [line for line in body if line in result.stdout + result.stderr]
    assert f"SIP over TLS on 127.0.0.1:{settings.tls_port}, a self-signed certificate " \
        f"({certificate.cert})" in shown[1].stdout
    leaked = [path for path in settings.logs.rglob("*") if path.is_file()
              and any(line in path.read_text(errors="replace") for line in body)]
    assert leaked == []


def test_a_site_certificate_replaces_the_self_signed_one(hotline: Hotline,
                                                         tmp_path: Path) -> None:
    """hotline up --tls-cert/--tls-key: the pair is checked (a key of another certificate is
    refused before anything changes), copied 0600 into the runtime folder and served once
    Asterisk starts again; hotline up --tls-cert '' --tls-key '' goes back."""
    settings = hotline.settings
    site, other = tmp_path / "site", tmp_path / "other"
    for pair in (site, other):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                        "-keyout", f"{pair}.key", "-out", f"{pair}.crt",
                        "-subj", f"/CN=sip.{pair.name}.example"],
                       check=True, capture_output=True, timeout=60)
    refused = _cli(hotline, "up", "--tls-cert", f"{site}.crt", "--tls-key", f"{other}.key")
    assert refused.returncode == 1
    assert f"the key {other}.key does not belong to the certificate {site}.crt" in \
        refused.stderr
    try:
        processes.stop_asterisk(settings)  # Asterisk reads the certificate when it starts
        taken = _cli(hotline, "up", "--tls-cert", f"{site}.crt", "--tls-key", f"{site}.key")
        assert taken.returncode == 0, taken.stderr
        assert f"the certificate {site}.crt" in taken.stdout
        copy = tls.files(config.load(settings.runtime))
        assert not copy.self_signed
        assert copy.key.stat().st_mode & 0o777 == 0o600
        assert copy.key.read_bytes() == Path(f"{site}.key").read_bytes()
        assert "CN = sip.site.example" in _served_certificate(hotline)
        with Baresip("op17", settings.operator_passwords["op17"], "127.0.0.1",
                     settings.tls_port, "tls") as phone:
            assert phone.registration() == "200 OK"
    finally:
        processes.stop_asterisk(settings)
        back = _cli(hotline, "up", "--tls-cert", "", "--tls-key", "")
        assert back.returncode == 0, back.stderr
    assert "19001122 hotline" in _served_certificate(hotline)
